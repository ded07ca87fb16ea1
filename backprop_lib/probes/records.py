"""What probes return: one dataclass per kind of measurement, one entry per layer.

Layer ``i`` (0-based in the arrays, numbered ``i + 1`` in labels and figures) is the i-th
stage of the network: a ``Linear`` (or ``Residual`` block) and the layers after it up to the
next one (see ``backprop_lib.probes.network``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_LEGEND = {
    "tanh": "% of |tanh| > 0.99",
    "sigmoid": "% of sigmoid within 0.01 of 0 or 1",
    "relu": "% dead ReLU units (0 on the whole batch)",
}


def saturation_caption(kind: str | None) -> str:
    """What the saturated fraction means for an activation kind (for legends)."""
    return _LEGEND.get(kind, "saturation not measured")


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in np.asarray(values, dtype=float)) + "]"


@dataclass(repr=False)
class ActivationRecord:
    """Activation statistics per layer, over one batch.

    ``act_mean``, ``act_std``, ``act_rms``: of every element of the layer's activation
    output a (or of its pre-activation z when the layer has no activation function).
    ``saturated``: fraction of saturated units (``saturation_kind`` says which measure:
    "tanh", "sigmoid", "relu" (dead units) or None → nan).
    ``hist_counts[i]``, ``hist_edges[i]``: histogram of layer i's activations (both lists empty
    when recorded with ``bins=None``).
    ``setting``: a one-line description (used as figure title).
    """

    labels: list
    act_mean: np.ndarray
    act_std: np.ndarray
    act_rms: np.ndarray
    saturated: np.ndarray
    saturation_kind: list
    hist_counts: list
    hist_edges: list
    setting: str

    @property
    def n_layers(self) -> int:
        return len(self.labels)

    def __len__(self):
        return self.n_layers

    def __repr__(self):
        return (f"{type(self).__name__}({self.setting!r}, {self.n_layers} layers, "
                f"act_std={_fmt(self.act_std)})")


@dataclass(repr=False)
class FlowRecord(ActivationRecord):
    """One forward + backward pass, measured per layer (``bp.probes.gradient_flow``).

    With z_i the output of layer i's ``Linear`` and W_i its weight:

    ``delta_rms[i]``   RMS(δ_i), δ_i = ∂L/∂z_i (batch × units), the backpropagated error;
    ``grad_rms[i]``    RMS(∂L/∂W_i);
    ``weight_rms[i]``  RMS(W_i);
    ``update_ratio[i]`` lr·RMS(∂L/∂W_i)/RMS(W_i): the relative size of a plain SGD step
    (nan when no lr was given). A healthy value is around 1e-3.
    ``loss``: the loss of the batch; ``finite``: False if any recorded value is inf/NaN
    (an exploding network), which figures report as a message.
    """

    delta_rms: np.ndarray
    grad_rms: np.ndarray
    weight_rms: np.ndarray
    update_ratio: np.ndarray
    lr: float | None
    loss: float
    finite: bool

    def __repr__(self):
        return (f"FlowRecord({self.setting!r}, {self.n_layers} layers, loss={self.loss:.4g}, "
                f"delta_rms={_fmt(self.delta_rms)})")

    def table(self) -> str:
        """The per-layer numbers as a text table (one row per layer)."""
        head = f"{'layer':>5} {'act std':>10} {'saturated':>9} {'delta RMS':>10} {'grad RMS':>10} " \
               f"{'W RMS':>10} {'update/W':>10}"
        rows = [head]
        for i in range(self.n_layers):
            sat = "-" if np.isnan(self.saturated[i]) else f"{self.saturated[i]:.1%}"
            rows.append(f"{i + 1:>5} {self.act_std[i]:>10.3g} {sat:>9} "
                        f"{self.delta_rms[i]:>10.3g} {self.grad_rms[i]:>10.3g} "
                        f"{self.weight_rms[i]:>10.3g} {self.update_ratio[i]:>10.3g}")
        return "\n".join(rows)


@dataclass(repr=False)
class UpdateRecord:
    """Update/weight ratio per layer, measured from the parameters' actual change.

    ``ratio[i]`` = RMS(W_i(now) − W_i(before)) / RMS(W_i(before)) / ``steps``: the mean
    per-step relative change since the probe's previous call, whatever the optimizer
    (exact per step when the probe runs every step; nan on the first call).
    ``sgd_ratio[i]`` = lr·RMS(∂L/∂W_i)/RMS(W_i) with the current gradient: the size a plain
    SGD step would have (nan if the optimizer has no ``lr``).
    """

    labels: list
    ratio: np.ndarray
    sgd_ratio: np.ndarray
    weight_rms: np.ndarray
    steps: int
    lr: float | None
    setting: str

    @property
    def n_layers(self) -> int:
        return len(self.labels)

    def __repr__(self):
        return f"UpdateRecord({self.n_layers} layers, ratio={_fmt(self.ratio)})"
