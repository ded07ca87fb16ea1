"""bp.autodiff.Dual (forward mode) against PyTorch autograd and against Value (reverse
mode): every op, scalars on either side, nodes used twice, long chains, bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_lib.autodiff import Dual, Value

TOL = {"rtol": 1e-12, "atol": 1e-12}


def reals(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


# name, function written once for Dual and torch alike, domain of the input
UNARY = [
    ("neg", lambda a: -a, reals(-5, 5)),
    ("exp", lambda a: a.exp(), reals(-20, 20)),
    ("log", lambda a: a.log(), reals(1e-3, 100)),
    ("tanh", lambda a: a.tanh(), reals(-10, 10)),
    ("sigmoid", lambda a: a.sigmoid(), reals(-40, 40)),
    ("relu", lambda a: a.relu(), reals(-5, 5).filter(lambda v: v != 0)),
    ("pow2", lambda a: a**2, reals(-5, 5)),
    ("pow3", lambda a: a**3, reals(-5, 5)),
    ("pow-1", lambda a: a**-1, reals(0.1, 5)),
    ("pow0.5", lambda a: a**0.5, reals(1e-3, 10)),
    ("pow-2.5", lambda a: a**-2.5, reals(0.1, 5)),
    ("add_scalar", lambda a: a + 2.5, reals(-5, 5)),
    ("radd_scalar", lambda a: 2.5 + a, reals(-5, 5)),
    ("sub_scalar", lambda a: a - 1.5, reals(-5, 5)),
    ("rsub_scalar", lambda a: 1.5 - a, reals(-5, 5)),
    ("mul_scalar", lambda a: a * -3.0, reals(-5, 5)),
    ("rmul_scalar", lambda a: -3.0 * a, reals(-5, 5)),
    ("div_scalar", lambda a: a / 4.0, reals(-5, 5)),
    ("rdiv_scalar", lambda a: 4.0 / a, reals(0.1, 5)),
    ("rpow_scalar", lambda a: 2.0**a, reals(-5, 5)),
    ("twice_mul", lambda a: a * a, reals(-5, 5)),
    ("twice_mixed", lambda a: a * a.tanh() - a / (1.0 + a * a), reals(-5, 5)),
]

BINARY = [
    ("add", lambda a, b: a + b, reals(-5, 5), reals(-5, 5)),
    ("sub", lambda a, b: a - b, reals(-5, 5), reals(-5, 5)),
    ("mul", lambda a, b: a * b, reals(-5, 5), reals(-5, 5)),
    ("div", lambda a, b: a / b, reals(-5, 5), reals(0.1, 5)),
    ("shared", lambda a, b: (a * b).tanh() * a + (a * b).tanh().exp() / b, reals(-2, 2), reals(0.5, 2)),
]


def torch_grad(fn, *xs):
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = fn(*ts)
    out.backward()
    return out.item(), [t.grad.item() for t in ts]


@pytest.mark.parametrize("name, fn, domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_op_matches_torch(name, fn, domain):
    @settings(max_examples=25, deadline=None)
    @given(x=domain)
    def check(x):
        out = fn(Dual(x, 1.0))  # seed dx/dx = 1
        data, (grad,) = torch_grad(fn, x)
        np.testing.assert_allclose(out.primal, data, **TOL)
        np.testing.assert_allclose(out.tangent, grad, **TOL)

    check()


@pytest.mark.parametrize("name, fn, da, db", BINARY, ids=[b[0] for b in BINARY])
def test_binary_op_matches_torch_one_pass_per_input(name, fn, da, db):
    @settings(max_examples=25, deadline=None)
    @given(x=da, y=db)
    def check(x, y):
        d_dx = fn(Dual(x, 1.0), Dual(y, 0.0))  # pass 1: tangent along x
        d_dy = fn(Dual(x, 0.0), Dual(y, 1.0))  # pass 2: tangent along y
        data, grads = torch_grad(fn, x, y)
        np.testing.assert_allclose([d_dx.primal, d_dy.primal], [data, data], **TOL)
        np.testing.assert_allclose([d_dx.tangent, d_dy.tangent], grads, **TOL)

    check()


def test_tangent_is_a_directional_derivative():
    """Seeding tangents (u, v) gives ∇f · (u, v) in one pass."""
    def f(a, b):
        return (a * b).sigmoid() + a.log() * b

    x, y, u, v = 1.3, -0.7, 0.6, -2.0
    out = f(Dual(x, u), Dual(y, v))
    _, (gx, gy) = torch_grad(f, x, y)
    np.testing.assert_allclose(out.tangent, gx * u + gy * v, **TOL)


def test_forward_and_reverse_mode_agree_on_a_long_chain():
    def chain(x, n=3000):
        for i in range(n):
            x = (x * 1.001).tanh() + 0.01 if i % 2 else x - 0.0005 * x * x
        return x

    d = chain(Dual(0.2, 1.0))
    v = Value(0.2)
    out = chain(v)
    out.backward()
    data, (grad,) = torch_grad(chain, 0.2)
    np.testing.assert_allclose([d.primal, out.data], [data, data], rtol=1e-10)
    np.testing.assert_allclose([d.tangent, v.grad], [grad, grad], rtol=1e-9)


def test_edge_values():
    for x in (-800.0, 800.0):
        out = Dual(x, 1.0).sigmoid()
        data, (grad,) = torch_grad(lambda a: a.sigmoid(), x)
        np.testing.assert_allclose([out.primal, out.tangent], [data, grad], **TOL)
    assert Dual(0.0, 1.0).relu().tangent == 0.0  # as torch: relu'(0) = 0
    assert Dual(1000.0, 1.0).exp().primal == math.inf
    out = Dual(0.0, 1.0) ** 0.5
    assert out.primal == 0.0 and out.tangent == math.inf


def test_numpy_scalars_on_either_side():
    out = np.float64(2.0) * Dual(3.0, 1.0) - np.float32(1.0)
    assert isinstance(out, Dual)
    np.testing.assert_allclose([out.primal, out.tangent], [5.0, 2.0], **TOL)


@pytest.mark.parametrize("make, exc, words", [
    (lambda: Dual("2"), TypeError, ["Dual", "str", "real number"]),
    (lambda: Dual(1.0, [1.0]), TypeError, ["tangent", "list"]),
    (lambda: Dual(1.0) * "a", TypeError, ["Dual *", "str"]),
    (lambda: Dual(1.0) + Value(1.0), TypeError, ["Dual +", "Value"]),
    (lambda: Dual(2.0) ** Dual(3.0), TypeError, ["exponent", "plain number", "(k * x.log()).exp()"]),
    (lambda: Dual(-1.0).log(), ValueError, ["log", "-1.0", "positive"]),
    (lambda: Dual(-8.0) ** (1 / 3), ValueError, ["-8.0", "non-integer"]),
    (lambda: Dual(0.0) ** -2, ValueError, ["zero", "negative power"]),
    (lambda: 0.0 ** Dual(1.0), ValueError, ["base > 0"]),
    (lambda: Dual(1.0) / Dual(0.0, 1.0), ZeroDivisionError, ["division by zero"]),
])
def test_bad_input_gets_a_clear_error(make, exc, words):
    with pytest.raises(exc) as info:
        make()
    for w in words:
        assert w in str(info.value), (w, str(info.value))
