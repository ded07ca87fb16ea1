"""OptimizerRace: SGD, momentum, Nesterov, AdaGrad, RMSprop and Adam race on a 2-D surface.

Every optimizer is the real ``bp.optim`` class stepping a 2-element ``Parameter`` with the
surface's exact gradient (see ``_race.py``). The figure shows

* the paths on the contours of f (log-spaced levels of f − f*), start ●, ends ■, minima ★,
  saddle ✕; click on the map to move the start (needs ``%matplotlib widget``: with the inline
  backend the figure is a picture and cannot report clicks: use the x0 / y0 sliders);
* f(θ_t) − f* against the step (log scale) with the finish line f − f* = 1e-6;
* one optimizer's inner state along its path, per coordinate (|θ₁| solid, |θ₂| dashed): the
  velocity b of momentum, the denominators √s (AdaGrad), √v (RMSprop), √v̂ and the mean m̂
  (Adam), or for plain SGD the gradient itself (it keeps no state).

What to try: the quadratic at condition 100 (SGD crawls along the flat direction, momentum
does not); the same bowl turned by 45° (AdaGrad, RMSprop and Adam rescale *coordinates*, so
they lose their edge once the valley is not axis-aligned); the saddle from (1.8, 0.001) (plain
gradient descent lingers near the saddle for many steps, Adam escapes at once: its step does not shrink
with the gradient); Adam without bias correction (a much larger first step); any lr too large
(the run diverges and says so).

Changing the surface resets the start, the learning rates and the number of steps to that
surface's defaults (unless given in the same ``set`` call)::

    race = bp.widgets.OptimizerRace(surface="quadratic", condition=50)
    race.set(surface="saddle", optimizers=("SGD", "Adam"), show_state="Adam")
"""

from __future__ import annotations

import functools
import numbers
import textwrap
from dataclasses import dataclass

import numpy as np

from .._validate import check_choice, check_number
from ..optim.surfaces import SURFACES, Surface, make_surface
from ..viz import style
from ..viz._scales import log_limits, positive
from ._race import RaceResult, Run, run_optimizer
from .base import Explorer
from .finite_difference import _decades

NAMES = ("SGD", "momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam")
COLORS = {"SGD": style.color(7), "momentum": style.color(0), "Nesterov": style.color(1),
          "AdaGrad": style.color(2), "RMSprop": style.color(3), "Adam": style.color(5)}
LR_FIELDS = {name: "lr_" + name.lower() for name in NAMES}
LR_RANGE = (1e-5, 10.0)
STEPS_RANGE = (1, 2000)
CONDITION_RANGE = (1.0, 1000.0)
ANGLE_RANGE = (-90.0, 90.0)
TOL = 1e-6                       # the finish line: f − f* <= TOL
MARKER_STEPS = 400               # longer paths are drawn without a dot per iterate (too slow, too dense)

# Per surface: learning rates that make an instructive race, and the number of steps.
DEFAULTS = {
    "quadratic": {"steps": 150, "lr": {"SGD": 1.0, "momentum": 0.3, "Nesterov": 0.3, "AdaGrad": 1.0,
                                       "RMSprop": 0.2, "Adam": 0.3}},
    "rosenbrock": {"steps": 400, "lr": {"SGD": 1e-3, "momentum": 1e-3, "Nesterov": 1e-3, "AdaGrad": 0.5,
                                        "RMSprop": 0.01, "Adam": 0.1}},
    "saddle": {"steps": 100, "lr": {"SGD": 0.05, "momentum": 0.02, "Nesterov": 0.02, "AdaGrad": 0.3,
                                    "RMSprop": 0.02, "Adam": 0.05}},
    "beale": {"steps": 300, "lr": {"SGD": 1e-2, "momentum": 1e-3, "Nesterov": 1e-3, "AdaGrad": 0.3,
                                   "RMSprop": 0.01, "Adam": 0.05}},
}


def _steps(value) -> int:
    lo, hi = STEPS_RANGE
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"steps must be an integer from {lo} to {hi}; "
                        f"got {value!r} ({type(value).__name__}).")
    if not lo <= value <= hi:
        raise ValueError(f"steps must be an integer from {lo} to {hi}; got {value}.")
    return int(value)


def _optimizer_names(value) -> tuple:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (tuple, list, set, frozenset)):
        raise TypeError(f"optimizers must be a tuple of names from {NAMES}; got {value!r}.")
    names = [check_choice(v, "optimizer", NAMES) for v in value]
    if len(set(names)) != len(names):
        raise ValueError(f"optimizers lists a name twice: {tuple(value)!r}; list each optimizer once.")
    return tuple(n for n in NAMES if n in names)      # the canonical order: colours never move


@dataclass(frozen=True)
class OptimizerRaceSettings:
    """surface: "quadratic", "rosenbrock", "saddle" or "beale"; condition κ (1–1000) and angle
    (degrees, −90–90) of the quadratic; optimizers: the ones racing (a tuple from ``NAMES``);
    lr_sgd … lr_adam: one learning rate each (1e-5–10); momentum: μ of momentum and Nesterov,
    also Adam's β₁ (0–0.999); alpha: RMSprop's smoothing α; beta2: Adam's β₂ (both 0–0.9999);
    bias_correction: Adam's; x0, y0: the start (inside the surface's view box); steps (1–2000);
    show_state: whose inner state the third panel shows.

    ``None`` (the default) for a learning rate, x0, y0 or steps means the surface's default
    (``DEFAULTS``, ``Surface.start``)."""

    surface: str = "quadratic"
    condition: float = 50.0
    angle: float = 30.0
    optimizers: tuple = NAMES
    lr_sgd: float | None = None
    lr_momentum: float | None = None
    lr_nesterov: float | None = None
    lr_adagrad: float | None = None
    lr_rmsprop: float | None = None
    lr_adam: float | None = None
    momentum: float = 0.9
    alpha: float = 0.99
    beta2: float = 0.999
    bias_correction: bool = True
    x0: float | None = None
    y0: float | None = None
    steps: int | None = None
    show_state: str = "Adam"

    def __post_init__(self):
        put = functools.partial(object.__setattr__, self)
        put("surface", check_choice(self.surface, "surface", tuple(SURFACES)))
        put("condition", check_number(self.condition, "condition (κ)", low=CONDITION_RANGE[0],
                                      high=CONDITION_RANGE[1]))
        put("angle", check_number(self.angle, "angle (degrees)", low=ANGLE_RANGE[0], high=ANGLE_RANGE[1]))
        put("optimizers", _optimizer_names(self.optimizers))
        defaults = DEFAULTS[self.surface]
        for name, field in LR_FIELDS.items():
            value = getattr(self, field)
            if value is None:
                value = defaults["lr"][name]
            put(field, check_number(value, f"{field} (the learning rate of {name})", low=LR_RANGE[0],
                                    high=LR_RANGE[1]))
        put("momentum", check_number(self.momentum, "momentum (μ, and Adam's β₁)", low=0.0, high=0.999))
        put("alpha", check_number(self.alpha, "alpha (RMSprop's α)", low=0.0, high=0.9999))
        put("beta2", check_number(self.beta2, "beta2 (Adam's β₂)", low=0.0, high=0.9999))
        if not isinstance(self.bias_correction, (bool, np.bool_)):
            raise TypeError(f"bias_correction must be True or False; got {self.bias_correction!r}.")
        put("bias_correction", bool(self.bias_correction))
        cls = SURFACES[self.surface]
        for axis, field, lim in ((0, "x0", cls.xlim), (1, "y0", cls.ylim)):
            value = getattr(self, field)
            if value is None:
                put(field, float(cls.start[axis]))
                continue
            v = check_number(value, field)
            if not lim[0] <= v <= lim[1]:
                raise ValueError(f"{field} must lie in the view box [{lim[0]:g}, {lim[1]:g}] of the "
                                 f"{self.surface} surface; got {value!r}. Pick a start inside the plot.")
            put(field, v)
        put("steps", defaults["steps"] if self.steps is None else _steps(self.steps))
        put("show_state", check_choice(self.show_state, "show_state (an optimizer)", NAMES))

    def make_surface(self) -> Surface:
        """The surface object (the quadratic with this condition and angle)."""
        if self.surface == "quadratic":
            return make_surface("quadratic", condition=self.condition, angle=self.angle)
        return make_surface(self.surface)

    def lr(self, name: str) -> float:
        return getattr(self, LR_FIELDS[name])

    def spec(self, name: str) -> tuple[str, dict]:
        """``(bp.optim class name, kwargs)`` of the optimizer ``name``. (Nesterov at μ = 0 is
        plain SGD, so it runs with nesterov=False there: bp.optim.SGD refuses nesterov at μ = 0.)"""
        lr, mu = self.lr(name), self.momentum
        return {
            "SGD": ("SGD", {"lr": lr}),
            "momentum": ("SGD", {"lr": lr, "momentum": mu}),
            "Nesterov": ("SGD", {"lr": lr, "momentum": mu, "nesterov": mu > 0}),
            "AdaGrad": ("AdaGrad", {"lr": lr}),
            "RMSprop": ("RMSprop", {"lr": lr, "alpha": self.alpha}),
            "Adam": ("Adam", {"lr": lr, "betas": (mu, self.beta2), "bias_correction": self.bias_correction}),
        }[name]


@functools.lru_cache(maxsize=256)
def _cached_run(surface: Surface, name: str, cls_name: str, kwargs: tuple, start: tuple, steps: int) -> Run:
    """One optimizer's run, memoised: moving one optimizer's lr reruns only that optimizer."""
    return run_optimizer(surface, name, cls_name, dict(kwargs), start, steps)


@dataclass(frozen=True)
class OptimizerRaceResult(RaceResult):
    """A ``RaceResult`` with the settings it came from."""

    settings: OptimizerRaceSettings | None = None


def compute_optimizer_race(settings: OptimizerRaceSettings) -> OptimizerRaceResult:
    """Run the optimizers that are on. Pure: no figure; diverging runs carry a message."""
    if not isinstance(settings, OptimizerRaceSettings):
        raise TypeError(f"settings must be an OptimizerRaceSettings; got {type(settings).__name__}.")
    s = settings
    surface = s.make_surface()
    start = (s.x0, s.y0)
    runs = {}
    for name in s.optimizers:
        cls_name, kwargs = s.spec(name)
        runs[name] = _cached_run(surface, name, cls_name, tuple(sorted(kwargs.items())), start, s.steps)
    return OptimizerRaceResult(surface=surface, start=start, steps=s.steps, runs=runs, settings=s)


# -- what the inner-state panel shows ------------------------------------------------------------
def inner_state(run: Run) -> list[tuple[str, np.ndarray]]:
    """``[(label, values (n, 2))]``: the quantities the optimizer keeps, per coordinate, as
    magnitudes (what scales its step), followed by the gradient where there is room."""
    st, g = run.state, np.abs(run.grad)
    if "v_hat" in st:                                             # Adam: θ ← θ − η m̂ / (√v̂ + ε)
        return [("|m̂| (mean of g)", np.abs(st["m_hat"])),
                ("√v̂ (RMS of g: the denominator)", np.sqrt(st["v_hat"]))]
    if "square_avg" in st:                                        # RMSprop: θ ← θ − η g / (√v + ε)
        return [("√v (RMS of g: the denominator)", np.sqrt(st["square_avg"])), ("|g| (gradient)", g)]
    if "sum" in st:                                               # AdaGrad: θ ← θ − η g / (√s + ε)
        return [("√s (root of Σg²: the denominator)", np.sqrt(st["sum"])), ("|g| (gradient)", g)]
    if "momentum_buffer" in st:                                   # momentum: θ ← θ − η b
        return [("|b| (velocity)", np.abs(st["momentum_buffer"])), ("|g| (gradient)", g)]
    return [("|g| (gradient: SGD keeps no state)", g)]


def _grid(surface: Surface, resolution: int = 140):
    gx, gy = np.meshgrid(np.linspace(*surface.xlim, resolution), np.linspace(*surface.ylim, resolution))
    with np.errstate(all="ignore"):
        z = surface.f(np.stack([gx, gy], axis=-1)) - surface.min_value
    return gx, gy, z


def _drawn_path(run: Run, surface: Surface):
    """The part of the path to draw, and where to put its end marker. A diverged run is cut after
    its first point outside the view (the line leaves the map once, instead of zig-zagging across
    it) and its end marker sits at the last point inside."""
    path = run.path
    if run.diverged_at is None:
        return np.clip(path, -1e6, 1e6), path[-1]
    (x0, x1), (y0, y1) = surface.xlim, surface.ylim
    inside = (path[:, 0] >= x0) & (path[:, 0] <= x1) & (path[:, 1] >= y0) & (path[:, 1] <= y1)
    out = np.flatnonzero(~inside)
    cut = int(out[0]) if out.size else len(path) - 1
    last_in = max(cut - 1, 0)
    return np.clip(path[: cut + 1], -1e6, 1e6), path[last_in]


def _legend_label(run: Run) -> str:
    """Short (every glyph costs redraw time): when it crossed the finish line, else where it ended."""
    if run.diverged_at is not None:
        return f"{run.name}: diverged, step {run.diverged_at}"
    hit = run.steps_to(TOL)
    if hit is not None:
        return f"{run.name}: finished, step {hit}"
    return f"{run.name}: at {run.final_loss:.1e}"


class OptimizerRace(Explorer):
    """Surface, optimizers on/off with one lr each, shared momentum/β₁, RMSprop's α, Adam's β₂
    and bias correction, start point (sliders, or a click on the map under ``%matplotlib widget``)
    and steps → the paths on the contours, f − f* per step (log) and one optimizer's inner state.

    ``OptimizerRace(surface="rosenbrock").set(optimizers=("SGD", "momentum", "Adam"), show_state="Adam")``
    """

    Settings = OptimizerRaceSettings
    title = "Optimizer race: SGD, momentum, Nesterov, AdaGrad, RMSprop, Adam"
    compute = staticmethod(compute_optimizer_race)

    @staticmethod
    def clear_cache() -> None:
        """Forget the memoised runs (benchmarks time a cold compute with it)."""
        _cached_run.cache_clear()

    def set(self, **changes):
        """As ``Explorer.set``; a new surface also brings its own start, learning rates and steps
        unless they are given in the same call."""
        if "surface" in changes and changes["surface"] != self.settings.surface:
            for field in (*LR_FIELDS.values(), "x0", "y0", "steps"):
                changes.setdefault(field, None)
        return super().set(**changes)

    # -- the view -----------------------------------------------------------------------
    def make_figure(self, fig):
        from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

        fig.set_layout_engine("none")             # fixed layout: a redraw skips the layout solve
        big = self.theme == "presentation"
        fig.set_size_inches((16.0, 8.4) if big else (12.0, 5.8))
        grid = fig.add_gridspec(2, 2, width_ratios=(1.0, 1.0), left=0.055, right=0.72, bottom=0.09,
                                top=0.88, hspace=0.45, wspace=0.22)
        self.ax_map = fig.add_subplot(grid[:, 0])
        self.ax_loss = fig.add_subplot(grid[0, 1])
        self.ax_state = fig.add_subplot(grid[1, 1])
        ax = self.ax_map
        ax.set(xlabel="θ₁", ylabel="θ₂")
        ax.set_aspect("equal", adjustable="box")
        ax.grid(False)
        self._contours = None
        self._contour_key = None
        self.lines = {}
        self.ends = {}
        self.loss_lines = {}
        for name in NAMES:
            col = COLORS[name]
            self.lines[name], = ax.plot([], [], "-", color=col, linewidth=1.6, marker=".", markersize=2.5,
                                        zorder=3)
            self.ends[name], = ax.plot([], [], "s", color=col, markeredgecolor="black", markersize=7,
                                       zorder=5)
            self.loss_lines[name], = self.ax_loss.plot([], [], "-", color=col, linewidth=1.5)
        self.mark_start, = ax.plot([], [], "o", color="white", markeredgecolor="black", markersize=9,
                                   markeredgewidth=1.5, zorder=6, label="start (click to move)")
        self.mark_min, = ax.plot([], [], "*", color="white", markeredgecolor="black", markersize=14, zorder=4,
                                 label="minimum")
        self.mark_saddle, = ax.plot([], [], "X", color="white", markeredgecolor="black", markersize=10,
                                    zorder=4, label="saddle point")
        self.mark_end_key, = ax.plot([], [], "s", color="0.6", markeredgecolor="black", markersize=7,
                                     label="end (✕: diverged)")
        self.note = ax.text(0.02, 0.02, "", transform=ax.transAxes, ha="left", va="bottom", fontsize="small",
                            color="#D55E00", zorder=7, visible=False,
                            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#D55E00",
                                  "alpha": 0.9})
        # loss vs step
        lx = self.ax_loss
        lx.set_yscale("log")
        lx.yaxis.set_minor_locator(NullLocator())
        lx.yaxis.set_major_formatter(_decades)
        self.finish = lx.axhline(TOL, color="0.3", linestyle=":", linewidth=1.2,
                                 label=f"finish: f − f* = {TOL:g}")
        lx.set(xlabel="step t", ylabel="f(θ_t) − f*  (log)")
        lx.set_autoscale_on(False)                # limits are set in draw (diverging runs overflow autoscale)
        # inner state
        sx = self.ax_state
        sx.set_yscale("log")
        sx.yaxis.set_minor_locator(NullLocator())
        sx.yaxis.set_major_formatter(_decades)
        self.state_lines = [sx.plot([], [], linestyle=ls, linewidth=1.4)[0]
                            for _ in range(2) for ls in ("-", "--")]
        self.state_note = sx.text(0.5, 0.5, "", transform=sx.transAxes, ha="center", va="center",
                                  fontsize="small", color="0.3", visible=False)
        sx.set(xlabel="step t", ylabel="magnitude  (log)")
        sx.set_autoscale_on(False)
        for axis in (ax.xaxis, ax.yaxis, lx.xaxis, sx.xaxis):   # few tick labels: text is most of a redraw
            axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10]))
        for axis in (lx.yaxis, sx.yaxis):
            axis.set_major_locator(LogLocator(numticks=6))
        self._click = fig.canvas.mpl_connect("button_press_event", self._on_click)

    def _draw_contours(self, surface: Surface):
        if self._contour_key == surface:
            return
        from matplotlib.colors import LogNorm

        if self._contours is not None:
            self._contours.remove()
        gx, gy, z = _grid(surface)
        finite = z[np.isfinite(z)]
        top = float(finite.max())
        low = max(float(finite.min()), top * 1e-5, 1e-12)
        levels = np.geomspace(low * 1.5, top, 22)
        self._contours = self.ax_map.contour(gx, gy, np.maximum(z, low), levels=levels, cmap="viridis",
                                             norm=LogNorm(levels[0], levels[-1]), linewidths=0.7, alpha=0.55,
                                             zorder=1)
        self._contour_key = surface
        self.ax_map.set_xlim(*surface.xlim)
        self.ax_map.set_ylim(*surface.ylim)
        self.mark_min.set_data(surface.minima[:, 0], surface.minima[:, 1])
        saddles = surface.saddles
        self.mark_saddle.set_data(saddles[:, 0], saddles[:, 1])

    def draw(self, r: OptimizerRaceResult):
        s = r.settings
        self._draw_contours(r.surface)
        self.mark_start.set_data([r.start[0]], [r.start[1]])
        for name in NAMES:
            run = r.runs.get(name)
            for artist in (self.lines[name], self.ends[name], self.loss_lines[name]):
                artist.set_visible(run is not None)
            if run is None:
                continue
            path, end = _drawn_path(run, r.surface)
            self.lines[name].set_data(path[:, 0], path[:, 1])
            self.lines[name].set_marker("." if len(path) <= MARKER_STEPS else "None")   # dots: the step sizes
            self.ends[name].set_data([end[0]], [end[1]])
            self.ends[name].set_marker("X" if run.diverged_at is not None else "s")
            self.loss_lines[name].set_data(np.arange(len(run.loss)), positive(run.loss - r.surface.min_value))
            self.loss_lines[name].set_label(_legend_label(run))
        self.ax_map.set_title(textwrap.fill(r.surface.describe(), 48), fontsize="medium")
        messages = r.messages if r.runs else ["No optimizer is on: tick one or more."]
        self.note.set_text("\n".join(textwrap.fill(m, 58, subsequent_indent="  ") for m in messages))
        self.note.set_visible(bool(messages))
        self._draw_loss(r)
        self._draw_state(r)
        self.fig.suptitle(f"{s.steps} steps; μ = β₁ = {s.momentum:g}, α = {s.alpha:g}, β₂ = {s.beta2:g}"
                          + ("" if s.bias_correction else ", no bias correction"), fontsize="medium")

    def _draw_loss(self, r: OptimizerRaceResult):
        lx = self.ax_loss
        lx.set_xlim(0, r.steps)
        gaps = [run.loss - r.surface.min_value for run in r.runs.values()]
        if gaps:
            first = max(float(g[0]) for g in gaps)
            values = np.concatenate([np.minimum(g, first * 1e3) for g in gaps] + [[TOL]])
        else:
            values = np.array([TOL, 1.0])
        lx.set_ylim(*log_limits(values))
        marks = [self.mark_start, self.mark_min] + [self.mark_saddle] * bool(len(r.surface.saddles))
        handles = [self.loss_lines[n] for n in r.runs] + [self.finish] + marks + [self.mark_end_key]
        lx.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.04), fontsize="x-small")
        done = {n: run.steps_to(TOL) for n, run in r.runs.items()}
        finished = {n: t for n, t in done.items() if t is not None and r.runs[n].diverged_at is None}
        if finished:
            winner = min(finished, key=finished.get)
            lx.set_title(f"first to f − f* < {TOL:g}: {winner} (step {finished[winner]})", fontsize="medium")
        else:
            lx.set_title(f"nobody reached f − f* < {TOL:g} in {r.steps} steps", fontsize="medium")

    def _draw_state(self, r: OptimizerRaceResult):
        who = r.settings.show_state
        sx = self.ax_state
        run = r.runs.get(who)
        quantities = inner_state(run) if run is not None and len(run.grad) else []
        k = 0
        for q, (label, values) in enumerate(quantities):
            col = COLORS[who] if q == 0 else "0.45"
            for axis in range(2):
                line = self.state_lines[k]
                line.set_data(np.arange(1, len(values) + 1), positive(values[:, axis]))
                line.set_color(col)
                line.set_label(label)
                line.set_visible(True)
                k += 1
        for line in self.state_lines[k:]:
            line.set_data([], [])
            line.set_visible(False)
        sx.set_xlim(0, r.steps)
        if quantities:
            sx.set_ylim(*log_limits(np.concatenate([v.ravel() for _, v in quantities])))
            sx.legend(handles=self.state_lines[:k:2], loc="upper left", bbox_to_anchor=(1.0, 1.02),
                      fontsize="x-small")                  # one entry per quantity (solid θ₁, dashed θ₂)
            self.state_note.set_visible(False)
            sx.set_title(f"{who}'s inner state along its path (solid θ₁, dashed θ₂)", fontsize="medium")
        else:
            if sx.get_legend() is not None:
                sx.get_legend().remove()
            self.state_note.set_text(f"{who} is not racing: tick it to see its inner state."
                                     if run is None else f"{who} stopped before its first step.")
            self.state_note.set_visible(True)
            sx.set_ylim(1e-3, 1e3)
            sx.set_title(f"{who}'s inner state", fontsize="medium")

    # -- clicks and controls ---------------------------------------------------------------
    def _on_click(self, event) -> None:
        """A left click on the map moves the start there (ipympl canvases report clicks)."""
        if event.inaxes is not self.ax_map or event.button != 1 or event.xdata is None:
            return
        toolbar = getattr(self.fig.canvas, "toolbar", None)
        if toolbar is not None and getattr(toolbar, "mode", ""):      # zooming / panning, not choosing
            return
        try:
            self.set(x0=round(float(event.xdata), 2), y0=round(float(event.ydata), 2))
        except (ValueError, TypeError) as err:                         # shown in the figure
            self.error = str(err)
            self._render()

    def controls(self):
        import ipywidgets as W

        s = self.settings
        cls = SURFACES[s.surface]
        label = {"description_width": "110px"}
        slider = dict(continuous_update=False, style=label)
        quad = s.surface == "quadratic"
        out = {
            "surface": W.Dropdown(options=tuple(SURFACES), value=s.surface, description="surface",
                                  style=label),
            "condition": W.FloatLogSlider(value=s.condition, base=10, min=0, max=3, step=0.05,
                                          readout_format=".3g", description="condition κ", disabled=not quad,
                                          **slider),
            "angle": W.FloatSlider(value=s.angle, min=ANGLE_RANGE[0], max=ANGLE_RANGE[1], step=5,
                                   description="bowl angle (°)", disabled=not quad, **slider),
            "optimizers": checkbox_group(NAMES, s.optimizers, COLORS),
        }
        for name, field in LR_FIELDS.items():
            out[field] = W.FloatLogSlider(value=s.lr(name), base=10, min=-5, max=1, step=0.05,
                                          readout_format=".2g", description=f"lr {name}", **slider)
        out.update({
            "momentum": W.FloatSlider(value=s.momentum, min=0.0, max=0.99, step=0.01,
                                      description="momentum μ, β₁", **slider),
            "alpha": W.FloatSlider(value=s.alpha, min=0.5, max=0.999, step=0.001, readout_format=".3f",
                                   description="RMSprop α", **slider),
            "beta2": W.FloatSlider(value=s.beta2, min=0.5, max=0.9999, step=0.0001, readout_format=".4f",
                                   description="Adam β₂", **slider),
            "bias_correction": W.Checkbox(value=s.bias_correction, description="Adam bias correction",
                                          indent=False),
            "x0": W.FloatSlider(value=s.x0, min=cls.xlim[0], max=cls.xlim[1], step=0.01,
                                description="start θ₁", **slider),
            "y0": W.FloatSlider(value=s.y0, min=cls.ylim[0], max=cls.ylim[1], step=0.001,
                                readout_format=".3f", description="start θ₂", **slider),
            "steps": W.IntSlider(value=s.steps, min=STEPS_RANGE[0], max=STEPS_RANGE[1], description="steps",
                                 **slider),
            "show_state": W.Dropdown(options=NAMES, value=s.show_state, description="inner state of",
                                     style=label),
        })
        return out

    def extra_controls(self):
        import ipywidgets as W

        return [W.HTML("<small>Click on the map to move the start (with <code>%matplotlib widget</code>; "
                       "the inline backend draws a picture that cannot report clicks).</small>")]

    def _sync_controls(self):
        s = self.settings
        cls = SURFACES[s.surface]
        self._syncing = True
        try:
            for field, lim in (("x0", cls.xlim), ("y0", cls.ylim)):
                w = self._widgets.get(field)
                if w is not None and (w.min, w.max) != lim:   # widen first, so no bound crosses the other
                    w.min, w.max = min(w.min, lim[0]), max(w.max, lim[1])
                    w.min, w.max = lim
            quad = s.surface == "quadratic"
            for field in ("condition", "angle"):
                if field in self._widgets:
                    self._widgets[field].disabled = not quad
        finally:
            self._syncing = False
        super()._sync_controls()


def checkbox_group(options, value, colors=None):
    """One checkbox per option (after a colour swatch); the group's ``value`` is the tuple of
    ticked options and ``observe(handler, names="value")`` works as on any widget."""
    return _checkbox_group_class()(tuple(options), tuple(value), dict(colors or {}))


@functools.cache
def _checkbox_group_class():
    import ipywidgets as W
    import traitlets

    class CheckboxGroup(W.HBox):
        value = traitlets.Tuple()

        def __init__(self, options, value, colors):
            self._options, self._updating, self._boxes = options, False, {}
            items = []
            for name in options:
                box = W.Checkbox(value=name in value, description=name, indent=False,
                                 layout=W.Layout(width="auto"))
                box.observe(self._ticked, names="value")
                self._boxes[name] = box
                swatch = W.HTML(f'<span style="color:{colors.get(name, "black")}">&#9632;</span>')
                items.append(W.HBox([swatch, box], layout=W.Layout(width="33%")))
            super().__init__(items, layout=W.Layout(flex_flow="row wrap"))
            self.value = value

        def _ticked(self, _change):
            if not self._updating:
                self.value = tuple(n for n in self._options if self._boxes[n].value)

        @traitlets.observe("value")
        def _set_boxes(self, change):
            self._updating = True
            try:
                for name, box in self._boxes.items():
                    box.value = name in change["new"]
            finally:
                self._updating = False

    return CheckboxGroup
