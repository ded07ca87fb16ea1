"""Contours of a 2-D loss surface with optimizer trajectories on it."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator

from .._validate import as_float_array, check_positive_int
from .style import SEQUENTIAL_CMAP, color, new_axes, show_message, themed

DECADES = 4  # log-spaced levels span this many powers of ten below the surface's range


def _interval(value, name):
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair (low, high) of numbers; got {value!r}.") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be (low, high) with finite low < high; got {value!r}.")
    return lo, hi


def surface(f, xlim, ylim, resolution):
    """``(X, Y, Z)``: ``f`` evaluated on a ``resolution × resolution`` grid.

    ``f`` takes points ``(m, 2)`` and returns ``(m,)`` values (vectorised)."""
    gx, gy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    points = np.c_[gx.ravel(), gy.ravel()]
    with np.errstate(all="ignore"):
        z = np.asarray(f(points), dtype=float)
    if z.shape not in ((len(points),), (len(points), 1)):
        raise ValueError(
            f"f must map points of shape (m, 2) to values of shape (m,); given ({len(points)}, 2) it "
            f"returned shape {z.shape}. Write f with array operations on xy[:, 0] and xy[:, 1]."
        )
    return gx, gy, z.reshape(gx.shape)


def plot_loss_landscape(f, trajectories=None, *, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), levels: int = 30,
                        log_levels: bool = True, resolution: int = 200, ax=None, theme: str = "default",
                        title: str | None = None):
    """Contour lines of ``f`` over ``xlim × ylim`` and the paths of optimizers on it.

    f: vectorised loss, ``f(xy)`` with ``xy: (m, 2)`` → ``(m,)``.
    trajectories: ``{name: array (steps, 2)}`` of visited points; each path is drawn in its
        own colour with a circle at its start and a star at its end (its final loss in the
        legend). A path that reaches inf/NaN is cut there and named in a message.
    levels: number of contour levels. log_levels: levels spaced evenly in log(f − min f)
        over ``DECADES`` powers of ten (shows both the valley floor and the walls), else
        evenly in f.
    """
    xlim, ylim = _interval(xlim, "xlim"), _interval(ylim, "ylim")
    levels = check_positive_int(levels, "levels")
    resolution = check_positive_int(resolution, "resolution")
    if not callable(f):
        raise TypeError(f"f must be a callable f(xy) with xy of shape (m, 2); got {type(f).__name__}.")
    trajectories = {} if trajectories is None else trajectories
    if not isinstance(trajectories, dict):
        raise TypeError("trajectories must be a dict {name: array (steps, 2)}; got "
                        f"{type(trajectories).__name__}.")
    paths = {}
    for name, path in trajectories.items():
        arr = as_float_array(np.asarray(path, dtype=float), f"trajectories[{name!r}]", ndim=2,
                             allow_nonfinite=True)
        if arr.shape[1] != 2 or len(arr) == 0:
            raise ValueError(f"trajectories[{name!r}] must have shape (steps, 2) with steps >= 1; "
                             f"got {arr.shape}.")
        paths[name] = arr

    gx, gy, z = surface(f, xlim, ylim, resolution)
    finite = np.isfinite(z)
    with themed(theme):
        fig, ax = new_axes(ax, theme=theme)
        if finite.any():
            zmin, zmax = z[finite].min(), z[finite].max()
            span = zmax - zmin
            zm = np.ma.masked_invalid(z)
            if log_levels and span > 0:
                lv = span * np.logspace(-DECADES, 0, levels)
                height = np.ma.maximum(zm - zmin, lv[0] / 10)    # the minimum itself: below every level
                cs = ax.contour(gx, gy, height, levels=lv, cmap=SEQUENTIAL_CMAP,
                                norm=LogNorm(lv[0], lv[-1]), linewidths=0.9)
                bar_label = f"f − min f (log scale; min f = {zmin:.3g} on this grid)"
            else:
                cs = ax.contour(gx, gy, zm, levels=levels, cmap=SEQUENTIAL_CMAP, linewidths=0.9)
                bar_label = "f"
            bar = fig.colorbar(cs, ax=ax, ticks=LogLocator() if log_levels and span > 0 else None)
            bar.set_label(bar_label)
        diverged = []
        for k, (name, path) in enumerate(paths.items()):
            ok = np.all(np.isfinite(path), axis=1)
            cut = len(path) if ok.all() else int(np.argmin(ok))
            if cut < len(path):
                diverged.append(f"{name} (step {cut})")
            shown = path[:cut]
            if len(shown) == 0:
                continue
            with np.errstate(all="ignore"):
                end_value = float(np.asarray(f(shown[-1:]), dtype=float).ravel()[0])
            col = color(k + 1)
            ax.plot(shown[:, 0], shown[:, 1], color=col, linewidth=1.6, marker=".", markersize=3,
                    label=f"{name} (final f = {end_value:.3g})")
            marks = {"markeredgecolor": "black", "linestyle": "none", "color": col}
            ax.plot(*shown[0], marker="o", markersize=8, **marks)       # start
            ax.plot(*shown[-1], marker="*", markersize=13, **marks)     # end
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_xlabel("θ₁")
        ax.set_ylabel("θ₂")
        if paths:
            handles, labels = ax.get_legend_handles_labels()
            handles += [Line2D([], [], marker="o", color="0.6", markeredgecolor="black", linestyle="none"),
                        Line2D([], [], marker="*", color="0.6", markeredgecolor="black", markersize=11,
                               linestyle="none")]
            labels += ["start", "end"]
            ax.legend(handles, labels, fontsize="small", loc="best", frameon=True)
        ax.set_title(title or f"Loss landscape with {len(paths)} trajectories"
                              f" ({'log' if log_levels else 'linear'}-spaced contours)")
        if not finite.any():
            show_message(ax, "f is inf/NaN everywhere on this grid")
        elif diverged:
            show_message(ax, "Diverged (left the finite range): " + ", ".join(diverged))
    return fig
