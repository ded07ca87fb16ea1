"""``Value``: a scalar reverse-mode autodiff engine (in the spirit of Karpathy's micrograd).

Every arithmetic operation on ``Value`` objects builds a node of a computational graph
that remembers its inputs (``_prev``), the operation (``_op``) and a small closure
``_backward`` that applies the chain rule *locally*:

    out = f(a, b)      =>      a.grad += (∂f/∂a) · out.grad,   b.grad += (∂f/∂b) · out.grad

``out.backward()`` seeds ``out.grad = 1`` (dout/dout) and calls every node's ``_backward``
in reverse topological order, so each node's grad is complete (every path through which
it reaches ``out`` has been added) before it is passed on to its inputs.

    >>> x = Value(2.0, label="x")
    >>> y = x * x + x.tanh()
    >>> y.backward()
    >>> round(x.grad, 6)          # 2x + (1 - tanh(x)^2)
    4.070651
"""

from __future__ import annotations

import math

from . import _scalar


class Value:
    """A scalar ``data`` and the derivative ``grad`` of the final output with respect to it.

    ``Value(data, label="x")``. Arithmetic with other ``Value`` objects or plain numbers
    (on either side) returns new ``Value`` nodes; ``backward()`` fills ``grad``.
    """

    __array_ufunc__ = None  # np.float64(2) * Value(...) defers to Value.__rmul__

    def __init__(self, data, _children=(), _op: str = "", label: str = ""):
        self.data = _scalar.check_data(data, "Value", "data")
        self.grad = 0.0
        self._backward = lambda: None  # leaves have nothing to pass on
        self._prev = tuple(_children)  # the inputs of the operation that produced this node
        self._op = _op
        self.label = label

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _lift(other, op: str) -> Value:
        """A plain number becomes a constant leaf so that it can enter the graph."""
        if isinstance(other, Value):
            return other
        return Value(_scalar.check_operand(other, "Value", op))

    # ------------------------------------------------------------- binary ops
    def __add__(self, other) -> Value:
        other = Value._lift(other, "+")
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():  # ∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __sub__(self, other) -> Value:
        other = Value._lift(other, "-")
        out = Value(self.data - other.data, (self, other), "-")

        def _backward():  # ∂(a-b)/∂a = 1, ∂(a-b)/∂b = -1
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __mul__(self, other) -> Value:
        other = Value._lift(other, "*")
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():  # ∂(ab)/∂a = b, ∂(ab)/∂b = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other) -> Value:
        other = Value._lift(other, "/")
        if other.data == 0:
            raise ZeroDivisionError(
                f"Value({self.data!r}) / Value(0.0): division by zero. "
                "Add a small epsilon to the denominator or check how it became 0."
            )
        out = Value(self.data / other.data, (self, other), "/")

        def _backward():  # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = -a/b²
            self.grad += out.grad / other.data
            other.grad -= self.data / other.data**2 * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k) -> Value:
        k = _scalar.check_exponent(k, "Value")
        out = Value(_scalar.power(self.data, k, "Value"), (self,), f"**{k:g}")

        def _backward():  # ∂(x^k)/∂x = k x^(k-1)
            self.grad += _scalar.power_derivative(self.data, k) * out.grad

        out._backward = _backward
        return out

    # Python scalars on the left: 2 + v, 2 - v, 2 * v, 2 / v, 2 ** v
    def __radd__(self, other) -> Value:
        return Value._lift(other, "+") + self

    def __rsub__(self, other) -> Value:
        return Value._lift(other, "-") - self

    def __rmul__(self, other) -> Value:
        return Value._lift(other, "*") * self

    def __rtruediv__(self, other) -> Value:
        return Value._lift(other, "/") / self

    def __rpow__(self, base) -> Value:
        b = _scalar.rpow_base(base, "Value")
        out = Value(_scalar.exp(self.data * math.log(b)), (self,), f"{b:g}**")

        def _backward():  # ∂(b^x)/∂x = b^x ln b
            self.grad += out.data * math.log(b) * out.grad

        out._backward = _backward
        return out

    # -------------------------------------------------------------- unary ops
    def __neg__(self) -> Value:
        out = Value(-self.data, (self,), "neg")

        def _backward():  # ∂(-x)/∂x = -1
            self.grad -= out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        out = Value(_scalar.exp(self.data), (self,), "exp")

        def _backward():  # ∂e^x/∂x = e^x
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> Value:
        out = Value(_scalar.log(self.data, "Value"), (self,), "log")

        def _backward():  # ∂ln x/∂x = 1/x
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():  # ∂tanh x/∂x = 1 - tanh² x
            self.grad += (1.0 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        out = Value(_scalar.sigmoid(self.data), (self,), "sigmoid")

        def _backward():  # ∂σ(x)/∂x = σ(x)(1 - σ(x))
            self.grad += out.data * (1.0 - out.data) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():  # ∂relu(x)/∂x = 1 if x > 0 else 0 (0 at x = 0, as in PyTorch)
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    # ---------------------------------------------------------- graph & backprop
    def graph(self):
        """``(nodes, edges)`` of the graph that produced this value.

        ``nodes``: every ``Value`` this one depends on (itself included), in topological
        order: a node comes after all of its inputs, so ``nodes[-1] is self``.
        ``edges``: ``(input, output)`` pairs, one per distinct input of each node (``x * x``
        has one edge from ``x``).
        """
        nodes, seen = [], set()
        # Iterative depth-first search (a long chain would overflow Python's recursion limit).
        stack = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                nodes.append(node)  # all inputs are already in `nodes`
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for child in reversed(node._prev):
                if id(child) not in seen:
                    stack.append((child, False))
        edges = []
        for node in nodes:
            for child in dict.fromkeys(node._prev):  # distinct inputs, in order
                edges.append((child, node))
        return nodes, edges

    def backward(self) -> None:
        """Fill ``grad`` of every node of the graph with d(self)/d(node).

        Inner nodes are recomputed from scratch on each call; leaves (inputs and
        constants) *accumulate*, as in PyTorch, so call ``zero_grad()`` between passes.
        """
        nodes, _ = self.graph()
        for node in nodes:
            if node._prev:
                node.grad = 0.0  # inner nodes: this pass only
        self.grad += 1.0  # d(self)/d(self) = 1
        for node in reversed(nodes):  # outputs before inputs
            node._backward()

    def zero_grad(self) -> None:
        """Set ``grad = 0`` on every node of the graph (leaves included)."""
        for node in self.graph()[0]:
            node.grad = 0.0

    # ---------------------------------------------------------------- display
    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    def __float__(self) -> float:
        return self.data
