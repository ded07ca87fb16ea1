"""Tests for backprop_lib/nn/module.py (Sequential) and Linear's skippable input gradient."""

import numpy as np


def test_backward_without_input_grad_gives_the_same_parameter_grads_and_returns_none():
    """The training loop's backward (input_grad=False) skips dL/dx of the data, as PyTorch
    does for an input that does not require grad; every p.grad stays the same."""
    import backprop_lib as bp

    rng = np.random.default_rng(3)
    x, g = rng.normal(size=(7, 4)), rng.normal(size=(7, 2))
    for first in ("linear", "tanh"):
        grads = []
        for input_grad in (True, False):
            layers = [bp.nn.Linear(4, 5, seed=1), bp.nn.Tanh(), bp.nn.Linear(5, 2, seed=2)]
            net = bp.nn.Sequential(*([bp.nn.Tanh()] if first == "tanh" else []), *layers)
            net(x)
            dx = net.backward(g, input_grad=input_grad)
            assert (dx is None) == (not input_grad)
            if input_grad:
                assert dx.shape == x.shape
            grads.append([p.grad.copy() for p in net.parameters()])
        for a, b in zip(*grads, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_linear_backward_without_input_grad_skips_the_product_with_the_weight():
    import backprop_lib as bp

    lin = bp.nn.Linear(3, 2, seed=0, parameterization="ntk")
    x = np.ones((4, 3))
    lin(x)
    assert lin.backward(np.ones((4, 2)), input_grad=False) is None
    dW = lin.weight.grad.copy()
    lin.zero_grad()
    lin(x)
    dx = lin.backward(np.ones((4, 2)))
    np.testing.assert_allclose(lin.weight.grad, dW, rtol=1e-12)
    np.testing.assert_allclose(dx, np.ones((4, 2)) @ lin.weight.data * lin.weight_scale, rtol=1e-12)
