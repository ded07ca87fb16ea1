"""Input checks shared by the whole library.

Every check raises a ``TypeError`` or ``ValueError`` whose message names the argument,
says what was expected, what came, and how to fix it.
"""

from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


class NonFiniteError(ValueError):
    """An array that must be finite holds NaN or inf (bad data, or a run that diverged)."""


def as_float_array(x, name: str, *, ndim: int | None = None, allow_nonfinite: bool = False):
    """Return ``x`` as a float32/float64 ndarray, or raise a clear error.

    Integer, boolean and object arrays are refused (``TypeError``): silently converting
    them hides bugs such as passing class labels where features were meant.
    """
    if isinstance(x, np.ndarray):
        arr = x
    elif isinstance(x, (list, tuple, numbers.Real)):
        arr = np.asarray(x, dtype=np.float64)
    else:
        raise TypeError(
            f"{name} must be a NumPy array of floats; got {type(x).__name__}. "
            f"Convert it with np.asarray({name}, dtype=np.float64)."
        )
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} must have dtype float64 or float32; got dtype {arr.dtype}. "
            f"Convert it with {name}.astype(np.float64)."
        )
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-dimensional; got shape {arr.shape}. "
            + ("Add a batch axis with x.reshape(1, -1) for a single example."
               if ndim == 2 and arr.ndim == 1 else "Reshape it first.")
        )
    if not allow_nonfinite and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise NonFiniteError(
            f"{name} contains {bad} NaN or infinite value(s); expected finite numbers. "
            "Check the data (or the previous step: a diverging run produces inf/NaN)."
        )
    return arr


def check_bool(value, name: str) -> bool:
    """``value`` must be True or False (a numpy bool too); 1, "yes" and None are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r} ({type(value).__name__}).")
    return bool(value)


def check_positive_int(value, name: str) -> int:
    """``value`` must be an int >= 1 (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer; got {value!r} ({type(value).__name__}).")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer (>= 1); got {value}.")
    return int(value)


def check_number(value, name: str, *, low=None, high=None, low_open=False, high_open=False):
    """``value`` must be a real number inside the given interval; returns it as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {value!r} ({type(value).__name__}).")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite; got {value!r}.")
    lo_bad = low is not None and (v <= low if low_open else v < low)
    hi_bad = high is not None and (v >= high if high_open else v > high)
    if lo_bad or hi_bad:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}"
        hi = "" if high is None else f"{high}" + (")" if high_open else "]")
        interval = f"{lo or '(-inf'}, {hi or 'inf)'}"
        raise ValueError(f"{name} must lie in {interval}; got {value!r}.")
    return v


def check_choice(value, name: str, choices):
    """``value`` must be one of ``choices`` (strings compared case-insensitively)."""
    key = value.lower() if isinstance(value, str) else value
    options = {c.lower() if isinstance(c, str) else c: c for c in choices}
    if key not in options:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"unknown {name} {value!r}; expected one of {listed}.")
    return options[key]


def as_rng(seed_or_rng, name: str = "seed") -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed, a Generator, or None (fresh entropy)."""
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if seed_or_rng is None or (
        isinstance(seed_or_rng, numbers.Integral) and not isinstance(seed_or_rng, bool)
    ):
        return np.random.default_rng(seed_or_rng)
    raise TypeError(
        f"{name} must be an int, None or a numpy.random.Generator; got {type(seed_or_rng).__name__}."
    )
