"""Checkers for notebook 23 (backprop through modern blocks).

* ``23.softmax_backward``: ``softmax_backward(P, dP) -> dS`` for ``P = softmax_row(S)``,
  ``P, dP: (T_q, T_k)``.
  Caught: ``P ⊙ dP`` (the diagonal of the Jacobian only), ``P ⊙ (1 − P) ⊙ dP`` (the sigmoid's rule),
  the sum over the wrong axis, the factor P forgotten;
* ``23.attention_backward``: ``attention_backward(dO, Q, K, V, P) -> (dQ, dK, dV)`` for
  ``O = softmax_row(Q Kᵀ/√d_k) V``, ``Q, K, V, dO: (T, d_k)``. Caught: the 1/√d_k missing in dK (or in
  both), ``dV = P dO``, ``dK = dS Q``, ``P ⊙ dP`` for the softmax;
* ``23.stochastic_depth_eval``: ``stochastic_depth_eval(x, blocks, p) -> x_L`` with ``x_{l+1} = x_l +
  p_l F_l(x_l)``. Caught: no p_l (``x + F(x)``), the inverted rule's ``F(x)/p_l``, the drop probability
  ``1 − p_l``, ``p_l (x + F(x))``, one p for every block.

The references are ``bp.nn.attention`` (tested against PyTorch) and ``bp.nn.StochasticDepth``.
"""

from __future__ import annotations

import numpy as np

from .core import Incorrect, exercise, require, require_callable

# -- 23.softmax_backward ---------------------------------------------------------------------


def _softmax_backward_ref(P, dP):
    from ..nn.attention import softmax_backward

    return softmax_backward(P, dP)


def _softmax_backward_jacobian(P, dP):             # row by row: dS_i = (diag(p) − p pᵀ) dP_i
    return np.stack([(np.diag(p) - np.outer(p, p)) @ g for p, g in zip(P, dP, strict=True)])


def _wrong_elementwise(P, dP):
    return P * dP


def _wrong_sigmoid_rule(P, dP):
    return P * (1 - P) * dP


def _wrong_axis(P, dP):
    return P * (dP - np.sum(P * dP, axis=0, keepdims=True))


def _wrong_no_P(P, dP):
    return dP - np.sum(P * dP, axis=-1, keepdims=True)


def _close(a, b, rtol=1e-9) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=rtol * max(np.max(np.abs(b)), 1e-300))


def _softmax_case(t_q, t_k, seed):
    from ..nn.attention import softmax

    rng = np.random.default_rng(seed)
    return softmax(rng.normal(scale=1.5, size=(t_q, t_k))), rng.normal(size=(t_q, t_k))


@exercise(
    "23.softmax_backward", "The backward pass of a row softmax",
    right=[_softmax_backward_ref, _softmax_backward_jacobian],
    wrong={
        "P ⊙ dP": _wrong_elementwise,
        "P(1 − P) ⊙ dP": _wrong_sigmoid_rule,
        "sum over the wrong axis": _wrong_axis,
        "factor P forgotten": _wrong_no_P,
    },
    success="dS = P ⊙ (dP − rowsum(P ⊙ dP)): every score moves every weight of its row, so each "
            "dS_ij collects dP from the whole row. And every row of dS sums to 0.",
)
def _check_softmax_backward(answer):
    require_callable(answer, "softmax_backward")
    for t_q, t_k, seed in ((6, 6, 0), (3, 7, 1), (5, 2, 2)):
        P, dP = _softmax_case(t_q, t_k, seed)
        got = answer(P.copy(), dP.copy())
        require(got is not None, "softmax_backward returned None.", "Did you forget a `return`?")
        got = np.asarray(got, dtype=float)
        require(got.shape == P.shape, f"dS has shape {got.shape}; expected {P.shape}, the shape of S.",
                "dS is the gradient of the scores: one entry per score.")
        if _close(got, _softmax_backward_ref(P, dP)):
            continue
        if _close(got, _wrong_elementwise(P, dP)):
            raise Incorrect(
                "dS = P ⊙ dP treats every weight as depending on its own score only. But p_ij = e^{s_ij}/Σ_k "
                "e^{s_ik}: raising one score lowers every other weight of the row (the −p pᵀ part of the "
                "Jacobian), and your dS leaves that out.",
                "∂p_ik/∂s_ij = p_ik(δ_jk − p_ij), so dS_ij = p_ij (dP_ij − Σ_k p_ik dP_ik).")
        if _close(got, _wrong_sigmoid_rule(P, dP)):
            raise Incorrect(
                "dS = P(1 − P) ⊙ dP is the sigmoid's rule applied entry by entry: it keeps only the "
                "diagonal of the row Jacobian diag(p) − ppᵀ and drops the other entries of the row.",
                "Each dS_ij collects dP from the whole row: dS = P ⊙ (dP − rowsum(P ⊙ dP)).")
        if _close(got, _wrong_axis(P, dP)):
            raise Incorrect("you summed P ⊙ dP over the column (axis 0); the softmax normalizes each row, "
                            "so the sum runs along the row.",
                            "np.sum(P * dP, axis=-1, keepdims=True) gives one number per row.")
        if _close(got, _wrong_no_P(P, dP)):
            raise Incorrect("dS = dP − rowsum(P ⊙ dP) misses the factor P in front: ∂p_ik/∂s_ij = "
                            "p_ik(δ_jk − p_ij) carries p.",
                            "Multiply by P: dS = P * (dP - (P * dP).sum(axis=-1, keepdims=True)).")
        rows = np.abs(got.sum(axis=-1)).max()
        hint = ("A check: every row of dS must sum to 0 (adding a constant to a row of scores changes "
                f"nothing); yours are off by up to {rows:.2g}." if rows > 1e-8 else
                "Write dS_ij = Σ_k dP_ik ∂p_ik/∂s_ij with ∂p_ik/∂s_ij = p_ik(δ_jk − p_ij).")
        raise Incorrect(f"dS is wrong for P of shape {P.shape}.", hint)


# -- 23.attention_backward -------------------------------------------------------------------


def _attention_backward_ref(dO, Q, K, V, P):
    from ..nn.attention import attention_backward

    return attention_backward(dO, Q, K, V, P)


def _attention_backward_layer(dO, Q, K, V, P):     # the same formulas, written with explicit c
    c = 1.0 / np.sqrt(Q.shape[-1])
    dP = dO @ V.T
    dS = P * (dP - (P * dP).sum(axis=1, keepdims=True))
    return c * dS @ K, c * dS.T @ Q, P.T @ dO


def _make_wrong(*, c_q=True, c_k=True, dV_T=True, dK_T=True, softmax="right"):
    def backward(dO, Q, K, V, P):
        c = 1.0 / np.sqrt(Q.shape[-1])
        dP = dO @ V.T
        dS = P * dP if softmax == "elementwise" else P * (dP - (P * dP).sum(axis=1, keepdims=True))
        dQ = (c if c_q else 1.0) * dS @ K
        dK = (c if c_k else 1.0) * (dS.T if dK_T else dS) @ Q
        dV = (P.T if dV_T else P) @ dO
        return dQ, dK, dV

    return backward


_WRONG_ATTENTION = {
    "1/√d_k missing in dK": _make_wrong(c_k=False),
    "1/√d_k missing in dQ and dK": _make_wrong(c_q=False, c_k=False),
    "dV = P dO": _make_wrong(dV_T=False),
    "dK = dS Q": _make_wrong(dK_T=False),
    "P ⊙ dP in the softmax": _make_wrong(softmax="elementwise"),
}

_ATTENTION_MESSAGES = {
    "1/√d_k missing in dK": (
        "dK has no 1/√d_k. The scores are S = QKᵀ/√d_k, so K reaches the loss through the same scaled "
        "product as Q: both dQ and dK carry the factor.",
        "dK = dSᵀ Q / √d_k, just as dQ = dS K / √d_k."),
    "1/√d_k missing in dQ and dK": (
        "dQ and dK are √d_k times too large: you differentiated S = QKᵀ, but the forward pass divided the "
        "scores by √d_k.", "dQ = dS K / √d_k and dK = dSᵀ Q / √d_k."),
    "dV = P dO": (
        "dV = P dO: O_i = Σ_j P_ij V_j, so V_j collects from every output i that used it: "
        "dV_j = Σ_i P_ij dO_i, that is Pᵀ dO.", "Transpose P: dV = P.T @ dO."),
    "dK = dS Q": (
        "dK = dS Q: S_ij = q_i·k_j/√d_k, so k_j collects Σ_i dS_ij q_i: that is the j-th row of dSᵀ Q.",
        "Transpose dS for the keys: dK = dS.T @ Q / √d_k."),
    "P ⊙ dP in the softmax": (
        "your softmax step is dS = P ⊙ dP; it misses the −rowsum(P ⊙ dP) term, so dQ and dK are wrong (dV "
        "is right).", "dS = P ⊙ (dP − rowsum(P ⊙ dP)), as in exercise (a)."),
}


def _attention_case(t, d_k, seed):
    from ..nn.attention import attention

    rng = np.random.default_rng(seed)
    Q, K, V = (rng.normal(size=(t, d_k)) for _ in range(3))
    O, P = attention(Q, K, V)
    return rng.normal(size=O.shape), Q, K, V, P


@exercise(
    "23.attention_backward", "The backward pass of attention",
    right=[_attention_backward_ref, _attention_backward_layer],
    wrong=_WRONG_ATTENTION,
    success="dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = dS K/√d_k, dK = dSᵀ Q/√d_k: "
            "three matrix products and a softmax, each differentiated on its own.",
)
def _check_attention_backward(answer):
    require_callable(answer, "attention_backward")
    for t, d_k, seed in ((5, 3, 0), (4, 16, 1), (7, 7, 2)):
        dO, Q, K, V, P = _attention_case(t, d_k, seed)
        got = answer(dO.copy(), Q.copy(), K.copy(), V.copy(), P.copy())
        require(isinstance(got, (tuple, list)) and len(got) == 3,
                "attention_backward should return three arrays (dQ, dK, dV).",
                "End with `return dQ, dK, dV`.")
        want = _attention_backward_ref(dO, Q, K, V, P)
        for name, g, w in zip(("dQ", "dK", "dV"), got, want, strict=True):
            require(g is not None, f"{name} is None.", "Compute all three gradients.")
            require(np.shape(g) == w.shape, f"{name} has shape {np.shape(g)}; expected {w.shape}.",
                    "Each gradient has the shape of its matrix: (T, d_k).")
        if all(_close(g, w) for g, w in zip(got, want, strict=True)):
            continue
        for mistake, wrong in _WRONG_ATTENTION.items():
            if all(_close(g, w) for g, w in zip(got, wrong(dO, Q, K, V, P), strict=True)):
                raise Incorrect(*_ATTENTION_MESSAGES[mistake])
        bad = [name for name, g, w in zip(("dQ", "dK", "dV"), got, want, strict=True) if not _close(g, w)]
        raise Incorrect(f"{', '.join(bad)} wrong for T = {t}, d_k = {d_k}.",
                        "Go back through the forward pass one step at a time: O = PV, P = softmax_row(S), "
                        "S = QKᵀ/√d_k.")


# -- 23.stochastic_depth_eval ----------------------------------------------------------------


def _sd_eval_ref(x, blocks, p):
    for F, p_l in zip(blocks, p, strict=True):
        x = x + p_l * F(x)                             # x_{l+1} = x_l + p_l F_l(x_l)
    return x


def _sd_eval_layers(x, blocks, p):                     # bp.nn.StochasticDepth in eval mode
    from ..nn.module import Module
    from ..nn.stochastic_depth import StochasticDepth

    class Wrap(Module):
        def __init__(self, f):
            self.f = f

        def forward(self, x):
            return self.f(x)

    for F, p_l in zip(blocks, p, strict=True):
        x = StochasticDepth(Wrap(F), p_l).eval()(x)
    return x


def _wrong_sd(rule):
    def evaluate(x, blocks, p):
        for F, p_l in zip(blocks, p, strict=True):
            if rule == "no p":
                x = x + F(x)
            elif rule == "inverted":
                x = x + F(x) / p_l
            elif rule == "drop probability":
                x = x + (1 - p_l) * F(x)
            elif rule == "whole output":
                x = p_l * (x + F(x))
            else:                                      # "one p"
                x = x + p[-1] * F(x)
        return x

    return evaluate


_SD_WRONG = {name: _wrong_sd(name) for name in ("no p", "inverted", "drop probability", "whole output",
                                                 "one p")}
_SD_MESSAGES = {
    "no p": ("you evaluate every block as x + F(x): that is the network in which every block always "
             "survives. In training a block is there only with probability p_l, so the expected output is "
             "x + p_l F_l(x).", "Multiply each branch by its survival probability: x = x + p_l * F_l(x)."),
    "inverted": ("you divide by p_l: that is the inverted convention's *training* rule (torchvision scales "
                 "b F(x)/p in training and uses F(x) in eval). Here training uses b F(x), so eval must use "
                 "its expectation, p_l F(x).", "x = x + p_l * F_l(x)."),
    "drop probability": ("you scale by 1 − p_l, the probability that the block is dropped; the branch "
                         "contributes when it survives, with probability p_l.", "x = x + p_l * F_l(x)."),
    "whole output": ("you scale the whole output, p_l (x + F(x)); the skip is always there, only the branch "
                     "is dropped.", "Keep x as it is and scale only the branch: x + p_l F_l(x)."),
    "one p": ("every block uses the same p; each block has its own survival probability p_l (with the "
              "linear rule they fall from about 1 to p_L).", "Loop over zip(blocks, p)."),
}


def _sd_case(seed, blocks=4, d=5):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(scale=0.8, size=(d, d)) for _ in range(blocks)]
    Fs = [lambda x, W=W: np.tanh(x @ W) for W in weights]
    p = list(np.linspace(0.9, 0.3, blocks))
    return rng.normal(size=(6, d)), Fs, p


@exercise(
    "23.stochastic_depth_eval", "Stochastic depth at evaluation time",
    right=[_sd_eval_ref, _sd_eval_layers],
    wrong=_SD_WRONG,
    success="x_{l+1} = x_l + p_l F_l(x_l): each branch counts with the probability that it was there in "
            "training, and the skip always counts.",
)
def _check_sd_eval(answer):
    require_callable(answer, "stochastic_depth_eval")
    for seed in (0, 1):
        x, Fs, p = _sd_case(seed)
        got = answer(x.copy(), list(Fs), list(p))
        require(got is not None, "stochastic_depth_eval returned None.", "Did you forget a `return`?")
        require(np.shape(got) == x.shape, f"the output has shape {np.shape(got)}; expected {x.shape}.",
                "Residual blocks keep the shape of x.")
        if _close(got, _sd_eval_ref(x, Fs, p)):
            continue
        for mistake, wrong in _SD_WRONG.items():
            if _close(got, wrong(x, Fs, p)):
                raise Incorrect(*_SD_MESSAGES[mistake])
        raise Incorrect("the output differs from x_{l+1} = x_l + p_l F_l(x_l) applied block after block.",
                        "Feed each block the output of the previous one: x = x + p_l * F_l(x).")
