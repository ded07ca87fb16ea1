"""Mini-batches: a fresh random order of the samples every epoch."""

from __future__ import annotations

import numpy as np


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Index arrays of consecutive ``batch_size`` slices of one random permutation of 0…n-1.

    The last batch is smaller when ``batch_size`` does not divide ``n``. ``fit`` calls this
    once per epoch with one Generator built from its ``seed``, so a PyTorch loop that draws
    ``rng = np.random.default_rng(seed)`` and calls it the same way sees the same batches.
    """
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
