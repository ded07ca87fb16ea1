"""The optimization landscape: rates on convex bowls, saddles, double wells, critical points.

What notebook 18 measures, as small tested functions::

    steps_to_tol(kappa=100, tol=1e-6)      # GD at η = 2/(L+μ): steps to shrink ‖θ − θ*‖ by 1e-6 (→ 691)
    H = hessian(surface.grad, theta)       # (n, n) from gradients only (central differences)
    classify_critical_point(H)             # "minimum", "maximum", "saddle" or "degenerate"
    path = perturbed_gd(grad, x0, lr=0.1, steps=300, radius=1e-3, grad_tol=1e-3, seed=0)
    paths = descend(well.grad, x0s, lr=0.01, steps=3000, momentum=0.9)   # many 1-D runs at once

and three test functions: ``QuarticSaddle`` (½x² − ½y² + ¼y⁴), ``SineValley`` (x²/2 + 3 sin² y,
L = 6) — both ``bp.optim.surfaces.Surface`` objects, so ``bp.widgets.race`` runs the real
``bp.optim`` optimizers on them — and the tilted ``DoubleWell`` x⁴ − 2x² + 0.5x in one variable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validate import as_rng, check_number, check_positive_int
from .curvature import hessian_vector_product
from .surfaces import Surface, _frozen

__all__ = ["QuarticSaddle", "SineValley", "DoubleWell", "steps_to_tol", "hessian",
           "classify_critical_point", "perturbed_gd", "descend"]


# -- test functions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuarticSaddle(Surface):
    """f = ½x² − ½y² + ¼y⁴: a strict saddle at (0, 0) (f = 0, Hessian diag(1, −1)) between the
    minima (0, ±1) with f = −¼.

        ∂f/∂x = x          ∂f/∂y = −y + y³

    Gradient descent at rate η maps y ↦ (1 + η)y − ηy³: y = 0 (the stable manifold) is never
    left, and a start y₀ ≪ 1 grows by (1 + η) per step until the quartic term stops it.
    """

    name = "quartic saddle"
    formula = "½x² − ½y² + ¼y⁴"
    min_value = -0.25
    start = (1.5, 1e-3)
    xlim = (-2.0, 2.0)
    ylim = (-1.6, 1.6)

    @property
    def minima(self):
        return _frozen([[0.0, -1.0], [0.0, 1.0]])

    @property
    def saddles(self):
        return _frozen([[0.0, 0.0]])

    def _f(self, x, y):
        y2 = y * y
        return 0.5 * x * x - 0.5 * y2 + 0.25 * y2 * y2

    def _grad(self, x, y):
        return x, -y + y * y * y


@dataclass(frozen=True)
class SineValley(Surface):
    """f = x²/2 + 3 sin² y: non-convex, bounded below by f_inf = 0, L-smooth with L = 6
    (Hessian diag(1, 6 cos 2y)). Minima (0, kπ), saddles (0, π/2 + kπ) with f = 3.

        ∂f/∂x = x          ∂f/∂y = 3 sin 2y
    """

    name = "sine valley"
    formula = "x²/2 + 3 sin² y"
    smoothness = 6.0                      # L = max ‖∇²f‖ = max(1, |6 cos 2y|)
    start = (2.0, 1.4)
    xlim = (-2.5, 2.5)
    ylim = (-2.5, 2.5)

    @property
    def minima(self):
        return _frozen([[0.0, 0.0]])      # the one inside the view box (all: (0, kπ))

    @property
    def saddles(self):
        h = math.pi / 2
        return _frozen([[0.0, -h], [0.0, h]])

    def _f(self, x, y):
        s = np.sin(y)
        return 0.5 * x * x + 3.0 * s * s

    def _grad(self, x, y):
        return x, 3.0 * np.sin(2.0 * y)   # d/dy 3 sin² y = 6 sin y cos y = 3 sin 2y


@dataclass(frozen=True)
class DoubleWell:
    """f(x) = x⁴ − 2x² + tilt·x in one variable: two minima separated by a barrier (a local
    maximum). With tilt > 0 the left minimum is the global one.

        f′(x) = 4x³ − 4x + tilt          f″(x) = 12x² − 4

    ``f``, ``grad`` and ``second`` take arrays of any shape (many starts at once).
    """

    tilt: float = 0.5

    def __post_init__(self):
        t = check_number(self.tilt, "tilt", low=-3.0, high=3.0)
        if abs(t) >= 8 / (3 * math.sqrt(3)):     # 1.54: beyond it f′ has one root, no barrier
            raise ValueError(f"tilt must satisfy |tilt| < 8/(3√3) ≈ 1.54 for two wells; got {self.tilt!r}.")
        object.__setattr__(self, "tilt", t)
        roots = np.roots([4.0, 0.0, -4.0, t])              # f′ = 0
        object.__setattr__(self, "_crit", _frozen(np.sort(roots.real)))

    @property
    def formula(self) -> str:
        return f"x⁴ − 2x² + {self.tilt:g}x"

    def f(self, x):
        x = np.asarray(x, dtype=np.float64)
        x2 = x * x
        return x2 * x2 - 2.0 * x2 + self.tilt * x

    __call__ = f

    def grad(self, x):
        x = np.asarray(x, dtype=np.float64)
        return 4.0 * x * x * x - 4.0 * x + self.tilt

    def second(self, x):
        x = np.asarray(x, dtype=np.float64)
        return 12.0 * x * x - 4.0

    @property
    def critical_points(self) -> np.ndarray:
        """The three roots of f′, ascending: (left minimum, barrier, right minimum)."""
        return self._crit

    @property
    def barrier(self) -> float:
        """The local maximum between the wells: the border of the two basins of attraction."""
        return float(self._crit[1])

    @property
    def global_min(self) -> float:
        left, _, right = self._crit
        return float(left if self.f(left) <= self.f(right) else right)

    @property
    def local_min(self) -> float:
        left, _, right = self._crit
        return float(right if self.global_min == left else left)

    def in_global_basin(self, x) -> np.ndarray:
        """True where x lies on the global minimum's side of the barrier."""
        x = np.asarray(x, dtype=np.float64)
        return (x < self.barrier) if self.global_min < self.barrier else (x > self.barrier)


# -- convex rates ---------------------------------------------------------------------------------

def steps_to_tol(kappa, tol) -> int:
    """Steps of gradient descent at η = 2/(L + μ) on a quadratic with condition number κ = L/μ
    that shrink the error ‖θ_t − θ*‖ to ``tol``·‖θ₀ − θ*‖ in the worst case: the smallest t with

        ((κ − 1)/(κ + 1))ᵗ <= tol,   t = ⌈ln(1/tol) / ln((κ + 1)/(κ − 1))⌉ ≈ (κ/2) ln(1/tol).

    κ = 1 needs one step (η = 1/L lands on θ*); ``tol`` >= 1 needs none.
    """
    kappa = check_number(kappa, "kappa (κ = L/μ)", low=1.0)
    tol = check_number(tol, "tol (the error ratio to reach)", low=0.0, low_open=True)
    if tol >= 1.0:
        return 0
    if kappa == 1.0:
        return 1
    # ln((κ + 1)/(κ − 1)) = log1p(2/(κ − 1)), accurate for large κ
    t = math.log(1.0 / tol) / math.log1p(2.0 / (kappa - 1.0))
    return int(math.ceil(t - 1e-9))                 # an exact integer ratio is not rounded up


# -- curvature and critical points ------------------------------------------------------------------

def hessian(grad, theta, eps: float = 1e-4) -> np.ndarray:
    """The Hessian at ``theta: (n,)`` from gradients alone: column i is the central difference
    (∇f(θ + εeᵢ) − ∇f(θ − εeᵢ))/(2ε) (``curvature.hessian_vector_product`` along eᵢ), then
    symmetrised ½(H + Hᵀ). Error O(ε²); n gradient pairs. ``grad``: θ ↦ ∇f(θ), shape (n,)."""
    if not callable(grad):
        raise TypeError(f"grad must be a callable θ ↦ ∇f(θ); got {type(grad).__name__}.")
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 1 or theta.size == 0:
        raise ValueError(f"theta must be a non-empty flat array of parameters; got shape {theta.shape}.")
    check_number(eps, "eps", low=0.0, low_open=True)
    n = theta.size
    cols = [np.asarray(hessian_vector_product(grad, theta, e, eps), dtype=np.float64) for e in np.eye(n)]
    H = np.stack(cols, axis=1)
    if H.shape != (n, n):
        raise ValueError(f"grad must return an array shaped like theta {theta.shape}; "
                         f"got {cols[0].shape}.")
    return 0.5 * (H + H.T)


KINDS = ("minimum", "maximum", "saddle", "degenerate")


def classify_critical_point(H, tol: float = 1e-8) -> str:
    """The kind of a critical point (∇f = 0) from the eigenvalues λ of its Hessian ``H: (n, n)``:

        all λ > 0 → "minimum";  all λ < 0 → "maximum";  some λ > 0 and some λ < 0 → "saddle"
        (a strict saddle: λ_min < 0); otherwise "degenerate" (a zero eigenvalue and the rest of one
        sign: the second-order test cannot tell).

    |λ| <= tol · max(1, max|λ|) counts as zero. (The sign of det H decides none of this beyond
    n = 1: det > 0 for a 2-D maximum too, and for a 3-D saddle with two negative eigenvalues.)
    """
    H = np.asarray(H, dtype=np.float64)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.size == 0:
        raise ValueError(f"H must be a square (n, n) Hessian; got shape {H.shape}.")
    if not np.all(np.isfinite(H)):
        raise ValueError("H contains NaN or inf; compute the Hessian at a finite point.")
    if not np.allclose(H, H.T, rtol=1e-6, atol=1e-9 * max(1.0, float(np.max(np.abs(H))))):
        raise ValueError("H must be symmetric (a Hessian is); symmetrise a numerical one with (H + H.T) / 2.")
    lam = np.linalg.eigvalsh(H)
    zero = tol * max(1.0, float(np.max(np.abs(lam))))
    pos, neg = bool(np.any(lam > zero)), bool(np.any(lam < -zero))
    if pos and neg:
        return "saddle"
    if np.all(lam > zero):
        return "minimum"
    if np.all(lam < -zero):
        return "maximum"
    return "degenerate"


# -- gradient descent with kicks, momentum and noise ----------------------------------------------

def _start(x0, name="x0") -> np.ndarray:
    x = np.array(x0, dtype=np.float64)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must hold finite numbers; got {x0!r}.")
    return x


def perturbed_gd(grad, x0, lr: float, steps: int, *, radius: float = 1e-3, grad_tol: float = 1e-3,
                 seed=0) -> np.ndarray:
    """Gradient descent that kicks itself off flat spots (after Jin et al., 2017):

        if ‖∇f(θ_t)‖ <= grad_tol:  θ_t ← θ_t + ξ,  ξ uniform in the ball of radius ``radius``
        θ_{t+1} = θ_t − η ∇f(θ_t)                  (the gradient at the kicked point)

    At an exact saddle ∇f = 0, so plain GD never moves; the kick gives the negative-curvature
    direction a component that then grows by (1 + η|λ_min|) per step. Returns the path
    ``(steps + 1, n)``: θ₀, then the point after each step. ``grad``: θ ↦ ∇f(θ), shape (n,).
    """
    if not callable(grad):
        raise TypeError(f"grad must be a callable θ ↦ ∇f(θ); got {type(grad).__name__}.")
    theta = _start(x0).reshape(-1)
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    steps = check_positive_int(steps, "steps")
    radius = check_number(radius, "radius", low=0.0)
    grad_tol = check_number(grad_tol, "grad_tol", low=0.0)
    rng = as_rng(seed)
    n = theta.size
    path = np.empty((steps + 1, n))
    path[0] = theta
    for t in range(steps):
        g = np.asarray(grad(theta), dtype=np.float64).reshape(n)
        if np.linalg.norm(g) <= grad_tol:
            u = rng.standard_normal(n)
            u *= radius * rng.random() ** (1.0 / n) / np.linalg.norm(u)   # uniform in the ball
            theta = theta + u
            g = np.asarray(grad(theta), dtype=np.float64).reshape(n)
        theta = theta - lr * g                                            # θ ← θ − η∇f(θ)
        path[t + 1] = theta
    return path


def descend(grad, x0, lr: float, steps: int, *, momentum: float = 0.0, temperature: float = 0.0,
            anneal_steps: int | None = None, seed=0) -> np.ndarray:
    """Many independent runs at once (one per entry of ``x0``, any shape) of

        b ← γ b + ∇f(x);  x ← x − η b + √(2ηT_t) ξ,   ξ ~ N(0, 1) per entry and step,

    i.e. gradient descent (γ = 0, T = 0), the heavy ball in PyTorch's form (``torch.optim.SGD``
    with ``momentum`` γ: b₀ = ∇f(x₀)), and gradient descent with Langevin noise at temperature T,
    cooled linearly from ``temperature`` to 0 over ``anneal_steps`` (default: all the steps).
    ``grad`` works elementwise on arrays. Returns the paths ``(steps + 1, *x0.shape)``.
    """
    if not callable(grad):
        raise TypeError(f"grad must be a callable that works elementwise; got {type(grad).__name__}.")
    x = _start(x0)
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    steps = check_positive_int(steps, "steps")
    gamma = check_number(momentum, "momentum (γ)", low=0.0, high=1.0, high_open=True)
    temp = check_number(temperature, "temperature (T)", low=0.0)
    anneal = steps if anneal_steps is None else check_positive_int(anneal_steps, "anneal_steps")
    rng = as_rng(seed)
    path = np.empty((steps + 1, *x.shape))
    path[0] = x
    b = None
    for t in range(steps):
        g = np.asarray(grad(x), dtype=np.float64)
        b = g if b is None else gamma * b + g          # torch: the first buffer is the gradient itself
        x = x - lr * (b if gamma else g)
        T = temp * max(0.0, 1.0 - t / anneal)          # linear cooling to 0
        if T > 0:
            x = x + math.sqrt(2.0 * lr * T) * rng.standard_normal(x.shape)
        path[t + 1] = x
    return path
