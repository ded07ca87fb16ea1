"""Log axes that survive diverging runs: values near 1e308 make matplotlib's autoscaling and
log tick locator overflow, so the figures set their limits themselves."""

from __future__ import annotations

import numpy as np

LOG_RANGE = 250.0   # limits stay within 1e±250


def positive(values) -> np.ndarray:
    """Values for a log axis: 0, negative, inf and NaN become NaN (gaps in the line)."""
    v = np.asarray(values, dtype=float).copy()
    v[~np.isfinite(v) | (v <= 0)] = np.nan
    return v


def log_limits(values):
    """``(low, high)`` for a log axis around the finite positive ``values``, rounded out to
    whole decades (``(1e-3, 1e3)`` when there are none)."""
    v = positive(np.ravel(values))
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 1e-3, 1e3
    lo, hi = np.log10(v.min()), np.log10(v.max())
    return 10.0 ** max(np.floor(lo - 0.3), -LOG_RANGE), 10.0 ** min(np.ceil(hi + 0.3), LOG_RANGE)


def set_log_y(ax, values) -> None:
    """Log y axis with limits from ``values`` (set before the scale, so nothing autoscales)."""
    ax.set_ylim(*log_limits(values))
    ax.set_yscale("log")
