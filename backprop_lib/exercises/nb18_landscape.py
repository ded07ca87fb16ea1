"""Checkers for notebook 18 (the optimization landscape).

* ``18.steps_to_tol``: ``steps_to_tol(kappa, tol)``, the steps gradient descent at η = 2/(L + μ)
  needs to shrink ‖θ − θ*‖ by ``tol`` on a quadratic of condition number κ (the smallest t with
  ((κ − 1)/(κ + 1))ᵗ <= tol; accepted within max(1 step, 2 %), so the large-κ form
  (κ/2)·ln(1/tol) passes). Catches momentum's √κ, the rate 1 − 1/κ of η = 1/L (twice the
  steps), log₁₀ for ln, and an answer that ignores tol;
* ``18.classify``: ``classify(H)`` names a critical point from its Hessian: "minimum",
  "maximum", "saddle" or "degenerate" (by the signs of the eigenvalues). Catches the sign of
  det H (a 2-D maximum has det > 0), the signs of the diagonal (H is not diagonal in general),
  the 2-D trace/determinant rule used in 3-D, and zero eigenvalues counted as positive;
* ``18.perturbed_gd``: ``perturbed_gd(grad, x0, lr, steps, radius, grad_tol, rng)`` returns the
  path (steps + 1, n) of gradient descent that adds a random kick of length <= radius whenever
  ‖∇f‖ <= grad_tol. Started exactly at the saddle of ½x² − ½y² + ¼y⁴ it must reach a minimum;
  away from flat spots it must be plain gradient descent. Catches no kick at an exact saddle
  (plain GD, a kick along ∇f or scaled by ‖∇f‖, a guard ``0 < ‖∇f‖``), noise at every step,
  and a kick that ignores the radius.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..optim.landscape import QuarticSaddle, classify_critical_point, steps_to_tol
from .core import Incorrect, exercise, require, require_callable

# -- 18.steps_to_tol -------------------------------------------------------------------------------

_KAPPAS = (10.0, 100.0, 1000.0, 10_000.0)
_TOLS = (1e-3, 1e-6, 1e-9)


def _steps_exact(kappa, tol):
    rho = (kappa - 1) / (kappa + 1)                      # the contraction per step at η = 2/(L + μ)
    return math.ceil(math.log(tol) / math.log(rho))      # smallest t with ρᵗ <= tol


def _steps_asymptotic(kappa, tol):
    return math.ceil(kappa / 2 * math.log(1 / tol))      # ln(1/tol)/ln(1 + 2/(κ − 1)) ≈ (κ/2) ln(1/tol)


def _wrong_sqrt_kappa(kappa, tol):
    s = math.sqrt(kappa)                                 # the heavy ball's rate (√κ − 1)/(√κ + 1)
    return math.ceil(math.log(tol) / math.log((s - 1) / (s + 1)))


def _wrong_one_over_L(kappa, tol):
    return math.ceil(math.log(tol) / math.log(1 - 1 / kappa))    # the rate of η = 1/L


def _wrong_log10(kappa, tol):
    return math.ceil(kappa / 2 * math.log10(1 / tol))


def _wrong_no_tol(kappa, tol):
    return math.ceil(kappa / 2)


def _number(value, kappa, tol) -> float:
    what = f"steps_to_tol({kappa:g}, {tol:g})"
    require(value is not None, f"{what} returned None.", "End with `return t`.")
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise Incorrect(f"{what} should return a number of steps; got {type(value).__name__}.") from err
    require(math.isfinite(v), f"{what} returned {v}; expected a finite number of steps.",
            "ln(ρ) < 0 for 0 < ρ < 1: divide ln(tol) by ln(ρ), both negative.")
    return v


@exercise(
    "18.steps_to_tol", "Steps to a tolerance at η = 2/(L + μ)",
    right=[steps_to_tol, _steps_exact, _steps_asymptotic],
    wrong={"√κ (the heavy ball's rate)": _wrong_sqrt_kappa, "rate 1 − 1/κ (η = 1/L)": _wrong_one_over_L,
           "log10 for ln": _wrong_log10, "ignores tol": _wrong_no_tol},
    success="t = ⌈ln(1/tol)/ln((κ + 1)/(κ − 1))⌉ ≈ (κ/2)·ln(1/tol): linear in κ, so 10× the condition "
            "number costs 10× the steps (only momentum gets √κ).",
)
def _check_steps_to_tol(answer):
    require_callable(answer, "steps_to_tol")
    got = {}
    for kappa in _KAPPAS:
        for tol in _TOLS:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                got[kappa, tol] = _number(answer(kappa, tol), kappa, tol)
    # how the answer scales with κ (at tol = 1e-6) and with ln(1/tol) (at κ = 1000)
    slope_k = math.log(max(got[10_000.0, 1e-6], 1e-300) / max(got[100.0, 1e-6], 1e-300)) / math.log(100)
    ratio_tol = got[1000.0, 1e-9] / got[1000.0, 1e-3] if got[1000.0, 1e-3] else float("nan")
    for (kappa, tol), v in got.items():
        ref = steps_to_tol(kappa, tol)
        if _near(v, ref):
            continue
        what = f"steps_to_tol({kappa:g}, {tol:g}) = {v:g}; expected {ref}"
        if _near(v, _wrong_sqrt_kappa(kappa, tol)) or abs(slope_k - 0.5) <= 0.05:
            raise Incorrect(f"{what}. Your count grows like √κ (κ × 100 gives {10 ** (2 * slope_k):.3g}× "
                            "the steps): that is the heavy ball's rate (√κ − 1)/(√κ + 1), not gradient "
                            "descent's.",
                            "Plain GD at η = 2/(L + μ) contracts by ρ = (κ − 1)/(κ + 1) per step, so "
                            "t = ln(1/tol)/ln(1/ρ) ≈ (κ/2)·ln(1/tol): linear in κ.")
        if _near(v, _wrong_one_over_L(kappa, tol)):
            raise Incorrect(f"{what}: about twice as many. That is the rate 1 − 1/κ of the learning rate "
                            "η = 1/L.",
                            "At η = 2/(L + μ) both extreme directions contract by (κ − 1)/(κ + 1) = "
                            "1 − 2/(κ + 1) per step: about twice as fast as 1 − 1/κ.")
        if abs(ratio_tol - 1) <= 0.01:
            raise Incorrect(f"{what}. Your count does not change with tol (1e-3 and 1e-9 give the same).",
                            "Each step multiplies the error by ρ, so reaching tol takes ln(1/tol)/ln(1/ρ) "
                            "steps.")
        if abs(v / ref - math.log10(math.e)) <= 0.02:
            raise Incorrect(f"{what}: {v / ref:.3f} of it, which is log₁₀(e). One logarithm is base 10.",
                            "Use natural logarithms (math.log, np.log) in both places, or the same base in "
                            "both.")
        raise Incorrect(f"{what}.",
                        "Find the smallest t with ((κ − 1)/(κ + 1))ᵗ <= tol: t = ⌈ln(tol)/ln(ρ)⌉.")


def _near(v, ref) -> bool:
    """Within one step or 2 % (rounding conventions and the large-κ form (κ/2)·ln(1/tol) pass)."""
    return abs(v - ref) <= max(1.0, 0.02 * ref)


# -- 18.classify -----------------------------------------------------------------------------------

def _rotated(eigenvalues, seed):
    lam = np.asarray(eigenvalues, dtype=float)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((lam.size, lam.size)))
    return Q @ np.diag(lam) @ Q.T


_CASES = [                                               # (Hessian, why it is a useful case)
    (np.diag([2.0, 3.0]), "a bowl"),
    (np.diag([-1.0, -4.0]), "a 2-D maximum: det H = 4 > 0"),
    (np.array([[1.0, 2.0], [2.0, 1.0]]), "eigenvalues 3 and −1, a positive diagonal"),
    (np.diag([1.0, -1.0]), "the saddle of ½x² − ½y² + ¼y⁴"),
    (np.diag([-1.0, -2.0, 3.0]), "a 3-D saddle with two downhill directions: det H = 6 > 0"),
    (_rotated([1.0, 1.0, -5.0], 1), "a 3-D saddle, rotated"),
    (_rotated([0.5, 2.0, 4.0], 2), "a 3-D minimum, rotated"),
    (_rotated([-0.5, -2.0, -4.0], 3), "a 3-D maximum, rotated: det H < 0"),
    (np.diag([1.0, 0.0]), "a zero eigenvalue: x² + y⁴ and x² − y⁴ both have this Hessian"),
    (np.diag([-2.0, 0.0, -1.0]), "a zero eigenvalue, the others negative"),
    (np.array([[4.0]]), "one variable, f″ > 0"),
]


def _classify_det(H):
    d = np.linalg.det(H)
    return "minimum" if d > 1e-12 else "saddle" if d < -1e-12 else "degenerate"


def _classify_diagonal(H):
    diag = np.diag(H)
    if np.all(diag > 0):
        return "minimum"
    if np.all(diag < 0):
        return "maximum"
    return "saddle" if np.any(diag > 0) and np.any(diag < 0) else "degenerate"


def _classify_trace_det(H):
    d, tr = np.linalg.det(H), np.trace(H)                # right for 2 × 2 only
    if abs(d) <= 1e-12:
        return "degenerate"
    if d < 0:
        return "saddle"
    return "minimum" if tr > 0 else "maximum"


def _classify_zero_positive(H):
    lam = np.linalg.eigvalsh(H)
    if np.all(lam >= 0):
        return "minimum"
    if np.all(lam <= 0):
        return "maximum"
    return "saddle"


def _classify_by_eigenvalues(H):
    lam = np.linalg.eigvalsh(H)
    if lam.min() > 1e-10:
        return "minimum"
    if lam.max() < -1e-10:
        return "maximum"
    if lam.min() < -1e-10 and lam.max() > 1e-10:
        return "saddle"
    return "degenerate"


def _kind(value, i) -> str:
    if not isinstance(value, str):
        raise Incorrect(f"classify returned {value!r} for case {i + 1}; return one of the strings "
                        "'minimum', 'maximum', 'saddle', 'degenerate'.")
    v = value.strip().lower()
    require(v in ("minimum", "maximum", "saddle", "degenerate"),
            f"classify returned {value!r}; expected one of 'minimum', 'maximum', 'saddle', 'degenerate'.")
    return v


@exercise(
    "18.classify", "Classify a critical point by its Hessian",
    right=[classify_critical_point, _classify_by_eigenvalues],
    wrong={"sign of det H": _classify_det, "signs of the diagonal": _classify_diagonal,
           "2-D trace/det rule in 3-D": _classify_trace_det,
           "zero counted as positive": _classify_zero_positive},
    success="The signs of the eigenvalues decide: all positive a minimum, all negative a maximum, both "
            "signs a (strict) saddle, a zero with the rest of one sign undecided by second derivatives.",
)
def _check_classify(answer):
    require_callable(answer, "classify")
    for i, (H, why) in enumerate(_CASES):
        got = _kind(answer(H.copy()), i)
        want = classify_critical_point(H)
        if got == want:
            continue
        lam = np.linalg.eigvalsh(H)
        verdict = {"minimum": "a minimum", "maximum": "a maximum", "saddle": "a saddle",
                   "degenerate": "degenerate (the test cannot decide)"}[want]
        text = (f"H = {np.array2string(H, precision=3, suppress_small=True)} ({why}): you said {got!r}; its "
                f"eigenvalues {np.array2string(lam, precision=3, suppress_small=True)} make it {verdict}.")
        det = np.linalg.det(H)
        if want == "maximum" and det > 0 and got == "minimum":
            raise Incorrect(text, "det H > 0 only says an even number of eigenvalues are negative: a maximum "
                                  "in 2-D has det > 0 too. Look at the eigenvalues (np.linalg.eigvalsh).")
        if H.shape[0] == 3 and want == "saddle":
            raise Incorrect(text, "In 3-D, det H is the product of three eigenvalues: (−1)(−2)(3) > 0. "
                                  "Neither its sign nor the trace tells a saddle from an extremum; the "
                                  "eigenvalues' signs do.")
        if want == "degenerate":
            raise Incorrect(text, "With a zero eigenvalue the second-order test cannot decide: x² + y⁴ and "
                                  "x² − y⁴ share the Hessian diag(2, 0). Answer 'degenerate' then.")
        if not np.allclose(H, np.diag(np.diag(H))):
            raise Incorrect(text, "The diagonal of H is the curvature along the axes only; the eigenvalues "
                                  "are the curvatures along H's own directions.")
        raise Incorrect(text, "All eigenvalues > 0: minimum; all < 0: maximum; both signs: saddle.")


# -- 18.perturbed_gd -------------------------------------------------------------------------------

_SADDLE = QuarticSaddle()


def _saddle_grad(theta):
    return _SADDLE.grad(np.asarray(theta, dtype=float))


def _bowl_grad(theta):
    theta = np.asarray(theta, dtype=float)
    return np.array([1.0, 4.0]) * theta                  # f = ½(x² + 4y²)


def _pgd_ref(grad, x0, lr, steps, radius, grad_tol, rng):
    theta = np.array(x0, dtype=float)
    path = [theta.copy()]
    for _ in range(steps):
        g = grad(theta)
        if np.linalg.norm(g) <= grad_tol:                # flat: a kick of length <= radius
            u = rng.standard_normal(theta.size)
            theta = theta + radius * rng.random() * u / np.linalg.norm(u)
            g = grad(theta)
        theta = theta - lr * g                           # θ ← θ − η∇f(θ)
        path.append(theta.copy())
    return np.array(path)


def _pgd_kick_after(grad, x0, lr, steps, radius, grad_tol, rng):
    theta = np.array(x0, dtype=float)
    path = [theta.copy()]
    for _ in range(steps):
        g = grad(theta)
        theta = theta - lr * g
        if np.linalg.norm(g) <= grad_tol:
            theta = theta + rng.uniform(-radius, radius, theta.size) / np.sqrt(theta.size)
        path.append(theta.copy())
    return np.array(path)


def _pgd_library(grad, x0, lr, steps, radius, grad_tol, rng):
    from ..optim.landscape import perturbed_gd

    return perturbed_gd(grad, x0, lr, steps, radius=radius, grad_tol=grad_tol, seed=rng)


def _wrong_plain_gd(grad, x0, lr, steps, radius, grad_tol, rng):
    theta = np.array(x0, dtype=float)
    path = [theta.copy()]
    for _ in range(steps):
        theta = theta - lr * grad(theta)
        path.append(theta.copy())
    return np.array(path)


def _wrong_kick_along_gradient(grad, x0, lr, steps, radius, grad_tol, rng):
    theta = np.array(x0, dtype=float)
    path = [theta.copy()]
    for _ in range(steps):
        g = grad(theta)
        norm = np.linalg.norm(g)
        if 0 < norm <= grad_tol:                         # "avoid dividing by zero": never kicks at 0
            theta = theta - radius * rng.random() * g / norm
        theta = theta - lr * grad(theta)
        path.append(theta.copy())
    return np.array(path)


def _wrong_kick_scaled_by_gradient(grad, x0, lr, steps, radius, grad_tol, rng):
    theta = np.array(x0, dtype=float)
    path = [theta.copy()]
    for _ in range(steps):
        g = grad(theta)
        if np.linalg.norm(g) <= grad_tol:
            theta = theta + radius * np.linalg.norm(g) * rng.standard_normal(theta.size)   # 0 at the saddle
        theta = theta - lr * grad(theta)
        path.append(theta.copy())
    return np.array(path)


def _wrong_noise_every_step(grad, x0, lr, steps, radius, grad_tol, rng):
    theta = np.array(x0, dtype=float)
    path = [theta.copy()]
    for _ in range(steps):
        u = rng.standard_normal(theta.size)
        theta = theta + radius * rng.random() * u / np.linalg.norm(u) - lr * grad(theta)
        path.append(theta.copy())
    return np.array(path)


def _wrong_unscaled_kick(grad, x0, lr, steps, radius, grad_tol, rng):
    theta = np.array(x0, dtype=float)
    path = [theta.copy()]
    for _ in range(steps):
        if np.linalg.norm(grad(theta)) <= grad_tol:
            theta = theta + rng.standard_normal(theta.size)                # the radius forgotten
        theta = theta - lr * grad(theta)
        path.append(theta.copy())
    return np.array(path)


def _path(answer, grad, x0, lr, steps, radius, grad_tol, seed, where):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        rng = np.random.default_rng(seed)
        got = answer(grad, np.array(x0, dtype=float), lr, steps, radius, grad_tol, rng)
    require(got is not None, f"perturbed_gd returned None ({where}).", "Return the path as an array.")
    try:
        path = np.asarray(got, dtype=float)
    except (TypeError, ValueError) as err:
        raise Incorrect("perturbed_gd should return an array (steps + 1, n); got "
                        f"{type(got).__name__}.") from err
    n = len(x0)
    require(path.shape == (steps + 1, n),
            f"perturbed_gd(..., steps={steps}) from {where} returned shape {path.shape}; expected "
            f"({steps + 1}, {n}): the start, then the point after every step.",
            "Append θ₀ first, then θ after each of the steps.")
    require(np.allclose(path[0], x0), f"The path should start at x0 = {x0}; it starts at {path[0]}.")
    return path


@exercise(
    "18.perturbed_gd", "Perturbed gradient descent",
    right=[_pgd_ref, _pgd_kick_after, _pgd_library],
    wrong={"plain GD": _wrong_plain_gd, "kick along ∇f, guarded by 0 < ‖∇f‖": _wrong_kick_along_gradient,
           "kick scaled by ‖∇f‖": _wrong_kick_scaled_by_gradient,
           "noise at every step": _wrong_noise_every_step, "radius ignored": _wrong_unscaled_kick},
    success="A kick of length at most r where the gradient is (nearly) zero, plain gradient descent "
            "everywhere else: it leaves even an exact strict saddle, and the descent does the rest.",
)
def _check_perturbed_gd(answer):
    require_callable(answer, "perturbed_gd")
    lr, radius, grad_tol = 0.1, 1e-3, 1e-3
    # 1. away from flat spots: exactly gradient descent
    start = (1.0, -1.0)
    path = _path(answer, _bowl_grad, start, lr, 20, radius, grad_tol, 0, "(1, −1) on ½(x² + 4y²)")
    gd = _wrong_plain_gd(_bowl_grad, start, lr, 20, radius, grad_tol, None)
    gap = float(np.max(np.abs(path - gd)))
    require(gap <= 1e-12,
            f"On ½(x² + 4y²) from (1, −1) the gradient is never small (‖∇f‖ >= 0.1), yet your path differs "
            f"from plain gradient descent by up to {gap:.2g}.",
            "Kick only when ‖∇f(θ)‖ <= grad_tol; otherwise take the plain step θ − lr·∇f(θ).")
    # 2. from the exact saddle: kicked off it, then down to a minimum
    minima = _SADDLE.minima
    for seed in range(4):
        path = _path(answer, _saddle_grad, (0.0, 0.0), lr, 300, radius, grad_tol, seed, "the saddle (0, 0)")
        require(bool(np.all(np.isfinite(path))), f"The path from the saddle (seed {seed}) holds NaN or inf.",
                "At the saddle ∇f = 0: never divide by ‖∇f‖.")
        dist = float(np.min(np.linalg.norm(minima - path[-1], axis=1)))
        if dist > 0.05:
            moved = float(np.max(np.linalg.norm(path, axis=1)))
            raise Incorrect(
                f"Started exactly at the saddle (0, 0) of ½x² − ½y² + ¼y⁴ (seed {seed}), your run ends at "
                f"{np.array2string(path[-1], precision=4)}, not near a minimum (0, ±1); it never got further "
                f"than {moved:.2g} from the saddle.",
                "At an exact saddle ∇f = 0, so anything proportional to the gradient (a step, a kick "
                "along ∇f, noise scaled by ‖∇f‖) is zero. The kick must be a random vector of length up "
                "to radius, drawn whenever ‖∇f‖ <= grad_tol, including ‖∇f‖ = 0.")
        # each step moves at most radius (plus the gradient step's change) away from plain GD
        prev = path[:-1]
        plain = prev - lr * _SADDLE.grad(prev)
        dev = float(np.max(np.linalg.norm(path[1:] - plain, axis=1)))
        require(dev <= 1.5 * radius,
                f"From the saddle (seed {seed}) one of your steps lands {dev:.3g} away from where plain "
                f"gradient descent would, more than the radius {radius:g} allows.",
                "Scale the random direction to length <= radius (e.g. radius · u/‖u‖ · a number in [0, 1]).")
