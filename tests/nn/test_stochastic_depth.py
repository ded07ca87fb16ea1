"""StochasticDepth: x + b·F(x) in training with the same b in backward, x + p·F(x) in eval; vs PyTorch
(float64, ≤ 1e-10) and central differences (< 1e-7); survival rules, the builder, the δ profile."""

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.nn import Linear, Sequential, StochasticDepth, Tanh
from backprop_lib.nn.stochastic_depth import block_gradient_rms, stochastic_depth_mlp, survival_probabilities


def branch(d, h, seed):
    return Sequential(Linear(d, h, seed=seed), Tanh(), Linear(h, d, seed=seed + 1))


def torch_branch(net, x, b, g):
    """x + b·F(x) in torch with net's weights; returns (y, dx, [param grads])."""
    params = [torch.tensor(p.data, requires_grad=True) for p in net.parameters()]
    w1, b1, w2, b2 = params
    xt = torch.tensor(x, requires_grad=True)
    y = xt + b * (torch.tanh(xt @ w1.T + b1) @ w2.T + b2)
    y.backward(torch.from_numpy(g))
    return y.detach().numpy(), xt.grad.numpy(), [p.grad for p in params]


def draw_until(sd, x, want):
    """Forward passes until the drawn b equals ``want`` (the mask is random by design)."""
    for _ in range(200):
        y = sd(x)
        if sd.b == want:
            return y
    raise AssertionError(f"b never came out {want}")


@pytest.mark.parametrize("mode", ["kept", "dropped", "eval"])
def test_matches_torch(mode, rng):
    p = 0.7
    sd = StochasticDepth(branch(4, 6, 0), p, seed=1)
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    if mode == "eval":
        sd.eval()
        y, b = sd(x), p
    else:
        y = draw_until(sd, x, mode == "kept")
        b = 1.0 if mode == "kept" else 0.0
    dx = sd.backward(g)
    ty, tdx, tgrads = torch_branch(sd.block, x, b, g)
    np.testing.assert_allclose(y, ty, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, tdx, rtol=0, atol=1e-10)
    for p_, tg in zip(sd.parameters(), tgrads, strict=True):
        if mode == "dropped":
            assert p_.grad is None and float(tg.abs().max()) == 0.0        # the branch was not run
        else:
            np.testing.assert_allclose(p_.grad, tg.numpy(), rtol=0, atol=1e-10, err_msg=p_.name)


def test_dropped_block_passes_delta_unchanged_and_is_not_run(rng):
    sd = StochasticDepth(branch(3, 4, 0), 0.3, seed=0)
    x, g = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    sd.block(x + 1.0)                                   # leave a stale cache in the branch
    stale = sd.block[0].x.copy()
    y = draw_until(sd, x, False)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(sd.backward(g), g)
    np.testing.assert_array_equal(sd.block[0].x, stale)


def test_backward_reuses_the_forward_draw_even_after_a_mode_change(rng):
    sd = StochasticDepth(branch(3, 4, 0), 0.5, seed=3)
    x, g = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    draw_until(sd, x, False)
    sd.eval()                                           # switching mode between forward and backward
    np.testing.assert_array_equal(sd.backward(g), g)    # still the dropped block's backward


@pytest.mark.parametrize("mode", ["kept", "eval"])
def test_gradcheck(mode, rng):
    sd = StochasticDepth(branch(3, 5, 2), 0.6, seed=0)
    x = rng.normal(size=(4, 3))
    if mode == "eval":
        report = bp.gradcheck.check_layer(sd.eval(), x)
    else:
        certain = StochasticDepth(sd.block, 1.0)        # p = 1: b = 1 always, the loss is deterministic
        report = bp.gradcheck.check_layer(certain, x)
    assert report.max_rel_error < 1e-7, str(report)


def test_gradcheck_in_training_with_a_frozen_draw(rng):
    sd = StochasticDepth(branch(3, 5, 4), 0.5, seed=11)
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))

    def loss(_):
        sd.rng = np.random.default_rng(11)                # the same b at every evaluation
        return float(np.sum(sd(x) * g))

    loss(None)
    assert sd.b is True                                 # seed 11 keeps the block: the branch matters
    dx = sd.backward(g)
    numeric = bp.gradcheck.numerical_gradient(loss, x)
    assert bp.gradcheck.max_relative_error(dx, numeric) < 1e-7


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_survival_frequency_and_mean_output(p, rng):
    n = 10_000
    sd = StochasticDepth(branch(3, 4, 0), p, seed=5)
    x = rng.normal(size=(2, 3))
    outs = np.stack([sd(x) for _ in range(n)])
    kept = np.mean(np.any(outs != x, axis=(1, 2)))
    assert abs(kept - p) < 4 * np.sqrt(p * (1 - p) / n)
    se = outs.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(outs.mean(axis=0) - sd.eval()(x)) <= 4 * se + 1e-12)


def test_seeded_masks_repeat():
    x = np.ones((1, 3))
    draws = []
    for _ in range(2):
        sd = StochasticDepth(branch(3, 4, 0), 0.5, seed=7)
        draws.append([(sd(x), sd.b)[1] for _ in range(30)])
    assert draws[0] == draws[1] and 0 < sum(draws[0]) < 30


def test_survival_probabilities():
    np.testing.assert_allclose(survival_probabilities(4, 0.5), [0.875, 0.75, 0.625, 0.5], rtol=1e-15)
    np.testing.assert_allclose(survival_probabilities(3, 0.5, "uniform"), [0.5] * 3)
    with pytest.raises(ValueError, match="p_last"):
        survival_probabilities(3, 0.0)
    with pytest.raises(ValueError, match="rule"):
        survival_probabilities(3, 0.5, "cosine")


def test_builder_keeps_the_residual_mlp_weights():
    net = stochastic_depth_mlp(8, 3, 0.5, seed=4)
    ref = bp.nn.residual_mlp(8, 3, seed=4)
    assert [type(layer).__name__ for layer in net] == ["StochasticDepth"] * 3 + ["Linear"]
    np.testing.assert_allclose([layer.p_survive for layer in net.layers[:3]], [5 / 6, 4 / 6, 0.5])
    for a, b in zip(net.parameters(), ref.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    x = np.random.default_rng(0).normal(size=(5, 8))
    ones = stochastic_depth_mlp(8, 3, 1.0, seed=4)
    np.testing.assert_allclose(ones(x), ref(x), rtol=1e-14)               # p = 1 is the residual net


def test_block_gradient_rms(rng):
    x, g = rng.normal(size=(16, 8)), rng.normal(size=(16, 10))
    full = stochastic_depth_mlp(8, 5, 1.0, seed=0)
    train, evaluated = block_gradient_rms(full, x, g, draws=3)
    np.testing.assert_allclose(train, evaluated, rtol=1e-12)              # p = 1: nothing random
    full.zero_grad()
    full(x)
    deltas, d = [], g
    for layer in reversed(full.layers):
        d = layer.backward(d)
        deltas.append(np.sqrt(np.mean(d ** 2)))
    np.testing.assert_allclose(evaluated, deltas[::-1], rtol=1e-12)
    half = stochastic_depth_mlp(8, 5, 0.3, rule="uniform", seed=0).eval()
    train, _ = block_gradient_rms(half, x, g, draws=50)
    assert not half.training                                              # its mode is restored
    assert train[0] < evaluated[0]                  # fewer blocks on the path: less growth (He ReLU)


def test_clear_errors(rng):
    with pytest.raises(TypeError, match="needs a Module"):
        StochasticDepth(lambda x: x, 0.5)
    with pytest.raises(ValueError, match="p_survive"):
        StochasticDepth(branch(2, 2, 0), 0.0)
    with pytest.raises(ValueError, match="p_survive"):
        StochasticDepth(branch(2, 2, 0), 1.5)
    sd = StochasticDepth(branch(2, 3, 0), 1.0)
    with pytest.raises(ValueError, match="before forward"):
        sd.backward(np.ones((1, 2)))
    sd(rng.normal(size=(4, 2)))
    with pytest.raises(ValueError, match="expected"):
        sd.backward(np.ones((1, 2)))
    widen = StochasticDepth(Linear(2, 3), 1.0)
    with pytest.raises(ValueError, match="shapes equal"):
        widen(rng.normal(size=(4, 2)))
    assert "p_survive=1" in repr(sd)
