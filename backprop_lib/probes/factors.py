"""The backpropagated error δ of every layer, kept in full, and the per-layer factor by which
it shrinks or grows: measured, and predicted from the weights and the activation's slope.

For a plain MLP with z^l = W^l a^{l−1} + b^l and a^l = φ(z^l), backprop's recursion is

    δ^l = D^l (W^{l+1})ᵀ δ^{l+1},      D^l = diag φ′(z^l),      δ = ∂L/∂z            (1)

so per sample ‖δ^l‖ ≤ ‖W^{l+1}‖₂ · max|φ′| · ‖δ^{l+1}‖ (2). With independent weights of
second moment E[W²] = s²/n (n = width), each entry of (W^{l+1})ᵀδ^{l+1} has mean square
(s²/n)‖δ^{l+1}‖², and the RMS of δ changes per layer by about

    RMS(δ^l) / RMS(δ^{l+1}) ≈ s · RMS φ′(z^l)                                        (3)

(``predicted_factors``; for layers of unequal width the n of s is the *output* width of
W^{l+1}, the fan_out). ``bp.probes.gradient_flow`` records only the RMS of δ; this module
keeps the arrays, for per-sample norms (2) and the factors (3):

    trace = bp.probes.trace_deltas(net, loss_fn, x, y)
    trace.sample_norms()                  # (layers, batch): ‖δ^l‖ of every sample
    bp.probes.layer_factors(trace)        # measured RMS(δ^l)/RMS(δ^{l+1}), l = 1 … L−1
    bp.probes.predicted_factors(trace)    # s·RMS φ′(z^l), equation (3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import network
from .flow import _check_common, _forward, working_copy
from .stats import rms


@dataclass(repr=False)
class DeltaTrace:
    """One forward and backward pass, kept per layer (layer i + 1 is entry i).

    z[i]: (batch, units) the output of layer i+1's Linear (its pre-activation);
    delta[i]: (batch, units) δ = ∂L/∂z of that layer;
    weight[i]: (out, in) the Linear's weight;
    activation[i]: the layer's activation module (``bp.nn.Sigmoid()`` …), None for the read-out;
    plain: True when every layer is Linear followed by at most one activation (what the
        prediction (3) assumes); loss: the batch's loss.
    """

    z: list
    delta: list
    weight: list
    activation: list
    plain: bool
    loss: float

    @property
    def n_layers(self) -> int:
        return len(self.delta)

    def rms(self) -> np.ndarray:
        """(layers,) RMS(δ^l) = ‖δ^l‖/√size, as ``FlowRecord.delta_rms``."""
        return np.array([rms(d) for d in self.delta])

    def sample_norms(self) -> np.ndarray:
        """(layers, batch): the Euclidean norm ‖δ^l‖ of every sample's error at every layer."""
        return np.array([np.linalg.norm(np.asarray(d, dtype=np.float64), axis=1) for d in self.delta])

    def __repr__(self):
        return f"DeltaTrace({self.n_layers} layers, loss={self.loss:.4g})"


def trace_deltas(net, loss_fn, x, y) -> DeltaTrace:
    """Run ``net`` on ``x: (batch, in)``, the loss against ``y`` and the backward pass, and keep
    z and δ = ∂L/∂z of every layer (each top-level ``Linear`` starts a layer, as in
    ``gradient_flow``). Works on a copy: ``net``'s ``.grad`` fields and caches are untouched.
    Raises ``ValueError`` if the forward or backward pass overflows (inf/NaN): use
    ``gradient_flow``, which records an overflow as a result, for exploding settings."""
    layers, x, _ = _check_common(net, x, 1, None)
    if not callable(loss_fn) or not hasattr(loss_fn, "backward"):
        raise TypeError(
            f"loss_fn must be a loss object such as bp.nn.MSELoss() (callable, with .backward()); "
            f"got {type(loss_fn).__name__}."
        )
    net, loss_fn = working_copy(net, loss_fn)
    layers = network.flatten(net)
    stage_list = network.stages(layers)
    with np.errstate(all="ignore"):
        outputs = _forward(layers, x)
        if len(outputs) < len(layers):
            raise ValueError(
                f"the forward pass overflowed at layer {len(outputs)} of {len(layers)} (inf/NaN); "
                "trace_deltas needs finite values. Use bp.probes.gradient_flow for an exploding network, "
                "or smaller weights / fewer layers."
            )
        loss = float(loss_fn(outputs[-1], y))
        incoming = [None] * len(layers)
        g = loss_fn.backward()
        for k in range(len(layers) - 1, -1, -1):
            incoming[k] = g                           # ∂L/∂(output of layer k−1) = ∂L/∂(input of k)
            g = layers[k].backward(g)
    if not all(np.all(np.isfinite(incoming[st.start])) for st in stage_list):
        raise ValueError("the backward pass overflowed (δ holds inf/NaN); use bp.probes.gradient_flow "
                         "for an exploding network, or smaller weights / fewer layers.")
    plain = all(st.kind == "linear" and st.end - st.start <= 2
                and (st.end - st.start == 1 or st.activation == st.start + 1) for st in stage_list)
    return DeltaTrace(
        z=[outputs[st.start] for st in stage_list],
        delta=[incoming[st.start] for st in stage_list],
        weight=[np.asarray(st.weights[0].data) for st in stage_list],
        activation=[layers[st.activation] if st.activation is not None else None for st in stage_list],
        plain=plain, loss=loss,
    )


def _require_trace(trace, what: str) -> DeltaTrace:
    if not isinstance(trace, DeltaTrace):
        raise TypeError(
            f"{what} takes a DeltaTrace (from bp.probes.trace_deltas); got {type(trace).__name__}.")
    if trace.n_layers < 2:
        raise ValueError(f"{what} needs at least 2 layers (a factor links two layers); got {trace.n_layers}.")
    return trace


def layer_factors(trace: DeltaTrace) -> np.ndarray:
    """(layers − 1,) measured factor RMS(δ^l)/RMS(δ^{l+1}) for l = 1 … L−1: what one layer
    does to the error on its way back (< 1 shrinks, > 1 grows). Entry i is layer i+1."""
    r = _require_trace(trace, "layer_factors").rms()
    return r[:-1] / r[1:]


def predicted_factors(trace: DeltaTrace) -> np.ndarray:
    """(layers − 1,) predicted factor s_{l+1} · RMS φ′(z^l) of equation (3) for l = 1 … L−1, with
    s_{l+1} = RMS(W^{l+1}) · √(out features of W^{l+1}) and the RMS of φ′ over the batch and the
    layer's units. Needs a plain MLP (Linear → activation per layer, a Linear read-out)."""
    trace = _require_trace(trace, "predicted_factors")
    if not trace.plain or any(a is None for a in trace.activation[:-1]):
        raise ValueError(
            "predicted_factors assumes a plain MLP: every hidden layer a Linear followed by one activation "
            "(no batch norm, dropout or residual blocks), e.g. bp.nn.mlp([128] * 20 + [10], 'tanh')."
        )
    out = []
    for lay in range(trace.n_layers - 1):
        w_next = trace.weight[lay + 1]
        s = rms(w_next) * np.sqrt(w_next.shape[0])                      # E[W²] = s²/n, n = fan_out
        slope = trace.activation[lay].df(np.asarray(trace.z[lay], dtype=np.float64))
        out.append(s * rms(slope))                                       # equation (3)
    return np.array(out)
