"""Notebook 06's checkers beyond their registered examples: the edges of the accepted float32
steps, the message that tells too small from too large, and answers of the wrong kind."""

import numpy as np
import pytest

import backprop_lib.exercises as ex


@pytest.mark.parametrize("h", [1e-3, 1e-2, np.float32(5e-3), 4.9e-3])
def test_float32_steps_in_range_pass(h):
    assert ex.check("06.h_float32", h).status == "correct"


@pytest.mark.parametrize(("h", "word"), [(9e-4, "too small"), (2e-7, "too small"), (1e-9, "rounds to x"),
                                         (1.1e-2, "too large"), (1.0, "too large")])
def test_float32_steps_out_of_range_say_which_error_dominates(h, word):
    fb = ex.check("06.h_float32", h)
    assert fb.status == "wrong"
    assert word in fb.message


@pytest.mark.parametrize("h", [True, -1e-3, float("nan"), float("inf"), [5e-3]])
def test_float32_step_of_the_wrong_kind_is_wrong_not_an_error(h):
    assert ex.check("06.h_float32", h).status == "wrong"


def test_central_diff_returning_none_or_an_array_is_reported():
    assert "None" in ex.check("06.central_diff", lambda f, x, h: None).message
    fb = ex.check("06.central_diff", lambda f, x, h: np.array([1.0, 2.0]))
    assert fb.status == "wrong"
    assert "one number" in fb.message


def test_central_diff_with_a_fixed_step_fails_the_slope_test():
    def fixed_h(f, x, h):                       # ignores the h it is given
        return (f(x + 1e-5) - f(x - 1e-5)) / 2e-5

    fb = ex.check("06.central_diff", fixed_h)
    assert fb.status == "wrong"
    assert "slope" in fb.message


@pytest.mark.parametrize("answer", [
    {"R^1000 -> R": "reverse", "R -> R^1000": ...},
    {"R^1000 -> R": "reverse"},
    {"R^1000 -> R": "sideways", "R -> R^1000": "forward"},
    ("reverse", "forward"),
])
def test_mode_incomplete_or_malformed_answers_are_wrong(answer):
    fb = ex.check("06.mode", answer)
    assert fb.status == "wrong"
    assert fb.message


def test_mode_swapped_says_swapped():
    fb = ex.check("06.mode", {"R^1000 -> R": "forward", "R -> R^1000": "reverse"})
    assert "swapped" in fb.message
