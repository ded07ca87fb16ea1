"""ParallelExplorer: three limits of scaling out, side by side (notebook 24).

* Amdahl: the speed-up S(N) = 1/((1 − p) + p/N) of a step whose parallel fraction is p, against
  the ideal S = N and the ceiling 1/(1 − p);
* stale gradients: |θ_t| of θ_(t+1) = θ_t − ηL·θ_(t−τ) (gradient descent on Lθ²/2 with gradients τ
  updates old, asynchronous SGD's model), against the same step size without staleness;
* the pipeline: the GPipe schedule of S stages and M micro-batches as a Gantt chart (forward boxes
  t_f = 1, backward t_b = 2), with its bubble (S − 1)/(M + S − 1).

``ParallelExplorer(p=0.95).set(stages=4, micro_batches=16, tau=2)``
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch

from .._validate import check_number, check_positive_int
from ..train.async_sgd import spectral_radius, stale_gradient_descent, threshold_formula
from ..train.parallel import amdahl
from ..train.pipeline import PipelineSchedule, bubble_formula, gpipe_schedule
from ..viz import style
from .base import Explorer

MAX_WORKERS, MAX_STAGES, MAX_MICRO, MAX_TAU = 1024, 8, 32, 16
STALE_STEPS = 150


@dataclass(frozen=True)
class ParallelSettings:
    p: float = 0.9                 # parallel fraction of a step's time
    workers: int = 8               # N
    stages: int = 4                # S pipeline stages
    micro_batches: int = 8         # M micro-batches per step
    tau: int = 2                   # staleness of asynchronous gradients, in updates
    lr_times_l: float = 0.5        # ηL (L: the curvature of the quadratic)

    def __post_init__(self):
        check_number(self.p, "p", low=0, high=1)
        for name, top in (("workers", MAX_WORKERS), ("stages", MAX_STAGES), ("micro_batches", MAX_MICRO)):
            value = check_positive_int(getattr(self, name), name)
            if value > top:
                raise ValueError(f"{name} must be at most {top}; got {name}={value}.")
        tau = self.tau
        if isinstance(tau, bool) or not isinstance(tau, (int, np.integer)) or not 0 <= tau <= MAX_TAU:
            raise ValueError(f"tau must be a whole number from 0 to {MAX_TAU}; got tau={self.tau!r}.")
        check_number(self.lr_times_l, "lr_times_l", low=0.01, high=2.5)


@dataclass(frozen=True)
class ParallelResult:
    settings: ParallelSettings
    n_grid: np.ndarray             # (k,) worker counts of the curve
    speedup_curve: np.ndarray      # (k,) S(N)
    speedup: float                 # S(workers)
    ceiling: float                 # 1/(1 − p) (inf at p = 1)
    schedule: PipelineSchedule
    bubble: Fraction               # measured on the schedule
    stale_path: np.ndarray         # (STALE_STEPS + 1,) θ_t with staleness τ
    fresh_path: np.ndarray         # (STALE_STEPS + 1,) θ_t with τ = 0
    threshold: float               # 2 sin(π/(2(2τ+1)))
    radius: float                  # spectral radius of the stale recursion

    @property
    def stable(self) -> bool:
        return self.radius < 1


def compute_parallel(settings: ParallelSettings) -> ParallelResult:
    """Amdahl's curve, the GPipe schedule and the stale-gradient run for one setting (no plotting)."""
    s = settings
    n_grid = np.unique(np.geomspace(1, MAX_WORKERS, 200).round().astype(int))
    ceiling = np.inf if s.p == 1 else 1.0 / (1.0 - s.p)
    sched = gpipe_schedule(s.stages, s.micro_batches)
    with np.errstate(over="ignore", invalid="ignore"):
        stale = stale_gradient_descent(lambda th: th, 1.0, s.lr_times_l, s.tau, STALE_STEPS)
        fresh = stale_gradient_descent(lambda th: th, 1.0, s.lr_times_l, 0, STALE_STEPS)
    return ParallelResult(s, n_grid, amdahl(s.p, n_grid), amdahl(s.p, s.workers), ceiling, sched,
                          sched.bubble_fraction, stale, fresh, threshold_formula(s.tau),
                          spectral_radius(s.lr_times_l, s.tau))


def _clipped(path):
    """θ_t clipped to ±1e3 (a diverged run leaves the chart at its edge)."""
    return np.clip(np.nan_to_num(path, nan=1e3, posinf=1e3, neginf=-1e3), -1e3, 1e3)


class ParallelExplorer(Explorer):
    """Amdahl (p, N), stale gradients (τ, ηL) and the pipeline bubble (S, M) in one figure."""

    Settings = ParallelSettings
    title = "Scaling out: Amdahl's law, stale gradients, pipeline bubbles"
    compute = staticmethod(compute_parallel)

    def make_figure(self, fig):
        axes = fig.subplot_mosaic([["amdahl", "stale"], ["gantt", "gantt"]])
        self.ax_amdahl, self.ax_stale, self.ax_gantt = axes["amdahl"], axes["stale"], axes["gantt"]
        ax = self.ax_amdahl
        (self.line_ideal,) = ax.plot([1, MAX_WORKERS], [1, MAX_WORKERS], ":", color="0.5", label="ideal N")
        (self.line_amdahl,) = ax.plot([], [], color=style.color(0), label="S(N)")
        self.line_ceiling = ax.axhline(1, linestyle="--", color=style.color(5), label="1/(1 − p)")
        (self.mark_n,) = ax.plot([], [], "o", color=style.color(1), markersize=7)
        ax.set(xscale="log", yscale="log", xlim=(1, MAX_WORKERS), ylim=(1, MAX_WORKERS))
        ax.set_xlabel("workers N", fontsize="small")
        ax.set_ylabel("speed-up", fontsize="small")
        ax.legend(fontsize="x-small", loc="upper left")
        ax = self.ax_stale
        (self.line_fresh,) = ax.plot([], [], color="0.6", label="τ = 0")
        (self.line_stale,) = ax.plot([], [], color=style.color(2), label="stale")
        ax.set(xlim=(0, STALE_STEPS), ylim=(-2, 2))
        ax.set_xlabel("update t", fontsize="small")
        ax.set_ylabel("θ_t on f = Lθ²/2", fontsize="small")
        ax.legend(fontsize="x-small", loc="lower right")
        self.boxes = PolyCollection([], edgecolors="white", linewidths=0.5)
        self.ax_gantt.add_collection(self.boxes)
        self.ax_gantt.set_xlabel("time (forward = 1, backward = 2)", fontsize="small")
        self.ax_gantt.set_ylabel("stage", fontsize="small")
        self.ax_gantt.grid(False)
        self.ax_gantt.legend(handles=[Patch(color=style.color(0), label="forward"),
                                      Patch(color=style.color(1), label="backward")],
                             fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5))
        self.box_labels = []

    def draw(self, r: ParallelResult):
        s = r.settings
        self.line_amdahl.set_data(r.n_grid, r.speedup_curve)
        self.line_ceiling.set_ydata([r.ceiling if np.isfinite(r.ceiling) else 2 * MAX_WORKERS] * 2)
        self.mark_n.set_data([s.workers], [r.speedup])
        self.ax_amdahl.set_title(f"p = {s.p:.3f}: S({s.workers}) = {r.speedup:.2f}, "
                                 f"ceiling {r.ceiling:.3g}", fontsize="small")
        t = np.arange(STALE_STEPS + 1)
        self.line_fresh.set_data(t, _clipped(r.fresh_path))
        self.line_stale.set_data(t, _clipped(r.stale_path))
        self.line_stale.set_label(f"τ = {s.tau}")
        self.ax_stale.legend(fontsize="x-small", loc="lower right")
        verdict = "converges" if r.stable else "diverges"
        self.ax_stale.set_title(f"τ = {s.tau}, ηL = {s.lr_times_l:.3g}: {verdict} "
                                f"(iff ηL < {r.threshold:.3f})", fontsize="small")
        self._draw_gantt(r)

    def _draw_gantt(self, r: ParallelResult):
        s, ax = r.settings, self.ax_gantt
        verts, colours = [], []
        for label in self.box_labels:
            label.remove()
        self.box_labels = []
        show_numbers = s.stages * s.micro_batches <= 48
        for op in r.schedule.ops:
            x0, x1, y = float(op.start), float(op.end), op.stage
            verts.append([(x0, y - 0.4), (x1, y - 0.4), (x1, y + 0.4), (x0, y + 0.4)])
            colours.append(style.color(0) if op.kind == "F" else style.color(1))
            if show_numbers:
                self.box_labels.append(ax.text((x0 + x1) / 2, y, str(op.micro_batch), ha="center",
                                               va="center", fontsize="x-small", color="white"))
        self.boxes.set_verts(verts)
        self.boxes.set_facecolor(colours)
        span = float(r.schedule.makespan)
        ax.set_xlim(0, span)
        ax.set_ylim(s.stages - 0.5, -0.5)                    # stage 0 on top
        ax.set_yticks(range(s.stages))
        b = r.bubble
        same = "=" if b == bubble_formula(s.stages, s.micro_batches) else "≠"
        ax.set_title(f"GPipe, S = {s.stages} stages, M = {s.micro_batches} micro-batches: idle "
                     f"{b.numerator}/{b.denominator} = {float(b):.0%} {same} (S−1)/(M+S−1)", fontsize="small")

    def controls(self):
        import ipywidgets as W

        s = self.settings
        label = {"description_width": "80px"}
        return {
            "p": W.FloatSlider(value=s.p, min=0, max=1, step=0.001, readout_format=".3f",
                               description="parallel p", continuous_update=False, style=label),
            "workers": W.IntSlider(value=s.workers, min=1, max=MAX_WORKERS, description="workers N",
                                   continuous_update=False, style=label),
            "stages": W.IntSlider(value=s.stages, min=1, max=MAX_STAGES, description="stages S",
                                  continuous_update=False, style=label),
            "micro_batches": W.IntSlider(value=s.micro_batches, min=1, max=MAX_MICRO, description="micro M",
                                         continuous_update=False, style=label),
            "tau": W.IntSlider(value=s.tau, min=0, max=MAX_TAU, description="staleness τ",
                               continuous_update=False, style=label),
            "lr_times_l": W.FloatSlider(value=s.lr_times_l, min=0.01, max=2.5, step=0.01, description="ηL",
                                        continuous_update=False, style=label),
        }
