"""bp.train.parallel: the weighted all-reduce, Amdahl's law, the step-time fit, the layer chain.

Oracles: PyTorch autograd for the full-batch gradient that the all-reduce must reproduce;
closed forms for Amdahl; exact synthetic timings for the fit; hand-counted DAGs.
"""

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.train import parallel as par


def _problem(n=50, seed=0):
    rng = np.random.default_rng(seed)
    net = bp.nn.mlp([3, 8, 2], activation="tanh", seed=seed)
    return net, bp.nn.MSELoss(), rng.normal(size=(n, 3)), rng.normal(size=(n, 2))


def _torch_full_gradient(net, x, y):
    tnet = bp.interop.to_torch(net)
    torch.nn.functional.mse_loss(tnet(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    return np.concatenate([p.grad.numpy().ravel() for p in tnet.parameters()])


@pytest.mark.parametrize("sizes", [[10, 40], [25, 25], [5, 13, 32], [1, 1, 48]])
def test_weighted_allreduce_is_the_full_batch_gradient(sizes):
    net, loss_fn, x, y = _problem()
    shards = par.shard_gradients(net, loss_fn, x, y, sizes)
    assert len(shards) == len(sizes) and shards[0].shape == (net.num_parameters(),)
    np.testing.assert_allclose(par.allreduce(shards, sizes), _torch_full_gradient(net, x, y),
                               rtol=1e-12, atol=1e-15)


def test_mean_of_shard_means_is_wrong_only_for_unequal_shards():
    net, loss_fn, x, y = _problem()
    full = bp.train.flat_gradient(net, loss_fn, x, y)
    unequal = par.shard_gradients(net, loss_fn, x, y, [10, 40])
    assert np.max(np.abs(np.mean(unequal, axis=0) - full)) > 1e-3
    equal = par.shard_gradients(net, loss_fn, x, y, [25, 25])
    np.testing.assert_allclose(np.mean(equal, axis=0), full, rtol=1e-12, atol=1e-15)


def test_allreduce_keeps_shape_and_float32():
    g = [np.ones((2, 3), np.float32), 3 * np.ones((2, 3), np.float32)]
    out = par.allreduce(g, [3, 1])
    assert out.shape == (2, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, 1.5)


@pytest.mark.parametrize(("grads", "sizes", "match"), [
    ([np.ones(3), np.ones(3)], [1], "one size per shard"),
    ([np.ones(3), np.ones(3)], [1, 0], "positive whole numbers"),
    ([np.ones(3), np.ones(3)], [1.5, 2.5], "positive whole numbers"),
    ([np.ones(3), np.ones(4)], [1, 1], "same shape"),
    ([], [], "at least one"),
])
def test_allreduce_refuses_bad_input(grads, sizes, match):
    with pytest.raises(ValueError, match=match):
        par.allreduce(grads, sizes)


def test_split_sizes_is_array_split():
    for n, k in ((10, 3), (64, 2), (7, 7), (5, 1)):
        assert par.split_sizes(n, k) == [len(a) for a in np.array_split(np.arange(n), k)]
    with pytest.raises(ValueError, match="non-empty"):
        par.split_sizes(3, 4)


def test_shard_gradients_checks_the_sizes_add_up():
    net, loss_fn, x, y = _problem()
    with pytest.raises(ValueError, match="add up to the 50 rows"):
        par.shard_gradients(net, loss_fn, x, y, [10, 30])


def test_amdahl_closed_forms_and_bounds():
    assert par.amdahl(0.5, 2) == pytest.approx(4 / 3, rel=1e-15)
    assert par.amdahl(0.9, 10) == pytest.approx(1 / 0.19, rel=1e-15)
    assert par.amdahl(0.0, 64) == 1.0 and par.amdahl(1.0, 64) == pytest.approx(64)
    p, n = np.meshgrid(np.linspace(0, 0.999, 40), np.arange(1, 200))
    s = par.amdahl(p, n)
    assert s.shape == p.shape
    assert np.all(s <= np.minimum(n, 1 / (1 - p)) * (1 + 1e-12)) and np.all(s >= 1 - 1e-12)
    assert np.all(np.diff(s, axis=0) >= 0)                   # more workers never hurt
    # the job itself: serial part 1 − p once, parallel part p split over N
    assert par.amdahl(0.8, 4) == pytest.approx(1.0 / (0.2 + 0.8 / 4))


@pytest.mark.parametrize(("p", "n"), [(-0.1, 2), (1.2, 2), (0.5, 0), (np.nan, 2)])
def test_amdahl_refuses_bad_input(p, n):
    with pytest.raises(ValueError, match="must"):
        par.amdahl(p, n)


def test_fit_step_time_recovers_s_and_c():
    b = np.array([16, 64, 256, 1024])
    fit = par.fit_step_time(b, 2e-3 + 5e-6 * b)
    assert fit.s == pytest.approx(2e-3, rel=1e-9) and fit.c == pytest.approx(5e-6, rel=1e-9)
    p = fit.parallel_fraction(256)
    assert p == pytest.approx(5e-6 * 256 / (2e-3 + 5e-6 * 256), rel=1e-9)
    assert fit.speedup(256, 4) == pytest.approx(1 / ((1 - p) + p / 4), rel=1e-12)
    assert fit.max_speedup(256) == pytest.approx(1 / (1 - p), rel=1e-12)
    np.testing.assert_allclose(fit.predict(b), 2e-3 + 5e-6 * b, rtol=1e-9)
    rng = np.random.default_rng(0)
    noisy = par.fit_step_time(b, (2e-3 + 5e-6 * b) * rng.uniform(0.97, 1.03, size=4))
    assert noisy.c == pytest.approx(5e-6, rel=0.05)


def test_fit_step_time_refuses_what_it_cannot_fit():
    with pytest.raises(ValueError, match="2 different batch sizes"):
        par.fit_step_time([8, 8], [1.0, 1.1])
    with pytest.raises(ValueError, match="positive"):
        par.fit_step_time([8, 16], [1.0, -1.0])
    with pytest.raises(ValueError, match="negative term"):
        par.StepTimeFit(-1e-4, 1e-5, np.array([8, 16]), np.array([1e-4, 2e-4])).parallel_fraction(16)


def test_fit_step_time_keeps_both_terms_non_negative():
    falling = par.fit_step_time([8, 16, 32], [3.0, 2.0, 1.0])     # unconstrained: c < 0
    t = np.array([3.0, 2.0, 1.0])
    assert falling.c == 0 and falling.s == pytest.approx(np.sum(1 / t) / np.sum(1 / t**2), rel=1e-12)
    assert falling.parallel_fraction(16) == 0 and falling.speedup(16, 8) == pytest.approx(1.0)
    b = np.array([8.0, 16.0, 32.0])
    steep = par.fit_step_time(b, [1.0, 3.0, 7.0])                # unconstrained: s < 0
    assert steep.s == 0 and steep.c == pytest.approx(np.sum(b / [1, 3, 7]) / np.sum((b / [1, 3, 7]) ** 2))
    assert steep.parallel_fraction(16) == pytest.approx(1.0) and steep.max_speedup(16) == np.inf


def test_fit_step_time_weighs_relative_errors_so_a_preempted_long_step_keeps_s_positive():
    """CI measured t(B) = −0.31 ms + 10 µs·B: the longest steps, interrupted on a busy machine, tilted
    a plain least-squares line below zero. Relative errors keep s close to the small-batch times."""
    b = np.array([8, 32, 128, 512, 1024])
    t = 2.5e-4 + 3e-6 * b
    t[-2:] *= [1.5, 2.0]                                         # the two longest steps interrupted
    c_plain, s_plain = np.polyfit(b, t, 1)
    assert s_plain < 0                                           # what a plain fit gives
    fit = par.fit_step_time(b, t)
    assert fit.s == pytest.approx(2.5e-4, rel=0.25)
    assert 0 < fit.parallel_fraction(1024) < 1


@pytest.mark.parametrize("depth", [1, 2, 3, 8, 50])
def test_layer_chain_critical_path_is_2L_plus_1_of_3L(depth):
    dag = par.backprop_dag(depth)
    assert len(dag) == 3 * depth
    assert par.critical_path(dag) == (2 * depth + 1, 3 * depth)
    # with free weight gradients the chain is forward + backward errors: 2L
    free_w = {op: 0 for op in dag if op.startswith("W")}
    assert par.critical_path(dag, free_w)[0] == 2 * depth


def test_backprop_dag_dependencies_for_three_layers():
    dag = par.backprop_dag(3)
    assert dag["F1"] == () and dag["F3"] == ("F2",)
    assert dag["D3"] == ("F3",) and dag["D1"] == ("D2",)
    assert dag["W1"] == ("D1",) and dag["W3"] == ("D3", "F2")


def test_critical_path_needs_dependency_order():
    with pytest.raises(ValueError, match="dependency order"):
        par.critical_path({"b": ("a",), "a": ()})
    with pytest.raises((ValueError, TypeError), match="depth"):
        par.backprop_dag(0)
