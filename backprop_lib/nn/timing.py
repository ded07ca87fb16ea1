"""Time backprop against its forward pass and against a numerical gradient (same run, ratios).

``time_gradient(model, loss_fn, x, y)`` times, interleaved in small slices so that a busy
machine slows all three alike:

* the forward pass, ``loss_fn(model(x), y)``;
* the backward pass, ``model.backward(loss_fn.backward())``;
* optionally the numerical gradient by central differences,
  ∂L/∂θ_i ≈ (L(θ + h e_i) − L(θ − h e_i)) / 2h: two forward passes per parameter. With
  ``entries = m`` only m random parameters are differentiated and the time is scaled by W/m
  (every entry costs the same two forward passes, so this estimates the full W-entry gradient
  without paying for it); the m values are compared with backprop's.

Each repeat runs ``calls`` slices (one forward, one backward and ``entries / calls`` central
differences each) and keeps, for each pass, its fastest slice (``timeit``'s rule: a slower run
was interrupted by something else, which says nothing about the code). The ratios
(backward/forward, numerical/backprop) are taken per repeat and their median over the repeats
reported. Absolute times depend on the machine; only
ratios measured in the same run mean anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .._validate import as_rng, check_positive_int
from ..gradcheck import _numeric_entries, max_relative_error
from .module import Module

__all__ = ["GradientTiming", "time_gradient"]


@dataclass(frozen=True)
class GradientTiming:
    """Seconds per pass, one per repeat (arrays of shape (repeats,), each the fastest of the
    repeat's slices); ``numerical`` is the time of all W entries (per-entry time × W)."""

    n_params: int
    forward: np.ndarray
    backward: np.ndarray
    numerical: np.ndarray | None       # None when entries=0
    entries: int                       # parameters differentiated numerically per repeat
    max_rel_error: float | None        # those entries, numerical vs backprop

    @property
    def backward_ratio(self) -> float:
        """Median over repeats of backward time / forward time."""
        return float(np.median(self.backward / self.forward))

    @property
    def speedup(self) -> float:
        """Median over repeats of numerical-gradient time / backprop time (forward + backward)."""
        if self.numerical is None:
            raise ValueError("speedup needs a numerical timing: call time_gradient(..., entries=200).")
        return float(np.median(self.numerical / (self.forward + self.backward)))


def _pick_entries(params, entries: int, rng):
    """``[(parameter, flat indices)]`` for ``entries`` distinct random entries of all parameters."""
    sizes = np.array([p.size for p in params])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    chosen = np.sort(rng.choice(offsets[-1], size=entries, replace=False))
    picks = []
    for p, lo, hi in zip(params, offsets[:-1], offsets[1:], strict=True):
        mine = chosen[(chosen >= lo) & (chosen < hi)] - lo
        picks += [(p, int(i)) for i in mine]
    return picks


def time_gradient(model: Module, loss_fn, x, y, *, repeats: int = 5, calls: int = 10,
                  entries: int = 0, h: float = 1e-6, seed=0) -> GradientTiming:
    """Time forward, backward and (``entries > 0``) a numerical gradient of ``model``.

    Each of ``repeats`` repeats runs ``calls`` forward + backward passes and, in between,
    ``entries`` central differences split evenly over the calls. ``x: (batch, in)``; ``y`` as
    ``loss_fn`` expects. The model's ``.grad`` is left holding one backprop gradient.
    A numerical gradient needs float64 parameters and a deterministic model (no Dropout in
    training mode).
    """
    if not isinstance(model, Module):
        raise TypeError(f"time_gradient needs a bp.nn Module as model; got {type(model).__name__}.")
    if not callable(getattr(loss_fn, "backward", None)):
        raise TypeError("loss_fn must be a bp.nn loss such as bp.nn.MSELoss(); "
                        f"got {type(loss_fn).__name__}.")
    repeats = check_positive_int(repeats, "repeats")
    calls = check_positive_int(calls, "calls")
    params = model.parameters()
    n_params = sum(p.size for p in params)
    whole = isinstance(entries, (int, np.integer)) and not isinstance(entries, bool)
    if not whole or not 0 <= entries <= n_params:
        raise ValueError(f"entries must be an integer from 0 to the number of parameters ({n_params}); "
                         f"got {entries!r}.")
    if entries and any(p.data.dtype != np.float64 for p in params):
        raise TypeError("a numerical gradient needs float64 parameters (in float32 a central difference is "
                        "mostly rounding noise); build the model with dtype=np.float64 or use entries=0.")

    def loss():
        return float(loss_fn(model(x), y))

    def backward():
        model.backward(loss_fn.backward())

    model.zero_grad()                                    # one backprop gradient, the reference
    loss()
    backward()
    exact = {id(p): p.grad.copy() for p in params}
    picks = _pick_entries(params, int(entries), as_rng(seed)) if entries else []
    slices = np.array_split(np.arange(len(picks)), calls)

    fwd, bwd, num = (np.zeros((repeats, calls)) for _ in range(3))    # seconds per call / per entry
    numeric = np.zeros(len(picks))
    for r in range(repeats):
        for c, part in enumerate(slices):
            t0 = time.perf_counter()
            loss()
            t1 = time.perf_counter()
            backward()
            t2 = time.perf_counter()
            for j in part:                               # 2 forward passes per entry
                p, i = picks[j]
                numeric[j] = _numeric_entries(lambda _: loss(), p.data, [i], h)[0]
            t3 = time.perf_counter()
            fwd[r, c], bwd[r, c] = t1 - t0, t2 - t1
            num[r, c] = (t3 - t2) / len(part) if len(part) else np.nan
    model.zero_grad()
    loss()
    backward()
    # each repeat: its fastest slice per pass (a slower one was interrupted by other work)
    fwd, bwd = np.min(fwd, axis=1), np.min(bwd, axis=1)
    if not entries:
        return GradientTiming(n_params, fwd, bwd, None, 0, None)
    per_entry = np.nanmin(num, axis=1)
    backprop = np.array([exact[id(p)].ravel()[i] for p, i in picks])
    return GradientTiming(n_params, fwd, bwd, per_entry * n_params, int(entries),
                          max_relative_error(numeric, backprop))
