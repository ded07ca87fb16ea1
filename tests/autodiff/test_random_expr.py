"""Random expressions (backprop_lib/autodiff/random_expr.py): seeded, well formed (every
operation reaches the output, fan-out occurs), the same program on Value, torch and floats,
and Value's gradients agree with torch and with central differences."""

import math

import numpy as np
import pytest
import torch

from backprop_lib.autodiff import Value, random_expression
from backprop_lib.autodiff.random_expr import OPS, Expression


def value_grads(expr, xs=None):
    leaves = [Value(x) for x in (expr.inputs if xs is None else xs)]
    out = expr(*leaves)
    out.backward()
    return out.data, np.array([v.grad for v in leaves])


def torch_grads(expr):
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in expr.inputs]
    out = expr(*leaves)
    out.backward()
    return out.item(), np.array([t.grad.item() for t in leaves])


class Scalar(float):
    """A float with the methods the operations call, to evaluate an expression on plain math."""

    def _wrap(f):
        return lambda self, *a: Scalar(f(float(self), *(float(x) for x in a)))

    __add__ = __radd__ = _wrap(lambda a, b: a + b)
    __sub__ = _wrap(lambda a, b: a - b)
    __rsub__ = _wrap(lambda a, b: b - a)
    __mul__ = __rmul__ = _wrap(lambda a, b: a * b)
    __truediv__ = _wrap(lambda a, b: a / b)
    __pow__ = _wrap(lambda a, k: a**k)
    __neg__ = _wrap(lambda a: -a)
    tanh = _wrap(math.tanh)
    sigmoid = _wrap(lambda a: 1 / (1 + math.exp(-a)))
    exp = _wrap(math.exp)
    log = _wrap(math.log)
    relu = _wrap(lambda a: max(a, 0.0))


def test_same_seed_same_expression_other_seed_other_expression():
    assert random_expression(7) == random_expression(7)
    assert str(random_expression(7)) == str(random_expression(7))
    assert random_expression(7) != random_expression(8)
    assert len({random_expression(s).program for s in range(20)}) == 20


@pytest.mark.parametrize(("n_inputs", "n_ops"), [(1, 1), (3, 12), (5, 30)])
def test_shape_and_ranges(n_inputs, n_ops):
    e = random_expression(1, n_inputs=n_inputs, n_ops=n_ops, low=-0.5, high=0.25)
    assert e.n_inputs == n_inputs and e.n_ops == n_ops
    assert all(-0.5 <= x < 0.25 for x in e.inputs)
    for t, (op, i, j) in enumerate(e.program):
        assert op in OPS
        assert 0 <= i < n_inputs + t and 0 <= j < n_inputs + t      # only earlier nodes are read


def test_every_operation_and_input_reaches_the_output():
    for seed in range(20):
        e = random_expression(seed)
        leaves = [Value(x) for x in e.inputs]
        nodes = e.evaluate(*leaves)
        assert len(nodes) == e.n_inputs + e.n_ops + 1
        in_graph = {id(n) for n in nodes[-1].graph()[0]}
        assert all(id(n) in in_graph for n in nodes), seed
        assert all(e.reads >= 1)                                     # the output reads every sink


def test_sinks_are_exactly_the_unread_nodes():
    e = Expression(inputs=(1.0, 2.0), program=(("tanh", 0, 0), ("add", 2, 2), ("mul", 0, 3)))
    assert e.sinks == (1, 4)
    assert e.reads.tolist() == [2, 1, 2, 1, 1]
    assert str(e).splitlines()[1:] == ["v0 = tanh(x0)", "v1 = v0 + v0", "v2 = x0 * v1", "out = x1 + v2"]
    assert e(Scalar(1.0), Scalar(2.0)) == pytest.approx(2.0 + 1.0 * 2 * math.tanh(1.0), rel=1e-15)


def test_fan_out_occurs_and_every_op_is_drawn():
    exprs = [random_expression(s) for s in range(20)]
    assert sum(e.reads.max() > 1 for e in exprs) >= 15
    assert {op for e in exprs for op, _, _ in e.program} == set(OPS)
    assert np.mean([len(e.sinks) for e in exprs]) < 6               # most results feed later operations


def test_value_torch_and_plain_floats_compute_the_same_output():
    for seed in range(10):
        e = random_expression(seed)
        plain = e(*[Scalar(x) for x in e.inputs])
        v, _ = value_grads(e)
        t, _ = torch_grads(e)
        assert v == pytest.approx(plain, rel=1e-13, abs=1e-13)
        assert t == pytest.approx(plain, rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("seed", range(20))
def test_value_gradients_match_torch_and_central_differences(seed):
    e = random_expression(seed, n_ops=15)
    _, g = value_grads(e)
    _, g_torch = torch_grads(e)
    np.testing.assert_allclose(g, g_torch, rtol=1e-12, atol=1e-12 * np.max(np.abs(g_torch)))
    h = 1e-6
    numeric = []
    for k in range(e.n_inputs):
        up, down = list(e.inputs), list(e.inputs)
        up[k] += h
        down[k] -= h
        numeric.append((e(*map(Scalar, up)) - e(*map(Scalar, down))) / (2 * h))
    np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-6)


def test_bad_arguments_name_the_argument():
    for kwargs, arg in [({"n_inputs": 0}, "n_inputs"), ({"n_ops": 0}, "n_ops"), ({"n_ops": 2.5}, "n_ops"),
                        ({"low": 1.0, "high": 1.0}, "low"), ({"high": math.inf}, "high")]:
        with pytest.raises(ValueError, match=arg):
            random_expression(0, **kwargs)
    for seed in (-1, 1.5, True):
        with pytest.raises(ValueError, match="seed"):
            random_expression(seed)
    with pytest.raises(ValueError, match="3 inputs; got 2"):
        random_expression(0)(Value(1.0), Value(2.0))
