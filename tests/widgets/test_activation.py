"""ActivationExplorer: compute against hand-checked facts, set() redraws, bad settings refused."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.widgets.activation import ActivationSettings, compute_activation


def test_sigmoid_slope_peaks_at_a_quarter_at_zero():
    r = compute_activation(ActivationSettings(name="sigmoid", x_min=-10, x_max=10, points=2001))
    assert r.max_slope == pytest.approx(0.25, abs=1e-12) and abs(r.argmax_slope) < 1e-9


def test_sigmoid_saturates_beyond_4_585():
    # σ(1 − σ) = 0.01  ⇔  σ = (1 + √0.96)/2, x = logit(σ) ≈ 4.585 (syllabus, notebook 01)
    s = (1 + np.sqrt(0.96)) / 2
    r = compute_activation(ActivationSettings(name="sigmoid", x_min=-10, x_max=10, points=20001))
    edge = np.abs(r.x[r.saturated]).min()
    assert edge == pytest.approx(np.log(s / (1 - s)), abs=1e-3) and edge == pytest.approx(4.585, abs=1e-3)


def test_tanh_saturates_beyond_2_99_and_relu_is_dead_below_zero():
    r = compute_activation(ActivationSettings(name="tanh", x_min=-6, x_max=6, points=12001))
    # 1 − tanh² = 0.01  ⇔  x = artanh(√0.99) ≈ 2.993
    assert np.abs(r.x[r.saturated]).min() == pytest.approx(np.arctanh(np.sqrt(0.99)), abs=1e-3)
    r = compute_activation(ActivationSettings(name="relu", x_min=-3, x_max=3, points=601))
    np.testing.assert_array_equal(r.saturated, r.x <= 0)


def test_set_changes_the_figure():
    ex = bp.widgets.ActivationExplorer()
    before = ex.render_png()
    ex.set(name="relu")
    assert ex.settings.name == "relu" and ex.render_png() != before
    np.testing.assert_allclose(ex.line_f.get_ydata(), np.maximum(ex.line_f.get_xdata(), 0))


@pytest.mark.parametrize(("changes", "match"), [
    ({"name": "swish"}, "unknown activation"),
    ({"x_min": 3.0, "x_max": 1.0}, "x_min must be below x_max"),
    ({"threshold": 0.0}, "threshold"),
    ({"depth": 3}, "unknown setting"),
])
def test_bad_settings_are_refused_from_code(changes, match):
    ex = bp.widgets.ActivationExplorer()
    with pytest.raises(ValueError, match=match):
        ex.set(**changes)


def test_bad_settings_from_a_control_become_a_message_not_a_traceback():
    ex = bp.widgets.ActivationExplorer()
    box = ex.show()
    ex._widgets["x_min"].value = -1.0
    ex._widgets["x_max"].value = 0.5
    ex._widgets["x_min"].value = -0.0   # still below x_max: fine
    ex._on_control("x_min", {"new": 2.0})  # above x_max: refused, shown in the figure
    assert ex._message.get_visible() and "x_min must be below x_max" in ex._message.get_text()
    assert box is not None


def test_presentation_theme_makes_a_bigger_figure():
    small = bp.widgets.ActivationExplorer().fig.get_size_inches()
    big = bp.widgets.ActivationExplorer(theme="presentation").fig.get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]
