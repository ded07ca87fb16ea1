"""Checkers for notebook 25 (limits of backprop and alternatives).

* ``25.fa_backward``: ``fa_backward(delta, W, B, z)`` returns feedback alignment's error for a tanh
  layer, ``δ^l = (δ^{l+1} Bᵀ) ⊙ tanh′(z)`` (rows; column form ``B δ ⊙ φ′``), with ``delta: (batch, out)``,
  ``W: (out, in)`` the next layer's forward weight, ``B: (in, out)`` its fixed feedback matrix and
  ``z: (batch, in)``; caught: backprop's ``δ W`` (weight transport, W ≠ B), no ``φ′``, ``tanh(z)`` for
  ``tanh′(z)``;
* ``25.alignment_angle``: ``alignment_angle(a, b)``, the angle in degrees between two updates as whole
  vectors; caught: radians, the mean of per-sample (per-row) angles, the cosine itself;
* ``25.fgsm``: ``fgsm(x, grad, epsilon)`` returns ``clip(x + ε·sign(grad), 0, 1)``; caught: ``−sign``
  (a step *down* the loss), no clipping, ``ε·grad`` without the sign.
"""

from __future__ import annotations

import numpy as np

from .core import Incorrect, as_numbers, exercise, require, require_callable, require_close


def _same(got, expected) -> bool:
    return got.shape == np.shape(expected) and np.allclose(got, expected, rtol=1e-8, atol=1e-12)


# -- 25.fa_backward ------------------------------------------------------------------------

def _fa_ref(delta, W, B, z):
    return (delta @ B.T) * (1.0 - np.tanh(z) ** 2)          # δˡ = Bδˡ⁺¹ ⊙ φ′, in rows


def _fa_columns(delta, W, B, z):
    return ((B @ delta.T) / np.cosh(z.T) ** 2).T            # column form, transposed back


def _wrong_weight_transport(delta, W, B, z):
    return (delta @ W) * (1.0 - np.tanh(z) ** 2)


def _wrong_no_derivative(delta, W, B, z):
    return delta @ B.T


def _wrong_tanh_not_derivative(delta, W, B, z):
    return (delta @ B.T) * np.tanh(z)


def _fa_cases():
    rng = np.random.default_rng(25)
    for batch, n_in, n_out in ((4, 6, 3), (1, 5, 2), (7, 8, 10)):
        W = rng.uniform(-1, 1, (n_out, n_in)) / np.sqrt(n_in)
        B = rng.uniform(-1, 1, (n_in, n_out)) / np.sqrt(n_out)
        yield rng.normal(size=(batch, n_out)), W, B, rng.normal(size=(batch, n_in))


@exercise(
    "25.fa_backward", "Feedback alignment's backward step",
    right=[_fa_ref, _fa_columns],
    wrong={"W instead of B (weight transport)": _wrong_weight_transport, "no φ′": _wrong_no_derivative,
           "tanh instead of tanh′": _wrong_tanh_not_derivative},
    success="δˡ = Bˡ⁺¹δˡ⁺¹ ⊙ φ′: the forward weights never travel backwards.",
)
def _check_fa_backward(answer):
    require_callable(answer, "fa_backward")
    for delta, W, B, z in _fa_cases():
        where = f"fa_backward(delta {delta.shape}, W {W.shape}, B {B.shape}, z {z.shape})"
        got = as_numbers(answer(delta.copy(), W.copy(), B.copy(), z.copy()), where)
        if _same(got, _wrong_weight_transport(delta, W, B, z)):
            raise Incorrect(f"{where}: you sent δ back through the forward weights W: that is backprop.",
                            "Feedback alignment replaces Wᵀ by the fixed random B: δ @ B.T, not δ @ W.")
        if _same(got, _wrong_no_derivative(delta, W, B, z)):
            raise Incorrect(f"{where}: the feedback is right but φ′(z) is missing.",
                            "Multiply elementwise by tanh′(z) = 1 − tanh²(z).")
        if _same(got, _wrong_tanh_not_derivative(delta, W, B, z)):
            raise Incorrect(f"{where}: you multiplied by tanh(z) instead of its derivative.",
                            "tanh′(z) = 1 − tanh²(z).")
        require_close(got, _fa_ref(delta, W, B, z), where, rtol=1e-8, atol=1e-12,
                      hint="δ: (batch, out), B: (in, out), so δ @ B.T is (batch, in); then ⊙ (1 − tanh²(z)).")


# -- 25.alignment_angle --------------------------------------------------------------------

def _angle_ref(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(np.degrees(np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1))))


def _angle_library(a, b):
    from ..train.feedback_alignment import alignment_angle

    return alignment_angle(np.asarray(a, dtype=float), np.asarray(b, dtype=float))


def _wrong_radians(a, b):
    return float(np.radians(_angle_ref(a, b)))


def _wrong_per_sample(a, b):
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    return float(np.mean([_angle_ref(r, s) for r, s in zip(a, b, strict=True)]))


def _wrong_cosine(a, b):
    return float(np.cos(np.radians(_angle_ref(a, b))))


def _angle_cases():
    rng = np.random.default_rng(7)
    yield np.array([1.0, 0.0]), np.array([1.0, 1.0])
    yield np.array([[1.0, 0.0], [10.0, 10.0]]), np.array([[0.0, 1.0], [10.0, 10.0]])
    a = rng.normal(size=(6, 5))
    yield a, a * rng.uniform(0.5, 2.0, size=(6, 1)) + rng.normal(size=(6, 5)) * np.arange(6)[:, None]
    yield rng.normal(size=(3, 4)), rng.normal(size=(3, 4))


@exercise(
    "25.alignment_angle", "The angle between two updates",
    right=[_angle_ref, _angle_library],
    wrong={"radians": _wrong_radians, "mean of per-sample angles": _wrong_per_sample,
           "cosine": _wrong_cosine},
    success="One angle for the whole update, in degrees: 90° = unrelated, 0° = backprop's direction.",
)
def _check_alignment_angle(answer):
    require_callable(answer, "alignment_angle")
    for a, b in _angle_cases():
        where = f"alignment_angle(a {a.shape}, b {b.shape})"
        got = answer(a.copy(), b.copy())
        try:
            got = float(got)
        except (TypeError, ValueError) as err:
            raise Incorrect(f"{where} should return one number; got {type(got).__name__}.",
                            "Flatten both arrays and return a single angle.") from err
        expected = _angle_ref(a, b)
        if np.isclose(got, np.radians(expected), rtol=1e-8) and not np.isclose(got, expected):
            raise Incorrect(f"{where} = {got:.4g}: that is the angle in radians; expected {expected:.4g}°.",
                            "np.degrees(np.arccos(cos)).")
        if np.isclose(got, _wrong_cosine(a, b), rtol=1e-8) and not np.isclose(got, expected):
            raise Incorrect(f"{where} = {got:.4g} is the cosine; expected the angle, {expected:.4g}°.",
                            "Take np.degrees(np.arccos(...)) of it.")
        per_row = a.ndim == 2 and np.isclose(got, _wrong_per_sample(a, b), rtol=1e-8)
        if per_row and not np.isclose(got, expected):
            raise Incorrect(f"{where} = {got:.4g}: the mean of one angle per row; the update is one vector "
                            f"and its angle is {expected:.4g}°.",
                            "Flatten a and b (np.ravel) and compute a single angle; rows with large entries "
                            "then weigh as much as they do in the update.")
        require(np.isclose(got, expected, rtol=1e-8, atol=1e-8),
                f"{where} = {got:.6g}; expected {expected:.6g}°.",
                "cos = a·b / (‖a‖‖b‖) over all entries, then np.degrees(np.arccos(cos)).")


# -- 25.fgsm -------------------------------------------------------------------------------

def _fgsm_ref(x, grad, epsilon):
    return np.clip(x + epsilon * np.sign(grad), 0.0, 1.0)


def _fgsm_library(x, grad, epsilon):
    from ..train.adversarial import fgsm_step

    return fgsm_step(x, grad, epsilon)


def _wrong_minus_sign(x, grad, epsilon):
    return np.clip(x - epsilon * np.sign(grad), 0.0, 1.0)


def _wrong_no_clip(x, grad, epsilon):
    return x + epsilon * np.sign(grad)


def _wrong_no_sign(x, grad, epsilon):
    return np.clip(x + epsilon * grad, 0.0, 1.0)


def _fgsm_cases():
    rng = np.random.default_rng(3)
    x = np.array([[0.0, 0.02, 0.5, 0.95, 1.0, 0.3]])
    yield x, np.array([[-1.0, -0.3, 0.2, 0.4, 2.0, -0.7]]), 0.1
    yield rng.uniform(0, 1, size=(5, 64)).round(1), rng.normal(size=(5, 64)) * 1e-3, 0.15


@exercise(
    "25.fgsm", "The fast gradient sign method",
    right=[_fgsm_ref, _fgsm_library],
    wrong={"−sign": _wrong_minus_sign, "no clipping": _wrong_no_clip, "ε·grad without sign": _wrong_no_sign},
    success="x′ = clip(x + ε·sign ∇ₓL): every pixel moves by ε up the loss, and stays a valid pixel.",
)
def _check_fgsm(answer):
    require_callable(answer, "fgsm")
    for x, grad, eps in _fgsm_cases():
        where = f"fgsm(x {x.shape}, grad, epsilon={eps})"
        got = as_numbers(answer(x.copy(), grad.copy(), eps), where)
        if _same(got, _wrong_minus_sign(x, grad, eps)):
            raise Incorrect(f"{where}: you stepped against the gradient, which lowers the loss.",
                            "An attack climbs the loss: x + ε·sign(∇ₓL).")
        if _same(got, _wrong_no_clip(x, grad, eps)):
            raise Incorrect(f"{where}: some pixels left [0, 1].",
                            "Clip the result: np.clip(x + ε·sign(grad), 0, 1).")
        if _same(got, _wrong_no_sign(x, grad, eps)):
            raise Incorrect(f"{where}: you moved by ε·grad; FGSM moves every pixel by exactly ε.",
                            "Use np.sign(grad).")
        require_close(got, _fgsm_ref(x, grad, eps), where, rtol=1e-10, atol=1e-12,
                      hint="np.clip(x + epsilon * np.sign(grad), 0, 1).")
