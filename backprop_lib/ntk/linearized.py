"""The linearised network itself, trained in parameter space: an independent check of kernel dynamics.

Around its parameters p₀ a network with one output is, to first order,

    f_lin(x; p) = f₀(x) + J(x)·(p − p₀),        J(x): (n, P), row i = ∂f(xᵢ)/∂p

Gradient flow on L = 1/(2n)·Σ(f_lin(xᵢ) − yᵢ)² moves the parameters by

    dp/dt = −(η/n)·J(x)ᵀ(f_lin(x; p) − y)

``linearized_flow`` integrates this ODE with an ODE solver, in parameter space, without ever
forming the kernel Θ = J Jᵀ. The theory (``bp.ntk.linearized_dynamics``) says its outputs follow
f(t) = y + e^{−ηtΘ/n}(f₀ − y), that the residual along eigenvector vᵢ of Θ decays as
e^{−ηλᵢt/n}, and that a test point moves as f₀* + Θ_*X Θ⁻¹(I − e^{−ηtΘ/n})(y − f₀):
``decay_rates`` fits the rates back from the integrated residuals.

``kernel_alignment`` measures how well a kernel's leading directions point at the targets,
yᵀΘy / (‖Θ‖_F‖y‖²) ∈ [0, 1] for a PSD Θ: a network that learns features raises it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, check_number
from ..nn.module import Module


def _check_net(net):
    if not isinstance(net, Module):
        raise TypeError(f"net must be a bp.nn Module such as bp.nn.mlp([2, 64, 1]); "
                        f"got {type(net).__name__}.")


def jacobian(net, x) -> np.ndarray:
    """J: (n, P), J[i] = ∂f(xᵢ)/∂p for a network with one output, parameters flattened in the
    order of ``net.parameters()`` (one backward pass per example). x: (n, d).

    J Jᵀ is the empirical NTK ``bp.ntk.empirical(net, x)``. The parameters' ``.grad`` are
    restored afterwards.
    """
    _check_net(net)
    x = as_float_array(x, "x", ndim=2).astype(np.float64, copy=False)
    params = net.parameters()
    saved = [p.grad for p in params]
    sizes = np.cumsum([0] + [p.data.size for p in params])
    jac = np.zeros((x.shape[0], sizes[-1]))
    try:
        for i in range(x.shape[0]):
            out = net(x[i:i + 1])
            if out.shape != (1, 1):
                raise ValueError(f"jacobian needs a network with one output; net(x[:1]) has shape "
                                 f"{out.shape}. End the network with a Linear(..., 1) layer.")
            for p in params:
                p.grad = None
            net.backward(np.ones_like(out))                    # ∂f/∂f = 1
            for p, lo, hi in zip(params, sizes[:-1], sizes[1:], strict=True):
                if p.grad is not None:                         # None: the parameter does not act (b_std = 0)
                    jac[i, lo:hi] = p.grad.ravel()
    finally:
        for p, g in zip(params, saved, strict=True):
            p.grad = g
    return jac


@dataclass(frozen=True)
class LinearizedFlow:
    """Outputs of the linearised network under gradient flow, integrated in parameter space.

    t: (T,) times; f_train: (T, n); f_test: (T, m) or None; param_distance: (T,) ‖p(t) − p₀‖;
    jacobian: (n, P) J(x_train) at p₀ (so the kernel it implies is jacobian @ jacobian.T).
    """

    t: np.ndarray
    f_train: np.ndarray
    f_test: np.ndarray | None
    param_distance: np.ndarray
    jacobian: np.ndarray


def linearized_flow(net, x_train, y_train, lr, t, x_test=None, *, rtol: float = 1e-10,
                    atol: float = 1e-12) -> LinearizedFlow:
    """Integrate dp/dt = −(η/n)Jᵀ(f₀ + J(p − p₀) − y) from p₀ (the net's parameters, left unchanged).

    x_train: (n, d); y_train: (n,); lr: η > 0 of L = 1/(2n)·Σ(f − y)²; t: a time or increasing
    times ≥ 0; x_test: (m, d) points where f_lin is also evaluated. ``rtol``/``atol``: the ODE
    solver's tolerances (scipy's DOP853).
    """
    from scipy.integrate import solve_ivp

    _check_net(net)
    x_train = as_float_array(x_train, "x_train", ndim=2).astype(np.float64, copy=False)
    n = x_train.shape[0]
    y = as_float_array(y_train, "y_train", ndim=1).astype(np.float64, copy=False)
    if y.shape != (n,):
        raise ValueError(f"y_train must have shape ({n},), one target per row of x_train; got {y.shape}.")
    lr = check_number(lr, "lr", low=0.0, low_open=True)
    times = np.atleast_1d(as_float_array(t, "t")).astype(np.float64)
    if times.ndim != 1 or np.any(times < 0) or np.any(np.diff(times) < 0):
        raise ValueError(f"t must be a time ≥ 0 or increasing times ≥ 0; got {t!r}.")
    jac = jacobian(net, x_train)                               # (n, P)
    f0 = net(x_train)[:, 0]

    def rhs(_, dp):                                            # dp/dt = −(η/n) Jᵀ (f₀ + J dp − y)
        return -(lr / n) * (jac.T @ (f0 + jac @ dp - y))

    if times[-1] > 0:
        sol = solve_ivp(rhs, (0.0, times[-1]), np.zeros(jac.shape[1]), method="DOP853", t_eval=times,
                        rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"the ODE solver failed: {sol.message}")
        dps = sol.y.T                                          # (T, P) p(t) − p₀
    else:
        dps = np.zeros((times.size, jac.shape[1]))
    f_test = None
    if x_test is not None:
        x_test = as_float_array(x_test, "x_test", ndim=2).astype(np.float64, copy=False)
        f_test = net(x_test)[:, 0][None] + dps @ jacobian(net, x_test).T   # f₀* + J(x*)(p − p₀)
    return LinearizedFlow(times, f0[None] + dps @ jac.T, f_test, np.linalg.norm(dps, axis=1), jac)


def decay_rates(residual_modes, t, *, floor: float = 1e-6) -> np.ndarray:
    """Fitted decay rate of each mode: the least-squares slope of −log|rᵢ(t)| against t.

    residual_modes: (T, n) residual along each eigenvector at the times t: (T,). Points where
    |rᵢ| < floor·max|r(0)| are left out (rounding and solver error dominate there); a mode
    with fewer than 3 points left gets NaN. Returns (n,).
    """
    r = as_float_array(residual_modes, "residual_modes", ndim=2)
    t = as_float_array(t, "t", ndim=1)
    if r.shape[0] != t.size:
        raise ValueError(f"residual_modes must have one row per time: {t.size} rows; got shape {r.shape}.")
    floor = check_number(floor, "floor", low=0.0, low_open=True)
    level = floor * float(np.max(np.abs(r[0])))
    rates = np.full(r.shape[1], np.nan)
    for i in range(r.shape[1]):
        mag = np.abs(r[:, i])
        keep = mag >= max(level, np.finfo(float).tiny)
        if keep.sum() >= 3:
            rates[i] = -np.polyfit(t[keep], np.log(mag[keep]), 1)[0]
    return rates


def kernel_alignment(theta, y) -> float:
    """yᵀΘy / (‖Θ‖_F ‖y‖²): 1 when Θ ∝ y yᵀ, small when Θ's large eigenvalues miss y.

    theta: (n, n) kernel; y: (n,) targets.
    """
    theta = as_float_array(theta, "theta", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    if theta.shape != (y.size, y.size):
        raise ValueError(f"theta must have shape ({y.size}, {y.size}) to match y of shape {y.shape}; "
                         f"got {theta.shape}.")
    denom = np.linalg.norm(theta) * float(y @ y)
    if denom == 0:
        raise ValueError("kernel_alignment is undefined for a zero kernel or zero targets.")
    return float(y @ theta @ y / denom)
