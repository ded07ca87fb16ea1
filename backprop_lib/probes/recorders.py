"""Probes that ``bp.train.fit`` runs during training (``fit(..., probes=[...])``).

``fit`` calls ``probe(model=, loss_fn=, optimizer=, x=, y=, step=)`` after the backward pass
and before ``optimizer.step()`` whenever ``step % probe.every == 0``, and stores each
``(step, record)`` in ``history.probes[probe.name]``. A probe never changes the training:
it measures on a copy of the model or only reads it.

    probes = [bp.probes.GradientFlowProbe(every=10), bp.probes.UpdateRatioProbe()]
    history = bp.train.fit(net, loss_fn, data, opt, epochs=5, batch_size=32, probes=probes)
    bp.viz.plot_update_ratio(history)
"""

from __future__ import annotations

import numpy as np

from .._validate import check_positive_int
from . import network
from .flow import activation_stats, gradient_flow
from .records import UpdateRecord
from .stats import rms


def optimizer_lr(optimizer) -> float | None:
    """The optimizer's current learning rate (first parameter group), or None."""
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        lr = groups[0].get("lr") if isinstance(groups[0], dict) else None
        if lr is not None:
            return float(lr)
    lr = getattr(optimizer, "lr", None)
    return float(lr) if isinstance(lr, (int, float)) and not isinstance(lr, bool) else None


class _Probe:
    default_name = "probe"

    def __init__(self, every: int, name: str | None):
        self.every = check_positive_int(every, "every")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string (the key in history.probes); got {type(name).__name__}.")
        self.name = name or self.default_name

    def __repr__(self):
        return f"{type(self).__name__}(every={self.every}, name={self.name!r})"


class GradientFlowProbe(_Probe):
    """Records ``bp.probes.gradient_flow`` on the current batch (a ``FlowRecord``) every
    ``every`` steps; the update ratio uses the optimizer's current lr."""

    default_name = "gradient_flow"

    def __init__(self, every: int = 10, *, bins: int = 30, name: str | None = None):
        super().__init__(every, name)
        self.bins = check_positive_int(bins, "bins")

    def __call__(self, *, model, loss_fn, optimizer=None, x, y, step=None):
        return gradient_flow(model, loss_fn, x, y, bins=self.bins, lr=optimizer_lr(optimizer))


class ActivationProbe(_Probe):
    """Records ``bp.probes.activation_stats`` (forward only, an ``ActivationRecord``) on the
    current batch every ``every`` steps."""

    default_name = "activations"

    def __init__(self, every: int = 10, *, bins: int = 30, name: str | None = None):
        super().__init__(every, name)
        self.bins = check_positive_int(bins, "bins")

    def __call__(self, *, model, loss_fn=None, optimizer=None, x, y=None, step=None):
        return activation_stats(model, x, bins=self.bins)


class UpdateRatioProbe(_Probe):
    """Update/weight ratio per layer, measured from the weights' actual change.

    Each call keeps a copy of every layer's weight W (the values before this step's
    ``optimizer.step()``); the next call compares:

        ratio_i = RMS(W_i(now) − W_i(previous call)) / RMS(W_i(previous call)) / steps

    where ``steps`` is the number of optimizer steps in between, so the record at step s
    with ``every=1`` is exactly the relative size of the update made at step s − 1, whatever
    the optimizer (momentum, Adam, weight decay and clipping included). With ``every > 1``
    it is the mean per step of the net change. The first call (and a new model or a step
    counter that went back, i.e. a new run) gives nan. ``sgd_ratio`` adds lr·RMS(∂L/∂W)/RMS(W)
    from the current gradient, for comparison. The rule of thumb: about 1e-3.
    """

    default_name = "update_ratio"

    def __init__(self, every: int = 1, *, name: str | None = None):
        super().__init__(every, name)
        self._previous = None      # (id(model), step, [W copies])

    def reset(self):
        """Forget the stored weights (the next call starts a new measurement)."""
        self._previous = None

    def __call__(self, *, model, loss_fn=None, optimizer=None, x=None, y=None, step):
        stage_list = network.stages(network.flatten(model))
        weights = [[p.data for p in st.weights] for st in stage_list]
        n = len(stage_list)
        ratio = np.full(n, np.nan)
        steps = 0
        prev = self._previous
        shapes = [[w.shape for w in ws] for ws in weights]
        same_run = (prev is not None and prev[0] == id(model) and step > prev[1]
                    and [[w.shape for w in ws] for ws in prev[2]] == shapes)
        with np.errstate(all="ignore"):
            if same_run:
                steps = step - prev[1]
                for i, (now, before) in enumerate(zip(weights, prev[2], strict=True)):
                    change = np.concatenate([(a - b).ravel() for a, b in zip(now, before, strict=True)])
                    size = rms(np.concatenate([b.ravel() for b in before]))    # 0 for all-zero weights
                    ratio[i] = np.divide(rms(change), size) / steps            # nan/inf there, not an error
            w_rms = np.array([rms(np.concatenate([w.ravel() for w in ws])) for ws in weights])
            lr = optimizer_lr(optimizer)
            sgd = np.full(n, np.nan)
            if lr is not None:
                for i, st in enumerate(stage_list):
                    if all(p.grad is not None for p in st.weights):
                        sgd[i] = lr * rms(np.concatenate([p.grad.ravel() for p in st.weights])) / w_rms[i]
        self._previous = (id(model), step, [[w.copy() for w in ws] for ws in weights])
        labels = [st.label for st in stage_list]
        setting = f"{n} layers" + (f", lr {lr:g}" if lr is not None else "")
        return UpdateRecord(labels=labels, ratio=ratio, sgd_ratio=sgd, weight_rms=w_rms, steps=steps,
                            lr=lr, setting=setting)
