"""bp.nn.timing.time_gradient: what it times is what it says (numerical entries really are
central differences of the loss, checked against backprop; a broken backward shows up in the
error), shapes and bookkeeping; no wall-clock thresholds."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.nn import Linear, MSELoss, Sequential, Tanh
from backprop_lib.nn.timing import time_gradient


def _setup(rng, dtype=np.float64):
    net = bp.nn.mlp([4, 6, 2], activation="tanh", seed=0, dtype=dtype)
    return net, MSELoss(), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))


def test_shapes_and_ratios_are_consistent(rng):
    net, loss_fn, x, y = _setup(rng)
    t = time_gradient(net, loss_fn, x, y, repeats=3, calls=4, entries=20)
    assert t.n_params == net.num_parameters() == 4 * 6 + 6 + 6 * 2 + 2
    for arr in (t.forward, t.backward, t.numerical):
        assert arr.shape == (3,) and np.all(arr > 0)
    assert t.entries == 20
    assert t.backward_ratio == pytest.approx(float(np.median(t.backward / t.forward)))
    assert t.speedup == pytest.approx(float(np.median(t.numerical / (t.forward + t.backward))))


def test_numerical_entries_agree_with_backprop(rng):
    net, loss_fn, x, y = _setup(rng)
    t = time_gradient(net, loss_fn, x, y, repeats=2, calls=3, entries=net.num_parameters())
    assert t.max_rel_error < 1e-7


class DoubledLinear(Linear):
    """A Linear whose backward reports twice the true weight gradient."""

    def backward(self, grad_out, *, input_grad=True):
        before = None if self.weight.grad is None else self.weight.grad.copy()
        out = super().backward(grad_out, input_grad=input_grad)
        added = self.weight.grad - (0 if before is None else before)
        self.weight.grad += added
        return out


def test_a_wrong_backward_shows_in_the_error(rng):
    net = Sequential(DoubledLinear(4, 3, seed=0), Tanh(), Linear(3, 1, seed=1))
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 1))
    t = time_gradient(net, MSELoss(), x, y, repeats=1, calls=2, entries=net.num_parameters())
    assert t.max_rel_error > 0.3                          # |2g − g| / (|2g| + |g|) = 1/3


def test_model_is_left_with_one_fresh_gradient(rng):
    net, loss_fn, x, y = _setup(rng)
    time_gradient(net, loss_fn, x, y, repeats=2, calls=3, entries=5)
    ref, _, _, _ = _setup(np.random.default_rng(0))
    loss_fn(ref(x), y)
    ref.backward(loss_fn.backward())
    for p, q in zip(net.parameters(), ref.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-12, atol=1e-15)
        assert p.data is not None


def test_weights_are_restored_exactly(rng):
    net, loss_fn, x, y = _setup(rng)
    before = [p.data.copy() for p in net.parameters()]
    time_gradient(net, loss_fn, x, y, repeats=2, calls=2, entries=net.num_parameters())
    for p, b in zip(net.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)


def test_without_entries_there_is_no_numerical_timing(rng):
    net, loss_fn, x, y = _setup(rng)
    t = time_gradient(net, loss_fn, x, y, repeats=2, calls=2)
    assert t.numerical is None and t.max_rel_error is None and t.entries == 0
    assert t.backward_ratio > 0
    with pytest.raises(ValueError, match="entries="):
        _ = t.speedup


def test_bad_arguments(rng):
    net, loss_fn, x, y = _setup(rng)
    with pytest.raises(ValueError, match="entries"):
        time_gradient(net, loss_fn, x, y, entries=net.num_parameters() + 1)
    with pytest.raises(ValueError, match="entries"):
        time_gradient(net, loss_fn, x, y, entries=-1)
    with pytest.raises(ValueError, match="repeats"):
        time_gradient(net, loss_fn, x, y, repeats=0)
    with pytest.raises(TypeError, match="Module"):
        time_gradient(lambda v: v, loss_fn, x, y)
    with pytest.raises(TypeError, match="loss"):
        time_gradient(net, np.mean, x, y)
    net32, _, _, _ = _setup(rng, dtype=np.float32)
    with pytest.raises(TypeError, match="float64"):
        time_gradient(net32, loss_fn, x, y, entries=3)
    time_gradient(net32, loss_fn, x, y, repeats=1, calls=1)       # timing alone works in float32
