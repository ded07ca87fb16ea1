"""The NTK chapter's claims as experiments: each function returns arrays, never a figure.

* ``kernel_convergence``: the empirical NTK approaches the analytic one as width grows
  (relative distance ∝ 1/√width);
* ``kernel_change_during_training``: wide networks barely move their kernel while training
  (the lazy regime; relative change ∝ 1/√width);
* ``predicted_vs_actual``: a wide network trained by gradient descent follows the
  linearised (kernel-regression) prediction, a narrow one does not;
* ``convergence_vs_eigenvalue``: the residual along each kernel eigenvector decays at the
  rate ηλ/n.

Networks are ``bp.nn.mlp`` in the NTK parameterization, trained by full-batch gradient
descent on L = 1/(2n)·Σ(f − y)² (the loss ``linearized_dynamics`` assumes; note
``bp.nn.MSELoss`` has no ½). Default data: 12 points on the unit circle, y = cos φ + ½ sin 2φ
(frequencies a bias-free ReLU kernel can fit: on the circle it has no odd frequencies ≥ 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, as_rng, check_number, check_positive_int
from ..nn.builders import mlp
from .analytic import CLOSED_FORMS, analytic
from .dynamics import linearized_dynamics
from .empirical import empirical

DEFAULT_QUADRATURE_ORDER = 32


def circle_data(n: int = 12, *, offset: float = 0.0):
    """n points evenly spaced on the unit circle (x: (n, 2)) and y = cos φ + ½ sin 2φ: (n,)."""
    n = check_positive_int(n, "n")
    phi = 2 * np.pi * (np.arange(n) + offset) / n
    return np.stack([np.cos(phi), np.sin(phi)], axis=1), np.cos(phi) + 0.5 * np.sin(2 * phi)


def _data(x, y):
    if x is None:
        x, y_default = circle_data()
        y = y_default if y is None else y
    x = as_float_array(x, "x", ndim=2).astype(np.float64, copy=False)
    if y is None:
        return x, None
    y = as_float_array(y, "y", ndim=1).astype(np.float64, copy=False)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have one target per row of x: shape ({x.shape[0]},); got {y.shape}.")
    return x, y


def _widths(widths):
    widths = [check_positive_int(w, "widths[i]") for w in np.atleast_1d(widths).tolist()]
    if not widths:
        raise ValueError("widths must list at least one width, e.g. [64, 256, 1024].")
    return widths


def _net(width, depth, activation, d_in, seed, w_std, b_std):
    return mlp([d_in] + [width] * depth + [1], activation=activation, seed=seed,
               parameterization="ntk", w_std=w_std, b_std=b_std)


def _slope(widths, values):
    """Slope of log(value) against log(width) (≈ −0.5 for a 1/√width law)."""
    w, v = np.log(np.asarray(widths, float)), np.asarray(values, float)
    ok = np.isfinite(v) & (v > 0)
    return float(np.polyfit(w[ok], np.log(v[ok]), 1)[0]) if ok.sum() >= 2 else float("nan")


def train_gd(net, x, y, lr, steps, x_test=None):
    """Full-batch GD on L = 1/(2n)Σ(f − y)²; outputs before each step and after the last.

    Returns f_train (steps + 1, n) and f_test (steps + 1, m) or None.
    """
    n = x.shape[0]
    params = net.parameters()
    f_train, f_test = [], []
    for step in range(steps + 1):
        if x_test is not None:
            f_test.append(net(x_test)[:, 0])
        f = net(x)                                     # the cache backward uses: last forward on x
        f_train.append(f[:, 0])
        if step == steps:
            break
        net.zero_grad()
        net.backward((f - y[:, None]) / n)             # dL/df = (f − y)/n
        for p in params:
            p.data -= lr * p.grad
    return np.asarray(f_train), (np.asarray(f_test) if x_test is not None else None)


def _check_stable(theta, lr, n):
    lam_max = float(np.linalg.eigvalsh(theta)[-1])
    if lr * lam_max / n >= 2:
        raise ValueError(
            f"lr={lr} makes gradient descent diverge: η·λ_max/n = {lr * lam_max / n:.3g} ≥ 2 for this "
            f"network's kernel (λ_max = {lam_max:.3g}, n = {n}). Use lr < {2 * n / lam_max:.3g}."
        )


# -- 1. empirical → analytic ----------------------------------------------------------------

@dataclass(frozen=True)
class KernelConvergence:
    """widths (W,); distances (W, n_nets) = ‖Θ_emp − Θ_∞‖_F / ‖Θ_∞‖_F; mean, std (W,);
    slope of log(mean) vs log(width) (≈ −0.5); analytic (n, n) the infinite-width NTK."""

    widths: np.ndarray
    distances: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    slope: float
    analytic: np.ndarray


def kernel_convergence(widths=(16, 64, 256, 1024), depth: int = 2, activation: str = "relu", x=None,
                       n_nets: int = 5, seed=0, *, w_std: float = 1.0, b_std: float = 0.0,
                       quadrature_order: int | None = None) -> KernelConvergence:
    """Relative Frobenius distance between empirical and analytic NTK, per width.

    x: (n, d) inputs (default: 12 points on the unit circle). ``n_nets`` random networks per
    width. ``quadrature_order`` is used when the activation has no closed form (default 32).
    """
    widths = _widths(widths)
    depth, n_nets = check_positive_int(depth, "depth"), check_positive_int(n_nets, "n_nets")
    x, _ = _data(x, None)
    if quadrature_order is None and activation not in CLOSED_FORMS:
        quadrature_order = DEFAULT_QUADRATURE_ORDER
    theta_inf = analytic(x, depth=depth, activation=activation, w_std=w_std, b_std=b_std,
                         quadrature_order=quadrature_order).ntk
    rng = as_rng(seed)
    dist = np.empty((len(widths), n_nets))
    for i, width in enumerate(widths):
        for j in range(n_nets):
            net = _net(width, depth, activation, x.shape[1], rng, w_std, b_std)
            dist[i, j] = np.linalg.norm(empirical(net, x) - theta_inf) / np.linalg.norm(theta_inf)
    mean = dist.mean(axis=1)
    return KernelConvergence(np.asarray(widths), dist, mean, dist.std(axis=1, ddof=1 if n_nets > 1 else 0),
                             _slope(widths, mean), theta_inf)


# -- 2. lazy training ------------------------------------------------------------------------

@dataclass(frozen=True)
class KernelChange:
    """widths (W,); changes (W, n_nets) = ‖Θ_T − Θ_0‖_F / ‖Θ_0‖_F after ``steps`` of GD;
    mean, std (W,); slope of log(mean) vs log(width) (≈ −0.5); final_loss (W, n_nets)."""

    widths: np.ndarray
    changes: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    slope: float
    final_loss: np.ndarray


def kernel_change_during_training(widths=(64, 256, 1024, 4096), depth: int = 1, activation: str = "relu",
                                  x=None, y=None, steps: int = 100, lr: float = 1.0, n_nets: int = 3,
                                  seed=0, *, w_std: float = 1.0, b_std: float = 0.0) -> KernelChange:
    """How much the empirical NTK moves while a network trains, per width.

    Each network is trained by ``steps`` of full-batch GD (rate ``lr``) on (x, y) (default:
    the circle data); the kernel on x is measured before and after.
    """
    widths = _widths(widths)
    depth, n_nets = check_positive_int(depth, "depth"), check_positive_int(n_nets, "n_nets")
    steps = check_positive_int(steps, "steps")
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    x, y = _data(x, y)
    if y is None:
        raise ValueError("y is required when x is given: pass targets of shape (n,).")
    rng = as_rng(seed)
    change, loss = np.empty((len(widths), n_nets)), np.empty((len(widths), n_nets))
    for i, width in enumerate(widths):
        for j in range(n_nets):
            net = _net(width, depth, activation, x.shape[1], rng, w_std, b_std)
            theta0 = empirical(net, x)
            _check_stable(theta0, lr, x.shape[0])
            f, _ = train_gd(net, x, y, lr, steps)
            change[i, j] = np.linalg.norm(empirical(net, x) - theta0) / np.linalg.norm(theta0)
            loss[i, j] = 0.5 * np.mean((f[-1] - y) ** 2)
    mean = change.mean(axis=1)
    return KernelChange(np.asarray(widths), change, mean, change.std(axis=1, ddof=1 if n_nets > 1 else 0),
                        _slope(widths, mean), loss)


# -- 3. predicted vs actual training ---------------------------------------------------------

@dataclass(frozen=True)
class PredictedVsActual:
    """Network outputs during GD next to the linearised prediction, at steps 0 … steps.

    actual_train, predicted_train: (steps + 1, n); actual_test, predicted_test: (steps + 1, m).
    train_error, test_error: max over steps of ‖actual − predicted‖ divided by the largest
    distance the actual outputs moved from their initial values (0 = perfect prediction).
    """

    steps: np.ndarray
    actual_train: np.ndarray
    predicted_train: np.ndarray
    actual_test: np.ndarray
    predicted_test: np.ndarray
    train_error: float
    test_error: float


def _relative_path_error(actual, predicted):
    moved = np.max(np.linalg.norm(actual - actual[0], axis=1))
    return float(np.max(np.linalg.norm(actual - predicted, axis=1)) / max(moved, np.finfo(float).tiny))


def predicted_vs_actual(width: int = 2048, depth: int = 1, activation: str = "relu", x_train=None,
                        y_train=None, x_test=None, steps: int = 100, lr: float = 1.0, seed=0, *,
                        kernel: str = "empirical", w_std: float = 1.0, b_std: float = 0.0,
                        quadrature_order: int | None = None) -> PredictedVsActual:
    """Train a network by full-batch GD and compare with ``linearized_dynamics(method="gd")``.

    kernel: ``"empirical"`` linearises this very network (its NTK at initialisation);
    ``"analytic"`` uses the infinite-width NTK (with the network's own initial outputs).
    Defaults: 12 training points on the circle, 12 test points halfway between them (for
    other 2-D inputs, as many points on the circle between; otherwise x_test = x_train).
    """
    width, depth = check_positive_int(width, "width"), check_positive_int(depth, "depth")
    steps = check_positive_int(steps, "steps")
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    if kernel not in ("empirical", "analytic"):
        raise ValueError(f"unknown kernel {kernel!r}; expected 'empirical' or 'analytic'.")
    x_train, y_train = _data(x_train, y_train)
    if y_train is None:
        raise ValueError("y_train is required when x_train is given: pass targets of shape (n,).")
    if x_test is None:
        x_test = circle_data(x_train.shape[0], offset=0.5)[0] if x_train.shape[1] == 2 else x_train
    x_test = as_float_array(x_test, "x_test", ndim=2).astype(np.float64, copy=False)
    net = _net(width, depth, activation, x_train.shape[1], as_rng(seed), w_std, b_std)
    if kernel == "empirical":
        theta, cross = empirical(net, x_train), empirical(net, x_test, x_train)
    else:
        order = quadrature_order or (None if activation in CLOSED_FORMS else DEFAULT_QUADRATURE_ORDER)
        both = analytic(np.vstack([x_train, x_test]), depth=depth, activation=activation, w_std=w_std,
                        b_std=b_std, quadrature_order=order).ntk
        n = x_train.shape[0]
        theta, cross = both[:n, :n], both[n:, :n]
    _check_stable(theta, lr, x_train.shape[0])
    actual, actual_test = train_gd(net, x_train, y_train, lr, steps, x_test)
    pred = linearized_dynamics(theta, cross, y_train, actual[0], actual_test[0], lr,
                               np.arange(steps + 1), method="gd")
    return PredictedVsActual(np.arange(steps + 1), actual, pred.f_train, actual_test, pred.f_test,
                             _relative_path_error(actual, pred.f_train),
                             _relative_path_error(actual_test, pred.f_test))


# -- 4. convergence rate per eigen-direction --------------------------------------------------

@dataclass(frozen=True)
class EigenConvergence:
    """Residual of a trained network along the eigenvectors of its initial NTK.

    eigenvalues (n,), largest first; predicted_rate (n,) = −log|1 − ηλ/n| per GD step
    (≈ ηλ/n, the gradient-flow rate, for small steps); flow_rate (n,) = ηλ/n;
    measured_rate (n,) the least-squares slope of −log|rᵢ(s)| over the first steps, up to
    where the mode has fallen to ``floor``·|rᵢ(0)| or to ``noise``·max|r(0)| (the level at
    which the network's non-linearity mixes the modes); NaN if fewer than 3 such steps, e.g.
    for modes that start below the noise level;
    residual_modes (steps + 1, n) = Vᵀ(f(s) − y).
    """

    steps: np.ndarray
    eigenvalues: np.ndarray
    predicted_rate: np.ndarray
    flow_rate: np.ndarray
    measured_rate: np.ndarray
    residual_modes: np.ndarray


def convergence_vs_eigenvalue(width: int = 4096, depth: int = 1, activation: str = "relu", x=None, y=None,
                              steps: int = 200, lr: float = 1.0, seed=0, *, w_std: float = 1.0,
                              b_std: float = 0.0, floor: float = 1e-2, noise: float = 1e-4
                              ) -> EigenConvergence:
    """Measured vs predicted decay rate of the training residual along each NTK eigenvector."""
    width, depth = check_positive_int(width, "width"), check_positive_int(depth, "depth")
    steps = check_positive_int(steps, "steps")
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    floor = check_number(floor, "floor", low=0.0, low_open=True, high=1.0)
    noise = check_number(noise, "noise", low=0.0, high=1.0)
    x, y = _data(x, y)
    if y is None:
        raise ValueError("y is required when x is given: pass targets of shape (n,).")
    n = x.shape[0]
    net = _net(width, depth, activation, x.shape[1], as_rng(seed), w_std, b_std)
    theta = empirical(net, x)
    _check_stable(theta, lr, n)
    lam, vecs = np.linalg.eigh(theta)
    lam, vecs = np.maximum(lam[::-1], 0.0), vecs[:, ::-1]
    f, _ = train_gd(net, x, y, lr, steps)
    modes = (f - y) @ vecs                                    # rᵢ(s) = vᵢ·(f(s) − y)
    flow = lr * lam / n
    with np.errstate(divide="ignore"):
        predicted = -np.log(np.abs(1 - flow))
    measured = np.full(n, np.nan)
    s = np.arange(steps + 1)
    scale = np.max(np.abs(modes[0]))
    for i in range(n):
        mag = np.abs(modes[:, i])
        # fit until the mode reaches floor·|rᵢ(0)| or the noise level, whichever is higher
        below = np.nonzero(mag <= max(floor * mag[0], noise * scale))[0]
        last = below[0] if below.size else steps + 1
        if last >= 3:
            measured[i] = -np.polyfit(s[:last], np.log(mag[:last]), 1)[0]
    return EigenConvergence(s, lam, predicted, flow, measured, modes)
