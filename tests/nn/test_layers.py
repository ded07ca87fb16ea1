"""Linear and Identity: forward/backward against PyTorch and central finite differences."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop_lib as bp
from backprop_lib.nn import Identity, Linear

F = torch.nn.functional


def rel_error(a, b):
    """‖a − b‖ / (‖a‖ + ‖b‖) (0 when both are 0)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if den == 0 else float(np.linalg.norm(a - b) / den)


def numerical_grad(f, x, h=1e-5):
    """Central differences of the scalar f() with respect to the array x (modified in place)."""
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


def torch_linear(x, layer, g):
    """y and grads (dx, dW, db) from torch autograd, same weights, same upstream gradient g."""
    tx = torch.tensor(x, requires_grad=True)
    tW = torch.tensor(layer.weight.data, requires_grad=True)
    tb = None if layer.bias is None else torch.tensor(layer.bias.data, requires_grad=True)
    if layer.parameterization == "ntk":
        ty = (layer.w_std / math.sqrt(layer.in_features)) * (tx @ tW.T)
        if tb is not None:
            ty = ty + layer.b_std * tb
    else:
        ty = F.linear(tx, tW, tb)
    ty.backward(torch.tensor(g))
    return (ty.detach().numpy(), tx.grad.numpy(), tW.grad.numpy(),
            None if tb is None else tb.grad.numpy())


dims = st.integers(1, 6)
layer_cases = st.fixed_dictionaries({
    "batch": dims, "n_in": dims, "n_out": dims, "bias": st.booleans(),
    "seed": st.integers(0, 2**31 - 1), "scale": st.sampled_from([1e-3, 1.0, 10.0, 1e3]),
    "ntk": st.booleans(), "w_std": st.floats(0.1, 3.0), "b_std": st.sampled_from([0.0, 0.1, 1.0, 2.5]),
})


def _build(case):
    rng = np.random.default_rng(case["seed"])
    if case["ntk"]:
        layer = Linear(case["n_in"], case["n_out"], case["bias"], seed=case["seed"],
                       parameterization="ntk", w_std=case["w_std"], b_std=case["b_std"])
    else:
        layer = Linear(case["n_in"], case["n_out"], case["bias"], seed=case["seed"])
    x = case["scale"] * rng.normal(size=(case["batch"], case["n_in"]))
    g = rng.normal(size=(case["batch"], case["n_out"]))
    return layer, x, g


@settings(max_examples=40, deadline=None)
@given(layer_cases)
def test_linear_matches_torch(case):
    layer, x, g = _build(case)
    y = layer(x)
    dx = layer.backward(g)
    ty, tdx, tdW, tdb = torch_linear(x, layer, g)
    assert rel_error(y, ty) < 1e-7
    assert rel_error(dx, tdx) < 1e-7
    assert rel_error(layer.weight.grad, tdW) < 1e-7
    if case["bias"]:
        assert rel_error(layer.bias.grad, tdb) < 1e-7
    else:
        assert layer.bias is None and len(layer.parameters()) == 1


@settings(max_examples=30, deadline=None)
@given(layer_cases)
def test_linear_matches_finite_differences(case):
    layer, x, g = _build(case)
    layer(x)
    dx = layer.backward(g)

    def loss():
        return float(np.sum(g * layer.forward(x)))  # L = Σ g ⊙ y, so dL/dy = g

    # L is linear in each of x, W, b: central differences have no truncation error, and a
    # step h = 0.1 keeps the rounding error (≈ eps·|L|/h) small even for inputs of size 1e3.
    assert rel_error(dx, numerical_grad(loss, x, h=0.1)) < 1e-7
    assert rel_error(layer.weight.grad, numerical_grad(loss, layer.weight.data, h=0.1)) < 1e-7
    if layer.bias is not None:
        assert rel_error(layer.bias.grad, numerical_grad(loss, layer.bias.data, h=0.1)) < 1e-7


def test_linear_grads_accumulate_over_two_backward_calls(rng):
    layer = Linear(4, 3, seed=1)
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer(x)
    layer.backward(g)
    once_w, once_b = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once_w, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, 2 * once_b, rtol=1e-12)
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_linear_caches_its_input():
    layer = Linear(2, 3, seed=0)
    assert layer.x is None
    x = np.ones((4, 2))
    layer(x)
    assert layer.x is x


def test_linear_float32_path(rng):
    x64 = rng.normal(size=(8, 5))
    g64 = rng.normal(size=(8, 3))
    l64 = Linear(5, 3, seed=3)
    l32 = Linear(5, 3, seed=3, dtype=np.float32)
    assert l32.weight.data.dtype == np.float32 and l32.bias.data.dtype == np.float32
    y32 = l32(x64.astype(np.float32))
    dx32 = l32.backward(g64.astype(np.float32))
    assert y32.dtype == np.float32 and dx32.dtype == np.float32
    assert l32.weight.grad.dtype == np.float32 and l32.bias.grad.dtype == np.float32
    y64 = l64(x64)
    dx64 = l64.backward(g64)
    np.testing.assert_allclose(l32.weight.data, l64.weight.data, rtol=1e-6)
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(l32.weight.grad, l64.weight.grad, rtol=1e-4, atol=1e-5)


def test_linear_attributes_and_shapes():
    layer = Linear(3, 4)
    assert (layer.in_features, layer.out_features) == (3, 4)
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (4,)
    assert layer.parameterization == "standard" and layer.w_std == 1.0 and layer.b_std == 0.0
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert "in_features=3, out_features=4, bias=True" in repr(layer)
    assert Linear(3, 4, bias=False).bias is None


def test_linear_default_init_matches_torch_bound():
    """torch.nn.Linear: W, b ~ U(±1/√in). Compare the largest |value| of both libraries."""
    n_in, n_out = 400, 300
    ours = Linear(n_in, n_out, seed=0)
    torch.manual_seed(0)
    theirs = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
    bound = 1 / math.sqrt(n_in)
    for a, b in [(ours.weight.data, theirs.weight.detach().numpy()),
                 (ours.bias.data, theirs.bias.detach().numpy())]:
        assert np.abs(a).max() <= bound and np.abs(b).max() <= bound
        # the max of n uniforms falls short of the bound by about bound/n
        assert np.abs(a).max() > bound * (1 - 20 / a.size)
        assert np.abs(a).max() == pytest.approx(np.abs(b).max(), rel=20 / a.size)
    # variance of U(±a) is a²/3
    n = ours.weight.size
    assert abs(ours.weight.data.var() / (bound**2 / 3) - 1) < 6 * math.sqrt(0.8 / n)


def test_linear_ntk_init_is_standard_normal():
    layer = Linear(500, 400, seed=0, parameterization="ntk", w_std=1.5, b_std=0.5)
    n = layer.weight.size
    assert abs(layer.weight.data.mean()) < 6 / math.sqrt(n)
    assert abs(layer.weight.data.var() - 1) < 6 * math.sqrt(2 / n)
    assert abs(layer.bias.data.var() - 1) < 6 * math.sqrt(2 / 400)
    assert layer.weight_scale == pytest.approx(1.5 / math.sqrt(500))
    assert layer.bias_scale == 0.5


def test_linear_seed_determinism():
    a, b, c = Linear(5, 4, seed=7), Linear(5, 4, seed=7), Linear(5, 4, seed=8)
    np.testing.assert_allclose(a.weight.data, b.weight.data, rtol=0, atol=0)
    assert not np.allclose(a.weight.data, c.weight.data)
    gen = np.random.default_rng(7)
    d = Linear(5, 4, seed=gen)
    e = Linear(5, 4, seed=gen)  # the Generator has advanced: different weights
    assert not np.allclose(d.weight.data, e.weight.data)


def test_linear_custom_init_callable():
    def fill_with_twos(w, rng):
        w[...] = 2.0

    layer = Linear(3, 2, init=fill_with_twos, seed=0)
    np.testing.assert_allclose(layer.weight.data, 2.0)
    np.testing.assert_allclose(layer.bias.data, 0.0)


# -- bad input -------------------------------------------------------------------------------
def test_linear_wrong_feature_count():
    layer = Linear(3, 4)
    expected = r"Linear\(3, 4\) got input with 5 features; expected shape \(batch, 3\)"
    with pytest.raises(ValueError, match=expected):
        layer(np.zeros((2, 5)))


def test_linear_needs_2d_input():
    with pytest.raises(ValueError, match=r"2-dimensional; got shape \(3,\).*reshape\(1, -1\)"):
        Linear(3, 4)(np.zeros(3))
    with pytest.raises(ValueError, match="2-dimensional"):
        Linear(3, 4)(np.zeros((2, 3, 1)))


@pytest.mark.parametrize("bad", [np.ones((2, 3), dtype=np.int64), np.ones((2, 3), dtype=bool),
                                 np.array([[1.0, "a", 2.0]], dtype=object)])
def test_linear_refuses_non_float_arrays(bad):
    with pytest.raises(TypeError, match="float64 or float32"):
        Linear(3, 4)(bad)


def test_linear_refuses_other_types():
    with pytest.raises(TypeError, match="NumPy array"):
        Linear(3, 4)("not an array")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_linear_refuses_non_finite_input(value):
    x = np.zeros((2, 3))
    x[1, 2] = value
    with pytest.raises(ValueError, match="NaN or infinite"):
        Linear(3, 4)(x)


def test_backward_before_forward():
    with pytest.raises(ValueError, match=r"backward\(\) was called before forward"):
        Linear(3, 4).backward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"backward\(\) was called before forward"):
        Identity().backward(np.zeros((2, 4)))


def test_linear_backward_wrong_grad_shape():
    layer = Linear(3, 4)
    layer(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"grad_out has shape \(2, 3\); expected \(2, 4\)"):
        layer.backward(np.zeros((2, 3)))


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"in_features": 0, "out_features": 4}, ValueError, "in_features must be a positive integer"),
    ({"in_features": 3, "out_features": -1}, ValueError, "out_features must be a positive integer"),
    ({"in_features": 2.5, "out_features": 4}, TypeError, "in_features must be a positive integer"),
    ({"in_features": 3, "out_features": 4, "bias": "yes"}, TypeError, "bias must be True or False"),
    ({"in_features": 3, "out_features": 4, "dtype": np.int32}, TypeError, "dtype must be"),
    ({"in_features": 3, "out_features": 4, "parameterization": "mup"}, ValueError,
     "unknown parameterization 'mup'; expected one of 'standard', 'ntk'"),
    ({"in_features": 3, "out_features": 4, "init": "glorious"}, ValueError,
     "unknown init 'glorious'; expected one of 'default', 'xavier'"),
    ({"in_features": 3, "out_features": 4, "w_std": -1.0}, ValueError, "w_std must lie in"),
    ({"in_features": 3, "out_features": 4, "seed": "zero"}, TypeError, "seed must be an int"),
])
def test_linear_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Linear(**kwargs)


# -- Identity ----------------------------------------------------------------------------------
def test_identity_forward_backward_and_pure_functions(rng):
    x = rng.normal(size=(3, 4))
    layer = Identity()
    assert layer.x is None and layer.out is None
    np.testing.assert_allclose(layer(x), x, rtol=0, atol=0)
    g = rng.normal(size=(3, 4))
    np.testing.assert_allclose(layer.backward(g), g, rtol=0, atol=0)
    np.testing.assert_allclose(Identity.f(x), x, rtol=0, atol=0)
    np.testing.assert_allclose(Identity.df(x), np.ones_like(x), rtol=0, atol=0)
    assert Identity.df(x.astype(np.float32)).dtype == np.float32
    assert layer.parameters() == []
    with pytest.raises(ValueError, match=r"expected \(3, 4\)"):
        layer.backward(np.zeros((4, 3)))
    with pytest.raises(TypeError, match="float64 or float32"):
        layer(np.ones(3, dtype=np.int64))


def test_linear_inside_sequential_with_torch(rng):
    """Two Linear layers and Identity composed: gradients equal torch's."""
    net = bp.nn.Sequential(Linear(3, 5, seed=0), Identity(), Linear(5, 2, seed=1))
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    y = net(x)
    dx = net.backward(g)
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Identity(), torch.nn.Linear(5, 2)).double()
    with torch.no_grad():
        for tl, ours in [(tnet[0], net[0]), (tnet[2], net[2])]:
            tl.weight.copy_(torch.tensor(ours.weight.data))
            tl.bias.copy_(torch.tensor(ours.bias.data))
    tx = torch.tensor(x, requires_grad=True)
    ty = tnet(tx)
    ty.backward(torch.tensor(g))
    assert rel_error(y, ty.detach().numpy()) < 1e-7
    assert rel_error(dx, tx.grad.numpy()) < 1e-7
    for tl, ours in [(tnet[0], net[0]), (tnet[2], net[2])]:
        assert rel_error(ours.weight.grad, tl.weight.grad.numpy()) < 1e-7
        assert rel_error(ours.bias.grad, tl.bias.grad.numpy()) < 1e-7
