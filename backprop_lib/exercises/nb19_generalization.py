"""Checkers for notebook 19 (generalization: implicit regularization and double descent).

* ``19.min_norm_solution``: ``min_norm_solution(X, y) -> theta`` for an under-determined
  least-squares problem (``X: (n, d)``, n < d): the interpolating θ of smallest norm, X⁺y.
  Caught: the normal equations ``solve(XᵀX, Xᵀy)`` (XᵀX is singular; what comes out solves
  Xθ = y but carries an arbitrary null-space part), gradient descent from a random θ₀ (it
  keeps (I − X⁺X)θ₀ forever), a θ that does not interpolate, the wrong shape;
* ``19.threshold``: the number of features p at which the min-norm random-features fit of
  n = 50 points (d = 20) has its test-error peak. Caught: d, 2n, n + d.
"""

from __future__ import annotations

import numbers

import numpy as np

from .core import Incorrect, exercise, require, require_callable, require_close

# -- 19.min_norm_solution ------------------------------------------------------------------------


def _min_norm_pinv(X, y):
    return np.linalg.pinv(X) @ y                                   # θ = X⁺y


def _min_norm_dual(X, y):
    return X.T @ np.linalg.solve(X @ X.T, y)                       # θ = Xᵀ(XXᵀ)⁻¹y, rows independent


def _min_norm_gd_from_zero(X, y, steps=3000):
    theta = np.zeros(X.shape[1])
    lr = 1.0 / np.linalg.eigvalsh(X.T @ X).max()                   # step 1/L on ½‖Xθ − y‖²
    for _ in range(steps):
        theta -= lr * X.T @ (X @ theta - y)
    return theta


def _wrong_normal_equations(X, y):
    return np.linalg.solve(X.T @ X, X.T @ y)


def _wrong_gd_random_init(X, y, steps=3000):
    theta = np.random.default_rng(0).normal(size=X.shape[1])       # a random start
    lr = 1.0 / np.linalg.eigvalsh(X.T @ X).max()
    for _ in range(steps):
        theta -= lr * X.T @ (X @ theta - y)
    return theta


def _wrong_transpose(X, y):
    return X.T @ y                                   # the direction of one gradient step, not a solution


_CASES = ((8, 20, 0), (15, 40, 1))                                 # (n, d, seed): n < d


def _problem(n, d, seed):
    rng = np.random.default_rng(100 + seed)
    return rng.normal(size=(n, d)), rng.normal(size=n)


@exercise(
    "19.min_norm_solution", "The minimum-norm solution of an under-determined least-squares problem",
    right=[_min_norm_pinv, _min_norm_dual, _min_norm_gd_from_zero,
           lambda X, y: np.linalg.lstsq(X, y, rcond=None)[0]],
    wrong={
        "normal equations solve(XᵀX, Xᵀy)": _wrong_normal_equations,
        "gradient descent from a random start": _wrong_gd_random_init,
        "Xᵀy (does not interpolate)": _wrong_transpose,
        "zeros": lambda X, y: np.zeros(X.shape[1]),
        "wrong shape (n,)": lambda X, y: y.copy(),
    },
    success="θ = X⁺y: of all the θ with Xθ = y, the one with no part in the null space of X — "
            "where gradient descent from θ = 0 ends.",
)
def _check_min_norm_solution(answer):
    require_callable(answer, "min_norm_solution")
    for n, d, seed in _CASES:
        X, y = _problem(n, d, seed)
        try:
            got = answer(X.copy(), y.copy())
        except np.linalg.LinAlgError as err:
            raise Incorrect(f"your function raised LinAlgError ({err}) for X of shape {X.shape}.",
                            "With n < d the d × d matrix XᵀX has rank n: it is singular, so the normal "
                            "equations have no unique solution. Use np.linalg.pinv(X) @ y, or "
                            "Xᵀ(XXᵀ)⁻¹y (XXᵀ is n × n and invertible).") from err
        if got is None:
            raise Incorrect("min_norm_solution returned None.", "Did you forget a `return`?")
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError) as err:
            raise Incorrect(f"expected a vector of numbers; got {type(got).__name__}.") from err
        require(got.shape == (d,),
                f"θ has one entry per column of X: expected shape ({d},), got {got.shape}.",
                "X is (n, d) with n equations and d unknowns; θ has d entries.")
        require(bool(np.all(np.isfinite(got))), "θ contains NaN or inf.",
                "Solving the singular normal equations XᵀXθ = Xᵀy can blow up; use np.linalg.pinv(X) @ y.")
        residual = np.linalg.norm(X @ got - y) / np.linalg.norm(y)
        require(residual <= 1e-6,
                f"your θ does not fit the data: ‖Xθ − y‖/‖y‖ = {residual:.2g}, but with n = {n} < d = {d} "
                "there are exact solutions.",
                "Among the infinitely many θ with Xθ = y, find the one of smallest norm.")
        ref = _min_norm_pinv(X, y)
        null_part = got - np.linalg.pinv(X) @ (X @ got)               # (I − X⁺X)θ
        size = np.linalg.norm(null_part)
        if size > 1e-6 * max(1.0, np.linalg.norm(ref)):
            if np.allclose(got, _normal_equations_or_none(X, y), rtol=1e-9, atol=1e-12):
                raise Incorrect(
                    f"solve(XᵀX, Xᵀy) fits the data but is not the minimum-norm solution: ‖θ‖ = "
                    f"{np.linalg.norm(got):.3g} against {np.linalg.norm(ref):.3g}.",
                    "XᵀX (d × d) has rank n < d, so it is singular: the solver returned one of the many "
                    "solutions, with an arbitrary part in the null space of X. Use np.linalg.pinv(X) @ y "
                    "or Xᵀ(XXᵀ)⁻¹y.")
            raise Incorrect(
                f"your θ fits the data but is not the minimum-norm solution: it has a part of size "
                f"{size:.3g} in the null space of X (‖θ‖ = {np.linalg.norm(got):.3g} against "
                f"{np.linalg.norm(ref):.3g}).",
                "Gradient descent never changes the part of θ orthogonal to the rows of X: started at a "
                "random θ₀ it ends at X⁺y + (I − X⁺X)θ₀. Start from θ = 0, or use np.linalg.pinv(X) @ y.")
        require_close(got, ref, "min_norm_solution(X, y)", rtol=1e-6, atol=1e-8,
                      hint="Use np.linalg.pinv(X) @ y.")


def _normal_equations_or_none(X, y):
    try:
        return _wrong_normal_equations(X, y)
    except np.linalg.LinAlgError:
        return np.full(X.shape[1], np.nan)


# -- 19.threshold ----------------------------------------------------------------------------------

_N, _D = 50, 20


@exercise(
    "19.threshold", "Where is the interpolation threshold for n = 50?",
    right=[50, 50.0, np.int64(50)],
    wrong={"d": 20, "2n": 100, "n + d": 70, "a string": "50"},
    success="p = n = 50: Φ is square, its smallest singular value is near 0, and the fit that "
            "interpolates divides the noise by it.",
)
def _check_threshold(answer):
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise Incorrect(f"give the number of features as a number; got {answer!r} ({type(answer).__name__}).",
                        "For example threshold = 123 (an int).")
    p = float(answer)
    hint = ("Φθ = y has one equation per training point and one unknown per feature. For which p is Φ "
            "square? Run bp.train.double_descent(n=50) and look at .peak_p.")
    if p == _D:
        raise Incorrect(f"{answer} is d, the input dimension. The features map x to p numbers, "
                        "whatever d is; the threshold compares the number of features with something "
                        "else.", hint)
    if p == 2 * _N:
        raise Incorrect(f"{answer} is 2n. Twice as many features as points already leaves many "
                        "interpolating solutions, and the min-norm one is well conditioned there.", hint)
    if p == _N + _D:
        raise Incorrect(f"{answer} is n + d; the input dimension does not enter.", hint)
    require(p == _N, f"p = {answer} is not where the peak is.", hint)
