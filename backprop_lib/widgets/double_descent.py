"""DoubleDescentExplorer: test error and ‖θ‖ of random-feature fits against the number of
features p, with the peak at p = n and what ridge does to it.

    f(x) = relu(Fᵀx)ᵀθ,  θ = Φ⁺y (λ = 0, what gradient descent from 0 finds)
                         θ = (ΦᵀΦ + λI)⁻¹Φᵀy (ridge, λ > 0)

In the SVD Φ = U diag(s) Vᵀ the fit is θ = Σᵢ g(sᵢ)(uᵢᵀy)vᵢ with gain g(s) = 1/s (min norm) or
s/(s² + λ) ≤ 1/(2√λ) (ridge). At p = n the smallest singular value of the square Φ is close to
0, its gain huge, and the noise in y is amplified into θ: the peak. The third panel shows the
singular values of Φ at the chosen p and their gains.

The data, features and SVDs of one (n, d, seed) are computed once
(``bp.train.random_features.cached_problem``): moving p, noise or λ only re-applies gains.

    ex = bp.widgets.DoubleDescentExplorer(n=100, d=20, noise=0.3)
    ex.set(lam=1.0)
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .._validate import check_number, check_positive_int
from ..train.random_features import DoubleDescent, cached_problem, p_grid
from ..viz import style
from ..viz._scales import log_limits, positive
from .base import Explorer

P_MAX = 2000            # features available to every fit (the first p columns of one F)
N_MAX = 200
N_TEST = 1000
LAMBDAS = (0.0, 1e-4, 1e-3, 1e-2, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)
P_OPTIONS = tuple(sorted(set(p_grid(1, P_MAX, 61).tolist()) | set(range(10, N_MAX + 1, 10))))


@dataclass(frozen=True)
class DoubleDescentSettings:
    n: int = 100            # training points (the peak sits at p = n)
    d: int = 20             # input dimension
    p: int = 100            # the feature count marked on the curves and shown in the spectrum
    noise: float = 0.3      # label noise σ (training and test labels)
    lam: float = 0.0        # ridge λ; 0 = the minimum-norm fit
    seed: int = 0           # data and features

    def __post_init__(self):
        n = check_positive_int(self.n, "n")
        if not 2 <= n <= N_MAX:
            raise ValueError(f"n must lie in [2, {N_MAX}]; got {n}.")
        check_positive_int(self.d, "d")
        p = check_positive_int(self.p, "p")
        if p > P_MAX:
            raise ValueError(f"p must lie in [1, {P_MAX}] (the features available); got {p}.")
        check_number(self.noise, "noise", low=0.0, high=10.0)
        check_number(self.lam, "lam", low=0.0, high=1e6)
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0; got {self.seed!r}.")


@dataclass(frozen=True)
class DoubleDescentResult:
    settings: DoubleDescentSettings
    curve: DoubleDescent                  # the fits with λ, over the p grid
    min_norm: DoubleDescent | None        # the λ = 0 curve for comparison (None when λ = 0)
    point: dict                           # the fit at the chosen p (``DoubleDescent.at``)
    singular: np.ndarray                  # singular values of Φ_p, descending
    gain: np.ndarray                      # g(s) = 1/s or s/(s² + λ): each direction's factor
    message: str | None = None

    @property
    def floor(self) -> float:
        """noise²: the test error of the teacher itself."""
        return self.settings.noise ** 2


def compute_double_descent(settings: DoubleDescentSettings) -> DoubleDescentResult:
    """The curve over ``p_grid(n, P_MAX)``, the λ = 0 curve when λ > 0, and the spectrum of Φ
    at the chosen p. Pure: no figure (the problem's data and SVDs are memoised)."""
    if not isinstance(settings, DoubleDescentSettings):
        raise TypeError(f"settings must be a DoubleDescentSettings; got {type(settings).__name__}.")
    s = settings
    problem = cached_problem(s.n, s.d, P_MAX, int(s.seed), N_TEST)
    grid = p_grid(s.n, P_MAX)
    curve = problem.sweep(grid, s.noise, s.lam)
    min_norm = problem.sweep(grid, s.noise, 0.0) if s.lam > 0 else None
    point = problem.sweep([s.p], s.noise, s.lam).at(s.p)
    singular = problem.svd(s.p)[1]
    gain = 1.0 / singular if s.lam == 0 else singular / (singular**2 + s.lam)   # θ = V g(s) Uᵀy
    return DoubleDescentResult(s, curve, min_norm, point, singular, gain)


def _decade_label(value, _pos=None) -> str:
    """Tick label of a log axis as plain text ("100", "1e-3"): it draws faster than mathtext."""
    if 1 <= value < 1e5:
        return f"{value:.0f}"
    return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def _decade_ticks(axis) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    axis.set_major_locator(LogLocator(base=10, numticks=7))
    axis.set_major_formatter(FuncFormatter(_decade_label))
    axis.set_minor_locator(NullLocator())


def _legend(ax, loc, ncols=1) -> None:
    """A legend of the lines that are shown (a hidden floor or an empty λ = 0 curve is left out)."""
    shown = [h for h in ax.get_lines() if h.get_visible() and len(h.get_xdata()) and
             not h.get_label().startswith("_")]
    ax.legend(handles=shown, loc=loc, fontsize="small", ncols=ncols)


class DoubleDescentExplorer(Explorer):
    """Training points n, input dimension d, features p (log), noise and ridge λ → train and test
    error against p (log-log) with p = n and the noise floor marked, ‖θ‖ against p, and the
    singular values of Φ at p with the gain each direction of y gets.

    ``DoubleDescentExplorer().set(lam=1.0)``
    """

    Settings = DoubleDescentSettings
    title = "Double descent: random ReLU features, min-norm and ridge fits"
    compute = staticmethod(compute_double_descent)

    @staticmethod
    def clear_cache() -> None:
        """Forget the memoised problems (benchmarks time a cold compute with it)."""
        cached_problem.cache_clear()

    def make_figure(self, fig):
        # A fixed layout and plain-text decade ticks: a redraw skips the constrained-layout solve
        # and mathtext, which together cost most of a second for three log axes.
        fig.set_layout_engine("none")
        big = self.theme == "presentation"
        fig.set_size_inches((17.0, 6.6) if big else (12.5, 4.6))
        bottom, height = (0.12, 0.64) if big else (0.11, 0.66)
        self.ax_err, self.ax_norm, self.ax_spec = (
            fig.add_axes((left, bottom, 0.25, height)) for left in (0.07, 0.4, 0.73))
        self.heading = fig.text(0.5, 0.975, "", ha="center", va="top", fontsize="large")
        c = style.color
        ax = self.ax_err
        (self.ref_test,) = ax.plot([], [], color="0.65", lw=1.2, label="test, λ = 0")
        (self.test,) = ax.plot([], [], color=c(0), marker=".", label="test")
        (self.train,) = ax.plot([], [], color=c(1), ls="--", label="train")
        self.floor = ax.axhline(1.0, color=c(2), ls=":", label="noise²")
        (self.mark_err,) = ax.plot([], [], "o", color=c(5), ms=9, zorder=5, label="chosen p")
        ax.set(xlabel="features p", ylabel="mean squared error")
        ax = self.ax_norm
        (self.ref_norm,) = ax.plot([], [], color="0.65", lw=1.2, label="‖θ‖, λ = 0")
        (self.norm,) = ax.plot([], [], color=c(3), marker=".", label="‖θ‖")
        (self.mark_norm,) = ax.plot([], [], "o", color=c(5), ms=9, zorder=5)
        ax.set(xlabel="features p", ylabel="‖θ‖")
        self.n_lines = [a.axvline(1.0, color="0.3", ls="-.", lw=1, label="p = n")
                        for a in (self.ax_err, self.ax_norm)]
        ax = self.ax_spec
        (self.sing,) = ax.plot([], [], color=c(0), marker=".", label="singular values sᵢ of Φ")
        (self.gain,) = ax.plot([], [], color=c(5), marker=".", label="gain g(sᵢ)")
        self.cap = ax.axhline(1.0, color=c(5), ls=":", label="1/(2√λ)")
        ax.set(xlabel="index i (descending s)", ylabel="value")
        for a in (self.ax_err, self.ax_norm, self.ax_spec):
            if a is not self.ax_spec:
                a.set_xscale("log")
                a.set_xlim(0.8, P_MAX * 1.25)
                _decade_ticks(a.xaxis)
            a.set_yscale("log")
            _decade_ticks(a.yaxis)

    def draw(self, r: DoubleDescentResult):
        s, cur, pt = r.settings, r.curve, r.point
        self.test.set_data(cur.p, positive(cur.test_error))
        self.train.set_data(cur.p, positive(cur.train_error))
        self.norm.set_data(cur.p, positive(cur.theta_norm))
        ref = r.min_norm
        self.ref_test.set_data(*((ref.p, positive(ref.test_error)) if ref is not None else ([], [])))
        self.ref_norm.set_data(*((ref.p, positive(ref.theta_norm)) if ref is not None else ([], [])))
        self.mark_err.set_data([s.p], [pt["test_error"]])
        self.mark_norm.set_data([s.p], [pt["theta_norm"]])
        for line in self.n_lines:
            line.set_xdata([s.n, s.n])
        self.floor.set_ydata([r.floor, r.floor])
        self.floor.set_visible(r.floor > 0)

        errors = [cur.test_error, [pt["test_error"]]] + ([ref.test_error] if ref is not None else [])
        lo, hi = log_limits(np.concatenate(errors + ([[r.floor]] if r.floor > 0 else [])))
        self.ax_err.set_ylim(lo, hi)                     # a train error of 1e-25 runs off the bottom
        norms = [cur.theta_norm, [pt["theta_norm"]]] + ([ref.theta_norm] if ref is not None else [])
        self.ax_norm.set_ylim(*log_limits(np.concatenate(norms)))
        fit = "minimum-norm fit" if s.lam == 0 else f"ridge fit, λ = {s.lam:g}"
        self.heading.set_text(f"{fit}: n = {s.n} points in d = {s.d} dimensions, noise σ = {s.noise:g}")
        self.ax_err.set_title(f"test error at p = {s.p}: {pt['test_error']:.3g}\n"
                              f"largest at p = {cur.peak_p}")
        self.ax_norm.set_title(f"‖θ‖ at p = {s.p}: {pt['theta_norm']:.3g}\n"
                               f"largest at p = {int(cur.p[np.argmax(cur.theta_norm)])}")

        i = np.arange(1, len(r.singular) + 1)
        self.sing.set_data(i, r.singular)
        self.gain.set_data(i, r.gain)
        self.cap.set_visible(s.lam > 0)
        if s.lam > 0:
            self.cap.set_ydata([0.5 / np.sqrt(s.lam)] * 2)
        self.ax_spec.set_xlim(0, len(r.singular) + 1)
        self.ax_spec.set_ylim(*log_limits(np.concatenate([r.singular, r.gain])))
        _legend(self.ax_err, "upper left", ncols=2)
        _legend(self.ax_norm, "upper right")
        _legend(self.ax_spec, "upper left")
        self.ax_spec.set_title(f"Φ is {s.n} × {s.p}: smallest s = {r.singular[-1]:.2g}\n"
                               f"largest gain g(s) = {r.gain.max():.3g}")

    def _sync_controls(self) -> None:
        """A value from code that a selection slider lacks is added to its options first."""
        for name in ("p", "lam"):
            w = self._widgets.get(name)
            value = getattr(self.settings, name)
            if w is not None and value not in w.options:
                self._syncing = True
                try:
                    w.options = tuple(sorted(set(w.options) | {value}))
                finally:
                    self._syncing = False
        super()._sync_controls()

    def controls(self):
        import ipywidgets as W

        s = self.settings
        return {
            "n": W.IntSlider(value=s.n, min=10, max=N_MAX, step=10, description="points n",
                             continuous_update=False),
            "d": W.IntSlider(value=s.d, min=1, max=100, description="input dim d", continuous_update=False),
            "p": W.SelectionSlider(options=tuple(sorted(set(P_OPTIONS) | {s.p})), value=s.p,
                                   description="features p", continuous_update=False),
            "noise": W.FloatSlider(value=s.noise, min=0.0, max=2.0, step=0.05, description="noise σ",
                                   continuous_update=False),
            "lam": W.SelectionSlider(options=tuple(sorted(set(LAMBDAS) | {s.lam})), value=s.lam,
                                     description="ridge λ", continuous_update=False),
            "seed": W.BoundedIntText(value=s.seed, min=0, max=10_000, description="seed"),
        }
