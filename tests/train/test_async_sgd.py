"""bp.train.async_sgd: stale-gradient descent, simulated asynchronous workers, the stability threshold.

Oracles: torch.optim.SGD for τ = 0; the recursion written out by hand; the roots of the
characteristic polynomial z^(τ+1) − z^τ + ηL; the closed form 2 sin(π/(2(2τ+1))).
"""

import math

import numpy as np
import pytest
import torch

from backprop_lib.train import async_sgd as a

A = np.array([[3.0, 1.0], [1.0, 2.0]])


def quad_grad(theta):
    return A @ theta


def test_tau_zero_is_torch_sgd():
    theta = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=0.1)
    ref = [theta.detach().numpy().copy()]
    for _ in range(20):
        opt.zero_grad()
        (0.5 * theta @ torch.from_numpy(A) @ theta).backward()
        opt.step()
        ref.append(theta.detach().numpy().copy())
    np.testing.assert_allclose(a.stale_gradient_descent(quad_grad, [1.0, -2.0], 0.1, 0, 20), np.array(ref),
                               rtol=1e-13, atol=1e-15)


def test_stale_recursion_by_hand():
    # θ_(t+1) = θ_t − 0.5 θ_(t−2), θ_(t<0) = θ_0 = 1
    path = a.stale_gradient_descent(lambda th: th, 1.0, 0.5, 2, 5)
    th = [1.0, 0.5, 0.0, -0.5, -0.75, -0.75]
    np.testing.assert_allclose(path, th, rtol=0, atol=1e-15)


@pytest.mark.parametrize("workers", [1, 2, 3, 5])
def test_equal_workers_take_turns_with_staleness_n_minus_1(workers):
    run = a.async_workers(quad_grad, [1.0, -2.0], 0.05, workers, 40)
    expected = np.minimum(np.arange(40), workers - 1)
    np.testing.assert_array_equal(run.staleness, expected)
    np.testing.assert_array_equal(run.worker, np.arange(40) % workers)
    ref = a.stale_gradient_descent(quad_grad, [1.0, -2.0], 0.05, workers - 1, 40)
    np.testing.assert_allclose(run.path, ref, rtol=1e-14, atol=1e-15)


def test_unequal_workers_apply_the_gradient_they_read():
    durations = [1.0, 2.5, 0.7]
    run = a.async_workers(quad_grad, [1.0, -2.0], 0.05, 3, 60, durations=durations)
    assert len(set(run.staleness[10:].tolist())) > 1            # staleness varies
    for j, tau in enumerate(run.staleness):
        step = run.path[j] - 0.05 * quad_grad(run.path[j - tau])
        np.testing.assert_allclose(run.path[j + 1], step, rtol=1e-14, atol=1e-15)
    counts = np.bincount(run.worker, minlength=3)
    assert counts[2] > counts[0] > counts[1]                    # the fastest worker updates most


def test_growth_rate_is_the_log_spectral_radius():
    rng = np.random.default_rng(0)
    for _ in range(25):
        tau, h = int(rng.integers(0, 9)), float(rng.uniform(0.05, 1.9))
        assert a.growth_rate(h, tau) == pytest.approx(math.log(a.spectral_radius(h, tau)), abs=5e-3)


@pytest.mark.parametrize("tau", [0, 1, 2, 3, 4, 8, 12])
def test_bisection_finds_the_formula(tau):
    found = a.stability_threshold(tau)
    assert found == pytest.approx(a.threshold_formula(tau), rel=1e-4)
    assert a.spectral_radius(a.threshold_formula(tau), tau) == pytest.approx(1.0, abs=1e-7)
    assert a.spectral_radius(0.98 * a.threshold_formula(tau), tau) < 1 < a.spectral_radius(
        1.02 * a.threshold_formula(tau), tau)


def test_threshold_formula_values():
    assert a.threshold_formula(0) == pytest.approx(2.0)
    assert a.threshold_formula(1) == pytest.approx(1.0)
    assert a.threshold_formula(2) == pytest.approx((math.sqrt(5) - 1) / 2)
    np.testing.assert_allclose(a.threshold_formula([0, 1]), [2.0, 1.0])


def test_runs_never_overflow():
    assert a.growth_rate(1.99, 8, steps=5000) > 0.1
    assert a.growth_rate(1.0, 0) == -math.inf                  # θ_1 = 0 exactly


@pytest.mark.parametrize(("call", "match"), [
    (lambda: a.stale_gradient_descent(quad_grad, [1.0, 0.0], 0.1, -1, 5), "tau"),
    (lambda: a.stale_gradient_descent(quad_grad, [1.0, 0.0], 0.1, 1.5, 5), "tau"),
    (lambda: a.async_workers(quad_grad, [1.0, 0.0], 0.1, 2, 5, durations=[1.0]), "durations"),
    (lambda: a.growth_rate(0.5, 8, steps=50), "steps must be at least"),
    (lambda: a.growth_rate(-0.5, 1), "lr_times_l"),
])
def test_bad_input_is_refused(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
