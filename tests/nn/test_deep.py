"""residual_mlp and add_batch_norm: structure, the identity at zero init, scale invariance under
batch norm, and gradients vs PyTorch."""

import numpy as np
import pytest

from backprop_lib.interop import compare_gradients
from backprop_lib.nn import (
    BatchNorm1d,
    CrossEntropyLoss,
    Linear,
    MSELoss,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Tanh,
    add_batch_norm,
    mlp,
    residual_mlp,
)


def kinds(net):
    return [type(layer).__name__ for layer in net]


# -- residual_mlp ------------------------------------------------------------------------------

def test_residual_mlp_layout_two_layer_branch():
    net = residual_mlp(6, 3, activation="tanh", n_out=2, seed=1)
    assert kinds(net) == ["Residual"] * 3 + ["Linear"]
    for block in net.layers[:3]:
        assert kinds(block.block) == ["Linear", "Tanh", "Linear"]
        assert all(lin.weight.shape == (6, 6) for lin in block.block.layers[::2])
    assert net.layers[-1].weight.shape == (2, 6)
    assert net(np.ones((4, 6))).shape == (4, 2)
    assert len(net.parameters()) == 3 * 4 + 2


def test_residual_mlp_layout_one_layer_branch_and_plain():
    net = residual_mlp(5, 2, activation="sigmoid", branch_layers=1, seed=0)
    assert [kinds(b.block) for b in net.layers[:2]] == [["Linear", "Sigmoid"]] * 2
    plain = residual_mlp(5, 2, activation="sigmoid", branch_layers=1, seed=0, skip=False)
    assert kinds(plain) == ["Sequential", "Sequential", "Linear"]


def test_residual_mlp_computes_x_plus_branch(rng):
    net = residual_mlp(4, 2, activation="tanh", init="xavier", seed=3)
    x = rng.normal(size=(7, 4))
    h = x
    for block in net.layers[:2]:
        w1, b1 = block.block.layers[0].weight.data, block.block.layers[0].bias.data
        w2, b2 = block.block.layers[2].weight.data, block.block.layers[2].bias.data
        h = h + (np.tanh(h @ w1.T + b1) @ w2.T + b2)           # x + F(x)
    out = h @ net.layers[2].weight.data.T + net.layers[2].bias.data
    np.testing.assert_allclose(net(x), out, rtol=1e-12, atol=1e-12)


def test_skip_false_has_the_same_weights_without_identity(rng):
    res = residual_mlp(4, 3, activation="relu", seed=5)
    plain = residual_mlp(4, 3, activation="relu", seed=5, skip=False)
    for p, q in zip(res.parameters(), plain.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    x = rng.normal(size=(6, 4))
    h = x
    for block in plain.layers[:3]:
        h = block(h)                                            # F(x) only
    np.testing.assert_allclose(plain(x), plain.layers[3](h), rtol=1e-12)
    assert not np.allclose(plain(x), res(x))


def test_zero_init_residual_makes_every_block_the_identity(rng):
    net = residual_mlp(8, 5, activation="sigmoid", init="xavier", zero_init_residual=True, seed=0)
    x = rng.normal(size=(10, 8))
    np.testing.assert_array_equal(net(x), net.layers[-1](x))           # blocks pass x through
    g = rng.normal(size=(10, 10))
    net(x)
    dx = net.backward(g)
    np.testing.assert_array_equal(dx, g @ net.layers[-1].weight.data)  # δ crosses 5 blocks unchanged
    first = net.layers[0].block.layers[0]
    assert np.any(first.weight.data != 0)                              # only the branch's last layer is 0


def test_zero_init_one_layer_branch_has_zero_jacobian(rng):
    net = residual_mlp(6, 4, activation="sigmoid", branch_layers=1, zero_init_residual=True, seed=0)
    x = rng.normal(size=(5, 6))
    net(x)
    g = rng.normal(size=(5, 10))
    np.testing.assert_array_equal(net.backward(g), g @ net.layers[-1].weight.data)


def test_residual_mlp_seed_and_he_gain():
    a, b = residual_mlp(64, 2, seed=0), residual_mlp(64, 2, seed=0)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    c = residual_mlp(64, 2, seed=1)
    assert not np.array_equal(a.parameters()[0].data, c.parameters()[0].data)
    big = residual_mlp(512, 1, activation="relu", init="he", seed=0)
    std = big.layers[0].block.layers[0].weight.data.std()
    assert abs(std - np.sqrt(2 / 512)) < 0.02 * np.sqrt(2 / 512)       # He's √(2/fan_in)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("branch_layers", [1, 2])
def test_residual_mlp_gradients_match_torch(rng, activation, branch_layers):
    net = residual_mlp(5, 3, activation=activation, init="xavier", branch_layers=branch_layers, n_out=3,
                       seed=2)
    x = rng.normal(size=(8, 5))
    y = rng.integers(0, 3, size=8)
    assert compare_gradients(net, CrossEntropyLoss(), x, y).max_rel_error < 1e-9


@pytest.mark.parametrize(("kwargs", "error"), [
    (dict(branch_layers=3), ValueError), (dict(branch_layers=True), ValueError),
    (dict(zero_init_residual=1), TypeError), (dict(skip="no"), TypeError),
    (dict(activation="swish"), ValueError), (dict(n_out=0), ValueError),
])
def test_residual_mlp_refuses_bad_arguments(kwargs, error):
    with pytest.raises(error):
        residual_mlp(4, 2, **kwargs)
    with pytest.raises(TypeError, match="width"):
        residual_mlp(4.5, 2)


# -- add_batch_norm ----------------------------------------------------------------------------

def test_add_batch_norm_goes_between_linear_and_activation():
    net = mlp([3, 4, 4, 2], activation="relu", seed=0)
    bn = add_batch_norm(net)
    assert kinds(bn) == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert [layer.num_features for layer in bn if isinstance(layer, BatchNorm1d)] == [4, 4]
    assert kinds(net) == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]     # the original is untouched
    for p, q in zip(net.parameters(), [p for layer in bn if isinstance(layer, Linear) for p in
                                       layer.parameters()], strict=True):
        np.testing.assert_array_equal(p.data, q.data)
        assert p.data is not q.data                                          # copied, not shared


def test_add_batch_norm_inside_residual_blocks():
    bn = add_batch_norm(residual_mlp(4, 2, activation="tanh", seed=0))
    assert [kinds(b.block) for b in bn.layers[:2]] == [["Linear", "BatchNorm1d", "Tanh", "Linear"]] * 2
    assert kinds(bn)[-1] == "Linear"


def test_add_batch_norm_refuses_networks_without_activations():
    with pytest.raises(ValueError, match="no Linear followed by an activation"):
        add_batch_norm(Sequential(Linear(2, 3), Linear(3, 1)))
    with pytest.raises(TypeError, match="Sequential"):
        add_batch_norm(Linear(2, 3))


def test_batch_norm_makes_the_output_invariant_to_the_hidden_weights_scale(rng):
    net = add_batch_norm(mlp([16, 32, 32, 32, 4], activation="tanh", init="xavier", seed=0))
    x = rng.normal(size=(64, 16))
    out = net(x)
    for layer in [layer for layer in net if isinstance(layer, Linear)][:-1]:
        layer.weight.data *= 10.0
        layer.bias.data *= 10.0
    assert np.max(np.abs(net(x) - out)) < 1e-4                             # equal up to BN's eps = 1e-5
    plain = mlp([16, 32, 32, 32, 4], activation="tanh", init="xavier", seed=0)
    scaled = mlp([16, 32, 32, 32, 4], activation="tanh", init="xavier", seed=0)
    for layer in [layer for layer in scaled if isinstance(layer, Linear)][:-1]:
        layer.weight.data *= 10.0
    assert not np.allclose(plain(x), scaled(x), rtol=1e-2)                  # without BN it is not


@pytest.mark.parametrize("activation", [Sigmoid, Tanh, ReLU])
def test_add_batch_norm_gradients_match_torch(rng, activation):
    net = add_batch_norm(mlp([6, 8, 8, 3], activation=activation, init="xavier", seed=4))
    x = rng.normal(size=(16, 6))
    y = rng.normal(size=(16, 3))
    assert compare_gradients(net, MSELoss(), x, y).max_rel_error < 1e-8


def test_add_batch_norm_keeps_dtype():
    net = add_batch_norm(mlp([3, 4, 2], activation="relu", dtype=np.float32, seed=0))
    assert net.layers[1].weight.data.dtype == np.float32
    assert isinstance(net.layers[0], Linear) and isinstance(net.layers[2], ReLU)
    assert not isinstance(net.layers[-1], Residual)
