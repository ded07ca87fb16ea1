"""Checkers for notebook 21 (neural tangent kernel II: training dynamics).

All three use the loss L = 1/(2n)·Σ(f − y)², under which the outputs of a linearised network
move as df/dt = −(η/n)Θ(f − y).

* ``21.linearized_train``: ``linearized_train(theta, y, f0, lr, t)`` = y + e^{−ηtΘ/n}(f₀ − y)
  (gradient flow, a matrix exponential); caught: a missing 1/n, e^{+ηtΘ/n}, an elementwise
  np.exp instead of the matrix exponential, gradient descent's (I − ηΘ/n)^t, y and f₀ swapped;
* ``21.steps_to_shrink_slowest``: ``steps_to_shrink_slowest(theta, lr)`` = n/(ηλ_min), the time
  for the slowest mode to shrink by a factor e (gradient descent's whole number of steps,
  within one step, also passes); caught: λ_max, a missing n, the half-life (ln 2 × ...);
* ``21.infinite_time_prediction``: ``infinite_time_prediction(theta, theta_test_train, y, f0,
  f0_test)`` = f₀* + Θ_*X Θ⁻¹(y − f₀); caught: f₀ dropped (all of it, or only on the training
  side, or only the f₀* term), the residual's sign flipped.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import expm

from .core import Incorrect, exercise, require, require_callable

# -- shared test problems -------------------------------------------------------------------


def _kernel(n: int, seed: int, lam_min: float, lam_max: float) -> np.ndarray:
    """A symmetric positive-definite (n, n) kernel with eigenvalues spread from lam_min to lam_max."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = np.geomspace(lam_max, lam_min, n)
    theta = (q * lam) @ q.T
    return (theta + theta.T) / 2


def _problem(n: int, m: int, seed: int):
    """theta (n, n) PD, cross (m, n) consistent with it (one PD kernel on n + m points), y, f0, f0_test."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(n + m, n + m + 3)) / math.sqrt(n + m + 3)
    full = feats @ feats.T + 0.2 * np.eye(n + m)
    return (full[:n, :n], full[n:, :n], rng.normal(size=n), 0.5 * rng.normal(size=n),
            0.5 * rng.normal(size=m))


def _as_vector(got, n: int, what: str) -> np.ndarray:
    if got is None:
        raise Incorrect(f"{what} returned None.", "Did you forget a `return`?")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError) as err:
        raise Incorrect(f"{what} should return numbers; got {type(got).__name__}.") from err
    require(got.shape == (n,), f"{what} should return one output per point, shape ({n},); got {got.shape}.",
            "Θ times a vector of length n is a vector of length n: use @ (matrix product), not *.")
    require(bool(np.all(np.isfinite(got))), f"{what} returned NaN or inf.")
    return got


def _close(a, b, tol=1e-8) -> bool:
    return bool(np.allclose(a, b, rtol=tol, atol=tol))


# -- 21.linearized_train -------------------------------------------------------------------

def _train_ref(theta, y, f0, lr, t):
    n = len(y)
    return y + expm(-lr * t * theta / n) @ (f0 - y)              # f_t = y + e^{−ηtΘ/n}(f₀ − y)


def _train_eigh(theta, y, f0, lr, t):
    lam, v = np.linalg.eigh(theta)
    r0 = v.T @ (f0 - y)                                          # residual along each eigenvector
    return y + v @ (np.exp(-lr * lam * t / len(y)) * r0)


def _train_no_n(theta, y, f0, lr, t):
    return y + expm(-lr * t * theta) @ (f0 - y)


def _train_plus(theta, y, f0, lr, t):
    return y + expm(lr * t * theta / len(y)) @ (f0 - y)


def _train_elementwise(theta, y, f0, lr, t):
    return y + np.exp(-lr * t * theta / len(y)) @ (f0 - y)


def _train_gd(theta, y, f0, lr, t):
    lam, v = np.linalg.eigh(theta)
    return y + v @ ((1 - lr * lam / len(y)) ** t * (v.T @ (f0 - y)))


def _train_swapped(theta, y, f0, lr, t):
    return f0 + expm(-lr * t * theta / len(y)) @ (y - f0)


@exercise(
    "21.linearized_train", "Outputs of the linearised network under gradient flow",
    right=[_train_ref, _train_eigh],
    wrong={
        "missing 1/n": _train_no_n,
        "e^{+ηtΘ/n}": _train_plus,
        "elementwise np.exp": _train_elementwise,
        "gradient descent (I − ηΘ/n)^t": _train_gd,
        "y and f0 swapped": _train_swapped,
    },
    success="f_t = y + e^{−ηtΘ/n}(f₀ − y): the residual shrinks along every eigenvector of Θ at once.",
)
def _check_linearized_train(answer):
    require_callable(answer, "linearized_train")
    # ηλ_max/n = 1.5: gradient flow and gradient descent disagree visibly
    for n, seed, lr, t in ((6, 0, 1.0, 2.0), (9, 1, 2.5, 0.7)):
        theta = _kernel(n, seed, lam_min=0.3, lam_max=1.5 * n / lr)
        rng = np.random.default_rng(seed + 10)
        y, f0 = rng.normal(size=n), rng.normal(size=n)
        args = (theta.copy(), y.copy(), f0.copy(), lr, t)
        got = _as_vector(answer(*args), n, "linearized_train")
        want = _train_ref(*args)
        if _close(got, want):
            continue
        for wrong, message, hint in (
            (_train_no_n, "your outputs move n times too fast: the 1/n is missing.",
             "L = 1/(2n)·Σ(f − y)² is a mean, so df/dt = −(η/n)Θ(f − y): divide the exponent by n = len(y)."),
            (_train_plus, "your residual grows instead of shrinking: the exponent has the wrong sign.",
             "Gradient descent moves against the gradient: df/dt = −(η/n)Θ(f − y) gives e^{−ηtΘ/n}."),
            (_train_elementwise, "you took np.exp of every entry of the matrix; the solution of a linear "
                                 "ODE needs the matrix exponential.",
             "Use scipy.linalg.expm, or eigenvectors: Θ = V diag(λ) Vᵀ gives "
             "e^{−ηtΘ/n} = V diag(e^{−ηtλ/n}) Vᵀ."),
            (_train_gd, "that is gradient descent, (I − ηΘ/n)^t; the exercise asks for gradient flow "
                        "(continuous time), which differs when ηλ/n is not small.",
             "Solve df/dt = −(η/n)Θ(f − y) exactly: f_t = y + e^{−ηtΘ/n}(f₀ − y)."),
            (_train_swapped, "you swapped y and f₀: at t = 0 your outputs are the targets.",
             "At t = 0 the network outputs f₀; the residual f₀ − y then decays: y + e^{−ηtΘ/n}(f₀ − y)."),
        ):
            if _close(got, wrong(*args)):
                raise Incorrect(message, hint)
        raise Incorrect(
            f"for n = {n}, η = {lr}, t = {t} your outputs differ from y + e^{{−ηtΘ/n}}(f₀ − y) by up to "
            f"{np.max(np.abs(got - want)):.3g}.",
            "Check t = 0 (you should get f₀) and a large t (you should get y).")


# -- 21.steps_to_shrink_slowest --------------------------------------------------------------

def _steps_ref(theta, lr):
    return len(theta) / (lr * np.linalg.eigvalsh(theta)[0])      # τ = n/(ηλ_min)


def _steps_gd_count(theta, lr):
    c = lr * np.linalg.eigvalsh(theta)[0] / len(theta)           # (1 − c)^s ≤ 1/e
    return math.ceil(-1.0 / math.log1p(-c))


def _steps_lam_max(theta, lr):
    return len(theta) / (lr * np.linalg.eigvalsh(theta)[-1])


def _steps_no_n(theta, lr):
    return 1.0 / (lr * np.linalg.eigvalsh(theta)[0])


def _steps_half_life(theta, lr):
    return math.log(2) * _steps_ref(theta, lr)


def _steps_min_entry(theta, lr):
    return len(theta) / (lr * np.min(np.diag(theta)))


@exercise(
    "21.steps_to_shrink_slowest", "Steps for the slowest mode to shrink by a factor e",
    right=[_steps_ref, _steps_gd_count],
    wrong={
        "λ_max": _steps_lam_max,
        "missing n": _steps_no_n,
        "half-life": _steps_half_life,
        "smallest diagonal entry": _steps_min_entry,
    },
    success="τ = n/(ηλ_min): the smallest eigenvalue sets how long training takes.",
)
def _check_steps(answer):
    require_callable(answer, "steps_to_shrink_slowest")
    for n, seed, lr in ((8, 2, 1.0), (12, 3, 0.5)):
        theta = _kernel(n, seed, lam_min=0.05, lam_max=5.0)
        got = answer(theta.copy(), lr)
        try:
            got = float(got)
        except (TypeError, ValueError) as err:
            raise Incorrect(f"steps_to_shrink_slowest should return one number; got {got!r}.",
                            "Return a single float: the number of steps.") from err
        want = _steps_ref(theta, lr)
        if abs(got - want) <= 1.0 + 1e-9 * want:                 # flow time, or GD's whole steps
            continue
        lam = np.linalg.eigvalsh(theta)
        if math.isclose(got, _steps_lam_max(theta, lr), rel_tol=1e-6):
            raise Incorrect("that is the time of the fastest mode (λ_max): it is learned first, not last.",
                            "Mode i shrinks as e^{−ηλᵢt/n}; the slowest one has the smallest eigenvalue.")
        if math.isclose(got, _steps_no_n(theta, lr), rel_tol=1e-6):
            raise Incorrect(f"your answer is n = {n} times too small: the 1/n of the mean loss is missing.",
                            "Mode i decays at rate ηλᵢ/n, so it shrinks by e after n/(ηλᵢ) steps.")
        if math.isclose(got, _steps_half_life(theta, lr), rel_tol=1e-6):
            raise Incorrect("that is the half-life (shrinking by 2); the question asks for a factor e.",
                            "e^{−ηλt/n} = 1/e when ηλt/n = 1.")
        raise Incorrect(
            f"for this kernel (n = {n}, η = {lr}, eigenvalues {lam[0]:.3g} … {lam[-1]:.3g}) the slowest mode "
            f"shrinks by e after {want:.4g} steps; you returned {got:.4g}.",
            "Take the smallest eigenvalue of Θ (np.linalg.eigvalsh sorts them ascending): t = n/(ηλ_min).")


# -- 21.infinite_time_prediction --------------------------------------------------------------

def _inf_ref(theta, cross, y, f0, f0_test):
    return f0_test + cross @ np.linalg.solve(theta, y - f0)      # f₀* + Θ_*X Θ⁻¹(y − f₀)


def _inf_lstsq(theta, cross, y, f0, f0_test):
    return f0_test + cross @ np.linalg.lstsq(theta, y - f0, rcond=None)[0]


def _inf_pinv(theta, cross, y, f0, f0_test):
    return f0_test + cross @ np.linalg.pinv(theta) @ (y - f0)


def _inf_no_f0(theta, cross, y, f0, f0_test):
    return cross @ np.linalg.solve(theta, y)


def _inf_no_train_f0(theta, cross, y, f0, f0_test):
    return f0_test + cross @ np.linalg.solve(theta, y)


def _inf_no_test_f0(theta, cross, y, f0, f0_test):
    return cross @ np.linalg.solve(theta, y - f0)


def _inf_sign(theta, cross, y, f0, f0_test):
    return f0_test + cross @ np.linalg.solve(theta, f0 - y)


_INF_HINT = ("The network starts at f₀, not at 0: the test outputs start at f₀* and move by Θ_*XΘ⁻¹ "
             "times what the training outputs had to move, y − f₀.")


@exercise(
    "21.infinite_time_prediction", "Test predictions after training to t = ∞",
    right=[_inf_ref, _inf_lstsq, _inf_pinv],
    wrong={
        "f0 dropped": _inf_no_f0,
        "f0 dropped from the residual": _inf_no_train_f0,
        "f0_test dropped": _inf_no_test_f0,
        "residual sign flipped": _inf_sign,
    },
    success="f*_∞ = f₀* + Θ_*XΘ⁻¹(y − f₀): kernel regression on the residual, plus the initial function.",
)
def _check_infinite(answer):
    require_callable(answer, "infinite_time_prediction")
    for n, m, seed in ((6, 4, 4), (9, 5, 5)):
        theta, cross, y, f0, f0t = _problem(n, m, seed)
        args = tuple(a.copy() for a in (theta, cross, y, f0, f0t))
        got = _as_vector(answer(*args), m, "infinite_time_prediction")
        want = _inf_ref(*args)
        if _close(got, want):
            continue
        for wrong, message in (
            (_inf_no_f0, "you dropped the initial function f₀: this is kernel regression of y from a network "
                         "that outputs 0 at initialisation."),
            (_inf_no_train_f0, "f₀* is there, but the training residual uses y instead of y − f₀."),
            (_inf_no_test_f0, "you dropped f₀*, the network's initial outputs at the test points."),
            (_inf_sign, "the residual has the wrong sign: training moves the outputs from f₀ toward y."),
        ):
            if _close(got, wrong(*args)):
                raise Incorrect(message, _INF_HINT)
        gap = np.max(np.abs(got - want))
        raise Incorrect(
            f"your test predictions differ from f₀* + Θ_*XΘ⁻¹(y − f₀) by up to {gap:.3g}.",
            "theta_test_train has shape (m, n): multiply it by Θ⁻¹(y − f₀), computed with np.linalg.solve.")
