"""dead_units: which ReLU units are off on a whole batch, and that their gradients are exactly 0."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.nn import (
    BatchNorm1d,
    CrossEntropyLoss,
    LeakyReLU,
    Linear,
    MSELoss,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    add_batch_norm,
    mlp,
)
from backprop_lib.probes import dead_units


def constructed_net():
    """Layer 1: unit 0 is on for x₀ > 0, unit 1 is always off (bias −5 on inputs in [−1, 1]),
    unit 2 is on for x₁ > 0. Layer 2 reads them."""
    first = Linear(2, 3)
    first.weight.data[...] = [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]
    first.bias.data[...] = [0.0, -5.0, 0.0]
    second = Linear(3, 2)
    second.weight.data[...] = [[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]]
    second.bias.data[...] = [0.0, -0.5]
    return Sequential(first, ReLU(), second, ReLU(), Linear(2, 1, seed=0))


def test_constructed_masks():
    x = np.random.default_rng(0).uniform(-1, 1, size=(50, 2))
    dead = dead_units(constructed_net(), x)
    assert len(dead) == 2
    np.testing.assert_array_equal(dead[0].mask, [False, True, False])
    # second layer: unit 0 sums non-negative inputs (> 0 somewhere); unit 1 = −(sum) − 0.5 < 0 always
    np.testing.assert_array_equal(dead[1].mask, [False, True])
    assert dead[0].count == 1 and dead[0].fraction == pytest.approx(1 / 3)
    assert dead[0].activation == "relu" and "Linear 2→3" in dead[0].label
    assert "1/3" in repr(dead[0])


def test_linear_is_the_measured_networks_own_layer():
    net = constructed_net()
    dead = dead_units(net, np.ones((4, 2)))
    assert dead[0].linear is net.layers[0] and dead[1].linear is net.layers[2]


def test_dead_units_get_exactly_zero_gradient_alive_ones_do_not(rng):
    net = mlp([2, 64, 64, 64, 2], activation="relu", init="he", seed=0)
    for layer in [m for m in net if isinstance(m, Linear)][:-1]:
        layer.bias.data[...] = -3.0
    x, y = bp.data.moons(n=200, noise=0.1, seed=0)
    dead = dead_units(net, x)
    loss = CrossEntropyLoss()
    loss(net(x), y)
    net.backward(loss.backward())
    assert np.mean(np.concatenate([d.mask for d in dead])) > 0.9
    for d in dead:
        assert np.all(d.linear.weight.grad[d.mask] == 0) and np.all(d.linear.bias.grad[d.mask] == 0)
    # a unit on for some input, with live units above it, gets a gradient: layer 1 of a healthy net
    healthy = mlp([2, 16, 2], activation="relu", init="he", seed=0)
    loss(healthy(x), y)
    healthy.backward(loss.backward())
    alive = ~dead_units(healthy, x)[0].mask
    assert alive.any() and np.all(np.any(healthy.layers[0].weight.grad[alive] != 0, axis=1))


def test_leaky_units_are_off_but_still_get_gradient(rng):
    net = mlp([4, 8, 1], activation="leaky_relu", seed=0)
    net.layers[0].bias.data[...] = -100.0
    x = rng.normal(size=(16, 4))
    dead = dead_units(net, x)
    assert dead[0].activation == "leaky_relu" and dead[0].mask.all()
    loss = MSELoss()
    loss(net(x), rng.normal(size=(16, 1)))
    net.backward(loss.backward())
    assert np.all(np.any(net.layers[0].weight.grad != 0, axis=1))


def test_batch_norm_is_judged_after_the_normalization(rng):
    net = add_batch_norm(mlp([4, 8, 2], activation="relu", seed=0))
    net.layers[0].bias.data[...] = -100.0                  # removed by the batch mean: not dead
    x = rng.normal(size=(32, 4))
    assert dead_units(net, x)[0].count == 0
    net.layers[1].bias.data[...] = -100.0                  # β: the shift the ReLU sees
    assert dead_units(net, x)[0].mask.all()


def test_probe_changes_nothing_in_the_network(rng):
    net = Sequential(Linear(3, 5, seed=0), BatchNorm1d(5), ReLU(), Linear(5, 1, seed=1))
    before = net.layers[1].running_mean.copy()
    dead_units(net, rng.normal(size=(8, 3)))
    np.testing.assert_array_equal(net.layers[1].running_mean, before)
    assert net.layers[0].x is None                         # no forward pass ran on the net itself


def test_layers_without_relu_and_residual_blocks_are_skipped(rng):
    net = Sequential(Linear(3, 3, seed=0), Sigmoid(), Residual(Sequential(Linear(3, 3, seed=1), ReLU())),
                     Linear(3, 4, seed=2), LeakyReLU(), Linear(4, 1, seed=3))
    dead = dead_units(net, rng.normal(size=(5, 3)))
    assert [d.linear for d in dead] == [net.layers[3]]


def test_bad_input():
    with pytest.raises(ValueError, match="batch"):
        dead_units(constructed_net(), np.ones(2))
    with pytest.raises(TypeError, match="Module"):
        dead_units("net", np.ones((2, 2)))
