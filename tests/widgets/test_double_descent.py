"""DoubleDescentExplorer: the marked fit against a direct ridge / min-norm fit of the same features,
the gains against their closed forms, the peak following n, memoisation, set() redraws (also with
values the sliders lack), bad settings refused from code and shown as a message from a control."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.train.random_features import cached_problem, min_norm_fit, ridge_fit
from backprop_lib.widgets.double_descent import (
    N_TEST,
    P_MAX,
    DoubleDescentSettings,
    compute_double_descent,
)


def dd(**changes):
    return compute_double_descent(DoubleDescentSettings(**changes))


@pytest.mark.parametrize(("p", "lam"), [(30, 0.0), (100, 0.0), (100, 1.0), (640, 0.1)])
def test_the_marked_fit_is_a_direct_fit_of_the_same_features(p, lam):
    r = dd(n=100, d=20, p=p, noise=0.3, lam=lam, seed=2)
    prob = cached_problem(100, 20, P_MAX, 2, N_TEST)
    phi = prob.features(prob.x)[:, :p]                        # recomputed from x and F
    y = prob.x @ prob.beta + 0.3 * prob.eps
    theta = min_norm_fit(phi, y) if lam == 0 else ridge_fit(phi, y, lam)
    y_test = prob.x_test @ prob.beta + 0.3 * prob.eps_test
    test = np.mean((prob.features(prob.x_test)[:, :p] @ theta - y_test) ** 2)
    assert r.point["test_error"] == pytest.approx(test, rel=1e-6)
    assert r.point["theta_norm"] == pytest.approx(np.linalg.norm(theta), rel=1e-6)
    np.testing.assert_allclose(r.singular, np.linalg.svd(phi, compute_uv=False)[: min(100, p)], rtol=1e-9)


def test_gains_are_one_over_s_for_min_norm_and_capped_at_one_over_two_root_lambda_for_ridge():
    r = dd(p=100, lam=0.0)
    np.testing.assert_allclose(r.gain * r.singular, 1.0, rtol=1e-12)
    for lam in (0.01, 1.0, 100.0):
        r = dd(p=100, lam=lam)
        np.testing.assert_allclose(r.gain, r.singular / (r.singular**2 + lam), rtol=1e-12)
        assert r.gain.max() <= 0.5 / np.sqrt(lam) * (1 + 1e-12)   # s/(s² + λ) ≤ 1/(2√λ)


def test_the_peak_sits_at_p_equals_n_and_moves_with_n():
    assert dd(n=100).curve.peak_p == 100
    assert dd(n=50, p=50).curve.peak_p == 50
    assert dd(n=50, d=5).curve.peak_p == 50                      # d does not move it


def test_ridge_lowers_the_peak_and_keeps_the_min_norm_curve_for_comparison():
    plain, ridge = dd(lam=0.0), dd(lam=1.0)
    assert plain.min_norm is None
    np.testing.assert_allclose(ridge.min_norm.test_error, plain.curve.test_error)
    i = int(np.flatnonzero(ridge.curve.p == 100)[0])
    assert ridge.curve.test_error[i] < plain.curve.test_error[i] / 10
    assert ridge.floor == pytest.approx(0.09)


def test_noise_and_lambda_moves_reuse_the_cached_problem():
    dd(n=60, seed=7)
    prob = cached_problem(60, 20, P_MAX, 7, N_TEST)
    svds = dict(prob._svd)
    dd(n=60, seed=7, noise=1.0, lam=3.0)
    assert cached_problem(60, 20, P_MAX, 7, N_TEST) is prob
    assert prob._svd.keys() == svds.keys() and all(prob._svd[k] is svds[k] for k in svds)


def test_set_changes_the_figure_and_its_lines():
    ex = bp.widgets.DoubleDescentExplorer()
    before = ex.render_png()
    ex.set(lam=1.0, p=300)
    assert ex.render_png() != before
    np.testing.assert_allclose(ex.test.get_ydata(), ex.result.curve.test_error)
    np.testing.assert_allclose(ex.ref_test.get_ydata(), ex.result.min_norm.test_error)
    assert list(ex.mark_err.get_xdata()) == [300] and ex.cap.get_visible()
    ex.set(lam=0.0, noise=0.0)
    assert len(ex.ref_test.get_xdata()) == 0 and not ex.floor.get_visible() and not ex.cap.get_visible()


def test_values_the_sliders_lack_are_added_to_them():
    ex = bp.widgets.DoubleDescentExplorer()
    ex.show()
    ex.set(p=137, lam=0.5)
    assert ex._widgets["p"].value == 137 and ex._widgets["lam"].value == 0.5
    assert ex.result.point["p"] == 137


@pytest.mark.parametrize(("changes", "match"), [
    ({"p": P_MAX + 1}, "p must lie in"),
    ({"n": 500}, "n must lie in"),
    ({"noise": -0.1}, "noise"),
    ({"lam": -1.0}, "lam"),
    ({"seed": -1}, "seed"),
    ({"width": 3}, "unknown setting"),
])
def test_bad_settings_are_refused_from_code(changes, match):
    ex = bp.widgets.DoubleDescentExplorer()
    with pytest.raises(ValueError, match=match):
        ex.set(**changes)


def test_bad_settings_from_a_control_become_a_message_not_a_traceback():
    ex = bp.widgets.DoubleDescentExplorer()
    ex.show()
    ex._on_control("noise", {"new": -1.0})
    assert ex._message.get_visible() and "noise" in ex._message.get_text()


def test_presentation_theme_makes_a_larger_figure():
    small = bp.widgets.DoubleDescentExplorer()
    big = bp.widgets.DoubleDescentExplorer(theme="presentation")
    assert big.fig.get_size_inches()[0] > small.fig.get_size_inches()[0]
