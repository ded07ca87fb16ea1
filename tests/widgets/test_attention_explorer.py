"""AttentionExplorer: compute against the attention layer and the stochastic-depth stack it wraps,
√d_k's effect on the peaks of P and on the softmax's gain, set() redraws, bad settings refused."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.nn.attention import softmax_backward
from backprop_lib.widgets.attention_explorer import AttentionSettings, compute_attention


def run(**changes):
    return compute_attention(AttentionSettings(**changes))


def test_P_and_dS_are_consistent():
    r = run(length=9, d_k=16)
    assert r.P.shape == r.dS.shape == r.dP.shape == (9, 9)
    np.testing.assert_allclose(r.P.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    np.testing.assert_allclose(r.dS, softmax_backward(r.P, r.dP), rtol=1e-13, atol=1e-15)
    assert r.max_rowsum_dS < 1e-12


def test_unscaled_scores_at_large_dk_peak_and_freeze_the_softmax():
    raw, scaled = run(d_k=256, scale=False), run(d_k=256, scale=True)
    assert raw.mean_max_weight >= 0.8 and scaled.mean_max_weight <= 0.5
    assert raw.softmax_gain < scaled.softmax_gain / 5
    small = run(d_k=4, scale=False), run(d_k=4, scale=True)     # at d_k = 4 the scaling matters less
    assert small[0].mean_max_weight - small[1].mean_max_weight < raw.mean_max_weight - scaled.mean_max_weight


def test_stochastic_depth_profile():
    r = run(blocks=6, p_survive=0.5, rule="uniform")
    assert r.rms_train.shape == r.rms_eval.shape == r.rms_full.shape == (7,)
    np.testing.assert_allclose(r.probs, 0.5)
    np.testing.assert_allclose(r.rms_train[-1], r.rms_full[-1], rtol=1e-12)   # the read-out is never dropped
    assert r.rms_train[0] < r.rms_full[0] and r.rms_eval[0] < r.rms_full[0]
    everything = run(blocks=6, p_survive=1.0)
    np.testing.assert_allclose(everything.rms_train, everything.rms_full, rtol=1e-12)
    np.testing.assert_allclose(everything.rms_eval, everything.rms_full, rtol=1e-12)


def test_seeded_and_deterministic():
    a, b = run(seed=3), run(seed=3)
    np.testing.assert_array_equal(a.P, b.P)
    np.testing.assert_array_equal(a.rms_train, b.rms_train)
    assert not np.array_equal(a.P, run(seed=4).P)


def test_set_changes_the_figure():
    ex = bp.widgets.AttentionExplorer()
    before = ex.render_png()
    ex.set(d_k=256, scale=False, length=12)
    assert ex.settings.d_k == 256 and ex.render_png() != before
    assert ex.im_P.get_array().shape == (12, 12) and "unscaled" in ex.ax_P.get_title()
    ex.set(blocks=4)
    assert len(ex.line_train.get_xdata()) == 5


@pytest.mark.parametrize(("changes", "match"), [
    ({"length": 1}, "length"),
    ({"d_k": 0}, "d_k"),
    ({"d_k": 2000}, "d_k"),
    ({"p_survive": 0.0}, "p_survive"),
    ({"rule": "cosine"}, "rule"),
    ({"seed": -1}, "seed"),
    ({"depth": 3}, "unknown setting"),
])
def test_bad_settings_are_refused_from_code(changes, match):
    ex = bp.widgets.AttentionExplorer()
    with pytest.raises(ValueError, match=match):
        ex.set(**changes)


def test_a_setting_of_the_wrong_type_is_refused_from_code():
    ex = bp.widgets.AttentionExplorer()
    with pytest.raises(TypeError, match="scale must be True or False"):
        ex.set(scale="no")
    assert ex.settings.scale is True                      # the explorer keeps its last good setting


def test_controls_drive_it_and_bad_values_become_a_message():
    ex = bp.widgets.AttentionExplorer()
    box = ex.show()
    ex._widgets["d_k"].value = 128
    assert ex.settings.d_k == 128
    ex._on_control("p_survive", {"new": 0.0})
    assert ex._message.get_visible() and "p_survive" in ex._message.get_text()
    assert box is not None


def test_presentation_theme_makes_a_bigger_figure():
    small = bp.widgets.AttentionExplorer().fig.get_size_inches()
    big = bp.widgets.AttentionExplorer(theme="presentation").fig.get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]
