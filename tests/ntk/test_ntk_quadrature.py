"""backprop_lib/ntk/kernel_quadrature.py: the radial Gauss rule and the 2-D Gaussian
expectations, against exact moments and closed forms."""

import math

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.ntk.kernel_quadrature import gaussian_expectations, radial_rule, resolve_activation


@pytest.mark.parametrize("order", [1, 3, 8, 20, 40])
def test_radial_rule_integrates_rayleigh_moments(order):
    # E[r^k] for the density r·e^{−r²/2} on [0, ∞) is 2^{k/2} Γ(1 + k/2); exact for k ≤ 2q − 1.
    # (Checked up to k = 30: the weights of the outermost nodes, ~e^{−r²/2}, come from
    # eigenvectors with absolute accuracy ε, so moments beyond that lose relative accuracy.)
    r, w = radial_rule(order)
    assert np.all(r > 0) and np.all(w > 0)
    for k in range(min(2 * order, 31)):
        exact = 2 ** (k / 2) * math.gamma(1 + k / 2)
        np.testing.assert_allclose(np.sum(w * r**k), exact, rtol=1e-11)


def _cov(rng, n):
    a = rng.normal(size=(n, 3))
    k = a @ a.T / 3
    return np.diag(k).copy(), k


class _Square:
    """φ(x) = x², φ'(x) = 2x: E[u²v²] = K11K22 + 2K12² and E[4uv] = 4K12 (Isserlis)."""

    @staticmethod
    def f(x):
        return x * x

    @staticmethod
    def df(x):
        return 2 * x


def test_polynomial_moments_are_exact(rng):
    diag, k = _cov(rng, 5)
    new11, new22, k12, kdot = gaussian_expectations(_Square.f, _Square.df, diag, diag, k, 16)
    np.testing.assert_allclose(k12, np.outer(diag, diag) + 2 * k * k, rtol=1e-12)
    np.testing.assert_allclose(kdot, 4 * k, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(new11, 3 * diag**2, rtol=1e-12)


def test_relu_matches_arc_cosine_formula_including_opposite_and_identical_points():
    k11 = np.array([1.0, 2.0, 0.5, 1.0])
    k22 = np.array([1.0, 2.0, 0.5, 3.0])
    rho = np.array([1.0, -1.0, 0.3, -0.8])  # identical, opposite, generic pairs
    k12 = np.diag(rho * np.sqrt(k11 * k22))
    f, df = resolve_activation("relu")
    _, _, got, kdot = gaussian_expectations(f, df, k11, k22, k12 + 0.0, 24)
    theta = np.arccos(rho)
    norm = np.sqrt(k11 * k22)
    expected = norm * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
    np.testing.assert_allclose(np.diag(got), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.diag(kdot), (np.pi - theta) / (2 * np.pi), rtol=1e-12)


def test_zero_variance_points(rng):
    # u ≡ 0: E[φ(0)φ(v)] = φ(0)·E[φ(v)]; for tanh that is 0, for sigmoid ½·E[σ(v)] = ¼
    f, df = resolve_activation("sigmoid")
    k11, k22 = np.array([0.0]), np.array([2.0])
    _, _, k12, kdot = gaussian_expectations(f, df, k11, k22, np.zeros((1, 1)), 24)
    np.testing.assert_allclose(k12, 0.25, rtol=1e-12)
    np.testing.assert_allclose(kdot, 0.25 * np.mean(df(np.sqrt(2.0) * rng.normal(size=400000))), rtol=5e-3)


def test_symmetric_shortcut_equals_full_computation(rng):
    diag, k = _cov(rng, 6)
    f, df = resolve_activation("gelu")
    full = gaussian_expectations(f, df, diag, diag, k, 12)
    half = gaussian_expectations(f, df, diag, diag, k, 12, symmetric=True)
    for a, b in zip(full, half, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-15)


def test_chunking_does_not_change_the_result(rng):
    diag, k = _cov(rng, 7)
    f, df = resolve_activation("tanh")
    big = gaussian_expectations(f, df, diag, diag, k, 10)
    small = gaussian_expectations(f, df, diag, diag, k, 10, max_elements=1000)
    for a, b in zip(big, small, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-14)


def test_resolve_activation():
    f, df = resolve_activation("ELU")
    np.testing.assert_allclose(f(np.array([-1.0, 2.0])), [math.expm1(-1.0), 2.0])
    f, df = resolve_activation(bp.nn.LeakyReLU(0.3))
    np.testing.assert_allclose(df(np.array([-1.0, 2.0])), [0.3, 1.0])
    f, df = resolve_activation(np.sin)  # derivative by central differences
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(df(x), np.cos(x), atol=1e-9)
    f, df = resolve_activation("erf")
    np.testing.assert_allclose(df(np.array([0.0])), 2 / math.sqrt(math.pi))
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        resolve_activation("swish")
    with pytest.raises(TypeError, match="activation must be"):
        resolve_activation(1.5)
