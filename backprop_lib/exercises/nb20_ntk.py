"""Checkers for notebook 20 (neural tangent kernel I: definition and infinite-width limit).

* ``20.linear_model_ntk``: ``linear_model_ntk(phi, theta, x1, x2)``, the NTK of the linear
  model f(x) = θᵀφ(x): Θ = φ(x1) φ(x2)ᵀ, (n1, n2); catches the p × p feature matrix φᵀφ
  ("φφᵀ"), a kernel that depends on θ (f(x1) f(x2)ᵀ) and only the diagonal;
* ``20.relu_step``: ``relu_step(k11, k22, k12)`` → (E[relu(u)relu(v)], E[relu'(u)relu'(v)])
  elementwise, the arc-cosine closed forms; the cases include pairs of identical inputs whose
  K12 is one rounding error above √(K11K22), so an unclipped arccos (or √ of a negative
  K11K22 − K12²) gives NaN on the diagonal; also catches (π − θ)/π and a missing sin θ term;
* ``20.one_hidden_ntk``: ``one_hidden_ntk(W, v, x)``, the NTK of f(x) = v·relu(W x/√d)/√n from
  its Jacobian, (N, N); catches a missing readout term (only ∂f/∂W), a missing hidden-layer
  term (only ∂f/∂v) and dropped 1/√n or 1/√d scales.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..nn.builders import mlp
from ..ntk.empirical import empirical
from .core import Incorrect, as_numbers, exercise, require, require_callable, require_close


def _call_quiet(fn, *args):
    """Call the learner's function on copies of the arguments, floating-point warnings silenced
    (a NaN is judged by the checker, with a message about where it appeared)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with np.errstate(all="ignore"):
            return fn(*(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args))


# -- 20.linear_model_ntk ------------------------------------------------------------------------

_P = 7   # number of features: different from every n below, so p × p can't pass for n1 × n2


def _features(x):
    """φ(x): (n, 3) → (n, 7), fixed random Fourier features plus a constant."""
    rng = np.random.default_rng(20)
    w, b = rng.normal(size=(3, _P - 1)), rng.uniform(0, 2 * np.pi, _P - 1)
    return np.hstack([np.cos(x @ w + b), np.ones((x.shape[0], 1))])


def _linear_ref(phi, theta, x1, x2):
    return phi(x1) @ phi(x2).T                     # Θ = J₁J₂ᵀ with J = ∂f/∂θ = φ(x)


def _linear_loop(phi, theta, x1, x2):
    f1, f2 = phi(x1), phi(x2)
    return np.array([[float(np.dot(a, b)) for b in f2] for a in f1])


def _wrong_phi_phi_t(phi, theta, x1, x2):
    return phi(x1).T @ phi(x2)                     # φᵀφ: the p × p feature matrix


def _wrong_output_product(phi, theta, x1, x2):
    return np.outer(phi(x1) @ theta, phi(x2) @ theta)   # f(x) f(x')


def _wrong_diagonal(phi, theta, x1, x2):
    return np.sum(phi(x1) * phi(x2), axis=1)


@exercise(
    "20.linear_model_ntk", "NTK of a linear model f = θᵀφ(x)",
    right=[_linear_ref, _linear_loop],
    wrong={
        "φφᵀ (p × p)": _wrong_phi_phi_t,
        "depends on θ (f fᵀ)": _wrong_output_product,
        "only the diagonal": _wrong_diagonal,
    },
    success="∂f/∂θ = φ(x), so Θ(x, x') = φ(x)·φ(x'): fixed features, a kernel that never changes.",
)
def _check_linear_model_ntk(answer):
    require_callable(answer, "linear_model_ntk")
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    theta_a, theta_b = rng.normal(size=_P), rng.normal(size=_P)
    for xa, xb in ((x1, x1), (x1, x2)):
        got = as_numbers(_call_quiet(answer, _features, theta_a, xa, xb), "linear_model_ntk")
        n1, n2 = xa.shape[0], xb.shape[0]
        if got.shape == (_P, _P):
            raise Incorrect(
                f"your kernel is {_P} × {_P}, one entry per pair of features; the NTK has one entry "
                f"per pair of inputs, ({n1}, {n2}).",
                "With J the n × p matrix of gradients ∂f(x_i)/∂θ = φ(x_i), the NTK is J₁J₂ᵀ "
                "(inputs × inputs), not J₁ᵀJ₂ (features × features).")
        require(got.shape == (n1, n2),
                f"linear_model_ntk(phi, theta, x1, x2) should have shape ({n1}, {n2}); got {got.shape}.",
                "One entry Θ[i, j] = φ(x1_i)·φ(x2_j) per pair of inputs.")
        other = as_numbers(_call_quiet(answer, _features, theta_b, xa, xb), "linear_model_ntk")
        if not np.allclose(got, other, rtol=1e-9, atol=1e-12):
            raise Incorrect(
                "your kernel changes when θ changes.",
                "f = θᵀφ(x) is linear in θ: its gradient ∂f/∂θ = φ(x) does not involve θ, and "
                "neither does Θ = Σ_p ∂f(x)/∂θ_p ∂f(x')/∂θ_p.")
        require_close(got, _linear_ref(_features, theta_a, xa, xb), "Θ(x1, x2)", rtol=1e-9, atol=1e-12,
                      hint="Θ[i, j] = Σ_p φ_p(x1_i) φ_p(x2_j): phi(x1) @ phi(x2).T.")


# -- 20.relu_step -------------------------------------------------------------------------------

def _relu_cases():
    """(k11, k22, k12) elementwise, (6, 6): the kernel of six inputs, among them a parallel and an
    antiparallel pair. On the diagonal K12 is one rounding error above K11 = K22 (as a kernel
    computed by a matrix product next to separately computed norms may be)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(6, 3))
    x[4], x[5] = 2.5 * x[0], -0.5 * x[1]                     # θ = 0 with x0, θ = π with x1
    k = x @ x.T / 3
    diag = np.einsum("ij,ij->i", x, x) / 3
    k12 = k.copy()
    np.fill_diagonal(k12, np.nextafter(diag, np.inf))        # one ulp above √(K11 K22) = K11
    return np.broadcast_to(diag[:, None], k.shape).copy(), np.broadcast_to(diag[None, :], k.shape).copy(), k12


def _relu_ref(k11, k22, k12):
    norm = np.sqrt(k11 * k22)
    rho = np.clip(k12 / norm, -1.0, 1.0)
    angle = np.arctan2(np.sqrt(1.0 - rho**2), rho)           # θ, by arctan2
    kdot = (np.pi - angle) / (2 * np.pi)                     # E[relu'(u) relu'(v)]
    return norm * (np.sin(angle) + (np.pi - angle) * np.cos(angle)) / (2 * np.pi), kdot


def _relu_clipped_arccos(k11, k22, k12):
    norm = np.sqrt(k11 * k22)
    angle = np.arccos(np.clip(k12 / norm, -1.0, 1.0))
    return (norm * np.sin(angle) + (np.pi - angle) * k12) / (2 * np.pi), (np.pi - angle) / (2 * np.pi)


def _relu_arctan2_max(k11, k22, k12):
    angle = np.arctan2(np.sqrt(np.maximum(k11 * k22 - k12**2, 0.0)), k12)
    kdot = (np.pi - angle) / (2 * np.pi)
    return (np.sqrt(np.maximum(k11 * k22 - k12**2, 0.0)) + (np.pi - angle) * k12) / (2 * np.pi), kdot


def _wrong_unclipped_arccos(k11, k22, k12):
    norm = np.sqrt(k11 * k22)
    angle = np.arccos(k12 / norm)                            # NaN when round-off puts k12/norm above 1
    kdot = (np.pi - angle) / (2 * np.pi)
    return norm * (np.sin(angle) + (np.pi - angle) * np.cos(angle)) / (2 * np.pi), kdot


def _wrong_pi(k11, k22, k12):
    k12_new, kdot = _relu_ref(k11, k22, k12)
    return k12_new, 2 * kdot                                 # (π − θ)/π


def _wrong_no_sin(k11, k22, k12):
    _, kdot = _relu_ref(k11, k22, k12)
    return kdot * k12, kdot                                  # (π − θ) K12 / 2π only


_ANGLE_HINT = ("Clip ρ = K12/√(K11K22) to [−1, 1] before np.arccos, or better compute the angle as "
               "θ = arctan2(√max(K11K22 − K12², 0), K12), as the course's convention says.")


@exercise(
    "20.relu_step", "One ReLU step of the infinite-width recursion",
    right=[_relu_ref, _relu_clipped_arccos, _relu_arctan2_max],
    wrong={
        "unclipped arccos (NaN on the diagonal)": _wrong_unclipped_arccos,
        "(π − θ)/π": _wrong_pi,
        "no sin θ term": _wrong_no_sin,
    },
    success="Arc-cosine kernels: ½K on the diagonal, Kdot = ½ there, and no NaN from round-off.",
)
def _check_relu_step(answer):
    require_callable(answer, "relu_step")
    k11, k22, k12 = _relu_cases()
    out = _call_quiet(answer, k11, k22, k12)
    require(isinstance(out, (tuple, list)) and len(out) == 2,
            f"relu_step should return two arrays (new K12, Kdot); got {type(out).__name__}"
            + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "") + ".",
            "return k12_new, kdot")
    k12_new, kdot = (as_numbers(o, "relu_step") for o in out)
    for name, got in (("new K12", k12_new), ("Kdot", kdot)):
        require(got.shape == k12.shape,
                f"{name} should have the shape of the inputs, {k12.shape}; got {got.shape}.",
                "Work elementwise: every entry of k11, k22, k12 is one pair of inputs.")
        bad = ~np.isfinite(got)
        if np.diag(bad).any():
            raise Incorrect(
                f"{name} is NaN on the diagonal (pairs x = x'). There K12 is one rounding error above "
                "√(K11 K22): K12/√(K11K22) is a little above 1, K11K22 − K12² a little below 0, and "
                "arccos or √ of them is NaN.", _ANGLE_HINT)
        require(not bad.any(), f"{name} is NaN or infinite at {int(bad.sum())} entries.", _ANGLE_HINT)
    ref_k12, ref_kdot = _relu_ref(k11, k22, k12)
    if np.allclose(kdot, 2 * ref_kdot):
        raise Incorrect("Kdot is twice too large: (π − θ)/π.",
                        "relu' is 1 on half of the plane: for u = v, E[relu'(u)²] = P(u > 0) = ½, so "
                        "E[relu'(u) relu'(v)] = (π − θ)/(2π).")
    require_close(kdot, ref_kdot, "Kdot = E[relu'(u) relu'(v)]", rtol=1e-7, atol=1e-10,
                  hint="The probability that u and v are both positive: (π − θ)/(2π).")
    if np.allclose(k12_new, ref_kdot * k12, rtol=1e-7):
        raise Incorrect("the new K12 misses the sin θ term.",
                        "E[relu(u) relu(v)] = √(K11K22)·(sin θ + (π − θ) cos θ)/(2π); the (π − θ) cos θ "
                        "part alone is (π − θ) K12/(2π).")
    require_close(k12_new, ref_k12, "new K12 = E[relu(u) relu(v)]", rtol=1e-7,
                  atol=1e-10 * np.abs(ref_k12).max(),
                  hint="√(K11K22)·(sin θ + (π − θ) cos θ)/(2π); on the diagonal (θ = 0) it is K11/2.")


# -- 20.one_hidden_ntk --------------------------------------------------------------------------

def _hidden_case():
    rng = np.random.default_rng(3)
    d, n = 3, 9
    return rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=(5, d))


def _hidden_reference(w, v, x):
    """bp.ntk.empirical of the same network, built with bp.nn.mlp in the NTK parameterization."""
    net = mlp([w.shape[1], w.shape[0], 1], parameterization="ntk", bias=False, seed=0)
    net[0].weight.data[...] = w
    net[2].weight.data[...] = v[None, :]
    return empirical(net, x)


def _jacobian_rows(w, v, x, readout=True, hidden=True, n_scale=True, d_scale=True):
    n, d = w.shape
    sn, sd = (1 / math.sqrt(n) if n_scale else 1.0), (1 / math.sqrt(d) if d_scale else 1.0)
    rows = []
    for xi in x:
        z = sd * (w @ xi)
        a = np.maximum(z, 0.0)
        parts = []
        if hidden:
            parts.append((sn * v * (z > 0))[:, None] * (sd * xi)[None, :])   # ∂f/∂W_ij: δ_i x_j/√d
        if readout:
            parts.append(sn * a)                                             # ∂f/∂v_i = a_i/√n
        rows.append(np.concatenate([p.ravel() for p in parts]))
    return np.array(rows)


def _hidden_ref(w, v, x):
    jac = _jacobian_rows(w, v, x)
    return jac @ jac.T


def _hidden_closed(w, v, x):
    n, d = w.shape
    z = x @ w.T / math.sqrt(d)
    a, slope = np.maximum(z, 0), (z > 0) * v
    return (a @ a.T) / n + (slope @ slope.T) / n * (x @ x.T) / d


def _wrong_no_readout(w, v, x):
    jac = _jacobian_rows(w, v, x, readout=False)
    return jac @ jac.T


def _wrong_no_hidden(w, v, x):
    jac = _jacobian_rows(w, v, x, hidden=False)
    return jac @ jac.T


def _wrong_no_n(w, v, x):
    jac = _jacobian_rows(w, v, x, n_scale=False)
    return jac @ jac.T


def _wrong_no_d(w, v, x):
    jac = _jacobian_rows(w, v, x, d_scale=False)
    return jac @ jac.T


@exercise(
    "20.one_hidden_ntk", "NTK of a one-hidden-layer network from its Jacobian",
    right=[_hidden_ref, _hidden_closed],
    wrong={
        "missing readout term": _wrong_no_readout,
        "missing hidden-layer term": _wrong_no_hidden,
        "no 1/√n": _wrong_no_n,
        "no 1/√d": _wrong_no_d,
    },
    success="Θ = (a·a')/n + (δ·δ')(x·x')/d: the readout's term plus the hidden layer's, from backprop.",
)
def _check_one_hidden_ntk(answer):
    require_callable(answer, "one_hidden_ntk")
    w, v, x = _hidden_case()
    got = as_numbers(_call_quiet(answer, w, v, x), "one_hidden_ntk")
    expected = _hidden_reference(w, v, x)
    require(got.shape == expected.shape,
            f"one_hidden_ntk(W, v, x) should be ({x.shape[0]}, {x.shape[0]}), one entry per pair of inputs; "
            f"got {got.shape}.", "Θ = J Jᵀ with J of shape (N inputs, P parameters).")
    close = lambda ref: np.allclose(got, ref, rtol=1e-9, atol=1e-12)  # noqa: E731
    if close(_wrong_no_readout(w, v, x)):
        raise Incorrect("your kernel has only the hidden layer's term: the readout term is missing.",
                        "The readout weights v are parameters too: ∂f/∂v_i = relu(z_i)/√n adds "
                        "(a·a')/n to Θ.")
    if close(_wrong_no_hidden(w, v, x)):
        raise Incorrect("your kernel has only the readout's term: the hidden layer's weights are missing.",
                        "∂f/∂W_ij = v_i relu'(z_i) x_j/√(n d): these n·d parameters add "
                        "(δ·δ')(x·x')/d to Θ, with δ_i = v_i relu'(z_i)/√n.")
    if close(_wrong_no_n(w, v, x)):
        raise Incorrect("your kernel is n times too large: the 1/√n of the readout is missing.",
                        "f = v·a/√n in the NTK parameterization: both ∂f/∂v and ∂f/∂W carry 1/√n.")
    require_close(got, expected, "Θ(x_i, x_j)", rtol=1e-9, atol=1e-12,
                  hint="z = W x/√d, a = relu(z), f = v·a/√n; J's row for x holds ∂f/∂W (flattened) "
                       "and ∂f/∂v.")
