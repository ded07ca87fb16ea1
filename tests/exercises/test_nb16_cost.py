"""Notebook 16's checkers beyond their registered examples: each typical mistake gets its own
message, answers of the wrong kind are reported (never raised), and fit's own accumulation is
accepted by the accumulation checker."""

import numpy as np
import pytest

import backprop_lib as bp
import backprop_lib.exercises as ex


@pytest.mark.parametrize(("mistake", "words"), [
    ("missing biases", "leaves out the biases"), ("backward = forward", "equals the forward count"),
    ("a multiply-add as 1 FLOP", "about half"),
])
def test_count_flops_mistakes_get_their_own_message(mistake, words):
    fb = ex.check("16.count_flops", ex.REGISTRY["16.count_flops"].wrong[mistake])
    assert fb.status == "wrong" and words in fb.message


@pytest.mark.parametrize("answer", [
    lambda sizes, batch: None,
    lambda sizes, batch: 3,
    lambda sizes, batch: (1, 2, 3),
    lambda sizes, batch: ("a", "b"),
    lambda sizes, batch: (2 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)),) * 2,
    "count_flops",
])
def test_count_flops_malformed_answers_are_wrong_not_errors(answer):
    assert ex.check("16.count_flops", answer).status == "wrong"


def test_count_flops_without_dx_of_the_first_layer_is_wrong():
    # the exercise counts dx for every layer (as the notebook's formula): the training-loop
    # variant that skips the first layer's dx gives a different backward count
    def skip_first(sizes, batch):
        c = bp.nn.cost.count_flops(sizes, batch, input_grad=False)
        return c.forward, c.backward

    fb = ex.check("16.count_flops", skip_first)
    assert fb.status == "wrong" and "backward" in fb.message


@pytest.mark.parametrize(("mistake", "words"), [
    ("no division by k", "times the full-batch gradient"), ("zero_grad inside the loop", "only the last"),
    ("no zero_grad", "before"),
])
def test_accumulate_mistakes_get_their_own_message(mistake, words):
    fb = ex.check("16.accumulate", ex.REGISTRY["16.accumulate"].wrong[mistake])
    assert fb.status == "wrong" and words in fb.message


def test_accumulate_by_fit_is_accepted():
    # fit(accumulate=k) leaves the step's accumulated gradient in p.grad (a tiny lr barely moves the weights)
    def by_fit(model, loss_fn, x, y, k):
        opt = bp.optim.SGD(model.parameters(), lr=1e-300)
        bp.train.fit(model, loss_fn, (x, y), opt, epochs=1, batch_size=len(x) // k, accumulate=k,
                     progress=False)

    assert ex.check("16.accumulate", by_fit).status == "correct"


def test_accumulate_that_forgets_a_micro_batch_is_wrong():
    def skips_last(model, loss_fn, x, y, k):
        model.zero_grad()
        for xb, yb in list(zip(np.array_split(x, k), np.array_split(y, k), strict=True))[:-1]:
            loss_fn(model(xb), yb)
            model.backward(loss_fn.backward() / k)

    fb = ex.check("16.accumulate", skips_last)
    assert fb.status == "wrong" and "Entry" in fb.message


def test_accumulate_that_never_calls_backward_is_wrong():
    def nothing(model, loss_fn, x, y, k):
        model.zero_grad()

    fb = ex.check("16.accumulate", nothing)
    assert fb.status == "wrong" and "p.grad is None" in fb.message


@pytest.mark.parametrize("answer, words", [
    (1, "no checkpointing"), (64, "every layer"), (5, "17.8"), (12, "17.3"), (0, "between 1"),
    (65, "between 1"), ("8", "whole number"), (True, "whole number"), (np.int64(8), None),
    (8.0, None), (6, None), (11, None),
])
def test_best_k(answer, words):
    fb = ex.check("16.best_k", answer)
    if words is None:
        assert fb.status == "correct"
    else:
        assert fb.status == "wrong" and words in fb.message
