"""LearningRateExplorer: gradient descent converges, oscillates or diverges, set by lr·L.

On a quadratic f(θ) = ½ θᵀHθ, gradient descent θ ← θ − η Hθ multiplies the component of θ
along an eigenvector of H (eigenvalue λ) by (1 − ηλ) per step. With L the largest
eigenvalue (the curvature, or *sharpness*):

    η < 1/L        0 < 1 − ηL < 1      the iterate shrinks monotonically: converges
    1/L < η < 2/L  −1 < 1 − ηL < 0     it changes sign every step, still shrinking: oscillates
    η > 2/L        1 − ηL < −1         it changes sign and grows: diverges

The explorer runs gradient descent on the 2-D quadratic f = ½(L x² + (L/κ) y²) (curvature L,
condition number κ) from (1, 1), or on a small MLP (1-16-1 tanh, MSE on 64 points of
``bp.data.sine``), and *measures* the regime: diverges if the loss grew (or overflowed),
oscillates if the gradient's component along the sharpest direction (the top eigenvector of
the Hessian) changed sign on at least half of the steps where that component is a sizeable
part of the gradient, converges otherwise. For the MLP,
L is the largest Hessian eigenvalue at initialisation, estimated by power iteration on
Hessian-vector products taken as finite differences of gradients:

    H v ≈ (∇L(θ + εv) − ∇L(θ − εv)) / (2ε)          v ← Hv / ‖Hv‖,   λ ≈ vᵀHv

(the network is not a quadratic: its sharpness changes as it trains, so 2/L at init is a
guide, not a law).

    ex = bp.widgets.LearningRateExplorer(lr=1.5)         # oscillates: 1/L < lr < 2/L
    ex.set(problem="mlp", lr=0.3)
"""

from __future__ import annotations

import functools
import numbers
import textwrap
from dataclasses import dataclass

import numpy as np

from .._validate import NonFiniteError, check_choice, check_number
from ..data import sine
from ..nn.builders import mlp
from ..nn.losses import MSELoss
from ..optim.curvature import Sharpness, largest_hessian_eigenvalue
from ..optim.sgd import SGD
from ..viz import style
from ..viz._scales import log_limits, positive
from .base import Explorer
from .finite_difference import _decades

PROBLEMS = ("quadratic", "mlp")
REGIMES = ("converges", "oscillates", "diverges")
LR_RANGE = (1e-4, 100.0)
STEPS_RANGE = (1, 200)
CURVATURE_RANGE = (0.1, 100.0)
CONDITION_RANGE = (1.0, 1000.0)
SEED_RANGE = (0, 2**31 - 1)
START = (1.0, 1.0)                 # where gradient descent starts on the quadratic
MLP_SIZES = (1, 16, 1)             # the small network: 1 input, 16 tanh units, 1 output
MLP_POINTS = 64                    # points of bp.data.sine (noise 0.1, seed 0)
REGION_COLORS = {"converges": style.color(2), "oscillates": style.color(1), "diverges": style.color(5)}


# -- the small MLP problem ------------------------------------------------------------------------
def _mlp_problem(seed: int):
    """The network (fresh, from ``seed``), its data and loss, and θ ↦ (loss, ∇loss) on flat θ."""
    net = mlp(list(MLP_SIZES), activation="tanh", seed=seed)
    x, y = sine(n=MLP_POINTS, noise=0.1, seed=0)
    loss_fn = MSELoss()
    params = net.parameters()
    sizes = [p.size for p in params]

    def assign(theta):
        for p, chunk in zip(params, np.split(theta, np.cumsum(sizes)[:-1]), strict=True):
            p.data[...] = chunk.reshape(p.shape)

    def loss_and_grad(theta):
        assign(theta)
        net.zero_grad()
        loss = loss_fn(net(x), y)
        net.backward(loss_fn.backward())
        return loss, np.concatenate([p.grad.ravel() for p in params])

    theta0 = np.concatenate([p.data.ravel() for p in params])
    return net, x, y, loss_fn, theta0, loss_and_grad


@functools.lru_cache(maxsize=16)
def mlp_sharpness(seed: int) -> Sharpness:
    """λ_max of the MLP's loss Hessian at its initialisation (memoised per seed: lr and steps
    do not change it)."""
    *_, theta0, loss_and_grad = _mlp_problem(seed)
    s = largest_hessian_eigenvalue(lambda t: loss_and_grad(t)[1], theta0, seed=seed)
    s.vector.setflags(write=False)
    return s


# -- settings, result, compute --------------------------------------------------------------------
def _int_in(value, name: str, lo: int, hi: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer from {lo} to {hi}; "
                        f"got {value!r} ({type(value).__name__}).")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo} to {hi}; got {value}.")
    return int(value)


@dataclass(frozen=True)
class LearningRateSettings:
    """problem: "quadratic" (f = ½(L x² + (L/κ) y²), from (1, 1)) or "mlp" (1-16-1 tanh on
    ``bp.data.sine``, full-batch); lr: the step size η in [1e-4, 100]; steps: gradient-descent
    steps (1–200); curvature: L of the quadratic (0.1–100); condition: κ = L/μ of the quadratic
    (1–1000; μ the curvature along y); seed: the MLP's initialisation."""

    problem: str = "quadratic"
    lr: float = 0.5
    steps: int = 50
    curvature: float = 1.0
    condition: float = 10.0
    seed: int = 0

    def __post_init__(self):
        put = object.__setattr__
        put(self, "problem", check_choice(self.problem, "problem", PROBLEMS))
        put(self, "lr", check_number(self.lr, "lr (the learning rate)", low=LR_RANGE[0], high=LR_RANGE[1]))
        put(self, "steps", _int_in(self.steps, "steps", *STEPS_RANGE))
        put(self, "curvature", check_number(self.curvature, "curvature L", low=CURVATURE_RANGE[0],
                                            high=CURVATURE_RANGE[1]))
        put(self, "condition", check_number(self.condition, "condition (κ = L/μ)", low=CONDITION_RANGE[0],
                                            high=CONDITION_RANGE[1]))
        put(self, "seed", _int_in(self.seed, "seed", *SEED_RANGE))


@dataclass(frozen=True)
class LearningRateResult:
    """L: the curvature (quadratic) or the estimated sharpness at init (MLP); loss: per step,
    loss[0] before the first step, cut after the first non-finite value; along_top: the
    gradient's component along the top Hessian eigenvector per step; grad_norm: ‖∇L‖ per step;
    path: the iterates (steps+1, 2) on the quadratic, else None; regime: the measured one (``REGIMES``);
    predicted: what lr·L says; diverged_at: the first step whose loss overflowed (or None);
    fit: for the MLP, (x, y, prediction at init, prediction after the run); message: set when
    the run diverged (shown across the figure)."""

    settings: LearningRateSettings
    L: float
    loss: np.ndarray
    along_top: np.ndarray
    grad_norm: np.ndarray
    path: np.ndarray | None
    regime: str
    predicted: str
    diverged_at: int | None
    fit: tuple | None
    message: str | None

    @property
    def threshold(self) -> float:
        """2/L, the largest stable learning rate."""
        return 2.0 / self.L

    @property
    def mu(self) -> float | None:
        """The smaller curvature L/κ of the quadratic (None for the MLP)."""
        s = self.settings
        return s.curvature / s.condition if s.problem == "quadratic" else None


def predicted_regime(lr: float, L: float) -> str:
    """What the quadratic model says: converges (lr·L ≤ 1), oscillates (1 < lr·L ≤ 2), diverges."""
    if lr * L <= 1:
        return "converges"
    return "oscillates" if lr * L <= 2 else "diverges"


SHARE_MIN = 0.5   # a step counts if its gradient lies mostly along the top eigenvector


def classify(loss: np.ndarray, along_top: np.ndarray, grad_norm: np.ndarray, planned_steps: int) -> str:
    """The measured regime: diverges if the run stopped early (overflow) or the loss ended above
    where it started; oscillates if the gradient's component a = g·v along the sharpest
    direction v changed sign from step t to t+1 on at least half of the steps t at which it was
    most of the gradient (|a_t| ≥ 0.5‖g_t‖; once that component has died out, its sign is
    noise); converges otherwise. On a quadratic a_{t+1} = (1 − ηL)·a_t exactly."""
    if len(loss) < planned_steps + 1 or not loss[-1] <= loss[0]:
        return "diverges"
    n = min(len(along_top), len(grad_norm))
    a, g = np.asarray(along_top[:n]), np.asarray(grad_norm[:n])
    alive = (np.abs(a[:-1]) >= SHARE_MIN * g[:-1]) & (a[:-1] != 0)
    flips = (a[:-1] * a[1:] < 0)[alive]
    return "oscillates" if flips.size and flips.mean() >= 0.5 else "converges"


def _run_quadratic(s: LearningRateSettings):
    """Gradient descent on ½(L x² + μ y²): ∇f = (L x, μ y), θ ← θ − η∇f."""
    curv = np.array([s.curvature, s.curvature / s.condition])   # the Hessian's diagonal (L, μ)
    theta = np.array(START, dtype=np.float64)
    path, loss, along, norm = [theta.copy()], [0.5 * float(curv @ theta**2)], [], []
    for _ in range(s.steps):
        g = curv * theta                     # ∇f(θ) = Hθ
        along.append(g[0])                   # top eigenvector: the x axis
        norm.append(float(np.linalg.norm(g)))
        theta = theta - s.lr * g             # θ ← θ − η ∇f
        f = 0.5 * float(curv @ theta**2)
        if not np.isfinite(f):
            break
        path.append(theta.copy())
        loss.append(f)
    return np.array(path), np.array(loss), np.array(along[: len(loss)]), np.array(norm[: len(loss)])


def _run_mlp(s: LearningRateSettings, top: np.ndarray):
    """Full-batch gradient descent (bp.optim.SGD, no momentum) on the sine MLP."""
    net, x, y, loss_fn, _, _ = _mlp_problem(s.seed)
    order = np.argsort(x[:, 0])
    before = net(x)[order, 0]
    opt = SGD(net.parameters(), lr=s.lr)
    params = net.parameters()
    loss, along, norm, after = [], [], [], before
    try:
        for step in range(s.steps + 1):
            opt.zero_grad()
            out = net(x)
            value = loss_fn(out, y)
            if not np.isfinite(value):
                break
            loss.append(value)
            after = out[order, 0]
            if step == s.steps:
                break
            net.backward(loss_fn.backward())
            g = np.concatenate([p.grad.ravel() for p in params])
            along.append(float(g @ top))
            norm.append(float(np.linalg.norm(g)))
            opt.step()                                       # θ ← θ − η ∇L
    except NonFiniteError:                                   # the weights overflowed
        pass
    fit = (x[order, 0], y[order, 0], before, after)
    return np.array(loss), np.array(along[: len(loss)]), np.array(norm[: len(loss)]), fit


def _message(s: LearningRateSettings, L: float, loss: np.ndarray, diverged_at) -> str:
    where = f"lr = {s.lr:.3g} {'>' if s.lr > 2 / L else '≤'} 2/L = {2 / L:.3g}"
    if s.problem == "mlp":
        where += " (L at init)"
    if diverged_at is not None:
        grew = f"the loss overflowed at step {diverged_at}"
    else:
        grew = f"the loss grew from {loss[0]:.3g} to {loss[-1]:.3g} in {len(loss) - 1} steps"
    return textwrap.fill(f"Diverges: {where}; {grew}. Lower the learning rate.", 60)


def compute_learning_rate(settings: LearningRateSettings) -> LearningRateResult:
    """Run gradient descent for the setting and classify what happened. Pure: no figure; a
    diverging run is a result with a ``message``, not an exception (and no warnings)."""
    if not isinstance(settings, LearningRateSettings):
        raise TypeError(f"settings must be a LearningRateSettings; got {type(settings).__name__}.")
    s = settings
    with np.errstate(all="ignore"):
        if s.problem == "quadratic":
            L = s.curvature
            path, loss, along, norm = _run_quadratic(s)
            fit = None
        else:
            sharp = mlp_sharpness(s.seed)
            L = sharp.value
            loss, along, norm, fit = _run_mlp(s, sharp.vector)
            path = None
    diverged_at = len(loss) if len(loss) < s.steps + 1 else None
    regime = classify(loss, along, norm, s.steps)
    return LearningRateResult(
        settings=s, L=L, loss=loss, along_top=along, grad_norm=norm, path=path, regime=regime,
        predicted=predicted_regime(s.lr, L), diverged_at=diverged_at, fit=fit,
        message=_message(s, L, loss, diverged_at) if regime == "diverges" else None,
    )


# -- the view -------------------------------------------------------------------------------------
LEVELS = (1.0, 0.5, 0.2, 0.05, 0.01)     # contour levels, as fractions of the starting loss
_T = np.linspace(0, 2 * np.pi, 121)
VIEW = 1.6                               # the path axes show [−1.6, 1.6]²


def regime_label(regime: str) -> str:
    return {"converges": "converges", "oscillates": "oscillates (lr > 1/L)",
            "diverges": "diverges (lr > 2/L)"}[regime]


def describe_regime(r: LearningRateResult) -> str:
    """The title of the loss plot: the measured regime, and the model's prediction if it differs."""
    if r.regime == r.predicted:
        return f"measured: {regime_label(r.regime)}"
    return (f"measured: {r.regime}, although lr·L = {r.settings.lr * r.L:.2g}\n"
            f"(a quadratic with this L would {r.predicted.rstrip('s')}: L changes as the net trains)")


class LearningRateExplorer(Explorer):
    """Problem (quadratic or MLP), lr (log slider), steps, the quadratic's curvature L and
    condition number → loss vs step (log), the iterate path on the quadratic's contours (or the
    MLP's fit), and an lr axis with the converge / oscillate / diverge regions, 1/L and 2/L.

    ``LearningRateExplorer(curvature=4).set(lr=0.45)``
    """

    Settings = LearningRateSettings
    title = "Learning rate: converge, oscillate, diverge"
    compute = staticmethod(compute_learning_rate)

    @staticmethod
    def clear_cache() -> None:
        """Forget the memoised MLP sharpness (benchmarks time a cold compute with it)."""
        mlp_sharpness.cache_clear()

    def make_figure(self, fig):
        from matplotlib.ticker import NullLocator

        # A fixed layout: a redraw skips the constrained-layout solve (it measures every text again).
        fig.set_layout_engine("none")
        fig.set_size_inches((13.0, 7.6) if self.theme == "presentation" else (9.0, 5.6))
        grid = fig.add_gridspec(2, 2, height_ratios=(4.0, 1.0), width_ratios=(1.25, 1.0), left=0.08,
                                right=0.84, bottom=0.1, top=0.84, hspace=0.42, wspace=0.22)
        self.ax_loss = fig.add_subplot(grid[0, 0])
        self.ax_path = fig.add_subplot(grid[0, 1])
        self.ax_lr = fig.add_subplot(grid[1, :])
        # loss vs step (plain-text log ticks: mathtext labels cost a good part of a redraw)
        self.ax_loss.set_yscale("log")
        self.ax_loss.yaxis.set_minor_locator(NullLocator())
        self.ax_loss.yaxis.set_major_formatter(_decades)
        self.line_loss, = self.ax_loss.plot([], [], "o-", markersize=2.5, color=style.color(0), label="loss")
        self.mark_end, = self.ax_loss.plot([], [], "x", markersize=10, markeredgewidth=2,
                                           color=style.color(5), label="the loss overflowed here",
                                           transform=self.ax_loss.get_xaxis_transform())   # y: axes fraction
        self.ax_loss.set(xlabel="step", ylabel="loss (log scale)")
        # the path (quadratic) or the fit (MLP)
        self.ellipses = [self.ax_path.plot([], [], color="0.75", linewidth=1, zorder=1)[0] for _ in LEVELS]
        self.line_path, = self.ax_path.plot([], [], "o-", markersize=3, linewidth=1, color=style.color(0),
                                            label="iterates θ_t", zorder=3)
        self.mark_start, = self.ax_path.plot([], [], "s", color=style.color(7), label="start", zorder=4)
        self.mark_min, = self.ax_path.plot([], [], "*", markersize=12, color=style.color(2), label="minimum",
                                           zorder=4)
        self.dots, = self.ax_path.plot([], [], ".", color="0.55", label="data (sine + noise)", zorder=2)
        self.line_init, = self.ax_path.plot([], [], "--", color=style.color(7), label="network at init")
        self.line_final, = self.ax_path.plot([], [], color=style.color(0), linewidth=2, label="after the run")
        # the lr axis with the three regions
        ax = self.ax_lr
        ax.set_xscale("log")
        ax.set_xlim(*LR_RANGE)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(_decades)
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        ax.grid(False)
        self.regions = {name: ax.axvspan(1, 2, color=REGION_COLORS[name], alpha=0.25, linewidth=0,
                                         label=name if name == "converges" else regime_label(name))
                        for name in REGIMES}
        self.line_1L = ax.axvline(1, color="black", linestyle=":", linewidth=1.2)
        self.line_2L = ax.axvline(2, color="black", linewidth=1.6)
        self.text_1L = ax.text(1, 0.92, "1/L", ha="center", va="top", fontsize="small")
        self.text_2L = ax.text(2, 0.92, "2/L", ha="center", va="top", fontsize="small", fontweight="bold")
        self.mark_lr, = ax.plot([], [], "v", markersize=12, color=style.color(7), label="your lr", zorder=5,
                                clip_on=False)
        ax.set_xlabel("learning rate (log scale)")
        ax.legend(handles=[*self.regions.values(), self.mark_lr], loc="center left",
                  bbox_to_anchor=(1.0, 0.5), fontsize="x-small")

    def draw(self, r: LearningRateResult):
        s = r.settings
        steps = np.arange(len(r.loss))
        self.line_loss.set_data(steps, positive(r.loss))
        if r.diverged_at is not None:
            self.mark_end.set_data([r.diverged_at], [0.97])
        else:
            self.mark_end.set_data([], [])
        self.ax_loss.set_xlim(-0.02 * s.steps - 0.5, s.steps + 0.5)
        self.ax_loss.set_ylim(*log_limits(r.loss))
        handles = [self.line_loss] + [self.mark_end] * (r.diverged_at is not None)
        self.ax_loss.legend(handles=handles, loc="best", fontsize="small")
        self.ax_loss.set_title(describe_regime(r), fontsize="medium")
        if s.problem == "quadratic":
            self._draw_path(r)
        else:
            self._draw_fit(r)
        self._draw_lr_axis(r)
        what = (f"quadratic ½(L x² + μ y²), L = {s.curvature:.3g}, κ = {s.condition:.3g}"
                if s.problem == "quadratic" else
                f"MLP {'-'.join(map(str, MLP_SIZES))} tanh on sine data, L ≈ {r.L:.3g} (top Hessian "
                "eigenvalue at init)")
        self.fig.suptitle(f"gradient descent, lr = {s.lr:.3g}, {s.steps} steps: {what}", fontsize="medium")

    def _draw_path(self, r: LearningRateResult):
        s, ax = r.settings, self.ax_path
        L, mu = s.curvature, r.mu
        f0 = 0.5 * (L * START[0] ** 2 + mu * START[1] ** 2)
        for line, level in zip(self.ellipses, LEVELS, strict=True):   # ½(L x² + μ y²) = c
            c = level * f0
            line.set_data(np.sqrt(2 * c / L) * np.cos(_T), np.sqrt(2 * c / mu) * np.sin(_T))
        self.line_path.set_data(*np.clip(r.path, -1e3, 1e3).T)
        self.mark_start.set_data([START[0]], [START[1]])
        self.mark_min.set_data([0], [0])
        for line in (self.dots, self.line_init, self.line_final):
            line.set_data([], [])
        ax.set_xlim(-VIEW, VIEW)
        ax.set_ylim(-VIEW, VIEW)
        ax.set_aspect("equal", adjustable="box")
        ax.set(xlabel="x (curvature L)", ylabel="y (curvature μ = L/κ)")
        ax.set_title("iterates on the contours of f", fontsize="medium")
        ax.legend(handles=[self.line_path, self.mark_start, self.mark_min], loc="lower left",
                  fontsize="x-small")

    def _draw_fit(self, r: LearningRateResult):
        ax = self.ax_path
        x, y, before, after = r.fit
        for line in (*self.ellipses, self.line_path, self.mark_start, self.mark_min):
            line.set_data([], [])
        self.dots.set_data(x, y)
        self.line_init.set_data(x, before)
        self.line_final.set_data(x, np.clip(after, -1e3, 1e3))
        ax.set_aspect("auto")
        ax.set_xlim(x.min() - 0.1, x.max() + 0.1)
        ax.set_ylim(-2.0, 2.0)
        ax.set(xlabel="input x", ylabel="y")
        ax.set_title("the network's fit", fontsize="medium")
        ax.legend(handles=[self.dots, self.line_init, self.line_final], loc="lower right", fontsize="x-small")

    def _draw_lr_axis(self, r: LearningRateResult):
        one, two = 1.0 / r.L, 2.0 / r.L
        lo, hi = LR_RANGE
        bounds = {"converges": (lo, one), "oscillates": (one, two), "diverges": (two, hi)}
        for name, (a, b) in bounds.items():
            a, b = min(max(a, lo), hi), min(max(b, lo), hi)
            self.regions[name].set_x(a)
            self.regions[name].set_width(b - a)
        for line, text, value in ((self.line_1L, self.text_1L, one), (self.line_2L, self.text_2L, two)):
            line.set_xdata([value, value])
            text.set_x(value)
            text.set_text(f"{'1' if value == one else '2'}/L = {value:.3g}")
        self.text_1L.set_ha("right")
        self.text_2L.set_ha("left")
        self.mark_lr.set_data([r.settings.lr], [0.45])

    # -- controls --------------------------------------------------------------------
    def controls(self):
        import ipywidgets as W

        s = self.settings
        label = {"description_width": "80px"}
        slider = dict(continuous_update=False, style=label)
        quad = s.problem == "quadratic"
        return {
            "problem": W.ToggleButtons(options=PROBLEMS, value=s.problem, description="problem", style=label),
            "lr": W.FloatLogSlider(value=s.lr, base=10, min=-4, max=2, step=0.02, readout_format=".3g",
                                   description="lr", **slider),
            "steps": W.IntSlider(value=s.steps, min=STEPS_RANGE[0], max=STEPS_RANGE[1], description="steps",
                                 **slider),
            "curvature": W.FloatLogSlider(value=s.curvature, base=10, min=-1, max=2, step=0.05,
                                          readout_format=".3g", description="curvature L", disabled=not quad,
                                          **slider),
            "condition": W.FloatLogSlider(value=s.condition, base=10, min=0, max=3, step=0.1,
                                          readout_format=".3g", description="condition κ", disabled=not quad,
                                          **slider),
            "seed": W.BoundedIntText(value=s.seed, min=SEED_RANGE[0], max=SEED_RANGE[1],
                                     description="MLP seed", disabled=quad, style=label),
        }

    def _sync_controls(self):
        super()._sync_controls()
        quad = self.settings.problem == "quadratic"
        for name, off in (("curvature", not quad), ("condition", not quad), ("seed", quad)):
            if name in self._widgets:
                self._widgets[name].disabled = off
