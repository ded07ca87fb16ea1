"""Checkers for notebook 24 (scaling out).

* ``24.amdahl``: ``amdahl(p, n)`` = 1/((1 − p) + p/n); caught: p·n in place of p/n, the
  denominator without the reciprocal, Gustafson's scaled speed-up (1 − p) + p·n, the ideal n;
* ``24.allreduce``: ``allreduce(shard_grads, shard_sizes)`` = Σ n_k/n g_k, checked against the
  full-batch gradient of a bp network on unequal shards; caught: the mean of the shard means,
  Σ n_k g_k without the 1/n, the plain sum of the shard gradients;
* ``24.stable_lr``: the largest stable learning rate of gradient descent with staleness τ = 1 on
  f(θ) = 2θ² (L = 4): ηL < 2 sin(π/6) = 1, so η = 1/L = 0.25 (within 1 %); caught: 2/L = 0.5
  (no staleness), 1 (ηL, not η), 1/(2L) = 0.125 (stable but not the largest).
"""

from __future__ import annotations

import numbers

import numpy as np

from .core import Incorrect, exercise, require, require_callable

# -- 24.amdahl -----------------------------------------------------------------------------------

_AMDAHL_CASES = ((0.9, 10), (0.5, 2), (0.99, 1000), (0.0, 8), (1.0, 8), (0.75, 1), (0.3, 64))


def _amdahl_ref(p, n):
    return 1.0 / ((1.0 - p) + p / n)


def _amdahl_library(p, n):
    from ..train.parallel import amdahl

    return amdahl(p, n)


def _wrong_p_times_n(p, n):
    return 1.0 / ((1.0 - p) + p * n)


def _wrong_not_inverted(p, n):
    return (1.0 - p) + p / n


def _wrong_gustafson(p, n):
    return (1.0 - p) + p * n


def _wrong_ideal(p, n):
    return float(n)


@exercise(
    "24.amdahl", "Amdahl's law",
    right=[_amdahl_ref, _amdahl_library, lambda p, n: n / (n * (1 - p) + p)],
    wrong={"p·N instead of p/N": _wrong_p_times_n, "time, not speed-up": _wrong_not_inverted,
           "Gustafson's scaled speed-up": _wrong_gustafson, "ideal N": _wrong_ideal},
    success="S(N) = 1/((1 − p) + p/N): it never exceeds N, nor 1/(1 − p) however many workers you add.",
)
def _check_amdahl(answer):
    require_callable(answer, "amdahl")
    for p, n in _AMDAHL_CASES:
        got = answer(p, n)
        require(isinstance(got, numbers.Real) or np.ndim(got) == 0,
                f"amdahl({p}, {n}) should return one number; got {got!r}.")
        got, ref = float(got), _amdahl_ref(p, n)
        if np.isclose(got, ref, rtol=1e-9):
            continue
        where = f"amdahl(p={p}, n={n}) = {got:.6g}; expected {ref:.6g}"
        if np.isclose(got, _wrong_p_times_n(p, n), rtol=1e-9):
            raise Incorrect(f"{where}: more workers make your step slower.",
                            "The parallel part p is shared by N workers: it takes p/N of the time, not p·N.")
        if np.isclose(got, _wrong_not_inverted(p, n), rtol=1e-9):
            raise Incorrect(f"{where}: that is the time of the step on N workers (as a fraction of one "
                            "worker's), not the speed-up.", "Speed-up = old time / new time: take 1 / (...).")
        if np.isclose(got, _wrong_gustafson(p, n), rtol=1e-9):
            raise Incorrect(f"{where}: that is Gustafson's law, the speed-up when the problem grows with N "
                            "(the parallel part done N times over in the same time).",
                            "Amdahl keeps the problem fixed: the serial part 1 − p stays, the parallel part "
                            "shrinks to p/N.")
        if np.isclose(got, n, rtol=1e-9) and p < 1:
            raise Incorrect(f"{where}: N is the ideal, reached only when nothing is serial (p = 1).",
                            "The serial part 1 − p takes as long on N workers as on one.")
        raise Incorrect(where, "Time on N workers = (1 − p) + p/N (one worker's time = 1); S = 1 / that.")


# -- 24.allreduce ------------------------------------------------------------------------------------

_SHARDS = ((5, 20, 39), (30, 2), (8, 8, 8, 8, 1))


def _allreduce_ref(shard_grads, shard_sizes):
    n = sum(shard_sizes)
    return sum(n_k / n * np.asarray(g) for g, n_k in zip(shard_grads, shard_sizes, strict=True))


def _allreduce_average(shard_grads, shard_sizes):
    return np.average(np.stack(shard_grads), axis=0, weights=shard_sizes)


def _allreduce_library(shard_grads, shard_sizes):
    from ..train.parallel import allreduce

    return allreduce(shard_grads, shard_sizes)


def _wrong_mean_of_means(shard_grads, shard_sizes):
    return np.mean(shard_grads, axis=0)


def _wrong_no_division(shard_grads, shard_sizes):
    return sum(n_k * np.asarray(g) for g, n_k in zip(shard_grads, shard_sizes, strict=True))


def _wrong_plain_sum(shard_grads, shard_sizes):
    return np.sum(shard_grads, axis=0)


def _allreduce_case(sizes, seed):
    from ..nn import MSELoss, mlp
    from ..train.noise import flat_gradient
    from ..train.parallel import shard_gradients

    rng = np.random.default_rng(seed)
    n = sum(sizes)
    x, y = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))
    net, loss_fn = mlp([3, 6, 2], activation="tanh", seed=seed), MSELoss()
    shards = shard_gradients(net, loss_fn, x, y, list(sizes))
    return shards, flat_gradient(net, loss_fn, x, y)


@exercise(
    "24.allreduce", "All-reduce for unequal shards",
    right=[_allreduce_ref, _allreduce_average, _allreduce_library],
    wrong={"mean of the shard means": _wrong_mean_of_means, "Σ n_k g_k without 1/n": _wrong_no_division,
           "plain sum": _wrong_plain_sum},
    success="Σ n_k/n g_k is the full batch's gradient: each example counts once, whichever shard it is in.",
)
def _check_allreduce(answer):
    require_callable(answer, "allreduce")
    for seed, sizes in enumerate(_SHARDS):
        shards, full = _allreduce_case(sizes, seed)
        got = answer([g.copy() for g in shards], list(sizes))
        require(got is not None, "allreduce returned None.", "Did you forget a `return`?")
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError) as err:
            raise Incorrect(f"allreduce should return an array; got {type(got).__name__}.") from err
        require(got.shape == full.shape, f"allreduce returned shape {got.shape}; the gradients have shape "
                f"{full.shape}.", "Combine the K gradients into one of the same shape.")
        if np.allclose(got, full, rtol=1e-10, atol=1e-13):
            continue
        where = f"shards of {list(sizes)} examples"
        if np.allclose(got, np.mean(shards, axis=0), rtol=1e-10, atol=1e-13):
            raise Incorrect(f"With {where} you return the mean of the shard means: an example of the small "
                            "shard then counts more than one of the large shard.",
                            "Weight each shard's gradient by its share of the examples, n_k/n.")
        if np.allclose(got, sum(shards), rtol=1e-10, atol=1e-13):
            raise Incorrect(f"With {where} you return the sum of the shard gradients, K times too large for "
                            "equal shards.", "Each g_k is already a mean over its shard: weight it by n_k/n.")
        if np.allclose(got, _wrong_no_division(shards, sizes), rtol=1e-10, atol=1e-13):
            raise Incorrect(f"With {where}, Σ n_k g_k is the gradient of the *summed* loss, n times the "
                            "mean's.", "Divide by n = Σ n_k.")
        i = int(np.argmax(np.abs(got - full)))
        raise Incorrect(f"With {where}, entry {i} is {got[i]:.6g}; the full batch gives {full[i]:.6g}.",
                        "g = Σ_k (n_k/n) g_k with n = Σ n_k.")


# -- 24.stable_lr --------------------------------------------------------------------------------------

_L = 4.0                                                 # f(θ) = 2θ²: f″ = 4


@exercise(
    "24.stable_lr", "The largest stable step with stale gradients",
    right=[0.25, 1 / _L, 0.2499, 0.251],
    wrong={"2/L (no staleness)": 2 / _L, "ηL instead of η": 1.0, "1/(2L)": 1 / (2 * _L),
           "not a number": "0.25"},
    success="At τ = 1 the characteristic roots satisfy |z|² = ηL: stable iff η < 1/L, half of the 2/L "
            "without staleness.",
)
def _check_stable_lr(answer):
    require(isinstance(answer, numbers.Real) and not isinstance(answer, bool),
            f"stable_lr should be a number (a learning rate); got {answer!r}.")
    eta = float(answer)
    require(eta > 0, f"a learning rate is positive; got {eta}.")
    if abs(eta - 1 / _L) <= 0.01 / _L:
        return
    if abs(eta - 2 / _L) <= 0.01 / _L:
        raise Incorrect(f"η = {eta:g} = 2/L is the limit without staleness; with τ = 1 it oscillates and "
                        "diverges.",
                        "Write θ_(t+1) = θ_t − ηL θ_(t−1) and look for θ_t = zᵗ: z² − z + ηL = 0.")
    if abs(eta - 1.0) <= 0.01:
        raise Incorrect(f"η = {eta:g} is the limit on ηL (= 1 at τ = 1), not on η.",
                        f"Divide by the curvature L = {_L:g} of f(θ) = 2θ².")
    if eta < 1 / _L:
        raise Incorrect(f"η = {eta:g} is stable, but a larger η is too: find the largest.",
                        "The roots of z² − z + ηL have |z|² = ηL when they are complex.")
    raise Incorrect(f"η = {eta:g} diverges (ηL = {eta * _L:g}).",
                    "With τ = 1: z² − z + ηL = 0; complex roots have |z|² = ηL, so |z| < 1 iff ηL < 1.")
