"""Notebook 13's checkers: the references against PyTorch, the runs behind the remedies quiz, and
specific feedback for the typical mistakes."""

import numpy as np
import pytest
import torch

import backprop_lib.exercises as ex
from backprop_lib.exercises import nb13_remedies as nb13


def test_residual_backward_reference_is_torch_autograd(rng):
    a = rng.normal(size=(4, 4))                                  # F(x) = x Aᵀ, so J_F = A
    x = torch.tensor(rng.normal(size=(6, 4)), requires_grad=True)
    dy = rng.normal(size=(6, 4))
    y = x + x @ torch.tensor(a).T
    y.backward(torch.tensor(dy))
    np.testing.assert_allclose(nb13._residual_backward_ref(dy, a), x.grad.numpy(), rtol=1e-12)


def test_relu_backward_reference_is_torch_autograd_at_the_kink_too():
    dy, z, expected = nb13._relu_case()
    zt = torch.tensor(z, requires_grad=True)
    torch.relu(zt).backward(torch.tensor(dy))
    np.testing.assert_array_equal(nb13._relu_backward_ref(dy, z), zt.grad.numpy())
    np.testing.assert_array_equal(expected, zt.grad.numpy())
    assert np.any(z == 0) and np.any((z > 0) & (dy < 0)) and np.any((z < 0) & (dy > 0))


@pytest.mark.parametrize(("key", "mistake", "words"), [
    ("13.residual_backward", "dropped identity", "identity path is missing"),
    ("13.residual_backward", "transposed Jacobian", "transposed"),
    ("13.relu_backward", "mask from dy > 0", "dy > 0"),
    ("13.relu_backward", "z >= 0 at the kink", "z = 0"),
    ("13.remedies", "batch norm for bias-killed units", "β"),
    ("13.remedies", "ReLU for exploding tanh", "slope is exactly 1"),
    ("13.remedies", "residual for dead units", "inside the branch"),
])
def test_feedback_names_the_mistake(key, mistake, words):
    fb = ex.check(key, ex.REGISTRY[key].wrong[mistake])
    assert fb.status == "wrong"
    assert words in fb.message + fb.hint


def test_untreated_symptoms_are_sick():
    assert nb13.run_symptom("vanishing").value <= 1e-6
    assert nb13.run_symptom("exploding").value >= 1e4
    assert nb13.run_symptom("dead").value >= 0.9
    assert not any(nb13.run_symptom(s).fixed for s in nb13.SYMPTOMS)


def test_the_table_of_runs():
    fixed = {s: {r for r in nb13.REMEDIES if nb13.run_symptom(s, r).fixed} for s in nb13.SYMPTOMS}
    assert fixed == {"vanishing": {"relu", "leaky_relu", "residual", "batch_norm"},
                     "exploding": {"batch_norm"},
                     "dead": {"leaky_relu"}}


def test_batch_norm_with_the_shift_in_beta_leaves_units_without_gradient():
    net = nb13._network("dead", "batch_norm")
    betas = [layer.bias.data for layer in net if type(layer).__name__ == "BatchNorm1d"]
    assert betas and all(np.all(b == nb13.SHIFT) for b in betas)
    assert nb13.run_symptom("dead", "batch_norm").value > 0.3


def test_remedy_names_and_errors():
    assert nb13.remedy_name("BN") == "batch_norm"
    assert nb13.remedy_name("Skip connections") == "residual"
    assert nb13.remedy_name("LeakyReLU") == "leaky_relu"
    assert nb13.remedy_name("dropout") is None and nb13.remedy_name(3) is None
    with pytest.raises(ValueError, match="symptom"):
        nb13.run_symptom("slow")
    with pytest.raises(ValueError, match="remedy"):
        nb13.run_symptom("dead", "dropout")


def test_half_filled_quiz_names_the_open_symptoms():
    fb = ex.check("13.remedies", {"vanishing": "residual", "exploding": ..., "dead": ...})
    assert fb.status == "wrong" and "exploding" in fb.message and "dead" in fb.message
