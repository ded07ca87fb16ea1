"""Backward passes without weight transport: feedback alignment (FA) and direct feedback alignment (DFA).

For an MLP ``Linear, act, Linear, act, …, Linear`` write ``z^l`` for the output of the l-th
Linear, ``δ^l = dL/dz^l`` (batch-first rows, ``(batch, n_l)``) and ``e = δ^L`` for the error at the
output (``p − onehot(y)`` over the batch for cross-entropy). The rules differ only in how ``δ``
reaches the hidden layers; every rule then updates ``dW^l = (δ^l)ᵀ a^{l−1}``, ``db^l = Σ δ^l``::

    BP   δ^l = (δ^{l+1} W^{l+1}) ⊙ φ′(z^l)       (column form: (W^{l+1})ᵀ δ^{l+1} ⊙ φ′)
    FA   δ^l = (δ^{l+1} B^{l+1}ᵀ) ⊙ φ′(z^l)      (column form:  B^{l+1} δ^{l+1} ⊙ φ′), B fixed, random
    DFA  δ^l = (e B^{l}ᵀ) ⊙ φ′(z^l)              (column form:  B^l e ⊙ φ′), every layer from e directly

FA's ``B^{l+1}`` is shaped like ``(W^{l+1})ᵀ``, ``(in, out)``, so ``B = Wᵀ`` gives backprop back
exactly. DFA's ``B^l`` is ``(n_l, n_classes)``.

    B = feedback_matrices(net, "fa", seed=1)
    net.zero_grad(); loss_fn(net(x), y)
    deltas = fa_backward(net, loss_fn.backward(), B)       # fills p.grad like net.backward
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, as_rng, check_choice, check_number
from ..nn.layers import Linear
from ..nn.module import Sequential

RULES = ("bp", "fa", "dfa")


def mlp_blocks(net) -> list[tuple[Linear, object]]:
    """``[(Linear, activation or None), …]`` of ``net = Sequential(Linear, act, …, Linear)``.

    Raises ``ValueError`` for any other layout (these rules are defined layer by layer).
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a bp.nn.Sequential MLP (e.g. bp.nn.mlp(...)); "
                        f"got {type(net).__name__}.")
    layers = list(net.layers)
    blocks = []
    for i in range(0, len(layers), 2):
        lin = layers[i]
        act = layers[i + 1] if i + 1 < len(layers) else None
        if not isinstance(lin, Linear) or (act is not None and not hasattr(act, "df")):
            raise ValueError(
                f"net must alternate Linear and elementwise activation layers (Linear, Tanh, …, Linear); "
                f"layer {i} is {type(lin).__name__}"
                + (f", layer {i + 1} is {type(act).__name__}" if act is not None else "")
                + ". Build it with bp.nn.mlp(sizes, activation=...).")
        if lin.parameterization != "standard":
            raise ValueError("feedback alignment needs Linear layers in the standard parameterization; "
                             "build the net with parameterization='standard'.")
        blocks.append((lin, act))
    if blocks[-1][1] is not None:
        raise ValueError("the net must end with a Linear layer (raw outputs for the loss); "
                         "build it with bp.nn.mlp(..., output_activation=None).")
    return blocks


def feedback_matrices(net, rule: str = "fa", *, seed=0, scale: float = 1.0) -> list[np.ndarray]:
    """Fixed random feedback matrices for ``rule`` (``"fa"`` or ``"dfa"``).

    * ``"fa"``: one per Linear after the first, ``B^{l+1}: (in, out)`` (the shape of Wᵀ), drawn like
      a fresh PyTorch init of that W, ``U(±scale/√in)``;
    * ``"dfa"``: one per hidden Linear, ``B^l: (n_l, n_classes)``, ``U(±scale/√n_l)`` (with one hidden
      layer this is the same draw as FA's, so FA = DFA there).
    """
    rule = check_choice(rule, "rule", ("fa", "dfa"))
    scale = check_number(scale, "scale", low=0.0, low_open=True)
    rng = as_rng(seed)
    blocks = mlp_blocks(net)
    n_out = blocks[-1][0].out_features
    if rule == "fa":
        shapes = [(lin.in_features, lin.out_features) for lin, _ in blocks[1:]]
    else:
        shapes = [(lin.out_features, n_out) for lin, _ in blocks[:-1]]
    return [rng.uniform(-1.0, 1.0, size=s) * scale / np.sqrt(s[0]) for s in shapes]


def _check_feedback(feedback, shapes, rule):
    if feedback is None or len(feedback) != len(shapes):
        got = "None" if feedback is None else f"{len(feedback)} matrices"
        raise ValueError(f"rule {rule!r} needs {len(shapes)} feedback matrices shaped {shapes}; got {got}. "
                         f"Make them with feedback_matrices(net, {rule!r}).")
    out = []
    for i, (B, shape) in enumerate(zip(feedback, shapes, strict=True)):
        B = as_float_array(B, f"feedback[{i}]", ndim=2)
        if B.shape != shape:
            raise ValueError(f"feedback[{i}] has shape {B.shape}; rule {rule!r} needs {shape} there.")
        out.append(B)
    return out


def backward(net, grad_out, rule: str = "bp", feedback=None) -> list[np.ndarray]:
    """Backward pass of ``net`` (after its forward pass) by ``rule`` in ``("bp", "fa", "dfa")``.

    ``grad_out = e: (batch, n_out)``, dL/d(output) from the loss. Adds every parameter's update to
    ``p.grad`` (as ``net.backward``; call ``zero_grad`` first) and returns ``[δ^1, …, δ^L]``, the
    signal each Linear received, ``δ^l: (batch, n_l)``.
    """
    rule = check_choice(rule, "rule", RULES)
    blocks = mlp_blocks(net)
    if rule == "fa":
        feedback = _check_feedback(feedback, [(lin.in_features, lin.out_features) for lin, _ in blocks[1:]],
                                   rule)
    elif rule == "dfa":
        n_out = blocks[-1][0].out_features
        feedback = _check_feedback(feedback, [(lin.out_features, n_out) for lin, _ in blocks[:-1]], rule)
    e = as_float_array(grad_out, "grad_out", ndim=2, allow_nonfinite=True)
    deltas = [None] * len(blocks)
    delta = e                                           # δ^L = e
    for k in range(len(blocks) - 1, -1, -1):
        lin, _ = blocks[k]
        lin.backward(delta, input_grad=False)           # dW = δᵀ a, db = Σ δ (the same for every rule)
        deltas[k] = delta
        if k == 0:
            break
        if rule == "bp":
            signal = delta @ lin.weight.data            # δ^{l+1} W^{l+1}
        elif rule == "fa":
            signal = delta @ feedback[k - 1].T          # δ^{l+1} B^{l+1}ᵀ
        else:
            signal = e @ feedback[k - 1].T              # e B^lᵀ
        delta = blocks[k - 1][1].backward(signal)       # ⊙ φ′(z^l)
    return deltas


def fa_backward(net, grad_out, feedback) -> list[np.ndarray]:
    """Feedback alignment: ``backward(net, grad_out, "fa", feedback)``."""
    return backward(net, grad_out, "fa", feedback)


def dfa_backward(net, grad_out, feedback) -> list[np.ndarray]:
    """Direct feedback alignment: ``backward(net, grad_out, "dfa", feedback)``."""
    return backward(net, grad_out, "dfa", feedback)


def alignment_angle(a, b) -> float:
    """The angle in degrees between two updates taken as whole vectors, ∠(a, b) = arccos(a·b / ‖a‖‖b‖).

    ``a``, ``b``: arrays of the same shape (e.g. two ``dW: (out, in)`` or ``δ: (batch, n)``), flattened:
    one angle for the whole update, not a mean of per-row angles. 0° = same direction, 90° = unrelated.
    """
    a = as_float_array(a, "a").ravel()
    b = as_float_array(b, "b").ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same number of entries; got {a.size} and {b.size}.")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        raise ValueError("alignment_angle of a zero vector is undefined; both updates must be non-zero.")
    return float(np.degrees(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0))))
