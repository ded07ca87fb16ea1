"""bp.ntk.linearized_dynamics against matrix exponentials, an ODE solver and explicit
gradient-descent iterations of the linear model."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from backprop_lib.ntk import linearized_dynamics


def _problem(rng, n=6, m=3, rank=None, k=None):
    """A PSD train kernel (of the given rank), a consistent test–train block, targets, f₀."""
    feats = rng.normal(size=(n + m, rank or n + 2))
    full = feats @ feats.T
    shape = (n,) if k is None else (n, k)
    tshape = (m,) if k is None else (m, k)
    return (full[:n, :n], full[n:, :n], rng.normal(size=shape), rng.normal(size=shape),
            rng.normal(size=tshape))


def test_gradient_flow_matches_matrix_exponential(rng):
    theta, cross, y, f0, f0t = _problem(rng)
    lr, n, t = 0.3, 6, np.array([0.0, 0.1, 1.0, 7.5, 40.0])
    got = linearized_dynamics(theta, cross, y, f0, f0t, lr, t)
    inv = np.linalg.inv(theta)
    for i, ti in enumerate(t):
        decay = expm(-lr * ti * theta / n)
        np.testing.assert_allclose(got.f_train[i], y + decay @ (f0 - y), rtol=1e-10, atol=1e-12)
        # f_test = f₀ + Θ_te,tr Θ⁻¹ (I − e^{−ηtΘ/n}) (y − f₀)
        expected = f0t + cross @ inv @ (np.eye(n) - decay) @ (y - f0)
        np.testing.assert_allclose(got.f_test[i], expected, rtol=1e-8, atol=1e-10)


def test_singular_kernel_matches_ode_solution(rng):
    theta, cross, y, f0, f0t = _problem(rng, n=7, m=4, rank=3)  # rank-3 Θ: Θ⁻¹ does not exist
    lr, n, t = 0.8, 7, np.linspace(0, 12, 7)

    def rhs(_, z):  # df/dt = −(η/n) Θ (f − y) for the train and the test outputs
        r = z[:n] - y
        return np.concatenate([-(lr / n) * theta @ r, -(lr / n) * cross @ r])

    sol = solve_ivp(rhs, (0, t[-1]), np.concatenate([f0, f0t]), t_eval=t, rtol=1e-12, atol=1e-12)
    got = linearized_dynamics(theta, cross, y, f0, f0t, lr, t)
    np.testing.assert_allclose(got.f_train, sol.y[:n].T, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(got.f_test, sol.y[n:].T, rtol=1e-8, atol=1e-9)
    assert np.sum(got.eigenvalues > 1e-9 * got.eigenvalues[0]) == 3


@pytest.mark.parametrize("k", [None, 3])
def test_gradient_descent_matches_explicit_iterations(k, rng):
    theta, cross, y, f0, f0t = _problem(rng, rank=4, k=k)
    n, lr, steps = 6, 0.05, 60
    got = linearized_dynamics(theta, cross, y, f0, f0t, lr, np.arange(steps + 1), method="gd")
    f, ft = f0.copy(), f0t.copy()
    for s in range(steps + 1):
        np.testing.assert_allclose(got.f_train[s], f, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got.f_test[s], ft, rtol=1e-10, atol=1e-12)
        r = f - y
        f, ft = f - (lr / n) * theta @ r, ft - (lr / n) * cross @ r
    assert got.f_train.shape == (steps + 1, *y.shape)


def test_modes_decay_at_their_rates_and_loss(rng):
    theta, cross, y, f0, f0t = _problem(rng)
    lr, n, t = 0.4, 6, np.linspace(0, 5, 11)
    got = linearized_dynamics(theta, None, y, f0, None, lr, t)
    assert got.f_test is None
    assert np.all(np.diff(got.eigenvalues) <= 0)  # largest first
    np.testing.assert_allclose(theta @ got.eigenvectors, got.eigenvectors * got.eigenvalues, atol=1e-9)
    np.testing.assert_allclose(got.rates, lr * got.eigenvalues / n, rtol=1e-15)
    r0 = got.eigenvectors.T @ (f0 - y)
    np.testing.assert_allclose(got.residual_modes, np.exp(-np.outer(t, got.rates)) * r0, rtol=1e-12)
    np.testing.assert_allclose(got.residual_modes, (got.f_train - y) @ got.eigenvectors, atol=1e-10)
    np.testing.assert_allclose(got.train_loss, 0.5 * np.mean((got.f_train - y) ** 2, axis=1), rtol=1e-10)
    steps = linearized_dynamics(theta, None, y, f0, None, lr, np.arange(5), method="gd")
    np.testing.assert_allclose(steps.residual_modes, np.power.outer(1 - steps.rates, np.arange(5)).T * r0,
                               rtol=1e-12)


def test_limits_and_mean_prediction(rng):
    theta, cross, y, f0, f0t = _problem(rng)
    got = linearized_dynamics(theta, cross, y, f0, f0t, 1.0, [0.0, 1e7])
    np.testing.assert_allclose(got.f_train[0], f0, rtol=1e-13)
    np.testing.assert_allclose(got.f_test[0], f0t, rtol=1e-13)
    np.testing.assert_allclose(got.f_train[1], y, rtol=1e-8)  # full rank: fits the data
    # t → ∞ with f₀ = 0 is kernel regression Θ_te,tr Θ⁻¹ y
    mean = linearized_dynamics(theta, cross, y, None, None, 1.0, 1e7)
    np.testing.assert_allclose(mean.f_test[0], cross @ np.linalg.solve(theta, y), rtol=1e-7)
    assert mean.t.shape == (1,)


def test_divergent_gradient_descent_is_a_result(rng):
    theta, cross, y, f0, f0t = _problem(rng)
    lam_max = np.linalg.eigvalsh(theta)[-1]
    lr = 2.5 * 6 / lam_max  # η λ_max / n = 2.5 > 2
    got = linearized_dynamics(theta, cross, y, f0, f0t, lr, np.arange(40), method="gd")
    assert got.train_loss[-1] > 1e6 * got.train_loss[0]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 8), m=st.integers(1, 4), lr=st.floats(0.01, 3.0), t=st.floats(0.0, 50.0),
       seed=st.integers(0, 2**31 - 1))
def test_random_problems_match_matrix_exponential(n, m, lr, t, seed):
    rng = np.random.default_rng(seed)
    theta, cross, y, f0, f0t = _problem(rng, n=n, m=m, rank=max(1, n - 1))
    got = linearized_dynamics(theta, cross, y, f0, f0t, lr, t)
    decay = expm(-lr * t * theta / n)
    scale = 1 + np.abs(y).max() + np.abs(f0).max()
    np.testing.assert_allclose(got.f_train[0], y + decay @ (f0 - y), atol=1e-9 * scale)


def test_bad_inputs(rng):
    theta, cross, y, f0, f0t = _problem(rng)
    ok = dict(theta_train=theta, theta_test_train=cross, y_train=y, f0_train=f0, f0_test=f0t, lr=0.1, t=1.0)

    def call(**kw):
        return linearized_dynamics(**{**ok, **kw})

    with pytest.raises(ValueError, match="square"):
        call(theta_train=theta[:, :5])
    with pytest.raises(ValueError, match="symmetric"):
        call(theta_train=theta + np.triu(np.ones((6, 6)), 1))
    with pytest.raises(ValueError, match="positive semi-definite"):
        call(theta_train=-theta)
    with pytest.raises(ValueError, match=r"y_train must have shape \(6,\)"):
        call(y_train=y[:4])
    with pytest.raises(ValueError, match=r"f0_train must have shape \(6,\)"):
        call(f0_train=f0[:, None])
    with pytest.raises(ValueError, match=r"theta_test_train must have shape \(m, 6\)"):
        call(theta_test_train=cross.T)
    with pytest.raises(ValueError, match=r"f0_test must have shape \(3,\)"):
        call(f0_test=f0t[:2])
    with pytest.raises(ValueError, match="f0_test was given without theta_test_train"):
        call(theta_test_train=None)
    with pytest.raises(ValueError, match="lr must lie in"):
        call(lr=0.0)
    with pytest.raises(ValueError, match="≥ 0"):
        call(t=[-1.0, 2.0])
    with pytest.raises(ValueError, match="whole numbers"):
        call(t=[0.5], method="gd")
    with pytest.raises(ValueError, match="unknown method"):
        call(method="euler")
    with pytest.raises(ValueError, match="NaN or infinite"):
        call(y_train=np.full(6, np.nan))
