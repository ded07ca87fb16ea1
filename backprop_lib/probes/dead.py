"""Dead ReLU units: units whose pre-activation is ≤ 0 for every example of a batch.

A ReLU unit with z ≤ 0 outputs 0 and has ReLU′(z) = 0 (PyTorch's convention at the kink), so
the error δ = ∂L/∂a · ReLU′(z) reaching it is exactly 0 and so are the gradients of its row of
W and of its bias: nothing in backprop can move it back. A LeakyReLU unit in the same place is
only *off*: it still passes ``negative_slope · ∂L/∂a`` and its weights keep learning.

    dead = bp.probes.dead_units(net, x)
    [d.fraction for d in dead]                 # per ReLU layer
    net[0].weight.grad[dead[0].mask]           # rows of the dead units (after a backward pass)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import network
from .flow import _check_common, _forward, working_copy

#: Activations whose units can be switched off by a negative pre-activation.
KINDS = {"ReLU": "relu", "LeakyReLU": "leaky_relu"}


@dataclass(frozen=True, repr=False)
class DeadUnits:
    """The units of one layer that are off on the whole batch.

    ``label``: the layer, as in the probes' figures ("2: Linear 64→64, ReLU");
    ``linear``: that layer's ``Linear`` in the network that was measured (not a copy), so that its
        ``weight.grad[mask]`` are the gradients of the dead units;
    ``mask``: bool, shape (units,): True where the unit's pre-activation is ≤ 0 for every example;
    ``activation``: "relu" (dead: no gradient passes) or "leaky_relu" (off, gradient still passes).
    """

    label: str
    linear: object
    mask: np.ndarray
    activation: str

    @property
    def count(self) -> int:
        return int(self.mask.sum())

    @property
    def fraction(self) -> float:
        return float(self.mask.mean())

    def __repr__(self):
        return f"DeadUnits({self.label!r}, {self.count}/{self.mask.size} off)"


def dead_units(net, x) -> list[DeadUnits]:
    """Per layer with a ReLU or LeakyReLU after its Linear, the units that are off on the batch.

    net: a ``Sequential`` (nested ones are flattened; the inside of a ``Residual`` block is not
        inspected). x: (batch, in). The pre-activation is the input of the activation module, so
        ``Linear → BatchNorm1d → ReLU`` is judged after the batch norm.
    Runs one forward pass on a copy of ``net``: its caches and batch-norm statistics are untouched.
    Returns one ``DeadUnits`` per such layer, nearest the input first.
    """
    layers, x, _ = _check_common(net, x, 1, None)
    copy_net, _ = working_copy(net)
    copied = network.flatten(copy_net)
    with np.errstate(all="ignore"):
        outputs = _forward(copied, x)
    result = []
    for st in network.stages(layers):
        if st.kind != "linear" or st.activation is None:
            continue
        kind = KINDS.get(type(layers[st.activation]).__name__)
        if kind is None or st.activation > len(outputs):
            continue
        z = outputs[st.activation - 1]                       # what the activation receives
        z = z.reshape(z.shape[0], -1)
        result.append(DeadUnits(label=st.label, linear=layers[st.start], mask=np.all(z <= 0, axis=0),
                                activation=kind))
    return result
