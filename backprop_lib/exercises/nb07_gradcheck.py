"""Checkers for notebook 07 (gradient checking).

* ``07.relative_error``: elementwise |a − b| / (|a| + |b|), and 0 where a = b = 0 (the naive
  |a − b| / |a| gives NaN or inf where a = 0);
* ``07.grad_check``: the seed article's loop: central differences entry by entry (restoring each
  entry), then ‖g_n − g_a‖ / (‖g_n‖ + ‖g_a‖), 0 when both are 0;
* ``07.band``: "correct" below 1e-7, "suspicious" below 1e-4, "wrong" from 1e-4 on and for NaN.
"""

from __future__ import annotations

import math

import numpy as np

from .. import gradcheck
from .core import Incorrect, exercise, require, require_callable, require_close

# -- 07.relative_error ----------------------------------------------------------------------

_A = np.array([1.0, -2.0, 0.0, 0.0, 3.0, 1e-3, -5.0, 2.0])
_B = np.array([1.0 + 1e-9, -2.5, 0.0, 0.7, -3.0, 2e-3, -5.0, 0.0])


def _rel_ref(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), np.finfo(float).tiny)


def _rel_where(a, b):
    den = np.abs(a) + np.abs(b)
    return np.divide(np.abs(a - b), den, out=np.zeros_like(den, dtype=float), where=den > 0)


def _wrong_over_a(a, b):                             # |a − b| / |a|: NaN at 0/0, inf at x/0
    return np.abs(a - b) / np.abs(a)


def _wrong_no_guard(a, b):                           # 0/0 = NaN where both are 0
    return np.abs(a - b) / (np.abs(a) + np.abs(b))


def _wrong_absolute(a, b):
    return np.abs(a - b)


def _wrong_norms(a, b):                              # the seed's one number, not one per entry
    return np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))


def _call_quiet(fn, *args):
    with np.errstate(all="ignore"):
        return fn(*(np.array(a) for a in args))


@exercise(
    "07.relative_error", "Relative error, entry by entry",
    right=[_rel_ref, _rel_where],
    wrong={"|a−b|/|a|": _wrong_over_a, "no 0/0 guard": _wrong_no_guard, "absolute error": _wrong_absolute,
           "one number (norms)": _wrong_norms},
    success="|a − b| / (|a| + |b|) is symmetric, at most 1, and 0 where both gradients are 0.",
)
def _check_relative_error(answer):
    require_callable(answer, "relative_error")
    got = _call_quiet(answer, _A, _B)
    require(got is not None, "relative_error returned None.", "Did you forget a `return`?")
    got = np.asarray(got, dtype=float)
    require(got.shape == _A.shape,
            f"relative_error should return one error per entry, shape {_A.shape}; got shape {got.shape}.",
            "Work elementwise: np.abs(a - b) / (...), no np.linalg.norm and no sum.")
    expected = _rel_ref(_A, _B)
    both_zero = (_A == 0) & (_B == 0)
    if not np.all(np.isfinite(got)):
        bad = int(np.flatnonzero(~np.isfinite(got))[0])
        raise Incorrect(
            f"relative_error gave {got[bad]} for a = {_A[bad]:g}, b = {_B[bad]:g}; "
            f"expected {expected[bad]:g}.",
            "Dividing by |a| fails where the gradient is 0, and 0/0 is NaN: divide by |a| + |b| and "
            "return 0 where both are 0 (np.maximum(|a| + |b|, tiny) or np.divide(..., where=den > 0)).",
        )
    if np.allclose(got[~both_zero], np.abs(_A - _B)[~both_zero]):
        raise Incorrect("That is the absolute error |a − b|: a gradient of size 1000 and one of size 0.001 "
                        "would be judged on different scales.",
                        "Divide by |a| + |b| to make the error relative.")
    require_close(got, expected, "relative_error(a, b)", rtol=1e-9, atol=1e-15,
                  hint="|a − b| / (|a| + |b|): symmetric in a and b, between 0 and 1.")
    require_close(_call_quiet(answer, np.zeros(3), np.zeros(3)), np.zeros(3),
                  "relative_error(0, 0)", hint="Two zero gradients agree perfectly: their error is 0.")


# -- 07.grad_check ----------------------------------------------------------------------------

def _grad_check_ref(f, x, analytic_grad, h=1e-5):
    numeric = np.zeros_like(x, dtype=float)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        f_plus = f(x)
        x[ix] = old - h
        f_minus = f(x)
        x[ix] = old                                   # restore
        numeric[ix] = (f_plus - f_minus) / (2 * h)
    den = np.linalg.norm(numeric) + np.linalg.norm(analytic_grad)
    return 0.0 if den == 0 else float(np.linalg.norm(numeric - analytic_grad) / den)


def _grad_check_copy(f, x, analytic_grad, h=1e-5):
    x = np.array(x, dtype=float)                      # perturb a copy: nothing to restore
    numeric = gradcheck.numerical_gradient(f, x, h)
    den = np.linalg.norm(numeric) + np.linalg.norm(analytic_grad)
    return 0.0 if den == 0 else float(np.linalg.norm(numeric - analytic_grad) / den)


def _wrong_not_restored(f, x, analytic_grad, h=1e-5):
    numeric = np.zeros_like(x, dtype=float)
    for ix in np.ndindex(x.shape):
        x[ix] += h
        f_plus = f(x)
        x[ix] -= 2 * h                                # ... and never back: x[ix] ends at old − h
        f_minus = f(x)
        numeric[ix] = (f_plus - f_minus) / (2 * h)
    den = np.linalg.norm(numeric) + np.linalg.norm(analytic_grad)
    return 0.0 if den == 0 else float(np.linalg.norm(numeric - analytic_grad) / den)


def _wrong_forward_difference(f, x, analytic_grad, h=1e-5):
    numeric = np.zeros_like(x, dtype=float)
    f0 = f(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        numeric[ix] = (f(x) - f0) / h
        x[ix] = old
    den = np.linalg.norm(numeric) + np.linalg.norm(analytic_grad)
    return 0.0 if den == 0 else float(np.linalg.norm(numeric - analytic_grad) / den)


def _wrong_divide_by_h(f, x, analytic_grad, h=1e-5):
    numeric = np.zeros_like(x, dtype=float)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        f_plus = f(x)
        x[ix] = old - h
        f_minus = f(x)
        x[ix] = old
        numeric[ix] = (f_plus - f_minus) / h          # the step is 2h wide
    den = np.linalg.norm(numeric) + np.linalg.norm(analytic_grad)
    return float(np.linalg.norm(numeric - analytic_grad) / den)


def _smooth(x):                                       # f(x) = Σ sin(x_i) x_i² + x_0 x_1 … coupling terms
    return float(np.sum(np.sin(x) * x**2) + np.sum(x[:-1] * x[1:]) ** 2 / 4)


def _smooth_grad(x):
    s = np.sum(x[:-1] * x[1:])
    g = np.cos(x) * x**2 + 2 * x * np.sin(x)
    g[:-1] += s / 2 * x[1:]
    g[1:] += s / 2 * x[:-1]
    return g


@exercise(
    "07.grad_check", "The seed article's gradient check",
    right=[_grad_check_ref, _grad_check_copy],
    wrong={"x not restored": _wrong_not_restored, "forward difference": _wrong_forward_difference,
           "divides by h, not 2h": _wrong_divide_by_h},
    success="Central differences, one entry at a time, each restored: 2 evaluations of f per entry.",
)
def _check_grad_check(answer):
    require_callable(answer, "grad_check")
    x = np.array([0.7, -1.3, 2.1, 0.4, -0.9])
    x0 = x.copy()
    err = answer(_smooth, x, _smooth_grad(x0))
    changed = np.flatnonzero(x != x0)
    if changed.size:
        i = int(changed[0])
        raise Incorrect(
            f"grad_check changed x: x[{i}] was {x0[i]:g} and is now {x[i]:.10g} (off by {x[i] - x0[i]:.1e}).",
            "After evaluating f(x + h e_i) and f(x − h e_i), put x[i] back to its old value. Otherwise every "
            "later entry is differentiated at a shifted point, and the caller's array is corrupted.",
        )
    require(err is not None, "grad_check returned None.", "Return the relative error (a number).")
    try:
        err = float(err)
    except (TypeError, ValueError) as exc:
        raise Incorrect(f"grad_check should return one number; got {type(err).__name__}.",
                        "Return ‖g_n − g_a‖ / (‖g_n‖ + ‖g_a‖), a float.") from exc
    if 1e-7 <= err < 1e-4:
        raise Incorrect(
            f"For a correct analytic gradient your check gives {err:.1e}, far above the ~1e-10 central "
            "differences reach with h = 1e-5.",
            "Use the central difference (f(x + h e_i) − f(x − h e_i)) / (2h): its error shrinks like h², "
            "a one-sided difference's only like h.",
        )
    wrong_grad = _smooth_grad(x0) * np.array([1, 1, 2, 1, 1])          # one entry doubled
    expected_wrong = _grad_check_ref(_smooth, x0.copy(), wrong_grad)
    got_wrong = float(answer(_smooth, x.copy(), wrong_grad))
    if not err < 1e-8 and math.isclose(err, 1 / 3, rel_tol=0.2):
        raise Incorrect(f"For a correct analytic gradient your check gives {err:.3g}, about 1/3: your "
                        "numerical gradient is twice too large.",
                        "The two evaluations are 2h apart: divide their difference by 2h.")
    require(err < 1e-8, f"For a correct analytic gradient your check gives {err:.3g}; expected < 1e-8.",
            "Compare numeric and analytic with ‖g_n − g_a‖ / (‖g_n‖ + ‖g_a‖).")
    require_close(got_wrong, expected_wrong, "grad_check with one analytic entry doubled", rtol=1e-5,
                  hint="‖g_n − g_a‖ / (‖g_n‖ + ‖g_a‖) with the 2-norm (np.linalg.norm).")
    zero = answer(lambda v: 3.0, np.array([1.0, 2.0]), np.zeros(2))
    require(zero is not None and float(zero) == 0.0,
            f"For a constant f and a zero analytic gradient the error should be 0; got {zero}.",
            "Both norms are 0 there: return 0 when the denominator is 0 (as the seed's code does).")


# -- 07.band --------------------------------------------------------------------------------

_BAND_CASES = ((0.0, "correct"), (1e-12, "correct"), (9.99e-8, "correct"), (1e-7, "suspicious"),
               (3e-6, "suspicious"), (9.99e-5, "suspicious"), (1e-4, "wrong"), (0.33, "wrong"),
               (1.0, "wrong"), (math.inf, "wrong"), (math.nan, "wrong"))


def _band_ref(err):
    return gradcheck.verdict(err)


def _band_if(err):
    if err < 1e-7:
        return "correct"
    if err < 1e-4:
        return "suspicious"
    return "wrong"


def _wrong_le_correct(err):                         # 1e-7 itself counted as correct
    if err <= 1e-7:
        return "correct"
    return "suspicious" if err < 1e-4 else "wrong"


def _wrong_le_suspicious(err):                      # 1e-4 itself counted as suspicious
    if err < 1e-7:
        return "correct"
    return "suspicious" if err <= 1e-4 else "wrong"


def _wrong_nan_correct(err):                        # every comparison with NaN is False
    if err >= 1e-4:
        return "wrong"
    if err >= 1e-7:
        return "suspicious"
    return "correct"


@exercise(
    "07.band", "Verdict bands of the relative error",
    right=[_band_ref, _band_if],
    wrong={"1e-7 → correct": _wrong_le_correct, "1e-4 → suspicious": _wrong_le_suspicious,
           "NaN → correct": _wrong_nan_correct},
    success="< 1e-7 correct, < 1e-4 suspicious, otherwise (NaN included) wrong.",
)
def _check_band(answer):
    require_callable(answer, "band")
    for err, expected in _BAND_CASES:
        got = answer(err)
        if got == expected:
            continue
        if math.isnan(err):
            raise Incorrect(f"band(nan) = {got!r}; a NaN error means the check itself broke: 'wrong'.",
                            "Every comparison with NaN is False, so `if err >= 1e-4` lets NaN fall through. "
                            "Test for the good bands first (err < 1e-7, err < 1e-4) and return 'wrong' last.")
        raise Incorrect(f"band({err:g}) = {got!r}; expected {expected!r}.",
                        "The bands are half-open: correct if err < 1e-7, suspicious if 1e-7 ≤ err < 1e-4, "
                        "wrong from 1e-4 on. Use strict < at both edges.")
