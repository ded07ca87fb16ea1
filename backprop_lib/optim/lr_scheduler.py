"""Learning-rate schedules: change ``group["lr"]`` of an optimizer as training goes on.

Use them as in PyTorch: one ``sched.step()`` after each ``opt.step()`` (per epoch or
per iteration, as you choose)::

    opt = bp.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    sched = bp.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    for epoch in range(100):
        ...; opt.step()
        sched.step()
    sched.get_last_lr()          # the lr of each parameter group

Each schedule here is written as its **closed form**, lr_t = f(base_lr, t), with t =
``last_epoch`` the number of ``step()`` calls so far. PyTorch computes the same values
recursively from the current lr (equal up to rounding); the one visible difference is
that PyTorch's recursion also carries along changes you make to ``group["lr"]`` by hand,
while a closed form overwrites them at the next ``step()``. To resume a schedule, use
``state_dict()``/``load_state_dict()`` (the ``last_epoch=`` constructor argument of
PyTorch is not provided).

A linear warm-up followed by a decay is ``SequentialLR``::

    warmup = LinearLR(opt, start_factor=0.1, total_iters=5)
    decay = CosineAnnealingLR(opt, T_max=95)
    sched = SequentialLR(opt, [warmup, decay], milestones=[5])
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_right

from backprop_lib._validate import check_choice
from backprop_lib.optim.optimizer import Optimizer

__all__ = [
    "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
    "SequentialLR", "ReduceLROnPlateau",
]


# -- argument checks ---------------------------------------------------------------------
def _number(value, name, owner, *, low=None, high=None, low_open=False, hint=""):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number; got {value!r} ({type(value).__name__}).{hint}")
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be finite; got {value!r}.{hint}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{owner}: {name} must be {'>' if low_open else '>='} {low}; got {value!r}.{hint}")
    if high is not None and value > high:
        raise ValueError(f"{owner}: {name} must be <= {high}; got {value!r}.{hint}")
    return value


def _integer(value, name, owner, *, low, hint=""):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer; got {value!r} ({type(value).__name__}).{hint}")
    if value < low:
        raise ValueError(f"{owner}: {name} must be an integer >= {low}; got {value}.{hint}")
    return int(value)


def _check_optimizer(optimizer, owner):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{owner}: optimizer must be a bp.optim optimizer (e.g. bp.optim.SGD(net.parameters(), "
            f"lr=0.1)); got {type(optimizer).__name__}."
        )
    return optimizer


class LRScheduler:
    """Base class: subclasses implement ``get_lr()`` from ``base_lrs`` and ``last_epoch``.

    On construction the scheduler records each group's starting lr as
    ``group["initial_lr"]`` (``base_lrs``) and applies the schedule at t = 0.
    """

    def __init__(self, optimizer: Optimizer):
        self.optimizer = _check_optimizer(optimizer, type(self).__name__)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def get_lr(self) -> list[float]:
        """The learning rate of each group at t = ``last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def step(self) -> None:
        """Advance the schedule by one (call it after ``optimizer.step()``)."""
        self._apply(self.last_epoch + 1)

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()``, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (as torch)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"{type(self).__name__}.load_state_dict: state_dict must be the dict returned by "
                f"scheduler.state_dict(); got {type(state_dict).__name__}."
            )
        self.__dict__.update(state_dict)

    def _apply(self, epoch: int) -> None:
        self.last_epoch = epoch
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self.get_last_lr()})"


class StepLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` every ``step_size`` steps.

        lr_t = base_lr · γ^⌊t / step_size⌋
    """

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = _integer(step_size, "step_size", "StepLR", low=1,
                                  hint=" It is the number of steps between two decays, e.g. step_size=30.")
        self.gamma = _number(gamma, "gamma", "StepLR", low=0, low_open=True, hint=" Use e.g. gamma=0.1.")
        super().__init__(optimizer)

    def get_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` at every step.

        lr_t = base_lr · γᵗ
    """

    def __init__(self, optimizer, gamma):
        self.gamma = _number(gamma, "gamma", "ExponentialLR", low=0, low_open=True,
                             hint=" Use a value just below 1, e.g. gamma=0.95.")
        super().__init__(optimizer)

    def get_lr(self):
        return [base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Half a cosine from ``base_lr`` down to ``eta_min`` over ``T_max`` steps.

        lr_t = η_min + (base_lr - η_min) · (1 + cos(π t / T_max)) / 2

    (SGDR without restarts, Loshchilov & Hutter 2017). As in PyTorch, stepping past
    ``T_max`` continues along the cosine, so the lr rises again.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max = _integer(T_max, "T_max", "CosineAnnealingLR", low=1,
                              hint=" It is the number of steps to anneal over, e.g. T_max=100.")
        self.eta_min = _number(eta_min, "eta_min", "CosineAnnealingLR", low=0,
                               hint=" It is the final learning rate, e.g. eta_min=0.")
        super().__init__(optimizer)

    def get_lr(self):
        cos_factor = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * cos_factor for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Linear warm-up (or decay): scale the lr from ``start_factor`` to ``end_factor``
    over ``total_iters`` steps, then keep it.

        lr_t = base_lr · (s + (e - s) · min(t, total_iters) / total_iters)

    The default (1/3 → 1 over 5 steps) is a short warm-up, as in PyTorch.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        self.start_factor = _number(start_factor, "start_factor", "LinearLR", low=0, low_open=True, high=1,
                                    hint=" Expected 0 < start_factor <= 1, e.g. start_factor=0.1.")
        self.end_factor = _number(end_factor, "end_factor", "LinearLR", low=0, high=1,
                                  hint=" Expected 0 <= end_factor <= 1, e.g. end_factor=1.0.")
        self.total_iters = _integer(total_iters, "total_iters", "LinearLR", low=1,
                                    hint=" It is the length of the ramp in steps, e.g. total_iters=5.")
        super().__init__(optimizer)

    def get_lr(self):
        s, e = self.start_factor, self.end_factor
        factor = s + (e - s) * min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * factor for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the ``milestones`` (as torch).

    ``SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, 95)],
    milestones=[5])``: warm up for 5 steps, then anneal. At a milestone the next
    schedule starts from its own t = 0 (from the base lr).
    """

    def __init__(self, optimizer, schedulers, milestones):
        owner = "SequentialLR"
        self.optimizer = _check_optimizer(optimizer, owner)
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError(f"{owner}: schedulers is empty; pass a list such as [warmup, decay].")
        for i, sched in enumerate(schedulers):
            if isinstance(sched, ReduceLROnPlateau) or not isinstance(sched, LRScheduler):
                raise TypeError(
                    f"{owner}: schedulers[{i}] must be a schedule such as LinearLR or CosineAnnealingLR "
                    f"(ReduceLROnPlateau needs a metric and cannot be sequenced); got {type(sched).__name__}."
                )
            if sched.optimizer is not optimizer:
                raise ValueError(
                    f"{owner}: schedulers[{i}] was built on a different optimizer; build every scheduler "
                    "on the optimizer you pass to SequentialLR."
                )
        milestones = [_integer(m, "milestones", owner, low=1) for m in milestones]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"{owner}: milestones must have one entry fewer than schedulers (the steps at which "
                f"to switch); got {len(milestones)} milestone(s) for {len(schedulers)} schedulers."
            )
        if milestones != sorted(milestones):
            raise ValueError(f"{owner}: milestones must be increasing; got {milestones}.")
        self._schedulers = schedulers
        self._milestones = milestones
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        for sched in schedulers:                 # undo the step each did when it was built
            sched.last_epoch = -1
        self.last_epoch = 0
        schedulers[0]._apply(0)
        self._last_lr = schedulers[0].get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            sched._apply(0)                      # a new phase starts at its own t = 0
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        inner = state.pop("_schedulers")
        self.__dict__.update(state)
        for sched, s in zip(self._schedulers, inner, strict=True):
            sched.load_state_dict(s)


class ReduceLROnPlateau(LRScheduler):
    r"""Divide the lr by 1/``factor`` when a monitored metric stops improving.

    Call ``sched.step(val_loss)`` once per epoch. A value counts as an improvement when

        mode="min", threshold_mode="rel":  metric < best · (1 - threshold)
        mode="min", threshold_mode="abs":  metric < best - threshold
        (mode="max": metric > best · (1 + threshold), or > best + threshold)

    After more than ``patience`` epochs without improvement,
    lr ← max(lr · factor, min_lr) (skipped if the change is below ``eps``), then
    ``cooldown`` epochs pass before bad epochs are counted again. Same arguments,
    defaults and counting rules as ``torch.optim.lr_scheduler.ReduceLROnPlateau``.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        owner = "ReduceLROnPlateau"
        self.optimizer = _check_optimizer(optimizer, owner)
        self.mode = check_choice(mode, "mode", ["min", "max"])
        self.threshold_mode = check_choice(threshold_mode, "threshold_mode", ["rel", "abs"])
        self.factor = _number(factor, "factor", owner, low=0, low_open=True,
                              hint=" Expected 0 < factor < 1 (new_lr = lr * factor), e.g. factor=0.1.")
        if self.factor >= 1:
            raise ValueError(
                f"{owner}: factor must be < 1 (new_lr = lr * factor); got {factor!r}. Use e.g. factor=0.1."
            )
        self.patience = _integer(patience, "patience", owner, low=0,
                                 hint=" It is the number of epochs without improvement to wait.")
        self.threshold = _number(threshold, "threshold", owner, low=0, hint=" Use e.g. threshold=1e-4.")
        self.cooldown = _integer(cooldown, "cooldown", owner, low=0, hint=" Use e.g. cooldown=0.")
        self.eps = _number(eps, "eps", owner, low=0, hint=" Use eps=1e-8 (the default).")
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(
                    f"{owner}: min_lr has {len(min_lr)} entries but the optimizer has {n_groups} "
                    "parameter group(s); give one min_lr per group, or a single number."
                )
            self.min_lrs = [_number(m, "min_lr", owner, low=0) for m in min_lr]
        else:
            self.min_lrs = [_number(min_lr, "min_lr", owner, low=0)] * n_groups
        self.mode_worse = math.inf if self.mode == "min" else -math.inf
        self.best = self.mode_worse
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, current: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return current < best * (1 - self.threshold)
        if self.mode == "min":
            return current < best - self.threshold
        if self.threshold_mode == "rel":
            return current > best * (1 + self.threshold)
        return current > best + self.threshold

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def step(self, metrics=None) -> None:
        """Record this epoch's ``metrics`` (e.g. the validation loss); maybe lower the lr."""
        if metrics is None:
            raise TypeError(
                "ReduceLROnPlateau.step(metrics) needs the monitored value, e.g. sched.step(val_loss)."
            )
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(
                f"ReduceLROnPlateau.step: metrics must be a number (e.g. the validation loss); got "
                f"{type(metrics).__name__}."
            ) from None
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0                       # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                new_lr = max(group["lr"] * self.factor, min_lr)   # lr ← max(lr · factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
