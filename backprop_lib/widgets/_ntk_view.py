"""The NTKExplorer's figure, built once and updated in place: the analytic and the empirical
kernel as heatmaps on one colour scale, the kernel's relative change while training, the
outputs around the circle (trained vs linearised) and both training losses."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..viz import style
from ..viz._scales import log_limits, positive
from ..viz.kernels import plot_kernel

_EMPTY = np.empty(0)


def _set_heatmap(image, kernel, top: float, negative: bool) -> None:
    """Like ``plot_kernel``: a diverging map centred on 0 if any entry is negative, else 0 … top."""
    image.set_data(kernel)
    image.set_cmap(style.DIVERGING_CMAP if negative else style.SEQUENTIAL_CMAP)
    image.set_clim(-top if negative else 0.0, top)


class NTKFigure:
    """Axes and artists of the explorer on ``fig``; ``draw(result)`` updates them."""

    def __init__(self, fig, theme: str, n_points: int):
        # A fixed layout: the axes do not jump between settings, and a redraw skips the
        # constrained-layout solve (most of the drawing time with five axes and two colour bars).
        fig.set_layout_engine("none")
        fig.set_size_inches((16.0, 9.4) if theme == "presentation" else (11.0, 6.8))
        grid = fig.add_gridspec(2, 3, height_ratios=(1.0, 0.9), left=0.06, right=0.985, bottom=0.08,
                                top=0.87, wspace=0.5, hspace=0.42)
        self.ax_analytic = fig.add_subplot(grid[0, 0])
        self.ax_empirical = fig.add_subplot(grid[0, 1])
        self.ax_change = fig.add_subplot(grid[0, 2])
        self.ax_out = fig.add_subplot(grid[1, :2])
        self.ax_loss = fig.add_subplot(grid[1, 2])
        blank = np.zeros((n_points, n_points))
        plot_kernel(blank, ax=self.ax_analytic, label="Θ[i, j]", theme=theme)
        plot_kernel(blank, ax=self.ax_empirical, label="Θ[i, j]", theme=theme)
        self.im_analytic, self.im_empirical = self.ax_analytic.images[-1], self.ax_empirical.images[-1]
        for ax in (self.ax_analytic, self.ax_empirical):
            ax.set(xlabel="point j (around the circle)", ylabel="point i")
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))

        self.line_change, = self.ax_change.plot([], [], "o-", color=style.color(2), markersize=4)
        self.ax_change.set(xlabel="gradient-descent step s", ylabel="relative change")

        ax = self.ax_out
        self.line_target, = ax.plot([], [], color="0.55", linewidth=1.2, label="target y(φ)")
        self.line_initial, = ax.plot([], [], ":", color="0.45", linewidth=1.2, label="network at step 0")
        self.line_actual, = ax.plot([], [], color=style.color(0), linewidth=2.0, label="trained network")
        self.line_predicted, = ax.plot([], [], "--", color=style.color(1), linewidth=2.0,
                                       label="linearised (kernel) prediction")
        self.points_train, = ax.plot([], [], "o", color="black", markersize=4, label="training points")
        ax.set(xlabel="angle φ of the input x = (cos φ, sin φ)", ylabel="output f(x)", xlim=(0, 2 * np.pi))
        ax.set_xticks(np.pi * np.arange(5) / 2, ["0", "π/2", "π", "3π/2", "2π"])
        ax.legend(loc="upper right", fontsize="small", ncols=2)

        self.line_loss_actual, = self.ax_loss.plot([], [], color=style.color(0), label="trained")
        self.line_loss_predicted, = self.ax_loss.plot([], [], "--", color=style.color(1), label="linearised")
        self.ax_loss.set_yscale("log")
        self.ax_loss.set(xlabel="gradient-descent step", ylabel="L = Σ(f − y)² / 2n")
        self.ax_loss.legend(loc="upper right", fontsize="small")
        self.fig = fig

    def draw(self, r) -> None:
        s = r.settings
        negative = bool(np.any(r.analytic < 0) or np.any(r.empirical < 0))
        top = float(max(np.max(np.abs(r.analytic)), np.max(np.abs(r.empirical)))) or 1.0
        _set_heatmap(self.im_analytic, r.analytic, top, negative)
        _set_heatmap(self.im_empirical, r.empirical, top, negative)
        self.ax_analytic.set_title(f"analytic Θ_∞: infinite width\ndepth {s.depth}, {s.activation}",
                                   fontsize="medium")
        self.ax_empirical.set_title(f"empirical Θ₀: width {s.width}, seed {s.seed}\n"
                                    f"‖Θ₀ − Θ_∞‖ / ‖Θ_∞‖ = {r.distance:.3g}", fontsize="medium")

        d = r.data
        self.line_target.set_data(d.phi_test, d.y_test)
        self.points_train.set_data(d.phi_train, d.y_train)
        trained = r.trained
        if r.initial_test is not None:
            self.line_initial.set_data(d.phi_test, r.initial_test)
        else:
            self.line_initial.set_data(_EMPTY, _EMPTY)
        if trained and r.actual_test is not None:
            self.line_actual.set_data(d.phi_test, r.actual_test)
            self.line_predicted.set_data(d.phi_test, r.predicted_test)
        else:
            self.line_actual.set_data(_EMPTY, _EMPTY)
            self.line_predicted.set_data(_EMPTY, _EMPTY)
        shown = [d.y_test] + [v for v in (r.initial_test, r.actual_test, r.predicted_test) if v is not None]
        lo, hi = float(np.min([v.min() for v in shown])), float(np.max([v.max() for v in shown]))
        pad = 0.1 * (hi - lo or 1.0)
        self.ax_out.set_ylim(lo - pad, hi + 2.5 * pad)     # room for the legend
        if trained and r.actual_test is not None:
            self.ax_out.set_title(f"after {s.steps} steps, on test points: linearised prediction off by "
                                  f"{100 * r.test_error:.2g}% of the distance moved", fontsize="medium")
        else:
            self.ax_out.set_title("not trained (see the message)", fontsize="medium")

        if r.checkpoints is not None:
            self.line_change.set_data(r.checkpoints, r.kernel_change)
            top_change = float(np.max(r.kernel_change)) or 1e-3
            self.ax_change.set_xlim(-0.03 * s.steps, 1.03 * s.steps)
            self.ax_change.set_ylim(0, 1.15 * top_change)
            self.ax_change.set_title(f"kernel change ‖Θ_s − Θ₀‖ / ‖Θ₀‖\n{r.kernel_change[-1]:.3g} "
                                     f"after {r.checkpoints[-1]} steps", fontsize="medium")
        else:
            self.line_change.set_data(_EMPTY, _EMPTY)
            self.ax_change.set_title("kernel change ‖Θ_s − Θ₀‖ / ‖Θ₀‖\n(not trained)", fontsize="medium")

        if trained:
            steps = np.arange(r.actual_loss.size)
            self.line_loss_actual.set_data(steps, positive(r.actual_loss))
            self.line_loss_predicted.set_data(steps, positive(r.predicted_loss))
            self.ax_loss.set_xlim(0, max(steps[-1], 1))
            self.ax_loss.set_ylim(*log_limits(np.concatenate([r.actual_loss, r.predicted_loss])))
            self.ax_loss.set_title("training loss\noutputs off the prediction by "
                                   f"≤ {100 * r.train_error:.2g}%", fontsize="medium")
        else:
            self.line_loss_actual.set_data(_EMPTY, _EMPTY)
            self.line_loss_predicted.set_data(_EMPTY, _EMPTY)
            self.ax_loss.set_title("training loss\n(not trained)", fontsize="medium")
        self.fig.suptitle(s.describe(), fontsize="medium")
