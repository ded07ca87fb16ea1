"""Per-layer statistics a probe records, each a few lines of NumPy.

RMS(v) = ‖v‖ / √size(v), so layers of different sizes compare on one axis.
"""

from __future__ import annotations

import numpy as np

# Thresholds of the saturation measures (see ``saturated_fraction``).
TANH_SATURATED = 0.99
SIGMOID_MARGIN = 0.01


def rms(v) -> float:
    """‖v‖/√size(v). ``inf`` if v holds inf, ``nan`` if NaN.

    The sum of squares of huge (but finite) values of an exploding network overflows; then
    (and for underflow) it is recomputed as m·√mean((v/m)²) with m = max|v|."""
    v = np.asarray(v, dtype=np.float64).ravel()
    if v.size == 0:
        return float("nan")
    with np.errstate(all="ignore"):
        total = float(np.dot(v, v))                     # one pass; fine unless it over/underflows
        if np.isfinite(total) and total > 1e-290:
            return float(np.sqrt(total / v.size))
        m = float(np.max(np.abs(v)))
        if not np.isfinite(m) or m == 0.0:
            return m
        return m * float(np.sqrt(np.mean((v / m) ** 2)))


def mean_std(a) -> tuple[float, float]:
    """Mean and standard deviation over every element (nan if any element is non-finite).

    Directly when the sums stay in range; otherwise on a/m with m = max|a| and scaled back, so
    that neither huge values (their squares overflow) nor tiny ones (their squares underflow)
    lose the answer."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return float("nan"), float("nan")
    with np.errstate(all="ignore"):
        total = float(a.sum())                          # finite unless a holds inf/NaN or it overflows
        if np.isfinite(total):                          # the usual case: two passes, no scaling
            mean = total / a.size
            d = (a - mean).ravel()
            var = float(np.dot(d, d)) / a.size
            if np.isfinite(var) and var > 1e-290:
                return mean, float(np.sqrt(var))
    if not np.all(np.isfinite(a)):
        return float("nan"), float("nan")
    m = float(np.max(np.abs(a)))
    if m == 0.0:
        return 0.0, 0.0
    scaled = a / m
    return m * float(scaled.mean()), m * float(scaled.std())


def saturated_fraction(a, kind: str | None) -> float:
    """The fraction of saturated units of activation output ``a: (batch, units)``.

    * ``"tanh"``: elements with |a| > 0.99 (where tanh′ = 1 − a² < 0.02);
    * ``"sigmoid"``: elements within 0.01 of 0 or 1 (where σ′ = a(1 − a) < 0.0099);
    * ``"relu"``: *dead units*: units whose output is exactly 0 for every example of the
      batch (no gradient reaches their weights), as a fraction of the units.

    ``nan`` when ``kind`` is None (no saturation measure for that activation).
    """
    if kind is None:
        return float("nan")
    a = np.asarray(a)
    if a.size == 0:
        return float("nan")
    if kind == "tanh":
        return float(np.mean(np.abs(a) > TANH_SATURATED))
    if kind == "sigmoid":
        return float(np.mean((a < SIGMOID_MARGIN) | (a > 1.0 - SIGMOID_MARGIN)))
    if kind == "relu":
        units = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
        return float(np.mean(np.all(units == 0, axis=0)))
    raise ValueError(f"unknown saturation kind {kind!r}; expected 'tanh', 'sigmoid', 'relu' or None.")


def histogram(a, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, edges)`` of the finite elements of ``a``: ``bins`` equal bins over their
    range (the last bin includes its right edge, as ``np.histogram``)."""
    v = np.asarray(a, dtype=np.float64).ravel()
    with np.errstate(invalid="ignore"):
        lo, hi = (float(v.min()), float(v.max())) if v.size else (np.nan, np.nan)
    if not (np.isfinite(lo) and np.isfinite(hi)):       # min and max are finite iff every v is
        v = v[np.isfinite(v)]
        if v.size == 0:
            return np.zeros(bins, dtype=np.int64), np.linspace(-1.0, 1.0, bins + 1)
        lo, hi = float(v.min()), float(v.max())
    # values (nearly) all equal, e.g. a collapsed deep sigmoid layer: widen the range so that
    # `bins` distinct edges exist
    scale = max(abs(lo), abs(hi))
    min_span = 1e-9 * scale * bins
    if scale == 0.0:                 # all zeros (dead layer): numpy's convention, ±0.5
        lo, hi = -0.5, 0.5
    elif hi - lo < min_span:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - min_span, mid + min_span
    edges = np.linspace(lo, hi, bins + 1)
    # bin index ⌊(v − lo)·bins/(hi − lo)⌋, clipped so that v = hi falls in the last bin, then
    # corrected where rounding put a value next to its bin (numpy's rule, same counts)
    idx = ((v - lo) * (bins / (hi - lo))).astype(np.intp)
    np.clip(idx, 0, bins - 1, out=idx)
    idx[v < edges[idx]] -= 1
    idx[(v >= edges[idx + 1]) & (idx != bins - 1)] += 1
    return np.bincount(idx, minlength=bins), edges
