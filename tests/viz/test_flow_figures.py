"""bp.viz.plot_gradient_flow / plot_activation_stats / plot_update_ratio: what each figure
draws (lines, histograms, labels, guide, colour bar), existing axes, the presentation theme,
and the message drawn for an exploding network or a diverged run."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

import backprop_lib as bp
from backprop_lib.probes import GradientFlowProbe, UpdateRatioProbe, gradient_flow


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _flow(activation, depth=4, init="default", seed=0, **kw):
    rng = np.random.default_rng(seed)
    net = bp.nn.mlp([3] + [8] * depth + [1], activation=activation, init=init, seed=seed, **kw)
    return gradient_flow(net, bp.nn.MSELoss(), 2 * rng.normal(size=(20, 3)), rng.normal(size=(20, 1)), lr=0.1)


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _history(rng, lr=0.1, probes=(), depth=2, epochs=2):
    x = rng.normal(size=(40, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(float)[:, None]
    net = bp.nn.mlp([2] + [6] * depth + [1], activation="tanh", seed=0)
    return bp.train.fit(net, bp.nn.BCEWithLogitsLoss(), (x, y), bp.optim.SGD(net.parameters(), lr=lr),
                        epochs=epochs, batch_size=10, probes=list(probes), progress=False)


def diverged_history(rng, probes=()):
    """A ReLU regression net trained with a far too large learning rate."""
    x = rng.normal(size=(40, 2))
    y = x @ np.array([[3.0], [-2.0]])
    net = bp.nn.mlp([2, 16, 16, 1], activation="relu", seed=0)
    return bp.train.fit(net, bp.nn.MSELoss(), (x, y), bp.optim.SGD(net.parameters(), lr=5.0),
                        epochs=20, batch_size=10, probes=list(probes), progress=False)


def test_gradient_flow_overlays_settings_with_delta_and_weight_gradient():
    recs = {"tanh": _flow("tanh"), "relu": _flow("relu", init="he")}
    fig = bp.viz.plot_gradient_flow(recs)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 4                          # 2 settings × (δ, ∂L/∂W)
    np.testing.assert_allclose(lines[0].get_ydata(), recs["tanh"].delta_rms)
    np.testing.assert_allclose(lines[1].get_ydata(), recs["tanh"].grad_rms)
    np.testing.assert_allclose(lines[0].get_xdata(), np.arange(1, 6))
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert lines[0].get_linestyle() == "-" and lines[1].get_linestyle() == "--"
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 4 and legend[0].startswith("tanh (×") and "per layer" in legend[0]
    assert any("∂L/∂z" in t for t in legend) and any("∂L/∂W" in t for t in legend)
    assert not _texts(ax)                           # nothing overflowed: no message


def test_gradient_flow_single_record_existing_axes_and_quantity():
    rec = _flow("sigmoid")
    fig, ax = plt.subplots()
    out = bp.viz.plot_gradient_flow(rec, ax=ax, quantity="delta")
    assert out is fig and len(ax.get_lines()) == 1
    assert rec.setting in ax.get_title()
    with pytest.raises(ValueError, match="quantity"):
        bp.viz.plot_gradient_flow(rec, quantity="weights")
    with pytest.raises(TypeError, match="FlowRecord"):
        bp.viz.plot_gradient_flow(np.ones(3))


def test_gradient_flow_from_probe_records_and_presentation_theme(rng):
    hist = _history(rng, probes=[GradientFlowProbe(every=3)])
    fig = bp.viz.plot_gradient_flow(hist.probes["gradient_flow"], quantity="grad", theme="presentation")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == len(hist.probes["gradient_flow"]) == 3
    legend = [t.get_text().split(" (")[0] for t in ax.get_legend().get_texts()]
    assert legend[:3] == ["step 0", "step 3", "step 6"]
    assert fig.get_size_inches()[0] == pytest.approx(10.0)
    assert ax.title.get_fontsize() == pytest.approx(17.0)


def test_gradient_flow_reports_an_exploding_network():
    bad = _flow("relu", depth=50, init="normal", init_std=1e6)
    fig = bp.viz.plot_gradient_flow({"ok": _flow("tanh"), "huge init": bad})
    texts = _texts(fig.axes[0])
    assert len(texts) == 1 and "Overflow" in texts[0] and "huge init" in texts[0]
    fig.canvas.draw()                               # draws without overflow in the log axis


def test_activation_stats_histograms_and_saturation_labels():
    rec = _flow("tanh", depth=3)
    fig = bp.viz.plot_activation_stats(rec)
    ax = fig.axes[0]
    fills = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(fills) == rec.n_layers == 4
    notes = _texts(ax)
    assert len(notes) == 4
    assert sum("saturated" in t for t in notes) == 3                 # the read-out has no activation
    assert f"{rec.saturated[0]:.0%} saturated" in notes[0]
    assert "|tanh| > 0.99" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == rec.labels[::-1]   # layer 1 on top
    # layer 1's histogram sits on the top row and reaches 0.85 above its baseline at its peak
    top = fills[0].get_paths()[0].vertices
    np.testing.assert_allclose([top[:, 1].min(), top[:, 1].max()], [3.0, 3.85])


def test_activation_stats_relu_dead_units_existing_axes_and_overflow():
    rec = _flow("relu")
    fig, ax = plt.subplots()
    assert bp.viz.plot_activation_stats(rec, ax=ax, theme="presentation") is fig
    assert sum("dead" in t for t in _texts(ax)) == rec.n_layers - 1
    bad = _flow("relu", depth=50, init="normal", init_std=1e6)
    texts = _texts(bp.viz.plot_activation_stats(bad).axes[0])
    assert any("Overflow" in t for t in texts) and any("overflow (inf/NaN)" in t for t in texts)
    with pytest.raises(TypeError, match="record must be"):
        bp.viz.plot_activation_stats({"a": 1})


def test_update_ratio_lines_guide_and_legend(rng):
    hist = _history(rng, probes=[UpdateRatioProbe()])
    fig = bp.viz.plot_update_ratio(hist)
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 3 + 1                                   # 3 layers + the guide
    recs = hist.probes["update_ratio"]
    np.testing.assert_allclose(lines[0].get_ydata()[1:], np.log10([r.ratio[0] for _, r in recs[1:]]))
    assert np.isnan(lines[0].get_ydata()[0])                     # nothing to compare with at step 0
    np.testing.assert_allclose(lines[-1].get_ydata(), [-3, -3])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["layer 1", "layer 2", "layer 3", "guide: update/weight = 0.001"]
    assert "measured update" in ax.get_ylabel() and ax.get_xlabel() == "step"


def test_update_ratio_many_layers_get_a_colour_bar_and_flow_records_work(rng):
    recs = [(s, _flow("tanh", depth=10, seed=s)) for s in range(3)]
    fig, ax = plt.subplots()
    assert bp.viz.plot_update_ratio(recs, ax=ax) is fig
    assert len(ax.get_lines()) == 11 + 1
    assert len(fig.axes) == 2 and "layer" in fig.axes[1].get_ylabel()   # the colour bar
    assert "lr·grad" in ax.get_ylabel()


def test_update_ratio_diverged_run_draws_the_message(rng):
    hist = diverged_history(rng, probes=[UpdateRatioProbe()])
    assert hist.diverged_at is not None and len(hist.probes["update_ratio"]) > 1
    fig = bp.viz.plot_update_ratio(hist)
    assert hist.message in _texts(fig.axes[0])
    with pytest.raises(ValueError, match="UpdateRatioProbe"):
        bp.viz.plot_update_ratio(_history(rng))
