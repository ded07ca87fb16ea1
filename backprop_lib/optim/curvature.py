"""Curvature from gradients alone: Hessian-vector products and the sharpness λ_max.

Gradient descent on a loss with Hessian H is stable only for η < 2/λ_max(H) (notebook 08);
λ_max is found here without ever forming H (W² numbers for W parameters), by power iteration
on Hessian-vector products, each a central difference of two gradients::

    Hv ≈ (∇f(θ + εv) − ∇f(θ − εv)) / (2ε)          error O(ε²)

    s = largest_hessian_eigenvalue(grad, theta)       # grad: θ ↦ ∇f(θ), a flat array
    lr_max = 2 / s.value
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import as_rng


def hessian_vector_product(grad, theta: np.ndarray, v: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """H(θ) v ≈ (∇f(θ + εv̂) − ∇f(θ − εv̂)) / (2ε) · ‖v‖ with v̂ = v/‖v‖ (central difference of the
    gradient along v: error O(ε²), no Hessian is ever formed). ``grad``: θ ↦ ∇f(θ)."""
    norm = float(np.linalg.norm(v))
    if norm == 0:
        return np.zeros_like(theta)
    u = v / norm
    return (grad(theta + eps * u) - grad(theta - eps * u)) / (2 * eps) * norm


@dataclass(frozen=True)
class Sharpness:
    """value: the largest eigenvalue λ_max of the Hessian; vector: its unit eigenvector;
    iterations: Hessian-vector products used; converged: the Rayleigh quotient settled within tol."""

    value: float
    vector: np.ndarray
    iterations: int
    converged: bool


def _power_iteration(matvec, v: np.ndarray, iters: int, tol: float):
    lam, converged, k = 0.0, False, 0
    for k in range(1, iters + 1):
        w = matvec(v)
        new = float(v @ w)                       # Rayleigh quotient vᵀHv (‖v‖ = 1)
        norm = float(np.linalg.norm(w))
        if norm == 0:
            return 0.0, v, k, True
        v = w / norm
        if k > 1 and abs(new - lam) <= tol * abs(new):
            lam, converged = new, True
            break
        lam = new
    return lam, v, k, converged


def largest_hessian_eigenvalue(grad, theta, *, iters: int = 200, tol: float = 1e-8, eps: float = 1e-4,
                               seed=0) -> Sharpness:
    """λ_max of the Hessian of f at ``theta`` by power iteration on finite-difference
    Hessian-vector products (``hessian_vector_product``); ``grad``: θ ↦ ∇f(θ) (a flat array).

    Power iteration finds the eigenvalue of largest *magnitude*; if that is negative (a
    saddle-like point), it is run again on H − λ_neg·I, whose top eigenvalue is λ_max − λ_neg.
    """
    if not callable(grad):
        raise TypeError(f"grad must be a callable θ ↦ ∇f(θ); got {type(grad).__name__}.")
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 1 or theta.size == 0:
        raise ValueError(f"theta must be a non-empty flat array of parameters; got shape {theta.shape}.")
    v = as_rng(seed).standard_normal(theta.size)
    v /= np.linalg.norm(v)

    def hv(u):
        return hessian_vector_product(grad, theta, u, eps)

    lam, vec, used, converged = _power_iteration(hv, v, iters, tol)
    if lam < 0:                                   # largest magnitude was negative: shift it away
        shift = lam
        top, vec, more, converged = _power_iteration(lambda u: hv(u) - shift * u, v, iters, tol)
        lam, used = top + shift, used + more
    return Sharpness(value=float(lam), vector=vec, iterations=used, converged=converged)


__all__ = ["hessian_vector_product", "largest_hessian_eigenvalue", "Sharpness"]
