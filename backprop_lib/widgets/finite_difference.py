"""FiniteDifferenceExplorer: how the error of a finite difference depends on the step h.

    forward   (f(x+h) − f(x)) / h        error ≈ |f″|·h/2  +  eps·(|f| + |x f′|)/h
    central   (f(x+h) − f(x−h)) / (2h)   error ≈ |f‴|·h²/6 +  eps·(|f| + |x f′|)/(2h)

The first term (truncation, from Taylor's theorem) shrinks with h; the second (rounding:
f(x±h) and x±h are each rounded to the precision eps of the dtype, and the division by h
amplifies that) grows as h shrinks. On a log-log plot the error is a V: slope −1 on the
left (rounding), slope 1 (one-sided) or 2 (central) on the right (truncation), with the
best h near eps^(1/2) (one-sided) or eps^(1/3) (central), about 1e-8 / 6e-6 in float64 and
3e-4 / 5e-3 in float32.

The whole curve comes from ``bp.autodiff.step_size_study`` and is computed once per
(function, x, method, dtype) and memoised: the h slider only moves the marker.

    ex = bp.widgets.FiniteDifferenceExplorer(function="exp", method="central")
    ex.set(dtype="float32", h=1e-6)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .._validate import check_choice, check_number
from ..autodiff.numerical import StepSizeStudy, numerical_derivative, step_size_study
from ..viz import style
from ..viz._scales import log_limits, positive
from .base import Explorer


@dataclass(frozen=True)
class Function:
    """A function of the menu with its exact derivatives (written with NumPy, so that a
    float32 input is computed in float32)."""

    label: str
    f: object
    df: object
    d2: object   # f″, the truncation term of one-sided differences
    d3: object   # f‴, the truncation term of central differences


def _tanh_d2(x):
    t = np.tanh(x)
    return -2 * t * (1 - t * t)            # (tanh)″ = −2 tanh (1 − tanh²)


def _tanh_d3(x):
    t = np.tanh(x)
    return (1 - t * t) * (6 * t * t - 2)   # (tanh)‴ = (1 − tanh²)(6 tanh² − 2)


FUNCTIONS = {
    "sin": Function("sin x", np.sin, np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x)),
    "exp": Function("eˣ", np.exp, np.exp, np.exp, np.exp),
    "x^3": Function("x³", lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x, lambda x: 6.0 + 0 * x),
    "tanh": Function("tanh x", np.tanh, lambda x: 1 - np.tanh(x) ** 2, _tanh_d2, _tanh_d3),
}
METHODS = ("forward", "central", "backward")
DTYPES = ("float64", "float32")
X_RANGE = (-3.0, 3.0)
H_RANGE = (1e-16, 1.0)
HS = np.logspace(-16, 0, 161)   # the curve: 10 steps per decade
FIT_MAX_H = 0.1                 # beyond this the next Taylor term bends the curve


@dataclass(frozen=True)
class FiniteDifferenceSettings:
    """function: one of ``FUNCTIONS``; x: the point (in [−3, 3]; rounded to the dtype);
    h: the step marked on the curve (in [1e-16, 1]); method: "forward", "central" or
    "backward"; dtype: "float64" or "float32", the precision of the arithmetic."""

    function: str = "sin"
    x: float = 1.0
    h: float = 1e-3
    method: str = "forward"
    dtype: str = "float64"

    def __post_init__(self):
        put = object.__setattr__
        put(self, "function", check_choice(self.function, "function", tuple(FUNCTIONS)))
        put(self, "x", check_number(self.x, "x", low=X_RANGE[0], high=X_RANGE[1]))
        put(self, "h", check_number(self.h, "h (the step)", low=H_RANGE[0], high=H_RANGE[1]))
        put(self, "method", check_choice(self.method, "method", METHODS))
        put(self, "dtype", check_choice(self.dtype, "dtype", DTYPES))


@dataclass(frozen=True)
class FiniteDifferenceResult:
    """study: the ``StepSizeStudy`` over ``HS`` (error, truncation and rounding models, best h);
    x: the point actually used (x rounded to the dtype); approx/error: the estimate and its
    error at the chosen h; regime: "truncation" or "rounding", the side of the optimum h lies
    on; slope: the slope of log(error) vs log(h) fitted where truncation dominates (h from
    10× the best h to 0.1; NaN if fewer than 4 points there); fit: mask of those points;
    note: a remark for the title (or None); message: always None (every setting is a result).
    """

    settings: FiniteDifferenceSettings
    study: StepSizeStudy
    x: float
    approx: float
    error: float
    regime: str
    slope: float
    fit: np.ndarray
    note: str | None
    message: str | None = None

    @property
    def order(self) -> int:
        """The slope theory predicts: 1 (one-sided) or 2 (central)."""
        return self.study.order


@functools.lru_cache(maxsize=64)
def _study(function: str, x: float, method: str, dtype: str) -> StepSizeStudy:
    """The whole error curve, once per (function, x, method, dtype); its arrays are read-only
    because the cached object is shared."""
    fn = FUNCTIONS[function]
    higher = fn.d3(x) if method == "central" else fn.d2(x)
    study = step_size_study(fn.f, fn.df, x, hs=HS, dtype=np.dtype(dtype), method=method,
                            higher_derivative=float(higher))
    for value in vars(study).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return study


def fit_slope(h: np.ndarray, error: np.ndarray, mask: np.ndarray) -> float:
    """Least-squares slope of log10(error) against log10(h) over ``mask`` (NaN if < 4 points)."""
    use = mask & (error > 0) & np.isfinite(error)
    if use.sum() < 4:
        return float("nan")
    return float(np.polyfit(np.log10(h[use]), np.log10(error[use]), 1)[0])


def compute_finite_difference(settings: FiniteDifferenceSettings) -> FiniteDifferenceResult:
    """The error curve of the setting's method and dtype (memoised), the estimate at h, the
    regime h is in and the slope measured in the truncation regime. Pure: no figure."""
    if not isinstance(settings, FiniteDifferenceSettings):
        raise TypeError(f"settings must be a FiniteDifferenceSettings; got {type(settings).__name__}.")
    s = settings
    dt = np.dtype(s.dtype)
    x = float(dt.type(s.x))          # the point the dtype can represent: exact f′ is taken there
    study = _study(s.function, x, s.method, s.dtype)
    with np.errstate(all="ignore"):
        approx = float(numerical_derivative(FUNCTIONS[s.function].f, dt.type(x), s.h, s.method))
    error = abs(approx - study.exact)
    fit = (study.h >= 10 * study.best_h) & (study.h <= FIT_MAX_H)
    notes = []
    if study.higher_derivative == 0:
        which = "f‴" if s.method == "central" else "f″"
        notes.append(f"{which}(x) = 0 here: the leading truncation term vanishes")
    if dt.type(x) + dt.type(s.h) == dt.type(x):
        notes.append(f"x + h rounds to x in {s.dtype}: the difference is 0")
    return FiniteDifferenceResult(
        settings=s, study=study, x=x, approx=approx, error=error,
        regime="rounding" if s.h < study.best_h else "truncation",
        slope=fit_slope(study.h, study.error, fit), fit=fit, note="; ".join(notes) or None,
    )


def _decades(value, _pos=None) -> str:
    """Tick label of a log axis: "1e-08" (plain text draws faster than mathtext)."""
    return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


class FiniteDifferenceExplorer(Explorer):
    """Function, point x, step h (log slider), method and dtype → the error |estimate − f′(x)|
    against h (log-log) with the truncation and rounding regions shaded, the error models,
    reference slopes 1 and 2, the optimum and the chosen h marked.

    ``FiniteDifferenceExplorer(method="central").set(dtype="float32")``
    """

    Settings = FiniteDifferenceSettings
    title = "Finite differences: truncation vs rounding error"
    compute = staticmethod(compute_finite_difference)

    @staticmethod
    def clear_cache() -> None:
        """Forget the memoised curves (benchmarks time a cold compute with it)."""
        _study.cache_clear()

    def make_figure(self, fig):
        from matplotlib.ticker import FixedLocator, NullLocator

        # A fixed layout: a redraw skips the constrained-layout solve (it measures every text again).
        fig.set_layout_engine("none")
        fig.set_size_inches((12.0, 7.4) if self.theme == "presentation" else (8.0, 5.6))
        ax = self.ax = fig.add_axes((0.1, 0.33, 0.87, 0.6))
        self.ax_text = fig.add_axes((0.01, 0.01, 0.98, 0.2))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(*H_RANGE)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(_decades)
            axis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_locator(FixedLocator(10.0 ** np.arange(-16, 1, 2)))
        span = dict(alpha=0.12, linewidth=0, zorder=0)
        self.shade_round = ax.axvspan(H_RANGE[0], 1e-8, color=style.color(2), **span,
                                      label="rounding dominates (h < optimum)")
        self.shade_trunc = ax.axvspan(1e-8, H_RANGE[1], color=style.color(1), **span,
                                      label="truncation dominates (h > optimum)")
        self.line_error, = ax.plot([], [], "o-", markersize=2.5, color=style.color(0), label="measured error")
        self.line_trunc, = ax.plot([], [], "--", color=style.color(1), label="truncation model")
        self.line_round, = ax.plot([], [], "-.", color=style.color(2), label="rounding model ∝ 1/h")
        self.line_slope1, = ax.plot([], [], ":", color="black", linewidth=1.3, label="reference slope 1")
        self.line_slope2, = ax.plot([], [], ":", color=style.color(3), linewidth=1.8,
                                    label="reference slope 2")
        self.mark_best, = ax.plot([], [], "*", markersize=14, color=style.color(5), zorder=5,
                                  label="optimum h (smallest error envelope)")
        self.line_h = ax.axvline(1e-3, color=style.color(7), linewidth=1.0, zorder=4)
        self.mark_h, = ax.plot([], [], "o", markersize=9, markerfacecolor="none", markeredgewidth=2,
                               color=style.color(7), zorder=6, label="your h")
        ax.set(xlabel="step h (log scale)", ylabel="|estimate − f′(x)| (log scale)")
        self.ax_text.set_axis_off()
        self.readout = self.ax_text.text(0.0, 0.5, "", transform=self.ax_text.transAxes, ha="left",
                                         va="center", fontsize="small", family="monospace")

    def draw(self, r: FiniteDifferenceResult):
        s, st = r.settings, r.study
        fn = FUNCTIONS[s.function]
        error, trunc, round_ = positive(st.error), positive(st.truncation), positive(st.rounding)
        self.line_error.set_data(st.h, error)
        self.line_trunc.set_data(st.h, trunc)
        self.line_round.set_data(st.h, round_)
        lo, hi = log_limits(error)
        self.ax.set_ylim(lo, hi)
        # the regions: left of the optimum rounding dominates, right of it truncation
        self.shade_round.set_x(H_RANGE[0])
        self.shade_round.set_width(st.best_h - H_RANGE[0])
        self.shade_trunc.set_x(st.best_h)
        self.shade_trunc.set_width(H_RANGE[1] - st.best_h)
        self.mark_best.set_data([st.best_h], [max(st.best_error, lo)])
        self.line_h.set_xdata([s.h, s.h])
        self.mark_h.set_data([s.h], [max(r.error, lo)])
        # reference slopes from a decade above the measured curve at the top of the fitted
        # range (parallel to it, not on top of it)
        anchor = np.flatnonzero(r.fit & (st.error > 0))
        if anchor.size:
            h0, e0 = st.h[anchor[-1]], 10 * st.error[anchor[-1]]
            hh = np.array([h0 * 1e-4, h0])
            self.line_slope1.set_data(hh, e0 * (hh / h0) ** 1)
            self.line_slope2.set_data(hh, e0 * (hh / h0) ** 2)
        else:
            self.line_slope1.set_data([], [])
            self.line_slope2.set_data([], [])
        term = "|f‴|h²/6" if s.method == "central" else "|f″|h/2"
        self.line_trunc.set_label(f"truncation model {term}")
        handles = [self.line_error, self.line_trunc, self.line_round, self.line_slope1, self.line_slope2,
                   self.mark_best, self.mark_h, self.shade_round, self.shade_trunc]
        self.ax_text.legend(handles=handles, loc="center right", fontsize="x-small", ncols=2)
        slope = "not measurable" if np.isnan(r.slope) else f"{r.slope:.2f}"
        self.readout.set_text(
            f"your h = {s.h:.2g}: error {r.error:.2g} ({r.regime})\n"
            f"estimate {r.approx:.10g}\n"
            f"exact f′ {st.exact:.10g}\n"
            f"optimum h ≈ {st.best_h:.2g} (model {st.predicted_h:.2g}),\n"
            f"  error {st.best_error:.2g}; eps = {st.eps:.2g}\n"
            f"slope (truncation side): {slope}, theory {r.order}")
        title = f"{s.method} difference of {fn.label} at x = {r.x:.6g}, {s.dtype}"
        if r.note:
            title += f"\n{r.note}"
        self.ax.set_title(title, fontsize="medium")

    def controls(self):
        import ipywidgets as W

        s = self.settings
        label = {"description_width": "70px"}
        return {
            "function": W.Dropdown(options=tuple(FUNCTIONS), value=s.function, description="f(x)",
                                   style=label),
            "x": W.FloatSlider(value=s.x, min=X_RANGE[0], max=X_RANGE[1], step=0.1, description="x",
                               continuous_update=False, style=label),
            "h": W.FloatLogSlider(value=s.h, base=10, min=-16, max=0, step=0.1, description="step h",
                                  readout_format=".1e", continuous_update=False, style=label),
            "method": W.ToggleButtons(options=METHODS, value=s.method, description="method", style=label),
            "dtype": W.ToggleButtons(options=DTYPES, value=s.dtype, description="dtype", style=label),
        }
