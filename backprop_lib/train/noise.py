"""Gradient noise: how far a mini-batch gradient lands from the full-batch gradient.

With per-sample losses ℓ_i and the full-batch gradient g = (1/N) Σ_i ∇ℓ_i, a mini-batch B of
|B| = B samples drawn *without replacement* gives the estimate ĝ_B = (1/B) Σ_{i∈B} ∇ℓ_i. It is
unbiased, E ĝ_B = g, and its total variance (the trace of its covariance) is

    E‖ĝ_B − g‖² = (tr Σ / B) · (N − B)/(N − 1),      Σ = the covariance of the ∇ℓ_i over the data,

so for B ≪ N the noise falls like 1/B (a slope of −1 on log-log axes) while the cost of a
step grows like B. ``gradient_noise`` measures the left-hand side with the model's own backward
pass::

    noise = bp.train.gradient_noise(net, loss_fn, (x, y), batch_sizes=[1, 4, 16, 64], draws=500)
    noise.variance, noise.slope(), noise.predicted()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import as_rng, check_positive_int
from .checks import check_data, check_loss_fn, check_model


def flat_gradient(model, loss_fn, x, y) -> np.ndarray:
    """∂L/∂θ of the mean loss on ``(x, y)`` as one flat vector (parameters in ``model.parameters()``
    order): one forward and one backward pass. ``x: (batch, in)`` → ``(n_params,)``.
    Leaves the gradient in each ``p.grad`` as well."""
    model.zero_grad()
    loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    return np.concatenate([p.grad.ravel() for p in model.parameters()])


@dataclass(frozen=True)
class GradientNoise:
    """batch_sizes: (k,) the B measured; variance: (k,) the mean of ‖ĝ_B − g‖² over ``draws``
    mini-batches per B; full_gradient: g, (n_params,); n: N, the number of samples."""

    batch_sizes: np.ndarray
    variance: np.ndarray
    full_gradient: np.ndarray
    draws: int
    n: int

    def slope(self) -> float:
        """The least-squares slope of log variance against log B (−1 when noise ∝ 1/B)."""
        if len(self.batch_sizes) < 2:
            raise ValueError("slope needs at least 2 batch sizes; measure with batch_sizes=[1, 2, 4, ...].")
        return float(np.polyfit(np.log(self.batch_sizes), np.log(self.variance), 1)[0])

    def predicted(self) -> np.ndarray:
        """(tr Σ / B) · (N − B)/(N − 1) for each B, with tr Σ estimated from the measured variances
        (each B's variance rescaled to B = 1, then averaged in log space)."""
        b, n = self.batch_sizes.astype(float), self.n
        factor = (n - b) / (n - 1) / b                     # variance / tr Σ for each B
        trace = float(np.exp(np.mean(np.log(self.variance / factor))))
        return trace * factor


def gradient_noise(model, loss_fn, data, batch_sizes, draws: int = 500, seed=0) -> GradientNoise:
    """Measure E‖ĝ_B − g‖² for each B in ``batch_sizes`` from ``draws`` mini-batches drawn without
    replacement (``data = (x, y)``, x: (N, in)); the model's parameters are not changed (their
    ``.grad`` is left at the last mini-batch's gradient). Every B needs 1 ≤ B ≤ N."""
    check_model(model)
    check_loss_fn(loss_fn)
    dtype = model.parameters()[0].data.dtype
    x, y = check_data(data, "data", dtype)
    n = len(x)
    draws = check_positive_int(draws, "draws")
    sizes = np.atleast_1d(np.asarray(batch_sizes))
    if sizes.ndim != 1 or sizes.size == 0 or sizes.dtype.kind not in "iu":
        raise ValueError(f"batch_sizes must be a non-empty list of integers such as [1, 4, 16]; "
                         f"got {batch_sizes!r}.")
    if sizes.min() < 1 or sizes.max() > n:
        raise ValueError(f"batch_sizes must lie between 1 and the number of samples N = {n}; "
                         f"got {sizes.tolist()}.")
    rng = as_rng(seed, "seed")
    g = flat_gradient(model, loss_fn, x, y)                 # the full-batch gradient
    variance = np.empty(len(sizes))
    for k, b in enumerate(sizes):
        sq = np.empty(draws)
        for d in range(draws):
            idx = rng.choice(n, size=int(b), replace=False)  # one mini-batch, no repeats
            sq[d] = np.sum((flat_gradient(model, loss_fn, x[idx], y[idx]) - g) ** 2)   # ‖ĝ_B − g‖²
        variance[k] = sq.mean()
    return GradientNoise(batch_sizes=sizes.astype(int), variance=variance, full_gradient=g, draws=draws, n=n)
