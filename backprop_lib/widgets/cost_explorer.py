"""CostExplorer: what one gradient costs, from the counting formulas of ``bp.nn.cost``.

The network is L = ``depth`` blocks ``Linear(width, width)`` + activation on a batch of
``batch`` rows: W = depth·(width² + width) parameters, every block caching two (batch, width)
arrays (pre-activation and output), checkpointed in ``segments`` segments of blocks. Nothing
is timed (the formulas are instant, so the sliders are too); the "time ratios" are ratios of
FLOPs, which is what the measured ratios approach once the arithmetic dominates the fixed
overheads of Python and NumPy:

* backward / forward = (4BW' + …)/(2BW' + …) ≈ 2 (W' = weights of the Linear layers);
* checkpointed / plain step = (forward + backward + recomputed forward) / (forward + backward);
* numerical / backprop = 2W forward passes / (forward + backward) ≈ 2W/3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import NullFormatter

from .._validate import check_positive_int
from ..nn.cost import CheckpointMemory, FlopCount, checkpoint_memory, count_flops
from ..viz import style
from .base import Explorer

MAX_DEPTH, MAX_WIDTH, MAX_BATCH = 64, 4096, 4096


@dataclass(frozen=True)
class CostSettings:
    depth: int = 16        # blocks of Linear(width, width) + activation
    width: int = 256
    batch: int = 64
    segments: int = 4      # checkpoint segments of blocks (1 = no checkpointing)

    def __post_init__(self):
        for name, top in (("depth", MAX_DEPTH), ("width", MAX_WIDTH), ("batch", MAX_BATCH)):
            value = check_positive_int(getattr(self, name), name)
            if value > top:
                raise ValueError(f"{name} must be at most {top}; got {name}={value}.")
        k = check_positive_int(self.segments, "segments")
        if k > self.depth:
            raise ValueError(f"segments must be at most depth = {self.depth} (one block per segment); "
                             f"got segments={k}. Lower segments or raise depth.")

    @property
    def sizes(self) -> list[int]:
        return [self.width] * (self.depth + 1)


@dataclass(frozen=True)
class CostResult:
    settings: CostSettings
    n_params: int              # W
    flops: FlopCount           # one forward, one backward pass
    recompute_flops: int       # the extra forward through the checkpointed segments
    memory: CheckpointMemory   # in arrays of batch × width floats
    curve_k: np.ndarray        # every segment count 1 … depth
    curve_peak: np.ndarray     # bp's peak stored arrays for each of them

    @property
    def activation_floats(self) -> int:
        """Floats in one cached array (batch × width)."""
        return self.settings.batch * self.settings.width

    @property
    def numerical_flops(self) -> int:
        """Central differences: 2 forward passes per parameter."""
        return 2 * self.n_params * self.flops.forward

    @property
    def checkpoint_ratio(self) -> float:
        """Checkpointed step / plain step, in FLOPs."""
        plain = self.flops.forward + self.flops.backward
        return (plain + self.recompute_flops) / plain

    @property
    def numerical_ratio(self) -> float:
        """Numerical gradient / backprop, in FLOPs."""
        return self.numerical_flops / (self.flops.forward + self.flops.backward)


def compute_cost(settings: CostSettings) -> CostResult:
    """FLOPs, stored activations and the FLOP ratios of one gradient (no timing)."""
    s = settings
    flops = count_flops(s.sizes, s.batch)
    memory = checkpoint_memory(s.depth, s.segments, arrays_per_layer=2)
    recomputed = memory.forward_calls - s.depth               # blocks run forward a second time
    per_block = flops.forward // s.depth                      # every block has the same Linear
    ks = np.arange(1, s.depth + 1)
    peaks = np.array([checkpoint_memory(s.depth, int(k), arrays_per_layer=2).peak for k in ks])
    W = s.depth * (s.width * s.width + s.width)
    return CostResult(s, W, flops, recomputed * per_block, memory, ks, peaks)


def _human(n: float) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.3g}"


class CostExplorer(Explorer):
    """Depth, width, batch and checkpoint segments → FLOPs per gradient, stored floats, and
    the FLOP ratios (backward/forward, checkpointing, numerical/backprop).

    ``CostExplorer(depth=32).set(segments=8)``
    """

    Settings = CostSettings
    title = "The cost of one gradient: arithmetic and memory"
    compute = staticmethod(compute_cost)

    FLOP_BARS = ("forward", "backward", "recompute\n(ckpt)", "numerical\n(2W fwd)")
    MEM_BARS = ("activations\nplain", "activations\nckpt peak", "parameters", "gradients")

    def make_figure(self, fig):
        axes = fig.subplot_mosaic([["flops", "mem"], ["k", "text"]])
        self.ax_flops, self.ax_mem, self.ax_k, self.ax_text = (axes[n] for n in ("flops", "mem", "k", "text"))
        pos = np.arange(4)
        colours = [style.color(i) for i in (0, 1, 3, 5)]
        self.flop_bars = self.ax_flops.bar(pos, np.ones(4), color=colours)
        self.mem_bars = self.ax_mem.bar(pos, np.ones(4), color=[style.color(i) for i in (0, 2, 7, 4)])
        for ax, labels, what in ((self.ax_flops, self.FLOP_BARS, "FLOPs per gradient"),
                                 (self.ax_mem, self.MEM_BARS, "stored floats")):
            ax.set_yscale("log")
            ax.yaxis.set_minor_formatter(NullFormatter())        # decades only: a short range shows none
            ax.set_xticks(pos, labels, fontsize="x-small")
            ax.set_ylabel(what, fontsize="small")
        self.flop_labels = [self.ax_flops.text(i, 1, "", ha="center", va="bottom", fontsize="x-small")
                            for i in pos]
        self.mem_labels = [self.ax_mem.text(i, 1, "", ha="center", va="bottom", fontsize="x-small")
                           for i in pos]
        (self.line_peak,) = self.ax_k.plot([], [], "-", color=style.color(2), label="peak (bp)")
        (self.line_book,) = self.ax_k.plot([], [], "--", color=style.color(1), label="k + 2L/k")
        (self.line_plain,) = self.ax_k.plot([], [], ":", color=style.color(0), label="plain 2L + 1")
        (self.mark_k,) = self.ax_k.plot([], [], "o", color=style.color(5), markersize=7, label="your k")
        self.ax_k.set_xscale("log")
        self.ax_k.set_xlabel("segments k", fontsize="small")
        self.ax_k.set_ylabel("stored activations", fontsize="small")
        self.ax_k.legend(fontsize="x-small", loc="lower left", ncols=2)
        self.ax_text.set_axis_off()
        self.readout = self.ax_text.text(0.0, 0.5, "", transform=self.ax_text.transAxes, ha="left",
                                         va="center", fontsize="small", family="monospace")

    @staticmethod
    def _update_bars(ax, bars, labels, values):
        for bar, label, v in zip(bars, labels, values, strict=True):
            bar.set_height(v)
            label.set_position((bar.get_x() + bar.get_width() / 2, v))
            label.set_text(_human(v))
        ax.set_ylim(min(values) / 10, max(values) * 10)          # at least two decades: ticks to read

    def draw(self, r: CostResult):
        s, m = r.settings, r.memory
        a = r.activation_floats
        self._update_bars(self.ax_flops, self.flop_bars, self.flop_labels,
                          [r.flops.forward, r.flops.backward, max(r.recompute_flops, 1), r.numerical_flops])
        self._update_bars(self.ax_mem, self.mem_bars, self.mem_labels,
                          [m.plain * a, m.peak * a, r.n_params, r.n_params])
        self.ax_flops.set_title(f"W = {_human(r.n_params)} parameters", fontsize="small")
        self.ax_mem.set_title(f"one activation = {s.batch}×{s.width} floats", fontsize="small")
        L = s.depth
        self.line_peak.set_data(r.curve_k, r.curve_peak)
        self.line_book.set_data(r.curve_k, r.curve_k + 2 * L / r.curve_k)
        self.line_plain.set_data([1, L], [m.plain, m.plain])
        self.mark_k.set_data([s.segments], [m.peak])
        self.ax_k.set_xlim(0.9, max(L, 2) * 1.1)
        self.ax_k.set_ylim(0, 1.1 * max(m.plain, float(r.curve_peak.max())))
        best = int(r.curve_k[np.argmin(r.curve_peak)])
        self.readout.set_text(
            f"L = {L} blocks, k = {s.segments} segments\n"
            f"stored: {m.peak} arrays at peak\n"
            f"  (plain {m.plain}; best k = {best})\n"
            f"FLOP ratios (≈ time ratios):\n"
            f"  backward / forward  {r.flops.ratio:.2f}\n"
            f"  checkpointed / plain {r.checkpoint_ratio:.2f}\n"
            f"  numerical / backprop {r.numerical_ratio:.3g}")

    def controls(self):
        import ipywidgets as W

        s = self.settings
        label = {"description_width": "70px"}
        return {
            "depth": W.IntSlider(value=s.depth, min=1, max=MAX_DEPTH, description="depth",
                                 continuous_update=False, style=label),
            "width": W.IntSlider(value=s.width, min=4, max=MAX_WIDTH, step=4, description="width",
                                 continuous_update=False, style=label),
            "batch": W.IntSlider(value=s.batch, min=1, max=MAX_BATCH, description="batch",
                                 continuous_update=False, style=label),
            "segments": W.IntSlider(value=s.segments, min=1, max=MAX_DEPTH, description="segments",
                                    continuous_update=False, style=label),
        }
