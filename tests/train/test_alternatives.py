"""The trainer of BP / FA / DFA / forward gradients: BP reproduces bp.train.fit step for step, FA's
angle to backprop starts near 90° and falls while it learns, update_angles is 0 for BP and for FA with
B = Wᵀ, forward-gradient runs fill p.grad, and a diverging run is reported, not raised."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.train import alternatives as alt


@pytest.fixture(scope="module")
def digits():
    x, y = bp.data.digits()
    return bp.data.train_val_split(x, y, val_fraction=0.2, seed=0)


def test_the_namespace_is_exported():
    assert bp.train.alternatives is alt
    for name in alt.__all__:
        assert hasattr(alt, name), name


def test_bp_rule_reproduces_fit_with_the_same_batches(digits):
    train, test = digits
    run = alt.train_rule("bp", train, test, sizes=(64, 16, 10), epochs=2, batch_size=32, seed=4)
    net = bp.nn.mlp([64, 16, 10], activation="tanh", seed=4)
    opt = bp.optim.SGD(net.parameters(), lr=0.1)
    bp.train.fit(net, bp.nn.CrossEntropyLoss(), train, opt, epochs=2, batch_size=32,
                 seed=np.random.default_rng([4, 2]), progress=False)
    for a, b in zip(run.net.parameters(), net.parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)
    assert run.test_acc.shape == (3,) and run.angle.shape == (3, 1) and np.all(run.angle == 0)
    assert run.test_acc[-1] == pytest.approx(np.mean(net(test[0]).argmax(1) == test[1]))


def test_fa_learns_while_its_angle_to_backprop_falls(digits):
    train, test = digits
    run = alt.train_rule("fa", train, test, sizes=(64, 64, 10), epochs=4, seed=0)
    assert abs(run.angle[0, 0] - 90) < 10                 # B is unrelated to W at the start
    assert run.angle[-1, 0] < run.angle[0, 0] - 15
    assert run.test_acc[-1] > 0.8 and run.train_loss[-1] < run.train_loss[0] / 2
    assert run.diverged_at is None and run.message is None


def test_dfa_and_fa_agree_with_one_hidden_layer_and_differ_with_two(digits):
    train, test = digits
    fa = alt.train_rule("fa", train, test, sizes=(64, 32, 10), epochs=1, seed=1)
    dfa = alt.train_rule("dfa", train, test, sizes=(64, 32, 10), epochs=1, seed=1)
    for a, b in zip(fa.net.parameters(), dfa.net.parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12)
    fa2 = alt.train_rule("fa", train, test, sizes=(64, 32, 16, 10), epochs=1, seed=1)
    dfa2 = alt.train_rule("dfa", train, test, sizes=(64, 32, 16, 10), epochs=1, seed=1)
    assert not np.allclose(fa2.net.parameters()[0].data, dfa2.net.parameters()[0].data)
    assert dfa2.angle.shape == (2, 2)


def test_update_angles_are_zero_for_backprop_and_for_weight_transport(digits):
    (x, y), _ = digits
    net = bp.nn.mlp([64, 20, 12, 10], activation="tanh", seed=0)
    loss_fn = bp.nn.CrossEntropyLoss()
    np.testing.assert_allclose(alt.update_angles(net, loss_fn, x, y, "bp"), 0.0, atol=1e-5)
    transport = [lin.weight.data.T.copy() for lin, _ in alt.mlp_blocks(net)[1:]]
    np.testing.assert_allclose(alt.update_angles(net, loss_fn, x, y, "fa", transport), 0.0, atol=1e-5)
    fg = alt.update_angles(net, loss_fn, x, y, "fg", rng=np.random.default_rng(0))
    assert np.all((fg > 70) & (fg < 110))                 # one random direction: nearly orthogonal
    assert all(p.grad is None for p in net.parameters())


def test_rule_gradients_fg_fills_grads_along_its_direction(digits):
    (x, y), _ = digits
    net = bp.nn.mlp([64, 8, 10], activation="tanh", seed=0)
    loss_fn = bp.nn.CrossEntropyLoss()
    grads = alt.rule_gradients(net, loss_fn, x[:32], y[:32], "fg", rng=np.random.default_rng(5))
    gen = np.random.default_rng(5)
    v = [gen.standard_normal(p.shape) for p in net.parameters()]
    _, dloss = alt.jvp(net, loss_fn, x[:32], y[:32], v)
    for g, p, t in zip(grads, net.parameters(), v, strict=True):
        np.testing.assert_allclose(g, dloss * t, rtol=1e-12)
        np.testing.assert_array_equal(p.grad, g)


def test_a_diverging_run_is_reported(digits):
    train, test = digits
    run = alt.train_rule("fg", train, test, sizes=(64, 16, 10), activation="relu", lr=10.0, epochs=5)
    assert run.diverged_at is not None and "diverged" in run.message
    assert np.isnan(run.test_acc[-1])
    with pytest.raises(ValueError, match="rule"):
        alt.train_rule("hebb", train, test)
