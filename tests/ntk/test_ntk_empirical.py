"""bp.ntk.empirical (layer-wise) against the Jacobian contraction and torch.func, float64."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop_lib as bp
from backprop_lib.ntk import empirical, empirical_jacobian

RTOL = 1e-10
ACTIVATIONS = ["relu", "tanh", "sigmoid", "gelu", "softplus", "elu", "leaky_relu", "identity"]


def _net(sizes, activation="tanh", parameterization="ntk", seed=0, **kw):
    return bp.nn.mlp(sizes, activation=activation, parameterization=parameterization, seed=seed, **kw)


def _close(actual, expected, rtol=RTOL):
    # relative to the kernel's scale: entries near 0 are compared with the same absolute slack
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected)))


@pytest.mark.parametrize("parameterization", ["standard", "ntk"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_scalar_output_matches_jacobian_and_torch(activation, parameterization, torch_ntk, rng):
    net = _net([3, 17, 11, 1], activation, parameterization, b_std=0.4, w_std=1.3)
    x1, x2 = rng.normal(size=(6, 3)), rng.normal(size=(4, 3))
    theta = empirical(net, x1, x2)
    assert theta.shape == (6, 4)
    _close(theta, empirical_jacobian(net, x1, x2))
    _close(theta, torch_ntk(net, x1, x2)[:, :, 0, 0])


@pytest.mark.parametrize("parameterization", ["standard", "ntk"])
def test_vector_output_full_trace_and_mean(parameterization, torch_ntk, rng):
    net = _net([4, 13, 9, 3], "gelu", parameterization, b_std=0.2)
    x1, x2 = rng.normal(size=(5, 4)), rng.normal(size=(7, 4))
    full = empirical(net, x1, x2)
    reference = torch_ntk(net, x1, x2)
    assert full.shape == (5, 7, 3, 3)
    _close(full, reference)
    _close(full, empirical_jacobian(net, x1, x2))
    trace = np.einsum("ijaa->ij", reference)
    _close(empirical(net, x1, x2, trace=True), trace)
    _close(empirical(net, x1, x2, trace="trace"), trace)
    _close(empirical(net, x1, x2, trace="mean"), trace / 3)
    _close(empirical_jacobian(net, x1, x2, trace="mean"), trace / 3)


def test_symmetric_call_equals_two_argument_call_and_is_psd(rng):
    net = _net([2, 32, 32, 1], "relu", b_std=0.5)
    x = rng.normal(size=(20, 2))
    theta = empirical(net, x)
    np.testing.assert_array_equal(theta, theta.T)
    _close(theta, empirical(net, x, x), rtol=1e-12)
    eig = np.linalg.eigvalsh(theta)
    assert eig[0] >= -1e-12 * eig[-1]
    full = empirical(_net([2, 16, 3], "tanh"), x)
    np.testing.assert_allclose(full, full.transpose(1, 0, 3, 2), rtol=0, atol=1e-14)
    flat = full.transpose(0, 2, 1, 3).reshape(60, 60)  # (i, a) × (j, b) Gram matrix
    assert np.linalg.eigvalsh(flat)[0] >= -1e-12 * np.abs(flat).max()


@settings(max_examples=25, deadline=None)
@given(
    n1=st.integers(1, 6), n2=st.integers(1, 6), d=st.integers(1, 5), k=st.integers(1, 3),
    widths=st.lists(st.integers(1, 12), min_size=1, max_size=3),
    activation=st.sampled_from(ACTIVATIONS), parameterization=st.sampled_from(["standard", "ntk"]),
    bias=st.booleans(), seed=st.integers(0, 2**31 - 1),
)
def test_random_networks_match_torch(n1, n2, d, k, widths, activation, parameterization, bias, seed,
                                     torch_ntk):
    rng = np.random.default_rng(seed)
    net = _net([d, *widths, k], activation, parameterization, seed=seed, bias=bias, b_std=0.7)
    x1, x2 = rng.normal(size=(n1, d)), rng.normal(size=(n2, d))
    expected = torch_ntk(net, x1, x2)
    got = empirical(net, x1, x2)
    _close(got, expected[:, :, 0, 0] if k == 1 else expected)


def test_hand_built_sequential_nested_and_without_bias(torch_ntk, rng):
    inner = bp.nn.Sequential(bp.nn.Linear(5, 8, seed=1), bp.nn.LeakyReLU(0.2))
    net = bp.nn.Sequential(inner, bp.nn.Linear(8, 6, bias=False, seed=2), bp.nn.Identity(), bp.nn.Softplus(),
                           bp.nn.Linear(6, 2, parameterization="ntk", w_std=2.0, b_std=1.5, seed=3))
    x = rng.normal(size=(4, 5))
    flat = bp.nn.Sequential(*inner.layers, *net.layers[1:])
    _close(empirical(net, x), torch_ntk(flat, x))


def test_single_linear_layer_is_the_input_gram_matrix(rng):
    # f = s·w·x + c·b: Θ(x, x') = s² x·x' + c²
    layer = bp.nn.Linear(3, 1, parameterization="ntk", w_std=2.0, b_std=0.5, seed=0)
    x = rng.normal(size=(5, 3))
    _close(empirical(layer, x), (4.0 / 3.0) * x @ x.T + 0.25, rtol=1e-13)


def test_float32_network_gives_float64_kernel(rng):
    net64 = _net([3, 16, 1], "tanh", seed=4)
    net32 = _net([3, 16, 1], "tanh", seed=4, dtype=np.float32)
    x = rng.normal(size=(5, 3))
    k32 = empirical(net32, x.astype(np.float32))
    assert k32.dtype == np.float64
    np.testing.assert_allclose(k32, empirical(net64, x), rtol=1e-5)


def test_gradients_untouched_and_layerwise_leaves_caches(rng):
    net = _net([3, 8, 1], "relu")
    x = rng.normal(size=(4, 3))
    net.backward(np.ones_like(net(x)))
    grads = [p.grad.copy() for p in net.parameters()]
    cached = net[0].x
    empirical(net, rng.normal(size=(6, 3)))
    assert net[0].x is cached                  # the layer-wise kernel never runs forward
    empirical_jacobian(net, rng.normal(size=(2, 3)))  # the reference does, but restores .grad
    for p, g in zip(net.parameters(), grads, strict=True):
        np.testing.assert_array_equal(p.grad, g)


def test_unsupported_layer_is_named_with_its_position(rng):
    net = bp.nn.Sequential(bp.nn.Linear(3, 4), bp.nn.ReLU(), bp.nn.Linear(4, 4), bp.nn.Dropout(0.5),
                           bp.nn.Linear(4, 1))
    message = "supports Linear and elementwise activations; got Dropout at position 3"
    with pytest.raises(TypeError, match=message):
        empirical(net, rng.normal(size=(2, 3)))
    with pytest.raises(TypeError, match="BatchNorm1d at position 1"):
        empirical(bp.nn.Sequential(bp.nn.Linear(3, 4), bp.nn.BatchNorm1d(4), bp.nn.Linear(4, 1)),
                  rng.normal(size=(2, 3)))


def test_jacobian_reference_handles_other_layers_in_eval_mode(rng):
    net = bp.nn.Sequential(bp.nn.Linear(3, 4, seed=0), bp.nn.Dropout(0.5), bp.nn.Tanh(),
                           bp.nn.Linear(4, 1, seed=1))
    net.eval()
    plain = bp.nn.Sequential(net[0], net[2], net[3])
    x = rng.normal(size=(3, 3))
    _close(empirical_jacobian(net, x), empirical(plain, x))


def test_bad_inputs(rng):
    net = _net([3, 8, 1])
    with pytest.raises(ValueError, match="x1 has 5 features; the network's first Linear expects 3"):
        empirical(net, rng.normal(size=(2, 5)))
    with pytest.raises(ValueError, match="x2 has 2 features"):
        empirical(net, rng.normal(size=(2, 3)), rng.normal(size=(2, 2)))
    with pytest.raises(ValueError, match="2-dimensional"):
        empirical(net, rng.normal(size=3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        empirical(net, np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(TypeError, match="bp.nn Module"):
        empirical(lambda x: x, rng.normal(size=(2, 3)))
    with pytest.raises(ValueError, match="unknown trace"):
        empirical(net, rng.normal(size=(2, 3)), trace="sum")
    with pytest.raises(ValueError, match="at least one Linear"):
        empirical(bp.nn.Sequential(bp.nn.ReLU()), rng.normal(size=(2, 3)))
