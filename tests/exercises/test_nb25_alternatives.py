"""Notebook 25's checkers beyond their registered examples: each typical mistake gets its own
message, malformed answers are reported as wrong (never raised), the template is not attempted."""

import numpy as np
import pytest

import backprop_lib.exercises as ex


@pytest.mark.parametrize(("key", "mistake", "words"), [
    ("25.fa_backward", "W instead of B (weight transport)", "that is backprop"),
    ("25.fa_backward", "no φ′", "φ′(z) is missing"),
    ("25.fa_backward", "tanh instead of tanh′", "instead of its derivative"),
    ("25.alignment_angle", "radians", "radians"),
    ("25.alignment_angle", "mean of per-sample angles", "one angle per row"),
    ("25.alignment_angle", "cosine", "the cosine"),
    ("25.fgsm", "−sign", "against the gradient"),
    ("25.fgsm", "no clipping", "left [0, 1]"),
    ("25.fgsm", "ε·grad without sign", "exactly ε"),
])
def test_each_mistake_gets_its_own_message(key, mistake, words):
    fb = ex.check(key, ex.REGISTRY[key].wrong[mistake])
    assert fb.status == "wrong" and words in fb.message, fb.message


@pytest.mark.parametrize(("key", "answer"), [
    ("25.fa_backward", lambda delta, W, B, z: None),
    ("25.fa_backward", lambda delta, W, B, z: "delta"),
    ("25.fa_backward", lambda delta, W, B, z: (delta @ B.T).T),
    ("25.alignment_angle", lambda a, b: np.zeros(3)),
    ("25.alignment_angle", lambda a, b: 90.0),
    ("25.fgsm", lambda x, grad, epsilon: x),
    ("25.fgsm", lambda x, grad, epsilon: x[:1]),
    ("25.fgsm", 0.1),
])
def test_malformed_answers_are_wrong_not_errors(key, answer):
    assert ex.check(key, answer).status == "wrong"


@pytest.mark.parametrize("key", ["25.fa_backward", "25.alignment_angle", "25.fgsm"])
def test_template_is_not_attempted(key):
    def template(*args):
        raise NotImplementedError

    assert ex.check(key, template).status == "not attempted"
    assert ex.check(key, ...).status == "not attempted"


def test_the_library_answers_pass():
    for key in ("25.alignment_angle", "25.fgsm"):
        for answer in ex.REGISTRY[key].right:
            assert ex.check(key, answer).correct
