"""Checkers for notebook 10 (learning-rate schedules and gradient clipping).

* ``10.cosine_lr``: ``cosine_lr(t, T, lr0, lr_min=0.0)`` = η_min + ½(η₀ − η_min)(1 + cos(πt/T)),
  the lr of ``CosineAnnealingLR(T_max=T, eta_min=lr_min)`` at step t; catches a missing ½
  (starts at 2η₀), T − 1 for T (reaches η_min one step early), a dropped η_min and a missing π;
* ``10.clip_by_global_norm``: ``clip_by_global_norm(grads, max_norm)`` scales a list of
  gradient arrays by min(1, τ/‖g‖) with ‖g‖ the norm of all of them together (as
  ``clip_grad_norm_``); catches clipping each tensor on its own, scaling up gradients that
  are already shorter than τ, clamping entries (clip by value) and Σᵢ‖gᵢ‖ for the norm.
"""

from __future__ import annotations

import math

import numpy as np

from .core import Incorrect, exercise, require, require_callable

# -- 10.cosine_lr -----------------------------------------------------------------------------

_COSINE_CASES = ((50, 0.1, 0.001), (7, 1.0, 0.0), (200, 0.03, 0.01))   # (T, η₀, η_min)


def _cosine(t, T, lr0, lr_min):
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(math.pi * t / T))


def _cosine_ref(t, T, lr0, lr_min=0.0):
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(math.pi * t / T))


def _cosine_numpy(t, T, lr0, lr_min=0.0):
    return float(lr_min + (lr0 - lr_min) * (1 + np.cos(np.pi * t / T)) / 2)


def _wrong_no_half(t, T, lr0, lr_min=0.0):
    return lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * t / T))


def _wrong_t_minus_1(t, T, lr0, lr_min=0.0):
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(math.pi * t / (T - 1)))


def _wrong_no_lr_min(t, T, lr0, lr_min=0.0):
    return 0.5 * lr0 * (1 + math.cos(math.pi * t / T))


def _wrong_no_pi(t, T, lr0, lr_min=0.0):
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(t / T))


def _curve(fn, T, lr0, lr_min):
    return np.array([fn(t, T, lr0, lr_min) for t in range(T + 1)], dtype=float)


@exercise(
    "10.cosine_lr", "Cosine annealing",
    right=[_cosine_ref, _cosine_numpy],
    wrong={"missing ½": _wrong_no_half, "T − 1 instead of T": _wrong_t_minus_1,
           "drops lr_min": _wrong_no_lr_min, "missing π": _wrong_no_pi},
    success="η_min + ½(η₀ − η_min)(1 + cos(πt/T)): η₀ at t = 0, the midpoint at T/2, η_min at t = T.",
)
def _check_cosine_lr(answer):
    require_callable(answer, "cosine_lr")
    for T, lr0, lr_min in _COSINE_CASES:
        got = []
        for t in range(T + 1):
            value = answer(t, T, lr0, lr_min)
            require(value is not None, "cosine_lr returned None.", "Return the learning rate, one number.")
            try:
                got.append(float(value))
            except (TypeError, ValueError) as err:
                raise Incorrect(f"cosine_lr should return one number; got {type(value).__name__}.",
                                "Return a float such as lr_min + 0.5 * (lr0 - lr_min) * (...).") from err
        got = np.array(got)
        expected = _curve(_cosine, T, lr0, lr_min)
        if np.allclose(got, expected, rtol=1e-9, atol=1e-15):
            continue
        where = f"(T = {T}, lr0 = {lr0:g}, lr_min = {lr_min:g})"
        if np.allclose(got, _curve(_wrong_no_half, T, lr0, lr_min), rtol=1e-9, atol=1e-15):
            raise Incorrect(f"At t = 0 your lr is {got[0]:.4g} {where}, twice the base lr minus lr_min: "
                            "the schedule should start at lr0.",
                            "1 + cos(πt/T) runs from 2 down to 0; the factor ½ makes it run from 1 to 0.")
        early = _curve(_wrong_t_minus_1, T, lr0, lr_min)
        if T > 1 and np.allclose(got[:T], early[:T], rtol=1e-9, atol=1e-15):
            raise Incorrect(f"Your lr reaches lr_min = {lr_min:g} at t = T − 1 = {T - 1} and is "
                            f"{got[T]:.4g} at t = T {where}.",
                            "CosineAnnealingLR(T_max=T) reaches eta_min at t = T: divide by T, not T − 1.")
        if lr_min > 0 and np.allclose(got, _curve(_wrong_no_lr_min, T, lr0, lr_min), rtol=1e-9, atol=1e-15):
            raise Incorrect(f"At t = T = {T} your lr is {got[T]:.4g}, not lr_min = {lr_min:g} {where}.",
                            "Anneal the distance above the floor: lr_min + ½(lr0 − lr_min)(1 + cos(πt/T)).")
        if np.allclose(got, _curve(_wrong_no_pi, T, lr0, lr_min), rtol=1e-9, atol=1e-15):
            raise Incorrect(f"At t = T = {T} your lr is {got[T]:.4g}, far above lr_min = {lr_min:g} {where}: "
                            "the cosine only turned by 1 radian.",
                            "Half a period is π radians: use cos(π t / T).")
        i = int(np.argmax(np.abs(got - expected)))
        raise Incorrect(f"cosine_lr({i}, {T}, {lr0:g}, {lr_min:g}) = {got[i]:.6g}; "
                        f"expected {expected[i]:.6g}.",
                        "Check the three anchor points: lr0 at t = 0, (lr0 + lr_min)/2 at t = T/2, "
                        "lr_min at t = T.")


# -- 10.clip_by_global_norm -------------------------------------------------------------------

def _clip_ref(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))        # ‖g‖ over all parameters
    scale = min(1.0, max_norm / total) if total > 0 else 1.0          # min(1, τ/‖g‖)
    return [g * scale for g in grads]


def _clip_concat(grads, max_norm):
    norm = np.linalg.norm(np.concatenate([np.ravel(g) for g in grads]))
    return [g * max_norm / norm if norm > max_norm else g.copy() for g in grads]


def _wrong_per_tensor(grads, max_norm):
    return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]


def _wrong_scales_up(grads, max_norm):
    norm = np.linalg.norm(np.concatenate([np.ravel(g) for g in grads]))
    return [g * max_norm / norm for g in grads]


def _wrong_clip_value(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads]


def _wrong_sum_of_norms(grads, max_norm):
    norm = sum(np.linalg.norm(g) for g in grads)
    return [g * min(1.0, max_norm / norm) for g in grads]


def _gradients(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((3, 4)), rng.standard_normal(4), 3.0 * rng.standard_normal((2, 2))]


def _as_list(got, grads):
    require(got is not None, "clip_by_global_norm returned None.",
            "Return the list of clipped gradient arrays (one per parameter).")
    try:
        got = [np.asarray(g, dtype=float) for g in got]
    except (TypeError, ValueError) as err:
        raise Incorrect(f"clip_by_global_norm should return a list of arrays; got {type(got).__name__}.",
                        "Return [g * scale for g in grads].") from err
    require(len(got) == len(grads),
            f"clip_by_global_norm returned {len(got)} arrays for {len(grads)} gradients.",
            "Return one clipped array per gradient, in the same order.")
    for i, (a, g) in enumerate(zip(got, grads, strict=True)):
        require(a.shape == g.shape, f"gradient {i} has shape {g.shape}, but you returned shape {a.shape}.",
                "Scale each array; do not flatten or concatenate the result.")
    return got


def _same(got, arrays):
    return all(np.allclose(a, e, rtol=1e-6, atol=1e-12) for a, e in zip(got, arrays, strict=True))


def _norm(arrays):
    return math.sqrt(sum(float(np.sum(a**2)) for a in arrays))


@exercise(
    "10.clip_by_global_norm", "Clipping by the global norm",
    right=[_clip_ref, _clip_concat],
    wrong={"per-tensor clipping": _wrong_per_tensor, "scales up below τ": _wrong_scales_up,
           "clip by value": _wrong_clip_value, "sum of norms": _wrong_sum_of_norms},
    success="One scale for all parameters, min(1, τ/‖g‖): the direction is kept and only a long "
            "gradient gets shorter.",
)
def _check_clip_by_global_norm(answer):
    require_callable(answer, "clip_by_global_norm")
    for seed, max_norm in ((0, 1.0), (1, 2.5), (2, 100.0)):
        grads = _gradients(seed)
        total = _norm(grads)
        got = _as_list(answer([g.copy() for g in grads], max_norm), grads)
        expected = _clip_ref(grads, max_norm)
        if _same(got, expected):
            continue
        got_norm = _norm(got)
        flat_got = np.concatenate([a.ravel() for a in got])
        flat_g = np.concatenate([g.ravel() for g in grads])
        cos = float(flat_got @ flat_g) / (np.linalg.norm(flat_got) * np.linalg.norm(flat_g) or 1.0)
        if total < max_norm:
            if math.isclose(got_norm, max_norm, rel_tol=1e-6):
                raise Incorrect(f"The gradients have norm {total:.3g}, below max_norm = {max_norm:g}, "
                                f"and you stretched them to norm {got_norm:.3g}.",
                                "Clipping only shortens: scale by min(1, τ/‖g‖), which is 1 when ‖g‖ ≤ τ.")
            raise Incorrect(f"The gradients have norm {total:.3g}, below max_norm = {max_norm:g}: they "
                            "should come back unchanged.", "Scale by min(1, τ/‖g‖).")
        if _same(got, _wrong_clip_value(grads, max_norm)):
            raise Incorrect(f"Your result changes the gradient's direction (cos = {cos:.4f}): every entry "
                            f"is clamped to ±{max_norm:g}, which is clipping by value.",
                            "Clip by norm: multiply every array by the same number, min(1, τ/‖g‖).")
        if _same(got, _wrong_per_tensor(grads, max_norm)):
            raise Incorrect(f"Each of your arrays has norm ≤ {max_norm:g}, but together they have norm "
                            f"{got_norm:.3g} > max_norm, and the direction changed (cos = {cos:.4f}): each "
                            "tensor was clipped on its own.",
                            "Use one norm over all parameters, ‖g‖ = √(Σᵢ‖gᵢ‖²), and one scale for all.")
        if cos < 1 - 1e-9:
            raise Incorrect(f"Your result points in another direction than the gradient (cos = {cos:.4f}).",
                            "Clipping by norm multiplies every array by the same number, min(1, τ/‖g‖).")
        if got_norm < max_norm * (1 - 1e-6):
            raise Incorrect(f"Your clipped gradient has norm {got_norm:.4g}, below max_norm = {max_norm:g}: "
                            "the norm you divide by is too large.",
                            "The global norm is √(Σᵢ‖gᵢ‖²) (the norm of all entries together), not Σᵢ‖gᵢ‖.")
        raise Incorrect(f"Your clipped gradient has norm {got_norm:.4g}; expected max_norm = {max_norm:g} "
                        f"(the gradients' norm is {total:.3g}).", "Scale by min(1, τ/‖g‖).")
