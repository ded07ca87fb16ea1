"""``PlaygroundHistory``: what a playground session records while it trains.

Every step: the mini-batch loss and the learning rate it used. Every ``record_every`` steps
(and at step 0): loss and accuracy on the training and test sets, and per layer (one entry
per ``Linear``, 1 = nearest the input), measured on the whole training set:

    grad_rms     RMS(∂L/∂W)  (RMS = ‖·‖/√size, so layers of different sizes compare)
    delta_rms    RMS(δ), δ = ∂L/∂z for z the layer's pre-activation
    saturated    fraction of saturated units (dead units for ReLU; nan if not measured)
    update_ratio RMS(W_now − W_before) / RMS(W_before) per step since the previous record
                 (``bp.probes.UpdateRatioProbe``; the rule of thumb is about 1e-3)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(repr=False)
class PlaygroundHistory:
    batch_loss: list = field(default_factory=list)     # per step
    lr: list = field(default_factory=list)             # per step
    steps: list = field(default_factory=list)          # the steps of the records below
    train_loss: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    grad_rms: list = field(default_factory=list)       # one array (layers,) per record
    delta_rms: list = field(default_factory=list)
    saturated: list = field(default_factory=list)
    update_ratio: list = field(default_factory=list)

    def layer_series(self, name: str) -> np.ndarray:
        """A per-layer quantity over the records as an array (records, layers)."""
        rows = getattr(self, name)
        return np.array(rows, dtype=float) if rows else np.zeros((0, 0))

    def __repr__(self):
        last = (f", test_acc={self.test_acc[-1]:.3f}, test_loss={self.test_loss[-1]:.4g}"
                if self.steps else "")
        return f"PlaygroundHistory(steps={len(self.batch_loss)}, records={len(self.steps)}{last})"
