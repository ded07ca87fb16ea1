"""GradientFlowExplorer: the measured gradient flow against hand-checked facts, the network and
batch it builds, messages for overflowing settings, set() redraws, bad settings refused."""

import io
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop_lib as bp
from backprop_lib.widgets.gradient_flow import (
    ACTIVATIONS,
    INITS,
    LOSSES,
    GradientFlowSettings,
    _ranges,
    build_network,
    compute_gradient_flow,
    make_batch,
)


def flow(**changes):
    return compute_gradient_flow(GradientFlowSettings(**changes))


# -- what the explorer measures --------------------------------------------------------------
def test_sigmoid_with_small_init_vanishes_at_the_rate_theory_gives():
    r = flow(activation="sigmoid", depth=20, width=128, init="normal", init_std=0.05)
    d = r.record.delta_rms
    assert r.message is None and r.record.finite
    assert d[0] <= 1e-3 * d[-1]                              # orders of magnitude below the last layer
    assert np.all(np.diff(d[:-1]) > 0)                       # shrinks at every step toward the input
    # δ_k = (W_{k+1}ᵀ δ_{k+1}) ⊙ σ′(z_k): RMS factor σ_w·√n·RMS(σ′) with σ′ ≈ 1/4 near 0
    # (z has std ≈ 0.05·√128·0.5 ≈ 0.28 here, so σ′ ≈ 0.245)
    assert r.delta_factor == pytest.approx(0.05 * np.sqrt(128) * 0.245, rel=0.08)
    assert r.first_over_last == pytest.approx(d[0] / d[-1], rel=1e-12)


def test_default_xavier_sigmoid_also_vanishes():
    r = flow(activation="sigmoid", depth=20, init="xavier")
    assert r.first_over_last < 1e-3 and r.delta_factor < 0.5


def _log2_slope(values):
    layers = np.arange(len(values))
    return np.polyfit(layers, np.log2(values), 1)[0]


def test_relu_with_he_init_keeps_the_activation_rms_flat_over_50_layers():
    r = flow(activation="relu", init="he", width=256, depth=50)
    hidden = r.record.act_rms[:-1]                           # the ReLU outputs (the last is the read-out z)
    assert len(hidden) == 49 and np.all(np.isfinite(hidden))
    assert abs(_log2_slope(hidden)) <= 0.05
    assert abs(np.log2(r.activation_factor)) <= 0.05          # the probe's own fit agrees
    assert abs(np.log2(r.delta_factor)) <= 0.05               # and the gradient is flat too


def test_relu_with_xavier_init_halves_the_second_moment_per_layer():
    # Var(W) = 2/(256 + 256) = 1/256 and ReLU keeps half the second moment: RMS × √(1/2) per layer
    r = flow(activation="relu", init="xavier", width=256, depth=50)
    assert _log2_slope(r.record.act_rms[:-1]) == pytest.approx(-0.5, abs=0.05)


def test_residual_connections_rescue_the_vanishing_sigmoid():
    plain = flow(activation="sigmoid", depth=20, init="normal", init_std=0.05)
    resid = flow(activation="sigmoid", depth=20, init="normal", init_std=0.05, residual=True)
    assert abs(np.log10(plain.first_over_last)) > 10
    assert abs(np.log10(resid.first_over_last)) < 1          # δ_k = δ_{k+1} + Jᵀδ_{k+1}: the identity path
    assert abs(np.log(resid.delta_factor)) < 0.1


def test_batch_norm_rescues_the_vanishing_sigmoid():
    plain = flow(activation="sigmoid", depth=20)
    normed = flow(activation="sigmoid", depth=20, batch_norm=True)
    assert plain.first_over_last < 1e-6 and 0.01 < normed.first_over_last < 100


def test_linear_network_with_large_init_explodes_by_sigma_root_n_per_layer():
    # identity activation: δ_k = W_{k+1}ᵀ δ_{k+1}, and E‖Wᵀv‖² = σ²·n·‖v‖² for W ~ N(0, σ²)
    r = flow(activation="identity", depth=20, width=128, init="normal", init_std=0.5)
    assert r.delta_factor == pytest.approx(0.5 * np.sqrt(128), rel=0.05)
    assert r.first_over_last > 1e12 and r.message is None


def test_tanh_with_large_init_explodes_in_the_deltas():
    # the chaotic phase: the weight scale does not cancel in δ even though tanh is bounded
    r = flow(activation="tanh", depth=20, width=128, init="normal", init_std=1.0)
    d = r.record.delta_rms
    assert r.delta_factor > 1.5 and d[0] >= 1e3 * d[-1]
    assert np.all(np.abs(r.record.act_rms[:-1]) <= 1.0)      # the activations themselves stay bounded


def test_update_ratio_is_lr_times_gradient_over_weight_of_the_same_backward_pass():
    s = GradientFlowSettings(depth=6, width=32, batch_size=16, activation="tanh", lr=0.3,
                             loss="cross_entropy")
    r = compute_gradient_flow(s)
    net = build_network(s)
    x, y = make_batch(s)
    loss_fn = LOSSES[s.loss]()
    out = net(x)
    loss = loss_fn(out, y)
    g_out = loss_fn.backward()
    net.backward(g_out)
    weights = [m.weight for m in net.layers if isinstance(m, bp.nn.Linear)]
    rms = [np.sqrt(np.mean(w.grad**2)) for w in weights]
    expected = [0.3 * g / np.sqrt(np.mean(w.data**2)) for g, w in zip(rms, weights, strict=True)]
    np.testing.assert_allclose(r.update_ratio, expected, rtol=1e-10)
    np.testing.assert_allclose(r.record.grad_rms, rms, rtol=1e-10)
    np.testing.assert_allclose(r.record.delta_rms[-1], np.sqrt(np.mean(g_out**2)), rtol=1e-12)
    assert r.record.loss == pytest.approx(loss, rel=1e-12)


def test_compute_is_deterministic_and_depends_on_the_seed():
    a, b = flow(seed=3), flow(seed=3)
    np.testing.assert_array_equal(a.record.delta_rms, b.record.delta_rms)
    assert not np.allclose(a.record.delta_rms, flow(seed=4).record.delta_rms, rtol=1e-6)


# -- the network and the batch ------------------------------------------------------------------
@pytest.mark.parametrize(("activation", "init"), [("tanh", "he"), ("relu", "xavier"), ("leaky_relu", "he"),
                                                  ("sigmoid", "default")])
def test_plain_network_is_exactly_bp_nn_mlp(activation, init):
    s = GradientFlowSettings(depth=4, width=8, activation=activation, init=init, seed=7)
    ours = build_network(s)
    ref = bp.nn.mlp([8] * 4 + [10], activation=activation, init=init, seed=7)
    assert [type(m) for m in ours.layers] == [type(m) for m in ref.layers]
    for (name, p), (ref_name, q) in zip(ours.named_parameters(), ref.named_parameters(), strict=True):
        assert name == ref_name
        np.testing.assert_array_equal(p.data, q.data)


def test_normal_init_uses_init_std_and_other_inits_ignore_it():
    s = GradientFlowSettings(depth=3, width=256, init="normal", init_std=0.3)
    w = build_network(s).layers[0].weight.data
    assert w.std() == pytest.approx(0.3, rel=0.02)
    a = build_network(GradientFlowSettings(depth=3, init="xavier", init_std=0.3)).layers[0].weight.data
    b = build_network(GradientFlowSettings(depth=3, init="xavier", init_std=5.0)).layers[0].weight.data
    np.testing.assert_array_equal(a, b)


def test_residual_and_batch_norm_variants_keep_the_weights_and_count_as_depth_layers():
    base = GradientFlowSettings(depth=5, width=16, activation="relu", init="he", seed=2)
    plain = build_network(base)
    both = build_network(GradientFlowSettings(**{**base.__dict__, "residual": True, "batch_norm": True}))
    blocks = both.layers[:-1]
    assert len(blocks) == 4 and all(isinstance(b, bp.nn.Residual) for b in blocks)
    inner = blocks[0].block.layers
    assert [type(m).__name__ for m in inner] == ["Linear", "BatchNorm1d", "ReLU"]
    plain_w = [m.weight.data for m in plain.layers if isinstance(m, bp.nn.Linear)]
    both_w = [b.block.layers[0].weight.data for b in blocks] + [both.layers[-1].weight.data]
    for p, q in zip(plain_w, both_w, strict=True):
        np.testing.assert_array_equal(p, q)
    r = compute_gradient_flow(GradientFlowSettings(**{**base.__dict__, "residual": True, "batch_norm": True}))
    assert r.record.n_layers == 5


@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "bce"])
def test_batch_fits_every_loss(loss):
    s = GradientFlowSettings(depth=3, width=12, batch_size=9, loss=loss, seed=5)
    x, y = make_batch(s)
    assert x.shape == (9, 12) and x.dtype == np.float64
    if loss == "cross_entropy":
        assert y.shape == (9,) and y.dtype.kind == "i" and 0 <= y.min() and y.max() < 10
    else:
        assert y.shape == (9, 10)
    if loss == "bce":
        assert set(np.unique(y)) <= {0.0, 1.0}
    r = compute_gradient_flow(s)
    assert r.record.finite and np.isfinite(r.record.loss)


def test_float32_setting_runs_in_float32():
    s = GradientFlowSettings(depth=3, width=8, dtype="float32")
    assert make_batch(s)[0].dtype == np.float32
    assert all(p.data.dtype == np.float32 for p in build_network(s).parameters())


# -- overflowing settings are a result with a message, never an exception -----------------------
@pytest.mark.parametrize(("settings", "match"), [
    (dict(activation="identity", init="normal", init_std=1.0, depth=50, dtype="float32"),
     "activations overflowed \\(float32 ends at 3.4e\\+38\\) at layer"),
    (dict(activation="identity", init="normal", init_std=1000.0, depth=50), "loss overflowed"),
    (dict(activation="relu", init="zeros", depth=5), "No gradient reaches layers 1–4"),
    # inside a residual block: the block's Linear overflows before its activation sees the inf
    (dict(activation="identity", init="normal", init_std=1.0, depth=50, residual=True, dtype="float32"),
     "activations overflowed \\(float32 ends at 3.4e\\+38\\) at layer"),
])
def test_diverging_settings_give_a_message_not_an_exception(settings, match):
    r = flow(**settings)
    assert r.message is not None
    assert re.search(match, r.message)
    ex = bp.widgets.GradientFlowExplorer()
    ex.set(**settings)                                       # no exception from code either
    assert ex.error is None and ex._message.get_visible()
    assert " ".join(ex._message.get_text().split()) == " ".join(r.message.split())
    ex.render_png()                                          # the figure still draws
    ex.set(depth=3, init="xavier", activation="tanh", dtype="float64")
    assert not ex._message.get_visible()


def test_overflow_at_a_layer_is_reported_with_that_layer():
    r = flow(activation="identity", init="normal", init_std=1.0, depth=50, dtype="float32")
    first_bad = int(np.flatnonzero(~np.isfinite(r.record.act_rms))[0])
    # activations grow ×σ√n = √128 per layer from RMS 1: float32's 3.4e38 is passed near 38.5/log10(11.3)
    assert 34 <= first_bad + 1 <= 38
    assert f"at layer {first_bad + 1}," in r.message and not r.record.finite


# -- the view ----------------------------------------------------------------------------------
def test_set_depth_changes_the_figure_and_its_lines():
    ex = bp.widgets.GradientFlowExplorer(depth=10)
    before = ex.render_png()
    ex.set(depth=30)
    assert ex.settings.depth == 30 and ex.render_png() != before
    np.testing.assert_array_equal(ex.line_delta.get_xdata(), np.arange(1, 31))
    np.testing.assert_allclose(ex.line_delta.get_ydata(), ex.result.record.delta_rms)
    assert ex.fig._suptitle.get_text() == ex.settings.describe() and "depth 30" in ex.settings.describe()


def test_title_states_the_measured_factor():
    ex = bp.widgets.GradientFlowExplorer(activation="sigmoid", depth=20)
    f = ex.result.delta_factor
    assert f"gradient shrinks ×{f:.3g} per layer" in ex.ax_grad.get_title()
    ex.set(activation="identity", init="normal", init_std=0.5)
    assert "gradient grows ×" in ex.ax_grad.get_title()


def test_ratio_warning_appears_when_one_step_outgrows_the_weights():
    ex = bp.widgets.GradientFlowExplorer(activation="relu", init="he", depth=5, lr=1e-4)
    assert ex.ratio_warning.get_text() == ""
    ex.set(lr=10.0)
    big = np.flatnonzero(ex.result.update_ratio > 1) + 1
    assert big.size and "> 1 in layer" in ex.ratio_warning.get_text()
    assert _ranges(big) in ex.ratio_warning.get_text()


def test_ranges_name_consecutive_layers_compactly():
    assert _ranges([1, 2, 3, 7, 9, 10]) == "1–3, 7, 9–10" and _ranges([4]) == "4"


def test_compare_keeps_the_previous_curves_in_grey():
    ex = bp.widgets.GradientFlowExplorer(compare=True, activation="sigmoid", depth=12)
    old = ex.result.record.delta_rms
    assert len(ex.prev_delta.get_xdata()) == 0              # nothing to compare with yet
    ex.set(residual=True)
    np.testing.assert_allclose(ex.prev_delta.get_ydata(), old)
    assert any("residual off" in t.get_text() for t in ex.ax_grad.get_legend().get_texts())
    plain = bp.widgets.GradientFlowExplorer(activation="sigmoid", depth=12)
    plain.set(residual=True)
    assert len(plain.prev_delta.get_xdata()) == 0


@pytest.mark.parametrize(("changes", "match"), [
    ({"depth": 0}, "depth must be an integer from 1 to 50"),
    ({"depth": 51}, "depth must be an integer from 1 to 50"),
    ({"width": 0}, "width must be an integer from 1 to 512"),
    ({"activation": "swish"}, "unknown activation 'swish'"),
    ({"init": "uniform_please"}, "unknown init 'uniform_please'"),
    ({"init_std": 0.0}, "init_std must lie in"),
    ({"lr": -0.1}, "lr must lie in"),
    ({"batch_size": 1, "batch_norm": True}, "batch_norm=True needs batch_size >= 2"),
    ({"loss": "hinge"}, "unknown loss 'hinge'"),
    ({"dtype": "float16"}, "unknown dtype 'float16'"),
    ({"seed": -1}, "seed must be an integer"),
    ({"momentum": 0.9}, "unknown setting"),
])
def test_bad_settings_are_refused_with_a_clear_message(changes, match):
    ex = bp.widgets.GradientFlowExplorer(depth=3)
    with pytest.raises(ValueError, match=match):
        ex.set(**changes)
    assert ex.settings.depth == 3                            # the explorer keeps its last good setting


@pytest.mark.parametrize(("changes", "match"), [
    ({"depth": 2.5}, "depth must be an integer"),
    ({"batch_norm": "yes"}, "batch_norm must be True or False"),
])
def test_wrong_types_are_refused(changes, match):
    with pytest.raises(TypeError, match=match):
        GradientFlowSettings(**changes)


def test_aliases_map_to_the_names_the_controls_show():
    s = GradientFlowSettings(init="glorot", activation="linear")
    assert s.init == "xavier" and s.activation == "identity"
    assert GradientFlowSettings(init="Kaiming").init == "he"


def test_controls_drive_the_explorer_and_bad_values_become_a_message():
    ex = bp.widgets.GradientFlowExplorer(depth=4, width=16, batch_size=8)
    box = ex.show()
    w = ex._widgets
    assert box is not None and all(w[k].continuous_update is False
                                   for k in ("depth", "width", "init_std", "lr", "batch_size"))
    assert w["init_std"].disabled
    w["depth"].value = 7
    assert ex.settings.depth == 7 and ex.result.record.n_layers == 7
    w["init"].value = "normal"
    assert not w["init_std"].disabled and ex.settings.init == "normal"
    w["batch_norm"].value = True
    w["batch_size"].value = 1                                # batch norm needs 2: shown, not raised
    assert ex._message.get_visible() and "batch_size >= 2" in ex._message.get_text()
    assert ex.settings.batch_size == 8
    ex.set(init="he")                                        # from code: the control follows
    assert w["init"].value == "he" and w["init_std"].disabled


def test_presentation_theme_makes_a_bigger_figure():
    small = bp.widgets.GradientFlowExplorer(depth=3).fig.get_size_inches()
    big = bp.widgets.GradientFlowExplorer(depth=3, theme="presentation").fig.get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]


def test_the_png_shown_without_ipympl_is_the_drawn_canvas():
    # display(fig) in a kernel shows only a text repr; the explorer sends the canvas as a PNG
    from PIL import Image

    ex = bp.widgets.GradientFlowExplorer(depth=4)
    ex.fig.canvas.draw()
    png = ex.canvas_png()
    assert png.startswith(b"\x89PNG")
    img = np.asarray(Image.open(io.BytesIO(png)))
    width, height = ex.fig.canvas.get_width_height()
    assert img.shape == (height, width, 4)
    np.testing.assert_array_equal(img, np.asarray(ex.fig.canvas.buffer_rgba()))
    ex.set(depth=9)
    assert ex.canvas_png() != png


@settings(max_examples=30, deadline=None)
@given(depth=st.integers(1, 12), width=st.integers(1, 16), batch=st.integers(2, 16),
       activation=st.sampled_from(ACTIVATIONS), init=st.sampled_from(INITS),
       log_std=st.floats(-3, 3), batch_norm=st.booleans(), residual=st.booleans(),
       loss=st.sampled_from(sorted(LOSSES)), dtype=st.sampled_from(["float64", "float32"]),
       seed=st.integers(0, 2**31 - 1))
def test_every_valid_setting_gives_a_result_never_an_exception(depth, width, batch, activation, init, log_std,
                                                               batch_norm, residual, loss, dtype, seed):
    r = flow(depth=depth, width=width, batch_size=batch, activation=activation, init=init,
             init_std=10.0**log_std, batch_norm=batch_norm, residual=residual, loss=loss, dtype=dtype,
             seed=seed)
    rec = r.record
    assert rec.n_layers == depth and len(rec.delta_rms) == depth
    overflow = not rec.finite
    no_gradient = np.any(rec.delta_rms == 0)
    assert (r.message is not None) == (overflow or bool(no_gradient))
    if r.message is None:
        assert np.all(np.isfinite(rec.delta_rms)) and np.all(rec.delta_rms > 0)
        assert np.isfinite(r.delta_factor) or depth == 1
