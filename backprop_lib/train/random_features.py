"""Random ReLU features, minimum-norm and ridge fits, and the double-descent sweep.

A random-features model keeps a random first layer fixed and fits only the readout::

    φ(x) = relu(Fᵀx)            F: (d, p), entries N(0, 1/d), drawn once
    f(x) = φ(x)ᵀθ               θ: (p,), fitted by least squares on n points

With p ≥ n features the n equations Φθ = y have many solutions. Gradient descent from θ = 0
picks the one of minimum norm, θ = Φ⁺y (``min_norm_fit``); from θ₀ it reaches
Φ⁺y + (I − Φ⁺Φ)θ₀ (``gd_limit``). Ridge regression (``ridge_fit``) solves
(ΦᵀΦ + λI)θ = Φᵀy instead. Sweeping p through n gives the double-descent curve
(``double_descent``)::

    r = bp.train.double_descent(n=100, d=20, noise=0.3, seed=0)
    r.p, r.test_error, r.theta_norm, r.peak_p          # the peak sits at p = n

Data: a noisy linear teacher, x ~ N(0, I_d), y = xᵀβ + noise·ε with ‖β‖ = 1 and ε ~ N(0, 1),
for the n training points and for the test points alike (so the best possible test error is
noise²). The features are nested: the model with p features uses the first p columns of one
F, so the curve over p changes one thing at a time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, as_rng, check_number, check_positive_int

__all__ = [
    "RandomReLUFeatures", "min_norm_fit", "ridge_fit", "gd_limit", "p_grid",
    "RandomFeatureProblem", "DoubleDescent", "double_descent", "cached_problem",
]


class RandomReLUFeatures:
    """φ(x) = relu(Fᵀx) with a fixed random ``F: (d, p)``, entries N(0, 1/d).

    ``RandomReLUFeatures(20, 500, seed=0)(x)`` maps ``x: (batch, 20)`` to ``(batch, 500)``.
    With x ~ N(0, I_d) every pre-activation Fᵀx has variance about 1.
    """

    def __init__(self, d, p, *, seed=None):
        self.d = check_positive_int(d, "d")
        self.p = check_positive_int(p, "p")
        self.F = as_rng(seed).normal(0.0, 1.0 / np.sqrt(self.d), size=(self.d, self.p))

    def __call__(self, x) -> np.ndarray:
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != self.d:
            raise ValueError(f"RandomReLUFeatures(d={self.d}) got x with {x.shape[1]} features; "
                             f"expected shape (batch, {self.d}).")
        return np.maximum(x @ self.F, 0.0)               # φ(x) = relu(Fᵀx), batch-first

    def __repr__(self):
        return f"RandomReLUFeatures(d={self.d}, p={self.p})"


def _design(phi, y):
    phi = as_float_array(phi, "phi", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    if y.shape[0] != phi.shape[0]:
        raise ValueError(f"y has {y.shape[0]} entries but phi has {phi.shape[0]} rows; "
                         "expected y: (n,) for phi: (n, p).")
    return phi, y


def min_norm_fit(phi, y) -> np.ndarray:
    """θ = Φ⁺y: the least-squares solution of smallest norm (``phi: (n, p)``, ``y: (n,)``).

    For p ≥ n (and Φ of rank n) it interpolates, Φθ = y, and among all interpolators it has
    the smallest ‖θ‖; gradient descent from θ = 0 converges to it.
    """
    phi, y = _design(phi, y)
    return np.linalg.lstsq(phi, y, rcond=None)[0]       # SVD-based: the minimum-norm solution


def ridge_fit(phi, y, lam) -> np.ndarray:
    """θ = (ΦᵀΦ + λI)⁻¹Φᵀy = Φᵀ(ΦΦᵀ + λI)⁻¹y (``phi: (n, p)``, ``y: (n,)``, λ ≥ 0).

    Solves the smaller of the two systems (p × p or n × n); ``lam=0`` is ``min_norm_fit``.
    """
    phi, y = _design(phi, y)
    lam = check_number(lam, "lam", low=0.0)
    if lam == 0.0:
        return min_norm_fit(phi, y)
    n, p = phi.shape
    if p <= n:
        return np.linalg.solve(phi.T @ phi + lam * np.eye(p), phi.T @ y)
    return phi.T @ np.linalg.solve(phi @ phi.T + lam * np.eye(n), y)


def gd_limit(x, y, theta0=None) -> np.ndarray:
    """Where gradient descent on ½‖xθ − y‖² (any stable step) converges from ``theta0``:
    X⁺y + (I − X⁺X)θ₀ (``x: (n, d)``, ``y: (n,)``, ``theta0: (d,)``, default 0).

    Every gradient Xᵀ(Xθ − y) lies in the row space of X, so the part of θ₀ orthogonal to it,
    (I − X⁺X)θ₀, is never changed; the row-space part converges to X⁺y.
    """
    x, y = _design(x, y)
    theta = min_norm_fit(x, y)
    if theta0 is None:
        return theta
    theta0 = as_float_array(theta0, "theta0", ndim=1)
    if theta0.shape != theta.shape:
        raise ValueError(f"theta0 has shape {theta0.shape}; expected ({x.shape[1]},), "
                         "one entry per column of x.")
    null_part = theta0 - np.linalg.pinv(x) @ (x @ theta0)          # (I − X⁺X)θ₀
    return theta + null_part


def p_grid(n=100, p_max=2000, points=41) -> np.ndarray:
    """Feature counts from 1 to ``p_max``, log-spaced, always including ``n`` (the peak)."""
    n = check_positive_int(n, "n")
    p_max = check_positive_int(p_max, "p_max")
    points = check_positive_int(points, "points")
    grid = np.round(np.geomspace(1, p_max, points)).astype(int)
    if n <= p_max:
        grid = np.append(grid, n)
    return np.unique(grid)


@dataclass(frozen=True, eq=False)
class DoubleDescent:
    """Errors and norms of the fits with p features, one entry per ``p``.

    ``train_error``/``test_error``: mean squared errors; ``theta_norm``: ‖θ‖;
    ``smallest_singular``: the smallest singular value of Φ (n × p) that the fit divides by.
    """

    p: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    theta_norm: np.ndarray
    smallest_singular: np.ndarray
    n: int
    d: int
    noise: float
    lam: float

    @property
    def peak_p(self) -> int:
        """The p with the largest test error."""
        return int(self.p[int(np.argmax(self.test_error))])

    def at(self, p) -> dict:
        """The row of feature count ``p`` as a dict."""
        hits = np.flatnonzero(self.p == p)
        if hits.size == 0:
            raise ValueError(f"p={p} is not among the swept feature counts {self.p.tolist()}.")
        i = int(hits[0])
        return {"p": int(self.p[i]), "train_error": float(self.train_error[i]),
                "test_error": float(self.test_error[i]), "theta_norm": float(self.theta_norm[i]),
                "smallest_singular": float(self.smallest_singular[i])}


class RandomFeatureProblem:
    """One data set and one F, with the SVD Φ_p = U diag(s) Vᵀ of every p it has seen cached,
    so that changing the noise level or λ costs only matrix-vector products.

    The fit with p features, noise σ and λ ≥ 0 is θ = V diag(g(s)) Uᵀy with
    g(s) = s/(s² + λ) (ridge) or 1/s (λ = 0, singular values below the rank tolerance dropped):
    the same θ as ``ridge_fit``/``min_norm_fit``. y = signal + σ·ε, with ε drawn once.
    """

    def __init__(self, n=100, d=20, p_max=2000, *, seed=0, n_test=1000):
        self.n = check_positive_int(n, "n")
        self.d = check_positive_int(d, "d")
        self.p_max = check_positive_int(p_max, "p_max")
        self.n_test = check_positive_int(n_test, "n_test")
        self.seed = seed
        rng = as_rng(seed)
        beta = rng.normal(size=self.d)
        self.beta = beta / np.linalg.norm(beta)                       # ‖β‖ = 1: signal variance 1
        self.x = rng.normal(size=(self.n, self.d))
        self.x_test = rng.normal(size=(self.n_test, self.d))
        self.eps = rng.normal(size=self.n)                            # noise directions, scaled by σ
        self.eps_test = rng.normal(size=self.n_test)
        self.features = RandomReLUFeatures(self.d, self.p_max, seed=rng)
        self.phi = self.features(self.x)                              # (n, p_max)
        self.phi_test = self.features(self.x_test)                    # (n_test, p_max)
        self._svd = {}

    def targets(self, noise) -> tuple[np.ndarray, np.ndarray]:
        """(y, y_test) = (xβ + σε, x_test β + σε_test)."""
        noise = check_number(noise, "noise", low=0.0)
        return self.x @ self.beta + noise * self.eps, self.x_test @ self.beta + noise * self.eps_test

    def _check_p(self, p) -> int:
        p = check_positive_int(p, "p")
        if p > self.p_max:
            raise ValueError(f"p={p} exceeds p_max={self.p_max} of this problem; "
                             "build it with a larger p_max.")
        return p

    def svd(self, p):
        """``(U, s, Vt)`` of Φ_p = the first p feature columns (cached)."""
        p = self._check_p(p)
        if p not in self._svd:
            u, s, vt = np.linalg.svd(self.phi[:, :p], full_matrices=False)
            tol = s[0] * np.finfo(float).eps * max(self.n, p)         # the rank tolerance of lstsq
            keep = s > tol
            self._svd[p] = (u[:, keep], s[keep], vt[keep])
        return self._svd[p]

    def fit(self, p, noise=0.3, lam=0.0) -> np.ndarray:
        """θ: (p,), the min-norm (λ = 0) or ridge fit with the first p features."""
        lam = check_number(lam, "lam", low=0.0)
        u, s, vt = self.svd(p)
        y, _ = self.targets(noise)
        gain = 1.0 / s if lam == 0.0 else s / (s * s + lam)          # θ = V diag(g(s)) Uᵀy
        return vt.T @ (gain * (u.T @ y))

    def sweep(self, ps=None, noise=0.3, lam=0.0) -> DoubleDescent:
        """Train/test mean squared error, ‖θ‖ and the smallest singular value of Φ for each p."""
        if ps is None:
            ps = p_grid(self.n, self.p_max)
        ps = np.asarray([self._check_p(int(p)) for p in ps], dtype=int)
        y, y_test = self.targets(noise)
        lam = check_number(lam, "lam", low=0.0)
        rows = []
        for p in ps:
            theta = self.fit(int(p), noise, lam)
            train = np.mean((self.phi[:, :p] @ theta - y) ** 2)
            test = np.mean((self.phi_test[:, :p] @ theta - y_test) ** 2)
            s = self.svd(int(p))[1]
            s_min = s[-1] if len(s) == min(self.n, int(p)) else 0.0       # rank-deficient: 0
            rows.append((train, test, np.linalg.norm(theta), s_min))
        train, test, norm, s_min = (np.array(col) for col in zip(*rows, strict=True))
        return DoubleDescent(ps.copy(), train, test, norm, s_min, self.n, self.d, float(noise), float(lam))


@functools.lru_cache(maxsize=6)
def cached_problem(n, d, p_max, seed, n_test) -> RandomFeatureProblem:
    """The ``RandomFeatureProblem`` of these arguments, built once and shared (with its SVDs):
    ``double_descent`` and the ``DoubleDescentExplorer`` use it. Treat it as read-only."""
    return RandomFeatureProblem(n, d, p_max, seed=seed, n_test=n_test)


def double_descent(ps=None, *, n=100, d=20, noise=0.3, lam=0.0, seed=0, n_test=1000,
                   p_max=None) -> DoubleDescent:
    """The double-descent sweep: min-norm (``lam=0``) or ridge fits of random ReLU features,
    for each feature count in ``ps`` (default ``p_grid(n, 20 n)``), on n noisy points of a
    linear teacher in d dimensions. The data and features are fixed by ``seed`` (an int), and
    the problem is cached, so sweeps with another noise or λ reuse its SVDs.
    """
    n = check_positive_int(n, "n")
    if p_max is None:
        p_max = 20 * n if ps is None else int(max(ps))
    if ps is None:
        ps = p_grid(n, p_max)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int (the sweep is cached by seed); got {seed!r}.")
    problem = cached_problem(n, check_positive_int(d, "d"), check_positive_int(p_max, "p_max"),
                              int(seed), check_positive_int(n_test, "n_test"))
    return problem.sweep(ps, noise, lam)
