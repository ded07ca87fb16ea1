"""NTKExplorer: its kernels are bp.ntk's, its training is gradient descent, its prediction is
bp.ntk.linearized_dynamics; wide networks approach Θ_∞, freeze their kernel and follow the
prediction, narrow ones do not; set() redraws; bad settings are refused naming the field."""

import re

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.widgets.ntk_explorer import (
    ACTIVATIONS,
    N_TEST,
    N_TRAIN,
    UPDATE_BUDGET,
    NTKSettings,
    analytic_kernel,
    build_network,
    compute_ntk_explorer,
    fixed_data,
    parameter_count,
)
from tests._oracles import sgd_mse_outputs


def ntk(**changes):
    return compute_ntk_explorer(NTKSettings(**changes))



# -- the kernels ----------------------------------------------------------------------------------
def test_fixed_data_is_the_circle():
    d = fixed_data()
    assert d.x_train.shape == (N_TRAIN, 2) and d.x_test.shape == (N_TEST, 2)
    for x, phi, y in ((d.x_train, d.phi_train, d.y_train), (d.x_test, d.phi_test, d.y_test)):
        np.testing.assert_allclose(x, np.stack([np.cos(phi), np.sin(phi)], axis=1), atol=1e-15)
        np.testing.assert_allclose(y, np.cos(phi) + 0.5 * np.sin(2 * phi), atol=1e-15)
    # test points lie halfway between training points: none coincides with one
    assert np.min(np.abs(d.phi_test[:, None] - d.phi_train[None, :])) > 0.03


@pytest.mark.parametrize(("activation", "depth", "order"), [
    ("relu", 1, None), ("relu", 3, None), ("identity", 2, None), ("tanh", 2, 16), ("gelu", 1, 16),
])
def test_analytic_heatmap_is_bp_ntk_analytic(activation, depth, order):
    ex = bp.widgets.NTKExplorer(activation=activation, depth=depth, width=32, steps=1)
    expected = bp.ntk.analytic(fixed_data().x_train, depth=depth, activation=activation,
                               quadrature_order=order).ntk
    np.testing.assert_allclose(ex.result.analytic, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.asarray(ex.view.im_analytic.get_array()), expected, rtol=1e-12, atol=1e-14)
    if order is not None:                                    # order 16 is as good as 32 for the picture
        finer = bp.ntk.analytic(fixed_data().x_train, depth=depth, activation=activation, quadrature_order=32)
        np.testing.assert_allclose(ex.result.analytic, finer.ntk, rtol=1e-6, atol=1e-9)


def test_empirical_heatmap_is_bp_ntk_empirical_of_the_same_network():
    s = NTKSettings(width=64, depth=2, activation="tanh", seed=5, steps=3)
    r = compute_ntk_explorer(s)
    net = build_network(s)
    ref = bp.nn.mlp([2, 64, 64, 1], activation="tanh", seed=5, parameterization="ntk")
    for p, q in zip(net.parameters(), ref.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    x = fixed_data().x_train
    np.testing.assert_allclose(r.empirical, bp.ntk.empirical(net, x), rtol=1e-12)
    np.testing.assert_allclose(r.empirical, bp.ntk.empirical_jacobian(net, x), rtol=1e-10, atol=1e-12)
    assert r.distance == pytest.approx(np.linalg.norm(r.empirical - r.analytic) / np.linalg.norm(r.analytic),
                                       rel=1e-12)
    ex = bp.widgets.NTKExplorer(width=64, depth=2, activation="tanh", seed=5, steps=3)
    np.testing.assert_allclose(np.asarray(ex.view.im_empirical.get_array()), r.empirical)
    assert f"{r.distance:.3g}" in ex.view.ax_empirical.get_title()


@pytest.mark.parametrize("depth", [1, 2])
def test_distance_to_the_analytic_kernel_shrinks_with_width_on_average_over_seeds(depth):
    widths, seeds = (16, 256, 4096) if depth == 1 else (16, 128, 1024), range(5)
    mean = [np.mean([ntk(width=w, depth=depth, seed=s, steps=1).distance for s in seeds]) for w in widths]
    assert mean[0] > mean[1] > mean[2]
    # ∝ 1/√width: a factor 8 (depth 1: 16) per step of the list; allow a wide margin
    assert mean[2] < 0.35 * mean[1] < 0.35**2 * mean[0]


def test_seeds_vary_more_at_small_width():
    kernels = {w: [ntk(width=w, seed=s, steps=1).empirical for s in range(4)] for w in (16, 4096)}
    spread = {w: np.mean(np.std(k, axis=0)) for w, k in kernels.items()}
    assert spread[4096] < 0.1 * spread[16]


# -- training and the prediction --------------------------------------------------------------------
def test_training_is_gradient_descent_and_the_kernel_change_is_measured_on_the_trained_net():
    s = NTKSettings(width=128, depth=2, activation="relu", lr=2.0, steps=40, seed=1)
    r = compute_ntk_explorer(s)
    d, net = fixed_data(), build_network(s)
    theta0 = bp.ntk.empirical(net, d.x_train)
    f0_test = net(d.x_test)[:, 0].copy()
    actual = sgd_mse_outputs(net, d.x_train, d.y_train, s.lr, s.steps)
    np.testing.assert_allclose(r.actual_train, actual, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r.initial_test, f0_test, rtol=1e-12)
    np.testing.assert_allclose(r.actual_test, net(d.x_test)[:, 0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r.actual_loss, 0.5 * np.mean((actual - d.y_train) ** 2, axis=1), rtol=1e-9)
    theta_t = bp.ntk.empirical(net, d.x_train)
    np.testing.assert_array_equal(r.checkpoints, np.arange(0, 41, 4))
    assert r.kernel_change[0] == 0.0
    assert r.kernel_change[-1] == pytest.approx(np.linalg.norm(theta_t - theta0) / np.linalg.norm(theta0),
                                                rel=1e-7)
    np.testing.assert_allclose(r.final_kernel, theta_t, rtol=1e-8, atol=1e-12)


def test_prediction_is_linearized_dynamics_of_the_initial_kernel():
    s = NTKSettings(width=64, activation="gelu", lr=3.0, steps=30, seed=2)
    r = compute_ntk_explorer(s)
    d, net = fixed_data(), build_network(s)
    theta, cross = bp.ntk.empirical(net, d.x_train), bp.ntk.empirical(net, d.x_test, d.x_train)
    pred = bp.ntk.linearized_dynamics(theta, cross, d.y_train, net(d.x_train)[:, 0], net(d.x_test)[:, 0],
                                      s.lr, np.arange(31), method="gd")
    np.testing.assert_allclose(r.predicted_train, pred.f_train, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.predicted_test, pred.f_test[-1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.predicted_loss, pred.train_loss, rtol=1e-10)
    moved = np.max(np.linalg.norm(r.actual_train - r.actual_train[0], axis=1))
    off = np.max(np.linalg.norm(r.actual_train - pred.f_train, axis=1))
    assert r.train_error == pytest.approx(off / moved)
    assert r.test_error == pytest.approx(np.linalg.norm(r.actual_test - r.predicted_test)
                                         / np.linalg.norm(r.actual_test - r.initial_test))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wide_network_follows_the_prediction_and_a_narrow_one_does_not(seed):
    wide, narrow = ntk(width=4096, seed=seed), ntk(width=16, seed=seed)
    assert wide.message is None and narrow.message is None
    # the wide network's outputs stay within 1% (of how far they moved) of the linearised ones
    assert wide.train_error < 0.01 and wide.test_error < 0.01
    assert wide.train_error < 0.1 * narrow.train_error
    assert wide.test_error < 0.2 * narrow.test_error
    assert wide.actual_loss[-1] < 0.01 * wide.actual_loss[0]          # and it did learn the target


def test_kernel_moves_less_while_training_the_wider_the_network():
    change = {w: np.mean([ntk(width=w, seed=s).kernel_change[-1] for s in range(3)]) for w in (16, 256, 4096)}
    assert change[16] > change[256] > change[4096]
    assert change[4096] < 0.1 * change[16]                              # the lazy regime
    assert change[4096] < 0.02


def test_a_learning_rate_beyond_two_over_the_sharpness_is_a_message_not_an_exception():
    r0 = ntk(width=64)
    lam_max = np.linalg.eigvalsh(r0.empirical)[-1]
    assert r0.sharpness == pytest.approx(r0.settings.lr * lam_max / N_TRAIN)
    limit = 2 * N_TRAIN / lam_max
    r = ntk(width=64, lr=1.01 * limit)
    assert not r.trained and r.checkpoints is None
    assert re.search(r"diverge.*Use lr < ", r.message) and f"{limit:.3g}" in r.message
    assert ntk(width=64, lr=0.98 * limit, steps=5).message is None
    ex = bp.widgets.NTKExplorer(width=64)
    ex.set(lr=1.01 * limit)
    assert ex.error is None and ex._message.get_visible() and "diverge" in ex._message.get_text()
    assert len(ex.view.line_actual.get_xdata()) == 0 and ex.render_png().startswith(b"\x89PNG")
    ex.set(lr=1.0)
    assert not ex._message.get_visible() and len(ex.view.line_actual.get_xdata()) == N_TEST


def test_a_run_that_diverges_while_training_keeps_the_steps_before():
    # gelu at depth 3 and width 16: stable at step 0 (η·λ_max/n = 1.98), but the kernel grows
    base = NTKSettings(width=16, depth=3, activation="gelu", seed=2)
    lr = 1.98 * base.lr / compute_ntk_explorer(base).sharpness
    r = ntk(width=16, depth=3, activation="gelu", seed=2, lr=lr)
    assert r.message is not None and r.message.startswith("Training diverged between steps")
    assert r.trained and np.all(np.isfinite(r.actual_train)) and r.actual_train.shape[0] < 101
    assert r.actual_test is None and np.isnan(r.test_error)
    assert r.checkpoints.size == r.kernel_change.size
    ex = bp.widgets.NTKExplorer(width=16, depth=3, activation="gelu", seed=2)
    ex.set(lr=lr)
    assert ex._message.get_visible() and ex.render_png().startswith(b"\x89PNG")


# -- the view and the controls -------------------------------------------------------------------------
def test_set_width_changes_the_result_and_the_figure():
    ex = bp.widgets.NTKExplorer(width=16)
    before, old = ex.render_png(), ex.result
    ex.set(width=4096)
    r = ex.result
    assert r.settings.width == 4096 and r.distance < old.distance
    assert not np.allclose(r.empirical, old.empirical)
    np.testing.assert_allclose(r.analytic, old.analytic)                  # the limit does not depend on width
    np.testing.assert_allclose(np.asarray(ex.view.im_empirical.get_array()), r.empirical)
    np.testing.assert_allclose(ex.view.line_actual.get_ydata(), r.actual_test)
    np.testing.assert_allclose(ex.view.line_change.get_ydata(), r.kernel_change)
    assert "width 4096" in ex.view.ax_empirical.get_title() and "width 4096" in ex.fig._suptitle.get_text()
    assert ex.render_png() != before


def test_heatmaps_share_one_colour_scale_centred_on_zero_when_negative():
    ex = bp.widgets.NTKExplorer(width=32, activation="tanh", steps=1)
    r = ex.result
    top = max(np.abs(r.analytic).max(), np.abs(r.empirical).max())
    assert np.any(r.analytic < 0)
    for image in (ex.view.im_analytic, ex.view.im_empirical):
        assert image.get_clim() == pytest.approx((-top, top))
        assert image.get_cmap().name == bp.viz.style.DIVERGING_CMAP


def test_the_figure_renders_to_png_in_both_themes():
    small = bp.widgets.NTKExplorer(steps=5)
    big = bp.widgets.NTKExplorer(steps=5, theme="presentation")
    for ex in (small, big):
        assert ex.render_png().startswith(b"\x89PNG") and ex.canvas_png().startswith(b"\x89PNG")
    assert np.all(big.fig.get_size_inches() > small.fig.get_size_inches())


def test_controls_drive_the_explorer_and_refused_settings_become_a_message():
    ex = bp.widgets.NTKExplorer(width=64, steps=20)
    ex.show()
    w = ex._widgets
    assert set(w) == {"width", "depth", "activation", "lr", "steps", "seed"}
    assert all(w[k].continuous_update is False for k in ("width", "depth", "lr", "steps"))
    assert w["width"].base == 2 and 2 ** w["width"].min == 16 and 2 ** w["width"].max == 4096
    w["width"].value = 2.0**10                                 # the log slider gives a float
    assert ex.settings.width == 1024 and isinstance(ex.settings.width, int)
    assert ex.result.settings.width == 1024
    w["width"].value = 2.0**12
    w["depth"].value = 3                                       # 4096 wide and 3 deep: beyond the budget
    assert ex.settings.depth == 1 and ex._message.get_visible()
    assert "too much work" in ex._message.get_text()
    ex.set(width=100, depth=2)                                 # from code: the controls follow
    assert w["width"].value == 100 and w["depth"].value == 2


def test_clear_cache_forgets_the_analytic_kernels():
    ntk(width=16, steps=1)
    assert analytic_kernel.cache_info().currsize >= 1
    bp.widgets.NTKExplorer.clear_cache()
    assert analytic_kernel.cache_info().currsize == 0


# -- bad settings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("changes", "match"), [
    ({"width": 8}, "width must be an integer from 16 to 4096"),
    ({"width": 8192}, "width must be an integer from 16 to 4096"),
    ({"depth": 0}, "depth must be an integer from 1 to 3"),
    ({"depth": 4}, "depth must be an integer from 1 to 3"),
    ({"activation": "swish"}, "unknown activation 'swish'"),
    ({"lr": 0.0}, "lr must lie in"),
    ({"lr": 1e3}, "lr must lie in"),
    ({"steps": 0}, "steps must be an integer from 1 to 100"),
    ({"steps": 101}, "steps must be an integer from 1 to 100"),
    ({"seed": -1}, "seed must be an integer"),
    ({"width": 4096, "depth": 3}, "steps=2 at width=4096 and depth=3 is too much work"),
    ({"momentum": 0.9}, "unknown setting"),
])
def test_bad_settings_are_refused_naming_the_field(changes, match):
    ex = bp.widgets.NTKExplorer(width=32, steps=2)
    with pytest.raises(ValueError, match=match):
        ex.set(**changes)
    assert ex.settings.width == 32 and ex.settings.depth == 1          # the last good setting stays


@pytest.mark.parametrize(("changes", "match"), [
    ({"width": 64.5}, "width must be an integer"),
    ({"depth": True}, "depth must be an integer"),
    ({"lr": "fast"}, "lr must be a number"),
])
def test_wrong_types_are_refused(changes, match):
    with pytest.raises(TypeError, match=match):
        NTKSettings(**changes)


def test_the_budget_message_names_steps_and_a_width_that_fit():
    with pytest.raises(ValueError, match="too much work") as info:
        NTKSettings(width=2048, depth=2, steps=100)
    text = str(info.value)
    max_steps = int(re.search(r"steps to ≤ (\d+)", text).group(1))
    max_width = int(re.search(r"width to ≤ (\d+)", text).group(1))
    NTKSettings(width=2048, depth=2, steps=max_steps)                 # both suggestions are accepted
    NTKSettings(width=max_width, depth=2, steps=100)
    with pytest.raises(ValueError):
        NTKSettings(width=2048, depth=2, steps=max_steps + 1)
    with pytest.raises(ValueError):
        NTKSettings(width=max_width + 1, depth=2, steps=100)
    assert parameter_count(2048, 2) == 3 * 2048 + 2049 * 2048 + 2049
    assert parameter_count(4096, 1) * 110 < UPDATE_BUDGET              # depth 1 fits at every width


def test_every_activation_gives_a_finite_result():
    for activation in ACTIVATIONS:
        r = ntk(width=32, depth=2, activation=activation, steps=3)
        assert r.message is None and np.all(np.isfinite(r.analytic)) and np.all(np.isfinite(r.actual_train))
        np.testing.assert_allclose(r.analytic, r.analytic.T)


def test_compute_refuses_anything_but_settings():
    with pytest.raises(TypeError, match="NTKSettings"):
        compute_ntk_explorer({"width": 64})
