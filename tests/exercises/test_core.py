"""The exercise machinery: statuses, not-attempted detection, learner errors, must_pass."""

import numpy as np
import pytest

from backprop_lib.exercises import core


@pytest.fixture
def square_exercise(monkeypatch):
    registry = {}
    monkeypatch.setattr(core, "REGISTRY", registry)

    @core.exercise("t.square", "Square a vector")
    def _check(answer):
        core.require_callable(answer)
        x = np.array([1.0, -2.0, 3.0])
        core.require_close(answer(x), x**2, "square(x)", hint="Multiply x by itself.")

    return registry


def test_right_answer_is_correct(square_exercise):
    fb = core.check("t.square", lambda x: x * x)
    assert fb.status == "correct" and fb.correct and bool(fb)


def test_wrong_value_names_the_index_and_hint(square_exercise):
    fb = core.check("t.square", lambda x: 2 * x)
    assert fb.status == "wrong"
    assert "index (1,)" in fb.message and fb.hint == "Multiply x by itself."


def test_wrong_shape_is_reported(square_exercise):
    fb = core.check("t.square", lambda x: (x**2).sum())
    assert fb.status == "wrong" and "shape" in fb.message


@pytest.mark.parametrize("answer", [None, ..., lambda x: (_ for _ in ()).throw(NotImplementedError)])
def test_template_answers_are_not_attempted(square_exercise, answer):
    assert core.check("t.square", answer).status == "not attempted"


def test_learner_exception_becomes_feedback_not_a_crash(square_exercise):
    fb = core.check("t.square", lambda x: x.nonexistent)
    assert fb.status == "wrong" and "AttributeError" in fb.message


def test_missing_return_is_explained(square_exercise):
    fb = core.check("t.square", lambda x: None)
    assert fb.status == "wrong" and "return" in fb.hint


def test_must_pass_raises_unless_correct(square_exercise):
    core.check("t.square", lambda x: x * x, must_pass=True)
    with pytest.raises(AssertionError, match="not yet"):
        core.check("t.square", lambda x: x, must_pass=True)


def test_unknown_exercise_lists_the_known_ones(square_exercise):
    with pytest.raises(ValueError, match="t.square"):
        core.check("nope", lambda x: x)


def test_feedback_renders_as_html(square_exercise):
    html = core.check("t.square", lambda x: 2 * x)._repr_html_()
    assert "Hint" in html and "Square a vector" in html


def test_registering_twice_is_refused(square_exercise):
    with pytest.raises(ValueError, match="twice"):
        core.exercise("t.square", "again")(lambda a: None)


def test_as_number_and_as_numbers_say_what_came_back():
    import numpy as np

    from backprop_lib.exercises.core import Incorrect, as_number, as_numbers

    assert as_number(np.array([2.5]), "f") == 2.5
    np.testing.assert_array_equal(as_numbers([1, 2], "f"), [1.0, 2.0])
    for bad, words in ((None, "returned None"), ("abc", "numbers"), ([1.0, 2.0], "one number")):
        try:
            as_number(bad, "f")
        except Incorrect as err:
            assert words in str(err)
        else:
            raise AssertionError(f"{bad!r} was accepted")
