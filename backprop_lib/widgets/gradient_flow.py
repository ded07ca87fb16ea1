"""GradientFlowExplorer: how the gradient changes from layer to layer of a deep network.

Backprop's recursion for layer k, with z_k = W_k a_{k−1} + b_k and a_k = f(z_k),

    δ_k = ∂L/∂z_k = (W_{k+1}ᵀ δ_{k+1}) ⊙ f′(z_k)          ∂L/∂W_k = δ_kᵀ a_{k−1}

multiplies the error by W_{k+1}ᵀ and by f′ once per layer. If that product is typically
smaller than 1 the gradient shrinks geometrically toward the input (vanishing), if larger it
grows (exploding). For width n and weights of std σ_w the factor is about σ_w·√n·RMS(f′):
sigmoid (f′ ≤ 1/4) with small weights vanishes, large weights explode, ReLU with He's
σ_w = √(2/n) stays near 1. A residual block adds the identity (δ_k = δ_{k+1} + Jᵀδ_{k+1}),
batch norm rescales every layer's input.

The explorer builds the network for a setting, runs one forward and backward pass on a
fixed seeded random batch with ``bp.probes.gradient_flow`` and plots per layer the RMS of
δ and of ∂L/∂W (log scale), the activation std and the update/weight ratio lr·RMS(∂L/∂W)/
RMS(W) of an SGD step, with the fitted per-layer factor (``bp.probes.measured_factor``).

    ex = bp.widgets.GradientFlowExplorer(activation="sigmoid", depth=20)
    ex.set(residual=True)          # the same network with skip connections
"""

from __future__ import annotations

import numbers
import textwrap
from dataclasses import dataclass

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from .._validate import as_rng, check_bool, check_choice, check_number
from ..nn.activations import get_activation
from ..nn.init import gain_for_activation
from ..nn.layers import Linear
from ..nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from ..nn.module import Sequential
from ..nn.normalization import BatchNorm1d
from ..nn.residual import Residual
from ..probes.flow import gradient_flow, measured_factor
from ..probes.records import FlowRecord
from ..viz import style
from ..viz._scales import log_limits, positive
from .base import Explorer

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus", "identity")
#: init names shown in the control; every name of ``bp.nn.init.INIT_SCHEMES`` is accepted and
#: its aliases mapped onto these ("glorot" → "xavier", "kaiming" → "he", ...).
INITS = ("default", "xavier", "xavier_normal", "he", "he_uniform", "lecun", "orthogonal", "normal",
         "constant", "zeros")
_INIT_ALIASES = {"glorot": "xavier", "xavier_uniform": "xavier", "kaiming": "he", "he_normal": "he",
                 "kaiming_uniform": "he_uniform", "lecun_normal": "lecun", "linear": "identity"}
DTYPES = ("float64", "float32")
LOSSES = {"mse": MSELoss, "cross_entropy": CrossEntropyLoss, "bce": BCEWithLogitsLoss}
N_OUT = 10            # outputs of the read-out layer (10 classes / 10 regression targets)
RATIO_GUIDE = 1e-3    # rule of thumb for the update/weight ratio of one step

# Ranges of the settings (the sliders use the same ones).
DEPTH_RANGE, WIDTH_RANGE, BATCH_RANGE = (1, 50), (1, 512), (1, 512)
INIT_STD_RANGE, LR_RANGE, SEED_RANGE = (1e-3, 1e3), (1e-6, 10.0), (0, 2**31 - 1)


def _int_in(value, name: str, lo: int, hi: int, meaning: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer ({meaning}); got {value!r} ({type(value).__name__}).")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo} to {hi} ({meaning}); got {value}.")
    return int(value)


def _canonical(value, name: str, choices) -> str:
    key = value.lower() if isinstance(value, str) else value
    return check_choice(_INIT_ALIASES.get(key, key), name, choices)


@dataclass(frozen=True)
class GradientFlowSettings:
    """One setting of the explorer (validated on creation).

    depth: number of Linear layers (depth − 1 hidden layers of ``width`` units, then a read-out
        with 10 outputs); width: units per hidden layer (also the input dimension);
    activation: one of ``ACTIVATIONS``; init: a name of ``bp.nn.init.INIT_SCHEMES`` ("he" uses
        the gain of the activation); init_std: the weights' std for init="normal" (the value of
        every weight for "constant"; ignored otherwise);
    batch_norm: Linear → BatchNorm1d → activation in every hidden layer;
    residual: every hidden layer becomes a block a ↦ a + f(W a + b) (its Linear, batch norm and
        activation inside ``Residual``);
    lr: learning rate of the SGD step whose update/weight ratio is shown;
    batch_size: rows of the fixed random batch x ~ N(0, 1); loss: "mse", "cross_entropy", "bce";
    seed: the weights' and the batch's seed;
    dtype: "float64" or "float32" (float32 overflows beyond 3.4e38, float64 beyond 1.8e308).
    """

    depth: int = 20
    width: int = 128
    activation: str = "sigmoid"
    init: str = "xavier"
    init_std: float = 0.1
    batch_norm: bool = False
    residual: bool = False
    lr: float = 0.01
    batch_size: int = 128
    loss: str = "mse"
    seed: int = 0
    dtype: str = "float64"

    def __post_init__(self):
        put = object.__setattr__
        put(self, "depth", _int_in(self.depth, "depth", *DEPTH_RANGE, "the number of Linear layers"))
        put(self, "width", _int_in(self.width, "width", *WIDTH_RANGE, "units per hidden layer"))
        put(self, "activation", _canonical(self.activation, "activation", ACTIVATIONS))
        put(self, "init", _canonical(self.init, "init", INITS))
        put(self, "init_std", check_number(self.init_std, "init_std", low=INIT_STD_RANGE[0],
                                           high=INIT_STD_RANGE[1]))
        put(self, "batch_norm", check_bool(self.batch_norm, "batch_norm"))
        put(self, "residual", check_bool(self.residual, "residual"))
        put(self, "lr", check_number(self.lr, "lr", low=LR_RANGE[0], high=LR_RANGE[1]))
        put(self, "batch_size", _int_in(self.batch_size, "batch_size", *BATCH_RANGE,
                                        "rows of the random batch"))
        put(self, "loss", check_choice(self.loss, "loss", tuple(LOSSES)))
        put(self, "seed", _int_in(self.seed, "seed", *SEED_RANGE, "seed of weights and batch"))
        put(self, "dtype", check_choice(self.dtype, "dtype", DTYPES))
        if self.batch_norm and self.batch_size < 2:
            raise ValueError(
                f"batch_norm=True needs batch_size >= 2 (batch statistics of one example are undefined); "
                f"got batch_size={self.batch_size}. Raise batch_size or turn batch_norm off."
            )

    def describe(self) -> str:
        """A one-line description, used as the figure's title."""
        init = self.init
        if init in ("normal", "constant"):
            init += f" (std {self.init_std:.3g})" if init == "normal" else f" ({self.init_std:.3g})"
        parts = [f"depth {self.depth}", f"width {self.width}", self.activation, f"init {init}"]
        parts += ["batch norm"] * self.batch_norm + ["residual"] * self.residual
        parts += [f"batch {self.batch_size}", f"lr {self.lr:.3g}", f"{self.loss} loss"]
        parts += [self.dtype] * (self.dtype != "float64")
        return ", ".join(parts)


def build_network(settings: GradientFlowSettings) -> Sequential:
    """The network of a setting: ``depth − 1`` hidden layers of ``width`` units and a Linear
    read-out with 10 outputs. Without batch norm and residual blocks it is exactly
    ``bp.nn.mlp([width] * depth + [10], activation, init, seed, init_std=init_std)`` (the same
    per-layer seeds), so switching batch norm or residual on keeps the same weights."""
    s = settings
    act = get_activation(s.activation)
    gain = gain_for_activation(act.name or "identity", getattr(act, "negative_slope", None))
    seeds = as_rng(s.seed).integers(0, 2**63 - 1, size=s.depth)     # as bp.nn.mlp draws them
    init_std = s.init_std if s.init in ("normal", "constant") else None
    dtype = np.dtype(s.dtype)

    def linear(n_out, seed):
        return Linear(s.width, n_out, init=s.init, seed=int(seed), init_std=init_std, nonlinearity=gain,
                      dtype=dtype)

    layers = []
    for seed in seeds[:-1]:
        hidden = [linear(s.width, seed)] + ([BatchNorm1d(s.width, dtype=dtype)] if s.batch_norm else [])
        hidden.append(get_activation(s.activation))
        layers += [Residual(Sequential(*hidden))] if s.residual else hidden
    layers.append(linear(N_OUT, seeds[-1]))
    return Sequential(*layers)


def make_batch(settings: GradientFlowSettings):
    """The fixed random batch of a setting: x ~ N(0, 1) of shape (batch_size, width) and targets
    for the loss (N(0, 1) values, class labels in 0..9, or 0/1 targets), from the seed."""
    rng = np.random.default_rng([settings.seed, 1])   # a stream apart from the weights'
    x = rng.standard_normal((settings.batch_size, settings.width)).astype(settings.dtype)
    shape = (settings.batch_size, N_OUT)
    if settings.loss == "mse":
        y = rng.standard_normal(shape).astype(settings.dtype)
    elif settings.loss == "cross_entropy":
        y = rng.integers(0, N_OUT, size=settings.batch_size)
    else:
        y = (rng.random(shape) < 0.5).astype(settings.dtype)
    return x, y


@dataclass(frozen=True)
class GradientFlowResult:
    """What ``compute_gradient_flow`` measured.

    record: the probe's ``FlowRecord`` (per layer: δ, ∂L/∂W and activation statistics);
    delta_factor / grad_factor: per-layer factor of RMS(δ) / RMS(∂L/∂W), going back toward
        the input (< 1 vanishing, > 1 exploding); activation_factor: of the activation RMS,
        going forward; first_over_last: RMS(δ_1)/RMS(δ_depth);
    update_ratio: lr·RMS(∂L/∂W)/RMS(W) per layer; message: why the figure cannot be
        trusted (overflow, no gradient), or None.
    """

    settings: GradientFlowSettings
    record: FlowRecord
    delta_factor: float
    grad_factor: float
    activation_factor: float
    first_over_last: float
    message: str | None

    @property
    def update_ratio(self) -> np.ndarray:
        return self.record.update_ratio

    @property
    def layers(self) -> np.ndarray:
        return np.arange(1, self.record.n_layers + 1)


def _message(rec: FlowRecord, dtype: str) -> str | None:
    """Say what went wrong in words: overflow going forward or back, or a gradient of exactly 0."""
    act_bad = np.flatnonzero(~np.isfinite(rec.act_rms))
    if act_bad.size:
        limit = f"{float(np.finfo(dtype).max):.2g}"
        return (f"Exploding: the activations overflowed ({dtype} ends at {limit}) at layer "
                f"{act_bad[0] + 1}, so no gradient could be computed. "
                "Try a smaller init std, batch norm or fewer layers.")
    if not np.isfinite(rec.loss):
        return ("Exploding: the outputs are so large that the loss overflowed. "
                "Try a smaller init std, batch norm or fewer layers.")
    delta_bad = np.flatnonzero(~np.isfinite(rec.delta_rms))
    if delta_bad.size:
        return (f"Exploding: the gradient δ overflowed on its way back at layer {delta_bad[-1] + 1}; "
                "the layers below it got none. Try a smaller init std or fewer layers.")
    zero = np.flatnonzero(rec.delta_rms == 0)
    if zero.size:
        return (f"No gradient reaches layer{'s' if zero.size > 1 else ''} "
                f"{_ranges(zero + 1)}: δ is exactly 0 there: it underflowed, or saturated or dead "
                "units pass none.")
    return None


def _ranges(numbers_) -> str:
    """[1, 2, 3, 7] → "1–3, 7"."""
    out, start = [], None
    for i, n in enumerate(numbers_):
        if start is None:
            start = n
        if i + 1 == len(numbers_) or numbers_[i + 1] != n + 1:
            out.append(f"{start}" if start == n else f"{start}–{n}")
            start = None
    return ", ".join(out)


def compute_gradient_flow(settings: GradientFlowSettings) -> GradientFlowResult:
    """Build the network of ``settings``, run one forward and backward pass of its fixed batch
    through ``bp.probes.gradient_flow`` and fit the per-layer factors. Pure: no widgets, no
    figure; an overflowing setting is a result with a ``message``, not an exception."""
    if not isinstance(settings, GradientFlowSettings):
        raise TypeError(f"settings must be a GradientFlowSettings; got {type(settings).__name__}.")
    net = build_network(settings)
    x, y = make_batch(settings)
    with np.errstate(all="ignore"):
        # net is ours (no copy needed) and the explorer shows no histograms (bins=None)
        rec = gradient_flow(net, LOSSES[settings.loss](), x, y, lr=settings.lr, label=settings.describe(),
                            copy=False, bins=None)
        first_over_last = float(rec.delta_rms[0] / rec.delta_rms[-1]) if rec.n_layers > 1 else 1.0
    return GradientFlowResult(
        settings=settings, record=rec,
        delta_factor=measured_factor(rec, "delta"), grad_factor=measured_factor(rec, "grad"),
        activation_factor=measured_factor(rec, "activation"),
        first_over_last=first_over_last, message=_message(rec, settings.dtype),
    )


def describe_factor(factor: float, depth: int) -> str:
    """"gradient shrinks ×0.62 per layer" and the like (toward the input)."""
    if depth < 2:
        return "one layer: nothing to compare"
    if not np.isfinite(factor):
        return "per-layer factor: not measurable"
    if abs(np.log(factor)) < 0.02:
        return f"gradient stays level (×{factor:.3g} per layer)"
    verb = "shrinks" if factor < 1 else "grows"
    return f"gradient {verb} ×{factor:.3g} per layer toward the input"


_GREY = "0.72"
_MARGINS = dict(left=0.075, right=0.985, bottom=0.11, top=0.83, wspace=0.24, hspace=0.5)


def _decades(value, _pos=None) -> str:
    """Tick label of a log axis: "1e-08" (plain text draws much faster than mathtext)."""
    return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def settings_difference(old: GradientFlowSettings, new: GradientFlowSettings) -> str:
    """The settings of ``old`` that differ from ``new``, as "depth 20, residual off"."""
    parts = []
    for name in GradientFlowSettings.__dataclass_fields__:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            if isinstance(a, bool):
                shown = "on" if a else "off"
            else:
                shown = f"{a:.3g}" if isinstance(a, float) else a
            parts.append(f"{name.replace('_', ' ')} {shown}")
    return ", ".join(parts) or "same setting"


class GradientFlowExplorer(Explorer):
    """Depth, width, activation, init (with its std), batch norm, residual blocks, lr, batch size,
    loss, seed and dtype → per-layer RMS of δ = ∂L/∂z and ∂L/∂W (log scale), activation std and
    the update/weight ratio with the 1e-3 guide, annotated with the measured per-layer factor.

    ``GradientFlowExplorer(activation="tanh", init="normal", init_std=0.3).set(depth=40)``;
    ``compare=True`` keeps the previous setting's curves in grey.
    """

    Settings = GradientFlowSettings
    title = "Gradient flow: vanishing and exploding gradients"
    compute = staticmethod(compute_gradient_flow)

    def __init__(self, *, theme: str = "default", compare: bool = False, **settings):
        self.compare = check_bool(compare, "compare")
        self._shown = None        # the result drawn last
        self._previous = None     # the one before it (drawn grey when compare is on)
        super().__init__(theme=theme, **settings)

    # -- the view --------------------------------------------------------------------
    def make_figure(self, fig):
        # A fixed layout: the axes do not jump between settings, and a redraw skips the
        # constrained-layout solve (half of the drawing time).
        fig.set_layout_engine("none")
        fig.set_size_inches((15.0, 6.8) if self.theme == "presentation" else (10.0, 4.6))
        grid = fig.add_gridspec(2, 2, width_ratios=(1.45, 1.0), **_MARGINS)
        self.ax_grad = fig.add_subplot(grid[:, 0])
        self.ax_act = fig.add_subplot(grid[0, 1])
        self.ax_ratio = fig.add_subplot(grid[1, 1], sharex=self.ax_act)
        plot = dict(marker="o", markersize=3)
        self.line_delta, = self.ax_grad.plot([], [], color=style.color(0), label="δ = ∂L/∂z", **plot)
        self.line_grad, = self.ax_grad.plot([], [], color=style.color(1), linestyle="--",
                                            label="∂L/∂W (weight gradient)", **plot)
        self.line_act, = self.ax_act.plot([], [], color=style.color(2), **plot)
        self.line_ratio, = self.ax_ratio.plot([], [], color=style.color(3), **plot)
        grey = dict(color=_GREY, zorder=1, linewidth=1.5)
        self.prev_delta, = self.ax_grad.plot([], [], **grey)
        self.prev_grad, = self.ax_grad.plot([], [], linestyle="--", **grey)
        self.prev_act, = self.ax_act.plot([], [], **grey)
        self.prev_ratio, = self.ax_ratio.plot([], [], **grey)
        self.guide = self.ax_ratio.axhline(RATIO_GUIDE, color="black", linestyle=":", linewidth=1.2,
                                           label=f"guide {RATIO_GUIDE:g}")
        self.ratio_warning = self.ax_ratio.text(0.02, 0.95, "", transform=self.ax_ratio.transAxes,
                                                ha="left", va="top", fontsize="small", color="#D55E00",
                                                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                                                      "edgecolor": "none", "alpha": 0.8}, zorder=5)
        for ax in (self.ax_grad, self.ax_act, self.ax_ratio):
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(_decades)
            ax.yaxis.set_minor_locator(NullLocator())      # minor log ticks cost a third of a redraw
            # At most ~6 labels per axis: each tick label is measured and drawn on every redraw.
            ax.yaxis.set_major_locator(LogLocator(numticks=6))
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        self.ax_grad.set(xlabel="layer (1 = nearest the input)", ylabel="RMS = ‖·‖/√size (log scale)")
        self.ax_act.set(ylabel="std")
        self.ax_act.set_title("activation std per layer (last: output z)", fontsize="medium")
        self.ax_act.tick_params(labelbottom=False)
        self.ax_ratio.set(xlabel="layer", ylabel="update / weight")
        self.ax_ratio.set_title("lr·RMS(∂L/∂W) / RMS(W) of one SGD step", fontsize="medium")

    def draw(self, r: GradientFlowResult):
        if r is not self._shown:
            self._previous, self._shown = self._shown, r
        rec, s = r.record, r.settings
        prev = self._previous if self.compare else None
        series = (
            (self.ax_grad, self.line_delta, self.prev_delta, "delta_rms"),
            (self.ax_grad, self.line_grad, self.prev_grad, "grad_rms"),
            (self.ax_act, self.line_act, self.prev_act, "act_std"),
            (self.ax_ratio, self.line_ratio, self.prev_ratio, "update_ratio"),
        )
        shown = {self.ax_grad: [], self.ax_act: [], self.ax_ratio: [RATIO_GUIDE]}
        for ax, line, grey, attr in series:
            values = positive(getattr(rec, attr))
            line.set_data(r.layers, values)
            shown[ax].extend(values)
            if prev is None:
                grey.set_data([], [])
            else:
                old = positive(getattr(prev.record, attr))
                grey.set_data(prev.layers, old)
                shown[ax].extend(old)
        depth = max(rec.n_layers, prev.record.n_layers if prev is not None else 0)
        for ax, values in shown.items():
            ax.set_ylim(*log_limits(values))     # explicit limits: no autoscaling near 1e308
            ax.set_xlim(0.5, depth + 0.5)

        handles = [self.line_delta, self.line_grad]
        if prev is not None:
            handles.append(Line2D([], [], color=_GREY,
                                  label="grey: previous (" + settings_difference(prev.settings, s) + ")"))
        self.ax_grad.legend(handles=handles, loc="best", fontsize="small")
        self.line_ratio.set_label(f"lr = {s.lr:.3g}")
        self.ax_ratio.legend(handles=[self.line_ratio, self.guide], loc="best", fontsize="x-small")
        self.ax_grad.set_title(self._headline(r))
        big = np.flatnonzero(np.nan_to_num(rec.update_ratio, nan=0.0) > 1.0)
        self.ratio_warning.set_text(
            f"> 1 in layer{'s' if big.size > 1 else ''} {_ranges(big + 1)}: one step outgrows the weights"
            if big.size else "")
        self.fig.suptitle(s.describe(), fontsize="medium")

    def message(self):
        text = super().message()
        return textwrap.fill(text, 64) if text else text

    @staticmethod
    def _headline(r: GradientFlowResult) -> str:
        """Title of the gradient axes: the measured factor and what it adds up to."""
        text = describe_factor(r.delta_factor, r.record.n_layers)
        n = r.record.n_layers
        if n > 1 and np.isfinite(r.first_over_last) and r.first_over_last > 0:
            text += f"\nRMS(δ) at layer 1 = {r.first_over_last:.2g} × RMS(δ) at layer {n}"
        return text

    # -- controls --------------------------------------------------------------------
    def controls(self):
        import ipywidgets as W

        s = self.settings
        label = {"description_width": "80px"}
        slider = dict(continuous_update=False, style=label)

        def log_slider(value, bounds, step, description, **kw):
            return W.FloatLogSlider(value=value, base=10, min=np.log10(bounds[0]), max=np.log10(bounds[1]),
                                    step=step, readout_format=".3g", description=description, **slider, **kw)

        return {
            "depth": W.IntSlider(value=s.depth, min=DEPTH_RANGE[0], max=DEPTH_RANGE[1], description="depth",
                                 **slider),
            "width": W.IntSlider(value=s.width, min=WIDTH_RANGE[0], max=WIDTH_RANGE[1], description="width",
                                 **slider),
            "activation": W.Dropdown(options=ACTIVATIONS, value=s.activation, description="activation",
                                     style=label),
            "init": W.Dropdown(options=INITS, value=s.init, description="init", style=label),
            "init_std": log_slider(s.init_std, INIT_STD_RANGE, 0.05, "init std",
                                   disabled=not self._uses_std(s)),
            "batch_norm": W.Checkbox(value=s.batch_norm, description="batch norm", indent=False),
            "residual": W.Checkbox(value=s.residual, description="residual blocks", indent=False),
            "lr": log_slider(s.lr, LR_RANGE, 0.25, "lr"),
            "batch_size": W.IntSlider(value=s.batch_size, min=BATCH_RANGE[0], max=BATCH_RANGE[1],
                                      description="batch size", **slider),
            "loss": W.Dropdown(options=tuple(LOSSES), value=s.loss, description="loss", style=label),
            "seed": W.BoundedIntText(value=s.seed, min=SEED_RANGE[0], max=SEED_RANGE[1], description="seed",
                                     style=label),
            "dtype": W.Dropdown(options=DTYPES, value=s.dtype, description="dtype", style=label),
        }

    @staticmethod
    def _uses_std(settings) -> bool:
        return settings.init in ("normal", "constant")

    def _sync_controls(self):
        super()._sync_controls()
        if "init_std" in self._widgets:
            self._widgets["init_std"].disabled = not self._uses_std(self.settings)

    def extra_controls(self):
        import ipywidgets as W

        box = W.Checkbox(value=self.compare, description="keep previous setting (grey)", indent=False)

        def toggle(change):
            self.compare = bool(change["new"])
            self._render()

        box.observe(toggle, names="value")
        return [box]
