"""backprop_lib/optim/curvature.py: Hessian-vector products and λ_max against exact Hessians
(the network case, against torch autograd's full Hessian, is in tests/widgets/test_learning_rate.py)."""

import numpy as np
import pytest

from backprop_lib.optim.curvature import hessian_vector_product, largest_hessian_eigenvalue


def test_hvp_of_a_non_quadratic_matches_its_analytic_hessian():
    # f(θ) = Σ sin(θ_i) θ_{i+1}: H has cos(θ_i) off the diagonal and −sin(θ_i)θ_{i+1} on it
    def grad(t):
        g = np.zeros_like(t)
        g[:-1] += np.cos(t[:-1]) * t[1:]
        g[1:] += np.sin(t[:-1])
        return g

    rng = np.random.default_rng(1)
    theta, v = rng.standard_normal(5), rng.standard_normal(5)
    h = np.diag(np.r_[-np.sin(theta[:-1]) * theta[1:], 0.0])
    h += np.diag(np.cos(theta[:-1]), 1) + np.diag(np.cos(theta[:-1]), -1)
    np.testing.assert_allclose(hessian_vector_product(grad, theta, v), h @ v, rtol=1e-6, atol=1e-8)
    assert np.all(hessian_vector_product(grad, theta, np.zeros(5)) == 0)


def test_power_iteration_finds_the_largest_not_the_largest_magnitude_eigenvalue():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    h = q @ np.diag([-9.0, 4.0, 2.5, 1.0, 0.3, -1.0]) @ q.T        # dominant magnitude is negative
    theta = rng.standard_normal(6)
    s = largest_hessian_eigenvalue(lambda t: h @ t, theta)         # ∇(½θᵀHθ) = Hθ
    assert s.value == pytest.approx(4.0, rel=1e-6) and s.converged
    np.testing.assert_allclose(hessian_vector_product(lambda t: h @ t, theta, q[:, 1]), 4.0 * q[:, 1],
                               atol=1e-8)


def test_power_iteration_rejects_bad_input():
    with pytest.raises(TypeError, match="grad must be a callable"):
        largest_hessian_eigenvalue(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="theta must be a non-empty flat array"):
        largest_hessian_eigenvalue(lambda t: t, np.ones((2, 2)))
