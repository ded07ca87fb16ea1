"""Asynchronous SGD and its stale gradients.

In asynchronous data parallelism every worker reads the parameters, computes a gradient and
applies it as soon as it is done, without waiting for the others. Meanwhile the others have
applied theirs, so the gradient lands on parameters that have moved on: with N workers taking
turns, each update uses a gradient computed τ = N − 1 updates ago,

    θ_(t+1) = θ_t − η ∇f(θ_(t−τ))          (θ_t = θ_0 for t < 0).

``async_workers`` simulates the workers (an event queue over their compute times) and records each
update's staleness; ``stale_gradient_descent`` is the fixed-delay recursion. On the quadratic
f(θ) = Lθ²/2 the recursion is linear with characteristic polynomial z^(τ+1) − z^τ + ηL, and it
converges iff all roots lie inside the unit circle, iff

    ηL < 2 sin(π / (2(2τ + 1)))             (τ = 0: the familiar η < 2/L; τ = 1: η < 1/L).

``stability_threshold`` finds that boundary by bisection on simulated runs (``growth_rate``),
without using the formula (``threshold_formula``), so the two can be compared.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from .._validate import check_number, check_positive_int

__all__ = ["stale_gradient_descent", "async_workers", "AsyncRun", "growth_rate", "stability_threshold",
           "threshold_formula", "spectral_radius"]


def _check_tau(tau) -> int:
    if isinstance(tau, bool) or not isinstance(tau, (int, np.integer)) or tau < 0:
        raise ValueError(f"tau (the staleness in updates) must be a whole number ≥ 0; got {tau!r}.")
    return int(tau)


def stale_gradient_descent(grad, theta0, lr: float, tau: int, steps: int) -> np.ndarray:
    """θ_(t+1) = θ_t − lr·grad(θ_(t−τ)), θ_t = θ_0 for t < 0. Returns the iterates, (steps + 1, *θ.shape)."""
    tau, steps = _check_tau(tau), check_positive_int(steps, "steps")
    lr = check_number(lr, "lr", low=0)
    path = [np.array(theta0, dtype=float)]
    for t in range(steps):
        stale = path[max(t - tau, 0)]
        path.append(path[t] - lr * np.asarray(grad(stale), dtype=float))
    return np.stack(path)


@dataclass(frozen=True)
class AsyncRun:
    """path: (updates + 1, *θ.shape) parameters after each update; staleness: (updates,) how many
    updates were applied between the read and the write of each gradient; worker: (updates,)."""

    path: np.ndarray
    staleness: np.ndarray
    worker: np.ndarray


def async_workers(grad, theta0, lr: float, workers: int, updates: int, durations=None) -> AsyncRun:
    """Simulate ``workers`` asynchronous workers: each reads θ, computes ``grad`` for ``durations[k]``
    time units (default 1 each), then applies θ ← θ − lr·g and reads again. Worker k starts at time
    k·d_k/N (so equal workers take turns). Updates that finish at the time of a read come first."""
    n = check_positive_int(workers, "workers")
    updates = check_positive_int(updates, "updates")
    lr = check_number(lr, "lr", low=0)
    d = np.ones(n) if durations is None else np.asarray(durations, dtype=float)
    if d.shape != (n,) or np.any(d <= 0):
        raise ValueError(f"durations must be {n} positive compute times, one per worker; got {durations!r}.")
    theta = np.array(theta0, dtype=float)
    path, staleness, who = [theta.copy()], [], []
    # (finish time, worker, parameters it read, number of updates applied when it read)
    queue = [(k * d[k] / n + d[k], k, theta.copy(), 0) for k in range(n)]
    heapq.heapify(queue)
    while len(staleness) < updates:
        now, k, read, version = heapq.heappop(queue)
        theta = theta - lr * np.asarray(grad(read), dtype=float)      # applied with the stale gradient
        staleness.append(len(path) - 1 - version)
        who.append(k)
        path.append(theta.copy())
        heapq.heappush(queue, (now + d[k], k, theta.copy(), len(path) - 1))
    return AsyncRun(np.stack(path), np.array(staleness), np.array(who))


# -- stability on f(θ) = Lθ²/2 -------------------------------------------------------------------------

def growth_rate(lr_times_l: float, tau: int, steps: int = 2000) -> float:
    """Per-step log growth of |θ_t| for θ_(t+1) = θ_t − ηL·θ_(t−τ), θ_0 = 1, measured on a simulated run:
    (log of the largest |θ| in a window at the end − the same in a window at ``steps``/2) / distance.
    Negative: the run converges; positive: it diverges. The state is rescaled when it gets very large
    or small (the recursion is linear), so no run overflows."""
    h = check_number(lr_times_l, "lr_times_l", low=0)
    tau, steps = _check_tau(tau), check_positive_int(steps, "steps")
    window = 2 * (2 * tau + 1) + tau + 1                     # > one period of the critical oscillation
    if steps < 4 * window:
        raise ValueError(f"steps must be at least {4 * window} for tau={tau}; got {steps}.")
    buf, i, x, log_scale = [1.0] * (tau + 1), 0, 1.0, 0.0    # buf: θ_(t−τ) … θ_t in a ring
    logs = []
    for _ in range(steps):
        x = x - h * buf[i]                                   # θ_(t+1) = θ_t − ηL θ_(t−τ)
        buf[i] = x
        i = (i + 1) % (tau + 1)
        if not 1e-100 < abs(x) < 1e100:
            m = max(abs(v) for v in buf)
            if m == 0.0:
                return -math.inf                             # reached 0 exactly: converged
            buf, x, log_scale = [v / m for v in buf], x / m, log_scale + math.log(m)
        logs.append(math.log(abs(x)) + log_scale if x != 0.0 else -math.inf)
    half = steps // 2
    return (max(logs[-window:]) - max(logs[half - window:half])) / (steps - half)


def stability_threshold(tau: int, *, steps: int = 2000, tol: float = 1e-6) -> float:
    """The largest stable ηL at staleness τ, by bisection on ``growth_rate`` over (0, 2]."""
    tau = _check_tau(tau)
    tol = check_number(tol, "tol", low=0, low_open=True)
    lo, hi = 0.0, 2.0                                # τ = 0 is stable up to ηL = 2, staleness lowers it
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if growth_rate(mid, tau, steps) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def threshold_formula(tau):
    """2 sin(π / (2(2τ + 1))): the stability limit of ηL for staleness τ (array or scalar)."""
    t = np.asarray(tau, dtype=float)
    if np.any(t < 0):
        raise ValueError(f"tau must be ≥ 0; got {tau!r}.")
    out = 2 * np.sin(np.pi / (2 * (2 * t + 1)))
    return float(out) if out.ndim == 0 else out


def spectral_radius(lr_times_l: float, tau: int) -> float:
    """The largest |z| over the roots of z^(τ+1) − z^τ + ηL (the recursion contracts iff it is < 1)."""
    h = check_number(lr_times_l, "lr_times_l", low=0)
    tau = _check_tau(tau)
    coeffs = np.zeros(tau + 2)
    coeffs[0], coeffs[1] = 1.0, -1.0
    coeffs[-1] += h
    return float(np.max(np.abs(np.roots(coeffs))))
