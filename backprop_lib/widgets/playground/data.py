"""The playground's data: the 2-D datasets, the learner's own arrays, and the input features.

A dataset is a cloud of labelled points x = (x₁, x₂) in the plane. The network never sees
x itself but a list of *features* of it (TensorFlow Playground's input column):

    x₁, x₂, x₁², x₂², x₁x₂, sin x₁, sin x₂

so ``features=("x1", "x2")`` is a plain MLP on the points, and ``features=("x1*x2",)``
alone solves XOR with no hidden layer (its sign is the XOR label).
"""

from __future__ import annotations

import numbers

import numpy as np

from ... import data as bp_data

# name → (label in figures, the feature as a function of the points p: (m, 2))
FEATURES = {
    "x1": ("x₁", lambda p: p[:, 0]),
    "x2": ("x₂", lambda p: p[:, 1]),
    "x1^2": ("x₁²", lambda p: p[:, 0] ** 2),
    "x2^2": ("x₂²", lambda p: p[:, 1] ** 2),
    "x1*x2": ("x₁x₂", lambda p: p[:, 0] * p[:, 1]),
    "sin(x1)": ("sin x₁", lambda p: np.sin(p[:, 0])),
    "sin(x2)": ("sin x₂", lambda p: np.sin(p[:, 1])),
}

# Spellings accepted for each feature (compared without spaces, case-insensitively).
_ALIASES = {
    "x1": "x1", "x2": "x2",
    "x1^2": "x1^2", "x1**2": "x1^2", "x1²": "x1^2", "x1x1": "x1^2",
    "x2^2": "x2^2", "x2**2": "x2^2", "x2²": "x2^2", "x2x2": "x2^2",
    "x1*x2": "x1*x2", "x1x2": "x1*x2", "x1·x2": "x1*x2",
    "sin(x1)": "sin(x1)", "sinx1": "sin(x1)", "sin(x2)": "sin(x2)", "sinx2": "sin(x2)",
}

# name → (one-line description, generator(n, noise, seed) -> (x, y))
DATASETS = {
    "moons": ("two interleaving half circles", lambda n, noise, seed: bp_data.moons(n, noise, seed)),
    "circles": ("a disc inside a ring", lambda n, noise, seed: bp_data.circles(n, noise, seed)),
    "xor": ("the four quadrants; label 1 where x₁x₂ < 0",
            lambda n, noise, seed: bp_data.xor(n, noise, seed)),
    "spiral": ("two interleaved spiral arms", lambda n, noise, seed: bp_data.spirals(n, noise, seed)),
    "gaussians": ("two Gaussian clusters, std = noise, centres (±2, 0)",
                  lambda n, noise, seed: bp_data.blobs(n, noise, seed, centers=2)),
    "blobs": ("three Gaussian clusters (3 classes), std = noise",
              lambda n, noise, seed: bp_data.blobs(n, noise, seed, centers=3)),
}
OWN = "own"   # the dataset name of the learner's arrays, TrainingPlayground(data=(x, y))


def check_features(features) -> tuple[str, ...]:
    """A tuple of canonical feature names, in the order of ``FEATURES``."""
    if isinstance(features, str):
        features = (features,)
    if not isinstance(features, (tuple, list, set, frozenset)):
        raise TypeError(f"features must be a tuple of feature names such as ('x1', 'x2'); got "
                        f"{type(features).__name__}. Names: {', '.join(FEATURES)}.")
    chosen = set()
    for f in features:
        key = _ALIASES.get(f.replace(" ", "").lower()) if isinstance(f, str) else None
        if key is None:
            raise ValueError(f"unknown feature {f!r}; expected some of {', '.join(map(repr, FEATURES))}, "
                             "e.g. features=('x1', 'x2', 'x1*x2').")
        chosen.add(key)
    if not chosen:
        raise ValueError("features must name at least one input feature; use e.g. features=('x1', 'x2').")
    return tuple(name for name in FEATURES if name in chosen)


def make_features(points, features) -> np.ndarray:
    """The network's inputs: ``points: (m, 2)`` → ``(m, len(features))``, one column per feature."""
    points = np.asarray(points, dtype=np.float64)
    return np.column_stack([FEATURES[name][1](points) for name in features])


def check_own_data(data):
    """The learner's ``data = (x, y)``: x (n, 2) finite floats, y (n,) integer class labels.

    Labels may be any integers (or bools); they are renumbered 0 … K−1 in sorted order.
    Returns ``(x, y)`` as new float64 / int64 arrays.
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"data must be a pair (x, y) of points and labels; got {type(data).__name__}"
                        + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "")
                        + ". Pass TrainingPlayground(data=(x, y)).")
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if x.dtype == object or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"data: x must hold numbers (floats); got dtype {x.dtype}. "
                        "Convert it with x.astype(np.float64).")
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"data: x must hold 2-D points, shape (n, 2); got shape {x.shape}. The playground "
                         "draws the input plane (x₁, x₂); for other inputs train with bp.train.fit.")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"data: y must hold one class label per point, shape ({len(x)},); got shape "
                         f"{y.shape}. Check that x and y come from the same dataset.")
    if not np.all(np.isfinite(x)):
        raise ValueError("data: x contains NaN or infinite values; remove or fix those points first.")
    if y.dtype == bool:
        y = y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError("data: y must hold integer class labels (0, 1, …); got non-integer values. "
                             "The playground classifies points; round or threshold a regression target.")
    elif not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"data: y must hold integer class labels; got dtype {y.dtype}.")
    classes, y = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"data: y has a single class ({classes[0] if len(classes) else 'none'}); a "
                         "classifier needs at least two classes.")
    if len(classes) > 8:
        raise ValueError(f"data: y has {len(classes)} classes; the playground shows at most 8.")
    if len(x) < 4:
        raise ValueError(f"data: got {len(x)} points; pass at least 4 (e.g. the four XOR corners).")
    return np.array(x, dtype=np.float64), y.astype(np.int64).reshape(-1)


def make_points(dataset: str, n: int, noise: float, seed, own=None):
    """All points and labels of a dataset (``own``: the checked arrays of ``check_own_data``)."""
    if dataset == OWN:
        return own
    return DATASETS[dataset][1](n, noise, seed)


def split(x, y, train_fraction: float, seed):
    """``(x_train, y_train), (x_test, y_test)``: a stratified split (``bp.data.train_val_split``).

    ``train_fraction = 1`` trains on every point and leaves the test set empty.
    """
    if train_fraction >= 1.0:
        return (x, y), (x[:0], y[:0])
    (xt, yt), (xv, yv) = bp_data.train_val_split(x, y, val_fraction=1.0 - train_fraction, seed=seed)
    return (xt, yt), (xv, yv)


def is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
