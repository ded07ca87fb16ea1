"""Argument checks shared by the dataset generators (n, noise, seed)."""

from __future__ import annotations

import numbers

import numpy as np

from .._validate import as_rng, check_number


def check_n(n, name: str = "n") -> int:
    """``n`` (the number of samples) must be an int >= 1."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(
            f"{name} (the number of samples) must be a positive integer; got {n!r} "
            f"({type(n).__name__}). Pass e.g. {name}=200."
        )
    if n < 1:
        raise ValueError(
            f"{name} (the number of samples) must be at least 1; got {n}. Pass e.g. {name}=200."
        )
    return int(n)


def check_noise(noise) -> float:
    """``noise`` (a standard deviation) must be a finite number >= 0."""
    try:
        return check_number(noise, "noise", low=0.0)
    except ValueError:
        raise ValueError(
            f"noise is the standard deviation of the Gaussian noise and must be >= 0; got {noise!r}. "
            "Use noise=0 for the exact shape, or e.g. noise=0.1."
        ) from None


def check_common(n, noise, seed) -> tuple[int, float, np.random.Generator]:
    """Check the three arguments every generator takes; return ``(n, noise, rng)``."""
    return check_n(n), check_noise(noise), as_rng(seed, "seed")


def split_counts(n: int, parts: int) -> np.ndarray:
    """``n`` items shared as evenly as possible among ``parts`` groups (first groups get the rest)."""
    counts = np.full(parts, n // parts, dtype=np.int64)
    counts[: n % parts] += 1
    return counts


def shuffled(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    """``x`` and ``y`` in one random order (generators build them class by class)."""
    order = rng.permutation(len(x))
    return x[order], y[order]
