"""bp.probes.gradient_flow / activation_stats / measured_factor against PyTorch autograd and
hand-checked cases (vanishing sigmoid gradients, He-initialised ReLU nets, saturation)."""

import dataclasses
import math

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings

import backprop_lib as bp
from backprop_lib.probes import activation_stats, gradient_flow, measured_factor
from backprop_lib.probes.stats import histogram, mean_std, rms

TORCH_ACT = {"Tanh": torch.tanh, "Sigmoid": torch.sigmoid, "ReLU": torch.relu,
             "GELU": torch.nn.functional.gelu, "Identity": lambda t: t}


def t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def rms_t(v):
    return float(v.detach().pow(2).mean().sqrt())


def torch_flow(net, x, y, loss="mse"):
    """Independent oracle: the same network run by torch autograd, with z (each Linear's or
    Residual's output) kept by retain_grad. Returns per-stage dicts of torch tensors."""
    h, stages = t(x), []

    def linear(layer, h):
        W, b = t(layer.weight.data, True), t(layer.bias.data, True)
        return h @ W.T + b, [W]

    for layer in net.layers:
        name = type(layer).__name__
        if name == "Linear":
            h, ws = linear(layer, h)
            h.retain_grad()
            stages.append({"z": h, "a": h, "W": ws, "act": None})
        elif name == "Residual":
            inner, ws = h, []
            for sub in layer.block.layers:
                if type(sub).__name__ == "Linear":
                    inner, w = linear(sub, inner)
                    ws += w
                else:
                    inner = TORCH_ACT[type(sub).__name__](inner)
            h = h + inner
            h.retain_grad()
            stages.append({"z": h, "a": h, "W": ws, "act": None})
        elif name == "BatchNorm1d":
            h = torch.nn.functional.batch_norm(h, None, None, t(layer.weight.data), t(layer.bias.data),
                                               training=True, eps=layer.eps)
        else:
            h = TORCH_ACT[name](h)
            stages[-1]["a"], stages[-1]["act"] = h, name
    if loss == "mse":
        L = torch.nn.functional.mse_loss(h, t(y))
    else:
        L = torch.nn.functional.cross_entropy(h, torch.tensor(y))
    L.backward()
    return L.item(), stages


def saturation_t(a, act):
    a = a.detach()
    if act == "Tanh":
        return float((a.abs() > 0.99).double().mean())
    if act == "Sigmoid":
        return float(((a < 0.01) | (a > 0.99)).double().mean())
    if act == "ReLU":
        return float((a == 0).all(dim=0).double().mean())
    return float("nan")


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "gelu"])
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_matches_torch_autograd(activation, loss, rng):
    net = bp.nn.mlp([5, 7, 6, 4, 3], activation=activation, seed=3)
    # a larger input scale so tanh/sigmoid saturate in part and ReLU has dead units
    x = 4.0 * rng.normal(size=(17, 5))
    y = rng.normal(size=(17, 3)) if loss == "mse" else rng.integers(0, 3, size=17)
    loss_fn = bp.nn.MSELoss() if loss == "mse" else bp.nn.CrossEntropyLoss()
    rec = gradient_flow(net, loss_fn, x, y, lr=0.05, bins=12)
    L, stages = torch_flow(net, x, y, loss)

    assert rec.n_layers == len(stages) == 4
    np.testing.assert_allclose(rec.loss, L, rtol=1e-12)
    np.testing.assert_allclose(rec.delta_rms, [rms_t(s["z"].grad) for s in stages], rtol=1e-10)
    grad = np.array([rms_t(s["W"][0].grad) for s in stages])
    weight = np.array([rms_t(s["W"][0]) for s in stages])
    np.testing.assert_allclose(rec.grad_rms, grad, rtol=1e-10)
    np.testing.assert_allclose(rec.weight_rms, weight, rtol=1e-12)
    np.testing.assert_allclose(rec.update_ratio, 0.05 * grad / weight, rtol=1e-10)
    a = [s["a"].detach().numpy() for s in stages]
    np.testing.assert_allclose(rec.act_mean, [v.mean() for v in a], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(rec.act_std, [v.std() for v in a], rtol=1e-10)
    np.testing.assert_allclose(rec.act_rms, [np.sqrt(np.mean(v ** 2)) for v in a], rtol=1e-10)
    np.testing.assert_allclose(rec.saturated, [saturation_t(s["a"], s["act"]) for s in stages],
                               equal_nan=True)
    for counts, edges, v in zip(rec.hist_counts, rec.hist_edges, a, strict=True):
        assert counts.sum() == v.size and len(edges) == 13
        np.testing.assert_allclose([edges[0], edges[-1]], [v.min(), v.max()], rtol=1e-12)
    assert rec.finite
    assert rec.saturation_kind[-1] is None and np.isnan(rec.saturated[-1])  # the read-out layer


def test_residual_block_is_one_layer_and_batch_norm_inside_a_stage(rng):
    block = bp.nn.Sequential(bp.nn.Linear(6, 6, seed=1), bp.nn.Tanh(), bp.nn.Linear(6, 6, seed=2))
    net = bp.nn.Sequential(bp.nn.Linear(4, 6, seed=0), bp.nn.BatchNorm1d(6), bp.nn.ReLU(),
                           bp.nn.Residual(block), bp.nn.Tanh(), bp.nn.Linear(6, 2, seed=3))
    x, y = rng.normal(size=(9, 4)), rng.normal(size=(9, 2))
    rec = gradient_flow(net, bp.nn.MSELoss(), x, y)
    L, stages = torch_flow(net, x, y)
    assert rec.n_layers == 3
    assert ["Residual" in lab for lab in rec.labels] == [False, True, False]
    np.testing.assert_allclose(rec.delta_rms, [rms_t(s["z"].grad) for s in stages], rtol=1e-10)
    inner = torch.cat([w.grad.ravel() for w in stages[1]["W"]])
    np.testing.assert_allclose(rec.grad_rms[1], rms_t(inner), rtol=1e-10)
    # layer 1's activation is the ReLU after the batch norm; layer 2's the Tanh after the block
    np.testing.assert_allclose(rec.act_std[:2], [s["a"].detach().numpy().std() for s in stages[:2]],
                               rtol=1e-10)
    assert rec.saturation_kind == ["relu", "tanh", None]
    assert np.isnan(rec.update_ratio).all()            # no lr given


def test_weight_gradients_equal_the_networks_own_backward(rng):
    net = bp.nn.mlp([3, 8, 8, 2], activation="tanh", seed=5)
    x, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    rec = gradient_flow(net, bp.nn.MSELoss(), x, y)
    loss_fn = bp.nn.MSELoss()
    loss_fn(net(x), y)
    net.backward(loss_fn.backward())
    own = [np.sqrt(np.mean(lin.weight.grad ** 2)) for lin in net.layers[::2]]
    np.testing.assert_allclose(rec.grad_rms, own, rtol=1e-12)


def test_probe_leaves_the_network_untouched(rng):
    net = bp.nn.Sequential(bp.nn.Linear(3, 5, seed=0), bp.nn.BatchNorm1d(5), bp.nn.ReLU(),
                           bp.nn.Dropout(0.3), bp.nn.Linear(5, 1, seed=1))
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    for p in net.parameters():
        p.grad = np.full_like(p.data, 7.0)
    before = [p.data.copy() for p in net.parameters()]
    bn = net.layers[1]
    running = bn.running_mean.copy()
    gradient_flow(net, bp.nn.MSELoss(), x, y)
    activation_stats(net, x)
    for p, b in zip(net.parameters(), before, strict=True):
        np.testing.assert_allclose(p.data, b)
        np.testing.assert_allclose(p.grad, 7.0)
    np.testing.assert_allclose(bn.running_mean, running)


def test_without_a_copy_the_probe_runs_on_the_net_and_leaves_this_passs_gradients(rng):
    net = bp.nn.mlp([3, 8, 8, 2], activation="tanh", seed=5)
    x, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    ref = gradient_flow(net, bp.nn.MSELoss(), x, y, lr=0.1)
    for p in net.parameters():
        p.grad = np.full_like(p.data, 7.0)                 # stale: must not be added to
    rec = gradient_flow(net, bp.nn.MSELoss(), x, y, lr=0.1, copy=False)
    for name in ("delta_rms", "grad_rms", "update_ratio", "act_std"):
        np.testing.assert_allclose(getattr(rec, name), getattr(ref, name), rtol=1e-12)
    own = [np.sqrt(np.mean(lin.weight.grad ** 2)) for lin in net.layers[::2]]
    np.testing.assert_allclose(rec.grad_rms, own, rtol=1e-12)
    with pytest.raises(TypeError, match="copy"):
        gradient_flow(net, bp.nn.MSELoss(), x, y, copy="no")


def test_bins_none_records_everything_but_the_histograms(rng):
    net = bp.nn.mlp([3, 8, 8, 2], activation="sigmoid", seed=2)
    x, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    ref = gradient_flow(net, bp.nn.MSELoss(), x, y)
    rec = gradient_flow(net, bp.nn.MSELoss(), x, y, bins=None)
    assert rec.hist_counts == [] and rec.hist_edges == [] and len(ref.hist_counts) == ref.n_layers
    for name in ("act_mean", "act_std", "saturated", "delta_rms", "grad_rms"):
        np.testing.assert_allclose(getattr(rec, name), getattr(ref, name), rtol=1e-12)
    with pytest.raises(ValueError, match="bins=None"):
        bp.viz.plot_activation_stats(rec)


def test_mean_std_matches_numpy_on_ordinary_and_constant_data(rng):
    for v in (rng.normal(size=(64, 32)), rng.normal(size=500) * 1e-3 + 5.0, np.full(7, -2.5)):
        np.testing.assert_allclose(mean_std(v), (v.mean(), v.std()), rtol=1e-12, atol=1e-15)


def test_sigmoid_depth_20_small_init_vanishes(rng):
    """Hand check: going back one layer multiplies δ by Wᵀ and σ′ ≤ 1/4, so
    ‖δ_i‖ ≤ ¼·‖W_{i+1}‖₂·‖δ_{i+1}‖; with std 0.1 at width 32, ‖W‖₂ ≈ 0.1·2√32 ≈ 1.1, a factor
    ≤ 0.3 per layer: the first layer's δ is orders of magnitude below the last one's."""
    net = bp.nn.mlp([16] + [32] * 20 + [1], activation="sigmoid", init="normal", init_std=0.1, seed=0)
    x, y = rng.normal(size=(64, 16)), rng.normal(size=(64, 1))
    rec = gradient_flow(net, bp.nn.MSELoss(), x, y)
    assert rec.n_layers == 21
    assert rec.delta_rms[0] < 1e-3 * rec.delta_rms[-2]     # last hidden layer
    assert rec.delta_rms[0] < 1e-3 * rec.delta_rms[-1]     # read-out
    for i in range(19):                                    # hidden layers of equal width
        W = net.layers[2 * (i + 1)].weight.data
        bound = 0.25 * np.linalg.norm(W, 2) * rec.delta_rms[i + 1]
        assert rec.delta_rms[i] <= bound * (1 + 1e-12)
    assert measured_factor(rec) < 0.3


def test_he_relu_keeps_activation_rms_and_xavier_halves_the_variance(rng):
    """He init (std √(2/n)) keeps E[a²] through ReLU layers (slope of log₂ RMS ≈ 0);
    Xavier (std ≈ √(1/n)) halves it per layer: RMS × 1/√2, slope −½."""
    x = rng.normal(size=(128, 256))
    slopes = {}
    for init in ("he", "xavier_normal"):
        net = bp.nn.mlp([256] * 51, activation="relu", init=init, seed=1)  # 50 Linear + ReLU layers
        rec = activation_stats(net, x)
        assert rec.n_layers == 50
        slopes[init] = np.polyfit(np.arange(50), np.log2(rec.act_rms), 1)[0]
        np.testing.assert_allclose(np.log2(measured_factor(rec, "activation")), slopes[init], rtol=1e-10)
    assert abs(slopes["he"]) <= 0.05
    assert abs(slopes["xavier_normal"] + 0.5) <= 0.05


def _one_layer(activation, W):
    lin = bp.nn.Linear(W.shape[1], W.shape[0])
    lin.weight.data[...] = W
    lin.bias.data[...] = 0.0
    return bp.nn.Sequential(lin, activation, bp.nn.Linear(W.shape[0], 1, seed=0))


def test_saturation_and_dead_units_on_constructed_inputs():
    # tanh: z = x (identity weights): |tanh(3)| = 0.995 > 0.99, |tanh(2.5)| = 0.987 is not
    x = np.array([[3.0, 0.1], [-2.5, -4.0], [0.0, 2.7]])      # saturated: 3, -4, 2.7 → 3 of 6
    rec = activation_stats(_one_layer(bp.nn.Tanh(), np.eye(2)), x)
    np.testing.assert_allclose(rec.saturated[0], 3 / 6)
    # sigmoid: σ(5) = 0.9933 and σ(−4.7) = 0.0090 saturate, σ(4) = 0.982 and σ(0) do not
    x = np.array([[5.0, 4.0], [-4.7, 0.0]])
    rec = activation_stats(_one_layer(bp.nn.Sigmoid(), np.eye(2)), x)
    np.testing.assert_allclose(rec.saturated[0], 2 / 4)
    # ReLU: with x ≥ 0, unit 3 (weights −1, −1) is 0 on every example: dead; unit 2 is 0 on
    # one example only: alive. 1 dead unit of 3.
    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    x = np.array([[1.0, 0.0], [2.0, 3.0], [0.5, 1.5]])
    rec = activation_stats(_one_layer(bp.nn.ReLU(), W), x)
    np.testing.assert_allclose(rec.saturated[0], 1 / 3)
    assert rec.saturation_kind[0] == "relu"
    # no saturation measure for GELU
    rec = activation_stats(_one_layer(bp.nn.GELU(), np.eye(2)), x[:, :2])
    assert np.isnan(rec.saturated[0]) and rec.saturation_kind[0] is None


def test_measured_factor_recovers_a_geometric_decay(rng):
    net = bp.nn.mlp([2, 4, 4, 4, 4, 4, 1], activation="tanh", seed=0)
    rec = gradient_flow(net, bp.nn.MSELoss(), rng.normal(size=(5, 2)), rng.normal(size=(5, 1)))
    L = rec.n_layers
    # δ multiplied by 0.3 per layer going back from the read-out: δ_i = 2·0.3^(L−1−i)
    made = dataclasses.replace(rec, delta_rms=2.0 * 0.3 ** (L - 1 - np.arange(L)),
                               act_rms=5.0 * 1.7 ** np.arange(L))
    np.testing.assert_allclose(measured_factor(made), 0.3, rtol=1e-10)
    np.testing.assert_allclose(measured_factor(made, "activation"), 1.7, rtol=1e-10)
    # zeros / inf / nan layers are left out of the fit
    bad = made.delta_rms.copy()
    bad[[1, 3]] = [0.0, np.inf]
    np.testing.assert_allclose(measured_factor(dataclasses.replace(made, delta_rms=bad)), 0.3, rtol=1e-10)
    only_one = np.full(L, np.nan)
    only_one[2] = 1.0
    assert np.isnan(measured_factor(dataclasses.replace(made, delta_rms=only_one)))
    with pytest.raises(ValueError, match="quantity"):
        measured_factor(made, "weights")


def test_exploding_network_is_recorded_not_raised(rng):
    net = bp.nn.mlp([8] + [16] * 50 + [1], activation="relu", init="normal", init_std=1e6, seed=0)
    rec = gradient_flow(net, bp.nn.MSELoss(), rng.normal(size=(16, 8)), rng.normal(size=(16, 1)))
    assert not rec.finite
    assert np.isfinite(rec.act_rms[0]) and not np.isfinite(rec.act_rms[-1])
    assert np.isnan(rec.delta_rms).all()       # the forward pass overflowed: no backward pass


def test_bad_arguments_are_rejected_with_the_argument_named(rng):
    net = bp.nn.mlp([2, 3, 1], seed=0)
    x, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    with pytest.raises(TypeError, match="net must be"):
        gradient_flow("net", bp.nn.MSELoss(), x, y)
    with pytest.raises(TypeError, match="loss_fn"):
        gradient_flow(net, np.mean, x, y)
    with pytest.raises(TypeError, match="x must have dtype"):
        gradient_flow(net, bp.nn.MSELoss(), x.astype(int), y)
    with pytest.raises(ValueError, match="bins"):
        gradient_flow(net, bp.nn.MSELoss(), x, y, bins=0)
    with pytest.raises(ValueError, match="lr"):
        gradient_flow(net, bp.nn.MSELoss(), x, y, lr=-1.0)
    with pytest.raises(ValueError, match="no Linear"):
        activation_stats(bp.nn.Sequential(bp.nn.Tanh()), x)
    with pytest.raises(ValueError, match="x must be a batch"):
        activation_stats(net, np.ones(2))


def test_record_reports_setting_and_table(rng):
    net = bp.nn.mlp([3, 10, 10, 2], activation="tanh", seed=0)
    rec = gradient_flow(net, bp.nn.MSELoss(), rng.normal(size=(6, 3)), rng.normal(size=(6, 2)), lr=0.1)
    assert rec.setting == "depth 3, width 10, Tanh, batch 6, lr 0.1"
    assert len(rec.table().splitlines()) == 1 + rec.n_layers
    assert "FlowRecord" in repr(rec)
    assert gradient_flow(net, bp.nn.MSELoss(), rng.normal(size=(6, 3)), rng.normal(size=(6, 2)),
                         label="mine").setting == "mine"


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
# moderate magnitudes (or 0), so that NumPy's plain mean/std serve as the reference
moderate = st.one_of(st.just(0.0), st.floats(1e-6, 1e6), st.floats(-1e6, -1e-6))


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.integers(2, 300), elements=finite), st.integers(1, 40))
def test_histogram_counts_equal_numpys(v, bins):
    assume(np.ptp(v) > 1e-6 * max(1.0, np.abs(v).max()))
    counts, edges = histogram(v, bins)
    ref_counts, ref_edges = np.histogram(v, bins=bins)
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_allclose(edges, ref_edges, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 200), elements=moderate), st.sampled_from([1.0, 1e-160, 1e150]))
def test_rms_and_mean_std_survive_huge_and_tiny_values(v, scale):
    """RMS = ‖v‖/√n, mean and std: scaled by 1e150 (squares overflow) or 1e-160 (underflow),
    they scale exactly with the data."""
    ref = math.hypot(*v) / math.sqrt(v.size)
    np.testing.assert_allclose(rms(v * scale) / scale, ref, rtol=1e-10)
    mean, std = mean_std(v * scale)
    np.testing.assert_allclose([mean / scale, std / scale], [v.mean(), v.std()], rtol=1e-9,
                               atol=1e-12 * np.abs(v).max())


def test_rms_of_non_finite_values():
    assert rms(np.array([1.0, np.inf])) == np.inf
    assert np.isnan(rms(np.array([1.0, np.nan])))
    assert np.isnan(mean_std(np.array([1.0, np.inf]))[0])
    assert rms(np.zeros(3)) == 0.0


def test_overflow_inside_a_residual_block_is_recorded_not_raised():
    """The block's Linear overflows; its Tanh refuses the inf (NonFiniteError). The probe records
    the residual layer's output as inf and stops there, as for a plain overflowing layer."""
    big = bp.nn.Linear(4, 4, seed=0)
    big.weight.data *= 1e306
    net = bp.nn.Sequential(bp.nn.Linear(3, 4, seed=1), bp.nn.Residual(bp.nn.Sequential(big, bp.nn.Tanh())),
                           bp.nn.Linear(4, 2, seed=2))
    x = np.random.default_rng(0).normal(size=(5, 3)) * 1e3
    rec = bp.probes.gradient_flow(net, bp.nn.MSELoss(), x, np.zeros((5, 2)))
    assert not rec.finite and np.isnan(rec.loss)
    with np.errstate(all="ignore"), pytest.raises(bp._validate.NonFiniteError):
        net(x)                                            # the network itself still refuses it
