"""Notebook 05's checkers: their reference answers against PyTorch autograd, finite differences and
torch.optim.SGD, and each typical mistake caught for its own reason (the feedback names it)."""

import numpy as np
import pytest
import torch

import backprop_lib as bp
import backprop_lib.exercises as ex
from backprop_lib.exercises import nb05_matrix_backprop as nb05


def _torch_backward_2layer(X, Y, W1, b1, W2, b2):
    params = [torch.tensor(a, requires_grad=True) for a in (W1, b1, W2, b2)]
    tW1, tb1, tW2, tb2 = params
    a1 = torch.sigmoid(torch.tensor(X) @ tW1.T + tb1)
    a2 = torch.sigmoid(a1 @ tW2.T + tb2)
    torch.nn.functional.mse_loss(a2, torch.tensor(Y)).backward()
    return [p.grad.numpy() for p in params]


@pytest.mark.parametrize(("B", "n", "m", "seed"), [(4, 3, 3, 0), (6, 2, 5, 1), (1, 4, 2, 2)])
def test_backward_2layer_reference_equals_torch(B, n, m, seed):
    args = nb05._case(B, n, m, seed)
    for ours, theirs in zip(nb05._backward_ref(*args), _torch_backward_2layer(*args), strict=True):
        assert ours.shape == theirs.shape
        assert bp.gradcheck.max_relative_error(ours, theirs) <= 1e-12


def test_backward_2layer_reference_equals_central_differences():
    X, Y, W1, b1, W2, b2 = nb05._case(5, 3, 4, 7)
    params = [W1, b1, W2, b2]

    def loss():
        return float(np.mean((nb05._forward(X, *params)[1] - Y) ** 2))

    analytic = nb05._backward_ref(X, Y, *params)
    for p, g in zip(params, analytic, strict=True):
        numeric = bp.gradcheck.numerical_gradient(lambda _: loss(), p, h=1e-6)
        assert bp.gradcheck.max_relative_error(g, numeric) < 1e-7


@pytest.mark.parametrize("point", nb05._S1_POINTS)
def test_s1_reference_equals_torch(point):
    x, y, w11, b1, w21, b2 = point
    a = torch.tensor(w11, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(w21, dtype=torch.float64, requires_grad=True)
    o = torch.sigmoid(b * (a * x + b1) + b2)
    (0.5 * (y - o) ** 2).backward()
    dw21, dw11 = nb05._s1_ref(*point)
    assert dw21 == pytest.approx(b.grad.item(), rel=1e-12, abs=1e-15)
    assert dw11 == pytest.approx(a.grad.item(), rel=1e-12, abs=1e-15)
    assert nb05._wrong_missing_w21(*point)[1] != pytest.approx(dw11)   # the points tell w21 apart


def test_train_step_reference_equals_torch_sgd():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(16, 2)), rng.normal(size=(16, 1))
    net = bp.nn.mlp([2, 4, 1], activation="tanh", seed=3)
    tnet = bp.interop.to_torch(net)
    opt = torch.optim.SGD(tnet.parameters(), lr=0.1)
    loss_fn = bp.nn.MSELoss()
    for _ in range(3):
        ours = nb05._step_ref(net, loss_fn, X, Y, 0.1)
        opt.zero_grad()
        theirs = torch.nn.functional.mse_loss(tnet(torch.tensor(X)), torch.tensor(Y))
        theirs.backward()
        opt.step()
        assert ours == pytest.approx(theirs.item(), rel=1e-12)
    for p, tp in zip(net.parameters(), tnet.parameters(), strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("key", "mistake", "words"), [
    ("05.backward_2layer", "missing σ′(z₁)", "σ′(z¹)"),
    ("05.backward_2layer", "transposed dW", "transposed"),
    ("05.backward_2layer", "missing /B", "B = 4 times"),
    ("05.backward_2layer", "missing σ′(z₂)", "σ′(z²)"),
    ("05.s1_chain", "missing w₂₁", "misses the factor w21"),
    ("05.train_step", "+η (uphill)", "uphill"),
    ("05.train_step", "no zero_grad", "previous call"),
])
def test_feedback_names_the_mistake(key, mistake, words):
    fb = ex.check(key, ex.REGISTRY[key].wrong[mistake])
    assert fb.status == "wrong" and words in fb.message, fb.message


def test_backward_2layer_shape_error_is_feedback_not_a_crash():
    def wrong_shapes(X, Y, W1, b1, W2, b2):
        return X @ W1 @ W2, b1, W2, b2                 # (B, n) @ (m, n): a matmul error

    fb = ex.check("05.backward_2layer", wrong_shapes)
    assert fb.status == "wrong" and "shape" in fb.message


def test_train_step_that_does_nothing_is_caught():
    def no_update(net, loss_fn, X, Y, lr):
        return loss_fn(net(X), Y)

    fb = ex.check("05.train_step", no_update)
    assert fb.status == "wrong" and "not changed" in fb.message
