"""Notebook 18's checkers beyond their registered examples: the messages name the mistake, the
tolerance of steps_to_tol, and malformed answers get feedback instead of a crash."""

import math

import numpy as np
import pytest

import backprop_lib.exercises as ex
from backprop_lib.exercises import nb18_landscape as nb18


def _text(key, mistake):
    fb = ex.check(key, ex.REGISTRY[key].wrong[mistake])
    assert fb.status == "wrong"
    return fb.message + " " + fb.hint


@pytest.mark.parametrize(("mistake", "words"), [
    ("√κ (the heavy ball's rate)", ["√κ", "heavy ball"]),
    ("rate 1 − 1/κ (η = 1/L)", ["twice", "1/L"]),
    ("log10 for ln", ["base 10"]),
    ("ignores tol", ["does not change with tol"]),
])
def test_steps_to_tol_messages_name_the_mistake(mistake, words):
    text = _text("18.steps_to_tol", mistake)
    for word in words:
        assert word in text, (mistake, text)


def test_steps_to_tol_accepts_floats_and_one_step_off_but_not_more():
    assert ex.check("18.steps_to_tol", lambda k, tol: math.log(tol) / math.log((k - 1) / (k + 1))).correct
    assert ex.check("18.steps_to_tol", lambda k, tol: nb18._steps_exact(k, tol) + 1).correct
    assert not ex.check("18.steps_to_tol", lambda k, tol: 1.1 * nb18._steps_exact(k, tol) + 2).correct
    assert ex.check("18.steps_to_tol", lambda k, tol: "many").status == "wrong"
    assert ex.check("18.steps_to_tol", lambda k, tol: math.log(tol) / math.log(1.0)).status == "wrong"


@pytest.mark.parametrize(("mistake", "words"), [
    ("sign of det H", ["det H > 0", "maximum"]),
    ("signs of the diagonal", ["diagonal", "eigenvalues"]),
    ("2-D trace/det rule in 3-D", ["3-D"]),
    ("zero counted as positive", ["degenerate", "x² − y⁴"]),
])
def test_classify_messages_name_the_mistake(mistake, words):
    text = _text("18.classify", mistake)
    for word in words:
        assert word in text, (mistake, text)


def test_classify_accepts_any_case_and_rejects_other_words():
    right = ex.REGISTRY["18.classify"].right[0]
    assert ex.check("18.classify", lambda H: right(H).upper()).correct
    assert ex.check("18.classify", lambda H: "min" if right(H) == "minimum" else right(H)).status == "wrong"
    assert ex.check("18.classify", lambda H: 1).status == "wrong"


@pytest.mark.parametrize(("mistake", "words"), [
    ("plain GD", ["exactly at the saddle", "‖∇f‖ = 0"]),
    ("kick along ∇f, guarded by 0 < ‖∇f‖", ["exactly at the saddle"]),
    ("kick scaled by ‖∇f‖", ["exactly at the saddle"]),
    ("noise at every step", ["plain gradient descent", "grad_tol"]),
    ("radius ignored", ["radius"]),
])
def test_perturbed_gd_messages_name_the_mistake(mistake, words):
    text = _text("18.perturbed_gd", mistake)
    for word in words:
        assert word in text, (mistake, text)


def test_perturbed_gd_malformed_answers_get_feedback():
    def wrong_shape(grad, x0, lr, steps, radius, grad_tol, rng):
        return np.zeros((steps, 2))                  # the start left out

    def raises(grad, x0, lr, steps, radius, grad_tol, rng):
        return grad(x0) / np.linalg.norm(grad(x0)) + undefined_name  # noqa: F821

    fb = ex.check("18.perturbed_gd", wrong_shape)
    assert fb.status == "wrong" and "shape" in fb.message
    assert ex.check("18.perturbed_gd", raises).status == "wrong"
