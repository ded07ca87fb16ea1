"""bp.train.l2_penalty, add_l2_grad_ and with_dropout.

Oracles: central differences and PyTorch autograd for the penalty's gradient; torch.optim.SGD's
weight_decay for the explicit-L2 training loop; the original network (eval mode) and the
inverted-dropout expectation for with_dropout.
"""

import numpy as np
import pytest

import backprop_lib as bp


def small_net(seed=0):
    return bp.nn.mlp([2, 8, 8, 2], activation="tanh", seed=seed)


def flat(net):
    return np.concatenate([p.data.ravel() for p in net.parameters()])


# -- l2_penalty / add_l2_grad_ ---------------------------------------------------------------

def test_l2_penalty_is_half_lambda_squared_norm():
    net = small_net()
    lam = 0.3
    expected = 0.5 * lam * sum(float(np.sum(p.data ** 2)) for p in net.parameters())
    assert bp.train.l2_penalty(net.parameters(), lam) == pytest.approx(expected, rel=1e-14)
    assert bp.train.l2_penalty(net, lam) == pytest.approx(expected, rel=1e-14)    # a Module works too
    assert bp.train.l2_penalty(net.parameters(), 0.0) == 0.0


def test_add_l2_grad_is_the_gradient_of_the_penalty_finite_differences():
    net = small_net(1)
    lam = 0.7
    for p in net.parameters():
        p.grad = np.zeros_like(p.data)
    bp.train.add_l2_grad_(net.parameters(), lam)
    for p in net.parameters():
        numeric = bp.gradcheck.numerical_gradient(lambda _: bp.train.l2_penalty(net, lam), p.data)
        assert bp.gradcheck.max_relative_error(p.grad, numeric) < 1e-7


def test_explicit_l2_gradient_matches_torch_autograd():
    torch = bp.interop.import_torch()
    x, y = bp.data.moons(n=32, noise=0.2, seed=2)
    net, lam = small_net(2), 0.05
    loss_fn = bp.nn.CrossEntropyLoss()
    loss = loss_fn(net(x), y) + bp.train.l2_penalty(net, lam)
    net.backward(loss_fn.backward())
    bp.train.add_l2_grad_(net.parameters(), lam)

    tnet = bp.interop.to_torch(net)
    t_loss = torch.nn.functional.cross_entropy(tnet(torch.from_numpy(x)), torch.from_numpy(y))
    t_loss = t_loss + 0.5 * lam * sum((p ** 2).sum() for p in tnet.parameters())
    t_loss.backward()
    assert loss == pytest.approx(float(t_loss.detach()), rel=1e-13)
    for p, tp in zip(net.parameters(), tnet.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_sgd_weight_decay_equals_explicit_l2_and_torch():
    torch = bp.interop.import_torch()
    x, y = bp.data.moons(n=48, noise=0.2, seed=3)
    loss_fn = bp.nn.CrossEntropyLoss()
    lam, lr = 0.05, 0.1
    a, b = small_net(4), small_net(4)
    tnet = bp.interop.to_torch(a)
    opt_a = bp.optim.SGD(a.parameters(), lr=lr, momentum=0.9, weight_decay=lam)
    opt_b = bp.optim.SGD(b.parameters(), lr=lr, momentum=0.9)
    opt_t = torch.optim.SGD(tnet.parameters(), lr=lr, momentum=0.9, weight_decay=lam)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(50):
        for net, opt, l2 in ((a, opt_a, 0.0), (b, opt_b, lam)):
            opt.zero_grad()
            loss_fn(net(x), y)
            net.backward(loss_fn.backward())
            if l2:
                bp.train.add_l2_grad_(net.parameters(), l2)
            opt.step()
        opt_t.zero_grad()
        torch.nn.functional.cross_entropy(tnet(xt), yt).backward()
        opt_t.step()
    np.testing.assert_allclose(flat(a), flat(b), rtol=0, atol=1e-12)
    t_flat = np.concatenate([p.detach().numpy().ravel() for p in tnet.parameters()])
    np.testing.assert_allclose(flat(b), t_flat, rtol=0, atol=1e-10)
    assert np.max(np.abs(flat(b) - flat(small_net(4)))) > 1e-2          # it did train


def test_add_l2_grad_refuses_missing_gradients_and_bad_arguments():
    net = small_net()
    with pytest.raises(ValueError, match="no gradient.*backward"):
        bp.train.add_l2_grad_(net.parameters(), 0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        bp.train.l2_penalty(net.parameters(), -1.0)
    with pytest.raises(TypeError, match="net.parameters"):
        bp.train.l2_penalty([np.ones(3)], 0.1)
    with pytest.raises(TypeError, match="params must be a list"):
        bp.train.add_l2_grad_(3.0, 0.1)


# -- with_dropout ------------------------------------------------------------------------------

def test_with_dropout_places_dropout_after_each_hidden_activation_only():
    net = bp.nn.mlp([2, 16, 16, 3], activation="relu", seed=0)
    d = bp.train.with_dropout(net, p=0.25, seed=1)
    kinds = [type(layer).__name__ for layer in d]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    assert all(layer.p == 0.25 for layer in d if isinstance(layer, bp.nn.Dropout))
    assert len(net) == 5                                                   # the original is unchanged


def test_with_dropout_keeps_the_weights_and_eval_mode_output():
    x = np.random.default_rng(0).normal(size=(20, 2))
    net = bp.nn.mlp([2, 16, 16, 2], activation="tanh", seed=5)
    d = bp.train.with_dropout(net, p=0.5).eval()
    np.testing.assert_allclose(d(x), net(x), rtol=1e-15, atol=0)
    # deep copies: training the copy leaves the original alone
    d.parameters()[0].data += 1.0
    assert not np.allclose(d.parameters()[0].data, net.parameters()[0].data)


def test_with_dropout_training_mode_is_random_with_the_right_mean():
    x = np.ones((1, 2))
    net = bp.nn.mlp([2, 4, 1], activation="identity", seed=0)
    d = bp.train.with_dropout(net, p=0.5, seed=0)
    outs = np.array([d(x)[0, 0] for _ in range(4000)])
    assert np.std(outs) > 0                                                # masks differ between calls
    se = np.std(outs, ddof=1) / np.sqrt(len(outs))
    assert abs(outs.mean() - net(x)[0, 0]) < 4 * se                        # inverted dropout: E[y] = y_eval
    again = bp.train.with_dropout(net, p=0.5, seed=0)
    np.testing.assert_array_equal([again(x)[0, 0] for _ in range(5)], outs[:5])   # seeded


def test_with_dropout_keeps_the_training_flag_and_refuses_bad_input():
    net = small_net().eval()
    assert bp.train.with_dropout(net).training is False
    with pytest.raises(TypeError, match="Sequential"):
        bp.train.with_dropout(bp.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="no hidden activation"):
        bp.train.with_dropout(bp.nn.mlp([2, 2]))
    with pytest.raises(ValueError, match="p must lie in"):
        bp.train.with_dropout(small_net(), p=1.5)


def test_with_dropout_network_backward_matches_torch_in_eval_mode():
    x, y = bp.data.moons(n=16, noise=0.1, seed=0)
    d = bp.train.with_dropout(small_net(6), p=0.3).eval()
    cmp = bp.interop.compare_gradients(d, bp.nn.CrossEntropyLoss(), x, y)
    assert cmp.max_rel_error < 1e-10
