"""bp.nn.mlp: structure, determinism, init and parameterization pass-through, whole-network
gradients against PyTorch and finite differences, bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop_lib as bp
from backprop_lib.nn import ELU, GELU, Identity, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh, mlp

TORCH_ACT = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
             "gelu": torch.nn.GELU, "elu": torch.nn.ELU, "softplus": torch.nn.Softplus,
             "leaky_relu": torch.nn.LeakyReLU, "identity": torch.nn.Identity}


def rel_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if den == 0 else float(np.linalg.norm(a - b) / den)


def numerical_grad(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        fp = f()
        x[idx] = old - h
        fm = f()
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * h)
    return grad


def torch_copy(net, activation):
    """The same network in PyTorch (float64), weights copied."""
    layers = []
    for layer in net:
        if isinstance(layer, Linear):
            t = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
            with torch.no_grad():
                t.weight.copy_(torch.tensor(layer.weight.data))
                t.bias.copy_(torch.tensor(layer.bias.data))
            layers.append(t)
        else:
            layers.append(TORCH_ACT[activation]())
    return torch.nn.Sequential(*layers)


def test_structure():
    net = mlp([3, 8, 5, 2], activation="tanh", seed=0)
    assert isinstance(net, Sequential)
    assert [type(l) for l in net] == [Linear, Tanh, Linear, Tanh, Linear]
    assert [(l.in_features, l.out_features) for l in net if isinstance(l, Linear)] == [(3, 8), (8, 5), (5, 2)]
    assert net[1] is not net[3]  # each activation caches its own input
    assert [p.name for p in net.parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias",
                                                  "4.weight", "4.bias"]
    assert net.num_parameters() == 3 * 8 + 8 + 8 * 5 + 5 + 5 * 2 + 2
    assert [type(l) for l in mlp([4, 1])] == [Linear]  # no hidden layer: a single Linear


def test_output_activation_and_bias_flag():
    net = mlp([2, 4, 1], output_activation="sigmoid", bias=False)
    assert [type(l) for l in net] == [Linear, ReLU, Linear, Sigmoid]
    assert all(l.bias is None for l in net if isinstance(l, Linear))
    out = net(np.random.default_rng(0).normal(size=(5, 2)))
    assert np.all((out > 0) & (out < 1))


def test_activation_as_class_or_instance_is_copied_per_layer():
    net = mlp([2, 4, 4, 1], activation=LeakyReLU(0.2))
    acts = [l for l in net if isinstance(l, LeakyReLU)]
    assert len(acts) == 2 and acts[0] is not acts[1] and all(a.negative_slope == 0.2 for a in acts)
    net = mlp([2, 4, 4, 1], activation=ELU)
    assert sum(isinstance(l, ELU) for l in net) == 2


def test_determinism_and_derived_layer_seeds():
    a, b, c = mlp([4, 6, 6, 6, 2], seed=3), mlp([4, 6, 6, 6, 2], seed=3), mlp([4, 6, 6, 6, 2], seed=4)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(pa.data, pb.data, rtol=0, atol=0)
    assert not np.allclose(a[0].weight.data, c[0].weight.data)
    assert not np.allclose(a[2].weight.data, a[4].weight.data)  # same shape, different seeds
    d = mlp([4, 6, 2], seed=np.random.default_rng(3))
    e = mlp([4, 6, 2], seed=np.random.default_rng(3))
    np.testing.assert_allclose(d[0].weight.data, e[0].weight.data, rtol=0, atol=0)


@pytest.mark.parametrize("activation, gain", [("relu", math.sqrt(2)), ("tanh", 5 / 3), ("identity", 1.0),
                                              ("gelu", math.sqrt(2)),
                                              ("leaky_relu", math.sqrt(2 / (1 + 0.01**2)))])
def test_he_init_uses_the_activation_gain(activation, gain):
    net = mlp([300, 400, 400, 10], activation=activation, init="he", seed=0)
    for layer in [net[2], net[4]]:
        w = layer.weight.data
        var = gain**2 / layer.in_features
        assert abs(w.var() - var) < 6 * var * math.sqrt(2 / w.size)
        np.testing.assert_allclose(layer.bias.data, 0.0, rtol=0, atol=0)


def test_he_with_custom_leaky_slope():
    net = mlp([400, 400, 1], activation=LeakyReLU(0.5), init="he", seed=0)
    var = 2 / (1 + 0.25) / 400
    w = net[0].weight.data
    assert abs(w.var() - var) < 6 * var * math.sqrt(2 / w.size)


def test_init_std_and_parameterization_pass_through():
    net = mlp([300, 300, 1], init="normal", init_std=0.1, seed=0)
    assert abs(net[0].weight.data.std() - 0.1) < 0.005
    net = mlp([3, 5, 1], parameterization="ntk", w_std=1.4, b_std=0.1, seed=0)
    assert all(l.parameterization == "ntk" and l.w_std == 1.4 and l.b_std == 0.1
               for l in net if isinstance(l, Linear))


def test_float32_network(rng):
    net = mlp([3, 8, 2], activation="tanh", dtype=np.float32, seed=0)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    out = net(x)
    assert out.dtype == np.float32
    loss_fn = bp.nn.MSELoss()
    loss_fn(out, np.zeros((4, 2), dtype=np.float32))
    dx = net.backward(loss_fn.backward())
    assert dx.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in net.parameters())


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5),
       activation=st.sampled_from(sorted(TORCH_ACT)), batch=st.integers(1, 5),
       seed=st.integers(0, 2**31 - 1))
def test_whole_network_gradients_match_torch(sizes, activation, batch, seed):
    net = mlp(sizes, activation=activation, seed=seed)
    tnet = torch_copy(net, activation)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, sizes[0]))
    y = rng.normal(size=(batch, sizes[-1]))
    loss_fn = bp.nn.MSELoss()
    loss = loss_fn(net(x), y)
    dx = net.backward(loss_fn.backward())
    tx = torch.tensor(x, requires_grad=True)
    tloss = torch.nn.functional.mse_loss(tnet(tx), torch.tensor(y))
    tloss.backward()
    assert rel_error(loss, tloss.item()) < 1e-7
    assert rel_error(dx, tx.grad.numpy()) < 1e-7
    tparams = list(tnet.parameters())
    for p, tp in zip(net.parameters(), tparams, strict=True):
        assert rel_error(p.grad, tp.grad.numpy()) < 1e-7


def test_whole_network_gradients_match_finite_differences(rng):
    net = mlp([3, 5, 4, 3], activation="tanh", seed=1)
    x = rng.normal(size=(6, 3))
    y = rng.integers(0, 3, size=6)
    loss_fn = bp.nn.CrossEntropyLoss()
    loss_fn(net(x), y)
    net.backward(loss_fn.backward())

    def loss():
        return bp.nn.CrossEntropyLoss()(net(x), y)

    for p in net.parameters():
        assert rel_error(p.grad, numerical_grad(loss, p.data)) < 1e-7


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes, exc, match", [
    ([3], ValueError, r"at least 2 widths.*got \[3\]"),
    ([], ValueError, "at least 2 widths"),
    ([2, 0, 1], ValueError, r"sizes\[1\] must be a positive integer \(>= 1\); got 0"),
    ([2, -4, 1], ValueError, r"sizes\[1\] must be a positive integer"),
    ([2, 2.5, 1], TypeError, r"sizes\[1\] must be a positive integer; got 2.5"),
    ([2, True, 1], TypeError, r"sizes\[1\] must be a positive integer"),
    ("2,16,1", TypeError, "sizes must be a list of layer widths"),
    (5, TypeError, "sizes must be a list of layer widths"),
])
def test_bad_sizes(sizes, exc, match):
    with pytest.raises(exc, match=match):
        mlp(sizes)


def test_numpy_integer_sizes_are_fine():
    net = mlp(np.array([2, 3, 1]))
    assert net[0].in_features == 2 and isinstance(net[0].in_features, int)


def test_bad_activation_and_init():
    with pytest.raises(ValueError, match="unknown activation 'swish'; expected one of"):
        mlp([2, 3, 1], activation="swish")
    with pytest.raises(TypeError, match="activation must be an activation name"):
        mlp([2, 3, 1], activation=3)
    with pytest.raises(ValueError, match="unknown activation 'softmax'"):
        mlp([2, 3, 1], output_activation="softmax")
    with pytest.raises(ValueError, match="unknown init 'glorious'"):
        mlp([2, 3, 1], init="glorious")
    with pytest.raises(TypeError, match="dtype must be"):
        mlp([2, 3, 1], dtype=np.int64)


def test_identity_and_gelu_activations_build():
    assert isinstance(mlp([2, 3, 1], activation="linear")[1], Identity)
    assert isinstance(mlp([2, 3, 1], activation="gelu")[1], GELU)
