"""The NTK of a network, one dense layer at a time, from the quantities backprop computes.

For a dense layer z = s·W a + c·b of a scalar-output network f, backprop's delta is
δ = ∂f/∂z, and ∂f/∂W_ij = s·δ_i a_j, ∂f/∂b_i = c·δ_i. Summed over the layer's parameters,

    Θ_layer(x, x') = s²·(a·a')(δ·δ') + c²·(δ·δ')

and Θ = Σ_layers Θ_layer. ``dense_layer_terms`` returns, per ``Linear``, the layer's inputs a,
its deltas δ and its scales s, c, so that a notebook can evaluate that formula itself;
``DenseLayerTerms.kernel`` evaluates it. In the NTK parameterization s = w_std/√fan_in and
c = b_std; in the standard one s = c = 1. The same function in the two parameterizations has
the same a and δ (only the parameters absorb the scale), so ``kernel(s=1, c=1)`` on an NTK
network is the kernel of its standard-parameterization twin.

    terms = bp.ntk.dense_layer_terms(net, x)        # x: (n, d), net with one output
    theta = sum(t.kernel() for t in terms)          # = bp.ntk.empirical(net, x)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_number
from ..nn.layers import Linear
from .empirical import _check_x, _forward_backward, _supported_layers


@dataclass(frozen=True)
class DenseLayerTerms:
    """What one ``Linear`` contributes to the NTK, for n inputs.

    index: position of the layer among the network's Linear layers (0 = first);
    a: (n, in) the layer's inputs (the activations of the layer below, or x);
    delta: (n, out) δ = ∂f/∂z, the backpropagated delta at the layer's output z;
    s: weight scale in z = s·W a + c·b; c: bias scale (0 for a layer without bias);
    has_bias: whether the layer has a bias.
    """

    index: int
    a: np.ndarray
    delta: np.ndarray
    s: float
    c: float
    has_bias: bool = True

    def kernel(self, other: DenseLayerTerms | None = None, *, s: float | None = None,
               c: float | None = None) -> np.ndarray:
        """s²(A Aᵀ')∘(Δ Δ'ᵀ) + c²(Δ Δ'ᵀ): (n, n') between these inputs and ``other``'s.

        other: the same layer's terms at other inputs (None: these inputs again).
        s, c: override the layer's scales (``s=1, c=1`` gives the standard parameterization's
            kernel of the same function, when the network has biases).
        """
        other = self if other is None else other
        if not isinstance(other, DenseLayerTerms):
            raise TypeError(f"other must be the DenseLayerTerms of dense_layer_terms; "
                            f"got {type(other).__name__}.")
        if other.a.shape[1] != self.a.shape[1] or other.delta.shape[1] != self.delta.shape[1]:
            raise ValueError(
                f"other belongs to a different layer: its a and delta have {other.a.shape[1]} and "
                f"{other.delta.shape[1]} columns, this layer's {self.a.shape[1]} and {self.delta.shape[1]}. "
                "Pair terms of the same layer (same index) of the same network."
            )
        s = self.s if s is None else check_number(s, "s", low=0.0)
        c = self.c if c is None else check_number(c, "c", low=0.0)
        if c and not self.has_bias:
            raise ValueError(f"c={c} for Linear layer {self.index}, which has no bias; pass c=None or 0.")
        gram_delta = self.delta @ other.delta.T             # (δ·δ')   (n, n')
        return (s * s * (self.a @ other.a.T) + c * c) * gram_delta


def dense_layer_terms(net, x) -> list[DenseLayerTerms]:
    """Inputs a, deltas δ = ∂f/∂z and scales of every ``Linear`` of ``net`` at the rows of ``x``.

    net: a ``Sequential`` of ``Linear`` layers (either parameterization) and elementwise
        activations, with a single output (for k outputs use ``ntk.empirical``).
    x: (n, d). Returns one ``DenseLayerTerms`` per Linear, first layer first. The network's
    caches and gradients are left untouched.
    """
    layers = _supported_layers(net)
    x = _check_x(x, "x", layers)
    parts, k = _forward_backward(layers, x)
    linears = [layer for layer in layers if isinstance(layer, Linear)]
    if k != 1:
        raise ValueError(
            f"dense_layer_terms needs a network with one output; this one has {k}. Use "
            "bp.ntk.empirical(net, x) (or trace=True) for several outputs."
        )
    return [DenseLayerTerms(i, a, delta[:, 0, :], float(s), float(c), layer.bias is not None)
            for i, ((a, delta, s, c), layer) in enumerate(zip(parts, linears, strict=True))]
