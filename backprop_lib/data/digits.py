"""Handwritten digits 8×8: the small real dataset scikit-learn ships (no download).

1797 images of the digits 0-9 from the UCI "Optical Recognition of Handwritten Digits"
set, each 8×8 pixels with 17 grey levels (0-16), flattened to 64 features.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_rng


def digits(seed=None):
    """Return ``x: (1797, 64)`` float64 in [0, 1] (pixel / 16) and ``y: (1797,)`` int64 in 0-9.

    ``seed=None`` keeps scikit-learn's order; an int (or Generator) returns the samples in a
    random order drawn from it. ``x[i].reshape(8, 8)`` is the i-th image.
    """
    rng = None if seed is None else as_rng(seed, "seed")
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - sklearn is a core dependency
        raise ImportError(
            "bp.data.digits() reads the digits set bundled with scikit-learn; install it with "
            "`pip install scikit-learn`."
        ) from err
    bunch = load_digits()
    x = np.asarray(bunch.data, dtype=np.float64) / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    if rng is not None:
        order = rng.permutation(len(x))
        x, y = x[order], y[order]
    return x, y
