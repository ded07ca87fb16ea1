"""Numerical differentiation by finite differences, and why the step size h matters.

    forward   f'(x) ≈ (f(x+h) - f(x)) / h          truncation error ≈ |f''(x)|·h/2     O(h)
    backward  f'(x) ≈ (f(x) - f(x-h)) / h          truncation error ≈ |f''(x)|·h/2     O(h)
    central   f'(x) ≈ (f(x+h) - f(x-h)) / (2h)     truncation error ≈ |f'''(x)|·h²/6   O(h²)

(from Taylor's theorem: f(x±h) = f ± f'h + f''h²/2 ± f'''h³/6 + …). Shrinking h reduces
the truncation error, but f(x+h) and f(x) are each rounded to a relative precision eps
(the machine epsilon of the dtype), so their difference carries an error ≈ eps·|f(x)|;
the step x+h is rounded too, which moves f by ≈ eps·|x·f'(x)|. The division by h
*amplifies* both:

    rounding error ≈ eps·(|f(x)| + |x·f'(x)|) / h      (one-sided; / (2h) for central)

The total error is smallest where the two balance: h* ~ eps^(1/2) for one-sided and
h* ~ eps^(1/3) for central differences. ``step_size_study`` measures all of this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import FLOAT_DTYPES, as_float_array, check_choice, check_number

METHODS = ("central", "forward", "backward")


def _as_x(x):
    """x as a float array, keeping a NumPy scalar's dtype (np.float32 stays float32)."""
    if isinstance(x, np.generic):
        x = np.asarray(x)
    return as_float_array(x, "x")


def numerical_derivative(f, x, h: float = 1e-5, method: str = "central"):
    """Finite-difference estimate of f'(x).

    ``f``: a scalar function; with an array ``x`` it must act elementwise (like ``np.sin``),
    and each entry of the result is the derivative at that entry.
    ``x``: a number or a float array; the arithmetic runs in its dtype (float32 or float64).
    ``h``: the step (> 0). ``method``: ``"central"`` (default), ``"forward"`` or ``"backward"``.
    Returns a NumPy scalar for a scalar ``x``, else an array shaped like ``x``.
    """
    if not callable(f):
        raise TypeError(f"f must be a callable such as np.sin; got {type(f).__name__}.")
    method = check_choice(method, "method", METHODS)
    h = check_number(h, "h", low=0.0, low_open=True)
    x = _as_x(x)
    h = x.dtype.type(h)  # step in the working precision
    if h == 0:
        raise ValueError(f"h={h!r} underflows to 0 in {x.dtype}; use a larger step.")

    def call(z):
        out = np.asarray(f(z))
        if out.shape != z.shape:
            raise ValueError(
                f"f must map each entry of x to one number (act elementwise); x has shape {z.shape} "
                f"but f(x) has shape {out.shape}. Vectorise f with NumPy or call this once per entry."
            )
        return out

    if method == "forward":
        d = (call(x + h) - call(x)) / h  # O(h)
    elif method == "backward":
        d = (call(x) - call(x - h)) / h  # O(h)
    else:
        d = (call(x + h) - call(x - h)) / (2 * h)  # O(h²)
    return d[()] if d.ndim == 0 else d


@dataclass(frozen=True)
class StepSizeStudy:
    """Error of a finite difference against the exact derivative, per step size.

    Arrays (one entry per ``h``): ``approx`` (the estimate), ``error`` = |approx - exact|,
    and the two terms of the error model: ``truncation`` (|f''|h/2 or |f'''|h²/6) and
    ``rounding`` (eps·(|f(x)| + |x f'(x)|)/h, or /(2h) for central). ``envelope``: the largest error
    within half a decade of each h (rounding noise makes single errors partly luck).
    ``best_h``/``best_error``: the step minimising the envelope and the envelope there,
    i.e. the error one can count on; ``predicted_h``: where the model's two terms balance.
    """

    h: np.ndarray
    approx: np.ndarray
    error: np.ndarray
    envelope: np.ndarray
    truncation: np.ndarray
    rounding: np.ndarray
    x: float
    exact: float
    method: str
    dtype: str
    eps: float
    higher_derivative: float  # |f''(x)| (one-sided) or |f'''(x)| (central)
    best_h: float
    best_error: float
    predicted_h: float

    @property
    def model(self) -> np.ndarray:
        """truncation + rounding: the error the Taylor/rounding model predicts."""
        return self.truncation + self.rounding

    @property
    def truncation_dominated(self) -> np.ndarray:
        """Boolean mask of the steps where truncation (large h) dominates rounding (small h)."""
        return self.truncation > self.rounding

    @property
    def order(self) -> int:
        """The power of h in the truncation error: 1 one-sided, 2 central."""
        return 2 if self.method == "central" else 1


def _higher_derivative(f, x: float, method: str) -> float:
    """|f''(x)| (one-sided) or |f'''(x)| (central), estimated in float64 by finite differences
    with steps eps^(1/4) and eps^(1/5) that balance their own truncation and rounding."""
    scale = max(1.0, abs(x))

    def g(z):
        return float(np.asarray(f(np.float64(z))))

    if method != "central":
        s = np.finfo(np.float64).eps ** 0.25 * scale
        return abs((g(x + s) - 2 * g(x) + g(x - s)) / s**2)
    s = np.finfo(np.float64).eps ** 0.2 * scale
    return abs((g(x + 2 * s) - 2 * g(x + s) + 2 * g(x - s) - g(x - 2 * s)) / (2 * s**3))


def step_size_study(f, df, x, hs=None, dtype=np.float64, method: str = "central",
                    higher_derivative=None) -> StepSizeStudy:
    """Finite-difference error over a range of steps h, split into truncation and rounding.

    ``f``: scalar function written with NumPy so that it computes in ``dtype`` (``np.sin``,
    ``lambda x: x**3``; ``math.sin`` would silently work in float64).
    ``df``: the exact derivative, a callable or the number f'(x).
    ``x``: the point (a number). ``hs``: steps (default 81 values from 1e-16 to 1).
    ``dtype``: ``np.float64`` or ``np.float32``. ``method``: as in ``numerical_derivative``.
    ``higher_derivative``: f''(x) (one-sided) or f'''(x) (central) for the truncation model;
    estimated by finite differences in float64 if not given.
    """
    if not callable(f):
        raise TypeError(f"f must be a callable such as np.sin; got {type(f).__name__}.")
    method = check_choice(method, "method", METHODS)
    x = check_number(x, "x")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be np.float64 or np.float32; got {dtype!r}.")
    exact = check_number(df(x) if callable(df) else df, "df (the exact derivative)")
    hs = np.logspace(-16, 0, 81) if hs is None else as_float_array(hs, "hs", ndim=1)
    if hs.size == 0 or np.any(hs <= 0):
        raise ValueError(f"hs must be a non-empty array of positive steps; got {hs!r}.")
    hs = hs.astype(np.float64)

    x_d = dt.type(x)
    fx = np.asarray(f(x_d))
    if fx.dtype != dt:
        raise TypeError(
            f"f returned {fx.dtype} for a {dt} input, so the study would not measure {dt} arithmetic. "
            "Write f with NumPy operations (np.sin(x), x**3) that keep the input's dtype."
        )
    approx = np.array([numerical_derivative(f, x_d, float(h), method) for h in hs], dtype=np.float64)
    error = np.abs(approx - exact)

    eps = float(np.finfo(dt).eps)
    if higher_derivative is None:
        m = _higher_derivative(f, x, method)
    else:
        m = abs(check_number(higher_derivative, "higher_derivative"))
    # rounding of f(x±h) (≈ eps|f|) and of the step x±h itself (≈ eps|x f'|)
    r = eps * (abs(float(fx)) + abs(x * exact))
    # predicted h*: where d/dh (truncation + rounding) = 0
    if method == "central":
        truncation = m * hs**2 / 6  # |f'''| h² / 6
        rounding = r / (2 * hs)
        predicted = (3 * r / (2 * m)) ** (1 / 3) if m > 0 and r > 0 else float("nan")
    else:
        truncation = m * hs / 2  # |f''| h / 2
        rounding = r / hs
        predicted = (2 * r / m) ** 0.5 if m > 0 and r > 0 else float("nan")

    if not np.isfinite(error).any():
        raise ValueError("every finite difference was NaN or infinite; check f near x.")
    envelope = _envelope(hs, error)
    best = int(np.argmin(envelope))
    return StepSizeStudy(
        h=hs, approx=approx, error=error, envelope=envelope, truncation=truncation, rounding=rounding,
        x=x, exact=exact, method=method, dtype=dt.name, eps=eps, higher_derivative=m,
        best_h=float(hs[best]), best_error=float(envelope[best]), predicted_h=float(predicted),
    )


def _envelope(hs: np.ndarray, error: np.ndarray, half_width: float = 0.5) -> np.ndarray:
    """The largest error within ±``half_width`` decades of each h.

    In the rounding regime the error at one h is partly luck (two rounding errors may
    cancel), so the raw minimum can sit a decade or two below where it typically lies.
    The upper envelope is what one can rely on at that step size."""
    log_h = np.log10(hs)
    err = np.where(np.isfinite(error), error, np.inf)
    return np.array([err[np.abs(log_h - lh) <= half_width + 1e-12].max() for lh in log_h])
