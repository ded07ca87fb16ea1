"""Checkers for notebook 08 (gradient descent).

* ``08.gd``: ``gd(grad, theta0, lr, steps)`` runs θ ← θ − η ∇f(θ) ``steps`` times from a copy of
  θ₀ and returns the last θ (on a quadratic: (I − ηH)^steps θ₀); catches ``+`` (ascent), a
  stale gradient, and θ₀ changed in place;
* ``08.max_stable_lr``: ``max_stable_lr(H)`` = 2/λ_max(H) (within 1 %); catches 2/λ_min, 1/λ_max
  and 2/max diag(H) (right only when H is diagonal);
* ``08.minibatches``: ``minibatches(n, batch_size, rng)``: consecutive slices of one random
  permutation drawn from ``rng`` (every index once per epoch, the last batch smaller); catches
  sampling with replacement, batches drawn independently, no shuffling, the global RNG, and a
  dropped last batch.
"""

from __future__ import annotations

import math

import numpy as np

from .core import Incorrect, exercise, require, require_callable, require_close

# -- 08.gd ------------------------------------------------------------------------------------

_H = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])   # symmetric, eigenvalues in (0.5, 3.6)
_THETA0 = np.array([1.0, -2.0, 0.5])
_LR, _STEPS = 0.2, 25


def _quadratic_grad(theta):
    return _H @ theta                                   # ∇(½ θᵀHθ) = Hθ


def _gd_ref(grad, theta0, lr, steps):
    theta = np.array(theta0, dtype=float)               # a copy: the caller's θ₀ is left alone
    for _ in range(steps):
        theta = theta - lr * grad(theta)                # θ ← θ − η ∇f(θ)
    return theta


def _gd_inplace_copy(grad, theta0, lr, steps):
    theta = theta0.copy()
    for _ in range(steps):
        theta -= lr * grad(theta)
    return theta


def _wrong_plus(grad, theta0, lr, steps):               # gradient *ascent*
    theta = np.array(theta0, dtype=float)
    for _ in range(steps):
        theta = theta + lr * grad(theta)
    return theta


def _wrong_stale(grad, theta0, lr, steps):              # the gradient at θ₀, every step
    g = grad(theta0)
    theta = np.array(theta0, dtype=float)
    for _ in range(steps):
        theta = theta - lr * g
    return theta


def _wrong_mutates(grad, theta0, lr, steps):            # θ₀ itself is updated (no copy)
    theta = theta0
    for _ in range(steps):
        theta -= lr * grad(theta)
    return theta


@exercise(
    "08.gd", "Gradient descent",
    right=[_gd_ref, _gd_inplace_copy],
    wrong={"+ (gradient ascent)": _wrong_plus, "stale gradient": _wrong_stale,
           "changes theta0 in place": _wrong_mutates},
    success="θ ← θ − η ∇f(θ), with the gradient taken at the current θ, on a copy of θ₀.",
)
def _check_gd(answer):
    require_callable(answer, "gd")
    theta0 = _THETA0.copy()
    with np.errstate(all="ignore"):
        got = answer(_quadratic_grad, theta0, _LR, _STEPS)
    require(got is not None, "gd returned None.", "Return the final θ.")
    got = np.asarray(got, dtype=float)
    require(got.shape == _THETA0.shape, f"gd should return θ, shape {_THETA0.shape}; got shape {got.shape}.",
            "Return only the last iterate θ, not the whole path.")
    if not np.array_equal(theta0, _THETA0):
        raise Incorrect("gd changed the caller's theta0: after the call it is "
                        f"{np.array2string(theta0, precision=4)}, not {_THETA0.tolist()}.",
                        "`theta = theta0` does not copy a NumPy array, so `theta -= ...` updates theta0 too. "
                        "Start from `theta = np.array(theta0, dtype=float)` (or theta0.copy()).")
    expected = np.linalg.matrix_power(np.eye(3) - _LR * _H, _STEPS) @ _THETA0   # (I − ηH)^t θ₀
    ascent = np.linalg.matrix_power(np.eye(3) + _LR * _H, _STEPS) @ _THETA0     # (I + ηH)^t θ₀
    if np.allclose(got, ascent, rtol=1e-6):
        start, end = 0.5 * _THETA0 @ _H @ _THETA0, 0.5 * ascent @ _H @ ascent
        raise Incorrect(f"On f(θ) = ½ θᵀHθ your gd makes f grow from {start:.3g} to {end:.3g} in "
                        f"{_STEPS} steps at lr = {_LR}, a learning rate that converges: it climbs.",
                        "The gradient points uphill: step against it, θ − η ∇f(θ), not θ + η ∇f(θ).")
    stale = _THETA0 - _STEPS * _LR * _quadratic_grad(_THETA0)
    if np.allclose(got, stale, rtol=1e-6):
        raise Incorrect("Your gd moves in a straight line: it uses the gradient at θ₀ in every step.",
                        "Call grad(theta) inside the loop, at the current θ: the gradient changes as θ "
                        "moves.")
    require_close(got, expected, f"gd(∇f, θ₀, lr={_LR}, steps={_STEPS}) on f = ½ θᵀHθ", rtol=1e-9, atol=1e-12,
                  hint="Evaluate the gradient at the current θ in every step (not once at θ₀), and make "
                       "exactly `steps` updates.")
    require_close(answer(_quadratic_grad, _THETA0.copy(), _LR, 0), _THETA0, "gd with steps=0",
                  hint="Zero steps leave θ at θ₀.")


# -- 08.max_stable_lr ------------------------------------------------------------------------

def _spd(eigenvalues, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(eigenvalues),) * 2))
    h = q @ np.diag(eigenvalues) @ q.T
    return (h + h.T) / 2


_HESSIANS = (np.diag([4.0, 1.0]), _H, _spd([0.01, 0.3, 2.0, 7.5, 10.0], 1),
             _spd(np.geomspace(1e-3, 50, 8), 2))


def _max_lr_ref(H):
    return 2.0 / np.linalg.eigvalsh(H)[-1]              # eigvalsh sorts ascending: the last is λ_max


def _max_lr_norm(H):
    return 2.0 / np.linalg.norm(H, 2)                   # the spectral norm of a PSD matrix is λ_max


def _wrong_lambda_min(H):
    return 2.0 / np.linalg.eigvalsh(H)[0]


def _wrong_one_over(H):
    return 1.0 / np.linalg.eigvalsh(H)[-1]


def _wrong_diagonal(H):
    return 2.0 / np.max(np.diag(H))


@exercise(
    "08.max_stable_lr", "The largest stable learning rate",
    right=[_max_lr_ref, _max_lr_norm],
    wrong={"2/λ_min": _wrong_lambda_min, "1/λ_max": _wrong_one_over, "2/max diag(H)": _wrong_diagonal},
    success="Every direction needs |1 − ηλ| < 1, and the sharpest one (λ_max) binds first: η < 2/λ_max.",
)
def _check_max_stable_lr(answer):
    require_callable(answer, "max_stable_lr")
    for H in _HESSIANS:
        lam = np.linalg.eigvalsh(H)
        got = answer(H.copy())
        require(got is not None, "max_stable_lr returned None.", "Return one number, the learning rate.")
        try:
            got = float(got)
        except (TypeError, ValueError) as err:
            raise Incorrect(f"max_stable_lr should return one number; got {type(got).__name__}.",
                            "Return a float, e.g. 2 / lam_max.") from err
        right = 2.0 / lam[-1]
        if math.isclose(got, right, rel_tol=0.01):
            continue
        shown = np.array2string(lam, precision=3)
        if math.isclose(got, 2.0 / lam[0], rel_tol=0.01):
            raise Incorrect(f"For H with eigenvalues {shown} you return 2/λ_min = {got:.4g}.",
                            "That is the limit of the flattest direction. Along the sharpest one, 1 − ηλ_max "
                            "is then far below −1 and that component blows up: the largest λ sets the limit.")
        if math.isclose(got, 1.0 / lam[-1], rel_tol=0.01):
            raise Incorrect(f"For H with eigenvalues {shown} you return 1/λ_max = {got:.4g}.",
                            "Above 1/λ_max the sharpest component changes sign every step (1 − ηλ < 0) but "
                            "still shrinks while |1 − ηλ| < 1: gradient descent is stable up to 2/λ_max.")
        raise Incorrect(f"For H with eigenvalues {shown} you return {got:.4g}; "
                        f"expected 2/λ_max = {right:.4g}.",
                        "The eigenvalues of a non-diagonal H are not its diagonal entries: use "
                        "np.linalg.eigvalsh(H), which returns them in ascending order.")


# -- 08.minibatches ---------------------------------------------------------------------------

def _batches_ref(n, batch_size, rng):
    order = rng.permutation(n)                          # one shuffle per epoch
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _batches_choice(n, batch_size, rng):
    order = rng.choice(n, size=n, replace=False)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _wrong_with_replacement(n, batch_size, rng):        # each batch drawn with replacement
    return [rng.choice(n, size=min(batch_size, n - i)) for i in range(0, n, batch_size)]


def _wrong_independent_batches(n, batch_size, rng):     # no repeats inside a batch, but across batches
    return [rng.choice(n, size=min(batch_size, n - i), replace=False) for i in range(0, n, batch_size)]


def _wrong_no_shuffle(n, batch_size, rng):
    order = np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _wrong_global_rng(n, batch_size, rng):              # ignores rng: not reproducible from a seed
    order = np.random.permutation(n)                    # noqa: NPY002 (the mistake this answer shows)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _wrong_drop_last(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


def _as_batches(got, n):
    require(got is not None, "minibatches returned None.", "Return the list of index arrays.")
    try:
        batches = [np.asarray(b) for b in got]
    except TypeError as err:
        raise Incorrect(f"minibatches should return a list of index arrays; got {type(got).__name__}.",
                        "Return [order[0:B], order[B:2B], ...].") from err
    for b in batches:
        require(b.ndim == 1 and (b.size == 0 or b.dtype.kind in "iu"),
                f"each batch should be a 1-D array of integer indices; got one with shape {b.shape}, "
                f"dtype {b.dtype}.", "Slice an integer permutation such as rng.permutation(n).")
    return batches


def _check_epoch(answer, n, b):
    batches = _as_batches(answer(n, b, np.random.default_rng(7)), n)
    flat = np.concatenate(batches) if batches else np.array([], dtype=int)
    require(np.all((flat >= 0) & (flat < n)),
            f"minibatches({n}, {b}, rng) returned indices outside 0…{n - 1}.",
            "Indices of n samples run from 0 to n − 1.")
    counts = np.bincount(flat, minlength=n)
    twice = np.flatnonzero(counts > 1)
    if twice.size:
        raise Incorrect(
            f"minibatches({n}, {b}, rng): {twice.size} sample(s) appear more than once in one epoch "
            f"(sample {int(twice[0])} {int(counts[twice[0]])} times) and {int(np.sum(counts == 0))} never "
            "appear: that is sampling with replacement.",
            "An epoch visits every sample exactly once: shuffle once (rng.permutation(n)) and cut the "
            "shuffled order into consecutive slices, instead of drawing each batch at random.")
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        raise Incorrect(f"minibatches({n}, {b}, rng) leaves out {missing.size} sample(s) "
                        f"(e.g. {int(missing[0])}).",
                        "Keep the last, smaller batch: slice with range(0, n, batch_size).")
    sizes = [len(x) for x in batches]
    expected = [b] * (n // b) + ([n % b] if n % b else [])
    require(sizes == expected, f"minibatches({n}, {b}, rng) gives batch sizes {sizes}; expected {expected}.",
            "Consecutive slices of batch_size, and only the last one smaller.")
    return flat


@exercise(
    "08.minibatches", "Mini-batches for one epoch",
    right=[_batches_ref, _batches_choice],
    wrong={"with replacement": _wrong_with_replacement, "independent batches": _wrong_independent_batches,
           "no shuffle": _wrong_no_shuffle, "global np.random": _wrong_global_rng,
           "drops the last batch": _wrong_drop_last},
    success="One permutation per epoch, cut into slices: every sample once, in a new order each epoch.",
)
def _check_minibatches(answer):
    require_callable(answer, "minibatches")
    for n, b in ((100, 10), (103, 10), (7, 3), (5, 8)):
        _check_epoch(answer, n, b)
    if np.array_equal(_check_epoch(answer, 100, 10), np.arange(100)):
        raise Incorrect("minibatches returns the samples in their original order 0, 1, 2, …",
                        "Shuffle first (rng.permutation(n)): data is often sorted (by class, by date), and "
                        "batches of one class give gradients that pull in turn one way and the other.")
    first = np.concatenate(answer(100, 10, np.random.default_rng(3)))
    again = np.concatenate(answer(100, 10, np.random.default_rng(3)))
    if not np.array_equal(first, again):
        raise Incorrect("Two Generators with the same seed gave different batches: your function does not "
                        "draw from `rng`.",
                        "Use rng.permutation(n), not np.random.permutation(n): a run must be reproducible "
                        "from its seed.")
    other = np.concatenate(answer(100, 10, np.random.default_rng(4)))
    require(not np.array_equal(first, other), "Different seeds gave the same batches.",
            "Draw the order from rng, once per call.")
