"""FA / DFA backward passes: BP through the same code equals net.backward and torch; FA with B = Wᵀ is
backprop exactly; FA and DFA match the equations written out by hand; DFA = FA with one hidden layer;
the angle is one angle of the whole update, in degrees; bad inputs are refused with clear errors."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.train.feedback_alignment import (
    alignment_angle,
    backward,
    dfa_backward,
    fa_backward,
    feedback_matrices,
    mlp_blocks,
)


def _setup(sizes=(5, 7, 6, 3), activation="tanh", seed=0, batch=8):
    rng = np.random.default_rng(seed + 100)
    net = bp.nn.mlp(list(sizes), activation=activation, seed=seed)
    x, y = rng.normal(size=(batch, sizes[0])), rng.integers(0, sizes[-1], size=batch)
    loss_fn = bp.nn.CrossEntropyLoss()
    return net, loss_fn, x, y


def _grads(net):
    return [p.grad.copy() for p in net.parameters()]


def _run(net, loss_fn, x, y, rule, feedback=None):
    net.zero_grad()
    loss_fn(net(x), y)
    deltas = backward(net, loss_fn.backward(), rule, feedback)
    return deltas, _grads(net)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_bp_rule_equals_net_backward_and_torch(activation):
    torch = pytest.importorskip("torch")
    net, loss_fn, x, y = _setup(activation=activation)
    _, grads = _run(net, loss_fn, x, y, "bp")
    net.zero_grad()
    loss_fn(net(x), y)
    net.backward(loss_fn.backward())
    for g, p in zip(grads, net.parameters(), strict=True):
        np.testing.assert_allclose(g, p.grad, rtol=1e-13, atol=1e-15)
    tnet = bp.interop.to_torch(net)
    loss = torch.nn.functional.cross_entropy(tnet(torch.tensor(x)), torch.tensor(y))
    loss.backward()
    for g, tp in zip(grads, tnet.parameters(), strict=True):
        np.testing.assert_allclose(g, tp.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("sizes", [(5, 7, 3), (5, 7, 6, 3), (4, 6, 6, 6, 2)])
def test_fa_with_b_equal_to_w_transpose_is_backprop(sizes):
    net, loss_fn, x, y = _setup(sizes)
    d_bp, g_bp = _run(net, loss_fn, x, y, "bp")
    transport = [lin.weight.data.T.copy() for lin, _ in mlp_blocks(net)[1:]]    # B^{l+1} = (W^{l+1})ᵀ
    d_fa, g_fa = _run(net, loss_fn, x, y, "fa", transport)
    for a, b in zip(g_fa + d_fa, g_bp + d_bp, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


def test_fa_and_dfa_follow_their_equations_written_out():
    net, loss_fn, x, y = _setup((5, 7, 6, 3), activation="tanh")
    (l1, a1), (l2, a2), (l3, _) = mlp_blocks(net)
    fa = feedback_matrices(net, "fa", seed=3)
    dfa = feedback_matrices(net, "dfa", seed=4)
    loss_fn(net(x), y)
    e = loss_fn.backward()
    z1, z2 = x @ l1.weight.data.T + l1.bias.data, None
    z2 = np.tanh(z1) @ l2.weight.data.T + l2.bias.data
    dphi1, dphi2 = 1 - np.tanh(z1) ** 2, 1 - np.tanh(z2) ** 2
    fa_d2 = (e @ fa[1].T) * dphi2                        # δ² = B³δ³ ⊙ φ′ (rows: δ³ B³ᵀ)
    fa_d1 = (fa_d2 @ fa[0].T) * dphi1
    dfa_d2, dfa_d1 = (e @ dfa[1].T) * dphi2, (e @ dfa[0].T) * dphi1     # δˡ = Bˡe ⊙ φ′
    net.zero_grad()
    got = fa_backward(net, e, fa)
    for a, b in zip(got, [fa_d1, fa_d2, e], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(l1.weight.grad, fa_d1.T @ x, rtol=1e-12)           # dW = δᵀ a
    np.testing.assert_allclose(l2.bias.grad, fa_d2.sum(0), rtol=1e-12, atol=1e-15)
    net.zero_grad()
    got = dfa_backward(net, e, dfa)
    for a, b in zip(got, [dfa_d1, dfa_d2, e], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(l3.weight.grad, e.T @ np.tanh(z2), rtol=1e-12)      # output layer as BP


def test_fa_differs_from_bp_in_hidden_layers_only():
    net, loss_fn, x, y = _setup((5, 7, 3))
    _, g_bp = _run(net, loss_fn, x, y, "bp")
    _, g_fa = _run(net, loss_fn, x, y, "fa", feedback_matrices(net, "fa", seed=1))
    for a, b in zip(g_fa[2:], g_bp[2:], strict=True):                      # last Linear: W, b
        np.testing.assert_allclose(a, b, rtol=1e-14)
    assert np.linalg.norm(g_fa[0] - g_bp[0]) > 0.1 * np.linalg.norm(g_bp[0])


def test_dfa_equals_fa_with_one_hidden_layer_and_the_same_draw():
    net, loss_fn, x, y = _setup((5, 9, 4))
    fa, dfa = feedback_matrices(net, "fa", seed=7), feedback_matrices(net, "dfa", seed=7)
    np.testing.assert_array_equal(fa[0], dfa[0])
    _, g_fa = _run(net, loss_fn, x, y, "fa", fa)
    _, g_dfa = _run(net, loss_fn, x, y, "dfa", dfa)
    for a, b in zip(g_fa, g_dfa, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_feedback_matrices_shapes_scale_and_seed():
    net = bp.nn.mlp([64, 128, 32, 10], activation="tanh", seed=0)
    fa = feedback_matrices(net, "fa", seed=0)
    assert [B.shape for B in fa] == [(128, 32), (32, 10)]                  # shaped like Wᵀ
    dfa = feedback_matrices(net, "dfa", seed=0, scale=2.0)
    assert [B.shape for B in dfa] == [(128, 10), (32, 10)]
    assert np.abs(fa[0]).max() <= 1 / np.sqrt(128) and np.abs(fa[0]).max() > 0.9 / np.sqrt(128)
    assert np.abs(dfa[1]).max() <= 2 / np.sqrt(32) and np.abs(dfa[1]).max() > 1.8 / np.sqrt(32)
    np.testing.assert_array_equal(feedback_matrices(net, "fa", seed=0)[1], fa[1])
    assert not np.allclose(feedback_matrices(net, "fa", seed=1)[1], fa[1])


def test_alignment_angle_is_one_angle_in_degrees():
    assert alignment_angle([1.0, 0.0], [0.0, 2.0]) == pytest.approx(90.0)
    assert alignment_angle([1.0, 1.0], [3.0, 3.0]) == pytest.approx(0.0, abs=1e-6)
    assert alignment_angle([1.0, 0.0], [-1.0, 0.0]) == pytest.approx(180.0)
    assert alignment_angle([1.0, 0.0], [1.0, 1.0]) == pytest.approx(45.0)
    a = np.array([[1.0, 0.0], [10.0, 10.0]])
    b = np.array([[0.0, 1.0], [10.0, 10.0]])
    rows = np.mean([alignment_angle(r, s) for r, s in zip(a, b, strict=True)])
    assert rows == pytest.approx(45.0)
    assert alignment_angle(a, b) == pytest.approx(np.degrees(np.arccos(200 / 201)))   # ≈ 5.7°, not 45°


def test_bad_inputs_are_refused_clearly():
    net, loss_fn, x, y = _setup((5, 7, 3))
    loss_fn(net(x), y)
    e = loss_fn.backward()
    with pytest.raises(ValueError, match="feedback_matrices"):
        fa_backward(net, e, None)
    with pytest.raises(ValueError, match=r"shape \(3, 7\)"):
        fa_backward(net, e, [np.zeros((3, 7))])
    with pytest.raises(ValueError, match="unknown rule"):
        backward(net, e, "hebb")
    with pytest.raises(ValueError, match="alternate Linear"):
        mlp_blocks(bp.nn.Sequential(bp.nn.Tanh(), bp.nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="end with a Linear"):
        mlp_blocks(bp.nn.mlp([2, 3, 1], output_activation="sigmoid"))
    with pytest.raises(TypeError, match="Sequential"):
        mlp_blocks(bp.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="zero vector"):
        alignment_angle([0.0, 0.0], [1.0, 0.0])
