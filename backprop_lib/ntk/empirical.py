"""The empirical (finite-width) neural tangent kernel, from backprop's own quantities.

    Θ(x, x') = Σ_p ∂f(x)/∂p · ∂f(x')/∂p

For a dense layer z = s·W a + c·b (s = c = 1 in the standard parameterization,
s = w_std/√fan_in and c = b_std in the NTK one), with δ = ∂f/∂z the backpropagated delta,
∂f/∂W_ij = s·δ_i a_j and ∂f/∂b_i = c·δ_i. Summing over the layer's parameters,

    Σ_ij ∂f(x)/∂W_ij ∂f(x')/∂W_ij = s² (a·a')(δ·δ'),      Σ_i ∂f(x)/∂b_i ∂f(x')/∂b_i = c² (δ·δ')

so for a whole batch the layer adds s²·(A₁A₂ᵀ) ∘ (Δ₁Δ₂ᵀ) + c²·(Δ₁Δ₂ᵀ) to Θ: two Gram matrices
of the forward activations and of the deltas. No Jacobian (batch × #parameters) is formed:
memory is O(n₁n₂ + n·width) instead of O(n·#parameters).

``empirical_jacobian`` builds the Jacobian row by row with the network's own backward pass
and contracts it: slow and memory hungry, kept as the reference the fast one is tested against.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_choice
from ..nn.activations import ACTIVATIONS
from ..nn.layers import Linear
from ..nn.module import Module, Sequential

_ELEMENTWISE = tuple(set(ACTIVATIONS.values()))


def _flatten(net) -> list[Module]:
    """The layers of ``net`` in order (nested Sequentials are unrolled)."""
    if not isinstance(net, Module):
        raise TypeError(
            f"net must be a bp.nn Module such as Sequential(Linear(...), ReLU(), Linear(...)); "
            f"got {type(net).__name__}."
        )
    if isinstance(net, Sequential):
        return [layer for sub in net.layers for layer in _flatten(sub)]
    return [net]


def _supported_layers(net) -> list[Module]:
    layers = _flatten(net)
    for i, layer in enumerate(layers):
        if not isinstance(layer, (Linear, *_ELEMENTWISE)):
            raise TypeError(
                f"ntk.empirical supports Linear and elementwise activations; got {type(layer).__name__} "
                f"at position {i}. Use ntk.empirical_jacobian for other layers (in eval mode)."
            )
    if not any(isinstance(layer, Linear) for layer in layers):
        raise ValueError("ntk.empirical needs a network with at least one Linear layer; it has none.")
    return layers


def _check_x(x, name, layers):
    x = as_float_array(x, name, ndim=2)
    first = next(layer for layer in layers if isinstance(layer, Linear))
    if x.shape[1] != first.in_features:
        raise ValueError(
            f"{name} has {x.shape[1]} features; the network's first Linear expects {first.in_features}. "
            f"Pass {name} shaped (n, {first.in_features})."
        )
    return x.astype(np.float64, copy=False)


def _check_trace(trace):
    if trace is False or trace is None:
        return None
    if trace is True:
        return "trace"
    return check_choice(trace, "trace", ("trace", "mean"))


def _forward_backward(layers, x):
    """Per Linear: (its input A (n, in), its delta Δ = ∂f/∂z (n, k, out), s, c), in order.

    Computed in float64 from the layers' weights without touching their caches or grads.
    """
    inputs, slopes = [], []
    a = x
    for layer in layers:                                     # forward, remembering what is needed
        if isinstance(layer, Linear):
            inputs.append(a)
            z = layer.weight_scale * (a @ np.asarray(layer.weight.data, dtype=np.float64).T)
            if layer.bias is not None:
                z = z + layer.bias_scale * np.asarray(layer.bias.data, dtype=np.float64)
            a = z
        else:
            slopes.append(layer.df(a))                       # φ'(z) for the backward pass
            a = layer.f(a)
    n, k = a.shape
    delta = np.broadcast_to(np.eye(k), (n, k, k))            # ∂f_a/∂f_b at the output
    out = []
    for layer in reversed(layers):                           # backward: the deltas
        if isinstance(layer, Linear):
            out.append((inputs.pop(), delta, layer.weight_scale,
                        layer.bias_scale if layer.bias is not None else 0.0))
            weight = np.asarray(layer.weight.data, dtype=np.float64)
            delta = layer.weight_scale * (delta.reshape(n * k, -1) @ weight).reshape(n, k, -1)  # Δ W s
        else:
            delta = delta * slopes.pop()[:, None, :]         # Δ ⊙ φ'(z)
    return out[::-1], k


def empirical(net, x1, x2=None, *, trace=False) -> np.ndarray:
    """Finite-width NTK of ``net`` between the rows of ``x1`` and ``x2``, layer by layer.

    net: a ``Sequential`` of ``Linear`` layers (either parameterization) and elementwise
        activations (``Identity`` included); nested Sequentials are fine.
    x1: (n1, d), x2: (n2, d) or None (then x2 = x1 and the result is symmetric).
    trace: for k > 1 outputs, False gives Θ[i, j, a, b] = Σ_p ∂f_a(x1_i)/∂p ∂f_b(x2_j)/∂p of
        shape (n1, n2, k, k); True or "trace" its trace over outputs Σ_a Θ[i, j, a, a], and
        "mean" that trace divided by k.

    Returns (n1, n2) for a scalar output (or with ``trace``), else (n1, n2, k, k); float64.
    The network's caches and gradients are left untouched.

    >>> import backprop_lib as bp
    >>> net = bp.nn.mlp([2, 64, 1], parameterization="ntk", seed=0)
    >>> empirical(net, np.ones((3, 2))).shape
    (3, 3)
    """
    layers = _supported_layers(net)
    reduce = _check_trace(trace)
    x1 = _check_x(x1, "x1", layers)
    symmetric = x2 is None
    parts1, k = _forward_backward(layers, x1)
    parts2 = parts1 if symmetric else _forward_backward(layers, _check_x(x2, "x2", layers))[0]
    n1, n2 = x1.shape[0], parts2[0][0].shape[0]
    full = reduce is None and k > 1
    theta = np.zeros((n1, n2, k, k) if full else (n1, n2))
    for (a1, d1, s, c), (a2, d2, _, _) in zip(parts1, parts2, strict=True):
        gram_a = a1 @ a2.T                                   # A₁A₂ᵀ   (n1, n2)
        weight = s * s * gram_a + c * c                      # s²(a·a') + c²
        if full:                                             # Δ₁Δ₂ᵀ per output pair (n1, n2, k, k)
            gram_d = (d1.reshape(n1 * k, -1) @ d2.reshape(n2 * k, -1).T).reshape(n1, k, n2, k)
            theta += weight[:, :, None, None] * gram_d.transpose(0, 2, 1, 3)
        else:                                                # Σ_a Δ₁[:, a]·Δ₂[:, a]
            gram_d = d1.reshape(n1, -1) @ d2.reshape(n2, -1).T
            theta += weight * gram_d
    if reduce == "mean":
        theta /= k
    if symmetric:
        theta = (theta + (theta.transpose(1, 0, 3, 2) if full else theta.T)) / 2
    return theta


def _jacobian(net, x) -> np.ndarray:
    """J[i, a, p] = ∂f_a(x_i)/∂p via one backward pass per (example, output): (n, k, P)."""
    params = net.parameters()
    sizes = np.cumsum([0] + [p.size for p in params])
    jac = None
    for i in range(x.shape[0]):
        out = net(x[i:i + 1])
        if jac is None:
            jac = np.zeros((x.shape[0], out.shape[1], sizes[-1]))
        for a in range(out.shape[1]):
            for p in params:
                p.grad = None
            seed = np.zeros_like(out)
            seed[0, a] = 1.0                                 # ∂f_a/∂f
            net.backward(seed)
            for p, lo, hi in zip(params, sizes[:-1], sizes[1:], strict=True):
                if p.grad is not None:
                    jac[i, a, lo:hi] = p.grad.ravel()
    return jac


def empirical_jacobian(net, x1, x2=None, *, trace=False) -> np.ndarray:
    """Reference NTK by explicit Jacobian contraction Θ = J₁J₂ᵀ (same shapes as ``empirical``).

    Each Jacobian row is one backward pass of ``net`` itself, so any layer with a backward
    pass works (put Dropout/BatchNorm in eval mode first). Memory n·k·#parameters: only for
    small problems. The network's parameter gradients are restored afterwards; its caches
    hold the last example.
    """
    if not isinstance(net, Module):
        raise TypeError(f"net must be a bp.nn Module; got {type(net).__name__}.")
    reduce = _check_trace(trace)
    x1 = as_float_array(x1, "x1", ndim=2)
    x2 = None if x2 is None else as_float_array(x2, "x2", ndim=2)
    saved = [(p, p.grad) for p in net.parameters()]
    try:
        j1 = _jacobian(net, x1)
        j2 = j1 if x2 is None else _jacobian(net, x2)
    finally:
        for p, g in saved:
            p.grad = g
    (n1, k, _), n2 = j1.shape, j2.shape[0]
    if reduce is not None or k == 1:
        theta = j1.reshape(n1, -1) @ j2.reshape(n2, -1).T    # Σ_a Σ_p J₁[i, a, p] J₂[j, a, p]
        return theta / k if reduce == "mean" else theta
    theta = j1.reshape(n1 * k, -1) @ j2.reshape(n2 * k, -1).T  # Σ_p J₁[i, a, p] J₂[j, b, p]
    return theta.reshape(n1, k, n2, k).transpose(0, 2, 1, 3)
