"""clip_grad_norm_ / clip_grad_value_ against torch.nn.utils (float64), and bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop_lib as bp
from backprop_lib.nn.module import Parameter

shapes = st.lists(st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple), min_size=1, max_size=4)


def _pair(shape_list, seed, scale, with_none=False):
    """Our Parameters and torch tensors holding the same random gradients."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for i, shape in enumerate(shape_list):
        g = scale * np.asarray(rng.standard_normal(shape))
        p = Parameter(np.zeros(shape))
        t = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        if not (with_none and i == 0):
            p.grad = g.copy()
            t.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@settings(max_examples=40, deadline=None)
@given(shape_list=shapes, seed=st.integers(0, 2**16), scale=st.sampled_from([1e-3, 0.3, 1.0, 50.0]),
       max_norm=st.sampled_from([0.01, 0.5, 1.0, 5.0, 1e3]),
       norm_type=st.sampled_from([2.0, 1.0, 3.0, math.inf]),
       with_none=st.booleans())
def test_clip_grad_norm_matches_torch(shape_list, seed, scale, max_norm, norm_type, with_none):
    ours, theirs = _pair(shape_list, seed, scale, with_none and len(shape_list) > 1)
    total = bp.optim.clip_grad_norm_(ours, max_norm=max_norm, norm_type=norm_type)
    total_torch = torch.nn.utils.clip_grad_norm_(theirs, max_norm=max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    np.testing.assert_allclose(total, total_torch.item(), rtol=1e-12)
    for p, t in zip(ours, theirs, strict=True):
        if t.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_formula():
    """‖g‖ = 5 here; the clipped norm is max_norm·5/(5 + 1e-6), and small norms are untouched."""
    p, q = Parameter(np.zeros(2)), Parameter(np.zeros(1))
    p.grad, q.grad = np.array([3.0, 0.0]), np.array([4.0])
    assert bp.optim.clip_grad_norm_([p, q], max_norm=1.0) == pytest.approx(5.0, rel=1e-15)
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(np.concatenate([p.grad, q.grad]), coef * np.array([3.0, 0.0, 4.0]), rtol=1e-15)
    before = np.concatenate([p.grad, q.grad])
    assert bp.optim.clip_grad_norm_([p, q], max_norm=10.0) == pytest.approx(5 * coef, rel=1e-12)
    np.testing.assert_array_equal(np.concatenate([p.grad, q.grad]), before)


@settings(max_examples=30, deadline=None)
@given(shape_list=shapes, seed=st.integers(0, 2**16), clip_value=st.sampled_from([1e-3, 0.1, 1.0, 10.0]))
def test_clip_grad_value_matches_torch(shape_list, seed, clip_value):
    ours, theirs = _pair(shape_list, seed, 1.0)
    assert bp.optim.clip_grad_value_(ours, clip_value=clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value=clip_value)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=0, atol=0)
        assert np.all(np.abs(p.grad) <= clip_value)


def test_clipping_accepts_a_single_parameter_and_no_grads():
    p = Parameter(np.zeros(3))
    assert bp.optim.clip_grad_norm_(p, 1.0) == 0.0          # no grad yet: nothing to clip
    p.grad = np.array([2.0, -2.0, 1.0])
    assert bp.optim.clip_grad_norm_(p, 1.0, norm_type="inf") == pytest.approx(2.0)
    assert bp.optim.clip_grad_norm_([], 1.0) == 0.0


def test_nonfinite_norm_raises_only_when_asked():
    p = Parameter(np.zeros(2))
    p.grad = np.array([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="total gradient norm is inf.*error_if_nonfinite=False"):
        bp.optim.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda ps: bp.optim.clip_grad_norm_(ps, max_norm=0), ValueError,
     "clip_grad_norm_: max_norm must be positive"),
    (lambda ps: bp.optim.clip_grad_norm_(ps, max_norm=-1.0), ValueError, "max_norm must be positive"),
    (lambda ps: bp.optim.clip_grad_norm_(ps, max_norm="1"), TypeError, "max_norm must be a positive number"),
    (lambda ps: bp.optim.clip_grad_norm_(ps, 1.0, norm_type=0), ValueError, "norm_type must be positive"),
    (lambda ps: bp.optim.clip_grad_value_(ps, clip_value=0), ValueError,
     "clip_grad_value_: clip_value must be positive"),
    (lambda ps: bp.optim.clip_grad_norm_([np.ones(2)], 1.0), TypeError,
     r"parameters\[0\] is a ndarray, not a bp.nn.Parameter"),
    (lambda ps: bp.optim.clip_grad_value_(np.ones(2), 1.0), TypeError, "parameters must be an iterable"),
])
def test_bad_clip_arguments_are_named(call, exc, pattern):
    p = Parameter(np.zeros(2))
    p.grad = np.ones(2)
    with pytest.raises(exc, match=pattern):
        call([p])
