"""Notebook 04's checkers name the mistake they catch (backprop_lib/exercises/nb04_chain_rule.py)."""

import math

import torch

import backprop_lib.exercises as ex
from backprop_lib.autodiff import Value
from backprop_lib.exercises import nb04_chain_rule as nb04


def message(key, mistake):
    fb = ex.check(key, ex.REGISTRY[key].wrong[mistake])
    assert fb.status == "wrong"
    return fb.message + " " + fb.hint


def test_dL_dw1_reference_is_the_engines_gradient_on_s2s_graph():
    # S2's graph with biases b′, b″ and a loss whose upstream gradients differ: L = ½(z′ − 1)² + ½(z″ + 2)²
    x1, x2, w1, w2, b, w3, w4, b3, b4 = (Value(v) for v in (0.8, -1.1, 0.4, 0.9, -0.2, 1.3, -0.7, 0.1, 0.5))
    z = x1 * w1 + x2 * w2 + b
    a = z.sigmoid()
    zp, zpp = a * w3 + b3, a * w4 + b4
    loss = 0.5 * (zp - 1.0) ** 2 + 0.5 * (zpp + 2.0) ** 2
    loss.backward()
    got = nb04._dL_dw1_ref(x1.data, z.data, w3.data, w4.data, zp.grad, zpp.grad)
    assert math.isclose(got, w1.grad, rel_tol=1e-13)
    assert math.isclose(nb04._dL_dw1_engine(x1.data, z.data, w3.data, w4.data, zp.grad, zpp.grad), w1.grad,
                        rel_tol=1e-13)


def test_dL_dw1_names_the_missing_branch():
    assert "two paths" in message("04.dL_dw1", "one branch (w3 only)")
    assert "σ′(z)" in message("04.dL_dw1", "σ instead of σ′")
    assert "∂L/∂z" in message("04.dL_dw1", "x1 missing (that is ∂L/∂z)")


def test_sin_reference_matches_torch_where_x_is_used_twice():
    for x0 in (0.7, -1.9, 2.5):
        x = Value(x0)
        loss = nb04._sin_ref(x) * x + nb04._sin_ref(x * x)
        loss.backward()
        xt = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        (xt.sin() * xt + (xt * xt).sin()).backward()
        assert math.isclose(x.grad, xt.grad.item(), rel_tol=1e-13)


def test_sin_overwrite_is_caught_as_a_lost_path_and_missing_upstream_as_such():
    assert "used twice" in message("04.sin", "= instead of +=")
    assert "out.grad" in message("04.sin", "missing out.grad")
    assert "L = 3·sin(x)" in message("04.sin", "missing out.grad")


def test_reversed_preorder_passes_a_chain_and_fails_on_the_diamond():
    chain = nb04._chain()
    order = nb04._wrong_reversed_preorder(chain)
    position = {id(v): k for k, v in enumerate(order)}
    assert all(position[id(c)] < position[id(v)] for v in order for c in v._prev)   # right on the chain
    text = message("04.topo_sort", "reversed pre-order DFS")
    assert "diamond" in text and "after passing on a chain" in text


def test_topo_sort_right_answers_equal_value_graph_order_constraints():
    for _, build in nb04._GRAPHS:
        root = build()
        for answer in ex.REGISTRY["04.topo_sort"].right:
            order = answer(root)
            assert {id(v) for v in order} == {id(v) for v in root.graph()[0]} and order[-1] is root
