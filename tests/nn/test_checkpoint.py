"""Gradient checkpointing: same outputs, gradients and running statistics as the plain
Sequential, fewer cached bytes, one extra forward pass through the checkpointed segments."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_lib.nn import (
    BatchNorm1d,
    CheckpointedSequential,
    Dropout,
    LayerNorm,
    Linear,
    Module,
    ReLU,
    Residual,
    Sequential,
    Tanh,
    cached_bytes,
    checkpoint_sequential,
)

D = 6


def mixed_layers(seed, blocks=3):
    """A network using every kind of layer whose state checkpointing must respect."""
    shared = np.random.default_rng(seed + 100)      # one generator shared by two Dropouts
    layers = []
    for i in range(blocks):
        layers += [
            Linear(D, D, seed=seed + i),
            BatchNorm1d(D, momentum=0.2),
            Tanh(),
            Dropout(0.3, seed=seed + 10 + i),
            Residual(Sequential(Linear(D, D, seed=seed + 20 + i), ReLU(), Dropout(0.2, seed=shared))),
            LayerNorm(D),
        ]
    return layers


def assert_same_state(plain, ckpt, x, g):
    """Forward and backward through both models and compare everything observable."""
    y1, y2 = plain(x), ckpt(x)
    np.testing.assert_allclose(y2, y1, rtol=1e-12, atol=1e-14)
    dx1, dx2 = plain.backward(g), ckpt.backward(g)
    np.testing.assert_allclose(dx2, dx1, rtol=1e-12, atol=1e-14)
    for (n1, p1), (n2, p2) in zip(plain.named_parameters(), ckpt.named_parameters(), strict=True):
        assert n1 == n2
        np.testing.assert_allclose(p2.grad, p1.grad, rtol=1e-12, atol=1e-14, err_msg=n1)
    for l1, l2 in zip(plain.layers, ckpt.layers, strict=True):
        if isinstance(l1, BatchNorm1d):
            np.testing.assert_allclose(l2.running_mean, l1.running_mean, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(l2.running_var, l1.running_var, rtol=1e-12)
            assert l2.num_batches_tracked == l1.num_batches_tracked


@pytest.mark.parametrize("segments", [1, 2, 3, 5, 18])
def test_same_outputs_gradients_and_running_stats_as_plain(segments, rng):
    plain = Sequential(*mixed_layers(0))
    ckpt = CheckpointedSequential(*mixed_layers(0), segments=segments)
    for _ in range(3):   # several steps: dropout generators and running stats must stay in step
        x = rng.normal(size=(8, D))
        g = rng.normal(size=(8, D))
        assert_same_state(plain, ckpt, x, g)
        for p1, p2 in zip(plain.parameters(), ckpt.parameters(), strict=True):   # an SGD step
            p1.data -= 0.1 * p1.grad
            p2.data -= 0.1 * p2.grad
        plain.zero_grad()
        ckpt.zero_grad()


def test_same_in_eval_mode(rng):
    plain = Sequential(*mixed_layers(1))
    ckpt = CheckpointedSequential(*mixed_layers(1), segments=4)
    assert_same_state(plain, ckpt, rng.normal(size=(5, D)), rng.normal(size=(5, D)))
    plain.eval()
    ckpt.eval()
    plain.zero_grad()
    ckpt.zero_grad()
    assert_same_state(plain, ckpt, rng.normal(size=(1, D)), rng.normal(size=(1, D)))


@settings(max_examples=25, deadline=None)
@given(blocks=st.integers(1, 3), data=st.data(), seed=st.integers(0, 1000))
def test_random_segmentations_give_the_plain_gradients(blocks, data, seed):
    layers = mixed_layers(seed, blocks)
    segments = data.draw(st.integers(1, len(layers)))
    plain = Sequential(*mixed_layers(seed, blocks))
    ckpt = CheckpointedSequential(*layers, segments=segments)
    rng = np.random.default_rng(seed)
    assert_same_state(plain, ckpt, rng.normal(size=(4, D)), rng.normal(size=(4, D)))


# -- memory -------------------------------------------------------------------------------

def tanh_chain(n):
    return [Tanh() for _ in range(n)]


@pytest.mark.parametrize("n, segments", [(16, 4), (64, 8), (30, 5), (10, 3)])
def test_cached_bytes_counts_segment_inputs_plus_the_last_segment(n, segments, rng):
    x = rng.normal(size=(32, 10))
    one = x.nbytes                                   # every activation has the shape of x
    plain = Sequential(*tanh_chain(n))
    plain(x)
    # each Tanh caches its input and output; the output is the next one's input: n + 1 arrays
    assert cached_bytes(plain) == (n + 1) * one
    ckpt = CheckpointedSequential(*tanh_chain(n), segments=segments)
    ckpt(x)
    last = n - (segments - 1) * (n // segments)      # layers in the (uncheckpointed) last segment
    assert cached_bytes(ckpt) == ((segments - 1) + (last + 1)) * one
    assert cached_bytes(ckpt) < cached_bytes(plain)


def test_sqrt_n_segments_store_about_sqrt_n_activations(rng):
    x = rng.normal(size=(8, 4))
    for n in (16, 64, 256):
        k = int(np.sqrt(n))
        ckpt = CheckpointedSequential(*tanh_chain(n), segments=k)
        ckpt(x)
        stored = cached_bytes(ckpt) / x.nbytes
        assert stored <= 2 * k + 1                   # (k − 1) inputs + (n/k + 1) in the last segment


def test_mixed_network_stores_less(rng):
    plain = Sequential(*mixed_layers(2, blocks=4))
    ckpt = CheckpointedSequential(*mixed_layers(2, blocks=4), segments=5)
    x = rng.normal(size=(16, D))
    plain(x)
    ckpt(x)
    assert cached_bytes(ckpt) < 0.5 * cached_bytes(plain)


def test_inner_caches_are_dropped_after_forward_and_after_backward(rng):
    ckpt = CheckpointedSequential(*mixed_layers(3, blocks=2), segments=3)
    x = rng.normal(size=(4, D))
    ckpt(x)
    first = ckpt.layers[:4]
    assert first[0].x is None and first[1].x_hat is None and first[2].out is None and first[3].mask is None
    assert ckpt.layers[-1].x_hat is not None        # the last segment keeps its caches
    assert len(ckpt.saved_inputs) == 2 and ckpt.saved_inputs[0] is x
    ckpt.backward(rng.normal(size=(4, D)))
    assert first[0].x is None and first[3].mask is None
    assert first[1].running_mean is not None         # buffers are never dropped


class Counting(Module):
    """Identity that counts its forward calls."""

    calls = 0

    def __init__(self):
        self.x = None

    def forward(self, x):
        Counting.calls += 1
        self.x = x
        return x

    def backward(self, grad_out):
        self._require_cache("x")
        return grad_out


def test_recomputation_costs_one_extra_forward_through_checkpointed_segments(rng):
    n, segments = 12, 4
    ckpt = CheckpointedSequential(*[Counting() for _ in range(n)], segments=segments)
    Counting.calls = 0
    ckpt(rng.normal(size=(2, 3)))
    assert Counting.calls == n
    ckpt.backward(rng.normal(size=(2, 3)))
    assert Counting.calls == n + (segments - 1) * (n // segments)


# -- cached_bytes on its own -------------------------------------------------------------

class Holder(Module):
    """Holds whatever arrays it is given (to test cached_bytes)."""

    def __init__(self, **arrays):
        for k, v in arrays.items():
            setattr(self, k, v)


def test_cached_bytes_counts_each_array_once():
    a = np.zeros((10, 10))               # 800 bytes
    b = np.zeros(5, dtype=np.float32)    # 20 bytes
    assert cached_bytes(Holder(a=a)) == 800
    assert cached_bytes(Holder(a=a, b=b)) == 820
    assert cached_bytes(Sequential(Holder(a=a), Holder(same=a), Holder(b=b))) == 820
    assert cached_bytes(Holder(view=a[2:5])) == 800                     # a view keeps its base alive
    assert cached_bytes(Holder(a=a, view=a[:, 1])) == 800
    assert cached_bytes(Holder(items=[a, b, "label"])) == 820            # arrays inside lists
    assert cached_bytes(Holder(n=3, s="text", none=None)) == 0


def test_cached_bytes_ignores_parameters_and_buffers(rng):
    assert cached_bytes(Linear(50, 50)) == 0
    bn = BatchNorm1d(7)
    assert cached_bytes(bn) == 0                                         # running stats are buffers
    bn(rng.normal(size=(3, 7)))
    assert cached_bytes(bn) == 3 * 7 * 8 + 7 * 8                         # x̂ and 1/σ


# -- bad input ----------------------------------------------------------------------------

def test_bad_segments():
    with pytest.raises(ValueError, match=r"segments must be at most the number of layers \(2\)"):
        CheckpointedSequential(Tanh(), Tanh(), segments=3)
    with pytest.raises(ValueError, match="segments"):
        CheckpointedSequential(Tanh(), segments=0)
    with pytest.raises(TypeError, match="segments"):
        CheckpointedSequential(Tanh(), Tanh(), segments=1.5)
    with pytest.raises(TypeError):
        CheckpointedSequential(Tanh(), Tanh())                          # segments is required
    with pytest.raises(TypeError, match="must be a Module"):
        CheckpointedSequential(Tanh(), np.tanh, segments=1)


def test_backward_before_forward_is_refused():
    with pytest.raises(ValueError, match="before forward"):
        CheckpointedSequential(Tanh(), Tanh(), segments=2).backward(np.ones((2, 2)))


def test_checkpoint_sequential_wraps_the_same_layers(rng):
    seq = Sequential(*mixed_layers(4, blocks=1))
    ckpt = checkpoint_sequential(seq, 2)
    assert isinstance(ckpt, CheckpointedSequential) and ckpt.segments == 2
    assert all(a is b for a, b in zip(seq.layers, ckpt.layers, strict=True))
    assert [n for n, _ in ckpt.named_parameters()] == [n for n, _ in seq.named_parameters()]
    assert checkpoint_sequential([Tanh(), Tanh()], 1).segments == 1
    assert "segments=2" in repr(ckpt)
    with pytest.raises(TypeError, match="Sequential or a list"):
        checkpoint_sequential(Tanh(), 1)
    with pytest.raises(TypeError, match="needs a Module"):
        cached_bytes([np.zeros(3)])
