"""bp.viz.draw_graph: one box per node, one arrow per edge, left-to-right layout,
highlight and grad reveal, large graphs, bad input."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

import backprop_lib as bp
from backprop_lib.autodiff import Value
from backprop_lib.viz.graph import graph_layout


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def neuron(n_inputs, seed=0):
    """tanh(Σ w_i x_i + b): 4 n + 2 nodes."""
    rng = np.random.default_rng(seed)
    xs = [Value(float(v), label=f"x{i}") for i, v in enumerate(rng.normal(size=n_inputs))]
    ws = [Value(float(v), label=f"w{i}") for i, v in enumerate(rng.normal(size=n_inputs))]
    acc = Value(0.1, label="b")
    for x, w in zip(xs, ws, strict=True):
        acc = acc + x * w
    out = acc.tanh()
    out.label = "out"
    return out, xs, ws


def boxes(ax):
    return [p for p in ax.patches if isinstance(p, FancyBboxPatch)]


def arrows(ax):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def test_one_box_per_node_one_arrow_per_edge():
    x, y = Value(2.0, label="x"), Value(-1.0, label="y")
    out = (x * y + x**2).tanh()
    out.backward()
    nodes, edges = out.graph()
    fig = bp.viz.draw_graph(out)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(boxes(ax)) == len(nodes) == 6
    assert len(arrows(ax)) == len(edges) == 6
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == len(nodes)
    for node in nodes:  # every node's data and grad are written in its box
        assert any(f"data {node.data:.4g}" in t and f"grad {node.grad:.4g}" in t for t in texts)
    assert any(t.startswith("tanh") for t in texts) and any(t.startswith("x\n") for t in texts)


def test_x_times_x_has_one_arrow():
    x = Value(3.0)
    fig = bp.viz.draw_graph(x * x)
    assert (len(boxes(fig.axes[0])), len(arrows(fig.axes[0]))) == (2, 1)


def test_layout_runs_left_to_right_by_longest_path():
    out, xs, ws = neuron(3)
    layout = graph_layout(out)
    pos = layout.positions
    for child, parent in layout.edges:
        assert pos[child][0] < pos[parent][0]  # arrows point right
    for node in layout.nodes:
        if node._prev:  # inner nodes: column = longest path from the leaves
            assert pos[node][0] == 1 + max(pos[c][0] for c in node._prev)
        else:  # leaves: one column before their first use
            users = [p for c, p in layout.edges if c is node]
            assert pos[node][0] == min(pos[u][0] for u in users) - 1
    assert pos[out][0] == max(x for x, _ in pos.values())
    cells = {(x, y) for x, y in pos.values()}
    assert len(cells) == len(layout.nodes)  # no two boxes overlap


def test_arrows_join_the_boxes_they_connect():
    out, _, _ = neuron(2)
    fig = bp.viz.draw_graph(out)
    layout = graph_layout(out)
    pos = layout.positions
    ax = fig.axes[0]
    half_w = boxes(ax)[0].get_width() / 2
    centres = sorted((b.get_x() + b.get_width() / 2, b.get_y() + b.get_height() / 2) for b in boxes(ax))
    np.testing.assert_allclose(centres, sorted(layout.positions.values()), atol=1e-12)
    # each edge has an arrow from the right edge of the input's box to the left edge of the
    # user's box: the path starts at the tail and reaches the tip (within the line width)
    paths = [a.get_path().vertices for a in arrows(ax)]
    for c, p in layout.edges:
        tail = np.array([pos[c][0] + half_w, pos[c][1]])
        tip = np.array([pos[p][0] - half_w, pos[p][1]])
        matches = [v for v in paths if np.allclose(v[0], tail, atol=1e-9)
                   and np.min(np.linalg.norm(v - tip, axis=1)) < 0.02]
        assert len(matches) >= 1, (c, p)


def test_highlight_and_grad_reveal():
    x, y = Value(0.5, label="x"), Value(1.5, label="y")
    prod = x * y
    out = prod.sigmoid()
    out.backward()
    fig = bp.viz.draw_graph(out, highlight={prod}, show_grad={out, prod})
    ax = fig.axes[0]
    widths = sorted(b.get_linewidth() for b in boxes(ax))
    assert widths[-1] > widths[0] and widths.count(widths[-1]) == 1  # exactly one outlined box
    texts = [t.get_text() for t in ax.texts]
    assert sum(t.endswith("grad ?") for t in texts) == 2  # x and y hidden
    assert any(t.endswith(f"grad {prod.grad:.4g}") for t in texts)
    plt.close(fig)
    hidden = bp.viz.draw_graph(out, show_grad=False).axes[0]
    assert all(t.get_text().endswith("grad ?") for t in hidden.texts)


def test_fifty_node_graph_on_given_axes():
    out, _, _ = neuron(12)  # 4·12 + 2 = 50 nodes
    out.backward()
    nodes, edges = out.graph()
    assert len(nodes) == 50
    fig, ax = plt.subplots(figsize=(8, 5))
    assert bp.viz.draw_graph(out, ax=ax) is fig
    assert len(boxes(ax)) == 50 and len(arrows(ax)) == len(edges)
    fig.canvas.draw()  # renders without error
    big = bp.viz.draw_graph(out)
    w, h = big.get_size_inches()
    assert w <= 22.0 + 1e-9 and h <= 14.0 + 1e-9


def test_single_leaf():
    fig = bp.viz.draw_graph(Value(1.0, label="a"))
    assert (len(boxes(fig.axes[0])), len(arrows(fig.axes[0]))) == (1, 0)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: bp.viz.draw_graph(3.0), TypeError, ["bp.autodiff.Value", "float"]),
    (lambda: bp.viz.draw_graph(Value(1.0) * 2, highlight={Value(5.0)}), ValueError,
     ["highlight", "not in this graph"]),
    (lambda: bp.viz.draw_graph(Value(1.0) * 2, highlight="x"), TypeError, ["highlight", "collection"]),
    (lambda: bp.viz.draw_graph(Value(1.0) * 2, show_grad=3), TypeError, ["show_grad"]),
])
def test_bad_input_gets_a_clear_error(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))
