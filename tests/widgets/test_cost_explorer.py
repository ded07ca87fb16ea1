"""CostExplorer: its formulas against the real network they describe (parameters, cached bytes,
recomputed Linear calls), set() redraws, bad settings refused or shown as a message."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.nn import CheckpointedSequential, Linear, Sequential, Tanh
from backprop_lib.nn.cost import count_flops, trace_memory
from backprop_lib.widgets.cost_explorer import CostSettings, compute_cost


def _network(s: CostSettings):
    """The explorer's network: depth blocks Linear(width, width) + Tanh."""
    return [Sequential(Linear(s.width, s.width, seed=i), Tanh()) for i in range(s.depth)]


@pytest.mark.parametrize("depth, width, batch, segments",
                         [(6, 5, 3, 2), (9, 4, 2, 3), (7, 3, 5, 7), (5, 6, 1, 1)])
def test_counts_match_the_real_checkpointed_network(depth, width, batch, segments):
    s = CostSettings(depth=depth, width=width, batch=batch, segments=segments)
    r = compute_cost(s)
    layers = _network(s)
    model = CheckpointedSequential(*layers, segments=segments)
    assert r.n_params == model.num_parameters()
    linear_calls = [0]
    for block in layers:                                 # count the Linear forward calls
        lin = block.layers[0]
        original = lin.forward

        def counted(x, original=original):
            linear_calls[0] += 1
            return original(x)

        lin.forward = counted
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, width))
    trace = trace_memory(model, x, rng.normal(size=(batch, width)))
    floats = x.size                                      # one activation: batch × width
    assert trace.peak == r.memory.peak * x.nbytes
    assert r.memory.plain * floats == (2 * depth + 1) * batch * width
    recomputed_linears = linear_calls[0] - depth
    per_linear = count_flops([width, width], batch).forward
    assert r.recompute_flops == recomputed_linears * per_linear
    assert r.checkpoint_ratio == pytest.approx(1 + recomputed_linears * per_linear / (
        r.flops.forward + r.flops.backward), rel=1e-12)


def test_ratios_follow_the_flop_counts():
    r = compute_cost(CostSettings(depth=8, width=512, batch=32, segments=1))
    assert r.recompute_flops == 0 and r.checkpoint_ratio == 1.0
    assert 1.99 < r.flops.ratio < 2.0
    assert r.numerical_flops == 2 * r.n_params * r.flops.forward
    assert r.numerical_ratio == pytest.approx(2 * r.n_params / (1 + r.flops.ratio), rel=1e-12)
    assert r.memory.peak == r.memory.plain == 17


def test_the_curve_has_its_minimum_at_2_sqrt_L():
    # peak = (k − 1) + 2ℓ + 1 + 2s ≈ k + 4L/k (s = ℓ = L/k): smallest at k = 2√L = 16 for L = 64
    r = compute_cost(CostSettings(depth=64, width=8, batch=4, segments=8))
    assert len(r.curve_k) == 64 and r.curve_peak[0] == r.memory.plain == 129
    assert int(r.curve_k[np.argmin(r.curve_peak)]) == 16 and r.curve_peak.min() == 15 + 8 + 1 + 8


def test_set_changes_the_figure():
    ex = bp.widgets.CostExplorer()
    before = ex.render_png()
    ex.set(segments=1)
    assert ex.render_png() != before
    assert ex.mark_k.get_ydata()[0] == ex.result.memory.plain
    assert "k = 1 segments" in ex.readout.get_text()
    heights = [b.get_height() for b in ex.flop_bars]
    assert heights[0] == ex.result.flops.forward and heights[3] == ex.result.numerical_flops


@pytest.mark.parametrize(("changes", "match"), [
    ({"segments": 17}, "segments must be at most depth = 16"),
    ({"width": 10_000}, "width must be at most"),
    ({"depth": 0}, "depth"),
    ({"batch": 2.5}, "batch"),
    ({"layers": 3}, "unknown setting"),
])
def test_bad_settings_are_refused_from_code(changes, match):
    ex = bp.widgets.CostExplorer()
    with pytest.raises((ValueError, TypeError), match=match):
        ex.set(**changes)


def test_a_bad_control_value_becomes_a_message():
    ex = bp.widgets.CostExplorer(depth=8, segments=4)
    ex.show()
    ex._on_control("depth", {"new": 2})                  # segments 4 > depth 2
    assert ex._message.get_visible() and "segments must be at most depth" in ex._message.get_text()
    ex._on_control("segments", {"new": 2})
    ex._on_control("depth", {"new": 2})
    assert not ex._message.get_visible() and ex.settings.depth == 2


def test_presentation_theme_makes_a_bigger_figure():
    small = bp.widgets.CostExplorer().fig.get_size_inches()
    big = bp.widgets.CostExplorer(theme="presentation").fig.get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]
