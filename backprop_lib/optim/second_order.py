"""Beyond the gradient: exact curvature by differentiating twice, Gauss–Newton, L-BFGS, and a
learning rate learned by backprop (notebook 22).

    Hv  = ∇(∇L · v)                       hvp(grad, θ, v): forward mode over the backward pass
    H   = [H e₁ … H e_W]                  hessian_from_hvps(grad, θ): W products (W² numbers)
    G   = JᵀJ / n  ⪰ 0                    gauss_newton_matrix(J): the Gauss–Newton part of the
                                          MSE Hessian H = (JᵀJ + Σᵢ rᵢ ∇²fᵢ)/n
    Δθ  = −(G + λI)⁻¹ g                   gauss_newton_step(J, r, damping=λ); damped_gauss_newton
    H_k g                                 two_loop_direction(g, s_hist, y_hist): L-BFGS' inverse
    lbfgs(fun, grad, x0)                  SciPy's L-BFGS-B with every iterate recorded
    ∂L(θ − ηg)/∂η = −∇L(θ − ηg) · g       hypergradient(grad, θ, η); hypergradient_descent

``grad`` is a function θ ↦ ∇L(θ) (a flat array). For ``hvp`` it must be NumPy code that
``DualArray`` can run through (``FlatMLP.grad`` is); the finite-difference version that works
for any ``grad`` is ``bp.optim.curvature.hessian_vector_product``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, check_number, check_positive_int
from ._dual_array import DualArray
from .flat_mlp import FlatMLP

__all__ = ["DualArray", "FlatMLP", "hvp", "hessian_from_hvps", "gauss_newton_matrix", "gauss_newton_step",
           "damped_gauss_newton", "GaussNewtonTrace", "two_loop_direction", "lbfgs", "OptimizationTrace",
           "hypergradient", "hypergradient_descent", "HypergradientTrace"]


def _flat(theta, name="theta") -> np.ndarray:
    theta = as_float_array(np.asarray(theta, dtype=np.float64), name)
    if theta.ndim != 1 or theta.size == 0:
        raise ValueError(f"{name} must be a non-empty flat vector of parameters; got shape {theta.shape}.")
    return theta


# -- Hessian-vector products by differentiating twice ----------------------------------------------

def hvp(grad, theta, v) -> np.ndarray:
    """H(θ) v exactly (to rounding): ``grad`` run on the dual vector θ + vε returns
    ∇L(θ) + H v ε, because the tangent of ∇L along v is the directional derivative ∇(∇L · v).
    Costs about one gradient (a few passes), never forms H. theta, v: (W,) → (W,)."""
    if not callable(grad):
        raise TypeError(f"grad must be a callable θ ↦ ∇L(θ); got {type(grad).__name__}.")
    theta, v = _flat(theta), _flat(v, "v")
    if v.shape != theta.shape:
        raise ValueError(f"v must have theta's shape {theta.shape}; got {v.shape}.")
    out = grad(DualArray(theta, v))
    if not isinstance(out, DualArray):
        raise TypeError("grad returned a plain array for a DualArray θ: it converted θ to numbers "
                        "(np.asarray, float, ...) and lost the tangent. Write it with +, −, *, /, @, np.tanh "
                        "or np.exp, or use bp.optim.curvature.hessian_vector_product (finite differences).")
    if out.shape != theta.shape:
        raise ValueError(f"grad must return a vector of theta's shape {theta.shape}; got {out.shape}.")
    return out.tangent


def hessian_from_hvps(grad, theta) -> np.ndarray:
    """The full Hessian (W, W), column j = H eⱼ: W Hessian-vector products (W² numbers stored)."""
    theta = _flat(theta)
    eye = np.eye(theta.size)
    return np.stack([hvp(grad, theta, e) for e in eye], axis=1)


# -- Gauss–Newton -----------------------------------------------------------------------------------

def _jacobian_and_n(J, n_samples):
    J = as_float_array(J, "J (Jacobian of the residuals, (rows, W))", ndim=2)
    n = len(J) if n_samples is None else check_positive_int(n_samples, "n_samples")
    return J, n


def gauss_newton_matrix(J, n_samples=None) -> np.ndarray:
    """G = JᵀJ / n (W, W) for the loss L = 1/(2n) Σ rᵢ²: J (rows, W) holds ∂rᵢ/∂θ (one row per
    residual; ``n_samples`` = n when a sample has several outputs, default: the number of rows).
    G is positive semi-definite: vᵀGv = ‖Jv‖²/n ≥ 0."""
    J, n = _jacobian_and_n(J, n_samples)
    return J.T @ J / n


def gauss_newton_step(J, r, damping: float = 0.0, n_samples=None) -> np.ndarray:
    """Δθ = −(G + λI)⁻¹ g with G = JᵀJ/n, g = Jᵀr/n (the MSE gradient), λ = ``damping`` ≥ 0.
    λ = 0: the Gauss–Newton step, the least-squares solution of J Δθ = −r (the minimiser of the
    linearised model; the minimum-norm one, −J⁺r, when G is singular, e.g. fewer residuals than
    parameters); λ → ∞: −g/λ, a gradient step with η = 1/λ (Levenberg–Marquardt interpolates)."""
    J, n = _jacobian_and_n(J, n_samples)
    r = as_float_array(np.asarray(r, dtype=np.float64).ravel(), "r (residuals)", allow_nonfinite=True)
    if r.shape != (len(J),):
        raise ValueError(f"r must hold one residual per row of J ({len(J)}); got {r.size}.")
    lam = check_number(damping, "damping (λ)", low=0.0)
    if lam == 0:
        return np.linalg.lstsq(J, -r, rcond=None)[0]            # (JᵀJ)⁺Jᵀ(−r): n cancels
    g = J.T @ r / n
    return -np.linalg.solve(J.T @ J / n + lam * np.eye(J.shape[1]), g)


@dataclass(frozen=True)
class GaussNewtonTrace:
    """loss: (k + 1,) L(θ_t); theta: (k + 1, W) iterates; damping λ; diverged_at: the step whose
    loss was not finite (None if none); message: why, and what to do."""

    loss: np.ndarray
    theta: np.ndarray
    damping: float
    diverged_at: int | None = None
    message: str | None = None


def damped_gauss_newton(residuals, theta0, damping: float, steps: int) -> GaussNewtonTrace:
    """``steps`` damped Gauss–Newton steps θ ← θ − (G + λI)⁻¹g on L = 1/(2n)‖r(θ)‖², where
    ``residuals(θ) -> (r (n·out,), J (n·out, W), n)``. A non-finite loss stops the run with a message."""
    theta = _flat(theta0, "theta0")
    steps = check_positive_int(steps, "steps")
    r, J, n = residuals(theta)
    losses, thetas = [float(r @ r) / (2 * n)], [theta]
    for t in range(1, steps + 1):
        with np.errstate(all="ignore"):
            theta = theta + gauss_newton_step(J, r, damping, n_samples=n)
            r, J, n = residuals(theta)
            loss = float(r @ r) / (2 * n)
        if not math.isfinite(loss):
            why = f"the loss became non-finite at step {t}: raise the damping λ (now {damping:g})."
            return GaussNewtonTrace(np.array(losses), np.array(thetas), float(damping), t, why)
        losses.append(loss)
        thetas.append(theta)
    return GaussNewtonTrace(np.array(losses), np.array(thetas), float(damping))


# -- L-BFGS ----------------------------------------------------------------------------------------

def two_loop_direction(g, s_hist, y_hist) -> np.ndarray:
    """H_k g, L-BFGS' inverse-Hessian estimate applied to g, by the two-loop recursion over the
    stored pairs sᵢ = θᵢ₊₁ − θᵢ, yᵢ = ∇L(θᵢ₊₁) − ∇L(θᵢ) (oldest first), with H₀ = γI,
    γ = sᵀy / yᵀy of the newest pair. The step is −H_k g; it costs O(mW), H_k is never formed."""
    q = _flat(g, "g").copy()
    s_hist = [np.asarray(s, dtype=np.float64) for s in s_hist]
    y_hist = [np.asarray(y, dtype=np.float64) for y in y_hist]
    if len(s_hist) != len(y_hist):
        raise ValueError(f"s_hist and y_hist must hold the same number of pairs; got {len(s_hist)} and "
                         f"{len(y_hist)}.")
    rho = [1.0 / float(y @ s) for s, y in zip(s_hist, y_hist, strict=True)]   # needs the curvature yᵀs > 0
    alpha = []
    for s, y, p in zip(reversed(s_hist), reversed(y_hist), reversed(rho), strict=True):   # newest first
        a = p * float(s @ q)
        q -= a * y
        alpha.append(a)
    if s_hist:
        q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])            # H₀ = γI
    for s, y, p, a in zip(s_hist, y_hist, rho, reversed(alpha), strict=True):            # oldest first
        b = p * float(y @ q)
        q += (a - b) * s
    return q


@dataclass(frozen=True)
class OptimizationTrace:
    """path: (k + 1, W) the iterates θ₀ … θ_k; loss: (k + 1,) f(θ_t); iterations k;
    evaluations: calls of f (line-search trials included); converged; message (SciPy's)."""

    path: np.ndarray
    loss: np.ndarray
    iterations: int
    evaluations: int
    converged: bool
    message: str

    def steps_to(self, tol: float, min_value: float = 0.0) -> int | None:
        """The first iteration t with f(θ_t) − f* <= ``tol`` (None if never)."""
        hit = np.flatnonzero(self.loss - min_value <= tol)
        return int(hit[0]) if hit.size else None


def lbfgs(fun, grad, x0, *, memory: int = 10, maxiter: int = 1000, gtol: float = 1e-5,
          ftol: float = 2.220446049250313e-09) -> OptimizationTrace:
    """Minimise ``fun`` with SciPy's L-BFGS-B (``memory`` = m stored pairs, its ``maxcor``),
    recording every iterate. fun: θ ↦ float, grad: θ ↦ (W,), x0: (W,). It stops when the largest
    gradient entry is <= ``gtol`` or f decreased by a relative ``ftol`` or less (SciPy's defaults)."""
    from scipy.optimize import minimize

    if not (callable(fun) and callable(grad)):
        raise TypeError("fun and grad must be callables θ ↦ f(θ) and θ ↦ ∇f(θ).")
    x0 = _flat(x0, "x0")
    path = [x0.copy()]

    def record(intermediate_result):                  # SciPy ≥ 1.11 passes the iterate by this name
        path.append(np.array(intermediate_result.x, dtype=np.float64))

    res = minimize(lambda x: float(fun(x)), x0, jac=lambda x: np.asarray(grad(x), dtype=np.float64),
                   method="L-BFGS-B", callback=record,
                   options={"maxcor": check_positive_int(memory, "memory"),
                            "maxiter": check_positive_int(maxiter, "maxiter"),
                            "gtol": check_number(gtol, "gtol", low=0.0),
                            "ftol": check_number(ftol, "ftol", low=0.0)})
    path = np.array(path)
    loss = np.array([float(fun(p)) for p in path])
    return OptimizationTrace(path=path, loss=loss, iterations=int(res.nit), evaluations=int(res.nfev),
                             converged=bool(res.success), message=str(res.message))


# -- a learning rate learned by backprop --------------------------------------------------------------

def hypergradient(grad, theta, lr: float, g=None) -> float:
    """∂/∂η L(θ − ηg) = ∇L(θ′) · ∂θ′/∂η = −∇L(θ′) · g, θ′ = θ − ηg (g defaults to ∇L(θ)):
    backprop through one optimizer step, down to its learning rate."""
    theta = _flat(theta)
    g = np.asarray(grad(theta), dtype=np.float64) if g is None else _flat(g, "g")
    lr = check_number(lr, "lr")
    return -float(np.asarray(grad(theta - lr * g), dtype=np.float64) @ g)


@dataclass(frozen=True)
class HypergradientTrace:
    """lr: (k,) η_t used by step t; loss: (k + 1,) L(θ_t); theta: the last iterate; diverged_at:
    the step whose loss was not finite (then k stops there), else None; message: why, what to do."""

    lr: np.ndarray
    loss: np.ndarray
    theta: np.ndarray
    diverged_at: int | None = None
    message: str | None = None


def hypergradient_descent(loss, grad, theta0, lr0: float, hyper_lr: float, steps: int) -> HypergradientTrace:
    """Gradient descent that learns its own learning rate (Baydin et al., 2018): before step t,
    η_t = η_{t−1} − β ∂L(θ_{t−1})/∂η with ∂L(θ_{t−1})/∂η = −g_t · g_{t−1} (the hypergradient
    of the previous step), then θ_t = θ_{t−1} − η_t g_t. β = ``hyper_lr``. A non-finite loss
    ends the run with a message."""
    theta = _flat(theta0, "theta0")
    lr = check_number(lr0, "lr0")
    beta = check_number(hyper_lr, "hyper_lr", low=0.0)
    steps = check_positive_int(steps, "steps")
    losses, lrs, g_prev = [float(loss(theta))], [], None
    for t in range(1, steps + 1):
        with np.errstate(all="ignore"):
            g = np.asarray(grad(theta), dtype=np.float64)
            if g_prev is not None:
                lr = lr + beta * float(g @ g_prev)      # η ← η − β (−g_t · g_{t−1})
            new = theta - lr * g
            value = float(loss(new))
        if not math.isfinite(value):
            why = f"the loss became non-finite at step {t} (η = {lr:.3g}): lower hyper_lr (now {beta:g})."
            return HypergradientTrace(np.array(lrs), np.array(losses), theta, t, why)
        theta, g_prev = new, g
        lrs.append(lr)
        losses.append(value)
    return HypergradientTrace(np.array(lrs), np.array(losses), theta)
