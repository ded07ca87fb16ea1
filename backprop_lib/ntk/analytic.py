"""Infinite-width kernels of a fully connected network: the NNGP kernel K and the NTK Θ.

Conventions are those of neural-tangents' ``stax`` (so results can be compared with it),
for a network in the NTK parameterization ``z = (w_std/√fan_in)·W x + b_std·b`` with
``W, b ~ N(0, 1)``:

* input kernel                 K⁰ = X₁ X₂ᵀ / d_in,  Θ⁰ = 0
* dense layer                  K ← w_std²·K + b_std²,     Θ ← K + w_std²·Θ   (K the new one)
* activation φ                 K ← E[φ(u)φ(v)],           Θ ← Θ · E[φ'(u)φ'(v)]
                               with (u, v) ~ N(0, [[K(x,x), K(x,x')], [K(x,x'), K(x',x')]])
* ``depth`` hidden dense+activation blocks, then a dense readout with the same stds.

The Gaussian expectations need the diagonals K(x,x) and K(x',x') as well as the cross term,
so the recursion carries all three. Closed forms: ReLU (arc-cosine kernel), erf, identity;
any other activation by two-dimensional Gaussian quadrature (a half-range Gauss–Hermite rule
in the radius times Gauss–Legendre in the angle, cut where φ's argument changes sign; see
``kernel_quadrature.py``). After each layer |K12| is clipped to √(K11 K22) (Cauchy–Schwarz),
so round-off cannot push a kernel out of the PSD cone, not even in a chaotic deep network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, check_number, check_positive_int
from .kernel_quadrature import DIAGONAL_TOL, gaussian_expectations, resolve_activation

CLOSED_FORMS = ("relu", "erf", "identity")


@dataclass(frozen=True)
class Kernels:
    """The two infinite-width kernels, each ``(n1, n2)``.

    ``nngp``: K(x, x') = E[f(x) f(x')] over random initialisations (the network at
    initialisation is a Gaussian process with this covariance).
    ``ntk``: Θ(x, x') = Σ_p ∂f(x)/∂p · ∂f(x')/∂p, deterministic in the infinite-width limit.
    """

    nngp: np.ndarray
    ntk: np.ndarray


# -- closed-form activation steps ---------------------------------------------------------
# Each maps (K11 (n1,), K22 (n2,), K12 (n1, n2)) to the new (K11, K22, K12) and the
# derivative kernel Kdot12 = E[φ'(u) φ'(v)] (n1, n2).

def _relu_step(k11, k22, k12):
    """Arc-cosine kernel of order 1 (Cho & Saul 2009).

    E[relu(u) relu(v)] = (√(K11 K22) sin θ + (π − θ) K12) / (2π),
    E[relu'(u) relu'(v)] = (π − θ) / (2π),
    θ = arctan2(√max(K11 K22 − K12², 0), K12)   (arccos is ill-conditioned near θ = 0).
    The product K11·K22 is never formed (it overflows for large w_std and depth): with
    n = √K11·√K22 and ρ = K12/n clipped to [−1, 1], √(K11K22 − K12²) = n·√((1 − ρ)(1 + ρ)).
    When 1 − ρ² is at round-off level the points coincide and the angle is set to exactly 0,
    so the diagonal carries no √(round-off) ≈ 1e-8 error into deep kernels.
    """
    norm = np.sqrt(k11)[:, None] * np.sqrt(k22)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(norm > 0, k12 / norm, 0.0)
    rho = np.clip(rho, -1.0, 1.0)
    sin2 = (1.0 - rho) * (1.0 + rho)
    sin_theta = np.sqrt(np.where(sin2 > DIAGONAL_TOL, sin2, 0.0))
    theta = np.arctan2(norm * sin_theta, k12)
    kdot = (math.pi - theta) / (2 * math.pi)     # exactly ½ at θ = 0 (2π is π doubled)
    k12_new = norm * sin_theta / (2 * math.pi) + kdot * k12
    return k11 / 2, k22 / 2, k12_new, kdot


def _erf_step(k11, k22, k12):
    """Closed form for φ = erf (Williams 1997).

    E[erf(u) erf(v)] = (2/π) arcsin(2 K12 / √((1 + 2 K11)(1 + 2 K22))),
    E[erf'(u) erf'(v)] = (4/π) / √((1 + 2 K11)(1 + 2 K22) − 4 K12²).
    The determinant under the last root is 1 + 2 K11 + 2 K22 + 4 (K11 K22 − K12²) ≥ 1.
    """
    a1, a2 = np.sqrt(1 + 2 * k11), np.sqrt(1 + 2 * k22)
    k12_new = (2 / math.pi) * np.arcsin(np.clip(2 * k12 / (a1[:, None] * a2[None, :]), -1.0, 1.0))
    norm = np.sqrt(k11)[:, None] * np.sqrt(k22)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.clip(np.where(norm > 0, k12 / norm, 0.0), -1.0, 1.0)
    with np.errstate(over="ignore"):  # an infinite determinant just means Kdot = 0
        det = 1 + 2 * (k11[:, None] + k22[None, :]) + 4 * norm**2 * (1 - rho) * (1 + rho)
    kdot = (4 / math.pi) / np.sqrt(det)
    # the same operations as the cross term, so that identical points stay bit-identical
    diag = lambda k, a: (2 / math.pi) * np.arcsin(np.clip(2 * k / (a * a), -1.0, 1.0))  # noqa: E731
    return diag(k11, a1), diag(k22, a2), k12_new, kdot


def _identity_step(k11, k22, k12):
    return k11, k22, k12, np.ones_like(k12)


_STEPS = {"relu": _relu_step, "erf": _erf_step, "identity": _identity_step}


def _closed_form_name(activation):
    """"relu" for "ReLU", bp.nn.ReLU or bp.nn.ReLU(); None when there is no such name."""
    name = activation if isinstance(activation, str) else getattr(activation, "name", None)
    return name.lower() if isinstance(name, str) else None


# -- the recursion ------------------------------------------------------------------------

def _input_kernel(x1, x2):
    """K⁰ = X₁X₂ᵀ/d and its diagonals. Pairs of identical rows get exactly K11 (as on the
    diagonal of a symmetric kernel), so the recursion treats them as the same point."""
    d = x1.shape[1]
    k11 = np.einsum("ij,ij->i", x1, x1) / d
    if x2 is None:
        k12 = x1 @ x1.T / d
        k12 = (k12 + k12.T) / 2
        np.fill_diagonal(k12, k11)
        return k11, k11, k12
    k22 = np.einsum("ij,ij->i", x2, x2) / d
    k12 = x1 @ x2.T / d
    rows = {}
    for i, row in enumerate(x1):
        rows.setdefault(row.tobytes(), []).append(i)
    for j, row in enumerate(x2):
        for i in rows.get(row.tobytes(), ()):
            k12[i, j] = k22[j] = k11[i]
    return k11, k22, k12


def _cauchy_schwarz(k11, k22, k12):
    """Clip |K12| ≤ √(K11 K22), which every covariance satisfies. Round-off can break it near
    the diagonal, and in a chaotic network (large w_std) each layer would amplify the breach
    until the kernel is no longer PSD. Pairs with K11 = K22 get the exact bound K11."""
    bound = np.sqrt(k11)[:, None] * np.sqrt(k22)[None, :]
    bound = np.where(k11[:, None] == k22[None, :], k11[:, None], bound)
    return np.clip(k12, -bound, bound)


def _check_inputs(x1, x2):
    x1 = as_float_array(x1, "x1", ndim=2).astype(np.float64, copy=False)
    if x2 is None:
        return x1, None
    x2 = as_float_array(x2, "x2", ndim=2).astype(np.float64, copy=False)
    if x2.shape[1] != x1.shape[1]:
        raise ValueError(
            f"x1 and x2 must have the same number of features; got x1 of shape {x1.shape} and "
            f"x2 of shape {x2.shape}. Pass inputs shaped (n1, d) and (n2, d)."
        )
    return x1, x2


def analytic(x1, x2=None, depth: int = 3, activation="relu", w_std: float = 1.0, b_std: float = 0.0,
             quadrature_order: int | None = None) -> Kernels:
    """Infinite-width NNGP kernel and NTK between the rows of ``x1`` and ``x2``.

    x1: (n1, d), x2: (n2, d) or None (then x2 = x1 and the kernels are symmetric).
    depth: number of hidden dense+activation blocks (≥ 1); a dense readout follows.
    activation: ``"relu"``, ``"erf"`` (erf(x) itself) or ``"identity"`` have closed forms.
        Anything else needs ``quadrature_order``: a name (``"tanh"``, ``"sigmoid"``, ``"gelu"``,
        ``"softplus"``, ``"elu"``, ``"leaky_relu"``), an object with static ``f(x)`` and
        ``df(x)`` (such as ``bp.nn.Tanh``), or a plain callable (its derivative is then
        taken by central finite differences, accurate to about 1e-8).
    w_std, b_std: weight and bias standard deviations (≥ 0) of every dense layer.
    quadrature_order: None for the closed form; an int q computes the Gaussian expectations by
        quadrature with q radial × 4q angular nodes per pair of inputs (for any activation,
        closed form or not). q = 16 gives ~1e-8 relative accuracy for smooth activations at
        w_std ≈ 1, larger w_std needs more; the cost is 4q² activation calls per pair and layer.

    Returns ``Kernels(nngp, ntk)``, each (n1, n2) float64.

    >>> k = analytic(np.eye(3), depth=2)
    >>> k.ntk.shape
    (3, 3)
    """
    x1, x2 = _check_inputs(x1, x2)
    depth = check_positive_int(depth, "depth")
    w_std = check_number(w_std, "w_std", low=0.0)
    b_std = check_number(b_std, "b_std", low=0.0)
    if quadrature_order is not None:
        quadrature_order = check_positive_int(quadrature_order, "quadrature_order")
        f, df = resolve_activation(activation)
        step = lambda k11, k22, k12: gaussian_expectations(  # noqa: E731
            f, df, k11, k22, k12, quadrature_order, symmetric=x2 is None)
    elif _closed_form_name(activation) in _STEPS:
        step = _STEPS[_closed_form_name(activation)]
    else:
        name = activation if isinstance(activation, str) else getattr(activation, "__name__", activation)
        raise ValueError(
            f"activation {name!r} has no closed-form kernel (closed forms: {', '.join(CLOSED_FORMS)}); "
            "pass quadrature_order=32 (for example) to compute its kernel by Gaussian quadrature."
        )
    if isinstance(activation, str) and quadrature_order is not None:
        resolve_activation(activation)  # unknown names fail here with the list of known ones

    symmetric = x2 is None
    k11, k22, k12 = _input_kernel(x1, x2)
    theta = np.zeros_like(k12)

    def dense(k11, k22, k12, theta):
        k11, k22, k12 = (w_std**2 * k + b_std**2 for k in (k11, k22, k12))  # K ← w²K + b²
        return k11, k22, k12, k12 + w_std**2 * theta  # Θ ← K + w²Θ

    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(depth):
            k11, k22, k12, theta = dense(k11, k22, k12, theta)
            if symmetric:  # keep the diagonal of K12 bit-identical to K11 (θ = 0 exactly there)
                k12 = (k12 + k12.T) / 2
                np.fill_diagonal(k12, k11)
                k22 = k11
            k11, k22, k12, kdot = step(k11, k22, k12)
            k12 = _cauchy_schwarz(k11, k22, k12)
            theta = theta * kdot  # Θ ← Θ · E[φ'(u)φ'(v)]
        k11, k22, k12, theta = dense(k11, k22, k12, theta)

    if symmetric:
        k12, theta = (k12 + k12.T) / 2, (theta + theta.T) / 2
    if not (np.all(np.isfinite(k12)) and np.all(np.isfinite(theta))):
        raise OverflowError(
            f"the kernels overflowed float64 (depth={depth}, w_std={w_std}, b_std={b_std}, "
            f"largest input kernel {float(np.max(_input_kernel(x1, None)[0])):.3g}); a ReLU kernel grows "
            "like (w_std²/2)^depth. Use a smaller w_std or depth, or rescale the inputs."
        )
    return Kernels(nngp=k12, ntk=theta)
