"""Notebook 22's checkers beyond their registered examples: each mistake gets its own message, the
references agree with the library's exact second derivatives, and odd answers are wrong, not errors."""

import numpy as np
import pytest

import backprop_lib.exercises as ex
from backprop_lib.exercises import nb22_second_order as nb22
from backprop_lib.optim import second_order as so
from backprop_lib.optim._dual_array import concatenate


@pytest.mark.parametrize(("key", "mistake", "words"), [
    ("22.hvp_fd", "no /2ε", ("without dividing",)),
    ("22.hvp_fd", "divides by ε", ("twice Hv",)),
    ("22.hvp_fd", "forward difference", ("one-sided",)),
    ("22.gauss_newton_linear", "X Xᵀ (samples × samples)", ("7 × 7", "X Xᵀ")),
    ("22.gauss_newton_linear", "XᵀX without /n", ("n = 7 times",)),
    ("22.gauss_newton_linear", "XᵀX/(2n)", ("half",)),
    ("22.newton_step", "θ − Hg", ("multiplied the gradient by H",)),
    ("22.newton_step", "θ − g (a gradient step)", ("gradient step",)),
    ("22.newton_step", "θ + H⁻¹g", ("uphill",)),
])
def test_each_mistake_gets_its_own_message(key, mistake, words):
    fb = ex.check(key, ex.REGISTRY[key].wrong[mistake])
    assert fb.status == "wrong"
    for word in words:
        assert word in fb.message


def _sin(d):
    return so.DualArray(np.sin(d.primal), np.cos(d.primal) * d.tangent)


def _cos(d):
    return so.DualArray(np.cos(d.primal), -np.sin(d.primal) * d.tangent)


def test_the_test_function_hessian_is_the_exact_one():
    # ∇f of the checker's f(θ) = Σ sin(θᵢ)θᵢ₊₁ + ¼Σθᵢ⁴, written for DualArrays: its exact HVP is H v
    def grad(t):
        head, z = t[:-1], np.zeros(1)
        return t * t * t + concatenate([_cos(head) * t[1:], z]) + concatenate([z, _sin(head)])

    theta, v = np.random.default_rng(0).normal(size=(2, 6))
    np.testing.assert_allclose(grad(so.DualArray(theta)).primal, nb22._grad_f(theta), atol=1e-14)
    np.testing.assert_allclose(so.hvp(grad, theta, v), nb22._hess_f(theta) @ v, rtol=1e-12, atol=1e-14)


def test_the_gauss_newton_reference_is_the_exact_hessian_of_linear_regression():
    rng = np.random.default_rng(1)
    X, y, w = rng.normal(size=(7, 3)), rng.normal(size=7), rng.normal(size=3)
    H = so.hessian_from_hvps(lambda t: X.T @ (X @ t - y) / 7, w)      # ∇L = Xᵀ(Xw − y)/n
    np.testing.assert_allclose(nb22._gn_ref(X), H, atol=1e-14)
    np.testing.assert_allclose(so.gauss_newton_matrix(X), H, atol=1e-14)


@pytest.mark.parametrize("key", ["22.hvp_fd", "22.gauss_newton_linear", "22.newton_step"])
@pytest.mark.parametrize("answer", [lambda *a, **k: None, lambda *a, **k: "x", lambda *a, **k: 1 / 0, 3.0,
                                    lambda *a, **k: np.zeros(2)])
def test_odd_answers_are_wrong_not_errors(key, answer):
    assert ex.check(key, answer).status == "wrong"
