"""FiniteDifferenceExplorer: the error curve's slopes and optimum against theory, the marker at h
against an independent finite difference, memoisation, set() redraws, bad settings refused."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.widgets.finite_difference import (
    FUNCTIONS,
    FiniteDifferenceSettings,
    compute_finite_difference,
)


def fd(**changes):
    return compute_finite_difference(FiniteDifferenceSettings(**changes))


def slope(h, err, lo, hi):
    """Least-squares slope of log error against log h over lo <= h <= hi (fitted here, not by the
    explorer)."""
    use = (h >= lo) & (h <= hi) & (err > 0)
    assert use.sum() >= 10
    return np.polyfit(np.log10(h[use]), np.log10(err[use]), 1)[0]


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_forward_difference_error_has_slope_one_where_truncation_dominates(function):
    r = fd(function=function, x=1.0, method="forward")
    # float64: optimum near 1e-8, so 1e-6..1e-2 is well inside the truncation regime
    assert slope(r.study.h, r.study.error, 1e-6, 1e-2) == pytest.approx(1.0, abs=0.03)
    assert r.slope == pytest.approx(1.0, abs=0.05) and r.order == 1


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_central_difference_error_has_slope_two_where_truncation_dominates(function):
    r = fd(function=function, x=1.0, method="central")
    # float64: optimum near 1e-5, truncation dominates from about 1e-4 on
    assert slope(r.study.h, r.study.error, 1e-4, 1e-1) == pytest.approx(2.0, abs=0.03)
    assert r.slope == pytest.approx(2.0, abs=0.05) and r.order == 2


def test_rounding_side_of_the_forward_curve_falls_like_one_over_h():
    r = fd(function="exp", x=1.0, method="forward")
    # the envelope (largest error within half a decade) is what rounding guarantees: slope −1
    assert slope(r.study.h, r.study.envelope, 1e-15, 1e-10) == pytest.approx(-1.0, abs=0.2)


@pytest.mark.parametrize("method", ["forward", "central", "backward"])
@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_float32_optimum_step_is_at_least_100_times_float64s(function, method):
    best64 = fd(function=function, x=1.0, method=method).study.best_h
    best32 = fd(function=function, x=1.0, method=method, dtype="float32").study.best_h
    assert best32 >= 100 * best64
    # and each lies near theory's h* ~ eps^(1/2) (one-sided) or eps^(1/3) (central), within a decade
    power = 1 / 3 if method == "central" else 1 / 2
    for best, dtype in ((best64, np.float64), (best32, np.float32)):
        assert abs(np.log10(best) - np.log10(np.finfo(dtype).eps ** power)) <= 1.0


def test_float32_optimum_error_is_much_worse_than_float64s():
    e64 = fd(method="central").study.best_error
    e32 = fd(method="central", dtype="float32").study.best_error
    assert e32 > 1e4 * e64


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("method", ["forward", "central", "backward"])
def test_the_marked_error_is_an_independent_finite_difference_at_h(method, dtype):
    x, h = 0.7, 3e-4
    r = fd(function="sin", x=x, h=h, method=method, dtype=dtype)
    t = np.dtype(dtype).type
    xd, hd = t(x), t(h)
    expected = {"forward": (np.sin(xd + hd) - np.sin(xd)) / hd,
                "backward": (np.sin(xd) - np.sin(xd - hd)) / hd,
                "central": (np.sin(xd + hd) - np.sin(xd - hd)) / (2 * hd)}[method]
    np.testing.assert_allclose(r.approx, float(expected), rtol=1e-12)
    np.testing.assert_allclose(r.error, abs(float(expected) - np.cos(float(xd))), rtol=1e-9, atol=1e-300)
    assert r.x == float(xd)                              # x rounded to the dtype: f′ exact there


def test_regime_of_h_is_the_side_of_the_optimum():
    best = fd().study.best_h
    assert fd(h=best / 100).regime == "rounding"
    assert fd(h=best * 100).regime == "truncation"


def test_moving_h_reuses_the_memoised_curve():
    a, b = fd(h=1e-3), fd(h=1e-9)
    assert a.study is b.study                           # one curve, the h slider only moves the marker
    assert fd(h=1e-3, dtype="float32").study is not a.study
    with pytest.raises(ValueError, match="read-only"):
        a.study.error[0] = 1.0                          # the shared cached arrays cannot be corrupted


def test_x_plus_h_equal_to_x_is_noted():
    r = fd(h=1e-10, dtype="float32")
    assert r.approx == 0.0 and "rounds to x" in r.note
    assert fd(function="tanh", x=0.0).note.startswith("f″(x) = 0")


def test_set_changes_the_figure():
    ex = bp.widgets.FiniteDifferenceExplorer()
    before = ex.render_png()
    ex.set(h=1e-12)
    assert ex.render_png() != before
    np.testing.assert_allclose(ex.mark_h.get_xdata(), [1e-12])
    before = ex.render_png()
    ex.set(method="central", dtype="float32")
    assert ex.render_png() != before
    np.testing.assert_allclose(ex.mark_best.get_xdata(), [ex.result.study.best_h])
    assert "central" in ex.ax.get_title() and "float32" in ex.ax.get_title()


@pytest.mark.parametrize(("changes", "match"), [
    ({"function": "log"}, "unknown function 'log'"),
    ({"method": "left"}, "unknown method"),
    ({"dtype": "float16"}, "unknown dtype"),
    ({"h": 0.0}, r"h \(the step\) must lie in \[1e-16, 1.0\]"),
    ({"h": 2.0}, r"h \(the step\) must lie in"),
    ({"x": 5.0}, r"x must lie in \[-3.0, 3.0\]"),
    ({"depth": 3}, "unknown setting"),
])
def test_bad_settings_are_refused_from_code(changes, match):
    ex = bp.widgets.FiniteDifferenceExplorer()
    with pytest.raises(ValueError, match=match):
        ex.set(**changes)


def test_bad_settings_from_a_control_become_a_message_not_a_traceback():
    ex = bp.widgets.FiniteDifferenceExplorer()
    ex.show()
    ex._on_control("x", {"new": 7.5})
    assert ex._message.get_visible() and "x must lie in" in ex._message.get_text()
    ex._widgets["x"].value = 0.5                        # a valid value clears it
    assert ex.settings.x == 0.5 and not ex._message.get_visible()


def test_presentation_theme_makes_a_bigger_figure():
    small = bp.widgets.FiniteDifferenceExplorer().fig.get_size_inches()
    big = bp.widgets.FiniteDifferenceExplorer(theme="presentation").fig.get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]
