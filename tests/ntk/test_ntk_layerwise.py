"""bp.ntk.dense_layer_terms: per-layer a, δ and scales; each layer's kernel against the Jacobian
columns of that layer's parameters, their sum against ntk.empirical and torch.func."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.ntk import DenseLayerTerms, dense_layer_terms, empirical
from backprop_lib.ntk.empirical import _jacobian


def _close(actual, expected, rtol=1e-10):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected)))


def _linears(net):
    return [layer for layer in net if isinstance(layer, bp.nn.Linear)]


def _layer_jacobians(net, x):
    """J restricted to each Linear's (weight, bias) columns: list of (n, P_layer)."""
    jac = _jacobian(net, x)[:, 0, :]                          # (n, P)
    sizes = np.cumsum([0] + [p.size for p in net.parameters()])
    blocks, k = [], 0
    for layer in _linears(net):
        count = 1 + (layer.bias is not None)                 # weight (+ bias) parameters
        blocks.append(jac[:, sizes[k]:sizes[k + count]])
        k += count
    return blocks


@pytest.mark.parametrize("parameterization", ["standard", "ntk"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_each_layer_kernel_is_its_jacobian_block_contraction(activation, parameterization, rng):
    net = bp.nn.mlp([3, 13, 9, 1], activation=activation, parameterization=parameterization,
                    w_std=1.4, b_std=0.6, seed=2)
    x1, x2 = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    t1, t2 = dense_layer_terms(net, x1), dense_layer_terms(net, x2)
    assert [t.index for t in t1] == [0, 1, 2]
    for a, b, j1, j2 in zip(t1, t2, _layer_jacobians(net, x1), _layer_jacobians(net, x2), strict=True):
        _close(a.kernel(b), j1 @ j2.T)                       # Σ over this layer's parameters
        _close(a.kernel(), j1 @ j1.T)
    _close(sum(a.kernel(b) for a, b in zip(t1, t2, strict=True)), empirical(net, x1, x2))


def test_terms_are_the_layer_inputs_and_backprops_deltas(rng, torch_ntk):
    net = bp.nn.mlp([2, 8, 6, 1], activation="tanh", parameterization="ntk", b_std=0.3, seed=1)
    x = rng.normal(size=(4, 2))
    terms = dense_layer_terms(net, x)
    net(x)
    for t, layer in zip(terms, _linears(net), strict=True):
        np.testing.assert_array_equal(t.a, layer.x)           # the activation the layer cached
        assert t.s == pytest.approx(layer.w_std / np.sqrt(layer.in_features)) and t.c == 0.3
    # δ of the readout is 1 (f = z); δ of a hidden layer: backward of ones, read one layer down
    np.testing.assert_array_equal(terms[-1].delta, np.ones((4, 1)))
    net.zero_grad()
    net.backward(np.ones((4, 1)))
    bias_grad = _linears(net)[0].bias.grad                   # Σ_batch c·δ
    _close(terms[0].c * terms[0].delta.sum(axis=0), bias_grad)
    _close(sum(t.kernel() for t in terms), torch_ntk(net, x)[:, :, 0, 0])


def test_standard_twin_has_same_terms_and_kernel_with_unit_scales(rng):
    ntk_net = bp.nn.mlp([3, 16, 16, 1], activation="relu", parameterization="ntk", w_std=1.3, b_std=0.5,
                        seed=4)
    std_net = bp.nn.mlp([3, 16, 16, 1], activation="relu", seed=0)
    for src, dst in zip(_linears(ntk_net), _linears(std_net), strict=True):
        dst.weight.data[...] = src.weight_scale * src.weight.data   # same function: W' = s·W, b' = c·b
        dst.bias.data[...] = src.bias_scale * src.bias.data
    x = rng.normal(size=(6, 3))
    np.testing.assert_allclose(std_net(x), ntk_net(x), rtol=1e-12)
    t_ntk, t_std = dense_layer_terms(ntk_net, x), dense_layer_terms(std_net, x)
    for a, b in zip(t_ntk, t_std, strict=True):
        _close(a.a, b.a)
        _close(a.delta, b.delta)
    _close(sum(t.kernel(s=1.0, c=1.0) for t in t_ntk), empirical(std_net, x))


def test_layer_without_bias_and_overrides(rng):
    net = bp.nn.mlp([2, 5, 1], parameterization="ntk", bias=False, seed=0)
    x = rng.normal(size=(3, 2))
    terms = dense_layer_terms(net, x)
    assert all(not t.has_bias and t.c == 0.0 for t in terms)
    _close(sum(t.kernel() for t in terms), empirical(net, x))
    _close(terms[0].kernel(s=2 * terms[0].s), 4 * terms[0].kernel())
    with pytest.raises(ValueError, match="has no bias"):
        terms[0].kernel(c=1.0)


def test_bad_inputs_are_named(rng):
    net = bp.nn.mlp([2, 4, 3], parameterization="ntk", seed=0)
    with pytest.raises(ValueError, match="one output.*has 3"):
        dense_layer_terms(net, rng.normal(size=(3, 2)))
    one = bp.nn.mlp([2, 4, 1], parameterization="ntk", seed=0)
    with pytest.raises(ValueError, match="x has 5 features"):
        dense_layer_terms(one, rng.normal(size=(3, 5)))
    terms = dense_layer_terms(one, rng.normal(size=(3, 2)))
    with pytest.raises(ValueError, match="different layer"):
        terms[0].kernel(terms[1])
    with pytest.raises(TypeError, match="DenseLayerTerms"):
        terms[0].kernel(np.ones((3, 2)))
    with pytest.raises(TypeError, match="Module"):
        dense_layer_terms("net", np.ones((1, 2)))
    assert isinstance(terms[0], DenseLayerTerms)


def test_wide_readout_term_approaches_the_nngp_kernel():
    # the readout's own term s²(a·a') + c² is the last layer's NNGP kernel at large width
    x, _ = bp.ntk.circle_data(6)
    errors = []
    for width in (64, 4096):
        net = bp.nn.mlp([2, width, 1], parameterization="ntk", b_std=0.3, seed=0)
        readout = dense_layer_terms(net, x)[-1].kernel()
        nngp = bp.ntk.analytic(x, depth=1, b_std=0.3).nngp
        errors.append(np.linalg.norm(readout - nngp) / np.linalg.norm(nngp))
    assert errors[1] < 0.05 and errors[1] < errors[0] / 3
