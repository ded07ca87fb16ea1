"""Early stopping: train epoch by epoch, stop when the validation score stops improving, and keep
the weights of the best epoch.

    run = bp.train.fit_early_stopping(net, loss_fn, (x, y), opt, val_data=(xv, yv),
                                      max_epochs=60, patience=8, scheduler=sched, clip=1.0)
    run.best_epoch, run.stopped_early, run.history      # the History of every epoch trained

The validation set decides *when to stop*, so it is part of the tuning: report the final
accuracy on a test set that neither training nor stopping has seen.

Each epoch is one call of ``bp.train.fit(..., epochs=1)`` on the same shuffling Generator, the
same optimizer and the same scheduler, so the epochs up to the stop are exactly those of one
``fit(..., epochs=max_epochs)`` call with the same ``seed`` (same batches, same learning rates,
same probe records at the same global steps); only what happens after the stop differs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._validate import as_rng, check_choice, check_number
from .checks import check_count, check_model, check_probes
from .history import History
from .loop import fit

MONITORS = {"val_loss": "min", "val_acc": "max"}

__all__ = ["EarlyStopResult", "fit_early_stopping"]


@dataclass(repr=False)
class EarlyStopResult:
    """What ``fit_early_stopping`` returns.

    ``history``: a ``History`` over every epoch trained (steps numbered from 0 across epochs);
    ``best_epoch``: the epoch (1-based) with the best ``monitor`` value, whose weights the model
    holds at the end when ``restore_best`` (0 if no epoch completed); ``best_value``: that value;
    ``stopped_early``: True when ``patience`` epochs passed without improvement before
    ``max_epochs``.
    """

    history: History
    best_epoch: int
    best_value: float
    monitor: str
    stopped_early: bool

    @property
    def epochs(self) -> int:
        """Epochs trained (the best one and those after it, up to the stop)."""
        return self.history.epochs

    def __repr__(self) -> str:
        return (f"EarlyStopResult(best_epoch={self.best_epoch}, {self.monitor}={self.best_value:.4g}, "
                f"epochs={self.epochs}, stopped_early={self.stopped_early})")


class _Shifted:
    """A probe seen by one ``fit(epochs=1)`` call: called every step, it forwards the global
    step ``offset + step`` to ``probe`` when that step is a multiple of ``probe.every``."""

    every = 1

    def __init__(self, probe, offset: int):
        self.probe, self.offset, self.name = probe, offset, probe.name

    def __call__(self, *, step, **kwargs):
        step += self.offset
        return self.probe(step=step, **kwargs) if step % self.probe.every == 0 else _SKIPPED


_SKIPPED = object()


def _improved(value: float, best: float, mode: str, min_delta: float) -> bool:
    if not math.isfinite(value):
        return False
    if not math.isfinite(best):
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _append(total: History, part: History, offset: int) -> None:
    """Add one epoch's ``part`` (steps counted from 0) to ``total`` (steps from ``offset``)."""
    for name in ("loss", "lr", "train_loss", "train_acc", "val_loss", "val_acc"):
        getattr(total, name).extend(getattr(part, name))
    for name, records in part.probes.items():
        total.probes[name] += [(offset + s, r) for s, r in records if r is not _SKIPPED]
    total.epochs += part.epochs


def fit_early_stopping(model, loss_fn, data, optimizer, *, val_data, max_epochs: int, patience: int = 5,
                       monitor: str = "val_loss", min_delta: float = 0.0, restore_best: bool = True,
                       batch_size: int = 32, scheduler=None, clip: float | None = None, probes=None,
                       seed=0) -> EarlyStopResult:
    """Train with ``bp.train.fit`` one epoch at a time until ``monitor`` has not improved for
    ``patience`` epochs (or ``max_epochs`` epochs); return an ``EarlyStopResult``.

    Args:
        model, loss_fn, data, optimizer, batch_size, scheduler, clip, probes, seed: as in
            ``bp.train.fit`` (the scheduler is stepped once per epoch).
        val_data: ``(x_val, y_val)``, evaluated after every epoch (required: it decides the stop).
        max_epochs: the most epochs to train.
        patience: epochs without improvement after which training stops.
        monitor: ``"val_loss"`` (lower is better) or ``"val_acc"`` (higher is better).
        min_delta: an improvement must beat the best value by more than this.
        restore_best: put the weights of the best epoch back into the model at the end
            (``Parameter.data`` is overwritten in place, so an optimizer holding them stays valid).

    A run that diverges (NaN loss) stops there, with ``history.diverged_at`` the global step.
    """
    params = check_model(model)
    if val_data is None:
        raise ValueError("fit_early_stopping needs val_data=(x_val, y_val): the validation score decides "
                         "when to stop. Split one off with bp.data.train_val_split(x, y).")
    max_epochs = check_count(max_epochs, "max_epochs", 1, "max_epochs=50")
    patience = check_count(patience, "patience", 1, "patience=5")
    monitor = check_choice(monitor, "monitor", tuple(MONITORS))
    min_delta = check_number(min_delta, "min_delta", low=0.0)
    probes = check_probes(probes)
    mode = MONITORS[monitor]
    rng = as_rng(seed, "seed")                          # one Generator: the batches of one long fit

    history = History(probes={p.name: [] for p in probes})
    best_value, best_epoch, best_weights, waited, step = math.nan, 0, None, 0, 0
    stopped_early = False
    for epoch in range(1, max_epochs + 1):
        part = fit(model, loss_fn, data, optimizer, epochs=1, batch_size=batch_size, scheduler=scheduler,
                   clip=clip, val_data=val_data, probes=[_Shifted(p, step) for p in probes], seed=rng,
                   progress=False)
        _append(history, part, step)
        if part.diverged:
            history.diverged_at = step + part.diverged_at
            history.message = f"epoch {epoch} (global step {history.diverged_at}): {part.message}"
            break
        step += part.steps
        value = getattr(part, monitor)[-1]
        if _improved(value, best_value, mode, min_delta):
            best_value, best_epoch, waited = value, epoch, 0
            best_weights = [p.data.copy() for p in params]
        else:
            waited += 1
            if waited >= patience:
                stopped_early = epoch < max_epochs
                break
    if restore_best and best_weights is not None:
        for p, w in zip(params, best_weights, strict=True):
            p.data[...] = w
    kept = "restored" if restore_best and best_weights is not None else "not restored"
    if history.diverged:
        history.message += (f" Weights of the best epoch ({best_epoch}) {kept}." if best_epoch
                            else " No epoch completed: nothing to restore.")
    else:
        how = (f"stopped at epoch {history.epochs}: {monitor} did not improve for {patience} epoch(s)"
               if stopped_early else f"trained {history.epochs} epoch(s)")
        history.message = (f"{how}; best {monitor} {best_value:.4g} at epoch {best_epoch} "
                           f"(its weights {kept}); {step} optimizer step(s)")
    return EarlyStopResult(history=history, best_epoch=best_epoch, best_value=float(best_value),
                           monitor=monitor, stopped_early=stopped_early)
