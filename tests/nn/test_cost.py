"""bp.nn.cost: FLOP counts against PyTorch's FlopCounterMode and a hand count; the checkpoint
memory formulas against what CheckpointedSequential really caches (trace_memory)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

import backprop_lib as bp
from backprop_lib.nn import CheckpointedSequential, Linear, ReLU, Sequential, Tanh, cached_bytes
from backprop_lib.nn.cost import checkpoint_memory, count_flops, num_parameters, trace_memory

# -- FLOPs -----------------------------------------------------------------------------------


def test_hand_count_of_a_small_mlp():
    c = count_flops([3, 4, 2], batch=5)
    assert c.forward == 5 * ((2 * 3 * 4 + 4) + (2 * 4 * 2 + 2)) == 230
    assert c.weight_grads == 230                         # gᵀx has the shape and cost of x Wᵀ; Σ g the bias
    assert c.input_grads == 5 * (2 * 3 * 4 + 2 * 4 * 2) == 200
    assert c.backward == 430
    assert count_flops([3, 4, 2], batch=5, input_grad=False).input_grads == 5 * 2 * 4 * 2


def _torch_flops(sizes, batch, input_grad):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [torch.nn.Linear(a, b), torch.nn.Tanh()]
    net = torch.nn.Sequential(*layers[:-1]).double()
    x = torch.randn(batch, sizes[0], dtype=torch.float64, requires_grad=input_grad)
    with FlopCounterMode(display=False) as fwd:
        out = net(x).sum()
    with FlopCounterMode(display=False) as bwd:
        out.backward()
    return fwd.get_total_flops(), bwd.get_total_flops()


@pytest.mark.parametrize("sizes, batch", [([3, 4, 2], 5), ([784, 256, 10], 64), ([2, 16, 16, 16, 1], 7)])
@pytest.mark.parametrize("input_grad", [True, False])
def test_matrix_products_match_torch_flop_counter(sizes, batch, input_grad):
    # FlopCounterMode counts matrix products only (2·m·n·k each), so compare without the bias adds
    fwd, bwd = _torch_flops(sizes, batch, input_grad)
    c = count_flops(sizes, batch, bias=False, input_grad=input_grad)
    assert (c.forward, c.backward) == (fwd, bwd)


def test_biases_add_one_flop_per_output_forward_and_backward():
    with_b, without = count_flops([5, 7, 3], 4), count_flops([5, 7, 3], 4, bias=False)
    assert with_b.forward - without.forward == 4 * (7 + 3)
    assert with_b.weight_grads - without.weight_grads == 4 * (7 + 3)
    assert with_b.input_grads == without.input_grads


def test_backward_is_about_twice_forward_and_forward_about_2BW():
    for width in (64, 512, 4096):
        sizes = [width] * 4
        c = count_flops(sizes, batch=32)
        W = num_parameters(sizes)
        assert 1.99 < c.ratio < 2.0
        assert c.forward == pytest.approx(2 * 32 * W, rel=1 / width)


@given(st.lists(st.integers(1, 50), min_size=2, max_size=5), st.booleans())
@settings(max_examples=30, deadline=None)
def test_num_parameters_matches_mlp(sizes, bias):
    assert num_parameters(sizes, bias=bias) == bp.nn.mlp(sizes, bias=bias).num_parameters()


@pytest.mark.parametrize("sizes", [[3], [], "34", [3, 0, 2], [3, 2.5], [True, 2]])
def test_bad_sizes(sizes):
    with pytest.raises(ValueError, match="sizes"):
        count_flops(sizes, 4)


def test_bad_batch():
    with pytest.raises(ValueError, match="batch"):
        count_flops([2, 2], 0)
    with pytest.raises(TypeError, match="batch"):
        count_flops([2, 2], 1.5)


# -- checkpoint memory: formula vs measurement ------------------------------------------------

def _blocks(n, width, seed=0):
    """n blocks Linear + activation: each caches 2 new (batch, width) arrays (z and the output)."""
    return [Sequential(Linear(width, width, seed=seed + i), Tanh() if i % 2 else ReLU()) for i in range(n)]


def _layers(kind, n):
    return _blocks(n, 5) if kind == "blocks" else [Tanh() for _ in range(n)]


@given(kind=st.sampled_from(["tanh", "blocks"]), L=st.integers(1, 30), data=st.data())
@settings(max_examples=50, deadline=None)
def test_formulas_match_what_checkpointed_sequential_caches(kind, L, data):
    k = data.draw(st.integers(1, L))
    c = 2 if kind == "blocks" else 1
    rng = np.random.default_rng(L)
    x, g = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    one = x.nbytes
    trace = trace_memory(CheckpointedSequential(*_layers(kind, L), segments=k), x, g)
    m = checkpoint_memory(L, k, arrays_per_layer=c)
    assert trace.after_forward == m.after_forward * one
    assert trace.peak == m.peak * one
    assert trace.forward_calls == m.forward_calls
    plain = trace_memory(Sequential(*_layers(kind, L)), x, g)
    assert plain.peak == plain.after_forward == m.plain * one
    assert plain.forward_calls == L


def test_sqrt_L_segments_give_the_square_root_law():
    L = np.array([16, 64, 256])
    peaks = np.array([checkpoint_memory(int(n), int(np.sqrt(n))).peak for n in L])
    np.testing.assert_array_equal(peaks, 3 * np.sqrt(L))             # k + 2L/k with k = √L
    slope = np.polyfit(np.log(L), np.log(peaks), 1)[0]
    assert slope == pytest.approx(0.5, abs=1e-12)
    m = checkpoint_memory(64, 8)
    assert m.textbook == 16 and m.plain == 65 and m.forward_calls == 64 + 56
    m2 = checkpoint_memory(64, 8, arrays_per_layer=2)
    assert m2.textbook == 24 and m2.plain == 129 and m2.peak == 7 + 17 + 16


def test_one_segment_is_plain_and_L_segments_store_no_less():
    m1, mL = checkpoint_memory(12, 1), checkpoint_memory(12, 12)
    assert m1.after_forward == m1.peak == m1.plain == 13 and m1.forward_calls == 12
    assert mL.after_forward == 13 and mL.peak == 14 and mL.forward_calls == 23


def test_bad_segments():
    with pytest.raises(ValueError, match="segments must be at most layers"):
        checkpoint_memory(4, 5)
    with pytest.raises(ValueError, match="segments"):
        checkpoint_memory(4, 0)
    with pytest.raises(ValueError, match="arrays_per_layer"):
        checkpoint_memory(4, 2, arrays_per_layer=0)


# -- trace_memory leaves the model as it was ----------------------------------------------------

def test_trace_gives_the_same_gradients_and_unwraps_the_layers(rng):
    x, g = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    ref = Sequential(*_blocks(8, 6))
    ref(x)
    ref.backward(g)
    model = CheckpointedSequential(*_blocks(8, 6), segments=3)
    trace_memory(model, x, g)
    for p, q in zip(ref.parameters(), model.parameters(), strict=True):
        np.testing.assert_allclose(q.grad, p.grad, rtol=1e-12, atol=1e-14)
    assert all("forward" not in vars(layer) and "backward" not in vars(layer) for layer in model.layers)


def test_a_layer_used_twice_is_wrapped_once(rng):
    act = Tanh()
    model = Sequential(Linear(3, 3, seed=0), act, Linear(3, 3, seed=1), act)
    trace = trace_memory(model, rng.normal(size=(2, 3)), rng.normal(size=(2, 3)))
    assert trace.layers == 3 and trace.forward_calls == 4                  # act runs twice
    assert "forward" not in vars(act)


def test_layers_are_unwrapped_when_backward_fails(rng):
    model = Sequential(Linear(3, 2, seed=0), Tanh())
    with pytest.raises(ValueError, match="grad_out"):
        trace_memory(model, rng.normal(size=(4, 3)), rng.normal(size=(4, 5)))      # wrong shape
    assert all("backward" not in vars(layer) for layer in model.layers)
    assert cached_bytes(model) > 0


def test_trace_needs_a_sequential(rng):
    with pytest.raises(TypeError, match="Sequential"):
        trace_memory(Tanh(), rng.normal(size=(2, 2)), rng.normal(size=(2, 2)))
