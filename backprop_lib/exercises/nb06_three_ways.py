"""Checkers for notebook 06 (three ways to differentiate).

* ``06.central_diff``: (f(x+h) − f(x−h)) / (2h); a slope test (error against h on a log-log
  scale) tells it from a one-sided difference, whose error shrinks only like h;
* ``06.h_float32``: a step for central differences in float32, near eps^(1/3) ≈ 5e-3
  (accepted: 1e-3 … 1e-2); float64's habits (1e-8, 1e-5) drown in rounding error;
* ``06.mode``: forward mode for ℝ → ℝ¹⁰⁰⁰ (one pass per input), reverse mode for ℝ¹⁰⁰⁰ → ℝ
  (one pass per output).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..autodiff import numerical_derivative
from .core import Incorrect, NotAttempted, exercise, require, require_callable

# -- 06.central_diff --------------------------------------------------------------------

_SLOPE_HS = np.array([0.1, 0.05, 0.025, 0.0125, 0.00625])   # truncation regime of eˣ at 0.5


def _central_ref(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)          # error |f‴| h²/6: O(h²)


def _central_bp(f, x, h):                           # reusing the library is a right answer too
    return numerical_derivative(f, x, h, method="central")


def _central_half(f, x, h):
    return 0.5 * (f(x + h) - f(x - h)) / h


def _wrong_over_h(f, x, h):
    return (f(x + h) - f(x - h)) / h                # twice the derivative


def _wrong_forward(f, x, h):
    return (f(x + h) - f(x)) / h                    # O(h)


def _wrong_backward(f, x, h):
    return (f(x) - f(x - h)) / h                    # O(h)


def _wrong_sign(f, x, h):
    return (f(x - h) - f(x + h)) / (2 * h)


def _estimate(answer, f, x, h, what):
    got = answer(f, x, h)
    if got is None:
        raise Incorrect(f"{what} returned None.", "Did you forget a `return`?")
    try:
        value = float(np.asarray(got, dtype=float).reshape(()))
    except (TypeError, ValueError) as err:
        raise Incorrect(f"{what} should return one number; got {got!r}.",
                        "Return the difference quotient itself, a single float.") from err
    if not math.isfinite(value):
        raise Incorrect(f"{what} returned {value}.", "Check the division: the denominator is 2h.")
    return value


@exercise(
    "06.central_diff", "Central difference",
    right=[_central_ref, _central_bp, _central_half],
    wrong={"/h instead of /(2h)": _wrong_over_h, "forward difference": _wrong_forward,
           "backward difference": _wrong_backward, "sign flipped": _wrong_sign},
    success="(f(x+h) − f(x−h)) / (2h): its error falls like h², four times smaller for half the step.",
)
def _check_central_diff(answer):
    require_callable(answer, "central_diff")
    x, exact = 0.5, math.exp(0.5)
    got = _estimate(answer, np.exp, x, 1e-3, "central_diff(np.exp, 0.5, 1e-3)")
    if abs(got - 2 * exact) < 1e-3 * exact:
        raise Incorrect(f"central_diff(np.exp, 0.5, 1e-3) = {got:.6f}, about twice eˣ = {exact:.6f}.",
                        "The two points x − h and x + h are 2h apart, so divide their difference by 2h.")
    if abs(got + exact) < 1e-3 * exact:
        raise Incorrect(f"central_diff(np.exp, 0.5, 1e-3) = {got:.6f}: the sign is flipped "
                        f"(d eˣ/dx = {exact:.6f} > 0).", "Compute f(x + h) − f(x − h), in that order.")
    # slope test: log(error) against log(h), where truncation dominates
    errors = np.array([abs(_estimate(answer, np.exp, x, float(h), "central_diff") - exact)
                       for h in _SLOPE_HS])
    require(np.all(errors > 0), "the error of central_diff is exactly 0 at some h; that cannot be a "
            "finite difference of eˣ.", "Use only f(x + h) and f(x − h), not the exact derivative.")
    slope = float(np.polyfit(np.log10(_SLOPE_HS), np.log10(errors), 1)[0])
    if abs(slope - 1) < 0.3:
        raise Incorrect(
            f"halving h only halves your error (fitted slope {slope:.2f} on h = 0.1 … 0.006): this is a "
            "one-sided difference, with error |f″|h/2.",
            "Use both neighbours, f(x + h) and f(x − h): the h²-terms of their Taylor series cancel, and "
            "the error falls like h² (slope 2).")
    require(abs(slope - 2) < 0.3,
            f"the error of central_diff should fall like h² (slope 2); the fitted slope is {slope:.2f}.",
            "Central difference: (f(x + h) − f(x − h)) / (2h).")
    for f, x0, h in ((np.exp, 0.5, 1e-3), (np.sin, 1.0, 1e-2), (np.tanh, -0.7, 0.3)):
        got = _estimate(answer, f, x0, h, f"central_diff(np.{f.__name__}, {x0}, {h})")
        ref = _central_ref(f, x0, h)
        require(abs(got - ref) <= 1e-9 * abs(ref) + 1e-12,
                f"central_diff(np.{f.__name__}, {x0}, {h}) = {got:.12g}; expected {ref:.12g}.",
                "Use exactly the step h you are given: (f(x + h) − f(x − h)) / (2h).")


# -- 06.h_float32 -----------------------------------------------------------------------

H_RANGE = (1e-3, 1e-2)        # around eps32^(1/3) ≈ 4.9e-3, where truncation ≈ rounding


def _float32_error(h: float) -> float:
    """|central difference − cos 1| for sin at x = 1, computed in float32."""
    with np.errstate(all="ignore"):
        d = numerical_derivative(np.sin, np.float32(1.0), h, method="central")
    return abs(float(d) - math.cos(1.0))


@exercise(
    "06.h_float32", "A step h for central differences in float32",
    right=[5e-3, float(np.finfo(np.float32).eps) ** (1 / 3), 1e-3, 1e-2, np.float32(2e-3)],
    wrong={"float64's forward optimum 1e-8": 1e-8, "float64's central optimum 1e-5": 1e-5,
           "sqrt(eps32), the one-sided optimum": float(np.sqrt(np.finfo(np.float32).eps)),
           "far too large": 0.5, "zero": 0.0, "a string": "1e-3"},
    success="In float32 (eps ≈ 1.2e-7) the best central step is near eps^(1/3) ≈ 5e-3.",
)
def _check_h_float32(answer):
    if answer is None or answer is Ellipsis:
        raise NotAttempted
    require(isinstance(answer, numbers.Real) and not isinstance(answer, bool),
            f"give h as a number such as 1e-4; got {type(answer).__name__} {answer!r}.",
            "Write h_float32 = 1e-4 (a float, not a string).")
    h = float(answer)
    require(math.isfinite(h) and h > 0, f"h must be a positive step; got {h}.",
            "A finite difference needs a step h > 0.")
    err, best = _float32_error(h), _float32_error(5e-3)
    measured = f"In float32, sin′(1) by central differences with h = {h:.2g} is off by {err:.1e} " \
               f"(at h = 5e-3: {best:.1e})."
    if np.float32(1.0) + np.float32(h) == np.float32(1.0):
        raise Incorrect(f"x + h rounds to x in float32 (the spacing of floats near 1 is 1.2e-7), so "
                        f"f(x + h) − f(x − h) = 0 and the estimate is 0. {measured}",
                        "float32 keeps only about 7 significant digits: the step must be far larger than "
                        "in float64.")
    if h < H_RANGE[0]:
        raise Incorrect(f"h = {h:.2g} is too small for float32: rounding error, ≈ eps·|f|/(2h), "
                        f"dominates. {measured}",
                        "Balance the two errors: |f‴|h²/6 against eps·|f|/(2h) gives h ~ eps^(1/3), with "
                        "eps = np.finfo(np.float32).eps. (√eps is the optimum of one-sided differences.)")
    require(h <= H_RANGE[1],
            f"h = {h:.2g} is too large: truncation error, |f‴|h²/6, dominates. {measured}",
            "Shrink h until truncation (∝ h²) and rounding (∝ 1/h) are about equal: h ~ eps^(1/3).")


# -- 06.mode ----------------------------------------------------------------------------

MODE_KEYS = ("R^1000 -> R", "R -> R^1000")
_EXPECTED = {"R^1000 -> R": "reverse", "R -> R^1000": "forward"}
_MODE_ALIASES = {
    "reverse": "reverse", "reversemode": "reverse", "backward": "reverse", "backprop": "reverse",
    "backpropagation": "reverse", "vjp": "reverse", "adjoint": "reverse",
    "forward": "forward", "forwardmode": "forward", "tangent": "forward", "jvp": "forward",
    "dual": "forward", "dualnumbers": "forward", "tangentlinear": "forward",
}


def _mode_name(value):
    if not isinstance(value, str):
        return None
    key = value.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    return _MODE_ALIASES.get(key)


@exercise(
    "06.mode", "Forward or reverse mode",
    right=[dict(_EXPECTED), {"R^1000 -> R": "reverse mode", "R -> R^1000": "forward mode"},
           {"R^1000 -> R": "backprop", "R -> R^1000": "JVP"}],
    wrong={"swapped": {"R^1000 -> R": "forward", "R -> R^1000": "reverse"},
           "reverse for everything": {"R^1000 -> R": "reverse", "R -> R^1000": "reverse"},
           "forward for everything": {"R^1000 -> R": "forward", "R -> R^1000": "forward"}},
    success="ℝ¹⁰⁰⁰ → ℝ: one reverse pass gives all 1000 partials (forward mode needs 1000 passes); "
            "ℝ → ℝ¹⁰⁰⁰: one forward pass gives all 1000 (reverse mode needs 1000).",
)
def _check_mode(answer):
    require(isinstance(answer, dict), f"answer with a dict {{function: mode}}; got {type(answer).__name__}.",
            "Fill in the ... values of the dict given in the exercise cell.")
    if all(v is Ellipsis or v is None for v in answer.values()):
        raise NotAttempted
    missing = [k for k in MODE_KEYS if k not in answer]
    require(not missing, f"the dict misses {missing}.",
            "Keep the keys as given; replace only the ... values.")
    modes = {}
    for key in MODE_KEYS:
        if answer[key] is Ellipsis or answer[key] is None:
            raise Incorrect(f"no mode chosen yet for {key}.", 'Answer "forward" or "reverse".')
        mode = _mode_name(answer[key])
        require(mode is not None, f"{answer[key]!r} (for {key}) is not a mode.",
                'Answer "forward" or "reverse".')
        modes[key] = mode
    if modes == {"R^1000 -> R": "forward", "R -> R^1000": "reverse"}:
        raise Incorrect("the two are swapped.",
                        "Forward mode gives one column of the Jacobian per pass (one pass per input); "
                        "reverse mode one row per pass (one pass per output). Count passes for each.")
    for key in MODE_KEYS:
        if modes[key] != _EXPECTED[key]:
            n_in, n_out = (1000, 1) if key == "R^1000 -> R" else (1, 1000)
            raise Incorrect(
                f"{modes[key]} mode is not the cheap choice for {key}.",
                f"The Jacobian is {n_out} × {n_in}. Forward mode needs one pass per input ({n_in}), "
                f"reverse mode one per output ({n_out}).")
