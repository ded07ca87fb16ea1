"""bp.autodiff.Value against PyTorch autograd: every op (value and gradient), scalars on
either side, nodes used twice, long chains, random expressions, bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_lib.autodiff import Value

TOL = {"rtol": 1e-12, "atol": 1e-12}


def reals(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


# name, function written once for Value and torch alike, domain of the input
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
    ("rpow_e", lambda a: math.e**a, reals(-5, 5)),
]

BINARY = [
    ("add", lambda a, b: a + b, reals(-5, 5), reals(-5, 5)),
    ("sub", lambda a, b: a - b, reals(-5, 5), reals(-5, 5)),
    ("mul", lambda a, b: a * b, reals(-5, 5), reals(-5, 5)),
    ("div", lambda a, b: a / b, reals(-5, 5), reals(0.1, 5)),
    ("div_neg", lambda a, b: a / b, reals(-5, 5), reals(-5, -0.1)),
]


def torch_unary(fn, x):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = fn(t)
    out.backward()
    return out.item(), t.grad.item()


def torch_binary(fn, x, y):
    a = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    out = fn(a, b)
    out.backward()
    return out.item(), a.grad.item(), b.grad.item()


@pytest.mark.parametrize("name, fn, domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_op_matches_torch(name, fn, domain):
    @settings(max_examples=25, deadline=None)
    @given(x=domain)
    def check(x):
        v = Value(x)
        out = fn(v)
        out.backward()
        data, grad = torch_unary(fn, x)
        np.testing.assert_allclose(out.data, data, **TOL)
        np.testing.assert_allclose(v.grad, grad, **TOL)

    check()


@pytest.mark.parametrize("name, fn, da, db", BINARY, ids=[b[0] for b in BINARY])
def test_binary_op_matches_torch(name, fn, da, db):
    @settings(max_examples=25, deadline=None)
    @given(x=da, y=db)
    def check(x, y):
        a, b = Value(x), Value(y)
        out = fn(a, b)
        out.backward()
        data, ga, gb = torch_binary(fn, x, y)
        np.testing.assert_allclose(out.data, data, **TOL)
        np.testing.assert_allclose([a.grad, b.grad], [ga, gb], **TOL)

    check()


def test_issue_example_sum_of_xy_plus_x_squared():
    """(x*y + x**2).sum() at x=[2,3], y=[1,4]: dL/dx = y + 2x = [5, 10], dL/dy = x = [2, 3]."""
    x = [Value(2.0), Value(3.0)]
    y = [Value(1.0), Value(4.0)]
    loss = sum(xi * yi + xi**2 for xi, yi in zip(x, y, strict=True))  # sum() starts at 0: exercises __radd__
    loss.backward()
    np.testing.assert_allclose([v.grad for v in x], [5.0, 10.0], **TOL)
    np.testing.assert_allclose([v.grad for v in y], [2.0, 3.0], **TOL)
    xt = torch.tensor([2.0, 3.0], dtype=torch.float64, requires_grad=True)
    yt = torch.tensor([1.0, 4.0], dtype=torch.float64, requires_grad=True)
    (xt * yt + xt**2).sum().backward()
    np.testing.assert_allclose([v.grad for v in x], xt.grad.numpy(), **TOL)
    np.testing.assert_allclose([v.grad for v in y], yt.grad.numpy(), **TOL)
    np.testing.assert_allclose(loss.data, 2 * 1 + 4 + 3 * 4 + 9, **TOL)


@pytest.mark.parametrize("fn", [
    lambda a: a * a,
    lambda a: a + a,
    lambda a: a - a * a.tanh(),
    lambda a: (a * a).sigmoid() / a,
    lambda a: a.exp() * a.log() + a**3 / a,
], ids=["x*x", "x+x", "x-x*tanh(x)", "sigmoid(x*x)/x", "exp*log+x^3/x"])
def test_node_used_twice_accumulates(fn):
    v = Value(1.7)
    out = fn(v)
    out.backward()
    data, grad = torch_unary(fn, 1.7)
    np.testing.assert_allclose(out.data, data, **TOL)
    np.testing.assert_allclose(v.grad, grad, **TOL)


def test_shared_inner_node_used_by_two_branches():
    def f(x, y):
        h = (x * y).tanh()  # h feeds both branches: its grad must be the sum of both paths
        return h * x + h.exp() - h / y

    a, b = Value(0.4), Value(-1.3)
    out = f(a, b)
    out.backward()
    data, ga, gb = torch_binary(f, 0.4, -1.3)
    np.testing.assert_allclose(out.data, data, **TOL)
    np.testing.assert_allclose([a.grad, b.grad], [ga, gb], **TOL)


def test_long_chain_beyond_recursion_limit():
    """5000 operations deep: backward must not recurse (Python's limit is ~1000)."""

    def chain(x, n=2500):
        for i in range(n):
            x = (x * 0.999 + 0.01 * (x if i % 2 else 1.0)).tanh() if i % 3 == 0 else x + 0.001 * x * x
        return x

    v = Value(0.3)
    out = chain(v)
    out.backward()
    assert len(out.graph()[0]) > 5000
    data, grad = torch_unary(chain, 0.3)
    np.testing.assert_allclose(out.data, data, rtol=1e-10)
    np.testing.assert_allclose(v.grad, grad, rtol=1e-9)


OPS = ["add", "sub", "mul", "tanh", "sigmoid", "neg", "safe_div", "soft_log", "scale", "relu_shift"]


def apply(op, a, b):
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "tanh":
        return a.tanh()
    if op == "sigmoid":
        return a.sigmoid()
    if op == "neg":
        return -a
    if op == "safe_div":
        return a / (1.0 + b * b)
    if op == "soft_log":
        return (1.0 + a * a).log()
    if op == "scale":
        return 0.5 * a
    return (a + 0.123).relu()


@settings(max_examples=40, deadline=None)
@given(
    inputs=st.lists(reals(-2, 2), min_size=3, max_size=3),
    program=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 10**6), st.integers(0, 10**6)),
                     min_size=1, max_size=25),
)
def test_random_expressions_match_torch(inputs, program):
    """Random programs over the ops, reusing earlier results (so nodes are shared)."""

    def run(leaves):
        nodes = list(leaves)
        for op, i, j in program:
            nodes.append(apply(op, nodes[i % len(nodes)], nodes[j % len(nodes)]))
        return nodes[-1] + nodes[0] * 0.0 + nodes[1] * 0.0 + nodes[2] * 0.0  # depend on all inputs

    leaves = [Value(x) for x in inputs]
    out = run(leaves)
    out.backward()
    t = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    t_out = run(t)
    t_out.backward()
    np.testing.assert_allclose(out.data, t_out.item(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose([v.grad for v in leaves], [x.grad.item() for x in t], rtol=1e-9, atol=1e-12)


def test_backward_twice_accumulates_into_leaves_like_torch_and_zero_grad_resets():
    x, y = Value(0.5), Value(2.0)
    out = (x * y).tanh() + x
    out.backward()
    first = (x.grad, y.grad)
    out.backward()
    np.testing.assert_allclose([x.grad, y.grad], [2 * first[0], 2 * first[1]], **TOL)
    xt = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    ot = (xt * yt).tanh() + xt
    ot.backward(retain_graph=True)
    ot.backward()
    np.testing.assert_allclose([x.grad, y.grad], [xt.grad.item(), yt.grad.item()], **TOL)
    out.zero_grad()
    assert all(n.grad == 0.0 for n in out.graph()[0])
    out.backward()
    np.testing.assert_allclose([x.grad, y.grad], first, **TOL)


def test_graph_is_topological_with_distinct_edges():
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    sq = x * x
    out = sq + sq * y
    nodes, edges = out.graph()
    assert nodes[-1] is out
    position = {id(n): i for i, n in enumerate(nodes)}
    assert len(position) == len(nodes) == 5  # x, y, x*x, (x*x)*y, sum
    for child, parent in edges:
        assert position[id(child)] < position[id(parent)]
    assert sum(1 for c, p in edges if c is x and p is sq) == 1  # x*x: one edge from x
    assert len(edges) == 5  # x->sq, sq->sq*y, y->sq*y, sq->out, sq*y->out


def test_edge_values_match_torch():
    """sigmoid far in both tails, relu at 0, sqrt at 0 and exp overflow: same as torch."""
    for x in (-800.0, 800.0):
        v = Value(x)
        out = v.sigmoid()
        out.backward()
        data, grad = torch_unary(lambda a: a.sigmoid(), x)
        np.testing.assert_allclose([out.data, v.grad], [data, grad], **TOL)
    v = Value(0.0)
    v.relu().backward()
    assert v.grad == torch_unary(lambda a: a.relu(), 0.0)[1] == 0.0
    v = Value(0.0)
    out = v**0.5
    out.backward()
    assert out.data == 0.0 and v.grad == math.inf == torch_unary(lambda a: a**0.5, 0.0)[1]
    assert Value(1000.0).exp().data == math.inf


def test_numpy_scalars_on_either_side():
    out = np.float64(2.0) * Value(3.0) + np.float32(1.0)
    assert isinstance(out, Value)
    np.testing.assert_allclose(out.data, 7.0, **TOL)


def test_gradient_of_a_tiny_neuron_against_finite_differences():
    def neuron(x1, x2, w1, w2, b):
        return (x1 * w1 + x2 * w2 + b).tanh()

    args = [2.0, 0.0, -3.0, 1.0, 6.881373587]
    vals = [Value(a) for a in args]
    neuron(*vals).backward()
    h = 1e-6
    for i in range(len(args)):
        up, down = list(args), list(args)
        up[i] += h
        down[i] -= h
        fd = (neuron(*[Value(a) for a in up]).data - neuron(*[Value(a) for a in down]).data) / (2 * h)
        np.testing.assert_allclose(vals[i].grad, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("make, exc, words", [
    (lambda: Value("2"), TypeError, ["Value", "str", "real number"]),
    (lambda: Value(np.array([1.0, 2.0])), TypeError, ["ndarray", "float(x)"]),
    (lambda: Value(Value(1.0)), TypeError, ["already"]),
    (lambda: Value(True), TypeError, ["bool"]),
    (lambda: Value(1.0) + "a", TypeError, ["Value +", "str", "real number"]),
    (lambda: [1.0] * Value(1.0), TypeError, ["Value *", "list"]),
    (lambda: Value(2.0) ** Value(3.0), TypeError, ["exponent", "plain number", "(k * x.log()).exp()"]),
    (lambda: Value(-2.0).log(), ValueError, ["log", "-2.0", "positive"]),
    (lambda: Value(0.0).log(), ValueError, ["log", "0.0", "positive"]),
    (lambda: Value(-2.0) ** 0.5, ValueError, ["-2.0", "non-integer"]),
    (lambda: Value(0.0) ** -1, ValueError, ["zero", "negative power"]),
    (lambda: (-2.0) ** Value(1.0), ValueError, ["base > 0", "-2.0"]),
    (lambda: Value(1.0) / 0, ZeroDivisionError, ["division by zero", "epsilon"]),
    (lambda: 1.0 / Value(0.0), ZeroDivisionError, ["division by zero"]),
])
def test_bad_input_gets_a_clear_error(make, exc, words):
    with pytest.raises(exc) as info:
        make()
    for w in words:
        assert w in str(info.value), (w, str(info.value))

