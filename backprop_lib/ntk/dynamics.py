"""Training dynamics of a linearised network: kernel regression in time.

A network linearised around its initialisation, f(x; p) ≈ f₀(x) + ∇_p f₀(x)·(p − p₀),
trained on the mean-squared loss L = 1/(2n)·Σᵢ(f(xᵢ) − yᵢ)² moves its outputs by the NTK Θ:

    gradient flow      df_train/dt = −(η/n) Θ (f_train − y)
    gradient descent   f_{s+1} = f_s − (η/n) Θ (f_s − y)

With Θ = V diag(λ) Vᵀ, the residual along eigenvector vᵢ decays on its own:

    flow   rᵢ(t) = e^{−ηλᵢt/n} rᵢ(0)        GD   rᵢ(s) = (1 − ηλᵢ/n)^s rᵢ(0)

so f_train(t) = y + e^{−ηtΘ/n}(f₀ − y) = f₀ + (I − e^{−ηtΘ/n})(y − f₀), and test points follow

    f_test(t) = f₀,test + Θ_test,train Θ⁻¹ (I − e^{−ηtΘ/n}) (y − f₀)

(Θ⁻¹(I − e^{−ηtΘ/n}) stays finite as λ → 0: it tends to ηt/n along that mode). Large-λ modes
are learnt first; the smallest eigenvalue sets the time to fit everything. Gradient descent
diverges along any mode with ηλ/n > 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, check_choice, check_number


@dataclass(frozen=True)
class LinearizedDynamics:
    """Predicted outputs of the linearised network at each time.

    t: (T,) times (gradient flow) or step counts (gradient descent).
    f_train: (T, n) or (T, n, k) predicted training outputs.
    f_test: (T, m) or (T, m, k), or None when no test kernel was given.
    eigenvalues: (n,) of Θ_train, largest first (round-off negatives clipped to 0).
    eigenvectors: (n, n), column i belongs to eigenvalues[i].
    rates: (n,) ηλᵢ/n: the decay rate of mode i per unit time (flow) or per step (GD).
    residual_modes: (T, n) or (T, n, k) Vᵀ(f_train(t) − y), the residual along each mode.
    method: "flow" or "gd".
    """

    t: np.ndarray
    f_train: np.ndarray
    f_test: np.ndarray | None
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    rates: np.ndarray
    residual_modes: np.ndarray
    method: str

    @property
    def train_loss(self) -> np.ndarray:
        """(T,) L = 1/(2n)·Σ(f − y)²; V is orthogonal, so it is ½·mean over modes of r²."""
        r = self.residual_modes.reshape(len(self.t), self.eigenvalues.size, -1)
        return 0.5 * np.sum(r * r, axis=(1, 2)) / self.eigenvalues.size


def _check_kernel(theta, n_name="theta_train"):
    theta = as_float_array(theta, n_name, ndim=2).astype(np.float64, copy=False)
    n = theta.shape[0]
    if theta.shape != (n, n):
        raise ValueError(f"{n_name} must be a square (n, n) kernel matrix; got shape {theta.shape}.")
    scale = max(float(np.max(np.abs(theta))), np.finfo(float).tiny)
    asym = float(np.max(np.abs(theta - theta.T)))
    if asym > 1e-8 * scale:
        raise ValueError(
            f"{n_name} must be symmetric; largest |Θ − Θᵀ| is {asym:.3g} (largest entry {scale:.3g}). "
            "Pass the train–train kernel, e.g. bp.ntk.empirical(net, x_train)."
        )
    return (theta + theta.T) / 2


def _check_outputs(arr, name, n, k_shape, n_label):
    arr = as_float_array(arr, name).astype(np.float64, copy=False)
    if arr.ndim not in (1, 2) or arr.shape[0] != n or arr.shape[1:] != k_shape:
        expected = (n, *k_shape)
        raise ValueError(
            f"{name} must have shape {expected} (one row per {n_label} point, like y_train); "
            f"got shape {arr.shape}."
        )
    return arr


def _check_times(t, method):
    name = "t" if method == "flow" else "t (number of steps)"
    arr = np.asarray(t)
    if arr.dtype.kind in "iu":  # step counts may come as integers
        arr = arr.astype(np.float64)
    arr = np.atleast_1d(as_float_array(arr, name)).astype(np.float64, copy=False)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a number or a 1-D array of times; got shape {arr.shape}.")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be ≥ 0; got minimum {arr.min()}.")
    if method == "gd" and np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must hold whole numbers of gradient-descent steps; got {arr}.")
    return arr


def _transfer(lam, rates, t, lr, n, method):
    """decay (T, n) = e^{−rate·t} or (1 − rate)^s, and gain (T, n) = (1 − decay)/λ."""
    tt, c = t[:, None], rates[None, :]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if method == "flow":
            x = c * tt
            decay = np.exp(-x)
            # (1 − e^{−x})/λ = (ηt/n)·(1 − e^{−x})/x, which → ηt/n as x → 0
            ratio = np.where(x > 1e-12, -np.expm1(-x) / np.where(x > 1e-12, x, 1.0), 1.0 - x / 2)
            gain = (lr / n) * tt * ratio
        else:
            cs = np.minimum(c, 0.5)
            log_step = tt * np.log1p(-cs)                    # s·log(1 − c), accurate for small c
            decay = np.where(c < 0.5, np.exp(log_step), (1 - c) ** tt)
            one_minus = np.where(c < 0.5, -np.expm1(log_step), 1 - decay)
            # (1 − (1 − c)^s)/λ = (η/n)·(1 − (1 − c)^s)/c, which → ηs/n as c → 0
            small = c < 1e-12
            gain = (lr / n) * np.where(small, tt, one_minus / np.where(small, 1.0, c))
    return decay, gain


def linearized_dynamics(theta_train, theta_test_train, y_train, f0_train, f0_test, lr, t,
                        *, method: str = "flow") -> LinearizedDynamics:
    """Outputs of the linearised network trained on MSE, at each time in ``t``.

    theta_train: (n, n) NTK between training points (symmetric PSD).
    theta_test_train: (m, n) NTK between test and training points, or None.
    y_train: (n,) or (n, k) targets.
    f0_train: outputs at initialisation, shaped like y_train; None means 0 (the mean
        prediction over random initialisations, whose outputs have mean 0).
    f0_test: (m,) or (m, k) outputs at initialisation on the test points; None means 0.
    lr: learning rate η > 0 of L = 1/(2n)·Σ(f − y)².
    t: a time or an array of times (``method="flow"``), or numbers of steps (``"gd"``).
    method: ``"flow"`` (gradient flow, e^{−ηtΘ/n}) or ``"gd"`` (full-batch gradient descent,
        (I − ηΘ/n)^steps, what a training loop actually does).

    Returns a ``LinearizedDynamics`` (see its fields). A learning rate with ηλ_max/n > 2
    makes "gd" diverge: the result then grows without bound (it is not an error).
    """
    method = check_choice(method, "method", ("flow", "gd"))
    theta = _check_kernel(theta_train)
    n = theta.shape[0]
    y = as_float_array(y_train, "y_train").astype(np.float64, copy=False)
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise ValueError(
            f"y_train must have shape ({n},) or ({n}, k) to match theta_train of shape {theta.shape}; "
            f"got shape {y.shape}."
        )
    k_shape = y.shape[1:]
    f0 = (np.zeros_like(y) if f0_train is None
          else _check_outputs(f0_train, "f0_train", n, k_shape, "training"))
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    times = _check_times(t, method)

    if theta_test_train is None:
        if f0_test is not None:
            raise ValueError("f0_test was given without theta_test_train; pass both or neither.")
        cross = None
    else:
        cross = as_float_array(theta_test_train, "theta_test_train", ndim=2).astype(np.float64, copy=False)
        if cross.shape[1] != n:
            raise ValueError(
                f"theta_test_train must have shape (m, {n}) (test rows, training columns); got "
                f"shape {cross.shape}. Pass bp.ntk.empirical(net, x_test, x_train)."
            )
        m = cross.shape[0]
        f0_te = (np.zeros((m, *k_shape)) if f0_test is None
                 else _check_outputs(f0_test, "f0_test", m, k_shape, "test"))

    lam, vecs = np.linalg.eigh(theta)
    lam, vecs = lam[::-1], vecs[:, ::-1]  # largest first
    if lam[-1] < -1e-8 * max(lam[0], np.finfo(float).tiny):
        raise ValueError(
            f"theta_train must be positive semi-definite; its smallest eigenvalue is {lam[-1]:.3g} "
            f"(largest {lam[0]:.3g}). An NTK always is: check how the kernel was computed."
        )
    lam = np.maximum(lam, 0.0)
    rates = lr * lam / n                                   # ηλᵢ/n
    decay, gain = _transfer(lam, rates, times, lr, n, method)

    y2, f02 = y.reshape(n, -1), f0.reshape(n, -1)
    r0 = vecs.T @ (f02 - y2)                               # residual per mode at t = 0
    with np.errstate(over="ignore", invalid="ignore"):
        modes = decay[:, :, None] * r0[None]               # rᵢ(t) = decayᵢ(t)·rᵢ(0)
        f_train = y2[None] + np.einsum("ij,tjk->tik", vecs, modes)
        f_test = None
        if cross is not None:
            # f_test = f₀ + Θ_te,tr V diag((1 − decay)/λ) Vᵀ (y − f₀)
            a = cross @ vecs
            f_test = f0_te.reshape(m, -1)[None] + np.einsum("ij,tjk->tik", a, gain[:, :, None] * (-r0)[None])
    T = times.size
    shape = lambda arr, rows: arr.reshape(T, rows, *k_shape)  # noqa: E731
    return LinearizedDynamics(
        t=times, f_train=shape(f_train, n), f_test=None if f_test is None else shape(f_test, m),
        eigenvalues=lam, eigenvectors=vecs, rates=rates, residual_modes=shape(modes, n), method=method,
    )
