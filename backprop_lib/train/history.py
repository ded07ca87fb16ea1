"""``History``: what one call of ``bp.train.fit`` records."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(repr=False)
class History:
    """The record of a training run.

    Per optimizer step ``s = 0, 1, …`` (one entry each):
        ``loss[s]``: the training loss of the step's mini-batch (before the update);
        ``lr[s]``: the learning rate the step used.
    Per completed epoch (computed at the end of the epoch, model in ``eval()`` mode):
        ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``. Accuracy is NaN for
        regression losses; the val lists are empty without ``val_data``.
    ``diverged_at``: the step at which the loss became NaN/inf (training stopped there; that
        step made no update, its loss is the last entry of ``loss``), or ``None``.
    ``message``: how the run ended, in words.
    ``probes``: probe name → list of ``(step, record)``.
    ``epochs``: the number of completed epochs.
    """

    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    diverged_at: int | None = None
    message: str = ""
    probes: dict[str, list[tuple[int, object]]] = field(default_factory=dict)
    epochs: int = 0

    @property
    def diverged(self) -> bool:
        """True when the loss became NaN/inf and training stopped."""
        return self.diverged_at is not None

    @property
    def steps(self) -> int:
        """Number of optimizer updates made (a diverged step makes none)."""
        return self.diverged_at if self.diverged else len(self.loss)

    def summary(self, max_rows: int = 10) -> str:
        """A plain-text table of the per-epoch numbers (first and last rows when there are many)."""
        lines = [f"History: {self.epochs} epoch(s), {self.steps} optimizer step(s)"]
        if self.loss:
            finite = [v for v in self.loss if math.isfinite(v)]
            lines.append(
                f"  step loss: first {_num(self.loss[0])}, last {_num(self.loss[-1])}"
                + (f", min {_num(min(finite))}" if finite else "")
            )
            lines.append(f"  lr: first {self.lr[0]:.4g}, last {self.lr[-1]:.4g}")
        if self.train_loss:
            has_val = bool(self.val_loss)
            header = "  epoch  train loss  train acc" + ("    val loss    val acc" if has_val else "")
            lines.append(header)
            rows = list(range(len(self.train_loss)))
            if len(rows) > max_rows:
                half = max_rows // 2
                rows = rows[:half] + [None] + rows[-(max_rows - half):]
            for i in rows:
                if i is None:
                    lines.append("    ...")
                    continue
                row = f"  {i + 1:5d}  {_num(self.train_loss[i]):>10}  {_pct(self.train_acc[i]):>9}"
                if has_val:
                    row += f"  {_num(self.val_loss[i]):>10}  {_pct(self.val_acc[i]):>9}"
                lines.append(row)
        for name, records in self.probes.items():
            lines.append(f"  probe {name!r}: {len(records)} record(s)")
        if self.message:
            lines.append(f"  {self.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        last = f", train_loss={_num(self.train_loss[-1])}" if self.train_loss else ""
        return (f"History(epochs={self.epochs}, steps={self.steps}{last}, "
                f"diverged_at={self.diverged_at})")


def _num(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def _pct(v: float) -> str:
    return "-" if math.isnan(v) else f"{100 * v:.1f}%"
