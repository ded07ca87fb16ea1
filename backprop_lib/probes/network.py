"""How a probe sees a network: a list of *stages*, one per row of the gradient-flow figure.

A stage starts at each top-level ``Linear`` (or ``Residual`` block) of a ``Sequential`` and
runs up to the next one, so ``Linear → BatchNorm1d → Tanh → Dropout`` is one stage:

* ``z``  the stage's pre-activation: the output of its ``Linear`` (or of the whole
  ``Residual`` block, which counts as one layer: its inner layers are not shown separately);
* ``a``  its activation: the output of the last activation function in the stage
  (``Tanh``, ``ReLU``…), or ``z`` itself when the stage has none (the read-out layer).

Nested ``Sequential`` containers are flattened first (running them is the same as running
their layers in order). Layers before the first ``Linear`` are run but not shown.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from ..nn.module import Module, Parameter, Sequential

# Activation modules, by class name, and the saturation each one is checked for.
ACTIVATIONS = ("Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Identity")
SATURATION = {"Tanh": "tanh", "Sigmoid": "sigmoid", "ReLU": "relu"}


@functools.cache
def _nn_classes(*names) -> tuple:
    """The classes ``bp.nn.<name>`` (looked up once; names that do not exist are skipped)."""
    from .. import nn

    return tuple(cls for cls in (getattr(nn, name, None) for name in names) if cls is not None)


def is_linear(layer) -> bool:
    return isinstance(layer, _nn_classes("Linear"))


def is_residual(layer) -> bool:
    return isinstance(layer, _nn_classes("Residual"))


def is_activation(layer) -> bool:
    return isinstance(layer, _nn_classes(*ACTIVATIONS))


def linears_in(module) -> list:
    """Every ``Linear`` inside ``module`` (itself included), depth first."""
    if is_linear(module):
        return [module]
    found = []
    for child in module.children():
        found.extend(linears_in(child))
    return found


@dataclass
class Stage:
    """One row of the figures: ``layers[start:end]`` of the flattened network."""

    index: int
    start: int                       # position of the Linear / Residual
    end: int                         # one past the stage's last layer
    kind: str                        # "linear" or "residual"
    activation: int | None           # position of the stage's last activation layer
    saturation: str | None           # "tanh", "sigmoid", "relu" or None (not measured)
    weights: list[Parameter] = field(default_factory=list)
    label: str = ""


def flatten(net) -> list[Module]:
    """The layers of ``net`` in the order they run, nested ``Sequential``s expanded."""
    if not isinstance(net, Module):
        raise TypeError(
            f"net must be a backprop_lib Module (for example bp.nn.Sequential(...)); got "
            f"{type(net).__name__}. Build it with bp.nn.Sequential or bp.nn.mlp."
        )
    if not isinstance(net, Sequential):
        return [net]
    layers = []
    for layer in net.layers:
        layers.extend(flatten(layer) if isinstance(layer, Sequential) else [layer])
    return layers


def _describe(layer) -> str:
    name = type(layer).__name__
    if is_linear(layer):
        out_f, in_f = layer.weight.shape
        return f"Linear {in_f}→{out_f}"
    return name


def stages(layers) -> list[Stage]:
    """Split a flattened network into stages (see the module docstring)."""
    starts = [i for i, layer in enumerate(layers) if is_linear(layer) or is_residual(layer)]
    if not starts:
        raise ValueError(
            "the network has no Linear layer (nor Residual block) for a probe to measure; "
            "probes report statistics per Linear layer, e.g. for bp.nn.mlp([2, 16, 1])."
        )
    result = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(layers)
        acts = [i for i in range(start + 1, end) if is_activation(layers[i])]
        act = acts[-1] if acts else None
        sat = SATURATION.get(type(layers[act]).__name__) if act is not None else None
        lead = layers[start]
        weights = [lin.weight for lin in linears_in(lead)]
        parts = [_describe(lead)] + [_describe(layers[i]) for i in range(start + 1, end)]
        result.append(Stage(index=k, start=start, end=end,
                            kind="residual" if is_residual(lead) else "linear",
                            activation=act, saturation=sat, weights=weights,
                            label=f"{k + 1}: " + ", ".join(parts)))
    return result


def describe_setting(layers, stage_list, batch: int, lr=None) -> str:
    """A one-line description of the setting, for figure titles."""
    widths = []
    for layer in layers:
        if is_linear(layer):
            out_f, in_f = layer.weight.shape
            if not widths:
                widths.append(in_f)
            widths.append(out_f)
    acts = []
    for layer in layers:
        if is_activation(layer) and type(layer).__name__ not in acts:
            acts.append(type(layer).__name__)
    hidden = widths[1:-1]
    if hidden and len(set(hidden)) == 1:
        width = f"width {hidden[0]}"
    else:
        width = "widths " + "-".join(str(w) for w in widths)
    parts = [f"depth {len(stage_list)}", width, "/".join(acts) or "linear"]
    if any(type(layer).__name__.startswith("BatchNorm") for layer in layers):
        parts.append("batch norm")
    if any(is_residual(layer) for layer in layers):
        parts.append("residual")
    parts.append(f"batch {batch}")
    if lr is not None:
        parts.append(f"lr {lr:g}")
    return ", ".join(parts)
