"""Self-attention (one head, no mask) with an explicit backward pass.

Shapes: ``x: (batch, T, d_model)``, a batch of sequences of T tokens; a single sequence
``x: (T, d_model)`` is accepted too and gives 2-D results. ``c = 1/√d_k`` (``c = 1`` with
``scale=False``). Forward::

    Q = x W_qᵀ + b_q,  K = x W_kᵀ + b_k,  V = x W_vᵀ + b_v      (batch, T, d_k)
    S = c · Q Kᵀ                                                (batch, T, T)   scores
    P = softmax_row(S)          P[i, j] = how much query i attends to key j; rows sum to 1
    O = P V                                                     (batch, T, d_k)

Backward, given ``dO = dL/dO`` (every product per sequence)::

    dV = Pᵀ dO                    dP = dO Vᵀ
    dS = P ⊙ (dP − rowsum(P ⊙ dP))          (the softmax's Jacobian, row by row)
    dQ = c · dS K                 dK = c · dSᵀ Q
    dx = dQ W_q + dK W_k + dV W_v           (x reaches the output through all three projections)

Since every row of P sums to 1, every row of dS sums to 0: adding a constant to a row of
scores changes nothing, so the gradient has no component along that direction.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import as_float_array, as_rng, check_positive_int
from .layers import Linear
from .module import Module

__all__ = ["SelfAttention", "attention", "attention_backward", "softmax", "softmax_backward",
           "softmax_jacobian"]


def softmax(S):
    """Row softmax along the last axis: ``P = exp(S − max) / Σ exp(S − max)``. ``S: (..., n)``: the
    attention scores ``(..., T, T)`` here, a batch of logits ``(batch, classes)`` in the explorers."""
    S = np.asarray(S)
    e = np.exp(S - S.max(axis=-1, keepdims=True))         # subtracting the row max changes nothing
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(P, dP):
    """dL/dS from ``P = softmax_row(S)`` and ``dP = dL/dP`` (same shape ``(..., T, T)``).

    ``dS = P ⊙ (dP − rowsum(P ⊙ dP))``: Jᵀ dP with the row Jacobian ``J = diag(p) − p pᵀ``.
    """
    return P * (dP - np.sum(P * dP, axis=-1, keepdims=True))


def softmax_jacobian(P):
    """The Jacobian ∂p/∂s = diag(p) − p pᵀ of every row p of ``P: (..., T)`` -> ``(..., T, T)``.

    It is symmetric, so ``dS = J dP`` row by row (``softmax_backward`` without forming J). When p is
    nearly one-hot every entry of J is nearly 0: a saturated softmax passes almost no gradient.
    """
    P = np.asarray(P)
    return P[..., :, None] * np.eye(P.shape[-1]) - P[..., :, None] * P[..., None, :]


def _scale_factor(d_k: int, scale: bool) -> float:
    return 1.0 / math.sqrt(d_k) if scale else 1.0


def attention(Q, K, V, *, scale: bool = True):
    """``O = softmax_row(c Q Kᵀ) V``; returns ``(O, P)``. ``Q, K, V: (..., T, d_k)``, c = 1/√d_k."""
    c = _scale_factor(np.shape(Q)[-1], scale)
    P = softmax(c * (Q @ np.swapaxes(K, -1, -2)))          # S = c Q Kᵀ, P = softmax_row(S)
    return P @ V, P                                        # O = P V


def attention_backward(dO, Q, K, V, P, *, scale: bool = True):
    """``(dQ, dK, dV)`` of ``O = softmax_row(c Q Kᵀ) V`` given ``dO`` and the forward's ``P``.

    ``dO, Q, K, V: (..., T, d_k)``, ``P: (..., T, T)``.
    """
    return _attention_backward(dO, Q, K, V, P, _scale_factor(np.shape(Q)[-1], scale))[:3]


def _attention_backward(dO, Q, K, V, P, c):
    """``(dQ, dK, dV, dS)`` for the scale factor ``c``."""
    dV = np.swapaxes(P, -1, -2) @ dO                      # dV = Pᵀ dO
    dP = dO @ np.swapaxes(V, -1, -2)                      # dP = dO Vᵀ
    dS = softmax_backward(P, dP)                          # dS = P ⊙ (dP − rowsum(P ⊙ dP))
    dQ = c * (dS @ K)                                     # dQ = c dS K
    dK = c * (np.swapaxes(dS, -1, -2) @ Q)                # dK = c dSᵀ Q
    return dQ, dK, dV, dS


class SelfAttention(Module):
    """One attention head: ``SelfAttention(d_model, d_k)(x) = softmax_row(Q Kᵀ/√d_k) V``.

    ``x: (batch, T, d_model)`` -> ``O: (batch, T, d_k)``; or ``(T, d_model)`` -> ``(T, d_k)``.

    Args:
        d_model: features per token of the input.
        d_k: features per token of the queries, keys and values (and of the output).
        scale: divide the scores by √d_k (``False``: the unscaled scores ``Q Kᵀ``).
        bias, init, init_std, seed, dtype: for the three ``Linear`` projections ``q_proj``,
            ``k_proj``, ``v_proj`` (weights ``(d_k, d_model)``, as torch); ``init="lecun"`` gives
            queries and keys with unit-variance entries for unit-variance inputs.

    After ``forward``: ``Q, K, V, P`` (the attention weights, ``(batch, T, T)``); after
    ``backward``: ``dS``, the gradient of the scores.
    """

    def __init__(self, d_model, d_k, *, scale=True, bias=True, init="default", init_std=None, seed=None,
                 dtype=np.float64):
        self.d_model = check_positive_int(d_model, "d_model")
        self.d_k = check_positive_int(d_k, "d_k")
        if not isinstance(scale, (bool, np.bool_)):
            raise TypeError(f"scale must be True (divide the scores by √d_k) or False; got {scale!r}.")
        self.scale = bool(scale)
        rng = as_rng(seed)
        self.q_proj = Linear(d_model, d_k, bias, init=init, init_std=init_std, seed=rng, dtype=dtype)
        self.k_proj = Linear(d_model, d_k, bias, init=init, init_std=init_std, seed=rng, dtype=dtype)
        self.v_proj = Linear(d_model, d_k, bias, init=init, init_std=init_std, seed=rng, dtype=dtype)
        self.Q = self.K = self.V = self.P = self.dS = None
        self._single = False          # the last input was one sequence (T, d_model)

    @property
    def scale_factor(self) -> float:
        """c in S = c Q Kᵀ: 1/√d_k, or 1 without scaling."""
        return _scale_factor(self.d_k, self.scale)

    def forward(self, x):
        x = as_float_array(x, "SelfAttention input x")
        if x.ndim not in (2, 3) or x.shape[-1] != self.d_model:
            raise ValueError(
                f"SelfAttention({self.d_model}, {self.d_k}) got input of shape {x.shape}; expected "
                f"(batch, T, {self.d_model}) or one sequence (T, {self.d_model})."
            )
        self._single = x.ndim == 2
        x3 = x[None] if self._single else x
        b, t, _ = x3.shape
        flat = x3.reshape(b * t, self.d_model)
        self.Q, self.K, self.V = (proj(flat).reshape(b, t, self.d_k)
                                  for proj in (self.q_proj, self.k_proj, self.v_proj))
        out, self.P = attention(self.Q, self.K, self.V, scale=self.scale)
        self.dS = None
        return out[0] if self._single else out

    def backward(self, grad_out):
        """grad_out: dL/dO, shaped like the output. Fills the projections' grads; returns dL/dx."""
        self._require_cache("P")
        name = "SelfAttention.backward grad_out"
        g = as_float_array(grad_out, name, allow_nonfinite=True)
        expected = self.Q.shape[1:] if self._single else self.Q.shape
        if g.shape != expected:
            raise ValueError(f"{name} has shape {g.shape}; expected {expected}, the shape of the last "
                             "output.")
        dO = g[None] if self._single else g
        dQ, dK, dV, self.dS = _attention_backward(dO, self.Q, self.K, self.V, self.P, self.scale_factor)
        b, t, _ = dO.shape
        dx = sum(proj.backward(d.reshape(b * t, self.d_k))                    # dx = Σ d· W·
                 for proj, d in ((self.q_proj, dQ), (self.k_proj, dK), (self.v_proj, dV)))
        dx = dx.reshape(b, t, self.d_model)
        return dx[0] if self._single else dx

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, d_k={self.d_k}, scale={self.scale}"

    def __repr__(self):
        return f"SelfAttention({self.extra_repr()})"
