"""Checkers for notebook 13 (remedies in the architecture).

* ``13.residual_backward``: the backward pass of a residual block y = x + F(x), batch-first:
  dL/dx = dy (I + J_F) = dy + dy J_F (catches a dropped identity and a transposed Jacobian);
* ``13.remedies``: which remedy for which symptom, checked against runs (``run_symptom``) of the
  three sick networks with each remedy applied (catches batch norm for bias-killed units);
* ``13.relu_backward``: dL/dz = dy ⊙ 1[z > 0] (catches the mask taken from dy > 0).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..nn.activations import ReLU
from ..nn.builders import mlp
from ..nn.deep import add_batch_norm, residual_mlp
from ..nn.layers import Linear
from ..nn.losses import MSELoss
from ..nn.normalization import BatchNorm1d
from ..nn.residual import Residual
from ..probes.flow import gradient_flow
from ..probes.network import flatten, linears_in
from .core import Incorrect, NotAttempted, exercise, require, require_callable, require_close

# -- 13.residual_backward ----------------------------------------------------------------------


def _residual_backward_ref(dy, J_F):
    # δ_l = (I + J_F)ᵀ δ_{l+1} for columns; for rows (batch-first) dx = dy (I + J_F)
    return dy + dy @ J_F


def _residual_backward_eye(dy, J_F):
    return dy @ (np.eye(J_F.shape[0]) + J_F)


def _wrong_dropped_identity(dy, J_F):
    return dy @ J_F


def _wrong_transposed(dy, J_F):
    return dy + dy @ J_F.T


def _wrong_identity_only(dy, J_F):
    return dy.copy()


def _residual_case(seed):
    """dy: (5, 4), a non-symmetric J_F, and the library's answer for F(x) = x Wᵀ (so J_F = W)."""
    rng = np.random.default_rng(seed)
    block = Residual(Linear(4, 4, bias=False, init="normal", init_std=0.7, seed=seed))
    x = rng.standard_normal((5, 4))
    dy = rng.standard_normal((5, 4))
    block(x)
    return dy, block.block.weight.data.copy(), block.backward(dy)


@exercise(
    "13.residual_backward", "Backward through a residual block",
    right=[_residual_backward_ref, _residual_backward_eye],
    wrong={"dropped identity": _wrong_dropped_identity, "transposed Jacobian": _wrong_transposed,
           "identity only (branch dropped)": _wrong_identity_only},
    success="dL/dx = dy + dy·J_F: the identity path hands dy back untouched, the branch adds its "
            "share on top (bp.nn.Residual.backward does exactly this).",
)
def _check_residual_backward(answer):
    require_callable(answer, "residual_backward")
    for seed in (0, 1):
        dy, J, expected = _residual_case(seed)
        got = answer(dy.copy(), J.copy())
        if got is None:
            raise Incorrect("residual_backward returned None.", "Did you forget a `return`?")
        got = np.asarray(got, dtype=float)
        require(got.shape == dy.shape, f"dL/dx has the shape of dy, {dy.shape}; got {got.shape}.",
                "One row per example, as dy.")
        if np.allclose(got, dy @ J):
            raise Incorrect("you returned only the branch's part, dy·J_F: the identity path is missing.",
                            "y = x + F(x), so ∂y/∂x = I + J_F. The `x +` sends dy back to x unchanged: "
                            "dL/dx = dy + dy·J_F. That added dy is what keeps deep ResNets from vanishing.")
        if np.allclose(got, dy):
            raise Incorrect("you returned dy unchanged: the branch F contributes nothing in your answer.",
                            "Both paths carry gradient: dL/dx = dy (from x) + dy·J_F (through F).")
        if np.allclose(got, dy + dy @ J.T):
            raise Incorrect("the Jacobian is transposed.",
                            "With J_F[i, j] = ∂F_i/∂x_j and rows of dy = ∂L/∂y, the chain rule gives "
                            "∂L/∂x_j = Σ_i ∂L/∂y_i (δ_ij + J_F[i, j]): that is dy @ J_F, not dy @ J_F.T.")
        require_close(got, expected, f"residual_backward (case {seed})", rtol=1e-9, atol=1e-12,
                      hint="dL/dx = dy @ (I + J_F) = dy + dy @ J_F.")


# -- 13.relu_backward ---------------------------------------------------------------------------


def _relu_backward_ref(dy, z):
    return dy * (z > 0)              # ReLU′(z) = 1[z > 0]: 0 at the kink, as PyTorch


def _relu_backward_where(dy, z):
    return np.where(z > 0, dy, 0.0)


def _wrong_mask_from_dy(dy, z):
    return dy * (dy > 0)


def _wrong_kink(dy, z):
    return dy * (z >= 0)


def _wrong_mask_only(dy, z):
    return (z > 0).astype(float)


def _wrong_times_output(dy, z):
    return dy * np.maximum(z, 0.0)


def _relu_case():
    rng = np.random.default_rng(13)
    z = rng.standard_normal((6, 5))
    z[0, :3] = 0.0                                   # the kink, exactly
    dy = rng.standard_normal((6, 5))
    relu = ReLU()
    relu(z)
    return dy, z, relu.backward(dy)


@exercise(
    "13.relu_backward", "Backward through ReLU",
    right=[_relu_backward_ref, _relu_backward_where],
    wrong={"mask from dy > 0": _wrong_mask_from_dy, "z >= 0 at the kink": _wrong_kink,
           "mask without dy": _wrong_mask_only, "times relu(z) instead of ReLU′(z)": _wrong_times_output},
    success="dL/dz = dy ⊙ 1[z > 0]: the forward pass's z decides which units pass the error, "
            "whatever its sign.",
)
def _check_relu_backward(answer):
    require_callable(answer, "relu_backward")
    dy, z, expected = _relu_case()
    got = answer(dy.copy(), z.copy())
    if got is None:
        raise Incorrect("relu_backward returned None.", "Did you forget a `return`?")
    got = np.asarray(got, dtype=float)
    require(got.shape == z.shape, f"dL/dz has the shape of z, {z.shape}; got {got.shape}.")
    if np.allclose(got, dy * (dy > 0)):
        raise Incorrect("your mask comes from dy > 0: it drops every negative gradient and passes gradient "
                        "through units that were off in the forward pass.",
                        "ReLU′ is evaluated where the unit was, at its input z: 1 if z > 0, else 0. "
                        "A unit with z > 0 passes dy whatever its sign; a unit with z ≤ 0 passes nothing.")
    if np.allclose(got, dy * (z >= 0)):
        raise Incorrect("at z = 0 exactly your gradient passes dy; the convention (PyTorch's, and "
                        "bp.nn.ReLU's) is ReLU′(0) = 0.", "Use z > 0, not z >= 0.")
    if np.allclose(got, (z > 0).astype(float)):
        raise Incorrect("you returned ReLU′(z) alone; backward multiplies it by the incoming gradient dy.",
                        "dL/dz = dL/da · da/dz = dy · 1[z > 0].")
    if np.allclose(got, dy * np.maximum(z, 0.0)):
        raise Incorrect("you multiplied dy by relu(z), the output, instead of by the slope ReLU′(z).",
                        "The slope of max(z, 0) is 1 for z > 0 and 0 otherwise.")
    require_close(got, expected, "relu_backward", rtol=1e-12, atol=1e-15,
                  hint="dL/dz = dy * (z > 0).")


# -- 13.remedies: runs of the three symptoms --------------------------------------------------

WIDTH = BATCH = 64
REMEDIES = ("relu", "leaky_relu", "residual", "batch_norm")
SYMPTOMS = {
    "vanishing": "50 sigmoid layers with Xavier's init: δ at layer 1 is about 1e-30 × δ at the last "
                 "hidden layer",
    "exploding": "20 tanh layers at 10× Xavier's std: δ at layer 1 is about 1e6 × δ at the last hidden layer",
    "dead": "ReLU units whose pre-activation is shifted by −3 (bias −3; with batch norm, β = −3): most are "
            "≤ 0 on every input, output 0, and get exactly 0 weight gradient",
}
RATIO_BAND = (0.1, 10.0)         # a healthy first/last hidden-layer δ ratio (as the notebook's claims)
SHIFT = -3.0

_ALIASES = {
    "relu": "relu", "leakyrelu": "leaky_relu", "leaky": "leaky_relu",
    "residual": "residual", "residuals": "residual", "skip": "residual", "skips": "residual",
    "skipconnection": "residual", "skipconnections": "residual", "residualconnection": "residual",
    "residualconnections": "residual", "resnet": "residual", "residualblocks": "residual",
    "batchnorm": "batch_norm", "bn": "batch_norm", "batchnorm1d": "batch_norm",
    "batchnormalization": "batch_norm", "batchnormalisation": "batch_norm",
}


def remedy_name(value) -> str | None:
    """The remedy a learner meant ("BN", "batch norm", "skip connections" …), or None."""
    if not isinstance(value, str):
        return None
    return _ALIASES.get("".join(ch for ch in value.lower() if ch.isalnum()))


@dataclass(frozen=True)
class SymptomRun:
    """One run: ``symptom`` with ``remedy`` applied (None: untreated).

    ``value``: the first/last hidden-layer δ ratio (vanishing, exploding) or the fraction of hidden
    units whose weight gradient is exactly 0 (dead); ``fixed``: the ratio is within ``RATIO_BAND``,
    or no hidden unit is cut off; ``summary``: what was measured, in words.
    """

    symptom: str
    remedy: str | None
    value: float
    fixed: bool
    summary: str


def _batch():
    rng = np.random.default_rng(13)
    return rng.standard_normal((BATCH, WIDTH)), rng.standard_normal((BATCH, 10))


def _network(symptom: str, remedy: str | None):
    w, std10 = WIDTH, 10.0 / np.sqrt(WIDTH)           # 10 × Xavier's std for a square layer
    if symptom == "vanishing":
        act, init, std, depth = "sigmoid", "xavier", None, 50
        if remedy in ("relu", "leaky_relu"):
            act, init = remedy, "he"                  # ReLU comes with its init (notebook 12)
    elif symptom == "exploding":
        act, init, std, depth = "tanh", "normal", std10, 20
        if remedy in ("relu", "leaky_relu"):
            act, std = remedy, std10 * np.sqrt(2.0)   # 10 × He's std: the same oversized scale
    else:
        act, init, std, depth = "relu", "he", None, 6
        if remedy == "leaky_relu":
            act = remedy
    if remedy == "residual":
        net = residual_mlp(w, depth - 1, activation=act, init=init, init_std=std, branch_layers=1, seed=0)
    else:
        net = mlp([w] * depth + [10], activation=act, init=init, init_std=std, seed=0)
        if remedy == "batch_norm":
            net = add_batch_norm(net)
    if symptom == "dead":
        for layer in flatten(net):
            if isinstance(layer, Residual):
                layer = layer.block.layers[0]
            if isinstance(layer, (Linear, BatchNorm1d)) and layer is not flatten(net)[-1]:
                layer.bias.data[...] = SHIFT          # the shift right before each activation
    return net


@functools.cache
def run_symptom(symptom: str, remedy: str | None = None) -> SymptomRun:
    """Build the network of ``symptom`` (a key of ``SYMPTOMS``) with ``remedy`` (one of ``REMEDIES``,
    or None for the untreated network), run one forward and backward pass on a fixed batch
    (x ~ N(0, 1), shape (64, 64); MSE against N(0, 1) targets) and judge it."""
    if symptom not in SYMPTOMS:
        raise ValueError(f"symptom must be one of {tuple(SYMPTOMS)}; got {symptom!r}.")
    if remedy is not None and remedy not in REMEDIES:
        raise ValueError(f"remedy must be one of {REMEDIES} or None; got {remedy!r}.")
    net, (x, y) = _network(symptom, remedy), _batch()
    if symptom != "dead":
        with np.errstate(all="ignore"):
            d = gradient_flow(net, MSELoss(), x, y).delta_rms
        ratio = float(d[0] / d[-2])                   # first / last hidden layer
        fixed = bool(RATIO_BAND[0] <= ratio <= RATIO_BAND[1])
        return SymptomRun(symptom, remedy, ratio, fixed,
                          f"δ at layer 1 / δ at the last hidden layer = {ratio:.2g}")
    loss = MSELoss()
    loss(net(x), y)
    net.backward(loss.backward())
    hidden = linears_in(net)[:-1]
    no_grad = np.concatenate([np.all(layer.weight.grad == 0, axis=1) for layer in hidden])
    fraction = float(no_grad.mean())
    return SymptomRun(symptom, remedy, fraction, bool(fraction == 0.0),
                      f"{fraction:.0%} of the hidden units get exactly 0 weight gradient")


_WHY = {
    ("exploding", "relu"): "ReLU's slope is exactly 1 where it is on, so it passes the growth of the "
        "oversized weights straight through. ReLU removes the σ′ ≤ 1/4 shrinking; it cannot shrink weights "
        "that are 10× too large.",
    ("exploding", "leaky_relu"): "LeakyReLU, like ReLU, has slope 1 on the positive side: the oversized "
        "weights still multiply δ by about 10 per layer.",
    ("exploding", "residual"): "A skip adds the identity to the Jacobian: δ_l = (I + J_F)ᵀ δ_{l+1}. With "
        "weights 10× too large J_F is large, so I + J_F is large too and the product still grows.",
    ("dead", "relu"): "These units are ReLUs already: ReLU′ = 0 on the negative side is what cuts them off.",
    ("dead", "residual"): "The skip lets the error reach the layers below, but a unit inside the branch "
        "whose z is ≤ 0 on every input still has ReLU′(z) = 0: its own weights get exactly 0.",
    ("dead", "batch_norm"): "Batch norm standardizes Wx and then adds its own shift β right before the ReLU. "
        "With the −3 shift in β the unit computes ReLU(γx̂ − 3): still ≤ 0 on (almost) every input, still "
        "exactly 0 gradient. (A freshly added batch norm with β = 0 does revive units killed by the Linear's "
        "bias: subtracting the batch mean throws that bias away. That is a reset of the shift, not a cure; "
        "a large step can push β down again.) What removes the cause is a nonzero slope for z < 0.",
}


def _right_answer():
    return {"vanishing": "residual", "exploding": "batch_norm", "dead": "leaky_relu"}


@exercise(
    "13.remedies", "Which remedy for which symptom",
    right=[_right_answer(), {**_right_answer(), "vanishing": "batch_norm"},
           {"vanishing": "ReLU", "exploding": "BN", "dead": "LeakyReLU"}],
    wrong={"batch norm for bias-killed units": {**_right_answer(), "dead": "batch_norm"},
           "ReLU for exploding tanh": {**_right_answer(), "exploding": "relu"},
           "residual for dead units": {**_right_answer(), "dead": "residual"},
           "residual for exploding": {**_right_answer(), "exploding": "residual"},
           "not a remedy of this notebook": {**_right_answer(), "exploding": "gradient clipping"},
           "a symptom missing": {"vanishing": "residual", "exploding": "batch_norm"},
           "not a dict": ["residual", "batch_norm", "leaky_relu"]},
    success="Residual paths, batch norm and ReLU all stop the vanishing; only batch norm undoes the "
            "oversized init; only a nonzero negative slope (LeakyReLU) reaches units that are off on every "
            "input.",
)
def _check_remedies(answer):
    if not isinstance(answer, dict):
        raise Incorrect(f"Give a dict {{symptom: remedy}}; got {type(answer).__name__}.",
                        'For example {"vanishing": "relu", "exploding": "relu", "dead": "relu"}.')
    if all(v is None or v is Ellipsis for v in answer.values()):
        raise NotAttempted
    open_ = [s for s in SYMPTOMS if answer.get(s) is None or answer.get(s) is Ellipsis]
    require(not open_, f"Pick a remedy for every symptom: {open_} still open.",
            f"One of {REMEDIES} for each of {tuple(SYMPTOMS)}.")
    wrong, hints = [], []
    for symptom in SYMPTOMS:
        remedy = remedy_name(answer[symptom])
        require(remedy is not None, f"{answer[symptom]!r} (for {symptom!r}) is not one of this notebook's "
                f"remedies {REMEDIES}.", "Gradient clipping, smaller learning rates and other fixes are not "
                "changes to the architecture; pick from the four names.")
        run = run_symptom(symptom, remedy)
        if not run.fixed:
            wrong.append(f"{symptom}: with {remedy}, {run.summary}")
            hints.append(_WHY.get((symptom, remedy), "Look at the table of runs in the notebook."))
    if wrong:
        raise Incorrect(f"{len(SYMPTOMS) - len(wrong)} of {len(SYMPTOMS)} fixed. " + " | ".join(wrong) + ".",
                        " ".join(hints))
