"""Measure a network layer by layer: ``gradient_flow`` (forward + backward) and
``activation_stats`` (forward only), and the per-layer factor ``measured_factor``.

The probe runs the layers of the ``Sequential`` one at a time itself, keeping each layer's
output on the way forward and the gradient arriving at each layer on the way back,

    forward:   h₀ = x,  h_k = layer_k(h_{k−1})
    backward:  g_K = ∂L/∂h_K (from the loss),  g_{k−1} = layer_k.backward(g_k)

so it needs nothing from the layers beyond the ``forward``/``backward`` contract (no cache
names). It works on a copy of the network and loss: calling it never changes the network
(its ``.grad`` fields, batch-norm running statistics or dropout random state).
"""

from __future__ import annotations

import copy

import numpy as np

from .._validate import (
    NonFiniteError,
    as_float_array,
    check_bool,
    check_choice,
    check_number,
    check_positive_int,
)
from . import network
from .records import ActivationRecord, FlowRecord
from .stats import histogram, mean_std, rms, saturated_fraction


def working_copy(net, loss_fn=None):
    """Copies of ``net`` and ``loss_fn`` for a probe to run: every cache, buffer (batch-norm
    running statistics) and random state is copied, but the parameter arrays are shared
    (forward and backward only read them; the copy's ``.grad`` fields start empty), so
    copying costs almost nothing even for a deep network."""
    memo = {}
    for p in net.parameters():
        memo[id(p.data)] = p.data
        if p.grad is not None:
            memo[id(p.grad)] = p.grad
    net = copy.deepcopy(net, memo)
    for p in net.parameters():
        p.grad = None
    return net, copy.deepcopy(loss_fn)


def _check_common(net, x, bins, label):
    layers = network.flatten(net)
    x = as_float_array(x, "x")
    if x.ndim < 2:
        raise ValueError(
            f"x must be a batch shaped (batch, features); got shape {x.shape}. "
            "Add a batch axis with x.reshape(1, -1) for a single example."
        )
    bins = None if bins is None else check_positive_int(bins, "bins")
    if label is not None and not isinstance(label, str):
        raise TypeError(f"label must be a string (the setting shown in titles); got {type(label).__name__}.")
    return layers, x, bins


def _forward(layers, x):
    """Every layer's output, in order, up to the first output holding inf/NaN (an exploding
    network; the layers refuse non-finite input, so the pass stops there).

    A composite layer (a ``Residual``) whose inner layer overflows raises ``NonFiniteError`` at
    the next inner layer; that is recorded as an output of inf, like any layer that overflows.
    """
    outputs, h = [], x
    for layer in layers:
        try:
            h = layer(h)
        except NonFiniteError:                 # overflowed inside: the same result as above
            h = np.full(np.shape(h), np.inf, dtype=np.asarray(h).dtype)
        outputs.append(h)
        if not np.all(np.isfinite(h)):
            break
    return outputs


_NOT_REACHED = np.array([np.nan])   # a layer the pass did not reach: every statistic is nan


def _activation_part(stage_list, outputs, bins):
    cols = {k: [] for k in ("mean", "std", "rms", "sat", "counts", "edges")}
    for st in stage_list:
        k = st.activation if st.activation is not None else st.start
        a = outputs[k] if k < len(outputs) else _NOT_REACHED
        m, s = mean_std(a)
        counts, edges = histogram(a, bins) if bins is not None else (None, None)
        for key, value in zip(cols, (m, s, rms(a), saturated_fraction(a, st.saturation), counts, edges),
                              strict=True):
            cols[key].append(value)
    return dict(
        labels=[st.label for st in stage_list],
        act_mean=np.array(cols["mean"]), act_std=np.array(cols["std"]), act_rms=np.array(cols["rms"]),
        saturated=np.array(cols["sat"]), saturation_kind=[st.saturation for st in stage_list],
        hist_counts=cols["counts"] if bins is not None else [],
        hist_edges=cols["edges"] if bins is not None else [],
    )


def activation_stats(net, x, *, bins: int | None = 30, label: str | None = None) -> ActivationRecord:
    """Forward ``x: (batch, in)`` through ``net`` and record per layer the activation mean,
    std, RMS, histogram and saturated fraction (see ``ActivationRecord``)."""
    layers, x, bins = _check_common(net, x, bins, label)
    net, _ = working_copy(net)
    layers = network.flatten(net)
    stage_list = network.stages(layers)
    with np.errstate(all="ignore"):
        outputs = _forward(layers, x)
        part = _activation_part(stage_list, outputs, bins)
    setting = label or network.describe_setting(layers, stage_list, x.shape[0])
    return ActivationRecord(**part, setting=setting)


def gradient_flow(net, loss_fn, x, y, *, bins: int | None = 30, lr: float | None = None,
                  label: str | None = None, copy: bool = True) -> FlowRecord:
    """One forward and backward pass of ``net`` on the batch ``(x, y)``, measured per layer.

    net: a ``Sequential`` (nested ones are flattened); each ``Linear`` starts a layer of the
        report, and a ``Residual`` block counts as one layer (its inside is not shown).
    loss_fn: ``loss = loss_fn(out, y)``, ``loss_fn.backward()`` → ∂L/∂out.
    x: (batch, in).  y: targets as ``loss_fn`` expects them.
    bins: histogram bins per layer (``None``: no histograms, a tenth less work).
    lr: learning rate for the SGD update/weight ratio lr·RMS(∂L/∂W)/RMS(W) (nan without it;
    ``UpdateRatioProbe`` measures the actual update of any optimizer during ``fit``).
    label: the setting shown in titles (default: described from the network, e.g. "depth 20,
    width 64, Sigmoid, batch 128").
    copy: run on a copy of ``net`` and ``loss_fn`` (the default, which never changes them);
    ``False`` runs on ``net`` itself and leaves this pass's gradients in its ``.grad`` fields
    (for a caller that built ``net`` for this one pass, such as ``GradientFlowExplorer``).

    Returns a ``FlowRecord``: per layer i, the activation statistics, RMS(δ_i) with
    δ_i = ∂L/∂z_i for z_i the Linear's output, RMS(∂L/∂W_i), RMS(W_i) and the update ratio.
    An exploding network is a result, not an error: values that overflow are recorded as
    inf, the layers the pass could not reach (it stops at the first inf/NaN, which the layers
    refuse) as nan, and ``record.finite`` is False.
    """
    layers, x, bins = _check_common(net, x, bins, label)
    if not callable(loss_fn) or not hasattr(loss_fn, "backward"):
        raise TypeError(
            f"loss_fn must be a loss object such as bp.nn.MSELoss() (callable, with .backward()); "
            f"got {type(loss_fn).__name__}."
        )
    if lr is not None:
        lr = check_number(lr, "lr", low=0.0)
    if check_bool(copy, "copy"):
        net, loss_fn = working_copy(net, loss_fn)
        layers = network.flatten(net)
    else:
        net.zero_grad()                              # this pass's gradients only
    stage_list = network.stages(layers)

    incoming = [None] * len(layers)                  # incoming[k] = ∂L/∂h_k (None: not reached)
    loss = float("nan")
    with np.errstate(all="ignore"):
        outputs = _forward(layers, x)
        if len(outputs) == len(layers):              # else the forward pass overflowed
            loss = float(loss_fn(outputs[-1], y))
            g = loss_fn.backward()                   # ∂L/∂h_K
            for k in range(len(layers) - 1, -1, -1):
                incoming[k] = g                      # the gradient arriving at layer k
                if not np.all(np.isfinite(g)):
                    break                            # overflowed: earlier layers are not reached
                g = layers[k].backward(g)            # ∂L/∂h_{k−1}

        part = _activation_part(stage_list, outputs, bins)
        delta, grad, weight = [], [], []
        for st in stage_list:
            reached = incoming[st.start] is not None
            delta.append(rms(incoming[st.start]) if reached else float("nan"))  # δ = ∂L/∂z
            ran = reached and np.all(np.isfinite(incoming[st.start]))   # its backward filled .grad
            grads = [p.grad if p.grad is not None else np.zeros_like(p.data) for p in st.weights]
            grad.append(rms(np.concatenate([gr.ravel() for gr in grads])) if grads and ran
                        else float("nan"))
            weight.append(rms(np.concatenate([p.data.ravel() for p in st.weights]))
                          if st.weights else float("nan"))
        delta, grad, weight = np.array(delta), np.array(grad), np.array(weight)
        ratio = lr * grad / weight if lr is not None else np.full(len(stage_list), np.nan)

    finite = bool(np.isfinite(loss) and np.all(np.isfinite(delta)) and np.all(np.isfinite(grad))
                  and np.all(np.isfinite(part["act_rms"])))
    setting = label or network.describe_setting(layers, stage_list, x.shape[0], lr)
    return FlowRecord(**part, setting=setting, delta_rms=delta, grad_rms=grad, weight_rms=weight,
                      update_ratio=ratio, lr=lr, loss=loss, finite=finite)


_QUANTITIES = {"delta": ("delta_rms", -1), "grad": ("grad_rms", -1), "activation": ("act_rms", +1)}


def measured_factor(record, quantity: str = "delta") -> float:
    """The per-layer growth/decay factor of a quantity, fitted over all layers.

    A straight line is fitted to log(RMS_i) against the layer index i (least squares); its
    slope s is the mean log-ratio between consecutive layers, and the factor is e^s (a
    geometric mean ratio) counted in the direction the quantity travels:

    * ``"delta"`` (RMS of ∂L/∂z) and ``"grad"`` (RMS of ∂L/∂W): the backward pass, from layer
      i+1 to layer i, so factor = e^(−s): < 1 vanishing, > 1 exploding gradients;
    * ``"activation"`` (RMS of the activations): the forward pass, factor = e^(+s).

    Layers whose value is 0, inf or NaN are left out; nan if fewer than two remain.
    """
    quantity = check_choice(quantity, "quantity", list(_QUANTITIES))
    attr, direction = _QUANTITIES[quantity]
    if not hasattr(record, attr):
        raise TypeError(
            f"record must be a FlowRecord (from bp.probes.gradient_flow) for quantity {quantity!r}; "
            f"got {type(record).__name__}."
        )
    values = np.asarray(getattr(record, attr), dtype=np.float64)
    idx = np.arange(values.size)
    ok = np.isfinite(values) & (values > 0)
    if ok.sum() < 2:
        return float("nan")
    slope = np.polyfit(idx[ok], np.log(values[ok]), 1)[0]
    return float(np.exp(direction * slope))
