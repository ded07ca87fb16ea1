"""Every registered checker accepts its right answers and catches its typical mistakes."""

import pytest

import backprop_lib.exercises as ex

CASES_RIGHT = [(k, i) for k, e in sorted(ex.REGISTRY.items()) for i in range(len(e.right))]
CASES_WRONG = [(k, name) for k, e in sorted(ex.REGISTRY.items()) for name in e.wrong]


def test_every_exercise_has_right_and_wrong_answers():
    for key, e in ex.REGISTRY.items():
        assert e.right, f"{key}: register at least one answer that must pass"
        assert e.wrong, f"{key}: register the typical wrong answers the checker must catch"


@pytest.mark.parametrize(("key", "i"), CASES_RIGHT)
def test_right_answers_pass(key, i):
    fb = ex.check(key, ex.REGISTRY[key].right[i])
    assert fb.status == "correct", str(fb)


@pytest.mark.parametrize(("key", "mistake"), CASES_WRONG)
def test_typical_mistakes_are_caught(key, mistake):
    fb = ex.check(key, ex.REGISTRY[key].wrong[mistake])
    assert fb.status == "wrong", f"{key} accepted the mistake {mistake!r}: {fb}"
    assert fb.message


@pytest.mark.parametrize("key", sorted(ex.REGISTRY))
def test_unattempted_is_reported_as_such(key):
    assert ex.check(key, None).status == "not attempted"
