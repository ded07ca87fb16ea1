"""Residual(block): y = x + block(x); gradients vs finite differences and PyTorch."""

import numpy as np
import pytest
import torch

from backprop_lib.nn import BatchNorm1d, Dropout, Linear, Module, Parameter, ReLU, Residual, Sequential, Tanh


def numeric_grad(f, x, h=1e-6):
    """Central differences of the scalar function f at x (x is changed and restored in place)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        up = f()
        x[idx] = old - h
        down = f()
        x[idx] = old
        grad[idx] = (up - down) / (2 * h)
    return grad


class Scale(Module):
    """An ad-hoc layer y = a ⊙ x with a learnable vector a."""

    def __init__(self, a):
        self.a = Parameter(np.asarray(a, dtype=np.float64))
        self.x = None

    def forward(self, x):
        self.x = x
        return self.a.data * x

    def backward(self, grad_out):
        self.a.accumulate_grad((grad_out * self.x).sum(axis=0))
        return grad_out * self.a.data


class Widen(Module):
    """An ad-hoc layer that doubles the number of features (to provoke a shape mismatch)."""

    def forward(self, x):
        return np.concatenate([x, x], axis=1)


def block(d, h, rng):
    net = Sequential(Linear(d, h), Tanh(), Linear(h, d))
    for p in net.parameters():
        p.data[...] = rng.normal(scale=0.7, size=p.shape)
    return net


def test_residual_of_an_adhoc_layer_has_the_identity_plus_block_gradient(rng):
    a = rng.normal(size=3)
    res = Residual(Scale(a))
    x = rng.normal(size=(5, 3))
    g = rng.normal(size=(5, 3))
    np.testing.assert_allclose(res(x), x * (1 + a), rtol=1e-14)
    np.testing.assert_allclose(res.backward(g), g * (1 + a), rtol=1e-14)     # (I + diag a) g
    np.testing.assert_allclose(res.block.a.grad, (g * x).sum(axis=0), rtol=1e-14)


def test_residual_gradients_match_finite_differences(rng):
    res = Residual(block(4, 6, rng))
    x = rng.normal(size=(3, 4))
    g = rng.normal(size=(3, 4))

    def loss():
        return float(np.sum(g * res(x)))

    res(x)
    dx = res.backward(g)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-9)
    for p in res.parameters():
        np.testing.assert_allclose(p.grad, numeric_grad(loss, p.data), rtol=1e-6, atol=1e-9,
                                   err_msg=p.name)


def test_residual_matches_torch_with_batchnorm_inside(rng):
    d, h, n = 4, 7, 6
    inner = Sequential(Linear(d, h), BatchNorm1d(h), ReLU(), Linear(h, d))
    res = Sequential(Residual(inner), Residual(Scale(rng.normal(size=d))))
    for p in res.parameters():
        p.data[...] = rng.normal(size=p.shape)
    lin1, bn, lin2, scale = inner[0], inner[1], inner[3], res[1].block
    t = {k: torch.tensor(v.data, requires_grad=True) for k, v in
         {"w1": lin1.weight, "b1": lin1.bias, "g": bn.weight, "be": bn.bias,
          "w2": lin2.weight, "b2": lin2.bias, "a": scale.a}.items()}
    x = rng.normal(size=(n, d))
    gy = rng.normal(size=(n, d))
    xt = torch.tensor(x, requires_grad=True)
    z = torch.nn.functional.batch_norm(xt @ t["w1"].T + t["b1"], None, None, t["g"], t["be"], training=True)
    y1 = xt + torch.relu(z) @ t["w2"].T + t["b2"]
    yt = y1 + t["a"] * y1
    yt.backward(torch.from_numpy(gy))
    np.testing.assert_allclose(res(x), yt.detach().numpy(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(res.backward(gy), xt.grad.numpy(), rtol=1e-7, atol=1e-10)
    ours = [lin1.weight, lin1.bias, bn.weight, bn.bias, lin2.weight, lin2.bias, scale.a]
    for p, tp in zip(ours, t.values(), strict=True):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-7, atol=1e-10, err_msg=p.name)


def test_zero_block_passes_the_gradient_through_unchanged(rng):
    net = block(3, 5, rng)
    net[2].weight.data[...] = 0.0
    net[2].bias.data[...] = 0.0
    res = Residual(net)
    x = rng.normal(size=(4, 3))
    g = rng.normal(size=(4, 3))
    np.testing.assert_allclose(res(x), x, rtol=1e-15)
    np.testing.assert_allclose(res.backward(g), g, rtol=1e-15)


def test_deep_residual_stack_keeps_the_gradient_that_a_plain_stack_loses(rng):
    depth, d = 40, 8

    def layers():
        out = []
        for _ in range(depth):
            lin = Linear(d, d)
            lin.weight.data[...] = rng.normal(scale=0.3 / np.sqrt(d), size=(d, d))   # small weights
            lin.bias.data[...] = 0.0
            out.append(Sequential(lin, Tanh()))
        return out

    plain = Sequential(*layers())
    residual = Sequential(*[Residual(b) for b in layers()])
    x = rng.normal(size=(16, d))
    g = rng.normal(size=(16, d))
    plain(x)
    residual(x)
    plain_ratio = np.linalg.norm(plain.backward(g)) / np.linalg.norm(g)
    residual_ratio = np.linalg.norm(residual.backward(g)) / np.linalg.norm(g)
    assert plain_ratio < 1e-10          # vanished: 0.3**40 ≈ 1e-21
    assert 0.1 < residual_ratio < 10    # the identity path carries it back


def test_parameters_come_from_the_block_and_modes_propagate(rng):
    inner = Sequential(Linear(3, 4), Dropout(0.5, seed=0), Linear(4, 3))
    res = Residual(inner)
    assert [p.name for p in res.parameters()] == ["block.0.weight", "block.0.bias",
                                                   "block.2.weight", "block.2.bias"]
    assert res.parameters()[0] is inner[0].weight
    res.eval()
    assert inner[1].training is False
    x = rng.normal(size=(2, 3))
    np.testing.assert_allclose(res(x), x + inner(x), rtol=1e-14)
    assert "Linear" in repr(res) and repr(res).startswith("Residual(")


def test_gradients_accumulate_over_two_backward_calls(rng):
    res = Residual(Scale(rng.normal(size=2)))
    x = rng.normal(size=(3, 2))
    g = rng.normal(size=(3, 2))
    res(x)
    res.backward(g)
    once = res.block.a.grad.copy()
    res.backward(g)
    np.testing.assert_allclose(res.block.a.grad, 2 * once, rtol=1e-14)


# -- bad input ---------------------------------------------------------------------------

def test_block_must_be_a_module():
    with pytest.raises(TypeError, match="needs a Module as block"):
        Residual(lambda x: x)


def test_shape_changing_block_is_refused_with_both_shapes(rng):
    with pytest.raises(ValueError, match=r"input of shape \(2, 3\) to output of shape \(2, 6\)"):
        Residual(Widen())(rng.normal(size=(2, 3)))
    with pytest.raises(ValueError, match=r"output of shape \(2, 4\).*needs both shapes equal"):
        Residual(Linear(3, 4))(rng.normal(size=(2, 3)))


def test_backward_errors(rng):
    res = Residual(Scale(np.ones(2)))
    with pytest.raises(ValueError, match="before forward"):
        res.backward(np.ones((3, 2)))
    res(rng.normal(size=(3, 2)))
    with pytest.raises(ValueError, match=r"expected \(3, 2\)"):
        res.backward(np.ones((2, 3)))
    with pytest.raises(TypeError, match="float64"):
        Residual(Scale(np.ones(2)))(np.ones((3, 2), dtype=int))
