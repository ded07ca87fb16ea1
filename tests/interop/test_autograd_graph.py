"""bp.interop.backward_graph: the nodes and edges of autograd's recorded graph, on graphs whose
shape is known by hand."""

import pytest
import torch

from backprop_lib.interop import BackwardGraph, backward_graph


def test_s4_example_graph():
    # z = x * y + x**2, loss = z.sum(): Sum ← Add ← (Mul ← x, y), (Pow ← x)
    x = torch.tensor([2.0, 3.0], requires_grad=True)
    y = torch.tensor([1.0, 4.0], requires_grad=True)
    loss = (x * y + x ** 2).sum()
    g = backward_graph(loss)
    assert g.names[0] == "SumBackward0"
    assert g.counts == {"SumBackward0": 1, "AddBackward0": 1, "MulBackward0": 1, "PowBackward0": 1,
                        "AccumulateGrad": 2}
    # x's AccumulateGrad is reached twice (from Mul and from Pow), but is one node
    acc = [i for i, n in enumerate(g.names) if n == "AccumulateGrad"]
    into = [sum(1 for _, j in g.edges if j == a) for a in acc]
    assert sorted(into) == [1, 2]
    assert len(g.edges) == 1 + 2 + 2 + 1


def test_constants_have_no_node():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = torch.tensor([3.0, 4.0])                 # requires no grad
    g = backward_graph(x * c)
    assert g.counts == {"MulBackward0": 1, "AccumulateGrad": 1}
    assert g.edges == ((0, 1),)


def test_leaf_and_no_grad_tensors_have_an_empty_graph():
    x = torch.tensor(1.0, requires_grad=True)
    assert backward_graph(x) == BackwardGraph((), ())
    with torch.no_grad():
        y = x * 2
    g = backward_graph(y)
    assert g.n_nodes == 0 and "empty" in repr(g)


def test_the_walk_does_not_free_the_graph():
    x = torch.tensor(2.0, requires_grad=True)
    y = x * x * x
    backward_graph(y)
    y.backward()                                 # still possible: nothing was consumed
    assert x.grad.item() == pytest.approx(12.0)


def test_refuses_non_tensors():
    with pytest.raises(TypeError, match="tensor must be a torch.Tensor"):
        backward_graph([1.0, 2.0])
