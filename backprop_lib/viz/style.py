"""One look for every figure of the course: a colour-blind-safe palette (Okabe–Ito),
labelled axes, a title that states the setting, and a larger "presentation" theme for
the classroom.
"""

from __future__ import annotations

from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
PALETTE = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
]
NEGATIVE, POSITIVE = "#0072B2", "#D55E00"  # two-class colours (blue / vermillion)
DIVERGING_CMAP = "RdBu_r"
SEQUENTIAL_CMAP = "viridis"

_BASE = {
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 11,
    "legend.frameon": False,
    # Titles sit at the top of their axes. Left to matplotlib (None), every draw measures the tick
    # labels to see whether the title must move up (only when ticks are on top, which no course
    # figure has): about a tenth of an explorer's redraw.
    "axes.titley": 1.0,
}
# For the classroom: text grows more than the figures do (about 1.6x against 1.3-1.5x), so it
# stays larger than the default theme's even when a narrow screen scales the figure down.
_PRESENTATION = {**_BASE, "font.size": 16, "axes.titlesize": 17, "axes.labelsize": 16,
                 "xtick.labelsize": 15, "ytick.labelsize": 15, "legend.fontsize": 14,
                 "lines.linewidth": 2.5, "lines.markersize": 8}

THEMES = {"default": _BASE, "presentation": _PRESENTATION}
FIGSIZE = {"default": (6.4, 4.0), "presentation": (10.0, 6.2)}


def rc(theme: str = "default") -> dict:
    """The rcParams of a theme (``"default"`` or ``"presentation"``)."""
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; expected 'default' or 'presentation'.")
    return THEMES[theme]


@contextmanager
def themed(theme: str = "default"):
    """``with themed("presentation"): fig = ...`` draws with that theme."""
    with mpl.rc_context(rc(theme)):
        try:
            yield
        finally:
            interactive = mpl.is_interactive()
    # Keep interactive mode as the block left it: the inline backend turns it on when pyplot
    # first loads it, and if that happens inside this block, rc_context's restore would turn it
    # off again (in a notebook, every figure after the first would silently not be shown).
    mpl.interactive(interactive)


def new_axes(ax=None, *, theme: str = "default", nrows: int = 1, ncols: int = 1, figsize=None):
    """Return ``(fig, ax)``: the caller's axes, or a new figure drawn in the theme.

    With ``nrows``/``ncols`` > 1, ``ax`` is the array of axes, as ``plt.subplots`` gives.
    """
    if ax is not None:
        return ax.figure, ax
    if figsize is None:
        w, h = FIGSIZE[theme] if theme in FIGSIZE else FIGSIZE["default"]
        figsize = (w * (1 + 0.7 * (ncols - 1)), h * (1 + 0.7 * (nrows - 1)))
    with themed(theme):
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained")
    return fig, axes


def color(i: int) -> str:
    """The i-th palette colour (wraps around)."""
    return PALETTE[i % len(PALETTE)]


def show_message(ax, text: str, *, kind: str = "warning"):
    """Write a message across an axes (used when a run diverges, never a traceback)."""
    col = {"warning": "#D55E00", "info": "#0072B2"}.get(kind, "#000000")
    return ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
                   fontsize="large", color=col, wrap=True,
                   bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": col, "alpha": 0.9})
