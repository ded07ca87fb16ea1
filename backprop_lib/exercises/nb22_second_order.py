"""Checkers for notebook 22 (beyond the gradient).

* ``22.hvp_fd``: a Hessian-vector product from two gradients, the central difference
  (∇L(θ + εv) − ∇L(θ − εv)) / (2ε);
* ``22.gauss_newton_linear``: the Gauss–Newton matrix G = XᵀX/n of linear regression with
  L(w) = 1/(2n)‖Xw − y‖² (which is also its Hessian);
* ``22.newton_step``: one Newton step θ − H⁻¹∇L, which lands on the minimum of a quadratic.
"""

from __future__ import annotations

import numpy as np

from .core import Incorrect, as_numbers, exercise, require, require_callable, require_close

# -- 22.hvp_fd --------------------------------------------------------------------------------------
# f(θ) = Σ sin(θᵢ) θᵢ₊₁ + ¼ Σ θᵢ⁴: not a quadratic, so a one-sided difference shows its O(ε) error.

def _grad_f(t):
    t = np.asarray(t, dtype=float)
    g = t**3
    g[:-1] += np.cos(t[:-1]) * t[1:]
    g[1:] += np.sin(t[:-1])
    return g


def _hess_f(t):
    h = np.diag(3 * t**2 + np.r_[-np.sin(t[:-1]) * t[1:], 0.0])
    off = np.cos(t[:-1])
    return h + np.diag(off, 1) + np.diag(off, -1)


def _hvp_ref(grad, theta, v, eps=1e-4):
    return (grad(theta + eps * v) - grad(theta - eps * v)) / (2 * eps)      # central difference


def _hvp_no_division(grad, theta, v, eps=1e-4):
    return grad(theta + eps * v) - grad(theta - eps * v)


def _hvp_over_eps(grad, theta, v, eps=1e-4):
    return (grad(theta + eps * v) - grad(theta - eps * v)) / eps


def _hvp_forward(grad, theta, v, eps=1e-4):
    return (grad(theta + eps * v) - grad(theta)) / eps


def _hvp_ignores_v(grad, theta, v, eps=1e-4):
    return (grad(theta + eps) - grad(theta - eps)) / (2 * eps)


@exercise(
    "22.hvp_fd", "A Hessian-vector product from two gradients",
    right=[_hvp_ref,
           lambda grad, theta, v, eps=1e-4: (grad(theta + eps * v) - grad(theta - eps * v)) * (0.5 / eps)],
    wrong={"no /2ε": _hvp_no_division, "divides by ε": _hvp_over_eps, "forward difference": _hvp_forward,
           "perturbs every coordinate by ε, not along v": _hvp_ignores_v},
    success="Hv ≈ (∇L(θ + εv) − ∇L(θ − εv))/(2ε): two gradients, error O(ε²), and H is never formed.",
)
def _check_hvp_fd(answer):
    require_callable(answer, "hvp_fd")
    rng = np.random.default_rng(22)
    theta, v = rng.normal(size=6), rng.normal(size=6)
    exact = _hess_f(theta) @ v
    got = as_numbers(answer(_grad_f, theta.copy(), v.copy(), eps=1e-4), "hvp_fd(grad, theta, v, eps=1e-4)")
    require(got.shape == exact.shape, f"Hv has the shape of θ, {exact.shape}; got {got.shape}.",
            "Subtract two gradients (each shaped like θ) and scale the difference.")
    if np.allclose(got, 2e-4 * exact, rtol=1e-3):
        raise Incorrect("your result is 2ε = 2e-4 times Hv: you returned the difference of the two gradients "
                        "without dividing it by the distance between the two points.",
                        "The points θ + εv and θ − εv are 2ε apart along v: divide by 2ε.")
    if np.allclose(got, 2 * exact, rtol=1e-3):
        raise Incorrect("your result is twice Hv: you divided by ε, but the two points are 2ε apart.",
                        "Divide ∇L(θ + εv) − ∇L(θ − εv) by 2ε.")
    err = np.linalg.norm(got - exact) / np.linalg.norm(exact)
    if err < 1e-2 and err > 1e-6:
        raise Incorrect(f"close, but off by a relative {err:.0e}: a one-sided difference has an error of "
                        "order ε; the central one, of order ε² (about 1e-8 here).",
                        "Evaluate the gradient on both sides, at θ + εv and θ − εv.")
    require_close(got, exact, "hvp_fd on f(θ) = Σ sin(θᵢ)θᵢ₊₁ + ¼Σθᵢ⁴", rtol=1e-6, atol=1e-8,
                  hint="Move θ along v (θ ± εv, all coordinates at once, in v's direction), not by ε in "
                       "every coordinate.")


# -- 22.gauss_newton_linear --------------------------------------------------------------------------

def _gn_ref(X):
    return X.T @ X / len(X)


def _gn_sample_gram(X):
    return X @ X.T / len(X)


def _gn_no_mean(X):
    return X.T @ X


def _gn_half(X):
    return X.T @ X / (2 * len(X))


@exercise(
    "22.gauss_newton_linear", "The Gauss–Newton matrix of linear regression",
    right=[_gn_ref, lambda X: np.einsum("ni,nj->ij", X, X) / X.shape[0]],
    wrong={"X Xᵀ (samples × samples)": _gn_sample_gram, "XᵀX without /n": _gn_no_mean,
           "XᵀX/(2n)": _gn_half},
    success="G = JᵀJ/n = XᵀX/n: for a linear model J = X, the residuals have no curvature, and G = H "
            "exactly.",
)
def _check_gn(answer):
    require_callable(answer, "gauss_newton_linear")
    X = np.random.default_rng(5).normal(size=(7, 3))           # n = 7 samples, W = 3 weights
    got = as_numbers(answer(X.copy()), "gauss_newton_linear(X)")
    n = len(X)
    if got.shape == (n, n):
        raise Incorrect("your matrix is 7 × 7, one row per sample: X Xᵀ compares samples with samples (it is "
                        "the kernel matrix of notebook 20), not weights with weights.",
                        "G lives in parameter space: W × W = 3 × 3. With J = X (n × W), G = JᵀJ/n = XᵀX/n.")
    require(got.shape == (3, 3), f"G is W × W = (3, 3) for X of shape (7, 3); got {got.shape}.",
            "G = JᵀJ/n, and the Jacobian of the predictions Xw with respect to w is X itself.")
    ref = _gn_ref(X)
    if np.allclose(got, n * ref):
        raise Incorrect("your G is n = 7 times too large: the loss averages over the samples.",
                        "L = 1/(2n) Σ rᵢ², so G = JᵀJ/n.")
    if np.allclose(got, ref / 2):
        raise Incorrect("your G is half of the right one: the ½ in L = 1/(2n)‖Xw − y‖² cancels against the 2 "
                        "of the derivative of r².", "∇L = Xᵀr/n, and differentiating once more gives XᵀX/n.")
    require_close(got, ref, "gauss_newton_linear(X)", rtol=1e-10, atol=1e-12,
                  hint="G = XᵀX / n with X of shape (n, W).")


# -- 22.newton_step ----------------------------------------------------------------------------------

def _newton_ref(theta, grad, hess):
    return theta - np.linalg.solve(hess, grad)                # θ − H⁻¹∇L (solve, never invert)


def _newton_times_h(theta, grad, hess):
    return theta - hess @ grad


def _newton_gradient_step(theta, grad, hess):
    return theta - grad


def _newton_wrong_sign(theta, grad, hess):
    return theta + np.linalg.solve(hess, grad)


@exercise(
    "22.newton_step", "One Newton step",
    right=[_newton_ref, lambda theta, grad, hess: theta - np.linalg.inv(hess) @ grad],
    wrong={"θ − Hg": _newton_times_h, "θ − g (a gradient step)": _newton_gradient_step,
           "θ + H⁻¹g": _newton_wrong_sign},
    success="θ − H⁻¹∇L: on a quadratic one step lands exactly on the minimum, whatever the conditioning.",
)
def _check_newton(answer):
    require_callable(answer, "newton_step")
    rng = np.random.default_rng(7)
    Q = rng.normal(size=(4, 4))
    A = Q @ Q.T + 0.5 * np.eye(4)                               # f = ½θᵀAθ − bᵀθ, minimum A⁻¹b
    b = rng.normal(size=4)
    minimum = np.linalg.solve(A, b)
    for theta in (rng.normal(size=4), 10 * rng.normal(size=4)):
        g = A @ theta - b
        got = as_numbers(answer(theta.copy(), g.copy(), A.copy()), "newton_step(theta, grad, hess)")
        require(got.shape == theta.shape, f"the new θ has θ's shape {theta.shape}; got {got.shape}.")
        if np.allclose(got, theta - A @ g):
            raise Incorrect("you multiplied the gradient by H. Newton divides by the curvature: a steep "
                            "direction (large curvature) needs a short step, a flat one a long step.",
                            "Solve H Δ = g (np.linalg.solve(hess, grad)) and step θ − Δ.")
        if np.allclose(got, theta - g):
            raise Incorrect("that is a gradient step with η = 1; Newton rescales the gradient by H⁻¹.",
                            "θ_new = θ − H⁻¹g: use np.linalg.solve(hess, grad).")
        if np.allclose(got, theta + np.linalg.solve(A, g)):
            raise Incorrect("you stepped uphill: the Newton step is −H⁻¹g.", "θ_new = θ − H⁻¹g.")
        require_close(got, minimum, "newton_step on f = ½θᵀAθ − bᵀθ (it should land on the minimum A⁻¹b)",
                      rtol=1e-8, atol=1e-10, hint="θ_new = θ − H⁻¹g.")
