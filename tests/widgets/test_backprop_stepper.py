"""BackpropStepper: its step-by-step gradients against Value.backward() and PyTorch, the visiting
order, sums where paths merge, the local-derivative table against finite differences, driving it
(set, next/back/reset, buttons), bad settings refused."""

import math

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.autodiff import Value
from backprop_lib.widgets.backprop_stepper import (
    BUILDERS,
    GRAPHS,
    BackpropStepperSettings,
    backward_steps,
    compute_stepper,
    local_derivative,
    n_steps,
    name,
)


def last(graph):
    return compute_stepper(BackpropStepperSettings(graph=graph, step=n_steps(graph)))


def torch_grads(output: Value) -> dict:
    """Every node's gradient from PyTorch: the graph replayed op by op on float64 tensors."""
    nodes, _ = output.graph()
    t = {}
    for n in nodes:
        ins = [t[id(p)] for p in n._prev]
        op = n._op
        if not op:
            out = torch.tensor(n.data, dtype=torch.float64, requires_grad=True)
        elif op in ("+", "-", "*", "/"):
            a, b = ins
            out = {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
        elif op.startswith("**"):
            out = ins[0] ** float(op[2:])
        elif op.endswith("**"):
            out = float(op[:-2]) ** ins[0]
        elif op == "neg":
            out = -ins[0]
        else:
            out = getattr(torch, op)(ins[0])
        out.retain_grad()
        t[id(n)] = out
    t[id(output)].backward()
    return {id(n): t[id(n)].grad.item() for n in nodes}


# -- the gradients --------------------------------------------------------------------------------
@pytest.mark.parametrize("graph", GRAPHS)
def test_after_the_last_step_every_grad_equals_value_backward_and_torch(graph):
    r = last(graph)
    reference = BUILDERS[graph]()                 # the same graph, built again, through Value.backward()
    reference.backward()
    ref_nodes = reference.graph()[0]
    assert [name(n) for n in ref_nodes] == [name(n) for n in r.nodes]
    ours = np.array([n.grad for n in r.nodes])
    np.testing.assert_allclose(ours, [n.grad for n in ref_nodes], rtol=1e-12, atol=1e-15)
    th = torch_grads(r.output)
    np.testing.assert_allclose(ours, [th[id(n)] for n in r.nodes], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose([s.grad for s in r.steps], [n.grad for n in r.order], rtol=0, atol=0)
    assert len({name(n) for n in r.nodes}) == len(r.nodes)      # every node has its own name


@pytest.mark.parametrize("graph", GRAPHS)
def test_steps_visit_the_nodes_in_reverse_topological_order(graph):
    r = last(graph)
    assert r.n_steps == n_steps(graph) == len(r.nodes)
    assert [id(n) for n in r.order] == [id(n) for n in reversed(r.nodes)]
    position = {id(n): i for i, n in enumerate(r.order)}
    for node in r.nodes:                           # every user of a node is visited before it
        for p in node._prev:
            assert position[id(node)] < position[id(p)]
    assert r.order[0] is r.output and r.steps[0].grad == 1.0 and r.steps[0].terms == ()
    # the upstream gradient each term uses is the final grad of a node visited earlier
    for s in r.steps:
        for t in s.terms:
            assert position[id(t.user)] < position[id(s.node)]
            assert t.upstream == pytest.approx(t.user.grad, rel=1e-15)


@pytest.mark.parametrize(("graph", "merging"), [("expression", {"a"}), ("network", {"x1", "x2"})])
def test_nodes_where_paths_merge_show_a_sum(graph, merging):
    r = last(graph)
    merged = {name(s.node) for s in r.steps if s.merges}
    assert merged == merging
    for s in r.steps:
        users = sum(1 for u in r.nodes for p in u._prev if p is s.node)
        assert len(s.terms) == users                # one term per path out of the node
        assert s.grad == pytest.approx(sum(t.local * t.upstream for t in s.terms) if s.terms else 1.0)
    a = next(s for s in r.steps if name(s.node) == sorted(merging)[0])
    formula, numbers = a.explain()
    assert formula.count(".grad·") == 2 and " + " in formula and " + " in numbers
    ex = bp.widgets.BackpropStepper(graph=graph, step=r.order.index(a.node) + 1)
    assert "paths merge" in ex.text.get_text() and formula in ex.text.get_text()


def test_expression_gradient_of_a_by_hand():
    # L = w3·a + w4·a  ⇒  dL/da = w3 + w4 = 1.5 − 2 = −0.5; dL/dz = −0.5·σ(z)(1 − σ(z))
    r = last("expression")
    grads = {name(n): n.grad for n in r.nodes}
    z = 0.5 * 1.0 + (-0.3) * (-2.0) + 0.1
    sig = 1 / (1 + math.exp(-z))
    assert grads["a"] == pytest.approx(-0.5) and grads["z"] == pytest.approx(-0.5 * sig * (1 - sig))
    assert grads["x1"] == pytest.approx(grads["z"] * 0.5) and grads["w3"] == pytest.approx(sig)


@pytest.mark.parametrize("step", [0, 1, 5, 9])
def test_only_the_revealed_nodes_have_a_grad(step):
    r = compute_stepper(BackpropStepperSettings(step=step))
    full = last("expression")
    for n, f in zip(r.nodes, full.nodes, strict=True):
        revealed = any(n is m for m in r.revealed)
        assert n.grad == (f.grad if revealed else 0.0)
    assert len(r.revealed) == step and (r.current is None) == (step == 0)


# -- the local-derivative table against finite differences ---------------------------------------
def _build(op, x, y):
    return {
        "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
        "**3": lambda a, b: a**3, "**0.5": lambda a, b: a**0.5, "2**": lambda a, b: 2**a,
        "exp": lambda a, b: a.exp(), "log": lambda a, b: a.log(), "tanh": lambda a, b: a.tanh(),
        "sigmoid": lambda a, b: a.sigmoid(), "relu": lambda a, b: a.relu(), "neg": lambda a, b: -a,
    }[op](x, y)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**3", "**0.5", "2**", "exp", "log", "tanh", "sigmoid",
                                "relu", "neg"])
@pytest.mark.parametrize(("x", "y"), [(0.7, -1.3), (1.9, 0.4)])
def test_local_derivatives_match_central_differences(op, x, y):
    a, b = Value(x, label="p"), Value(y, label="q")
    out = _build(op, a, b)
    h = 1e-6
    for slot, _ in enumerate(out._prev):
        shift = [0.0, 0.0]
        shift[slot] = h
        up = _build(op, Value(x + shift[0]), Value(y + shift[1])).data
        down = _build(op, Value(x - shift[0]), Value(y - shift[1])).data
        value, formula = local_derivative(out, slot)
        assert value == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-8)
        assert isinstance(formula, str) and formula


def test_backward_steps_of_an_expression_with_every_op_match_value_backward_and_torch():
    x, y = Value(0.8, label="x"), Value(-0.6, label="y")
    out = (((x * y + x / (y - 2.0)) ** 2).exp() + (x.tanh() * y.sigmoid()).relu() - (2**x).log() * (-y))
    steps = backward_steps(out)
    ours = {id(s.node): s.grad for s in steps}
    th = torch_grads(out)
    out.backward()
    for n in out.graph()[0]:
        assert ours[id(n)] == pytest.approx(n.grad, rel=1e-12, abs=1e-15)
        assert ours[id(n)] == pytest.approx(th[id(n)], rel=1e-12, abs=1e-15)


def test_an_unknown_operation_is_refused_clearly():
    v = Value(1.0) + Value(2.0)
    v._op = "sin"
    with pytest.raises(ValueError, match="no local derivative for operation 'sin'"):
        local_derivative(v, 0)


# -- driving it -------------------------------------------------------------------------------------
def test_set_next_back_reset_change_the_figure():
    ex = bp.widgets.BackpropStepper()
    before = ex.render_png()
    assert "forward pass only" in ex.ax_graph.get_title() and all("grad ?" in t.get_text() for t in ex._texts)
    ex.next()
    assert ex.settings.step == 1 and ex.render_png() != before
    assert "L.grad = ∂L/∂L = 1" in ex.text.get_text()
    ex.set(step=5)
    assert sum("grad ?" not in t.get_text() for t in ex._texts) == 5
    assert len(ex._overlay) == 4                       # a has two users: two arrows, two labels
    ex.back()
    assert ex.settings.step == 4 and name(ex.result.current.node) == "z′"
    ex.set(step=n_steps("expression"))
    ex.next()                                          # past the end: stays at the last step
    assert ex.settings.step == 15 and "backward pass done" in ex.ax_graph.get_title()
    assert all("grad ?" not in t.get_text() for t in ex._texts)
    ex.reset()
    assert ex.settings.step == 0 and ex._overlay == []
    ex.back()
    assert ex.settings.step == 0


def test_a_new_graph_starts_from_step_zero_and_resizes_the_slider():
    ex = bp.widgets.BackpropStepper(step=7)
    ex.show()
    ex._widgets["graph"].value = "network"
    assert ex.settings == BackpropStepperSettings(graph="network", step=0)
    assert ex._widgets["step"].max == n_steps("network") == 28
    ex.set(step=20)
    assert ex._widgets["step"].value == 20
    ex.set(graph="expression", step=3)
    assert ex._widgets["step"].max == 15 and ex._widgets["step"].value == 3


def test_buttons_step_the_backward_pass():
    ex = bp.widgets.BackpropStepper()
    box = ex.show()
    back, nxt, reset = ex._buttons
    assert [b.description for b in ex._buttons] == ["◀ back", "next ▶", "reset"]
    nxt.click()
    nxt.click()
    assert ex.settings.step == 2 and ex._widgets["step"].value == 2
    back.click()
    assert ex.settings.step == 1
    reset.click()
    assert ex.settings.step == 0 and box is not None


@pytest.mark.parametrize(("changes", "match"), [
    ({"graph": "tree"}, "unknown graph 'tree'"),
    ({"step": -1}, r"step must be an integer from 0 \(forward pass only\) to 15"),
    ({"step": 16}, "to 15 .every node of the expression graph"),
    ({"graph": "network", "step": 29}, "to 28"),
    ({"depth": 3}, "unknown setting"),
])
def test_bad_settings_are_refused_from_code(changes, match):
    ex = bp.widgets.BackpropStepper()
    with pytest.raises(ValueError, match=match):
        ex.set(**changes)


def test_a_non_integer_step_is_a_type_error():
    with pytest.raises(TypeError, match="step must be an integer"):
        BackpropStepperSettings(step=1.5)


def test_bad_step_from_a_control_becomes_a_message_not_a_traceback():
    ex = bp.widgets.BackpropStepper()
    ex.show()
    ex._on_control("step", {"new": 99})
    assert ex._message.get_visible() and "step must be an integer" in ex._message.get_text()


def test_presentation_theme_makes_a_bigger_figure():
    small = bp.widgets.BackpropStepper().fig.get_size_inches()
    big = bp.widgets.BackpropStepper(theme="presentation").fig.get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]


@pytest.mark.parametrize("theme", ["default", "presentation"])
@pytest.mark.parametrize("graph", GRAPHS)
def test_box_texts_are_enlarged_but_fit_their_boxes(theme, graph):
    ex = bp.widgets.BackpropStepper(theme=theme, graph=graph, step=n_steps(graph))
    renderer = ex.fig.canvas.get_renderer()
    for text, box in zip(ex._texts, ex._boxes, strict=True):
        t, b = text.get_window_extent(renderer), box.get_window_extent(renderer)
        assert b.x0 <= t.x0 and t.x1 <= b.x1 and b.y0 <= t.y0 and t.y1 <= b.y1
    assert min(t.get_fontsize() for t in ex._texts) >= ex._drawn_fontsize     # draw_graph's size, or larger
    if theme == "presentation" and graph == "expression":       # room to spare: the text grows
        assert ex._texts[0].get_fontsize() >= 1.3 * ex._drawn_fontsize
