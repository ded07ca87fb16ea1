"""ScheduleViewer: the learning rate of every step under a schedule, bp and torch overlaid.

Pick a schedule and its parameters; the viewer builds ``bp.optim.lr_scheduler``'s version and
``torch.optim.lr_scheduler``'s twin on a one-parameter SGD, steps both ``steps`` times and
plots the learning rate lr_t of every step t = 0 … steps (t = 0: after construction), with
the largest difference between the two. The closed forms (base lr η₀):

    step           StepLR(step_size s, gamma γ)        η₀ γ^⌊t/s⌋
    exponential    ExponentialLR(gamma γ)               η₀ γᵗ
    cosine         CosineAnnealingLR(T_max T, eta_min)  η_min + ½(η₀ − η_min)(1 + cos(πt/T))
    warmup         LinearLR(start_factor f, total_iters w)   η₀ (f + (1 − f) min(t, w)/w)
    warmup_cosine  SequentialLR([LinearLR(f, w), CosineAnnealingLR(T, eta_min)], milestones=[w])
    plateau        ReduceLROnPlateau(patience p, factor φ): lr ← φ·lr after more than p epochs
                   without a new best of the monitored loss

``plateau`` needs a loss to watch, and a loss that reacts to the lr: each epoch is 10 SGD
steps on a noisy quadratic (``sgd_epoch``), whose expected loss falls to a floor ∝ lr and
stays there until the scheduler cuts the lr. The monitored loss is that expectation with 3 %
noise (a finite validation set); torch's scheduler is stepped with the same values. It is
drawn on a second axis.

    viewer = bp.widgets.ScheduleViewer(kind="step", step_size=30, gamma=0.1)
    viewer.set(kind="cosine", T_max=100)
    viewer.result.max_abs_diff          # max_t |lr_t(bp) − lr_t(torch)|

Without PyTorch installed the viewer shows bp's curve alone (``result.torch_lr`` is None).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np

from .._validate import check_choice, check_number, check_positive_int
from ..nn.module import Parameter
from ..optim.sgd import SGD
from ..viz import style
from .base import Explorer

KINDS = ("step", "exponential", "cosine", "warmup", "warmup_cosine", "plateau")
MAX_STEPS = 2000
STEPS_PER_EPOCH = 10     # SGD steps behind one value of the plateau's monitored loss
NOISE = 0.03             # relative noise of the monitored loss (a validation set is finite)


def sgd_epoch(m: float, lr: float, steps: int = STEPS_PER_EPOCH) -> float:
    """E[e²] after ``steps`` SGD steps at ``lr`` on the noisy quadratic ½e² (gradient e + ξ, Var ξ = 1).

    One step e ← e − η(e + ξ) gives E[e²] ← (1 − η)² E[e²] + η²: the error shrinks by (1 − η)²
    while the noise adds η², so at a constant lr E[e²] settles at η²/(1 − (1 − η)²) = η/(2 − η),
    a floor that only a smaller lr lowers. Capped at 1e6 (a diverging lr, η > 2).
    """
    for _ in range(steps):
        m = min((1.0 - lr) ** 2 * m + lr**2, 1e6)
    return m


@dataclass(frozen=True)
class ScheduleSettings:
    """One schedule and its parameters (names as in ``torch.optim.lr_scheduler``).

    kind: one of ``KINDS``. lr: the base learning rate η₀. steps: how many ``step()`` calls.
    step_size, gamma: of ``StepLR``. exp_gamma: the ``gamma`` of ``ExponentialLR``.
    T_max, eta_min: of ``CosineAnnealingLR`` (also the cosine part of ``warmup_cosine``).
    warmup, start_factor: ``total_iters`` and ``start_factor`` of the ``LinearLR`` warm-up.
    patience, factor: of ``ReduceLROnPlateau`` (mode ``"min"``, other arguments torch's defaults).
    log_y: plot the learning rate on a log axis.
    """

    kind: str = "step"
    lr: float = 0.1
    steps: int = 200
    step_size: int = 30
    gamma: float = 0.1
    exp_gamma: float = 0.97
    T_max: int = 100
    eta_min: float = 0.0
    warmup: int = 10
    start_factor: float = 0.1
    patience: int = 10
    factor: float = 0.1
    log_y: bool = False

    def __post_init__(self):
        object.__setattr__(self, "kind", check_choice(self.kind, "kind", KINDS))
        check_number(self.lr, "lr", low=0.0, high=10.0, low_open=True)
        check_positive_int(self.steps, "steps")
        if self.steps > MAX_STEPS:
            raise ValueError(f"steps must be at most {MAX_STEPS}; got {self.steps}.")
        check_positive_int(self.step_size, "step_size")
        check_number(self.gamma, "gamma", low=0.0, high=1.0, low_open=True)
        check_number(self.exp_gamma, "exp_gamma", low=0.0, high=1.1, low_open=True)
        check_positive_int(self.T_max, "T_max")
        check_number(self.eta_min, "eta_min", low=0.0)
        check_positive_int(self.warmup, "warmup")
        check_number(self.start_factor, "start_factor", low=0.0, high=1.0, low_open=True)
        if isinstance(self.patience, bool) or not isinstance(self.patience, (int, np.integer)) \
                or self.patience < 0:
            raise ValueError(f"patience must be an integer >= 0 (epochs without improvement); "
                             f"got {self.patience!r}.")
        check_number(self.factor, "factor", low=0.0, high=1.0, low_open=True, high_open=True)
        if not isinstance(self.log_y, (bool, np.bool_)):
            raise TypeError(f"log_y must be True or False; got {self.log_y!r}.")

    def describe(self) -> str:
        """The scheduler as a constructor call (what you would write in torch)."""
        s = self
        eta_min = f", eta_min={s.eta_min:g}" if s.eta_min else ""
        cosine = f"CosineAnnealingLR(opt, T_max={s.T_max}{eta_min})"
        warm = f"LinearLR(opt, start_factor={s.start_factor:g}, total_iters={s.warmup})"
        return {
            "step": f"StepLR(opt, step_size={s.step_size}, gamma={s.gamma:g})",
            "exponential": f"ExponentialLR(opt, gamma={s.exp_gamma:g})",
            "cosine": cosine,
            "warmup": warm,
            "warmup_cosine": f"SequentialLR(opt, [{warm}, {cosine}], milestones=[{s.warmup}])",
            "plateau": f"ReduceLROnPlateau(opt, 'min', patience={s.patience}, factor={s.factor:g})",
        }[s.kind]


def _build(module, opt, s: ScheduleSettings):
    """The scheduler of ``s`` from ``module`` (bp's or torch's ``lr_scheduler``) on ``opt``."""
    if s.kind == "step":
        return module.StepLR(opt, step_size=s.step_size, gamma=s.gamma)
    if s.kind == "exponential":
        return module.ExponentialLR(opt, gamma=s.exp_gamma)
    if s.kind == "cosine":
        return module.CosineAnnealingLR(opt, T_max=s.T_max, eta_min=s.eta_min)
    if s.kind == "plateau":
        return module.ReduceLROnPlateau(opt, mode="min", patience=s.patience, factor=s.factor)
    warm = module.LinearLR(opt, start_factor=s.start_factor, end_factor=1.0, total_iters=s.warmup)
    if s.kind == "warmup":
        return warm
    cosine = module.CosineAnnealingLR(opt, T_max=s.T_max, eta_min=s.eta_min)
    return module.SequentialLR(opt, [warm, cosine], milestones=[s.warmup])


def _bp_curve(s: ScheduleSettings, seed: int = 0):
    """bp's lr_t for t = 0 … steps, and (plateau) the monitored loss of each epoch, else None."""
    from ..optim import lr_scheduler

    opt = SGD([Parameter(np.zeros(1))], lr=s.lr)
    sched = _build(lr_scheduler, opt, s)
    group = opt.param_groups[0]
    lrs, losses = [group["lr"]], []
    rng, m = np.random.default_rng(seed), 1.0
    for _ in range(s.steps):
        if s.kind == "plateau":
            m = sgd_epoch(m, group["lr"])                           # train one epoch at the current lr
            losses.append(0.5 * m * (1.0 + NOISE * rng.standard_normal()))   # its validation loss
            sched.step(losses[-1])
        else:
            sched.step()
        lrs.append(group["lr"])
    return np.array(lrs, dtype=float), (np.array(losses) if s.kind == "plateau" else None)


def _torch_curve(s: ScheduleSettings, losses) -> np.ndarray | None:
    """torch's lr_t for t = 0 … steps (plateau: stepped with bp's losses), or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=s.lr)
    sched = _build(torch.optim.lr_scheduler, opt, s)
    lrs = [float(opt.param_groups[0]["lr"])]
    for t in range(s.steps):
        opt.step()                  # no gradients: a no-op, but torch expects it before sched.step()
        if losses is None:
            sched.step()
        else:
            sched.step(float(losses[t]))
        lrs.append(float(opt.param_groups[0]["lr"]))
    return np.array(lrs, dtype=float)


@dataclass(frozen=True)
class ScheduleResult:
    """lr_t for t = 0 … steps, from bp and from torch (None without torch)."""

    settings: ScheduleSettings
    t: np.ndarray                       # (steps + 1,)
    lr: np.ndarray                      # (steps + 1,) bp.optim.lr_scheduler
    torch_lr: np.ndarray | None         # (steps + 1,) torch.optim.lr_scheduler, or None
    metric: np.ndarray | None           # (steps,) the monitored loss of epoch t (plateau only)

    @property
    def max_abs_diff(self) -> float:
        """max_t |lr_t(bp) − lr_t(torch)| (NaN without torch)."""
        if self.torch_lr is None:
            return float("nan")
        return float(np.max(np.abs(self.lr - self.torch_lr)))

    @property
    def reductions(self) -> int:
        """How many times the learning rate went down from one step to the next."""
        return int(np.sum(np.diff(self.lr) < 0))


def compute_schedule(settings: ScheduleSettings) -> ScheduleResult:
    """Step bp's and torch's scheduler ``settings.steps`` times; record the lr of every step."""
    lr, losses = _bp_curve(settings)
    return ScheduleResult(settings, np.arange(settings.steps + 1), lr, _torch_curve(settings, losses), losses)


RELEVANT = {
    "step": ("step_size", "gamma"),
    "exponential": ("exp_gamma",),
    "cosine": ("T_max", "eta_min"),
    "warmup": ("warmup", "start_factor"),
    "warmup_cosine": ("warmup", "start_factor", "T_max", "eta_min"),
    "plateau": ("patience", "factor"),
}
ALWAYS = ("kind", "lr", "steps", "log_y")


class ScheduleViewer(Explorer):
    """The learning rate per step of a schedule; torch's scheduler overlaid (see the module docstring).

    ``ScheduleViewer(kind="cosine", T_max=100).set(kind="plateau", patience=10)``
    """

    Settings = ScheduleSettings
    title = "Learning-rate schedules: bp and torch"
    compute = staticmethod(compute_schedule)

    def make_figure(self, fig):
        self.ax = fig.subplots()
        (self.line_bp,) = self.ax.plot([], [], color=style.color(0), lw=2, label="bp.optim.lr_scheduler")
        (self.line_torch,) = self.ax.plot([], [], "o", ms=4, mfc="none", color=style.color(1),
                                          label="torch.optim.lr_scheduler")
        self.ax.set(xlabel="step t", ylabel="learning rate")
        self.ax_metric = self.ax.twinx()
        (self.line_metric,) = self.ax_metric.plot([], [], color="0.55", lw=1, label="monitored loss")
        self.ax_metric.set_ylabel("monitored loss (log scale)", color="0.45")
        self.ax_metric.set_yscale("log")
        self.ax_metric.grid(False)

    def draw(self, r: ScheduleResult):
        s = r.settings
        self.line_bp.set_data(r.t, r.lr)
        every = max(1, len(r.t) // 50)             # at most ~50 markers, so the bp line stays visible
        if r.torch_lr is not None:
            self.line_torch.set_data(r.t[::every], r.torch_lr[::every])
        else:
            self.line_torch.set_data([], [])
        self.ax.set_yscale("log" if s.log_y else "linear")
        self.ax.set_xlabel("epoch t" if s.kind == "plateau" else "step t")
        self.ax.set_xlim(0, s.steps)
        top = float(np.max(r.lr))
        if s.log_y:
            bottom = float(np.min(r.lr[r.lr > 0])) if np.any(r.lr > 0) else top * 1e-3
            self.ax.set_ylim(bottom / 1.5, top * 1.5)
        else:
            self.ax.set_ylim(0, 1.08 * top)
        plateau = r.metric is not None
        self.ax_metric.set_visible(plateau)
        if plateau:
            self.line_metric.set_data(np.arange(s.steps), r.metric)     # the loss of epoch t
            self.ax_metric.set_ylim(float(r.metric.min()) / 1.5, float(r.metric.max()) * 1.5)
        handles = [self.line_bp, self.line_torch] + ([self.line_metric] if plateau else [])
        self.ax.legend(handles=handles, loc="best", fontsize="small")
        diff = ("torch not installed" if r.torch_lr is None
                else f"max |bp − torch| = {r.max_abs_diff:.1e}")
        title = textwrap.fill(s.describe(), 70, subsequent_indent="    ")
        self.ax.set_title(f"{title}\nlr = {s.lr:g}; {diff}", fontsize="medium")
        self._show_relevant_controls()

    def _show_relevant_controls(self):
        keep = set(ALWAYS) | set(RELEVANT[self.settings.kind])
        for name, w in self._widgets.items():
            w.layout.display = None if name in keep else "none"

    def controls(self):
        import ipywidgets as W

        s = self.settings
        label = {"description_width": "90px"}
        slider = dict(continuous_update=False, style=label)
        return {
            "kind": W.Dropdown(options=KINDS, value=s.kind, description="schedule", style=label),
            "lr": W.FloatLogSlider(value=s.lr, base=10, min=-4, max=1, step=0.1, readout_format=".3g",
                                   description="base lr η₀", **slider),
            "steps": W.IntSlider(value=s.steps, min=10, max=1000, step=10, description="steps", **slider),
            "step_size": W.IntSlider(value=s.step_size, min=1, max=200, description="step_size", **slider),
            "gamma": W.FloatSlider(value=s.gamma, min=0.05, max=0.95, step=0.05, description="gamma",
                                   **slider),
            "exp_gamma": W.FloatSlider(value=s.exp_gamma, min=0.9, max=1.0, step=0.005, readout_format=".3f",
                                       description="gamma", **slider),
            "T_max": W.IntSlider(value=s.T_max, min=1, max=1000, description="T_max", **slider),
            "eta_min": W.FloatSlider(value=s.eta_min, min=0.0, max=0.05, step=0.001, readout_format=".3f",
                                     description="eta_min", **slider),
            "warmup": W.IntSlider(value=s.warmup, min=1, max=200, description="warm-up steps", **slider),
            "start_factor": W.FloatSlider(value=s.start_factor, min=0.01, max=1.0, step=0.01,
                                          description="start_factor", **slider),
            "patience": W.IntSlider(value=s.patience, min=0, max=50, description="patience", **slider),
            "factor": W.FloatSlider(value=s.factor, min=0.05, max=0.95, step=0.05, description="factor",
                                    **slider),
            "log_y": W.Checkbox(value=s.log_y, description="log scale", style=label),
        }

    def show(self):
        box = super().show()
        self._show_relevant_controls()
        return box
