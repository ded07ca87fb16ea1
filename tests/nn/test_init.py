"""bp.nn.init: sample statistics within a few standard errors of each formula, orthogonality,
gains against torch.nn.init.calculate_gain, in-place semantics, seeding, the name registry."""

import math

import numpy as np
import pytest
import torch

from backprop_lib.nn import Linear, Parameter, init

SHAPE = (400, 600)  # (out, in): fan_in = 600, fan_out = 400, n = 240 000 samples
FAN_IN, FAN_OUT = 600, 400
N = SHAPE[0] * SHAPE[1]
Z = 6.0  # tolerance in standard errors: a wrong formula is off by far more


def assert_normal_var(w, var):
    """Mean 0 and variance `var`: SE(mean) = σ/√n, SE(sample var) = σ²·√(2/n) for a normal."""
    assert abs(w.mean()) < Z * math.sqrt(var / w.size)
    assert abs(w.var() - var) < Z * var * math.sqrt(2.0 / w.size)


def assert_uniform_bound(w, bound):
    """U(±bound): variance bound²/3 with SE var·√(0.8/n) (μ₄ = bound⁴/5); all |w| ≤ bound."""
    var = bound**2 / 3
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > bound * (1 - 20 / w.size)
    assert abs(w.mean()) < Z * math.sqrt(var / w.size)
    assert abs(w.var() - var) < Z * var * math.sqrt(0.8 / w.size)


def test_uniform_and_normal():
    w = init.uniform_(np.empty(SHAPE), -0.3, 0.7, seed=0)
    assert w.min() >= -0.3 and w.max() <= 0.7
    assert abs(w.mean() - 0.2) < Z * math.sqrt(1 / 12 / N)
    assert abs(w.var() - 1 / 12) < Z * (1 / 12) * math.sqrt(0.8 / N)
    w = init.normal_(np.empty(SHAPE), mean=1.5, std=0.2, seed=0)
    assert_normal_var(w - 1.5, 0.04)


def test_constant_zeros_ones():
    w = np.empty((3, 4))
    assert init.constant_(w, 0.25) is w
    np.testing.assert_allclose(w, 0.25, rtol=0, atol=0)
    np.testing.assert_allclose(init.zeros_(w), 0.0, rtol=0, atol=0)
    np.testing.assert_allclose(init.ones_(w), 1.0, rtol=0, atol=0)


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier(gain):
    bound = gain * math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert_uniform_bound(init.xavier_uniform_(np.empty(SHAPE), gain=gain, seed=1), bound)
    w = init.xavier_normal_(np.empty(SHAPE), gain=gain, seed=1)
    assert_normal_var(w, gain**2 * 2 / (FAN_IN + FAN_OUT))


@pytest.mark.parametrize("mode, fan", [("fan_in", FAN_IN), ("fan_out", FAN_OUT)])
@pytest.mark.parametrize("nonlinearity, a, gain", [
    ("relu", 0.0, math.sqrt(2)), ("leaky_relu", 0.0, math.sqrt(2)),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("tanh", 0.0, 5 / 3), ("linear", 0.0, 1.0),
])
def test_kaiming(mode, fan, nonlinearity, a, gain):
    std = gain / math.sqrt(fan)
    w = init.kaiming_normal_(np.empty(SHAPE), a=a, mode=mode, nonlinearity=nonlinearity, seed=2)
    assert_normal_var(w, std**2)
    w = init.kaiming_uniform_(np.empty(SHAPE), a=a, mode=mode, nonlinearity=nonlinearity, seed=2)
    assert_uniform_bound(w, math.sqrt(3) * std)


def test_kaiming_defaults_are_torchs():
    """torch: kaiming_*_(a=0, mode="fan_in", nonlinearity="leaky_relu") → Var = 2/fan_in."""
    assert_normal_var(init.kaiming_normal_(np.empty(SHAPE), seed=3), 2 / FAN_IN)
    assert_uniform_bound(init.kaiming_uniform_(np.empty(SHAPE), seed=3), math.sqrt(6 / FAN_IN))


def test_lecun_normal():
    assert_normal_var(init.lecun_normal_(np.empty(SHAPE), seed=4), 1 / FAN_IN)


@pytest.mark.parametrize("shape", [(50, 20), (20, 50), (30, 30), (8, 3, 2)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal(shape, gain):
    w = init.orthogonal_(np.empty(shape), gain=gain, seed=5)
    m = w.reshape(shape[0], -1)
    rows, cols = m.shape
    gram = m.T @ m if rows >= cols else m @ m.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_is_not_the_identity_and_varies_with_seed():
    a = init.orthogonal_(np.empty((10, 10)), seed=0)
    b = init.orthogonal_(np.empty((10, 10)), seed=1)
    assert not np.allclose(a, b)
    assert not np.allclose(np.abs(a), np.eye(10))


def test_orthogonal_sign_fix_makes_it_haar():
    """With Q·sign(diag R), Q is Haar-distributed: E[Q₁₁] = 0 (without the fix LAPACK's
    convention biases the diagonal). Mean over 2000 draws of 4×4: SE = 1/(2·√2000)."""
    rng = np.random.default_rng(0)
    diag = [init.orthogonal_(np.empty((4, 4)), rng=rng)[0, 0] for _ in range(2000)]
    assert abs(np.mean(diag)) < Z * 0.5 / math.sqrt(2000)


@pytest.mark.parametrize("name, param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
])
def test_calculate_gain_matches_torch(name, param):
    expected = torch.nn.init.calculate_gain(name, param)
    assert init.calculate_gain(name, param) == pytest.approx(expected, rel=1e-12)


def test_gain_for_activation_covers_every_activation():
    assert init.gain_for_activation("identity") == 1.0
    for name in ("elu", "gelu", "softplus", "relu"):
        assert init.gain_for_activation(name) == pytest.approx(math.sqrt(2))
    assert init.gain_for_activation("tanh") == pytest.approx(5 / 3)


def test_in_place_on_parameter_and_array():
    p = Parameter(np.zeros((5, 4), dtype=np.float32))
    data = p.data
    assert init.xavier_uniform_(p, seed=0) is p
    assert p.data is data and p.data.dtype == np.float32 and np.any(p.data != 0)
    arr = np.zeros((5, 4))
    assert init.normal_(arr, seed=0) is arr and np.any(arr != 0)


def test_plain_aliases_are_the_same_functions():
    for name in ("uniform", "normal", "constant", "zeros", "ones", "xavier_uniform", "xavier_normal",
                 "kaiming_uniform", "kaiming_normal", "lecun_normal", "orthogonal"):
        assert getattr(init, name) is getattr(init, name + "_")


def test_seeding():
    a = init.kaiming_normal_(np.empty((6, 5)), seed=11)
    b = init.kaiming_normal_(np.empty((6, 5)), seed=11)
    c = init.kaiming_normal_(np.empty((6, 5)), seed=12)
    np.testing.assert_allclose(a, b, rtol=0, atol=0)
    assert not np.allclose(a, c)
    gen = np.random.default_rng(11)
    d = init.kaiming_normal_(np.empty((6, 5)), rng=gen)
    e = init.kaiming_normal_(np.empty((6, 5)), seed=gen)  # a Generator also works as seed=
    np.testing.assert_allclose(d, a, rtol=0, atol=0)  # same stream as seed=11
    assert not np.allclose(d, e)  # the Generator advanced


# -- the registry used by Linear(init=...) and mlp(init=...) ---------------------------------
@pytest.mark.parametrize("scheme, var, kind", [
    ("xavier", 2 / (FAN_IN + FAN_OUT), "uniform"), ("glorot", 2 / (FAN_IN + FAN_OUT), "uniform"),
    ("xavier_normal", 2 / (FAN_IN + FAN_OUT), "normal"), ("he", 2 / FAN_IN, "normal"),
    ("kaiming", 2 / FAN_IN, "normal"), ("he_uniform", 2 / FAN_IN, "uniform"),
    ("lecun", 1 / FAN_IN, "normal"), ("default", 1 / (3 * FAN_IN), "uniform"),
])
def test_registry_variances(scheme, var, kind):
    layer = Linear(FAN_IN, FAN_OUT, init=scheme, seed=6)
    w = layer.weight.data
    if kind == "normal":
        assert_normal_var(w, var)
    else:
        assert_uniform_bound(w, math.sqrt(3 * var))
    if scheme == "default":
        assert_uniform_bound(layer.bias.data, 1 / math.sqrt(FAN_IN))
    else:
        np.testing.assert_allclose(layer.bias.data, 0.0, rtol=0, atol=0)


def test_registry_he_uses_the_nonlinearity_gain():
    layer = Linear(FAN_IN, FAN_OUT, init="he", nonlinearity="tanh", seed=7)
    assert_normal_var(layer.weight.data, (5 / 3) ** 2 / FAN_IN)
    layer = Linear(FAN_IN, FAN_OUT, init="he", nonlinearity=3.0, seed=7)  # a gain as a number
    assert_normal_var(layer.weight.data, 9 / FAN_IN)


def test_registry_normal_constant_zeros_orthogonal():
    assert_normal_var(Linear(FAN_IN, FAN_OUT, init="normal", seed=8).weight.data, 1.0)
    assert_normal_var(Linear(FAN_IN, FAN_OUT, init="normal", init_std=0.05, seed=8).weight.data, 0.0025)
    np.testing.assert_allclose(Linear(3, 2, init="constant", init_std=0.5).weight.data, 0.5, rtol=0, atol=0)
    np.testing.assert_allclose(Linear(3, 2, init="zeros").weight.data, 0.0, rtol=0, atol=0)
    w = Linear(30, 20, init="orthogonal", seed=0).weight.data
    np.testing.assert_allclose(w @ w.T, np.eye(20), atol=1e-12)


def test_registry_errors():
    expected = r"unknown init 'glorious'; expected one of 'default', 'xavier'.*'orthogonal'"
    with pytest.raises(ValueError, match=expected):
        init.init_linear_(np.empty((2, 3)), None, "glorious")
    with pytest.raises(ValueError, match="init='constant' needs the value: pass init_std"):
        Linear(3, 2, init="constant")
    with pytest.raises(ValueError, match="init_std must lie in"):
        Linear(3, 2, init="normal", init_std=-1.0)


# -- bad input ----------------------------------------------------------------------------
def test_fans_need_two_dimensions():
    for fn in (init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_,
               init.lecun_normal_, init.orthogonal_):
        with pytest.raises(ValueError, match=r"at least 2 dimensions.*got shape \(5,\)"):
            fn(np.empty(5))


def test_bad_arguments():
    with pytest.raises(TypeError, match="float32 or float64 array; got dtype int64"):
        init.normal_(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="Parameter or a NumPy float array"):
        init.zeros_([[0.0, 0.0]])
    with pytest.raises(ValueError, match="unknown mode 'fan_avg'; expected one of 'fan_in', 'fan_out'"):
        init.kaiming_normal_(np.empty((2, 2)), mode="fan_avg")
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="a < b"):
        init.uniform_(np.empty(3), 1.0, 0.0)
    with pytest.raises(ValueError, match="std must lie in"):
        init.normal_(np.empty(3), std=-0.1)
    with pytest.raises(ValueError, match="either seed= or rng="):
        init.normal_(np.empty(3), seed=0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be an int, None or a numpy.random.Generator"):
        init.normal_(np.empty(3), rng="fresh")
