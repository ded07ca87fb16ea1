"""Explicit regularizers: the L2 penalty as a term of the loss, and dropout added to an MLP.

L2 regularization trains on ``L(θ) + (λ/2)‖θ‖²``. The penalty's gradient is ``λθ``, so after the
backward pass of L the gradient of the penalized loss is ``g + λθ``, and one step of plain gradient
descent is

    θ ← θ − η (g + λθ) = (1 − ηλ) θ − η g          (the weights shrink by 1 − ηλ: "weight decay")

which is what ``bp.optim.SGD(weight_decay=λ)`` (like ``torch.optim.SGD``) does without the explicit
term. The two functions below write that term out, so the identity can be checked::

    loss = loss_fn(net(x), y) + bp.train.l2_penalty(net.parameters(), lam)     # L + (λ/2)‖θ‖²
    net.backward(loss_fn.backward())                                           # p.grad = ∂L/∂θ
    bp.train.add_l2_grad_(net.parameters(), lam)                               # p.grad += λθ

``with_dropout(net, p)`` returns a copy of an MLP with a ``Dropout(p)`` after every hidden
activation (S4's ``Linear → ReLU → Dropout → Linear`` pattern), same weights.
"""

from __future__ import annotations

import copy

import numpy as np

from .._validate import as_rng, check_number
from ..nn.dropout import Dropout
from ..nn.layers import Linear
from ..nn.module import Module, Parameter, Sequential

__all__ = ["l2_penalty", "add_l2_grad_", "with_dropout"]


def _check_params(params, who: str) -> list[Parameter]:
    if isinstance(params, Module):
        params = params.parameters()
    if isinstance(params, Parameter):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{who}: params must be a list of Parameters, e.g. net.parameters(); "
                        f"got {type(params).__name__}.") from None
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(f"{who}: params[{i}] is a {type(p).__name__}, not a Parameter; pass "
                            "net.parameters() (or a list of its Parameters).")
    return params


def _check_weight_decay(weight_decay, who: str) -> float:
    return check_number(weight_decay, f"{who} weight_decay (λ)", low=0.0)


def l2_penalty(params, weight_decay: float) -> float:
    """``(λ/2) Σ_p ‖p‖²`` over ``params`` (a list of Parameters, or a Module: all of its parameters).

    Add it to the loss to regularize explicitly; its gradient ``λθ`` is what ``add_l2_grad_`` adds.
    """
    params = _check_params(params, "l2_penalty")
    lam = _check_weight_decay(weight_decay, "l2_penalty")
    return 0.5 * lam * float(sum(np.sum(np.square(p.data, dtype=np.float64)) for p in params))


def add_l2_grad_(params, weight_decay: float) -> None:
    """``p.grad += λ p`` for every parameter: the gradient of ``l2_penalty`` added in place.

    Call it after the backward pass of the data loss (every ``p.grad`` filled) and before
    ``optimizer.step()``; a parameter without a gradient raises ``ValueError``.
    """
    params = _check_params(params, "add_l2_grad_")
    lam = _check_weight_decay(weight_decay, "add_l2_grad_")
    for i, p in enumerate(params):
        if p.grad is None:
            raise ValueError(
                f"add_l2_grad_: parameter {p.name or i!r} has no gradient (p.grad is None). Run the "
                "backward pass of the loss first (net.backward(loss_fn.backward())), then add the "
                "L2 term."
            )
        p.grad = p.grad + lam * p.data                      # ∇(L + λ/2‖θ‖²) = ∂L/∂θ + λθ


def with_dropout(model: Sequential, p: float = 0.5, *, seed=0) -> Sequential:
    """A copy of ``model`` with ``Dropout(p)`` after every hidden activation.

    ``model``: a ``bp.nn.Sequential`` such as ``bp.nn.mlp(...)``. A hidden activation is any layer
    that is not a ``Linear`` and has a ``Linear`` somewhere after it, so nothing is added after
    the output layer. The copy has the same weights (deep copies: training one leaves the other
    alone); each Dropout draws its masks from its own generator, derived from ``seed``.
    In eval mode the copy computes exactly what ``model`` computes.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"with_dropout: model must be a bp.nn.Sequential (e.g. bp.nn.mlp([2, 64, 2])); "
                        f"got {type(model).__name__}.")
    Dropout(p)                                              # validates p with Dropout's own message
    layers = list(model)
    last_linear = max((i for i, layer in enumerate(layers) if isinstance(layer, Linear)), default=-1)
    hidden = [i for i, layer in enumerate(layers[:last_linear]) if not isinstance(layer, Linear)]
    if not hidden:
        raise ValueError(
            "with_dropout: the model has no hidden activation (a non-Linear layer followed by a Linear), "
            "so there is nowhere to put dropout. Give it a hidden layer, e.g. bp.nn.mlp([2, 64, 2])."
        )
    seeds = as_rng(seed).integers(0, 2**63 - 1, size=len(hidden))
    out = []
    for i, layer in enumerate(layers):
        out.append(copy.deepcopy(layer))
        if i in hidden:
            out.append(Dropout(p, seed=int(seeds[hidden.index(i)])))
    net = Sequential(*out)
    net.train(model.training)
    return net
