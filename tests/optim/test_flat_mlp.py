"""backprop_lib/optim/flat_mlp.py: the flat-θ MLP against bp.nn (same layers) and torch autograd."""

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.optim.flat_mlp import FlatMLP

TORCH_ACT = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda z: z}


def torch_forward(model, theta, x):
    """The same network in torch, reading the same flat θ."""
    a = torch.as_tensor(x)
    layers = model.unflatten(theta)
    for W, b in layers[:-1]:
        a = TORCH_ACT[model.activation](a @ W.T + b)
    W, b = layers[-1]
    return a @ W.T + b


def data(sizes, n=9, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, sizes[0])), rng.normal(size=(n, sizes[-1]))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_from_net_reproduces_the_network_its_loss_and_gradient(activation):
    net = bp.nn.mlp([3, 7, 5, 2], activation=activation, seed=1)
    model, theta = FlatMLP.from_net(net)
    assert model.sizes == (3, 7, 5, 2) and model.activation == activation
    assert theta.size == model.n_params == sum(p.data.size for p in net.parameters())
    x, y = data(model.sizes)
    np.testing.assert_allclose(model.forward(theta, x), net(x), atol=1e-14)
    loss_fn = bp.nn.MSELoss()                 # mean over n·out elements, no ½
    loss = loss_fn(net(x), y)
    net.backward(loss_fn.backward())
    g_net = np.concatenate([p.grad.ravel() for p in net.parameters()])
    scale = 2 / model.sizes[-1]                # ½ Σ / n  vs  Σ / (n·out)
    assert model.loss(theta, x, y) * scale == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(model.grad(theta, x, y) * scale, g_net, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "identity"])
def test_gradient_and_jacobian_match_torch_autograd(activation):
    model = FlatMLP((2, 6, 3), activation)
    rng = np.random.default_rng(2)
    theta = rng.normal(size=model.n_params) * 0.7
    x, y = data(model.sizes, seed=3)
    t = torch.tensor(theta, requires_grad=True)
    r = torch_forward(model, t, x) - torch.as_tensor(y)
    ((r * r).sum() / (2 * len(x))).backward()
    np.testing.assert_allclose(model.grad(theta, x, y), t.grad.numpy(), rtol=1e-11, atol=1e-14)
    J_torch = torch.autograd.functional.jacobian(lambda p: torch_forward(model, p, x).reshape(-1),
                                                 torch.tensor(theta))
    J = model.jacobian(theta, x)
    assert J.shape == (len(x) * 3, model.n_params)
    np.testing.assert_allclose(J, J_torch.numpy(), rtol=1e-11, atol=1e-14)
    u = rng.normal(size=(len(x), 3))
    np.testing.assert_allclose(model.vjp(theta, x, u), J.T @ u.ravel(), rtol=1e-11, atol=1e-13)


def test_bad_shapes_and_names_are_refused():
    model = FlatMLP((2, 3, 1))
    with pytest.raises(ValueError, match="flat vector of 13 parameters"):
        model.unflatten(np.zeros(12))
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        model.forward(np.zeros(13), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"y must have shape"):
        model.loss(np.zeros(13), np.zeros((4, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        FlatMLP((2, 1), "gelu")
    with pytest.raises(ValueError, match="at least 2 positive widths"):
        FlatMLP((2,))
    with pytest.raises(ValueError, match="standard parameterization"):
        FlatMLP.from_net(bp.nn.mlp([2, 3, 1], parameterization="ntk"))
