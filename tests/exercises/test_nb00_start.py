"""Notebook 00's checkers: specific feedback for each mistake, and consistent with the playground."""

import math

import matplotlib
import pytest

import backprop_lib as bp
from backprop_lib.exercises.nb00_start import LINEAR_XOR_BOUND

matplotlib.use("Agg")


def _feedback(key, answer):
    fb = bp.exercises.check(key, answer)
    return fb.status, f"{fb.message} {fb.hint}"


def test_square_names_each_mistake():
    assert "doubled" in _feedback("00.square", lambda x: x + x)[1]
    assert "bitwise XOR" in _feedback("00.square", lambda x: x ^ 2)[1]
    assert "2 to the power" in _feedback("00.square", lambda x: 2**x)[1]
    assert "return" in _feedback("00.square", lambda x: None)[1]
    assert _feedback("00.square", lambda x: x * abs(x))[0] == "wrong"      # right for x ≥ 0 only


def test_square_rejects_a_value_instead_of_a_function():
    status, text = _feedback("00.square", 9)
    assert status == "wrong" and "function" in text


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_playground_without_hidden_layer_is_accepted(seed):
    session = bp.widgets.PlaygroundSession(dataset="xor", hidden=(), seed=seed)
    session.step(600)
    acc = session.history.test_acc[-1]
    assert acc <= LINEAR_XOR_BOUND
    assert bp.exercises.check("00.xor_accuracy", acc).correct


def test_playground_with_a_hidden_layer_is_caught():
    session = bp.widgets.PlaygroundSession(dataset="xor", hidden=(8,), seed=0)
    session.step(600)
    status, text = _feedback("00.xor_accuracy", session.history.test_acc[-1])
    assert status == "wrong" and "hidden" in text


def test_passing_the_playground_itself_says_what_to_read():
    pg = bp.widgets.TrainingPlayground(dataset="xor", hidden=(), seed=0, n=40)
    status, text = _feedback("00.xor_accuracy", pg)
    assert status == "wrong" and "test_acc[-1]" in text


def test_nan_accuracy_explains_the_missing_test_set():
    status, text = _feedback("00.xor_accuracy", math.nan)
    assert status == "wrong" and "train_fraction" in text


def test_bound_is_three_of_four():
    assert LINEAR_XOR_BOUND == pytest.approx(3 / 4)
    assert bp.exercises.check("00.xor_accuracy", 0.75).correct
    assert not bp.exercises.check("00.xor_accuracy", 0.76).correct
