"""ScheduleViewer: bp = torch for every kind, the closed forms, the plateau's noisy quadratic,
set() redraws and shows the relevant controls, bad settings are refused, no torch is handled."""

import math
import sys

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.widgets.schedule_viewer import (
    KINDS,
    NOISE,
    ScheduleSettings,
    compute_schedule,
    sgd_epoch,
)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lr", [0.1, 3.0])
def test_every_kind_matches_torch_over_200_steps(kind, lr):
    r = compute_schedule(ScheduleSettings(kind=kind, lr=lr, steps=200, T_max=70, eta_min=0.001, warmup=15))
    assert r.lr.shape == r.torch_lr.shape == (201,)
    assert len(np.unique(np.round(r.lr / lr, 12))) > 2             # the schedule really moves
    assert r.max_abs_diff <= 1e-12 * lr


def test_s4_schedules_match_torch():
    # S4 §3.3.1: StepLR(step_size=30, gamma=0.1), CosineAnnealingLR(T_max=100), ReduceLROnPlateau(patience=10)
    for settings in (ScheduleSettings(kind="step", step_size=30, gamma=0.1),
                     ScheduleSettings(kind="cosine", T_max=100),
                     ScheduleSettings(kind="plateau", patience=10)):
        r = compute_schedule(settings)
        assert r.max_abs_diff <= 1e-12 and r.reductions >= 2


def test_closed_forms_without_torch():
    t = np.arange(201)
    r = compute_schedule(ScheduleSettings(kind="step", lr=0.2, step_size=30, gamma=0.5))
    np.testing.assert_allclose(r.lr, 0.2 * 0.5 ** (t // 30), rtol=1e-14)
    r = compute_schedule(ScheduleSettings(kind="exponential", lr=0.2, exp_gamma=0.98))
    np.testing.assert_allclose(r.lr, 0.2 * 0.98**t, rtol=1e-12)
    r = compute_schedule(ScheduleSettings(kind="cosine", lr=0.2, T_max=100, eta_min=0.01))
    np.testing.assert_allclose(r.lr, 0.01 + 0.5 * (0.2 - 0.01) * (1 + np.cos(np.pi * t / 100)), rtol=1e-13)
    assert r.lr[100] == pytest.approx(0.01) and r.lr[200] == pytest.approx(0.2)
    r = compute_schedule(ScheduleSettings(kind="warmup_cosine", lr=0.2, warmup=20, start_factor=0.25,
                                          T_max=50))
    ramp = 0.2 * (0.25 + 0.75 * t[:20] / 20)
    np.testing.assert_allclose(r.lr[:20], ramp, rtol=1e-13)
    after = t[20:] - 20                                              # the cosine starts at its own t = 0
    np.testing.assert_allclose(r.lr[20:], 0.1 * (1 + np.cos(np.pi * after / 50)), rtol=1e-12, atol=1e-15)


def test_warmup_formula_of_the_syllabus_is_linear_lr():
    # η₀ min(1, (t+1)/T_w) = LinearLR(start_factor=1/T_w, total_iters=T_w − 1)
    T_w = 8
    s = ScheduleSettings(kind="warmup", lr=0.4, warmup=T_w - 1, start_factor=1 / T_w, steps=30)
    r = compute_schedule(s)
    np.testing.assert_allclose(r.lr, 0.4 * np.minimum(1, (np.arange(31) + 1) / T_w), rtol=1e-13)


def test_sgd_epoch_recursion_and_floor():
    # one step by hand, then the fixed point η/(2 − η)
    assert sgd_epoch(1.0, 0.1, steps=1) == pytest.approx(0.81 + 0.01, rel=1e-15)
    for lr in (0.01, 0.1, 0.5, 1.5):
        m = sgd_epoch(1.0, lr, steps=20_000)
        assert m == pytest.approx(lr / (2 - lr), rel=1e-9)
    assert sgd_epoch(1.0, 3.0, steps=50) == 1e6                     # diverging lr: capped, not inf


def test_sgd_epoch_matches_a_monte_carlo_simulation():
    rng = np.random.default_rng(0)
    e = np.ones(200_000)
    for _ in range(10):
        e = e - 0.3 * (e + rng.standard_normal(e.shape))             # e ← e − η(e + ξ)
    assert np.mean(e**2) == pytest.approx(sgd_epoch(1.0, 0.3), rel=0.01)


def test_plateau_cuts_the_lr_and_the_loss_floor_follows():
    s = ScheduleSettings(kind="plateau", lr=0.1, patience=10, factor=0.1, steps=200)
    r = compute_schedule(s)
    assert r.metric.shape == (200,) and np.all(r.metric > 0)
    cuts = np.flatnonzero(np.diff(r.lr) < 0) + 1                     # lr_t changed at these t
    assert len(cuts) >= 2
    ratios = r.lr[cuts] / r.lr[cuts - 1]
    np.testing.assert_allclose(ratios, 0.1, rtol=1e-12)
    # before the first cut the loss sits at the floor of lr = 0.1: ½·η/(2 − η), within the noise
    floor = 0.5 * 0.1 / 1.9
    before = r.metric[cuts[0] - 10:cuts[0]]
    assert np.mean(before) == pytest.approx(floor, rel=3 * NOISE)
    # ten times smaller lr: ten times lower floor (about), reached before the second cut
    assert np.mean(r.metric[cuts[1] - 5:cuts[1]]) < 0.2 * np.mean(before)
    # no cut without more than `patience` epochs since the last best
    best, bad = math.inf, 0
    for t, loss in enumerate(r.metric):
        bad = 0 if loss < best * (1 - 1e-4) else bad + 1
        best = min(best, loss)
        if t + 1 in set(cuts):
            assert bad > s.patience
            bad = 0


def test_describe_is_torch_code_for_the_same_schedule():
    from torch.optim.lr_scheduler import (  # noqa: F401  (used by eval)
        CosineAnnealingLR,
        ExponentialLR,
        LinearLR,
        SequentialLR,
        StepLR,
    )

    for kind in KINDS:
        if kind == "plateau":
            continue
        s = ScheduleSettings(kind=kind, eta_min=0.002, steps=60)
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=s.lr)
        sched = eval(s.describe())
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(s.steps):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        np.testing.assert_allclose(lrs, compute_schedule(s).lr, rtol=1e-12, atol=1e-15)


def test_set_redraws_and_shows_only_the_relevant_controls():
    v = bp.widgets.ScheduleViewer()
    v.show()
    before = v.render_png()
    v.set(kind="cosine", T_max=50)
    assert v.render_png() != before
    np.testing.assert_allclose(v.line_bp.get_ydata(), v.result.lr)
    assert "CosineAnnealingLR(opt, T_max=50)" in v.ax.get_title()
    assert v._widgets["T_max"].value == 50 and v._widgets["T_max"].layout.display is None
    assert v._widgets["step_size"].layout.display == "none"
    v.set(kind="plateau")
    assert v.ax_metric.get_visible() and v._widgets["patience"].layout.display is None
    np.testing.assert_allclose(v.line_metric.get_ydata(), v.result.metric)
    v.set(kind="step", log_y=True)
    assert not v.ax_metric.get_visible() and v.ax.get_yscale() == "log"


@pytest.mark.parametrize(("changes", "match"), [
    ({"kind": "triangle"}, "unknown kind"),
    ({"steps": 5000}, "at most"),
    ({"gamma": 0.0}, "gamma"),
    ({"factor": 1.0}, "factor"),
    ({"patience": -1}, "patience"),
    ({"lr": -0.1}, "lr"),
    ({"T_max": 0}, "T_max"),
    ({"depth": 3}, "unknown setting"),
])
def test_bad_settings_are_refused_from_code(changes, match):
    v = bp.widgets.ScheduleViewer()
    with pytest.raises(ValueError, match=match):
        v.set(**changes)


def test_bad_control_value_becomes_a_message_not_a_traceback():
    v = bp.widgets.ScheduleViewer()
    v.show()
    v._on_control("lr", {"new": 50.0})
    assert v._message.get_visible() and "lr" in v._message.get_text()
    assert v.settings.lr == 0.1                                      # the last good settings stay


def test_without_torch_only_bp_is_drawn(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)                   # `import torch` raises ImportError
    v = bp.widgets.ScheduleViewer(kind="cosine")
    assert v.result.torch_lr is None and math.isnan(v.result.max_abs_diff)
    assert len(v.line_torch.get_xdata()) == 0 and "torch not installed" in v.ax.get_title()


def test_presentation_theme_makes_a_bigger_figure():
    small = bp.widgets.ScheduleViewer().fig.get_size_inches()
    big = bp.widgets.ScheduleViewer(theme="presentation").fig.get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]
