"""The playground's figure: built once per architecture, then updated in place.

    ┌ hidden neurons ┐┌ decision boundary ───────┐┌ loss ────────┐┌ accuracy ─────┐
    │ one column per ││ class scores over the    ││ train / test ││ train / test  │
    │ layer, one map ││ plane, train ● test ○,   │├ gradient RMS ┤├ update/weight ┤
    │ per neuron     ││ boundary line            ││ per layer    ││ per layer     │
    └────────────────┘└──────────────────────────┘└──────────────┘└───────────────┘

Each redraw only calls ``set_data`` / ``set_array`` / ``set_clim`` on artists made by
``build`` (the boundary line, a contour, is the one artist remade each time); a change of
architecture, class count or theme builds the figure again.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from ...viz import style
from ...viz._scales import log_limits, positive

RESOLUTION = 50        # grid points per axis of the plane
MAX_NEURONS = 8        # neurons shown per hidden layer
RATIO_GUIDE = 1e-3
PALE = 0.6             # region colours are mixed with white (1 − PALE) so the points stand out
SIZES = {"default": (11.5, 5.6), "presentation": (16.0, 8.0)}   # inches, at 100 dpi
_GAP = 3               # blank pixel rows between two neuron maps


def class_colors(k: int) -> list:
    return [style.NEGATIVE, style.POSITIVE] if k == 2 else [style.color(i) for i in range(k)]


def region_rgb(scores: np.ndarray) -> np.ndarray:
    """Colour of each grid point from its class scores ``(res, res, K)``.

    Two classes: the diverging colour map at P(class 1). More: the class colours mixed in
    proportion to the scores, faded towards white where the network is unsure."""
    k = scores.shape[-1]
    if k == 2:
        cmap = matplotlib.colormaps[style.DIVERGING_CMAP]
        return 1.0 - PALE * (1.0 - cmap(np.nan_to_num(scores[..., 1], nan=0.5))[..., :3])
    cols = np.array([to_rgb(c) for c in class_colors(k)])
    p = np.nan_to_num(scores) / np.maximum(np.nan_to_num(scores).sum(axis=-1, keepdims=True), 1e-12)
    mix = p @ cols
    sure = (p.max(axis=-1, keepdims=True) - 1.0 / k) / (1.0 - 1.0 / k)      # 0 (uniform) … 1 (certain)
    return 1.0 - (1.0 - mix) * PALE * (0.3 + 0.7 * sure)


def mosaic(maps: np.ndarray) -> np.ndarray:
    """Neuron maps ``(res, res, width)`` stacked top to bottom (first neuron on top), separated
    by NaN rows, as one image for ``imshow(origin="upper")``."""
    res = maps.shape[0]
    m = min(maps.shape[2], MAX_NEURONS)
    out = np.full((m * (res + _GAP) - _GAP, res), np.nan)
    for j in range(m):
        out[j * (res + _GAP): j * (res + _GAP) + res] = maps[::-1, :, j]     # row 0 = top of the plane
    return out


def _log_limits(values):
    """``viz._scales.log_limits`` kept within 1e±150 (a diverged run goes off the top): the
    5-tick log locator steps past 1e308 on wider ranges."""
    lo, hi = log_limits(values)
    return max(lo, 1e-150), min(hi, 1e150)


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=float).copy()
    v[~np.isfinite(v)] = np.nan
    return v


class PlaygroundView:
    """Draws a ``PlaygroundSession`` into a figure it owns."""

    def __init__(self, theme: str = "default"):
        self.theme = theme
        self.key = None
        self.fig = None
        self._status_lines = 0

    def attach(self, fig) -> None:
        self.fig = fig
        self.key = None

    # -- building ----------------------------------------------------------------------------
    def build(self, session) -> None:
        s = session.settings
        fig = self.fig
        fig.clear()
        fig.set_layout_engine("constrained")
        fig.set_size_inches(*SIZES[self.theme])
        n_hidden, k = len(s.hidden), s.classes
        neuron_width = min(max(0.75, 0.4 * n_hidden), 1.8)     # wide enough for its title and caption
        left, center, right = fig.subfigures(1, 3, width_ratios=[neuron_width, 2.3, 2.5])
        self._build_neurons(left, s)
        self._build_boundary(center, session)
        self._build_curves(right, len(s.hidden) + 1)
        self.center_fig = center
        self.key = (s.hidden, k, s.features, s.loss, s.activation)

    def _build_neurons(self, sub, s) -> None:
        self.neuron_images = []
        if not s.hidden:
            ax = sub.subplots()
            ax.axis("off")
            ax.text(0.5, 0.5, "no hidden layer:\nlogistic regression\non the features", ha="center",
                    va="center", fontsize="small", transform=ax.transAxes)
            return
        axes = np.atleast_1d(sub.subplots(1, len(s.hidden)))
        cmap = matplotlib.colormaps[style.DIVERGING_CMAP].with_extremes(bad="white")   # gaps
        for i, (ax, width) in enumerate(zip(axes, s.hidden, strict=True)):
            shown = min(width, MAX_NEURONS)
            img = ax.imshow(np.zeros((shown * (RESOLUTION + _GAP) - _GAP, RESOLUTION)), cmap=cmap,
                            origin="upper", interpolation="nearest", aspect="equal")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.set_title(f"L{i + 1}\n{width}" + (f"\n({shown} shown)" if shown < width else ""),
                         fontsize="small")
            self.neuron_images.append(img)
        sub.suptitle("hidden neurons" if len(s.hidden) > 1 else "hidden\nneurons", fontsize="medium")
        sub.supxlabel(f"each map: one\nneuron's {s.activation}\noutput over the\nplane; blue < 0\n"
                      "< red, scaled\nper layer", fontsize="x-small")

    def _build_boundary(self, sub, session) -> None:
        s = session.settings
        ax = sub.subplots()
        extent = session.extent()
        self.boundary_image = ax.imshow(np.ones((RESOLUTION, RESOLUTION, 3)), extent=extent, origin="lower",
                                        interpolation="bilinear", aspect="auto")
        self.boundary_lines = []
        cols = class_colors(s.classes)
        parts = ((session.x_train, session.y_train, True), (session.x_test, session.y_test, False))
        for x, y, filled in parts:                  # train: filled, dark edge; test: hollow rings
            if len(x):
                c = np.array([to_rgb(cols[i]) for i in y])
                ax.scatter(x[:, 0], x[:, 1], s=22, c=c if filled else "none",
                           edgecolors="0.15" if filled else c, linewidths=0.5 if filled else 1.5, zorder=3)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.grid(False)
        handles = [Line2D([], [], marker="o", linestyle="", color="0.5", markeredgecolor="0.15",
                          label="train"),
                   Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markeredgecolor="0.3",
                          markeredgewidth=1.5, label="test")]
        handles += [Patch(color=c, label=f"class {i}") for i, c in enumerate(cols)]
        handles.append(Line2D([], [], color="black", label="boundary"))
        ax.legend(handles=handles, fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.1),
                  ncol=min(len(handles), 4), handletextpad=0.3, columnspacing=0.8)
        self.status_text = sub.supxlabel(" ", fontsize="small")
        if s.classes == 2:
            sm = matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(0, 1), cmap=style.DIVERGING_CMAP)
            bar = sub.colorbar(sm, ax=ax, shrink=0.8)
            bar.set_label("P(class 1)" if s.loss == "cross_entropy" else "output 1 (MSE score)")
        self.boundary_ax = ax
        self.setting_text = sub.suptitle(s.describe(), fontsize="medium")

    def _build_curves(self, sub, n_layers: int) -> None:
        (ax_loss, ax_acc), (ax_grad, ax_ratio) = sub.subplots(2, 2)
        self.batch_line, = ax_loss.plot([], [], color="0.75", linewidth=0.6, label="mini-batch")
        self.train_loss_line, = ax_loss.plot([], [], color=style.color(0), label="train")
        self.test_loss_line, = ax_loss.plot([], [], color=style.color(1), linestyle="--", label="test")
        ax_loss.set_yscale("log")
        ax_loss.set(xlabel="step", ylabel="loss (log)", title="loss")
        self.train_acc_line, = ax_acc.plot([], [], color=style.color(0), label="train")
        self.test_acc_line, = ax_acc.plot([], [], color=style.color(1), linestyle="--", label="test")
        ax_acc.set(xlabel="step", ylabel="accuracy (%)", title="accuracy", ylim=(0, 102))
        colors = self._layer_colors(n_layers)
        self.grad_lines = [ax_grad.plot([], [], color=c, label=f"layer {i + 1}")[0]
                           for i, c in enumerate(colors)]
        ax_grad.set_yscale("log")
        ax_grad.set(xlabel="step", ylabel="RMS ∂L/∂W (log)", title="gradient flow")
        self.ratio_lines = [ax_ratio.plot([], [], color=c)[0] for c in colors]
        ax_ratio.axhline(np.log10(RATIO_GUIDE), color="black", linestyle=":", linewidth=1.0,
                         label=f"guide {RATIO_GUIDE:g}")
        ax_ratio.set(xlabel="step", ylabel="log10(update / weight)", title="update / weight")
        for ax in (ax_loss, ax_acc):
            ax.legend(fontsize="x-small", loc="best")
        ax_ratio.legend(handles=[*ax_ratio.get_legend_handles_labels()[0],
                                 Line2D([], [], color="0.5", label="layers: colours as in gradient flow")],
                        fontsize="x-small", loc="best")
        ax_grad.legend(fontsize="x-small", loc="best", ncol=2 if n_layers > 4 else 1,
                       title="1 = nearest the input", title_fontsize="x-small")
        self.curve_axes = (ax_loss, ax_acc, ax_grad, ax_ratio)
        for ax in self.curve_axes:              # few tick labels: text is most of a redraw's cost
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        for ax in (ax_loss, ax_grad):
            ax.yaxis.set_major_locator(LogLocator(numticks=5))
            ax.yaxis.set_minor_locator(NullLocator())
        ax_acc.set_yticks([0, 25, 50, 75, 100])
        ax_ratio.yaxis.set_major_locator(MaxNLocator(5, integer=True))

    @staticmethod
    def _layer_colors(n: int) -> list:
        readable = [c for c in style.PALETTE if c != "#F0E442"]     # yellow is too pale on white
        if n <= len(readable):
            return readable[:n]
        cmap = matplotlib.colormaps[style.SEQUENTIAL_CMAP]
        return [cmap(i / (n - 1)) for i in range(n)]

    # -- updating ------------------------------------------------------------------------------
    def draw(self, session, status: str = "") -> None:
        """Update every artist from ``session`` (building the figure first if needed)."""
        s = session.settings
        key = (s.hidden, s.classes, s.features, s.loss, s.activation)
        built = key != self.key or getattr(self, "_session_id", None) != id(session)
        if built:
            self.build(session)
            self._session_id = id(session)
        self._update(session, status)
        lines = status.count("\n") + bool(status)
        if built or lines != self._status_lines:
            self._layout()
            self._status_lines = lines

    def _layout(self) -> None:
        """Lay the figure out (constrained layout) now, with data in it, then keep that layout:
        computing it again at every redraw would cost more than the rest of the redraw."""
        self.fig.set_layout_engine("constrained")
        self.fig.get_layout_engine().execute(self.fig)
        self.fig.set_layout_engine("none")

    def _update(self, session, status) -> None:
        scores, neurons = session.maps(RESOLUTION)
        self._draw_boundary(session, scores, status)
        for img, maps in zip(self.neuron_images, neurons, strict=False):
            tiles = mosaic(maps)
            top = np.nanmax(np.abs(tiles)) if np.any(np.isfinite(tiles)) else 1.0
            img.set_data(tiles)
            img.set_clim(-max(top, 1e-12), max(top, 1e-12))
        self._draw_curves(session.history)

    def _draw_boundary(self, session, scores, status) -> None:
        self.boundary_image.set_data(region_rgb(scores))
        ax = self.boundary_ax
        for lines in self.boundary_lines:
            lines.remove()
        self.boundary_lines = []
        k = scores.shape[-1]
        label = np.argmax(np.nan_to_num(scores, nan=-1.0), axis=-1)
        if np.all(np.isfinite(scores)) and len(np.unique(label)) > 1:
            x1_min, x1_max, x2_min, x2_max = session.extent()
            g1 = np.linspace(x1_min, x1_max, RESOLUTION)
            g2 = np.linspace(x2_min, x2_max, RESOLUTION)
            # class c's region is where its margin p_c − max_{j≠c} p_j > 0; its edge is the level 0
            fields = [scores[..., 1] - scores[..., 0]] if k == 2 else [
                scores[..., c] - np.delete(scores, c, axis=-1).max(axis=-1) for c in range(k)]
            self.boundary_lines = [ax.contour(g1, g2, f, levels=[0.0], colors="black", linewidths=1.2)
                                   for f in fields]
        h = session.history
        if h.steps:
            test = (f"test loss {h.test_loss[-1]:.3g}, test acc {100 * h.test_acc[-1]:.0f}%"
                    if len(session.x_test) else f"train acc {100 * h.train_acc[-1]:.0f}% (no test set)")
            title = f"step {session.step_count}: train loss {h.train_loss[-1]:.3g}, {test}"
        else:
            title = f"step {session.step_count}"
        ax.set_title(title, fontsize="small")
        self.setting_text.set_text(session.settings.describe())      # lr, L2 … change live
        self.status_text.set_text(status or " ")

    def _draw_curves(self, h) -> None:
        ax_loss, ax_acc, ax_grad, ax_ratio = self.curve_axes
        steps = np.asarray(h.steps, dtype=float)
        n_steps = max(len(h.batch_loss), 1)
        self.batch_line.set_data(np.arange(1, len(h.batch_loss) + 1), positive(h.batch_loss))
        self.train_loss_line.set_data(steps, positive(h.train_loss))
        self.test_loss_line.set_data(steps, positive(h.test_loss))
        ax_loss.set_ylim(*_log_limits(np.concatenate([positive(h.train_loss), positive(h.test_loss)])))
        self.train_acc_line.set_data(steps, 100 * _finite(h.train_acc))
        self.test_acc_line.set_data(steps, 100 * _finite(h.test_acc))
        grads, ratios = h.layer_series("grad_rms"), h.layer_series("update_ratio")
        for i, line in enumerate(self.grad_lines):
            line.set_data(steps, positive(grads[:, i]) if grads.size else [])
        ax_grad.set_ylim(*_log_limits(grads))
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(positive(ratios)) if ratios.size else ratios
        for i, line in enumerate(self.ratio_lines):
            line.set_data(steps, logs[:, i] if ratios.size else [])
        finite = logs[np.isfinite(logs)] if ratios.size else np.array([])
        lo = min(finite.min(), -4.0) if finite.size else -4.0
        hi = max(finite.max(), -2.0) if finite.size else -2.0
        ax_ratio.set_ylim(lo - 0.3, hi + 0.3)
        for ax in self.curve_axes:
            ax.set_xlim(0, n_steps)
