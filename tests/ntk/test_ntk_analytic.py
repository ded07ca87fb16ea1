"""bp.ntk.analytic: closed forms against quadrature, against Monte Carlo over random wide
networks, exact diagonals, symmetry/PSD, numerical robustness and bad input."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.ntk import analytic


def _rel(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def _assert_symmetric_psd(k):
    assert np.all(np.isfinite(k))
    np.testing.assert_array_equal(k, k.T)
    eig = np.linalg.eigvalsh(k)
    assert eig[0] >= -1e-10 * eig[-1], eig


@pytest.fixture
def x(rng):
    return rng.normal(size=(7, 4))


# -- closed forms against quadrature ----------------------------------------------------------

@pytest.mark.parametrize("activation,order,tol", [("relu", 24, 1e-11), ("erf", 48, 1e-10),
                                                  ("identity", 16, 1e-12)])
@pytest.mark.parametrize("w_std,b_std", [(1.0, 0.0), (1.7, 0.4), (0.6, 1.2)])
def test_closed_form_equals_quadrature(activation, order, tol, w_std, b_std, x, rng):
    x2 = rng.normal(size=(5, 4))
    for args in [(x,), (x, x2)]:
        closed = analytic(*args, depth=3, activation=activation, w_std=w_std, b_std=b_std)
        quad = analytic(*args, depth=3, activation=activation, w_std=w_std, b_std=b_std,
                        quadrature_order=order)
        assert _rel(quad.nngp, closed.nngp) < tol
        assert _rel(quad.ntk, closed.ntk) < tol


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "gelu", "softplus", "elu", "leaky_relu"])
def test_quadrature_converges(activation, x):
    coarse = analytic(x, depth=3, activation=activation, w_std=1.2, b_std=0.3, quadrature_order=24)
    fine = analytic(x, depth=3, activation=activation, w_std=1.2, b_std=0.3, quadrature_order=48)
    assert _rel(coarse.ntk, fine.ntk) < 1e-7
    assert _rel(coarse.nngp, fine.nngp) < 1e-7


def test_activation_objects_classes_and_callables(x):
    ref = analytic(x, depth=2, activation="tanh", quadrature_order=24)
    for act in (bp.nn.Tanh, bp.nn.Tanh(), np.tanh):  # np.tanh: derivative by finite differences
        got = analytic(x, depth=2, activation=act, quadrature_order=24)
        assert _rel(got.ntk, ref.ntk) < 1e-8
    relu = analytic(x, depth=2, activation="relu")
    np.testing.assert_array_equal(analytic(x, depth=2, activation=bp.nn.ReLU()).ntk, relu.ntk)
    leaky = analytic(x, depth=2, activation=bp.nn.LeakyReLU(0.0), quadrature_order=24)
    assert _rel(leaky.ntk, relu.ntk) < 1e-11


# -- exact values -----------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [1, 5, 50])
@pytest.mark.parametrize("w_std,b_std", [(1.0, 0.0), (np.sqrt(2.0), 0.1), (1.3, 0.7)])
def test_relu_diagonal_is_exact(depth, w_std, b_std, x):
    """On the diagonal the angle is 0: K ← K/2 and Θ ← Θ/2 exactly. A √(round-off) angle
    (arccos or an unclipped determinant) would be off by ~1e-8 relative at depth 50."""
    k = np.sum(x * x, axis=1) / x.shape[1]
    theta = np.zeros_like(k)
    for _ in range(depth):
        k = w_std**2 * k + b_std**2
        theta = k + w_std**2 * theta
        k, theta = k / 2, theta / 2
    k = w_std**2 * k + b_std**2
    theta = k + w_std**2 * theta
    for args in [(x,), (x, x)]:
        got = analytic(*args, depth=depth, activation="relu", w_std=w_std, b_std=b_std)
        np.testing.assert_allclose(np.diag(got.nngp), k, rtol=1e-13)
        np.testing.assert_allclose(np.diag(got.ntk), theta, rtol=1e-13)


def test_identity_network_is_linear_regression_kernel(x):
    # φ = id, b = 0: K = w^{2(L+1)} K⁰ and Θ = (L+1) w^{2(L+1)} K⁰
    k0 = x @ x.T / x.shape[1]
    got = analytic(x, depth=4, activation="identity", w_std=0.9)
    np.testing.assert_allclose(got.nngp, 0.9**10 * k0, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got.ntk, 5 * 0.9**10 * k0, rtol=1e-13, atol=1e-15)


def test_one_hidden_relu_layer_by_hand():
    # x = two orthogonal unit vectors in d = 2, w = 1, b = 0: K¹ = Θ¹ = I/2. ReLU: on the
    # diagonal K = ½K¹ = ¼, Kdot = ½; off it θ = π/2, so K = √(½·½)·sin θ/(2π) = 1/(4π) and
    # Kdot = (π − θ)/(2π) = ¼ (times Θ¹ = 0). Readout: K² = K, Θ = K² + Θ¹∘Kdot.
    got = analytic(np.eye(2), depth=1, activation="relu")
    c = 1 / (4 * np.pi)
    np.testing.assert_allclose(got.nngp, [[0.25, c], [c, 0.25]], rtol=1e-14)
    np.testing.assert_allclose(got.ntk, [[0.5, c], [c, 0.5]], rtol=1e-14)


def test_x2_none_equals_x_x_and_blocks_are_consistent(x, rng):
    x2 = rng.normal(size=(3, 4))
    for act, order in [("relu", None), ("erf", None), ("tanh", 24)]:
        both = analytic(np.vstack([x, x2]), depth=3, activation=act, w_std=1.4, b_std=0.2,
                        quadrature_order=order)
        cross = analytic(x, x2, depth=3, activation=act, w_std=1.4, b_std=0.2, quadrature_order=order)
        same = analytic(x, x, depth=3, activation=act, w_std=1.4, b_std=0.2, quadrature_order=order)
        assert cross.ntk.shape == (7, 3)
        np.testing.assert_allclose(cross.ntk, both.ntk[:7, 7:], rtol=1e-12)
        np.testing.assert_allclose(cross.nngp, both.nngp[:7, 7:], rtol=1e-12)
        np.testing.assert_allclose(same.ntk, both.ntk[:7, :7], rtol=1e-12)


# -- against random wide networks (Monte Carlo) ------------------------------------------------

def _monte_carlo(x, depth, width, activation, n_nets, w_std, b_std, k=8, seed=0):
    """Mean and standard error over random NTK-parameterised networks of the empirical NTK
    (mean over k outputs) and of the NNGP estimate f fᵀ / k."""
    root = np.random.default_rng(seed)
    thetas, nngps = [], []
    for _ in range(n_nets):
        net = bp.nn.mlp([x.shape[1]] + [width] * depth + [k], activation=activation, seed=root,
                        parameterization="ntk", w_std=w_std, b_std=b_std)
        thetas.append(bp.ntk.empirical(net, x, trace="mean"))
        f = net(x)
        nngps.append(f @ f.T / k)
    out = []
    for samples in (np.array(thetas), np.array(nngps)):
        out += [samples.mean(0), samples.std(0, ddof=1) / np.sqrt(n_nets)]
    return out


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_one_hidden_layer_monte_carlo_is_unbiased(activation, rng):
    """With one hidden layer E[Θ_emp] and E[f fᵀ] equal the analytic kernels at any width
    (the readout weights are independent of the hidden units), so the only tolerance is
    statistical: every entry within 4 standard errors (400 networks of width 128)."""
    x = rng.normal(size=(5, 3))
    order = None if activation == "relu" else 32
    kern = analytic(x, depth=1, activation=activation, w_std=1.5, b_std=0.5, quadrature_order=order)
    t_mean, t_se, k_mean, k_se = _monte_carlo(x, 1, 128, activation, 400, 1.5, 0.5)
    assert np.all(np.abs(t_mean - kern.ntk) <= 4 * t_se + 1e-12)
    assert np.all(np.abs(k_mean - kern.nngp) <= 4 * k_se + 1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_deep_monte_carlo_within_statistical_and_finite_width_tolerance(activation, rng):
    """Depth 3, width 256, 150 networks: within 4 standard errors plus a finite-width bias
    allowance of depth/width × max|kernel| (the mean of the empirical kernel differs from its
    limit by O(depth/width))."""
    x = rng.normal(size=(5, 3))
    depth, width = 3, 256
    order = None if activation == "relu" else 32
    kern = analytic(x, depth=depth, activation=activation, w_std=1.5, b_std=0.5, quadrature_order=order)
    t_mean, t_se, k_mean, k_se = _monte_carlo(x, depth, width, activation, 150, 1.5, 0.5)
    bias = depth / width
    assert np.all(np.abs(t_mean - kern.ntk) <= 4 * t_se + bias * np.abs(kern.ntk).max())
    assert np.all(np.abs(k_mean - kern.nngp) <= 4 * k_se + bias * np.abs(kern.nngp).max())


# -- robustness --------------------------------------------------------------------------------

@pytest.mark.parametrize("activation,w_std,b_std,order", [
    ("relu", 10.0, 0.0, None), ("relu", 1.0, 5.0, None), ("erf", 100.0, 3.0, None),
    ("identity", 2.0, 1.0, None), ("tanh", 10.0, 3.0, 16), ("gelu", 5.0, 0.0, 16),
])
def test_depth_50_and_large_w_std_stay_finite_symmetric_psd(activation, w_std, b_std, order, x):
    x = np.vstack([x, x[:1] * (1 + 1e-9), np.zeros((1, 4))])  # a near-duplicate and a zero input
    got = analytic(x, depth=50, activation=activation, w_std=w_std, b_std=b_std, quadrature_order=order)
    _assert_symmetric_psd(got.nngp)
    _assert_symmetric_psd(got.ntk)


@pytest.mark.parametrize("activation,order", [("relu", None), ("erf", None), ("sigmoid", 16)])
@pytest.mark.parametrize("depth", [1, 3, 10])
def test_kernels_symmetric_psd(activation, order, depth, rng):
    x = rng.normal(size=(30, 5))
    got = analytic(x, depth=depth, activation=activation, w_std=1.3, b_std=0.2, quadrature_order=order)
    _assert_symmetric_psd(got.nngp)
    _assert_symmetric_psd(got.ntk)


def test_float32_and_list_inputs_give_float64(x):
    a = analytic(x.astype(np.float32), depth=2)
    b = analytic(x.tolist(), depth=2)
    assert a.ntk.dtype == np.float64
    np.testing.assert_allclose(a.ntk, b.ntk, rtol=1e-6)


def test_overflow_is_reported(x):
    with pytest.raises(OverflowError, match="overflowed float64"):
        analytic(x, depth=50, activation="relu", w_std=1e4)


def test_bad_inputs(x, rng):
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        analytic(x, depth=0)
    with pytest.raises(TypeError, match="depth"):
        analytic(x, depth=2.5)
    with pytest.raises(ValueError, match="w_std must lie in"):
        analytic(x, w_std=-1.0)
    with pytest.raises(ValueError, match="b_std must lie in"):
        analytic(x, b_std=-0.1)
    with pytest.raises(ValueError, match="same number of features"):
        analytic(x, rng.normal(size=(3, 5)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        analytic(np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError, match="x2 contains"):
        analytic(x, np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="2-dimensional"):
        analytic(np.ones(4))
    with pytest.raises(ValueError, match="'tanh' has no closed-form kernel.*quadrature_order"):
        analytic(x, activation="tanh")
    with pytest.raises(ValueError, match="no closed-form kernel.*quadrature_order"):
        analytic(x, activation=np.sin)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        analytic(x, activation="swish", quadrature_order=16)
    with pytest.raises(ValueError, match="quadrature_order must be a positive integer"):
        analytic(x, activation="tanh", quadrature_order=0)
    with pytest.raises(TypeError, match="activation must be"):
        analytic(x, activation=3, quadrature_order=8)
