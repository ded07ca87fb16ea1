"""Dropout: mask statistics, inverted scaling, eval identity, same mask backward, seeds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop_lib as bp
from backprop_lib.nn import Dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_fraction_kept_is_one_minus_p(p):
    n = 200_000
    d = Dropout(p, seed=0)
    y = d(np.ones((400, n // 400)))
    kept = d.mask.mean()
    sigma = np.sqrt(p * (1 - p) / n)                # std of a Bernoulli mean
    assert abs(kept - (1 - p)) < 5 * sigma
    assert np.count_nonzero(y) == d.mask.sum()


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_inverted_scaling_preserves_the_mean(p, rng):
    n = 200_000
    x = rng.uniform(1.0, 2.0, size=(n // 100, 100))
    y = Dropout(p, seed=1)(x)
    # E[y] = x; the sample mean of y/x is 1 up to sqrt(p / ((1 - p) n))
    ratio = (y / x).mean()
    assert abs(ratio - 1.0) < 5 * np.sqrt(p / ((1 - p) * n))


def test_kept_units_are_scaled_and_dropped_units_are_zero(rng):
    p = 0.3
    x = rng.normal(size=(50, 20))
    d = Dropout(p, seed=3)
    y = d(x)
    np.testing.assert_allclose(y[d.mask], x[d.mask] / (1 - p), rtol=1e-15)
    assert np.all(y[~d.mask] == 0)
    assert d.mask.dtype == bool and d.mask.shape == x.shape


def test_eval_mode_is_the_identity(rng):
    x = rng.normal(size=(8, 5))
    g = rng.normal(size=(8, 5))
    d = Dropout(0.5, seed=0).eval()
    np.testing.assert_allclose(d(x), x, rtol=1e-15)
    np.testing.assert_allclose(d.backward(g), g, rtol=1e-15)
    assert d.mask is None
    d.train()
    assert np.count_nonzero(d(x) == 0) > 0     # back in training mode it drops units again


def test_backward_uses_the_forward_mask(rng):
    p = 0.4
    x = rng.normal(size=(30, 12))
    g = rng.normal(size=(30, 12))
    d = Dropout(p, seed=7)
    y = d(x)
    dx = d.backward(g)
    # y = D x with D = diag(mask / (1 - p)): the gradient is D g, zero exactly where y is zero
    np.testing.assert_allclose(dx, g * d.mask / (1 - p), rtol=1e-15)
    np.testing.assert_array_equal(dx == 0, y == 0)
    # calling backward again does not redraw the mask
    np.testing.assert_allclose(d.backward(g), dx, rtol=1e-15)


def test_backward_matches_finite_differences_with_the_mask_fixed(rng):
    p = 0.5
    x = rng.normal(size=(4, 6))
    g = rng.normal(size=(4, 6))
    d = Dropout(p, seed=11)
    d(x)
    dx = d.backward(g)

    def loss(z):  # the same first mask every time: a fresh layer with the same seed
        layer = Dropout(p, seed=11)
        return float(np.sum(layer(z) * g))

    h = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        num[idx] = (loss(x + e) - loss(x - e)) / (2 * h)
    np.testing.assert_allclose(dx, num, rtol=1e-7, atol=1e-9)


def test_same_seed_gives_same_masks_and_different_seeds_differ(rng):
    x = rng.normal(size=(20, 10))
    a, b, c = Dropout(0.5, seed=42), Dropout(0.5, seed=42), Dropout(0.5, seed=43)
    for _ in range(3):
        ya, yb = a(x), b(x)
        c(x)
        np.testing.assert_array_equal(a.mask, b.mask)
        np.testing.assert_allclose(ya, yb, rtol=1e-15)
        assert not np.array_equal(a.mask, c.mask)
    m1 = a.mask.copy()
    a(x)
    assert not np.array_equal(m1, a.mask)           # successive calls draw new masks


def test_accepts_a_generator_as_seed(rng):
    x = np.ones((10, 10))
    d1 = Dropout(0.5, seed=np.random.default_rng(5))
    d2 = Dropout(0.5, seed=5)
    d1(x)
    d2(x)
    np.testing.assert_array_equal(d1.mask, d2.mask)


def test_p_zero_keeps_everything(rng):
    x = rng.normal(size=(6, 4))
    d = Dropout(0.0, seed=0)
    np.testing.assert_allclose(d(x), x, rtol=1e-15)
    np.testing.assert_allclose(d.backward(x), x, rtol=1e-15)


def test_float32_stays_float32(rng):
    x = rng.normal(size=(5, 3)).astype(np.float32)
    d = Dropout(0.5, seed=0)
    assert d(x).dtype == np.float32
    assert d.backward(np.ones_like(x)).dtype == np.float32


def test_has_no_parameters_and_follows_sequential_mode(rng):
    d = Dropout(0.5, seed=0)
    net = bp.nn.Sequential(d)
    assert net.parameters() == []
    net.eval()
    assert d.training is False
    x = rng.normal(size=(3, 3))
    np.testing.assert_allclose(net(x), x, rtol=1e-15)
    assert "p=0.5" in repr(d)


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    p=st.floats(0.0, 0.95),
    seed=st.integers(0, 2**31),
)
def test_forward_backward_consistent_for_random_shapes(shape, p, seed):
    x = np.random.default_rng(seed).normal(size=shape)
    d = Dropout(p, seed=seed)
    y = d(x)
    assert y.shape == x.shape
    np.testing.assert_allclose(y, x * d.mask / (1 - p), rtol=1e-15)
    g = np.random.default_rng(seed + 1).normal(size=shape)
    np.testing.assert_allclose(d.backward(g), g * d.mask / (1 - p), rtol=1e-15)


# -- bad input -----------------------------------------------------------------------

def test_p_one_is_refused_and_says_why():
    with pytest.raises(ValueError, match="divide by zero"):
        Dropout(1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(1)


@pytest.mark.parametrize("p", [-0.1, 1.5, 2])
def test_p_outside_unit_interval_is_refused(p):
    with pytest.raises(ValueError, match=r"Dropout p must lie in \[0, 1\)"):
        Dropout(p)


def test_p_nan_and_non_numbers_are_refused():
    with pytest.raises(ValueError, match="finite"):
        Dropout(float("nan"))
    with pytest.raises(TypeError, match="Dropout p must be a number"):
        Dropout("0.5")
    with pytest.raises(TypeError, match="Dropout p must be a number"):
        Dropout(True)


def test_bad_seed_is_refused():
    with pytest.raises(TypeError, match="seed"):
        Dropout(0.5, seed="zero")


def test_backward_before_forward_is_refused():
    with pytest.raises(ValueError, match="before forward"):
        Dropout(0.5).backward(np.ones((2, 2)))


def test_grad_out_with_wrong_shape_is_refused():
    d = Dropout(0.5, seed=0)
    d(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"expected \(4, 3\)"):
        d.backward(np.ones((3, 4)))


def test_integer_input_is_refused():
    with pytest.raises(TypeError, match="float64"):
        Dropout(0.5)(np.ones((2, 2), dtype=int))


# -- with Linear and activations -----------------------------------------------------------

def test_mlp_with_dropout_matches_torch_given_the_same_mask(rng):
    import torch

    from backprop_lib.nn import Linear, ReLU, Sequential

    p = 0.4
    drop = Dropout(p, seed=3)
    net = Sequential(Linear(5, 9, seed=0), ReLU(), drop, Linear(9, 2, seed=1))
    x = rng.normal(size=(6, 5))
    g = rng.normal(size=(6, 2))
    y = net(x)
    dx = net.backward(g)
    t = [torch.tensor(q.data, requires_grad=True) for q in net.parameters()]
    xt = torch.tensor(x, requires_grad=True)
    mask = torch.from_numpy(drop.mask.astype(np.float64))
    yt = (torch.relu(xt @ t[0].T + t[1]) * mask / (1 - p)) @ t[2].T + t[3]   # torch's dropout, our mask
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    for q, tq in zip(net.parameters(), t, strict=True):
        np.testing.assert_allclose(q.grad, tq.grad.numpy(), rtol=1e-12, atol=1e-15, err_msg=q.name)
    # in eval mode the same network is the plain MLP, without any scaling
    net.eval()
    np.testing.assert_allclose(net(x), net[3](net[1](net[0](x))), rtol=1e-14)


def test_dropout_before_a_linear_layer_keeps_its_output_on_average(rng):
    from backprop_lib.nn import Linear, Sequential

    lin = Linear(20, 3, seed=0)
    net = Sequential(Dropout(0.5, seed=1), lin)
    x = rng.normal(size=(1, 20))
    samples = np.array([net(x)[0] for _ in range(4000)])
    # E[W (m ⊙ x)/(1 − p) + b] = W x + b: the Monte Carlo mean is within a few standard errors
    stderr = samples.std(axis=0) / np.sqrt(len(samples))
    assert np.all(np.abs(samples.mean(axis=0) - lin(x)[0]) < 5 * stderr)
