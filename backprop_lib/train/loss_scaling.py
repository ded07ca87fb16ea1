"""Loss scaling for low-precision gradients (float16), as ``torch.amp.GradScaler``.

Small gradients underflow to zero in float16 (below about 6e-8). Multiplying the loss by s
multiplies every gradient by s (the chain rule is linear in the upstream gradient), which
lifts them into float16's range; dividing by s before the optimizer step undoes it:

    L → s·L   ⇒   g → s·g   (computed in low precision)   ⇒   step with (s·g)/s = g

Too large an s overflows to inf. A **dynamic** scaler therefore watches for inf/NaN:
on an overflow it skips the step and halves s; after ``growth_interval`` clean steps in a
row it doubles s. PyTorch's defaults (kept here): s₀ = 2**16, ×2 every 2000 clean steps,
×0.5 on overflow.

    scaler = bp.train.DynamicLossScaler()
    loss = loss_fn(net(x), y)
    net.backward(scaler.scale(loss_fn.backward()))     # gradients of s·L
    scaler.step(opt)                                   # unscale, skip if inf/NaN
    scaler.update()                                    # adjust s
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_number, check_positive_int

_F32_MAX = float(np.finfo(np.float32).max)


def scale_update(scale: float, growth_tracker: int, found_inf: bool, *, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000) -> tuple[float, int]:
    """One update of a dynamic loss scale: ``(new scale, new count of clean steps)``.

    Overflow (``found_inf``): s ← s·backoff, count ← 0 (and the step is skipped).
    Clean step: count ← count + 1; when it reaches ``growth_interval``: s ← s·growth (kept
    only if finite in float32, as torch stores it) and count ← 0.
    """
    if found_inf:
        return scale * backoff_factor, 0
    growth_tracker += 1
    if growth_tracker == growth_interval:
        grown = scale * growth_factor
        return (grown if grown <= _F32_MAX else scale), 0
    return scale, growth_tracker


def has_inf_or_nan(grads) -> bool:
    """True if any array in ``grads`` (arrays, or objects with ``.grad``) holds inf or NaN."""
    for g in grads:
        g = getattr(g, "grad", g)
        if g is not None and not np.all(np.isfinite(g)):
            return True
    return False


def _params(optimizer):
    """The Parameters of a bp optimizer (its param groups), or a list of Parameters."""
    groups = getattr(optimizer, "param_groups", None)
    if groups is not None:
        return [p for group in groups for p in group["params"]]
    params = list(optimizer)
    if not all(hasattr(p, "grad") for p in params):
        raise TypeError("unscale_ needs an optimizer (with param_groups) or a list of Parameters.")
    return params


class StaticLossScaler:
    """A fixed loss scale s: ``scale(loss)`` = s·loss, ``step`` divides the gradients by s and
    skips the step if any is inf/NaN (the scale itself never changes)."""

    def __init__(self, init_scale: float = 2.0 ** 10):
        self._scale = check_number(init_scale, "init_scale", low=0, low_open=True)
        self._found_inf = None        # set by unscale_ in this iteration, consumed by update
        self._unscaled = False
        self.steps_skipped = 0

    def get_scale(self) -> float:
        return self._scale

    def scale(self, loss):
        """s·loss (a number or an array: the upstream gradient works the same way)."""
        return loss * self._scale

    def unscale_(self, optimizer) -> bool:
        """Divide every ``p.grad`` by s in place; return whether any is inf/NaN."""
        if self._unscaled:
            raise RuntimeError("unscale_() was already called since the last update(); call update() first.")
        params = _params(optimizer)
        inv = 1.0 / self._scale
        for p in params:
            if p.grad is not None:
                p.grad = p.grad * np.asarray(inv, dtype=p.grad.dtype)
        self._found_inf = has_inf_or_nan(params)
        self._unscaled = True
        return self._found_inf

    def step(self, optimizer) -> bool:
        """Unscale (unless done already), then ``optimizer.step()`` unless a gradient is inf/NaN.
        Returns True if the step was taken."""
        if not self._unscaled:
            self.unscale_(optimizer)
        if self._found_inf:
            self.steps_skipped += 1
            return False
        optimizer.step()
        return True

    def update(self, found_inf: bool | None = None) -> None:
        """End of the iteration (the next one may unscale again)."""
        self._take_found_inf(found_inf)

    def _take_found_inf(self, found_inf):
        if found_inf is None:
            if self._found_inf is None:
                raise ValueError("update() has no inf/NaN check for this iteration: call step(optimizer) "
                                 "(or unscale_) first, or pass found_inf=True/False.")
            found_inf = self._found_inf
        self._found_inf, self._unscaled = None, False
        return bool(found_inf)

    def __repr__(self):
        return f"{type(self).__name__}(scale={self._scale:g})"


class DynamicLossScaler(StaticLossScaler):
    """Loss scaling that adapts s as ``torch.amp.GradScaler`` does (same names and defaults).

    init_scale 2**16; growth_factor 2 after growth_interval 2000 clean steps in a row;
    backoff_factor 0.5 (and a skipped step) after an overflow.
    """

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000):
        super().__init__(init_scale)
        self.growth_factor = check_number(growth_factor, "growth_factor", low=1, low_open=True)
        self.backoff_factor = check_number(backoff_factor, "backoff_factor", low=0, high=1,
                                           low_open=True, high_open=True)
        self.growth_interval = check_positive_int(growth_interval, "growth_interval")
        self.growth_tracker = 0

    def get_growth_factor(self) -> float:
        return self.growth_factor

    def get_backoff_factor(self) -> float:
        return self.backoff_factor

    def get_growth_interval(self) -> int:
        return self.growth_interval

    def update(self, found_inf: bool | None = None) -> None:
        """Adjust s from this iteration's overflow check (or the ``found_inf`` given):
        halve on overflow, double after ``growth_interval`` clean steps (``scale_update``)."""
        found = self._take_found_inf(found_inf)
        self._scale, self.growth_tracker = scale_update(
            self._scale, self.growth_tracker, found, growth_factor=self.growth_factor,
            backoff_factor=self.backoff_factor, growth_interval=self.growth_interval)

    def __repr__(self):
        return (f"DynamicLossScaler(scale={self._scale:g}, growth_tracker={self.growth_tracker}, "
                f"growth_interval={self.growth_interval})")


@dataclass(frozen=True)
class GradientCast:
    """Gradients g stored as s·g in a low-precision ``dtype`` and divided by s again.

    values: the gradients after the round trip (float64); zero_fraction: share of nonzero g
    that became 0 (underflow); inf_fraction: share that became ±inf (overflow);
    subnormal_fraction: share stored as subnormals (few digits left); rel_error: |ĝ − g|/|g|
    per gradient (1 for underflow, inf for overflow); median_rel_error: its median.
    """

    dtype: str
    scale: float
    values: np.ndarray
    zero_fraction: float
    inf_fraction: float
    subnormal_fraction: float
    rel_error: np.ndarray
    median_rel_error: float


def cast_gradients(grads, dtype: str = "float16", scale: float = 1.0) -> GradientCast:
    """Store s·g in ``dtype`` (round to nearest), divide by s in float64, and count the damage.
    grads: array of nonzero gradients (any shape)."""
    from ..autodiff.floats import float_format, round_to

    fmt = float_format(dtype)
    s = check_number(scale, "scale", low=0, low_open=True)
    g = np.asarray(grads, dtype=np.float64)
    if g.size == 0 or np.any(g == 0) or not np.all(np.isfinite(g)):
        raise ValueError("grads must be a non-empty array of finite, nonzero gradients "
                         "(relative errors are measured against them).")
    stored = round_to(s * g, fmt)                        # what the low-precision tensor holds
    back = stored / s
    with np.errstate(invalid="ignore"):
        rel = np.abs(back - g) / np.abs(g)
    rel[np.isinf(stored)] = np.inf
    finite_nonzero = np.isfinite(stored) & (stored != 0)
    return GradientCast(
        dtype=fmt.name, scale=s, values=back, zero_fraction=float(np.mean(stored == 0)),
        inf_fraction=float(np.mean(np.isinf(stored))),
        subnormal_fraction=float(np.mean(finite_nonzero & (np.abs(stored) < fmt.tiny))),
        rel_error=rel, median_rel_error=float(np.median(rel)),
    )
