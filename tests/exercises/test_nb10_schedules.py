"""Notebook 10's checkers beyond their registered examples: the library's own (and torch's)
clipping and schedules are accepted, each typical mistake gets its own message, and answers of
the wrong kind are reported, never raised."""

import math

import numpy as np
import pytest
import torch

import backprop_lib as bp
import backprop_lib.exercises as ex
from backprop_lib.nn.module import Parameter


def test_cosine_lr_from_the_library_scheduler_passes():
    def cosine_lr(t, T, lr0, lr_min=0.0):        # step bp's CosineAnnealingLR t times
        opt = bp.optim.SGD([Parameter(np.zeros(1))], lr=lr0)
        sched = bp.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=T, eta_min=lr_min)
        for _ in range(t):
            sched.step()
        return sched.get_last_lr()[0]

    assert ex.check("10.cosine_lr", cosine_lr).status == "correct"


@pytest.mark.parametrize(("mistake", "words"), [
    ("missing ½", "twice"), ("T − 1 instead of T", "T − 1"), ("drops lr_min", "not lr_min"),
    ("missing π", "1 radian"),
])
def test_cosine_mistakes_get_their_own_message(mistake, words):
    fb = ex.check("10.cosine_lr", ex.REGISTRY["10.cosine_lr"].wrong[mistake])
    assert fb.status == "wrong" and words in fb.message


@pytest.mark.parametrize("answer", [
    lambda t, T, lr0, lr_min=0.0: None,
    lambda t, T, lr0, lr_min=0.0: [lr0, lr0],
    lambda t, T, lr0, lr_min=0.0: lr0,                       # constant: no schedule
    lambda t, T, lr0, lr_min=0.0: lr0 * (1 - t / T),         # linear decay
    "0.1",
])
def test_cosine_answers_of_the_wrong_kind_are_wrong_not_errors(answer):
    assert ex.check("10.cosine_lr", answer).status == "wrong"


def test_clip_with_the_library_and_with_torch_passes():
    def with_bp(grads, max_norm):
        params = [Parameter(np.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = g.copy()
        bp.optim.clip_grad_norm_(params, max_norm)
        return [p.grad for p in params]

    def with_torch(grads, max_norm):                        # torch divides by ‖g‖ + 1e-6
        ts = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for t, g in zip(ts, grads, strict=True):
            t.grad = torch.from_numpy(g.copy())
        torch.nn.utils.clip_grad_norm_(ts, max_norm)
        return [t.grad.numpy() for t in ts]

    def in_place(grads, max_norm):
        norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
        for g in grads:
            g *= min(1.0, max_norm / norm)
        return grads

    for answer in (with_bp, with_torch, in_place):
        assert ex.check("10.clip_by_global_norm", answer).status == "correct"


@pytest.mark.parametrize(("mistake", "words"), [
    ("per-tensor clipping", "each tensor was clipped on its own"),
    ("scales up below τ", "stretched"),
    ("clip by value", "clipping by value"),
    ("sum of norms", "too large"),
])
def test_clip_mistakes_get_their_own_message(mistake, words):
    fb = ex.check("10.clip_by_global_norm", ex.REGISTRY["10.clip_by_global_norm"].wrong[mistake])
    assert fb.status == "wrong" and words in fb.message


@pytest.mark.parametrize(("answer", "words"), [
    (lambda grads, max_norm: None, "None"),
    (lambda grads, max_norm: grads[:2], "arrays for 3 gradients"),
    (lambda grads, max_norm: [g.ravel() for g in grads], "shape"),
    (lambda grads, max_norm: grads, "norm"),                 # never clips
    (lambda grads, max_norm: [-g for g in grads], "direction"),
])
def test_clip_answers_of_the_wrong_kind_are_reported(answer, words):
    fb = ex.check("10.clip_by_global_norm", answer)
    assert fb.status == "wrong" and words in fb.message
