"""Small 2-D classification problems and a 1-D regression problem, generated from a seed.

Every generator takes ``n`` (number of samples), ``noise`` (standard deviation of the
Gaussian noise added to the inputs, or to the targets for ``sine``) and ``seed`` (an int,
``None`` or a ``numpy.random.Generator``). Classification sets return

    x: (n, 2) float64,  y: (n,) int64 class labels 0 … C-1

with the classes as balanced as ``n`` allows and the samples in random order. With
``noise=0`` each set is its exact geometric shape (the tests check it).
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validate import check_number, check_positive_int
from ._checks import check_common, shuffled, split_counts


def moons(n: int = 200, noise: float = 0.1, seed=0):
    """Two interleaving half circles (like ``sklearn.datasets.make_moons``).

    Class 0: the upper arc (cos t, sin t), t ∈ [0, π].
    Class 1: the lower arc (1 − cos t, 0.5 − sin t), t ∈ [0, π].
    Returns ``x: (n, 2)``, ``y: (n,)``.
    """
    n, noise, rng = check_common(n, noise, seed)
    n0, n1 = split_counts(n, 2)
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.arange(2, dtype=np.int64), [n0, n1])
    return shuffled(x, y, rng)


def circles(n: int = 200, noise: float = 0.1, seed=0, factor: float = 0.5):
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor`` (0 < factor < 1).

    Points are evenly spaced in angle, θ_i = 2π i / m. Returns ``x: (n, 2)``, ``y: (n,)``.
    """
    n, noise, rng = check_common(n, noise, seed)
    factor = check_number(factor, "factor", low=0.0, high=1.0, low_open=True, high_open=True)
    counts = split_counts(n, 2)
    rings = []
    for radius, m in zip((1.0, factor), counts, strict=True):
        theta = np.linspace(0.0, 2.0 * np.pi, m, endpoint=False)
        rings.append(radius * np.column_stack([np.cos(theta), np.sin(theta)]))
    x = np.concatenate(rings) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.arange(2, dtype=np.int64), counts)
    return shuffled(x, y, rng)


def spirals(n: int = 200, noise: float = 0.1, seed=0, classes: int = 2):
    """``classes`` interleaved spiral arms (the cs231n "spiral" problem).

    Arm k: radius r ∈ [0, 1] (evenly spaced), angle θ = 2π k / classes + 2π r,
    point r (cos θ, sin θ). Returns ``x: (n, 2)``, ``y: (n,)`` with labels 0 … classes-1.
    """
    n, noise, rng = check_common(n, noise, seed)
    classes = check_positive_int(classes, "classes")
    if classes < 2:
        raise ValueError(f"classes must be at least 2 (a classification problem); got {classes}.")
    counts = split_counts(n, classes)
    arms = []
    for k, m in enumerate(counts):
        r = np.linspace(0.0, 1.0, m)
        theta = 2.0 * np.pi * k / classes + 2.0 * np.pi * r
        arms.append(r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)]))
    x = np.concatenate(arms) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.arange(classes, dtype=np.int64), counts)
    return shuffled(x, y, rng)


def xor(n: int = 200, noise: float = 0.1, seed=0):
    """The XOR problem: points uniform in the four unit quadrants of [-1, 1]².

    The label is 1 when the two coordinates have opposite signs (x₁·x₂ < 0), computed on
    the clean points before noise is added. Each quadrant gets n/4 points (so the classes
    are balanced). Returns ``x: (n, 2)``, ``y: (n,)``.
    """
    n, noise, rng = check_common(n, noise, seed)
    signs = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])  # labels 0, 0, 1, 1
    counts = split_counts(n, 4)
    quadrant = np.repeat(np.arange(4), counts)
    clean = rng.uniform(0.0, 1.0, size=(n, 2)) * signs[quadrant]
    y = (quadrant >= 2).astype(np.int64)
    x = clean + noise * rng.standard_normal((n, 2))
    return shuffled(x, y, rng)


def blobs(n: int = 200, noise: float = 0.5, seed=0, centers=3):
    """Gaussian blobs: class k is N(c_k, noise² I).

    ``centers`` is the number of classes (centers evenly spaced on the circle of radius 2,
    c_k = 2 (cos 2πk/K, sin 2πk/K)) or an array of centers shaped (K, d).
    Returns ``x: (n, d)``, ``y: (n,)`` with labels 0 … K-1.
    """
    n, noise, rng = check_common(n, noise, seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = check_positive_int(centers, "centers")
        angle = 2.0 * np.pi * np.arange(k) / k
        c = 2.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    else:
        c = np.asarray(centers, dtype=np.float64) if not isinstance(centers, np.ndarray) else centers
        if c.ndim != 2 or c.shape[0] < 1 or not np.issubdtype(c.dtype, np.number):
            raise ValueError(
                "centers must be a number of classes (int) or an array of centers shaped "
                f"(classes, features); got {np.shape(centers)}. Pass e.g. centers=3."
            )
        c = c.astype(np.float64)
    counts = split_counts(n, len(c))
    y = np.repeat(np.arange(len(c), dtype=np.int64), counts)
    x = c[y] + noise * rng.standard_normal((n, c.shape[1]))
    return shuffled(x, y, rng)


def sine(n: int = 200, noise: float = 0.1, seed=0):
    """1-D regression: y = sin(x) + noise·ε, ε ~ N(0, 1), with x uniform in [-π, π].

    Returns ``x: (n, 1)`` and ``y: (n, 1)``, both float64 (shaped for ``MSELoss``).
    """
    n, noise, rng = check_common(n, noise, seed)
    x = rng.uniform(-np.pi, np.pi, size=(n, 1))
    y = np.sin(x) + noise * rng.standard_normal((n, 1))
    return x, y
