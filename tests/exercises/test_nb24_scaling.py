"""Notebook 24's checkers beyond their registered examples: each typical mistake gets its own
message, and answers of the wrong kind are reported as wrong, never raised."""

import numpy as np
import pytest

import backprop_lib as bp
import backprop_lib.exercises as ex


@pytest.mark.parametrize(("mistake", "words"), [
    ("p·N instead of p/N", "slower"), ("time, not speed-up", "not the speed-up"),
    ("Gustafson's scaled speed-up", "Gustafson"), ("ideal N", "ideal"),
])
def test_amdahl_mistakes_get_their_own_message(mistake, words):
    fb = ex.check("24.amdahl", ex.REGISTRY["24.amdahl"].wrong[mistake])
    assert fb.status == "wrong" and words in fb.message


def test_amdahl_accepts_array_code_and_refuses_other_laws():
    assert ex.check("24.amdahl", lambda p, n: np.reciprocal((1 - p) + np.divide(p, n))).correct
    assert ex.check("24.amdahl", lambda p, n: 1 / (1 - p + p / n ** 2)).status == "wrong"
    assert ex.check("24.amdahl", lambda p, n: [1.0, 2.0]).status == "wrong"


@pytest.mark.parametrize(("mistake", "words"), [
    ("mean of the shard means", "mean of the shard means"), ("Σ n_k g_k without 1/n", "summed"),
    ("plain sum", "sum of the shard gradients"),
])
def test_allreduce_mistakes_get_their_own_message(mistake, words):
    fb = ex.check("24.allreduce", ex.REGISTRY["24.allreduce"].wrong[mistake])
    assert fb.status == "wrong" and words in fb.message


def test_allreduce_checks_against_the_true_full_batch_gradient():
    # the checker's cases: the weighted all-reduce is the full-batch gradient, the mean is not
    from backprop_lib.exercises.nb24_scaling import _allreduce_case

    shards, full = _allreduce_case((5, 20, 39), 0)
    assert np.allclose(bp.train.parallel.allreduce(shards, [5, 20, 39]), full, rtol=1e-12, atol=1e-15)
    assert not np.allclose(np.mean(shards, axis=0), full, rtol=1e-3)


@pytest.mark.parametrize("answer", [lambda g, s: None, lambda g, s: g[0][:3], lambda g, s: "grad",
                                    lambda g, s: 1 / 0])
def test_allreduce_malformed_answers_are_wrong_not_errors(answer):
    assert ex.check("24.allreduce", answer).status == "wrong"


@pytest.mark.parametrize(("answer", "status", "words"), [
    (0.25, "correct", ""), (0.5, "wrong", "without staleness"), (1.0, "wrong", "not on η"),
    (0.125, "wrong", "larger η"), (0.3, "wrong", "diverges"), (-0.25, "wrong", "positive"),
    (True, "wrong", "number"),
])
def test_stable_lr_feedback(answer, status, words):
    fb = ex.check("24.stable_lr", answer)
    assert fb.status == status and words in fb.message


def test_stable_lr_is_what_the_simulation_finds():
    # L = 4: the bisection on simulated runs gives ηL = 1, so η = 0.25
    assert bp.train.async_sgd.stability_threshold(1) / 4 == pytest.approx(0.25, rel=1e-4)
