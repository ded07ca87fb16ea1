"""bp.ntk.linearized: the Jacobian against the empirical NTK and finite differences; the linearised
network's gradient flow, integrated in parameter space, against the function-space solution
(bp.ntk.linearized_dynamics) and the minimum-norm parameter displacement; decay-rate fits on
exact exponentials; kernel alignment's invariances."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.ntk import decay_rates, jacobian, kernel_alignment, linearized_flow


def _net(width=16, depth=2, activation="tanh", b_std=0.5, d_in=3, seed=0):
    return bp.nn.mlp([d_in] + [width] * depth + [1], activation=activation, seed=seed,
                     parameterization="ntk", b_std=b_std)


def _flat(net):
    return np.concatenate([p.data.ravel() for p in net.parameters()])


def test_jacobian_contracts_to_the_empirical_ntk(rng):
    net = _net()
    x1 = rng.normal(size=(5, 3))
    j = jacobian(net, x1)
    assert j.shape == (5, _flat(net).size)
    np.testing.assert_allclose(j @ j.T, bp.ntk.empirical(net, x1), rtol=1e-10, atol=1e-12)


def test_jacobian_rows_match_central_differences(rng):
    net = _net(width=6, depth=1)
    x = rng.normal(size=(3, 3))
    j = jacobian(net, x)
    params = net.parameters()
    sizes = np.cumsum([0] + [p.data.size for p in params])
    h = 1e-6
    for k in rng.choice(sizes[-1], size=12, replace=False):
        block = int(np.searchsorted(sizes, k, side="right") - 1)
        flat = params[block].data.reshape(-1)
        old = flat[k - sizes[block]]
        flat[k - sizes[block]] = old + h
        up = net(x)[:, 0]
        flat[k - sizes[block]] = old - h
        down = net(x)[:, 0]
        flat[k - sizes[block]] = old
        np.testing.assert_allclose(j[:, k], (up - down) / (2 * h), rtol=1e-6, atol=1e-8)


def test_jacobian_restores_grads_and_refuses_bad_networks(rng):
    net = _net(width=4, depth=1)
    x = rng.normal(size=(2, 3))
    for p in net.parameters():
        p.grad = np.full_like(p.data, 7.0)
    jacobian(net, x)
    assert all(np.all(p.grad == 7.0) for p in net.parameters())
    two_out = bp.nn.mlp([3, 4, 2], parameterization="ntk")
    with pytest.raises(ValueError, match="one output"):
        jacobian(two_out, x)
    with pytest.raises(TypeError, match="bp.nn Module"):
        jacobian(lambda z: z, x)


def test_linearized_flow_matches_function_space_solution(rng):
    net = _net(width=24, depth=2)
    x, xt = rng.normal(size=(6, 3)), rng.normal(size=(4, 3))
    y = rng.normal(size=6)
    before = _flat(net).copy()
    t = np.array([0.0, 0.5, 2.0, 10.0, 40.0])
    flow = linearized_flow(net, x, y, 0.7, t, xt)
    np.testing.assert_array_equal(_flat(net), before)           # the network itself is not trained
    dyn = bp.ntk.linearized_dynamics(bp.ntk.empirical(net, x), bp.ntk.empirical(net, xt, x), y,
                                     net(x)[:, 0], net(xt)[:, 0], 0.7, t)
    np.testing.assert_allclose(flow.f_train, dyn.f_train, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(flow.f_test, dyn.f_test, rtol=1e-7, atol=1e-8)
    assert flow.param_distance[0] == 0.0


def test_linearized_flow_ends_at_the_minimum_norm_displacement(rng):
    # n = 4 points, P ≫ n: the flow stays in the row space of J, so p(∞) − p₀ = J⁺(y − f₀)
    net = _net(width=10, depth=1)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=4)
    j = jacobian(net, x)
    lam_min = np.linalg.eigvalsh(j @ j.T)[0]
    t_long = 50 * 4 / lam_min                                  # e^{−50}
    flow = linearized_flow(net, x, y, 1.0, t_long)
    np.testing.assert_allclose(flow.f_train[-1], y, atol=1e-8)
    min_norm = np.linalg.pinv(j) @ (y - net(x)[:, 0])
    assert abs(flow.param_distance[-1] - np.linalg.norm(min_norm)) < 1e-7 * np.linalg.norm(min_norm)


def test_linearized_flow_is_exact_for_a_network_linear_in_its_parameters(rng):
    # no hidden layer: f = s·W x + c·b is linear in (W, b), so the linearisation is the network
    net = bp.nn.mlp([3, 1], parameterization="ntk", b_std=1.0, seed=1)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    flow = linearized_flow(net, x, y, 0.5, [0.0, 3.0])
    dp = np.linalg.lstsq(flow.jacobian, flow.f_train[-1] - net(x)[:, 0], rcond=None)[0]
    params = net.parameters()
    sizes = np.cumsum([0] + [p.data.size for p in params])
    for p, lo, hi in zip(params, sizes[:-1], sizes[1:], strict=True):
        p.data += dp[lo:hi].reshape(p.data.shape)
    np.testing.assert_allclose(net(x)[:, 0], flow.f_train[-1], atol=1e-10)


def test_linearized_flow_validates_its_arguments(rng):
    net = _net(width=4, depth=1)
    x = rng.normal(size=(3, 3))
    with pytest.raises(ValueError, match="y_train must have shape"):
        linearized_flow(net, x, np.zeros(4), 1.0, 1.0)
    with pytest.raises(ValueError, match="lr"):
        linearized_flow(net, x, np.zeros(3), 0.0, 1.0)
    with pytest.raises(ValueError, match="increasing"):
        linearized_flow(net, x, np.zeros(3), 1.0, [2.0, 1.0])
    flow = linearized_flow(net, x, np.zeros(3), 1.0, 0.0)
    np.testing.assert_allclose(flow.f_train[0], net(x)[:, 0])


def test_decay_rates_recover_exact_exponentials():
    t = np.linspace(0, 50, 26)
    rates = np.array([0.3, 0.05, 0.0, 1e-3])
    r = np.array([1.0, -2.0, 0.5, 0.1]) * np.exp(-np.outer(t, rates))
    np.testing.assert_allclose(decay_rates(r, t), rates, rtol=1e-10, atol=1e-12)


def test_decay_rates_leave_out_points_below_the_floor():
    t = np.arange(10.0)
    r = np.stack([np.exp(-t), np.exp(-5 * t), np.full(10, 1e-12)], axis=1)
    r[6:, 0] = 1e-9                                            # below 1e-6·max|r(0)|: not fitted
    got = decay_rates(r, t)
    assert abs(got[0] - 1.0) < 1e-10                           # fitted on t = 0 … 5 only
    assert abs(got[1] - 5.0) < 1e-10                           # e^{−5t} ≥ 1e-6 for t ≤ 2: 3 points
    assert np.isnan(got[2])                                    # never above the floor
    with pytest.raises(ValueError, match="one row per time"):
        decay_rates(r, t[:5])


def test_kernel_alignment(rng):
    y = rng.normal(size=5)
    assert abs(kernel_alignment(np.outer(y, y), y) - 1.0) < 1e-12
    a = rng.normal(size=(5, 8))
    theta = a @ a.T
    assert abs(kernel_alignment(3.0 * theta, -2.0 * y) - kernel_alignment(theta, y)) < 1e-12
    v = np.linalg.eigh(theta)[1]
    assert abs(kernel_alignment(np.outer(v[:, 0], v[:, 0]), v[:, 1])) < 1e-12    # orthogonal
    with pytest.raises(ValueError, match="shape"):
        kernel_alignment(theta, y[:4])
    with pytest.raises(ValueError, match="undefined"):
        kernel_alignment(np.zeros((5, 5)), y)
