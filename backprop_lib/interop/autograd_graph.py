"""Read the graph PyTorch's autograd recorded while the forward code ran.

Every operation on a tensor that requires grad adds a *node* to the graph (``MulBackward0``,
``AddmmBackward0``, …), stored as the result's ``grad_fn``. A node's ``next_functions`` point to
the nodes of its inputs; a leaf tensor that requires grad (``x = torch.tensor(..., requires_grad=True)``)
is reached through an ``AccumulateGrad`` node, which adds the gradient arriving there into
``x.grad``. ``.backward()`` walks these nodes from the root in reverse topological order, each
node turning the gradient of its output into gradients of its inputs (a vector-Jacobian product).

    y = x
    for _ in range(3):
        y = y * x                        # each pass adds one MulBackward0 node
    g = bp.interop.backward_graph(y)
    g.counts                             # {'MulBackward0': 3, 'AccumulateGrad': 1}
    g.n_nodes, len(g.edges)              # 4 nodes; 6 edges (each product has two inputs)

A tensor without ``grad_fn`` (a leaf, or a tensor computed without grad) has an empty graph.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .torch_bridge import import_torch

__all__ = ["BackwardGraph", "backward_graph"]


@dataclass(frozen=True)
class BackwardGraph:
    """The nodes reachable from a tensor's ``grad_fn``.

    ``names[i]``: the class name of node i, in breadth-first order from the root
    (``names[0]`` is the tensor's own ``grad_fn``); each node appears once, however many
    paths lead to it. ``edges``: ``(i, j)`` for each input of node i whose gradient goes to
    node j, in input order; an input used twice (``x * x``) gives the edge twice. Inputs that
    need no gradient (constants) have no node and no edge.
    """

    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]

    @property
    def n_nodes(self) -> int:
        return len(self.names)

    @property
    def counts(self) -> dict[str, int]:
        """``{node class name: how many}``, in order of first appearance."""
        return dict(Counter(self.names))

    def __repr__(self):
        parts = ", ".join(f"{k} ×{v}" for k, v in self.counts.items()) or "empty (no grad_fn)"
        return f"BackwardGraph({self.n_nodes} nodes: {parts}; {len(self.edges)} edges)"


def backward_graph(tensor) -> BackwardGraph:
    """The backward graph of ``tensor`` (a ``torch.Tensor``): its nodes and edges (see the module
    docstring). Walks ``grad_fn.next_functions`` breadth first; nothing is computed or freed."""
    torch = import_torch()
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor (the output whose graph you want); "
                        f"got {type(tensor).__name__}.")
    root = tensor.grad_fn
    if root is None:
        return BackwardGraph((), ())
    index = {id(root): 0}      # id(node) -> its position; the nodes stay alive while we hold `order`
    order = [root]
    edges = []
    k = 0
    while k < len(order):
        node = order[k]
        for nxt, _ in node.next_functions:
            if nxt is None:                       # an input that needs no gradient
                continue
            if id(nxt) not in index:
                index[id(nxt)] = len(order)
                order.append(nxt)
            edges.append((k, index[id(nxt)]))
        k += 1
    return BackwardGraph(tuple(type(n).__name__ for n in order), tuple(edges))
