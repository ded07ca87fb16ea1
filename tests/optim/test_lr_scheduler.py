"""bp.optim.lr_scheduler against torch.optim.lr_scheduler: the learning rates of two
parameter groups over 200 steps, state_dict round trips, and bad input."""

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.nn.module import Parameter

LRS = (0.1, 0.03)   # two parameter groups with different base learning rates
STEPS = 200


def _optimizers():
    ours = bp.optim.SGD([{"params": [Parameter(np.zeros(2))], "lr": LRS[0]},
                         {"params": [Parameter(np.zeros(3))], "lr": LRS[1]}], lr=1.0, momentum=0.9)
    theirs = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": LRS[0]},
                              {"params": [torch.zeros(3, requires_grad=True)], "lr": LRS[1]}],
                             lr=1.0, momentum=0.9)
    return ours, theirs


def _build(module, spec, opt):
    """spec: (name, kwargs) or ("SequentialLR", [specs...], milestones)."""
    if spec[0] == "SequentialLR":
        inner = [_build(module, s, opt) for s in spec[1]]
        return module.SequentialLR(opt, inner, milestones=spec[2])
    return getattr(module, spec[0])(opt, **spec[1])


def _lr_histories(spec, metrics=None):
    """(ours, torch's): the group lrs after construction and after each of 200 steps."""
    opt, topt = _optimizers()
    sched = _build(bp.optim.lr_scheduler, spec, opt)
    tsched = _build(torch.optim.lr_scheduler, spec, topt)
    ours = [sched.get_last_lr()]
    theirs = [tsched.get_last_lr()]
    for t in range(STEPS):
        topt.step()                     # (no gradients: a no-op, but torch expects it before sched.step)
        if metrics is None:
            sched.step()
            tsched.step()
        else:
            sched.step(metrics[t])
            tsched.step(metrics[t])
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
        ours.append(sched.get_last_lr())
        theirs.append([float(lr) for lr in tsched.get_last_lr()])
    return np.array(ours), np.array(theirs)


SCHEDULES = [
    ("StepLR", dict(step_size=30)),
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.97)),
    ("ExponentialLR", dict(gamma=1.005)),
    ("CosineAnnealingLR", dict(T_max=50)),                      # runs through two full periods
    ("CosineAnnealingLR", dict(T_max=200, eta_min=1e-3)),
    ("CosineAnnealingLR", dict(T_max=37, eta_min=0.01)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, total_iters=20)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=150)),
    ("SequentialLR", [("LinearLR", dict(start_factor=0.1, total_iters=10)),
                      ("CosineAnnealingLR", dict(T_max=190))], [10]),
    ("SequentialLR", [("LinearLR", dict(start_factor=0.25, total_iters=15)),
                      ("ExponentialLR", dict(gamma=0.98))], [15]),
    ("SequentialLR", [("LinearLR", dict(start_factor=0.5, total_iters=5)), ("StepLR", dict(step_size=20)),
                      ("CosineAnnealingLR", dict(T_max=70, eta_min=1e-4))], [5, 60]),
]


def _id(spec):
    if spec[0] == "SequentialLR":
        return "Sequential(" + "+".join(s[0] for s in spec[1]) + ")"
    return spec[0] + "(" + ",".join(f"{k}={v}" for k, v in spec[1].items()) + ")"


@pytest.mark.parametrize("spec", SCHEDULES, ids=_id)
def test_schedule_matches_torch_over_200_steps(spec):
    ours, theirs = _lr_histories(spec)
    assert len(np.unique(ours[:, 0])) > 2                         # the schedule really moves
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)


def _plateau_losses():
    """A fixed loss curve: improving, a flat stretch (changes below the 1e-4 rel threshold),
    improving again, worsening, then a long noisy plateau."""
    rng = np.random.default_rng(0)
    seg1 = 1.0 * 0.95 ** np.arange(30)
    seg2 = seg1[-1] * (1 + 1e-5 * rng.standard_normal(40))
    seg3 = seg2[-1] * 0.97 ** np.arange(1, 21)
    seg4 = seg3[-1] * 1.01 ** np.arange(1, 31)
    seg5 = seg4[-1] * (1 + 1e-3 * rng.standard_normal(80))
    losses = np.concatenate([seg1, seg2, seg3, seg4, seg5])
    assert len(losses) == STEPS
    return losses


PLATEAU = [
    dict(),
    dict(patience=3, factor=0.5, cooldown=5),
    dict(threshold_mode="abs", threshold=1e-3, patience=2),
    dict(mode="max", patience=4, factor=0.3),
    dict(patience=0, factor=0.2, min_lr=[1e-3, 1e-4]),
    dict(patience=1, factor=0.9, eps=0.004),
    dict(mode="max", threshold_mode="abs", threshold=0.01, patience=5, cooldown=3, min_lr=1e-3),
]


def _kw_id(k):
    return ",".join(f"{a}={v}" for a, v in k.items()) or "defaults"


@pytest.mark.parametrize("kwargs", PLATEAU, ids=_kw_id)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    losses = _plateau_losses()
    metrics = -losses if kwargs.get("mode") == "max" else losses
    ours, theirs = _lr_histories(("ReduceLROnPlateau", kwargs), metrics=[float(m) for m in metrics])
    assert len(np.unique(ours[:, 0])) >= 2                        # the plateau triggered a reduction
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def test_closed_forms():
    """The documented formulas, independent of torch."""
    opt, _ = _optimizers()
    sched = bp.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(10):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    t = np.arange(11)
    np.testing.assert_allclose(lrs, 0.01 + (0.1 - 0.01) * (1 + np.cos(np.pi * t / 10)) / 2, rtol=1e-14)
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] == pytest.approx(0.01)

    opt, _ = _optimizers()
    warm = bp.optim.lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=4)
    lrs = [warm.get_last_lr()[1]]
    for _ in range(6):
        warm.step()
        lrs.append(warm.get_last_lr()[1])
    np.testing.assert_allclose(lrs, 0.03 * np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0]), rtol=1e-14)


@pytest.mark.parametrize("spec", [SCHEDULES[1], SCHEDULES[6], SCHEDULES[12]], ids=_id)
def test_scheduler_state_dict_round_trip(spec):
    opt, _ = _optimizers()
    sched = _build(bp.optim.lr_scheduler, spec, opt)
    for _ in range(80):
        sched.step()
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    rest = []
    for _ in range(60):
        sched.step()
        rest.append(sched.get_last_lr())

    opt2, _ = _optimizers()
    sched2 = _build(bp.optim.lr_scheduler, spec, opt2)           # as in torch: build, then load
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    assert sched2.get_last_lr() == saved_sched["_last_lr"]
    resumed = []
    for _ in range(60):
        sched2.step()
        resumed.append(sched2.get_last_lr())
    np.testing.assert_allclose(resumed, rest, rtol=1e-15)


def test_plateau_state_dict_round_trip():
    losses = _plateau_losses()
    opt, _ = _optimizers()
    sched = bp.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=3, cooldown=2)
    for m in losses[:50]:
        sched.step(m)
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    for m in losses[50:]:
        sched.step(m)
    opt2, _ = _optimizers()
    sched2 = bp.optim.lr_scheduler.ReduceLROnPlateau(opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    for m in losses[50:]:
        sched2.step(m)
    assert sched2.get_last_lr() == sched.get_last_lr() and sched2.best == sched.best


def test_scheduler_drives_the_optimizers_step():
    """The lr a scheduler sets is the lr the next SGD step uses."""
    p = Parameter(np.zeros(1))
    opt = bp.optim.SGD([p], lr=1.0)
    sched = bp.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = np.ones(1)
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.data, [-(1 + 0.5 + 0.25)], rtol=1e-15)
    assert opt.lr == pytest.approx(0.125)


# -- bad input -------------------------------------------------------------------------------
S = bp.optim.lr_scheduler


@pytest.mark.parametrize("make, exc, pattern", [
    (lambda o: S.StepLR(o, step_size=0), ValueError, "StepLR: step_size must be an integer >= 1; got 0"),
    (lambda o: S.StepLR(o, step_size=2.5), TypeError, "StepLR: step_size must be an integer"),
    (lambda o: S.StepLR(o, step_size=3, gamma=0), ValueError, "StepLR: gamma must be > 0"),
    (lambda o: S.ExponentialLR(o, gamma=-0.9), ValueError, "ExponentialLR: gamma must be > 0"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError,
     "CosineAnnealingLR: T_max must be an integer >= 1"),
    (lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=-1), ValueError, "eta_min must be >= 0"),
    (lambda o: S.LinearLR(o, start_factor=0), ValueError, r"LinearLR: start_factor must be > 0.*0 < start"),
    (lambda o: S.LinearLR(o, start_factor=1.5), ValueError, "LinearLR: start_factor must be <= 1"),
    (lambda o: S.LinearLR(o, end_factor=2), ValueError, "LinearLR: end_factor must be <= 1"),
    (lambda o: S.LinearLR(o, total_iters=0), ValueError, "LinearLR: total_iters must be an integer >= 1"),
    (lambda o: S.ReduceLROnPlateau(o, mode="minimum"), ValueError, "unknown mode 'minimum'; expected one of"),
    (lambda o: S.ReduceLROnPlateau(o, threshold_mode="relative"), ValueError, "unknown threshold_mode"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, "ReduceLROnPlateau: factor must be < 1"),
    (lambda o: S.ReduceLROnPlateau(o, factor=0.0), ValueError, "ReduceLROnPlateau: factor must be > 0"),
    (lambda o: S.ReduceLROnPlateau(o, patience=-1), ValueError, "patience must be an integer >= 0"),
    (lambda o: S.ReduceLROnPlateau(o, cooldown=1.5), TypeError, "cooldown must be an integer"),
    (lambda o: S.ReduceLROnPlateau(o, threshold=-1e-4), ValueError, "threshold must be >= 0"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[0.0]), ValueError,
     "min_lr has 1 entries but the optimizer has 2"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=-1.0), ValueError, "min_lr must be >= 0"),
    (lambda o: S.SequentialLR(o, [S.LinearLR(o), S.StepLR(o, 5)], milestones=[]), ValueError,
     "milestones must have one entry fewer than schedulers"),
    (lambda o: S.SequentialLR(o, [], milestones=[]), ValueError, "schedulers is empty"),
    (lambda o: S.SequentialLR(o, [S.LinearLR(o), S.ReduceLROnPlateau(o)], milestones=[5]), TypeError,
     r"schedulers\[1\] must be a schedule"),
    (lambda o: S.SequentialLR(o, [S.LinearLR(o), S.StepLR(_optimizers()[0], 5)], milestones=[5]), ValueError,
     r"schedulers\[1\] was built on a different optimizer"),
])
def test_bad_scheduler_arguments_are_named(make, exc, pattern):
    opt, _ = _optimizers()
    with pytest.raises(exc, match=pattern):
        make(opt)


@pytest.mark.parametrize("cls", ["StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
                                 "ReduceLROnPlateau"])
def test_scheduler_needs_one_of_our_optimizers(cls):
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    args = {"StepLR": (3,), "ExponentialLR": (0.9,), "CosineAnnealingLR": (10,)}.get(cls, ())
    with pytest.raises(TypeError, match=f"{cls}: optimizer must be a bp.optim optimizer"):
        getattr(S, cls)(topt, *args)


def test_plateau_step_needs_a_numeric_metric():
    opt, _ = _optimizers()
    sched = S.ReduceLROnPlateau(opt)
    with pytest.raises(TypeError, match=r"step\(metrics\) needs the monitored value"):
        sched.step()
    with pytest.raises(TypeError, match="metrics must be a number"):
        sched.step("low")


@pytest.mark.parametrize("cls", ["StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "SequentialLR",
                                 "ReduceLROnPlateau"])
def test_scheduler_signature_matches_torch(cls):
    """Same argument names, order and defaults as torch (torch's last_epoch is not provided)."""
    import inspect

    def args(fn):
        return [(n, p.default) for n, p in inspect.signature(fn).parameters.items() if n != "last_epoch"]

    assert args(getattr(S, cls)) == args(getattr(torch.optim.lr_scheduler, cls))
