"""Notebook 19's checkers beyond their registered examples: each typical mistake gets its own
message, gradient descent from zero (the notebook's claim) passes while from a random start it
is caught, a half-written answer is "not attempted", and malformed answers are wrong, never an
error."""

import numpy as np
import pytest

import backprop_lib as bp
import backprop_lib.exercises as ex


def _todo(*_args):
    raise NotImplementedError


@pytest.mark.parametrize(("mistake", "words"), [
    ("normal equations solve(XᵀX, Xᵀy)", ("solve(XᵀX, Xᵀy)", "singular")),
    ("gradient descent from a random start", ("null space", "random θ₀")),
    ("Xᵀy (does not interpolate)", ("does not fit",)),
    ("zeros", ("does not fit",)),
    ("wrong shape (n,)", ("expected shape (20,)",)),
])
def test_min_norm_solution_names_the_mistake(mistake, words):
    fb = ex.check("19.min_norm_solution", ex.REGISTRY["19.min_norm_solution"].wrong[mistake])
    assert fb.status == "wrong"
    text = fb.message + " " + fb.hint
    for word in words:
        assert word in text


def test_any_other_interpolator_is_caught_as_not_minimum_norm():
    def shifted(X, y):                                   # X⁺y plus a null-space vector: Xθ = y still
        return np.linalg.pinv(X) @ y + (np.eye(X.shape[1]) - np.linalg.pinv(X) @ X) @ np.ones(X.shape[1])

    fb = ex.check("19.min_norm_solution", shifted)
    assert fb.status == "wrong" and "null space" in fb.message and "solve(XᵀX" not in fb.message


def test_gradient_descent_with_bp_optim_from_zero_passes():
    def with_sgd(X, y):
        layer = bp.nn.Linear(X.shape[1], 1, bias=False, init="zeros")
        opt = bp.optim.SGD(layer.parameters(), lr=len(y) / (2 * np.linalg.eigvalsh(X.T @ X).max()))
        loss_fn = bp.nn.MSELoss()
        for _ in range(4000):
            opt.zero_grad()
            loss_fn(layer(X), y[:, None])
            layer.backward(loss_fn.backward())
            opt.step()
        return layer.weight.data[0]

    assert ex.check("19.min_norm_solution", with_sgd).correct


@pytest.mark.parametrize(("answer", "status", "words"), [
    (_todo, "not attempted", ()),
    (None, "not attempted", ()),
    (lambda X, y: None, "wrong", ("returned None",)),
    (lambda X, y: "theta", "wrong", ("expected",)),
    (lambda X, y: np.full(X.shape[1], np.nan), "wrong", ("NaN",)),
    (42, "wrong", ("function",)),
    (lambda X, y: 1 / 0, "wrong", ("ZeroDivisionError",)),
])
def test_min_norm_solution_malformed_answers(answer, status, words):
    fb = ex.check("19.min_norm_solution", answer)
    assert fb.status == status
    for word in words:
        assert word in fb.message


def test_a_linalg_error_gets_the_singular_hint():
    def raises(X, y):
        raise np.linalg.LinAlgError("Singular matrix")

    fb = ex.check("19.min_norm_solution", raises)
    assert fb.status == "wrong" and "rank n" in fb.hint


@pytest.mark.parametrize(("answer", "words"), [
    (20, ("input dimension",)), (100, ("2n",)), (70, ("n + d",)), (49, ("not where",)),
    ("50", ("as a number",)), (True, ("as a number",)),
])
def test_threshold_names_the_mistake(answer, words):
    fb = ex.check("19.threshold", answer)
    assert fb.status == "wrong"
    for word in words:
        assert word in fb.message


def test_threshold_accepts_the_peak_the_library_measures():
    assert ex.check("19.threshold", bp.train.double_descent(n=50).peak_p).correct
    assert ex.check("19.threshold", ...).status == "not attempted"
