"""AutogradGraphExplorer: node counts of the loop's graph, x.grad against (n + 1)xⁿ and against
central differences, the drawing follows the graph, set() redraws, bad settings refused."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.widgets.autograd_graph import (
    GRID,
    N_MAX,
    AutogradGraphSettings,
    compute_autograd_graph,
    layout,
)


def run(**changes):
    return compute_autograd_graph(AutogradGraphSettings(**changes))


@pytest.mark.parametrize("n", range(1, N_MAX + 1))
def test_n_products_record_n_mul_nodes_and_one_accumulate_grad(n):
    r = run(n=n, x=0.9)
    assert r.graph.counts == {"MulBackward0": n, "AccumulateGrad": 1}
    assert r.n_nodes == n + 1
    assert len(r.graph.edges) == 2 * n          # every product has two inputs: y and x


def test_n_zero_has_no_graph_and_gradient_one():
    r = run(n=0, x=-1.3)
    assert r.n_nodes == 0 and r.graph.edges == ()
    assert r.grad == 1.0 and r.formula == 1.0
    np.testing.assert_array_equal(r.grid_grad, np.ones_like(GRID))


@pytest.mark.parametrize(("n", "x"), [(1, -1.2), (3, 1.5), (4, -0.7), (7, 1.9), (12, 0.95)])
def test_x_grad_is_n_plus_one_x_to_the_n(n, x):
    r = run(n=n, x=x)
    assert r.y == pytest.approx(x ** (n + 1), rel=1e-13)
    assert r.grad == pytest.approx((n + 1) * x ** n, rel=1e-13)
    assert r.formula == pytest.approx((n + 1) * x ** n, rel=1e-15)
    h = 1e-5                                       # central difference of x^(n+1): an independent oracle
    fd = ((x + h) ** (n + 1) - (x - h) ** (n + 1)) / (2 * h)
    assert r.grad == pytest.approx(fd, rel=1e-7)


@pytest.mark.parametrize("n", [1, 2, 5, 12])
def test_grid_gradient_matches_the_formula_everywhere(n):
    r = run(n=n)
    np.testing.assert_allclose(r.grid_grad, (n + 1) * GRID ** n, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(r.grid_formula, (n + 1) * GRID ** n, rtol=0, atol=0)


def test_layout_puts_the_products_in_backward_order_and_the_leaf_below():
    r = run(n=4)
    pos = layout(r.graph)
    top = [i for i, name in enumerate(r.graph.names) if name == "MulBackward0"]
    leaf = r.graph.names.index("AccumulateGrad")
    assert pos[0, 1] == 1.0 and pos[leaf].tolist() == [0.0, 0.0]      # root on top, leaf centred below
    # walking the chain from the root (edge to the next product), x increases by one per step
    nxt = {i: j for i, j in r.graph.edges if r.graph.names[j] == "MulBackward0"}
    chain = [0]
    while chain[-1] in nxt:
        chain.append(nxt[chain[-1]])
    assert sorted(chain) == sorted(top)
    np.testing.assert_allclose(np.diff(pos[chain, 0]), 1.0)


def test_set_changes_the_figure_and_the_visible_nodes():
    ex = bp.widgets.AutogradGraphExplorer(n=3, x=1.5)
    assert sum(t.get_visible() for t in ex.node_texts) == 4
    assert sum(a.get_visible() for a in ex.arrows) == 6
    before = ex.render_png()
    ex.set(n=7, x=-1.2)
    assert ex.render_png() != before
    assert sum(t.get_visible() for t in ex.node_texts) == 8
    assert sum(a.get_visible() for a in ex.arrows) == 14
    np.testing.assert_allclose(ex.mark_x.get_xdata(), [-1.2])
    np.testing.assert_allclose(ex.mark_x.get_ydata(), [8 * (-1.2) ** 7], rtol=1e-12)
    assert "8 nodes" in ex.ax_graph.get_title()
    ex.set(n=0)
    assert not any(t.get_visible() for t in ex.node_texts) and ex.leaf_note.get_visible()


@pytest.mark.parametrize(("changes", "error", "match"), [
    ({"n": -1}, ValueError, r"n \(the loop count\) must lie in \[0, 12\]"),
    ({"n": 13}, ValueError, r"must lie in \[0, 12\]"),
    ({"n": 2.5}, TypeError, "must be an integer"),
    ({"n": True}, TypeError, "must be an integer"),
    ({"x": 2.5}, ValueError, r"x must lie in \[-2.0, 2.0\]"),
    ({"x": float("nan")}, ValueError, "x must be finite"),
    ({"depth": 3}, ValueError, "unknown setting"),
])
def test_bad_settings_are_refused_from_code(changes, error, match):
    ex = bp.widgets.AutogradGraphExplorer()
    with pytest.raises(error, match=match):
        ex.set(**changes)


def test_compute_refuses_other_settings_objects():
    with pytest.raises(TypeError, match="AutogradGraphSettings"):
        compute_autograd_graph({"n": 3})


def test_controls_drive_the_explorer():
    ex = bp.widgets.AutogradGraphExplorer()
    ex.show()
    ex._widgets["n"].value = 5
    assert ex.settings.n == 5 and ex.result.n_nodes == 6
    ex.set(n=2)
    assert ex._widgets["n"].value == 2          # set() moves the slider too


def test_presentation_theme_draws_larger():
    small = bp.widgets.AutogradGraphExplorer()
    big = bp.widgets.AutogradGraphExplorer(theme="presentation")
    assert big.fig.get_size_inches()[0] > small.fig.get_size_inches()[0]
