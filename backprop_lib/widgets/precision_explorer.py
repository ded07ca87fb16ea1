"""PrecisionExplorer: what a float format does to one number, and to a whole set of gradients.

Left: the relative spacing ulp(x)/|x| of float16, bfloat16 and float32 over their ranges (a
sawtooth between eps/2 and eps where numbers are normal, rising to 1 in the subnormals,
ending at overflow), with the chosen value x = 10^log10_value marked; the read-out gives the
nearest float, its bits, the ulp there and the rounding error.

Right: a histogram of log10(s·g) for log-uniform gradients g in [10^grad_low, 10^grad_high]
multiplied by the loss scale s = 2^log2_scale, coloured by what the format stores: 0
(underflow), a subnormal (few digits), a normal number, or inf (overflow); the format's bands
are shaded. Sliding s moves the histogram through the band.

    ex = bp.widgets.PrecisionExplorer(dtype="float16")
    ex.set(log2_scale=16)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .._validate import check_choice, check_number
from ..autodiff.floats import FloatValue, describe, finfo, round_to, ulp
from ..train.loss_scaling import GradientCast, cast_gradients
from ..viz import style
from .base import Explorer

DTYPES = ("float16", "bfloat16", "float32")
VALUE_RANGE = (-50.0, 40.0)          # log10 x
GRAD_RANGE = (-14.0, 2.0)            # log10 of the gradients' range
SCALE_RANGE = (0, 32)                # log2 s
N_GRADS = 20_000
BINS = np.arange(-16.0, 12.01, 0.25)  # log10(s·g)
CLASSES = ("zero", "subnormal", "normal", "inf")
CLASS_COLORS = {"zero": style.color(5), "subnormal": style.color(1), "normal": style.color(2),
                "inf": style.color(3)}
SPACING_X = np.logspace(-47, 39, 1500)


@dataclass(frozen=True)
class PrecisionSettings:
    """dtype: "float16", "bfloat16" or "float32"; log10_value: the value x = 10^log10_value
    (in [−50, 40]); log2_scale: the loss scale s = 2^log2_scale (integer in [0, 32]);
    grad_low/grad_high: the gradients are log-uniform in [10^grad_low, 10^grad_high]
    (in [−14, 2], grad_low < grad_high)."""

    dtype: str = "float16"
    log10_value: float = 0.0
    log2_scale: int = 0
    grad_low: float = -10.0
    grad_high: float = -2.0

    def __post_init__(self):
        put = object.__setattr__
        put(self, "dtype", check_choice(self.dtype, "dtype", DTYPES))
        put(self, "log10_value", check_number(self.log10_value, "log10_value", low=VALUE_RANGE[0],
                                              high=VALUE_RANGE[1]))
        scale = check_number(self.log2_scale, "log2_scale", low=SCALE_RANGE[0], high=SCALE_RANGE[1])
        if scale != int(scale):
            raise ValueError(f"log2_scale must be a whole number (s = 2^k keeps scaling exact); got {scale}.")
        put(self, "log2_scale", int(scale))
        for name in ("grad_low", "grad_high"):
            put(self, name, check_number(getattr(self, name), name, low=GRAD_RANGE[0], high=GRAD_RANGE[1]))
        if self.grad_low >= self.grad_high:
            raise ValueError(f"grad_low must be below grad_high; got {self.grad_low} and {self.grad_high}.")


@dataclass(frozen=True)
class PrecisionResult:
    """value: ``describe(x, dtype)``; spacing: {dtype: ulp(x)/|fl(x)| over ``SPACING_X``};
    grads: the gradients g; cast: ``cast_gradients(g, dtype, s)``; counts: {class: histogram of
    log10(s·g) over ``BINS`` for the gradients stored as that class}; message: None."""

    settings: PrecisionSettings
    value: FloatValue
    spacing: dict
    grads: np.ndarray
    cast: GradientCast
    counts: dict
    message: str | None = None

    @property
    def scale(self) -> float:
        return 2.0 ** self.settings.log2_scale


@functools.lru_cache(maxsize=1)
def _spacing() -> dict:
    out = {}
    for name in DTYPES:
        with np.errstate(all="ignore"):
            rel = ulp(SPACING_X, name) / np.abs(round_to(SPACING_X, name))   # in (eps/2, eps] if normal
        rel[SPACING_X > finfo(name).max] = np.nan            # beyond the range: overflow
        rel[SPACING_X < finfo(name).smallest_subnormal] = np.nan
        rel.setflags(write=False)
        out[name] = rel
    return out


@functools.lru_cache(maxsize=16)
def _gradients(low: float, high: float) -> np.ndarray:
    g = 10.0 ** np.random.default_rng(0).uniform(low, high, N_GRADS)   # log-uniform, seeded
    g.setflags(write=False)
    return g


def compute_precision(settings: PrecisionSettings) -> PrecisionResult:
    """Round x to the dtype; store s·g in the dtype and count underflow, subnormals, overflow."""
    if not isinstance(settings, PrecisionSettings):
        raise TypeError(f"settings must be a PrecisionSettings; got {type(settings).__name__}.")
    s = settings
    g = _gradients(s.grad_low, s.grad_high)
    scale = 2.0 ** s.log2_scale
    cast = cast_gradients(g, s.dtype, scale)
    stored = cast.values * scale
    kind = np.select([stored == 0, stored < finfo(s.dtype).tiny, np.isinf(stored)], [0, 1, 3], 2)
    where = np.log10(g) + s.log2_scale * math.log10(2.0)       # log10(s·g), exact in float64
    counts = {c: np.histogram(where[kind == i], BINS)[0] for i, c in enumerate(CLASSES)}
    return PrecisionResult(settings=s, value=describe(10.0 ** s.log10_value, s.dtype), spacing=_spacing(),
                           grads=g, cast=cast, counts=counts)


class PrecisionExplorer(Explorer):
    """dtype, value (log slider), loss scale (log2 slider) and gradient range → the nearest float,
    its ulp and error, and a histogram of scaled gradients against the format's bands.

    ``PrecisionExplorer().set(dtype="bfloat16", log10_value=6)``
    """

    Settings = PrecisionSettings
    title = "Floating-point precision and loss scaling"
    compute = staticmethod(compute_precision)

    def make_figure(self, fig):
        fig.set_layout_engine("none")
        fig.set_size_inches((15.0, 7.0) if self.theme == "presentation" else (10.5, 5.2))
        ax = self.ax_spacing = fig.add_axes((0.07, 0.36, 0.38, 0.55))
        ax.set(xscale="log", yscale="log", xlim=(1e-47, 1e39), ylim=(1e-8, 2.0),
               xlabel="x", ylabel="ulp(x) / |x|  (relative spacing)")
        self.spacing_lines = {name: ax.plot(SPACING_X, np.ones_like(SPACING_X), linewidth=1.0,
                                            color=style.color(i), label=name)[0]
                              for i, name in enumerate(DTYPES)}
        self.mark_x, = ax.plot([], [], "o", markersize=9, markerfacecolor="none", markeredgewidth=2,
                               color="black", zorder=5, label="your x")
        ax.legend(loc="upper right", fontsize="x-small")
        ax.set_xticks(10.0 ** np.arange(-45, 40, 15))
        h = self.ax_hist = fig.add_axes((0.55, 0.36, 0.42, 0.55))
        h.set(xlim=(BINS[0], BINS[-1]), xlabel="log10(s·g)  (scaled gradient)", ylabel="count")
        span = dict(alpha=0.12, linewidth=0, zorder=0)
        self.bands = {c: h.axvspan(0, 1, color=CLASS_COLORS[c], **span) for c in CLASSES}
        centers, width = (BINS[:-1] + BINS[1:]) / 2, np.diff(BINS)[0]
        self.bars = {c: h.bar(centers, np.zeros_like(centers), width=width, color=CLASS_COLORS[c],
                              label=f"stored as {c}" if c != "zero" else "stored as 0 (underflow)")
                     for c in CLASSES}
        h.legend(loc="upper left", fontsize="x-small")
        self.ax_text = fig.add_axes((0.01, 0.01, 0.98, 0.2))
        self.ax_text.set_axis_off()
        self.readout = self.ax_text.text(0.0, 0.5, "", transform=self.ax_text.transAxes, ha="left",
                                         va="center", fontsize="small", family="monospace")

    def draw(self, r: PrecisionResult):
        s, v, fmt = r.settings, r.value, finfo(r.settings.dtype)
        for name, line in self.spacing_lines.items():
            line.set_ydata(r.spacing[name])
            line.set_linewidth(2.0 if name == s.dtype else 0.8)
        rel = v.ulp / abs(v.value) if v.value not in (0.0,) and math.isfinite(v.value) else math.nan
        self.mark_x.set_data([10.0 ** s.log10_value], [rel])
        # the format's bands on the log10(s·g) axis: 0 below half the smallest subnormal
        edges = [BINS[0] - 1, math.log10(fmt.smallest_subnormal / 2), math.log10(fmt.tiny),
                 math.log10(fmt.max), BINS[-1] + 1]
        for i, c in enumerate(CLASSES):
            lo, hi = max(edges[i], BINS[0] - 1), min(edges[i + 1], BINS[-1] + 1)
            self.bands[c].set_x(lo)
            self.bands[c].set_width(max(hi - lo, 0.0))
        bottom = np.zeros(len(BINS) - 1)
        for c in CLASSES:
            for bar, height, base in zip(self.bars[c], r.counts[c], bottom, strict=True):
                bar.set_height(height)
                bar.set_y(base)
            bottom = bottom + r.counts[c]
        self.ax_hist.set_ylim(0, max(bottom.max(), 1) * 1.15)
        self.ax_spacing.set_title(f"{s.dtype}: eps = 2^-{fmt.mantissa_bits}, range "
                                  f"{fmt.smallest_subnormal:.1e} … {fmt.max:.3g}", fontsize="medium")
        self.ax_hist.set_title(f"gradients 1e{s.grad_low:g} … 1e{s.grad_high:g} scaled by "
                               f"s = 2^{s.log2_scale} in {s.dtype}", fontsize="medium")
        c = r.cast
        self.readout.set_text(
            f"x = {v.x:.6g}  →  {s.dtype} {v.value:.8g}  [{v.kind}]   bits {v.bits}\n"
            f"ulp there {v.ulp:.3g}; error {v.abs_error:.3g} (relative {v.rel_error:.3g}; "
            f"at most u = {fmt.unit_roundoff:.3g} for normal numbers)\n"
            f"gradients × s = {r.scale:g}: {c.zero_fraction:.1%} become 0, {c.subnormal_fraction:.1%} "
            f"subnormal, {c.inf_fraction:.1%} inf; median relative error after ÷ s: {c.median_rel_error:.2g}")

    def controls(self):
        import ipywidgets as W

        s = self.settings
        label = {"description_width": "90px"}
        return {
            "dtype": W.ToggleButtons(options=DTYPES, value=s.dtype, description="dtype", style=label),
            "log10_value": W.FloatSlider(value=s.log10_value, min=VALUE_RANGE[0], max=VALUE_RANGE[1],
                                         step=0.01, description="log10 x", continuous_update=False,
                                         style=label),
            "log2_scale": W.IntSlider(value=s.log2_scale, min=SCALE_RANGE[0], max=SCALE_RANGE[1],
                                      description="log2 scale s", continuous_update=False, style=label),
            "grad_low": W.FloatSlider(value=s.grad_low, min=GRAD_RANGE[0], max=GRAD_RANGE[1], step=0.5,
                                      description="log10 g min", continuous_update=False, style=label),
            "grad_high": W.FloatSlider(value=s.grad_high, min=GRAD_RANGE[0], max=GRAD_RANGE[1], step=0.5,
                                       description="log10 g max", continuous_update=False, style=label),
        }
