"""A kernel (Gram) matrix as a heatmap: ``plot_kernel(bp.ntk.empirical(net, x))``."""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array
from .style import DIVERGING_CMAP, SEQUENTIAL_CMAP, new_axes, themed


def plot_kernel(K, ax=None, title: str | None = None, *, label: str = "K[i, j]", theme: str = "default"):
    """Heatmap of ``K: (n, m)`` with a colour bar.

    A kernel with negative entries uses a diverging map centred on 0 (colour range
    ±max|K|, so white means 0); a non-negative one a sequential map from 0 to max K.
    """
    K = as_float_array(K, "K", ndim=2)
    with themed(theme):
        fig, ax = new_axes(ax, theme=theme)
        top = float(np.max(np.abs(K))) if K.size else 1.0
        top = top if top > 0 else 1.0
        if np.any(K < 0):
            img = ax.imshow(K, cmap=DIVERGING_CMAP, vmin=-top, vmax=top, interpolation="nearest")
        else:
            img = ax.imshow(K, cmap=SEQUENTIAL_CMAP, vmin=0.0, vmax=top, interpolation="nearest")
        bar = fig.colorbar(img, ax=ax)
        bar.set_label(label)
        ax.set_xlabel("input j")
        ax.set_ylabel("input i")
        ax.grid(False)
        ax.set_title(title or f"Kernel matrix ({K.shape[0]}×{K.shape[1]})")
    return fig
