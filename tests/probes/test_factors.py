"""bp.probes.trace_deltas / layer_factors / predicted_factors: δ against torch autograd, the
per-layer factor s·RMS φ′ against what deep networks measure, and the orthogonal-sigmoid bound."""

import math

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.probes import gradient_flow, layer_factors, predicted_factors, trace_deltas

TORCH_ACT = {"Tanh": torch.tanh, "Sigmoid": torch.sigmoid, "ReLU": torch.relu,
             "GELU": torch.nn.functional.gelu, "LeakyReLU": torch.nn.functional.leaky_relu}


def torch_deltas(net, x, y):
    """z and δ = ∂L/∂z of every Linear, by torch autograd (retain_grad) on the same weights."""
    h, zs = torch.tensor(x), []
    for layer in net.layers:
        if type(layer).__name__ == "Linear":
            W = torch.tensor(layer.weight.data, requires_grad=True)
            h = h @ W.T + torch.tensor(layer.bias.data, requires_grad=True)
            h.retain_grad()
            zs.append(h)
        else:
            h = TORCH_ACT[type(layer).__name__](h)
    torch.nn.functional.mse_loss(h, torch.tensor(y)).backward()
    return [z.detach().numpy() for z in zs], [z.grad.numpy() for z in zs]


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "gelu", "leaky_relu"])
def test_deltas_and_z_match_torch_autograd(activation, rng):
    net = bp.nn.mlp([5, 7, 6, 4, 3], activation=activation, seed=2)
    x, y = 3.0 * rng.normal(size=(11, 5)), rng.normal(size=(11, 3))
    trace = trace_deltas(net, bp.nn.MSELoss(), x, y)
    z_t, d_t = torch_deltas(net, x, y)
    assert trace.n_layers == 4 and trace.plain
    for ours, theirs in zip(trace.z, z_t, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    for ours, theirs in zip(trace.delta, d_t, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(trace.sample_norms(), [np.linalg.norm(d, axis=1) for d in d_t], rtol=1e-10)
    assert trace.sample_norms().shape == (4, 11)
    assert [type(a).__name__ for a in trace.activation[:3]] == [type(net.layers[1]).__name__] * 3
    assert trace.activation[-1] is None


def test_rms_and_factors_agree_with_gradient_flow(rng):
    net = bp.nn.mlp([8] * 6 + [2], activation="tanh", seed=0)
    x, y = rng.normal(size=(20, 8)), rng.normal(size=(20, 2))
    trace = trace_deltas(net, bp.nn.MSELoss(), x, y)
    rec = gradient_flow(net, bp.nn.MSELoss(), x, y)
    np.testing.assert_allclose(trace.rms(), rec.delta_rms, rtol=1e-12)
    np.testing.assert_allclose(layer_factors(trace), rec.delta_rms[:-1] / rec.delta_rms[1:], rtol=1e-12)
    np.testing.assert_allclose(trace.loss, rec.loss, rtol=1e-12)


def test_the_network_is_left_untouched(rng):
    net = bp.nn.mlp([4, 6, 2], activation="relu", seed=1)
    before = [p.data.copy() for p in net.parameters()]
    trace_deltas(net, bp.nn.MSELoss(), rng.normal(size=(5, 4)), rng.normal(size=(5, 2)))
    assert all(p.grad is None for p in net.parameters())
    for p, b in zip(net.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)


def test_predicted_factor_is_s_times_rms_slope_by_hand(rng):
    net = bp.nn.mlp([3, 5, 4, 2], activation="sigmoid", seed=4)
    trace = trace_deltas(net, bp.nn.MSELoss(), rng.normal(size=(6, 3)), rng.normal(size=(6, 2)))
    expected = []
    for lay, w_next in ((0, net.layers[2].weight.data), (1, net.layers[4].weight.data)):
        s = np.sqrt(np.mean(w_next ** 2)) * np.sqrt(w_next.shape[0])        # fan_out of W^{l+1}
        sig = 1 / (1 + np.exp(-trace.z[lay]))
        expected.append(s * np.sqrt(np.mean((sig * (1 - sig)) ** 2)))
    np.testing.assert_allclose(predicted_factors(trace), expected, rtol=1e-12)


@pytest.mark.parametrize(("activation", "init", "std", "slope_matters"), [
    ("sigmoid", "xavier", None, True), ("tanh", "xavier", None, False), ("relu", "he", None, True),
    ("relu", "normal", 2 / math.sqrt(256), True), ("tanh", "normal", 1.5 / math.sqrt(256), True),
])
def test_prediction_matches_a_deep_wide_network(activation, init, std, slope_matters):
    # width 256, depth 30: the mean-field factor s·RMS φ′ within 5 % on average (geometric mean
    # over layers 4–26) and 25 % per layer; an estimate without φ′ (s alone) fails the first,
    # except for tanh + Xavier, whose activations shrink toward 0, where tanh′ ≈ 1
    rng = np.random.default_rng(0)
    net = bp.nn.mlp([256] * 30 + [10], activation=activation, init=init, init_std=std, seed=1)
    x, y = rng.standard_normal((128, 256)), rng.standard_normal((128, 10))
    trace = trace_deltas(net, bp.nn.MSELoss(), x, y)
    ratio = (layer_factors(trace) / predicted_factors(trace))[3:26]
    assert abs(np.exp(np.mean(np.log(ratio))) - 1) < 0.05
    assert np.all(np.abs(ratio - 1) < 0.25)
    s = np.array([np.sqrt(np.mean(w ** 2) * w.shape[0]) for w in trace.weight[1:]])
    without_slope = (layer_factors(trace) / s)[3:26]
    assert (abs(np.exp(np.mean(np.log(without_slope))) - 1) > 0.05) == slope_matters


def test_unequal_widths_use_the_fan_out_of_the_next_weight():
    # W² is 100×800: RMS(δ¹)/RMS(δ²) ≈ RMS(W²)·√100·RMS φ′; with √800 (fan_in) it would be 2.8× larger
    rng = np.random.default_rng(3)
    net = bp.nn.mlp([50, 800, 100, 100, 10], activation="tanh", init="xavier", seed=0)
    trace = trace_deltas(net, bp.nn.MSELoss(), rng.standard_normal((256, 50)), rng.standard_normal((256, 10)))
    measured, predicted = layer_factors(trace)[0], predicted_factors(trace)[0]
    assert abs(measured / predicted - 1) < 0.1
    assert abs(measured / (predicted * math.sqrt(800 / 100)) - 1) > 0.5


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("gain", [1.0, 3.0])
def test_orthogonal_sigmoid_obeys_the_norm_bound_per_sample(seed, gain):
    # ‖δ^l‖ ≤ ‖W^{l+1}‖₂ · max σ′ · ‖δ^{l+1}‖ = (gain/4)‖δ^{l+1}‖ for every sample and every layer
    rng = np.random.default_rng(seed)
    net = bp.nn.mlp([64] * 12 + [8], activation="sigmoid", init="orthogonal", seed=seed)
    for lin in net.layers[::2]:
        lin.weight.data *= gain
        np.testing.assert_allclose(np.linalg.norm(lin.weight.data, 2), gain, rtol=1e-12)
    trace = trace_deltas(net, bp.nn.MSELoss(), rng.normal(0, 2, (32, 64)), rng.normal(size=(32, 8)))
    norms = trace.sample_norms()
    assert np.all(norms[:-1] <= gain / 4 * norms[1:] * (1 + 1e-12))


def test_not_a_plain_mlp_has_no_prediction(rng):
    net = bp.nn.Sequential(bp.nn.Linear(4, 6, seed=0), bp.nn.BatchNorm1d(6), bp.nn.Tanh(),
                           bp.nn.Linear(6, 2, seed=1))
    trace = trace_deltas(net, bp.nn.MSELoss(), rng.normal(size=(8, 4)), rng.normal(size=(8, 2)))
    assert not trace.plain
    np.testing.assert_allclose(layer_factors(trace), trace.rms()[:-1] / trace.rms()[1:])
    with pytest.raises(ValueError, match="plain MLP"):
        predicted_factors(trace)


def test_errors_are_clear(rng):
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 1))
    with pytest.raises(ValueError, match="at least 2 layers"):
        layer_factors(trace_deltas(bp.nn.Sequential(bp.nn.Linear(3, 1, seed=0)), bp.nn.MSELoss(), x, y))
    with pytest.raises(TypeError, match="DeltaTrace"):
        predicted_factors(gradient_flow(bp.nn.mlp([3, 2, 1]), bp.nn.MSELoss(), x, y))
    with pytest.raises(TypeError, match="loss_fn"):
        trace_deltas(bp.nn.mlp([3, 2, 1]), "mse", x, y)
    huge = bp.nn.mlp([3] + [64] * 100 + [1], activation="relu", init="normal", init_std=1e3, seed=0)
    with pytest.raises(ValueError, match="overflowed"):
        trace_deltas(huge, bp.nn.MSELoss(), x, y)
