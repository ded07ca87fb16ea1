"""Train / validation split (stratified for integer class labels)."""

from __future__ import annotations

import numpy as np

from .._validate import as_rng, check_number


def _check_xy(x, y, name_x: str = "x", name_y: str = "y"):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"{name_x} and {name_y} must be arrays with one sample per row; got shapes "
            f"{x.shape} and {y.shape}."
        )
    if len(x) != len(y):
        raise ValueError(
            f"{name_x} has {len(x)} samples but {name_y} has {len(y)}; they must have the same "
            f"length (one label per row of {name_x}). Check that {name_x} and {name_y} come from "
            "the same dataset."
        )
    return x, y


def _val_counts(class_sizes: np.ndarray, n_val: int) -> np.ndarray:
    """Validation samples per class: proportional to class size, summing to ``n_val``.

    Largest-remainder rounding: floor(n_val·n_c/n) each, then one more for the classes
    with the largest fractional parts.
    """
    exact = n_val * class_sizes / class_sizes.sum()
    counts = np.floor(exact).astype(np.int64)
    rest = n_val - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:rest]] += 1
    return counts


def train_val_split(x, y, val_fraction: float = 0.2, seed=0):
    """Split ``(x, y)`` into ``(x_train, y_train), (x_val, y_val)``.

    ``round(val_fraction·n)`` samples (at least 1, at most n-1) go to validation. When
    ``y`` holds integer class labels (shape (n,)) the split is stratified: each class keeps
    its share in both parts. Both parts come back in a random order drawn from ``seed``.

        train, val = bp.data.train_val_split(x, y, val_fraction=0.2)
        bp.train.fit(net, loss_fn, train, opt, val_data=val)
    """
    x, y = _check_xy(x, y)
    val_fraction = check_number(val_fraction, "val_fraction", low=0.0, high=1.0,
                                low_open=True, high_open=True)
    rng = as_rng(seed, "seed")
    n = len(x)
    if n < 2:
        raise ValueError(f"train_val_split needs at least 2 samples (one per part); got {n}.")
    n_val = min(max(int(round(val_fraction * n)), 1), n - 1)

    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        classes, inverse = np.unique(y, return_inverse=True)
        members = [np.flatnonzero(inverse == c) for c in range(len(classes))]
        per_class = _val_counts(np.array([len(m) for m in members]), n_val)
        val_parts, train_parts = [], []
        for idx, k in zip(members, per_class, strict=True):
            idx = rng.permutation(idx)
            val_parts.append(idx[:k])
            train_parts.append(idx[k:])
        val_idx = rng.permutation(np.concatenate(val_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))
    else:
        order = rng.permutation(n)
        val_idx, train_idx = order[:n_val], order[n_val:]
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])
