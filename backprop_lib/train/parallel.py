"""Data parallelism, Amdahl's law and the layer chain, in a few small functions.

* the all-reduce of data parallelism: K workers hold shards of n_k examples and the gradients
  g_k of their shard's *mean* loss; the gradient of the whole batch of n = Σ n_k examples is

      g = Σ_k (n_k / n) g_k                  (the mean of the g_k only if all n_k are equal)

  ``shard_gradients`` computes the g_k with a model's own backward pass, ``allreduce`` combines them;
* Amdahl's law: a step whose parallelisable fraction of time is p runs on N workers at best
  S(N) = 1 / ((1 − p) + p/N) ≤ min(N, 1/(1 − p)) times faster (``amdahl``);
* the serial fraction from timings: a step on a batch of B examples takes t(B) ≈ s + c·B, a fixed
  cost s (per call overheads, the optimizer, communication) plus c per example, the only part N
  workers share; ``fit_step_time`` fits s and c, ``StepTimeFit.parallel_fraction(B)`` = cB/(s + cB);
* the layer chain: one forward and backward pass of an L-layer network is 3L layer operations
  (forward F_l, error δ_l, weight gradient W_l) whose dependencies form a chain of 2L + 1 of them
  (``backprop_dag``, ``critical_path``): no number of processors working on one batch, layer by
  layer, finishes sooner than 2L + 1 operations after it starts.

    bp.train.parallel.allreduce(shard_grads, shard_sizes)
    bp.train.parallel.amdahl(0.9, [1, 2, 8, 1024])
    fit = bp.train.parallel.fit_step_time(batch_sizes, seconds); fit.parallel_fraction(256)
    bp.train.parallel.critical_path(bp.train.parallel.backprop_dag(16))   # (33, 48)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_number, check_positive_int
from .noise import flat_gradient

__all__ = ["allreduce", "shard_gradients", "split_sizes", "amdahl", "fit_step_time", "StepTimeFit",
           "backprop_dag", "critical_path"]


# -- data parallelism ----------------------------------------------------------------------------

def split_sizes(n: int, k: int) -> list[int]:
    """Sizes of ``k`` contiguous shards of ``n`` examples, as ``np.array_split`` makes them
    (the first ``n % k`` shards one example larger)."""
    n, k = check_positive_int(n, "n"), check_positive_int(k, "k")
    if k > n:
        raise ValueError(f"cannot split n={n} examples into k={k} non-empty shards; use k ≤ n.")
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _check_sizes(shard_sizes, count: int) -> np.ndarray:
    sizes = np.asarray(shard_sizes)
    if sizes.ndim != 1 or sizes.size != count:
        raise ValueError(f"shard_sizes must list one size per shard ({count}); got {shard_sizes!r}.")
    if not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1):
        raise ValueError(f"shard_sizes must be positive whole numbers of examples; got {shard_sizes!r}.")
    return sizes


def allreduce(shard_grads, shard_sizes) -> np.ndarray:
    """g = Σ_k (n_k/n) g_k: the full-batch gradient from K shard gradients.

    shard_grads: K arrays of the same shape (each the gradient of its shard's mean loss);
    shard_sizes: K positive ints n_k. Returns an array of that shape.
    """
    grads = [np.asarray(g, dtype=np.result_type(g, np.float32)) for g in shard_grads]
    if not grads:
        raise ValueError("allreduce needs at least one shard gradient; got none.")
    sizes = _check_sizes(shard_sizes, len(grads))
    shapes = {g.shape for g in grads}
    if len(shapes) != 1:
        raise ValueError(f"every shard gradient must have the same shape; got {sorted(shapes)}.")
    n = sizes.sum()
    out = np.zeros_like(grads[0])
    for g, n_k in zip(grads, sizes, strict=True):
        out += (n_k / n) * g                                   # g = Σ n_k/n g_k
    return out


def shard_gradients(model, loss_fn, x, y, shard_sizes) -> list[np.ndarray]:
    """The gradient of each shard's mean loss, as flat vectors (what each worker computes).

    x: (n, in), y: (n, …) with n = Σ shard_sizes; shards are contiguous rows.
    Returns K arrays (n_params,). Leaves the last shard's gradient in ``p.grad``.
    """
    sizes = _check_sizes(shard_sizes, len(shard_sizes))
    if sizes.sum() != len(x):
        raise ValueError(f"shard_sizes must add up to the {len(x)} rows of x; they add up to {sizes.sum()}.")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return [flat_gradient(model, loss_fn, x[a:b], y[a:b])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


# -- Amdahl's law ------------------------------------------------------------------------------------

def amdahl(p, n):
    """S(N) = 1 / ((1 − p) + p/N): the speed-up on N workers of a job whose parallelisable fraction
    of time is p (the rest, 1 − p, runs serially). Broadcasts over arrays; scalars give a float."""
    p_arr, n_arr = np.asarray(p, dtype=float), np.asarray(n, dtype=float)
    if np.any((p_arr < 0) | (p_arr > 1)) or not np.all(np.isfinite(p_arr)):
        raise ValueError(f"p is a fraction of the time and must lie in [0, 1]; got {p!r}.")
    if np.any(n_arr < 1) or not np.all(np.isfinite(n_arr)):
        raise ValueError(f"n is a number of workers and must be ≥ 1; got {n!r}.")
    s = 1.0 / ((1.0 - p_arr) + p_arr / n_arr)
    return float(s) if s.ndim == 0 else s


@dataclass(frozen=True)
class StepTimeFit:
    """t(B) = s + c·B fitted by ``fit_step_time``: s (seconds per step), c (seconds per example)."""

    s: float
    c: float
    batch_sizes: np.ndarray
    seconds: np.ndarray

    def predict(self, batch):
        return self.s + self.c * np.asarray(batch, dtype=float)

    def parallel_fraction(self, batch) -> float:
        """p = cB / (s + cB): the share of a step at batch B that N workers divide among them."""
        b = check_number(batch, "batch", low=0, low_open=True)
        if self.s < 0 or self.c < 0 or self.s + self.c * b <= 0:
            raise ValueError(f"the fit t(B) = {self.s:.3g} + {self.c:.3g}·B has a negative term (or no "
                             "time at all), so it gives no fraction in [0, 1]; measure more repeats "
                             "or a wider range of batch sizes.")
        return self.c * b / (self.s + self.c * b)

    def speedup(self, batch, n):
        """Amdahl's S(N) with p = parallel_fraction(batch)."""
        return amdahl(self.parallel_fraction(batch), n)

    def max_speedup(self, batch) -> float:
        """S(∞) = 1/(1 − p) = (s + cB)/s: the ceiling no number of workers passes (inf when s = 0)."""
        self.parallel_fraction(batch)                      # the same checks
        return float("inf") if self.s == 0 else float((self.s + self.c * batch) / self.s)


def fit_step_time(batch_sizes, seconds) -> StepTimeFit:
    """Fit t(B) = s + c·B to measured step times. batch_sizes, seconds: (k,), k ≥ 2 distinct B.

    Least squares on *relative* errors, Σ_i ((s + c·B_i − t_i) / t_i)²: a 0.3 ms step counts as much
    as a 10 ms one. On a busy machine the long steps are the ones the scheduler interrupts, and a
    plain fit lets their delays tilt the line until s < 0. Both terms are times, so both are kept
    ≥ 0: when the unconstrained best has one below 0, the best fit with that one at 0 is returned.
    """
    b = np.asarray(batch_sizes, dtype=float)
    t = np.asarray(seconds, dtype=float)
    if b.ndim != 1 or b.shape != t.shape:
        raise ValueError(f"batch_sizes and seconds must be 1-D of the same length; "
                         f"got shapes {b.shape}, {t.shape}.")
    if np.unique(b).size < 2:
        raise ValueError("fit_step_time needs at least 2 different batch sizes to separate s from c.")
    if np.any(t <= 0) or not np.all(np.isfinite(t)):
        raise ValueError(f"seconds must be positive and finite; got {t}.")
    design = np.stack([1 / t, b / t], axis=1)              # (s + cB_i)/t_i ≈ 1 for every i
    (s, c), *_ = np.linalg.lstsq(design, np.ones_like(t), rcond=None)
    if s < 0 or c < 0:
        candidates = [(float(np.sum(1 / t) / np.sum(1 / t**2)), 0.0),        # c = 0: best s alone
                      (0.0, float(np.sum(b / t) / np.sum((b / t) ** 2)))]    # s = 0: best c alone
        s, c = min(candidates, key=lambda sc: float(np.sum((design @ np.array(sc) - 1) ** 2)))
    return StepTimeFit(float(s), float(c), b, t)


# -- the layer chain ---------------------------------------------------------------------------

def backprop_dag(depth: int) -> dict[str, tuple[str, ...]]:
    """The operations of one forward + backward pass of ``depth`` layers and what each needs.

    ``F1 … FL``: forward of layer l (needs F(l−1)); ``DL … D1``: the error δ_l (δ_L needs F_L,
    δ_l needs δ_(l+1)); ``W1 … WL``: the weight gradient δ_lᵀ a_(l−1) (needs δ_l and F(l−1)).
    Returns ``{op: (ops it depends on)}`` in an order where every op follows its dependencies.
    """
    L = check_positive_int(depth, "depth")
    dag: dict[str, tuple[str, ...]] = {}
    for l in range(1, L + 1):
        dag[f"F{l}"] = (f"F{l - 1}",) if l > 1 else ()
    for l in range(L, 0, -1):
        dag[f"D{l}"] = (f"F{L}",) if l == L else (f"D{l + 1}",)
        dag[f"W{l}"] = (f"D{l}",) + ((f"F{l - 1}",) if l > 1 else ())
    return dag


def critical_path(dag: dict[str, tuple[str, ...]], cost=None) -> tuple[float, float]:
    """(length of the longest dependency chain, total work) of a DAG ``{op: deps}`` listed in
    dependency order; ``cost``: ``{op: time}`` (default 1 each). With unlimited processors a pass
    takes at least the first number; on one processor, the second."""
    cost = cost or {}
    finish: dict[str, float] = {}
    for op, deps in dag.items():
        missing = [d for d in deps if d not in finish]
        if missing:
            raise ValueError(f"op {op!r} depends on {missing}, which are not listed before it; "
                             "list the DAG in dependency order.")
        finish[op] = max((finish[d] for d in deps), default=0.0) + float(cost.get(op, 1.0))
    work = sum(float(cost.get(op, 1.0)) for op in dag)
    return max(finish.values(), default=0.0), work
