"""Activations: values and gradients against PyTorch and central finite differences,
stability for large |x|, the pure f/df functions, the registry and bad input."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import backprop_lib as bp
from backprop_lib.nn import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh, get_activation

F = torch.nn.functional


def rel_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if den == 0 else float(np.linalg.norm(a - b) / den)


def numerical_grad(f, x, h=1e-3):
    """Five-point central differences (error O(h⁴)) of the scalar f() with respect to x."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        vals = []
        for step in (2 * h, h, -h, -2 * h):
            x[idx] = old + step
            vals.append(f())
        x[idx] = old
        grad[idx] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
    return grad


# (id, bp module factory, torch function, points where f or f′ is not smooth)
CASES = [
    ("sigmoid", Sigmoid, torch.sigmoid, []),
    ("tanh", Tanh, torch.tanh, []),
    ("relu", ReLU, F.relu, [0.0]),
    ("leaky_relu", LeakyReLU, F.leaky_relu, [0.0]),
    ("leaky_relu_0.2", lambda: LeakyReLU(0.2), lambda t: F.leaky_relu(t, 0.2), [0.0]),
    ("elu", ELU, F.elu, [0.0]),
    ("elu_0.5", lambda: ELU(alpha=0.5), lambda t: F.elu(t, alpha=0.5), [0.0]),
    ("gelu", GELU, F.gelu, []),
    ("gelu_tanh", lambda: GELU("tanh"), lambda t: F.gelu(t, approximate="tanh"), []),
    ("softplus", Softplus, F.softplus, [20.0]),
    ("softplus_b2_t5", lambda: Softplus(beta=2.0, threshold=5.0),
     lambda t: F.softplus(t, beta=2.0, threshold=5.0), [2.5]),
    ("identity", Identity, lambda t: t, []),
]
IDS = [c[0] for c in CASES]

arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                    elements=st.floats(-8.0, 8.0, allow_nan=False))
# Finite differences lose relative accuracy ≈ eps·|f| / (h·|f′|) where f saturates
# (tanh′(8) ≈ 5e-7), so they are checked on [-5, 5]; PyTorch and mpmath cover the rest.
fd_arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                       elements=st.floats(-5.0, 5.0, allow_nan=False))


def away_from_kinks(x, kinks, margin=5e-3):
    """Move points within `margin` of a kink by 0.5 so that x ± 2h never straddles it."""
    x = x.copy()
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + 0.5
    return x


def torch_forward_backward(tf, x, g):
    t = torch.tensor(x, requires_grad=True)
    out = tf(t)
    out.backward(torch.tensor(g))
    return out.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("name, make, tf, kinks", CASES, ids=IDS)
@settings(max_examples=25, deadline=None)
@given(x=arrays, seed=st.integers(0, 2**31 - 1))
def test_activation_matches_torch(name, make, tf, kinks, x, seed):
    g = np.random.default_rng(seed).normal(size=x.shape)
    act = make()
    y = act(x)
    dx = act.backward(g)
    ty, tdx = torch_forward_backward(tf, x, g)
    # Elementwise relative error < 1e-7, with an absolute floor of 1e-12: PyTorch's exact GELU
    # computes 1 + erf(x/√2), which cancels for x < -5 (see test_gelu_tail_accuracy).
    np.testing.assert_allclose(y, ty, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(dx, tdx, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("name, make, tf, kinks", CASES, ids=IDS)
@settings(max_examples=25, deadline=None)
@given(x=fd_arrays, seed=st.integers(0, 2**31 - 1))
def test_activation_matches_finite_differences(name, make, tf, kinks, x, seed):
    x = away_from_kinks(x, kinks)
    g = np.random.default_rng(seed).normal(size=x.shape)
    act = make()
    act(x)
    dx = act.backward(g)
    num = numerical_grad(lambda: float(np.sum(g * act.forward(x))), x)
    # Relative error, with a floor of 1e-4·‖g‖ under the denominator: where f′ ≈ 0 (GELU's
    # minimum at x ≈ −0.75) a relative error means nothing; there ‖dx − num‖ < 1e-11·‖g‖.
    den = max(np.linalg.norm(dx) + np.linalg.norm(num), 1e-4 * np.linalg.norm(g))
    assert np.linalg.norm(dx - num) / den < 1e-7


LARGE = np.array([-1e4, -3e3, -710.0, -100.0, -40.0, -20.0, -1e-8, 0.0, 1e-8, 20.0, 40.0,
                  100.0, 710.0, 3e3, 1e4])


@pytest.mark.parametrize("name, make, tf, kinks", CASES, ids=IDS)
def test_large_inputs_are_stable_and_match_torch(name, make, tf, kinks):
    act = make()
    g = np.linspace(-1.0, 1.0, LARGE.size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any overflow / invalid-value warning fails the test
        y = act(LARGE)
        dx = act.backward(g)
        f_vals, df_vals = act.f(LARGE), act.df(LARGE)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    assert np.all(np.isfinite(f_vals)) and np.all(np.isfinite(df_vals))
    ty, tdx = torch_forward_backward(tf, LARGE, g)
    np.testing.assert_allclose(y, ty, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(dx, tdx, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("name, make, tf, kinks", CASES, ids=IDS)
def test_float32_path(name, make, tf, kinks, rng):
    x = rng.normal(scale=3.0, size=(6, 4))
    g = rng.normal(size=(6, 4))
    a32, a64 = make(), make()
    y32 = a32(x.astype(np.float32))
    dx32 = a32.backward(g.astype(np.float32))
    assert y32.dtype == np.float32 and dx32.dtype == np.float32
    np.testing.assert_allclose(y32, a64(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx32, a64.backward(g), rtol=1e-5, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = a32(LARGE.astype(np.float32))
        assert np.all(np.isfinite(big)) and np.all(np.isfinite(a32.backward(np.ones_like(big))))


@pytest.mark.parametrize("name, make, tf, kinks", CASES, ids=IDS)
def test_pure_functions_agree_with_module_and_torch(name, make, tf, kinks):
    x = away_from_kinks(np.linspace(-6.0, 6.0, 41), kinks)
    act = make()
    np.testing.assert_allclose(act.f(x), act(x), rtol=1e-14, atol=0)
    np.testing.assert_allclose(act.df(x), act.backward(np.ones_like(x)), rtol=1e-12, atol=1e-15)
    _, tdf = torch_forward_backward(tf, x, np.ones_like(x))
    np.testing.assert_allclose(act.df(x), tdf, rtol=1e-7, atol=1e-12)


def test_pure_functions_on_the_class_use_default_hyperparameters():
    x = np.array([-2.0, -0.5, 1.0])
    np.testing.assert_allclose(LeakyReLU.f(x), [-0.02, -0.005, 1.0], rtol=1e-12)
    np.testing.assert_allclose(LeakyReLU.f(x, negative_slope=0.2), [-0.4, -0.1, 1.0], rtol=1e-12)
    np.testing.assert_allclose(LeakyReLU(0.2).f(x), [-0.4, -0.1, 1.0], rtol=1e-12)
    np.testing.assert_allclose(LeakyReLU(0.2).df(x), [0.2, 0.2, 1.0], rtol=1e-12)
    np.testing.assert_allclose(ELU(alpha=2.0).f(x), 2.0 * np.expm1(np.minimum(x, 0)) + np.maximum(x, 0))
    np.testing.assert_allclose(Sigmoid.f(0.0), 0.5)
    np.testing.assert_allclose(Sigmoid.f([0, 0]), [0.5, 0.5])  # integers are accepted
    np.testing.assert_allclose(Tanh.df(np.array([0.0])), [1.0])
    assert Sigmoid.f.__name__ == "f" and LeakyReLU(0.3).f.__name__ == "f"


def test_gelu_tail_accuracy():
    """GELU uses Φ(x) = erfc(−x/√2)/2: accurate far into the negative tail (mpmath as oracle)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    xs = np.array([-30.0, -10.0, -7.0, -5.0, -1.5, 0.3, 4.0])
    exact_f = [float(mpmath.mpf(x) * mpmath.ncdf(x)) for x in xs]
    exact_df = [float(mpmath.ncdf(x) + mpmath.mpf(x) * mpmath.npdf(x)) for x in xs]
    np.testing.assert_allclose(GELU.f(xs), exact_f, rtol=1e-12, atol=0)
    np.testing.assert_allclose(GELU.df(xs), exact_df, rtol=1e-12, atol=0)


def test_textbook_facts():
    x = np.linspace(-10, 10, 20001)
    assert Sigmoid.df(x).max() == pytest.approx(0.25, rel=1e-9)  # σ′ ≤ 1/4: vanishing gradients
    assert Tanh.df(x).max() == pytest.approx(1.0, rel=1e-9)
    np.testing.assert_allclose(Softplus.df(x), Sigmoid.f(x), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(2 * Sigmoid.f(2 * x) - 1, Tanh.f(x), atol=1e-12)


def test_activation_caches_input_and_output(rng):
    x = rng.normal(size=(2, 3))
    for make in (Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU, Softplus, Identity):
        act = make()
        assert act.x is None and act.out is None
        y = act(x)
        assert act.x is x and act.out is y
        assert act.parameters() == []


# -- registry --------------------------------------------------------------------------------
@pytest.mark.parametrize("name, cls", [
    ("sigmoid", Sigmoid), ("tanh", Tanh), ("relu", ReLU), ("leaky_relu", LeakyReLU), ("elu", ELU),
    ("gelu", GELU), ("softplus", Softplus), ("identity", Identity), ("linear", Identity),
    ("LeakyReLU", LeakyReLU), ("GELU", GELU), ("leaky-relu", LeakyReLU),
])
def test_get_activation_names(name, cls):
    act = get_activation(name)
    assert type(act) is cls
    assert get_activation(name) is not act  # a new module each time
    assert bp.nn.ACTIVATIONS[cls.name] is cls


def test_get_activation_passes_hyperparameters():
    assert get_activation("leaky_relu", negative_slope=0.2).negative_slope == 0.2
    assert get_activation("gelu", approximate="tanh").approximate == "tanh"
    assert get_activation(ELU, alpha=0.3).alpha == 0.3
    assert "negative_slope=0.2" in repr(LeakyReLU(0.2))


def test_get_activation_errors():
    expected = r"unknown activation 'swish'; expected one of 'sigmoid', 'tanh', 'relu'"
    with pytest.raises(ValueError, match=expected):
        get_activation("swish")
    with pytest.raises(TypeError, match="activation must be a name"):
        get_activation(3)


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU, Softplus])
def test_activation_bad_input(make):
    act = make()
    with pytest.raises(ValueError, match=r"backward\(\) was called before forward"):
        act.backward(np.ones(3))
    with pytest.raises(TypeError, match="float64 or float32"):
        act(np.arange(3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        act(np.array([0.0, np.nan]))
    act(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"grad_out has shape \(3, 2\); expected \(2, 3\)"):
        act.backward(np.zeros((3, 2)))


@pytest.mark.parametrize("make, exc, match", [
    (lambda: GELU("fast"), ValueError, "unknown approximate 'fast'; expected one of 'none', 'tanh'"),
    (lambda: Softplus(beta=0.0), ValueError, "beta must lie in"),
    (lambda: LeakyReLU("0.1"), TypeError, "negative_slope must be a number"),
    (lambda: ELU(alpha=float("nan")), ValueError, "alpha must be finite"),
])
def test_bad_hyperparameters(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_pure_function_refuses_non_numbers():
    with pytest.raises(TypeError, match="array of numbers"):
        Sigmoid.f(np.array(["a"]))
