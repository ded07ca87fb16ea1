"""Two-dimensional test functions for optimizers: value, gradient, minima, a start and a view.

Each surface is a small frozen object (hashable, so results can be memoised per surface)::

    s = bp.optim.surfaces.Rosenbrock()
    s(np.array([1.0, 1.0]))          # f at a point: 0.0
    s.grad(np.zeros((5, 7, 2)))       # ∇f at a (5, 7) grid of points: shape (5, 7, 2)
    s.minima, s.start, s.xlim, s.ylim

``f(xy)`` and ``grad(xy)`` take points ``xy: (..., 2)`` (the last axis holds θ₁, θ₂) and
return ``(...)`` and ``(..., 2)``. Every surface here has minimum value f* = 0, so f − f* can
be drawn on a log axis.

    Quadratic(condition=κ, angle=φ)   f = ½ θᵀAθ, A = R(φ) diag(1/κ, 1) R(φ)ᵀ     ill-conditioned bowl
    Rosenbrock(a=1, b=100)            f = (a − x)² + b (y − x²)²                    curved narrow valley
    Saddle()                          f = x² − y² + y⁴/4 + 1                        a saddle at (0, 0)
    Beale()                           f = Σᵢ (cᵢ − x + x yⁱ)²                       plateaus, steep walls
                                      (c = 1.5, 2.25, 2.625)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_choice, check_number

__all__ = ["Surface", "Quadratic", "Rosenbrock", "Saddle", "Beale", "SURFACES", "make_surface"]


def _points(xy, name: str = "xy") -> np.ndarray:
    """``xy`` as a float array of shape (..., 2) (float32 stays float32)."""
    arr = np.asarray(xy)
    if arr.dtype.kind not in "fiu" or arr.dtype == np.float16:
        raise TypeError(f"{name} must be an array of numbers of shape (..., 2); got dtype {arr.dtype}.")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if arr.ndim == 0 or arr.shape[-1] != 2:
        raise ValueError(
            f"{name} must have shape (..., 2): a point (θ₁, θ₂) or an array of points; got shape "
            f"{arr.shape}. Stack coordinates with np.stack([x, y], axis=-1)."
        )
    return arr


def _frozen(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Surface:
    """Base class. A subclass sets ``name``, ``formula``, ``start``, ``xlim``, ``ylim`` and writes
    ``_f(x, y)`` and ``_grad(x, y) -> (∂f/∂x, ∂f/∂y)`` with arithmetic that works on arrays and
    on plain floats alike (the optimizer race calls them with floats: far faster per point)."""

    name = "surface"
    formula = ""
    min_value = 0.0
    start = (0.0, 0.0)          # a default start, inside the view box
    xlim = (-2.0, 2.0)          # the default view box
    ylim = (-2.0, 2.0)

    def f(self, xy) -> np.ndarray:
        """f at ``xy: (..., 2)`` → ``(...)``."""
        p = _points(xy)
        return self._f(p[..., 0], p[..., 1])

    __call__ = f

    def grad(self, xy) -> np.ndarray:
        """∇f at ``xy: (..., 2)`` → ``(..., 2)``."""
        p = _points(xy)
        gx, gy = self._grad(p[..., 0], p[..., 1])
        return np.stack(np.broadcast_arrays(gx, gy), axis=-1)

    @property
    def minima(self) -> np.ndarray:
        """The global minimisers, shape (k, 2) (f = ``min_value`` there)."""
        raise NotImplementedError

    @property
    def saddles(self) -> np.ndarray:
        """Saddle points, shape (k, 2) (none unless a surface has them)."""
        return _frozen(np.zeros((0, 2)))

    def describe(self) -> str:
        """A one-line label: the name and the formula with its parameters."""
        return f"{self.name}: {self.formula}"

    def _f(self, x, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _grad(self, x, y):  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Quadratic(Surface):
    """f(θ) = ½ θᵀ A θ with A = R(φ) diag(1/κ, 1) R(φ)ᵀ, ∇f = Aθ, minimum 0 at θ = 0.

    The largest curvature is L = 1 (so plain gradient descent is stable for lr < 2/L = 2) and
    the smallest μ = 1/κ: ``condition`` κ = L/μ >= 1 sets how stretched the bowl is. At
    ``angle`` φ = 0 (degrees) the flat direction is the θ₁ axis; rotating the bowl mixes the
    two coordinates, which changes nothing for SGD or momentum but does for the per-coordinate
    methods (AdaGrad, RMSprop, Adam).
    """

    condition: float = 10.0
    angle: float = 0.0

    name = "quadratic"
    start = (-2.0, 1.5)
    xlim = (-2.5, 2.5)
    ylim = (-2.5, 2.5)

    def __post_init__(self):
        object.__setattr__(self, "condition", check_number(self.condition, "condition (κ = L/μ)",
                                                           low=1.0, high=1e8))
        object.__setattr__(self, "angle", check_number(self.angle, "angle (degrees)", low=-360, high=360))
        c, s = np.cos(np.radians(self.angle)), np.sin(np.radians(self.angle))
        R = np.array([[c, -s], [s, c]])
        A = _frozen(R @ np.diag([1.0 / self.condition, 1.0]) @ R.T)
        object.__setattr__(self, "_A", A)
        object.__setattr__(self, "_abd", (float(A[0, 0]), float(A[0, 1]), float(A[1, 1])))

    @property
    def formula(self) -> str:
        rot = f", turned by {self.angle:g}°" if self.angle else ""
        return f"½ θᵀAθ, curvatures 1/κ and 1, κ = {self.condition:g}{rot}"

    @property
    def matrix(self) -> np.ndarray:
        """A = R diag(1/κ, 1) Rᵀ, R the rotation by ``angle``."""
        return self._A

    @property
    def minima(self):
        return _frozen([[0.0, 0.0]])

    def _f(self, x, y):
        a, b, d = self._abd
        return 0.5 * (a * x * x + 2 * b * x * y + d * y * y)     # ½ θᵀAθ (A symmetric)

    def _grad(self, x, y):
        a, b, d = self._abd
        return a * x + b * y, b * x + d * y                      # Aθ


@dataclass(frozen=True)
class Rosenbrock(Surface):
    """f = (a − x)² + b (y − x²)² (Rosenbrock, 1960), minimum 0 at (a, a²).

    A curved, narrow valley along y = x²: finding the valley is easy, following it to the
    minimum is slow for plain gradient descent (the curvature across the valley, ≈ 2b(1 + 4x²),
    dwarfs the one along it).

        ∂f/∂x = −2(a − x) − 4b x (y − x²)          ∂f/∂y = 2b (y − x²)
    """

    a: float = 1.0
    b: float = 100.0

    name = "rosenbrock"
    start = (-1.5, 2.0)
    xlim = (-2.0, 2.0)
    ylim = (-1.0, 3.0)

    def __post_init__(self):
        object.__setattr__(self, "a", check_number(self.a, "a", low=-1.5, high=1.5))
        object.__setattr__(self, "b", check_number(self.b, "b", low=0.0, high=1e4, low_open=True))

    @property
    def formula(self) -> str:
        return f"({self.a:g} − x)² + {self.b:g}(y − x²)²"

    @property
    def minima(self):
        return _frozen([[self.a, self.a**2]])

    def _f(self, x, y):
        u, r = self.a - x, y - x * x
        return u * u + self.b * r * r

    def _grad(self, x, y):
        r = y - x * x
        return -2 * (self.a - x) - 4 * self.b * x * r, 2 * self.b * r


@dataclass(frozen=True)
class Saddle(Surface):
    """f = x² − y² + y⁴/4 + 1: a saddle at (0, 0) (f = 1, Hessian diag(2, −2)) between two
    minima at (0, ±√2) with f = 0. The quartic term keeps f bounded below.

        ∂f/∂x = 2x          ∂f/∂y = −2y + y³

    Gradient descent started on the x axis (y = 0, the saddle's stable manifold) never leaves
    it and converges to the saddle; started a hair off it, it escapes only as fast as
    y grows by (1 + 2η) per step.
    """

    name = "saddle"
    formula = "x² − y² + y⁴/4 + 1"
    start = (1.8, 0.001)
    xlim = (-2.0, 2.0)
    ylim = (-2.0, 2.0)

    @property
    def minima(self):
        r = np.sqrt(2.0)
        return _frozen([[0.0, -r], [0.0, r]])

    @property
    def saddles(self):
        return _frozen([[0.0, 0.0]])

    def _f(self, x, y):
        y2 = y * y
        return x * x - y2 + 0.25 * y2 * y2 + 1.0

    def _grad(self, x, y):
        return 2 * x, -2 * y + y * y * y


BEALE_C = (1.5, 2.25, 2.625)


@dataclass(frozen=True)
class Beale(Surface):
    """f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)² (Beale, 1958), minimum 0 at
    (3, 0.5). Flat plateaus and very steep walls (f grows like x² y⁶): a fixed learning rate
    that is safe on the walls crawls on the plateaus.

        rᵢ = cᵢ − x + x yⁱ      ∂f/∂x = Σ 2 rᵢ (yⁱ − 1)      ∂f/∂y = Σ 2 rᵢ · i x yⁱ⁻¹
    """

    name = "beale"
    formula = "Σᵢ (cᵢ − x + x yⁱ)², c = (1.5, 2.25, 2.625)"
    start = (1.0, 1.5)
    xlim = (-4.5, 4.5)
    ylim = (-4.5, 4.5)

    @property
    def minima(self):
        return _frozen([[3.0, 0.5]])

    def _f(self, x, y):
        total = 0.0
        yi = 1.0
        for c in BEALE_C:
            yi = yi * y                                    # yⁱ
            r = c - x + x * yi                             # rᵢ
            total = total + r * r
        return total

    def _grad(self, x, y):
        gx, gy = 0.0, 0.0
        yi_1 = 1.0                                         # yⁱ⁻¹
        for i, c in enumerate(BEALE_C, start=1):
            yi = yi_1 * y
            r = c - x + x * yi                             # rᵢ
            gx = gx + 2 * r * (yi - 1)                     # ∂rᵢ/∂x = yⁱ − 1
            gy = gy + 2 * r * i * x * yi_1                 # ∂rᵢ/∂y = i x yⁱ⁻¹
            yi_1 = yi
        return gx, gy


SURFACES = {cls.name: cls for cls in (Quadratic, Rosenbrock, Saddle, Beale)}


def make_surface(name: str, **params) -> Surface:
    """A surface by name (``"quadratic"``, ``"rosenbrock"``, ``"saddle"``, ``"beale"``) with its
    parameters, e.g. ``make_surface("quadratic", condition=50, angle=30)``."""
    cls = SURFACES[check_choice(name, "surface", tuple(SURFACES))]
    try:
        return cls(**params)
    except TypeError:
        fields = [f for f in cls.__dataclass_fields__]
        raise TypeError(
            f"surface {cls.name!r} takes the parameters {fields or 'none'}; got {sorted(params)}."
        ) from None
