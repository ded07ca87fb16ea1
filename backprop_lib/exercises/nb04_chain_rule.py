"""Checkers for notebook 04 (chain rule and computational graphs).

* ``04.dL_dw1``: S2's two-branch formula ∂L/∂w1 = x1·σ′(z)·[w3·∂L/∂z′ + w4·∂L/∂z″], from the
  forward value z and the gradients arriving at z′ and z″ (one branch only is the mistake);
* ``04.sin``: a function that builds a ``Value`` node for sin, whose backward adds
  cos(x)·out.grad to x.grad (``=`` instead of ``+=`` loses a path when x is used twice; a
  missing out.grad breaks every chain);
* ``04.topo_sort``: every node of a graph once, each after all of its inputs (post-order DFS);
  reversed pre-order works on a chain and fails on a diamond.
"""

from __future__ import annotations

import math
from collections import deque

from ..autodiff.value import Value
from .core import Incorrect, exercise, require, require_callable

# -- 04.dL_dw1 --------------------------------------------------------------------------------

#  x1,     z,    w3,   w4,   ∂L/∂z′, ∂L/∂z″   (w4 and ∂L/∂z″ never 0: both branches count)
_CASES_W1 = ((1.0, 0.5, 1.5, -2.0, 1.0, 1.0), (-0.7, -1.3, 0.8, 1.1, 0.4, -1.6),
             (2.0, 2.2, -1.2, 0.6, -0.9, 2.5), (0.3, 0.0, 0.5, 0.5, 1.7, 0.35))


def _sig(z):
    return 1.0 / (1.0 + math.exp(-z))


def _dL_dw1_ref(x1, z, w3, w4, dL_dzp, dL_dzpp):
    s = _sig(z)
    return x1 * s * (1 - s) * (w3 * dL_dzp + w4 * dL_dzpp)       # x1 · σ′(z) · [both branches]


def _dL_dw1_engine(x1, z, w3, w4, dL_dzp, dL_dzpp):
    w1 = Value(0.0)                                  # z = w1·x1 + (the rest), at w1 = 0 the rest is z
    a = (w1 * x1 + z).sigmoid()
    surrogate = (w3 * a) * dL_dzp + (w4 * a) * dL_dzpp      # same gradients arrive at z′ and z″
    surrogate.backward()
    return w1.grad


def _wrong_one_branch(x1, z, w3, w4, dL_dzp, dL_dzpp):
    s = _sig(z)
    return x1 * s * (1 - s) * w3 * dL_dzp


def _wrong_upstream_ignored(x1, z, w3, w4, dL_dzp, dL_dzpp):      # as if L = z′ + z″
    s = _sig(z)
    return x1 * s * (1 - s) * (w3 + w4)


def _wrong_sigma_not_prime(x1, z, w3, w4, dL_dzp, dL_dzpp):
    return x1 * _sig(z) * (w3 * dL_dzp + w4 * dL_dzpp)


def _wrong_no_x1(x1, z, w3, w4, dL_dzp, dL_dzpp):                 # that is ∂L/∂z
    s = _sig(z)
    return s * (1 - s) * (w3 * dL_dzp + w4 * dL_dzpp)


def _number(result, what):
    if result is None:
        raise Incorrect(f"{what} returned None.", "Did you forget a `return`?")
    if isinstance(result, Value):
        result = result.data
    try:
        return float(result)
    except (TypeError, ValueError) as err:
        raise Incorrect(f"{what} should return one number; got {type(result).__name__}.",
                        "Return x1 · σ′(z) · [...], a float.") from err


@exercise(
    "04.dL_dw1", "S2's two-branch formula for ∂L/∂w1",
    right=[_dL_dw1_ref, _dL_dw1_engine],
    wrong={"one branch (w3 only)": _wrong_one_branch, "upstream gradients ignored": _wrong_upstream_ignored,
           "σ instead of σ′": _wrong_sigma_not_prime, "x1 missing (that is ∂L/∂z)": _wrong_no_x1},
    success="∂L/∂w1 = x1·σ′(z)·[w3·∂L/∂z′ + w4·∂L/∂z″]: the forward pass gives x1 and z, "
            "the backward pass the bracket.",
)
def _check_dL_dw1(answer):
    require_callable(answer, "dL_dw1")
    for case in _CASES_W1:
        got = _number(answer(*case), f"dL_dw1{case}")
        expected = _dL_dw1_ref(*case)
        if math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
            continue
        x1, z, w3, w4, gp, gpp = case
        s = _sig(z)
        names = {
            "one branch": [x1 * s * (1 - s) * w3 * gp, x1 * s * (1 - s) * w4 * gpp],
            "upstream ignored": [x1 * s * (1 - s) * (w3 + w4)],
            "sigma": [x1 * s * (w3 * gp + w4 * gpp)],
            "no x1": [s * (1 - s) * (w3 * gp + w4 * gpp)],
        }
        hints = {
            "one branch": "a feeds two nodes, z′ and z″: two paths lead from w1 to L and their contributions "
                          "add up: w3·∂L/∂z′ + w4·∂L/∂z″.",
            "upstream ignored": "w3 and w4 are only the local derivatives ∂z′/∂a and ∂z″/∂a; each must be "
                                "multiplied by the gradient arriving at its node, ∂L/∂z′ or ∂L/∂z″.",
            "sigma": "∂a/∂z is the slope of the sigmoid, σ′(z) = σ(z)(1 − σ(z)), not σ(z) itself.",
            "no x1": "That is ∂L/∂z. One more chain-rule step: z = w1·x1 + w2·x2 + b, so ∂z/∂w1 = x1.",
        }
        for mistake, values in names.items():
            if any(math.isclose(got, v, rel_tol=1e-9, abs_tol=1e-12) for v in values):
                raise Incorrect(f"dL_dw1{case} = {got:.6g}; expected {expected:.6g}.", hints[mistake])
        raise Incorrect(f"dL_dw1{case} = {got:.6g}; expected {expected:.6g}.",
                        "Chain the local derivatives from L back to w1: ∂z/∂w1 = x1, ∂a/∂z = σ′(z), "
                        "∂z′/∂a = w3, ∂z″/∂a = w4, and sum over the two paths.")


# -- 04.sin ------------------------------------------------------------------------------------

def _sin_ref(x):
    out = Value(math.sin(x.data), (x,), "sin")

    def _backward():                                 # ∂sin x/∂x = cos x
        x.grad += math.cos(x.data) * out.grad

    out._backward = _backward
    return out


def _sin_plus_equals_spelled_out(x):
    out = Value(math.sin(x.data), _children=(x,), _op="sin", label="sin")

    def _backward():
        x.grad = x.grad + out.grad * math.cos(x.data)

    out._backward = _backward
    return out


def _wrong_overwrite(x):                             # `=` instead of `+=`
    out = Value(math.sin(x.data), (x,), "sin")

    def _backward():
        x.grad = math.cos(x.data) * out.grad

    out._backward = _backward
    return out


def _wrong_no_upstream(x):                           # the local derivative alone
    out = Value(math.sin(x.data), (x,), "sin")

    def _backward():
        x.grad += math.cos(x.data)

    out._backward = _backward
    return out


def _wrong_minus_cos(x):
    out = Value(math.sin(x.data), (x,), "sin")

    def _backward():
        x.grad += -math.cos(x.data) * out.grad

    out._backward = _backward
    return out


def _wrong_cos_of_output(x):                         # cos(sin x) instead of cos x
    out = Value(math.sin(x.data), (x,), "sin")

    def _backward():
        x.grad += math.cos(out.data) * out.grad

    out._backward = _backward
    return out


def _wrong_no_children(x):                           # the node does not record its input
    out = Value(math.sin(x.data))

    def _backward():
        x.grad += math.cos(x.data) * out.grad

    out._backward = _backward
    return out


def _wrong_no_backward(x):
    return Value(math.sin(x.data), (x,), "sin")


def _grad_of(answer, build, x0):
    """x.grad after building L = build(answer, x) at x = x0 and calling L.backward()."""
    x = Value(x0, label="x")
    loss = build(answer, x)
    loss.backward()
    return x.grad


# (what it tests, description, L(sin, x), dL/dx)
_SIN_CASES = (
    ("upstream", "L = 3·sin(x)", lambda sin, x: 3.0 * sin(x), lambda x: 3.0 * math.cos(x)),
    ("chain", "L = sin(x·x)", lambda sin, x: sin(x * x), lambda x: math.cos(x * x) * 2.0 * x),
    ("twice", "L = sin(x) + sin(x), two sin nodes", lambda sin, x: sin(x) + sin(x),
     lambda x: 2.0 * math.cos(x)),
    ("twice", "L = sin(x)·x", lambda sin, x: sin(x) * x, lambda x: math.cos(x) * x + math.sin(x)),
    ("twice", "L = x·sin(x)", lambda sin, x: x * sin(x), lambda x: math.cos(x) * x + math.sin(x)),
)
_SIN_HINTS = {
    "upstream": "The chain rule multiplies the local derivative cos(x) by the gradient arriving at the "
                "node: x.grad += math.cos(x.data) * out.grad.",
    "chain": "x.grad += math.cos(x.data) * out.grad: the input's gradient, whatever the input is.",
    "twice": "Another node may already have put its share into x.grad: add to it (x.grad += ...) "
             "instead of overwriting it (x.grad = ...).",
}


@exercise(
    "04.sin", "Add sin to Value",
    right=[_sin_ref, _sin_plus_equals_spelled_out],
    wrong={"= instead of +=": _wrong_overwrite, "missing out.grad": _wrong_no_upstream,
           "−cos": _wrong_minus_cos, "cos of the output": _wrong_cos_of_output,
           "input not recorded": _wrong_no_children, "no _backward": _wrong_no_backward},
    success="out = sin(x) remembers x, and its _backward adds cos(x)·out.grad to x.grad: local "
            "derivative × upstream gradient, accumulated.",
)
def _check_sin(answer):
    require_callable(answer, "sin")
    x0 = 0.7
    x = Value(x0, label="x")
    out = answer(x)
    require(isinstance(out, Value), f"sin(x) should return a new Value node; got {type(out).__name__}.",
            "Build the node with Value(math.sin(x.data), (x,), 'sin') and return it.")
    require(x.data == x0, "sin(x) changed x.data.", "Leave the input alone; compute into a new Value.")
    require(math.isclose(out.data, math.sin(x0), rel_tol=1e-12),
            f"sin(Value({x0})).data = {out.data:.6g}; expected sin({x0}) = {math.sin(x0):.6g}.",
            "The node's data is math.sin(x.data) (radians).")
    require(any(p is x for p in out._prev),
            "The node does not record x as its input (out._prev), so backward() never reaches what "
            "comes before x in the graph.",
            "Pass the children when you build it: Value(math.sin(x.data), (x,), 'sin').")
    g = _grad_of(answer, lambda sin, v: sin(v), x0)
    if g == 0.0:
        raise Incorrect("After sin(x).backward(), x.grad is still 0: the node's _backward adds nothing.",
                        "Define def _backward(): ... and attach it: out._backward = _backward.")
    typical = ((-math.cos(x0), "The derivative of sin is +cos."),
               (math.cos(math.sin(x0)), "Use cos of the input, math.cos(x.data), not of the output."))
    for wrong, hint in typical:
        if math.isclose(g, wrong, rel_tol=1e-9):
            raise Incorrect(f"sin(x).backward() gives x.grad = {g:.6g} at x = {x0}; expected cos({x0}) = "
                            f"{math.cos(x0):.6g}.", hint)
    require(math.isclose(g, math.cos(x0), rel_tol=1e-9),
            f"sin(x).backward() gives x.grad = {g:.6g} at x = {x0}; expected cos({x0}) = {math.cos(x0):.6g}.",
            "∂sin(x)/∂x = cos(x).")
    for x0 in (0.7, -1.9):
        for kind, description, build, derivative in _SIN_CASES:
            g, expected = _grad_of(answer, build, x0), derivative(x0)
            if not math.isclose(g, expected, rel_tol=1e-9, abs_tol=1e-12):
                twice = " x is used twice, and one path's contribution was lost." if kind == "twice" else ""
                message = f"{description} at x = {x0}: x.grad = {g:.6g}, expected {expected:.6g}."
                raise Incorrect(message + twice, _SIN_HINTS[kind])


# -- 04.topo_sort ------------------------------------------------------------------------------

def _topo_ref(root):                                 # post-order DFS, as in micrograd
    order, seen = [], set()

    def visit(v):
        if id(v) in seen:
            return
        seen.add(id(v))
        for child in v._prev:
            visit(child)
        order.append(v)                              # after all of its inputs

    visit(root)
    return order


def _topo_kahn(root):                                # Kahn: repeatedly take a node whose inputs are all out
    nodes, stack, seen = [], [root], {id(root)}
    while stack:
        v = stack.pop()
        nodes.append(v)
        for c in v._prev:
            if id(c) not in seen:
                seen.add(id(c))
                stack.append(c)
    waiting = {id(v): len(set(map(id, v._prev))) for v in nodes}
    users = {id(v): [] for v in nodes}
    for v in nodes:
        for c in {id(c): c for c in v._prev}.values():
            users[id(c)].append(v)
    ready = deque(v for v in nodes if waiting[id(v)] == 0)
    order = []
    while ready:
        v = ready.popleft()
        order.append(v)
        for u in users[id(v)]:
            waiting[id(u)] -= 1
            if waiting[id(u)] == 0:
                ready.append(u)
    return order


def _wrong_reversed_preorder(root):                  # append on arrival, reverse at the end
    order, seen = [], set()

    def visit(v):
        if id(v) in seen:
            return
        seen.add(id(v))
        order.append(v)
        for child in v._prev:
            visit(child)

    visit(root)
    return order[::-1]


def _wrong_no_visited(root):                         # a node reached twice is listed twice
    order = []

    def visit(v):
        for child in v._prev:
            visit(child)
        order.append(v)

    visit(root)
    return order


def _wrong_output_first(root):                       # the backward pass's order, not the topological one
    return _topo_ref(root)[::-1]


def _wrong_reversed_bfs(root):
    order, seen, queue = [], {id(root)}, deque([root])
    while queue:
        v = queue.popleft()
        order.append(v)
        for c in v._prev:
            if id(c) not in seen:
                seen.add(id(c))
                queue.append(c)
    return order[::-1]


def _chain():
    x = Value(0.3, label="x")
    return ((x * 2.0).tanh().exp() - 1.0).relu()


def _diamond():
    x = Value(0.3, label="x")
    return x.tanh() * x.exp()                        # x → tanh, x → exp, both → *


def _two_paths_of_different_length():
    x = Value(0.3, label="x")
    q = x.tanh()
    return q + q.exp() * x                           # q is read directly and through exp


def _s2_graph():
    x1, x2, w1, w2, b = (Value(v) for v in (1.0, -2.0, 0.5, -0.3, 0.1))
    a = (x1 * w1 + x2 * w2 + b).sigmoid()
    return a * 1.5 + a * -2.0


def _square_plus():
    x = Value(3.0, label="x")
    return x * x + x


_GRAPHS = (("a chain", _chain), ("a diamond (x feeds tanh and exp, both feed ×)", _diamond),
           ("a graph where q = tanh(x) is read directly and through exp", _two_paths_of_different_length),
           ("S2's graph", _s2_graph), ("x·x + x", _square_plus))


@exercise(
    "04.topo_sort", "Topological order of a graph",
    right=[_topo_ref, _topo_kahn],
    wrong={"reversed pre-order DFS": _wrong_reversed_preorder, "no visited set": _wrong_no_visited,
           "output first": _wrong_output_first, "reversed BFS": _wrong_reversed_bfs},
    success="Post-order DFS: a node is appended only after all of its inputs, so reversed(order) "
            "visits every node after all the nodes that use it: the order backward() needs.",
)
def _check_topo_sort(answer):
    require_callable(answer, "topo_sort")
    passed = []
    for name, build in _GRAPHS:
        root = build()
        expected, _ = root.graph()
        got = answer(root)
        require(got is not None, "topo_sort returned None.", "Did you forget `return order`?")
        try:
            got = list(got)
        except TypeError as err:
            raise Incorrect(f"topo_sort should return a list of nodes; got {type(got).__name__}.",
                            "Collect the nodes in a list and return it.") from err
        require(all(isinstance(v, Value) for v in got), "topo_sort should return the Value nodes themselves.",
                "Append the nodes (v), not their data or labels.")
        ids = [id(v) for v in got]
        require(len(ids) == len(set(ids)),
                f"On {name}, topo_sort lists a node more than once ({len(ids)} entries for "
                f"{len(expected)} nodes).",
                "A node reached along two paths must be listed once: keep a set of visited nodes "
                "(by id) and skip those already seen.")
        missing = len({id(v) for v in expected} - set(ids))
        require(not missing, f"On {name}, topo_sort misses {missing} of its {len(expected)} nodes.",
                "Visit every input (v._prev) of every node, the root and the leaves included.")
        require(len(ids) == len(expected),
                f"On {name}, topo_sort returns nodes that are not in the graph.",
                "Start from the root and follow only v._prev.")
        if got[0] is root and len(got) > 1:
            raise Incorrect(f"On {name}, the root (the output) comes first; a topological order puts every "
                            "node after its inputs, so the output comes last.",
                            "Append a node after visiting its inputs (post-order); backward() then walks "
                            "reversed(order).")
        position = {id(v): k for k, v in enumerate(got)}
        for v in got:
            late = [c for c in v._prev if position[id(c)] > position[id(v)]]
            if late:
                where = f"on {name} (after passing on {', '.join(passed)})" if passed else f"on {name}"
                raise Incorrect(
                    f"{where[0].upper() + where[1:]}, a node ({v._op or 'leaf'}) comes before its input "
                    f"({late[0]._op or late[0].label or 'leaf'}).",
                    "Append a node only once all of its inputs are in the list (post-order DFS). "
                    "Appending a node when you first reach it and reversing the list at the end "
                    "(pre-order) works on a chain but breaks where two paths meet, as in a diamond.")
        passed.append(name)
