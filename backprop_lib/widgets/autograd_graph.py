"""AutogradGraphExplorer: the graph PyTorch records for a Python loop, and the gradient it gives.

Define-by-run: autograd records the operations as the Python code runs, so an ordinary loop

    y = x
    for _ in range(n):
        y = y * x                # y = x^(n+1)

builds a graph with one ``MulBackward0`` node per pass, plus one ``AccumulateGrad`` node through
which the gradient reaches the leaf x: n + 1 nodes (none for n = 0, where y *is* the leaf x).
Each product uses x once more, and the gradient arriving at x is the sum over all those uses:

    dy/dx = (n + 1) xⁿ.

A different n builds a different graph on the next run; nothing is compiled in advance.

    ex = bp.widgets.AutogradGraphExplorer(n=3, x=1.5)
    ex.set(n=6)
    ex.result.n_nodes, ex.result.grad, ex.result.formula
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .._validate import check_number
from ..interop.autograd_graph import BackwardGraph, backward_graph
from ..interop.torch_bridge import import_torch
from ..viz import style
from .base import Explorer

N_MAX = 12                  # the largest loop count (13 nodes still fit in one row)
X_RANGE = (-2.0, 2.0)
GRID = np.linspace(X_RANGE[0], X_RANGE[1], 161)


@dataclass(frozen=True)
class AutogradGraphSettings:
    """n: loop count of ``y = y * x`` (an integer in [0, 12]); x: the value of the leaf x,
    in [−2, 2] (float64)."""

    n: int = 3
    x: float = 1.5

    def __post_init__(self):
        if isinstance(self.n, bool) or not isinstance(self.n, numbers.Integral):
            raise TypeError(f"n (the loop count) must be an integer; got {self.n!r} "
                            f"({type(self.n).__name__}).")
        if not 0 <= self.n <= N_MAX:
            raise ValueError(f"n (the loop count) must lie in [0, {N_MAX}]; got {self.n}.")
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "x", check_number(self.x, "x", low=X_RANGE[0], high=X_RANGE[1]))


@dataclass(frozen=True)
class AutogradGraphResult:
    """graph: the backward graph of y (``bp.interop.BackwardGraph``); y: x^(n+1) as computed;
    grad: x.grad after ``y.backward()``; formula: (n + 1) xⁿ; grid, grid_grad: autograd's
    dy/dx at every point of ``GRID`` (one backward of the sum of an elementwise y);
    grid_formula: (n + 1) xⁿ there; message: always None (every setting is a result)."""

    settings: AutogradGraphSettings
    graph: BackwardGraph
    y: float
    grad: float
    formula: float
    grid: np.ndarray
    grid_grad: np.ndarray
    grid_formula: np.ndarray
    message: str | None = None

    @property
    def n_nodes(self) -> int:
        return self.graph.n_nodes


def _power_by_loop(x, n: int):
    """y = x, then n times y = y * x: autograd records one MulBackward0 per pass."""
    y = x
    for _ in range(n):
        y = y * x
    return y


def compute_autograd_graph(settings: AutogradGraphSettings) -> AutogradGraphResult:
    """Run the loop in PyTorch (float64), read its backward graph, call ``backward`` and compare
    x.grad with (n + 1) xⁿ, at x and over the grid. Pure: no figure."""
    if not isinstance(settings, AutogradGraphSettings):
        raise TypeError(f"settings must be an AutogradGraphSettings; got {type(settings).__name__}.")
    torch = import_torch()
    n = settings.n
    x = torch.tensor(settings.x, dtype=torch.float64, requires_grad=True)
    y = _power_by_loop(x, n)
    graph = backward_graph(y)
    y.backward()
    xs = torch.tensor(GRID, dtype=torch.float64, requires_grad=True)
    _power_by_loop(xs, n).sum().backward()       # elementwise: d(Σ yᵢ)/dxᵢ = dyᵢ/dxᵢ
    formula = (n + 1) * GRID ** n                  # (n + 1) xⁿ  (0⁰ = 1)
    return AutogradGraphResult(
        settings=settings, graph=graph, y=float(y.item()), grad=float(x.grad.item()),
        formula=float((n + 1) * settings.x ** n), grid=GRID, grid_grad=xs.grad.numpy().copy(),
        grid_formula=formula,
    )


def layout(graph: BackwardGraph) -> np.ndarray:
    """``(n_nodes, 2)`` positions: the nodes that are not ``AccumulateGrad`` on a top row, ordered by
    their longest distance from the root (the order backward visits them), the leaves' nodes
    centred on a bottom row."""
    k = graph.n_nodes
    depth = np.zeros(k, dtype=int)
    for _ in range(k):                                    # longest path from the root (a DAG)
        for i, j in graph.edges:
            depth[j] = max(depth[j], depth[i] + 1)
    top = sorted((i for i in range(k) if graph.names[i] != "AccumulateGrad"), key=lambda i: depth[i])
    bottom = [i for i in range(k) if graph.names[i] == "AccumulateGrad"]
    pos = np.zeros((k, 2))
    for members, y in ((top, 1.0), (bottom, 0.0)):
        xs = np.arange(len(members), dtype=float)
        xs = xs - xs.mean() if members else xs
        for i, xv in zip(members, xs, strict=True):
            pos[i] = (xv, y)
    return pos


class AutogradGraphExplorer(Explorer):
    """Loop count n and the value of x → the backward graph autograd recorded for
    ``y = x; for _ in range(n): y = y * x`` (node count), and x.grad against (n + 1)xⁿ.

    ``AutogradGraphExplorer(n=3).set(n=7, x=-1.2)``
    """

    Settings = AutogradGraphSettings
    title = "Define-by-run: the graph of a Python loop, and its gradient"
    compute = staticmethod(compute_autograd_graph)

    def make_figure(self, fig):
        from matplotlib.patches import FancyArrowPatch

        w, h = style.FIGSIZE[self.theme]
        fig.set_size_inches(w * 1.35, h * 1.5)
        self.ax_graph, self.ax_grad = fig.subplots(2, 1, height_ratios=(1.0, 1.2))
        ax = self.ax_graph
        ax.set_axis_off()
        box = {"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": style.color(0)}
        self.node_texts = [ax.text(0, 0, "", ha="center", va="center", fontsize="x-small", bbox=dict(box),
                                   zorder=3, visible=False) for _ in range(N_MAX + 1)]
        self.arrows = []
        for _ in range(2 * N_MAX):
            arrow = FancyArrowPatch((0, 0), (1, 0), arrowstyle="-|>", mutation_scale=9, shrinkA=1,
                                    shrinkB=1, color="0.45", linewidth=0.9, visible=False, zorder=2)
            ax.add_patch(arrow)
            self.arrows.append(arrow)
        self.root_note = ax.text(0, 0, "y.grad_fn", ha="center", va="bottom", fontsize="x-small",
                                 color=style.color(5), visible=False)
        self.leaf_note = ax.text(0.5, 0.5, "", ha="center", va="center", transform=ax.transAxes,
                                 fontsize="small", visible=False)

        g = self.ax_grad
        (self.line_formula,) = g.plot([], [], color=style.color(1), label="(n + 1) xⁿ")
        (self.dots_autograd,) = g.plot([], [], "o", markersize=3, color=style.color(0),
                                       label="x.grad from autograd (a grid of x)")
        (self.mark_x,) = g.plot([], [], "*", markersize=13, color=style.color(5), zorder=5,
                                label="your x")
        g.set(xlabel="x", ylabel="dy/dx", xlim=X_RANGE)
        g.legend(loc="upper left", fontsize="x-small")

    def draw(self, r: AutogradGraphResult):
        s, graph = r.settings, r.graph
        pos = layout(graph)
        short = graph.n_nodes > 7                      # 13 full names do not fit in one row
        for i, text in enumerate(self.node_texts):
            if i < graph.n_nodes:
                name = graph.names[i]
                if name == "AccumulateGrad":
                    label = "AccumulateGrad\n→ x.grad"
                else:
                    label = name.replace("Backward0", "") if short else name.replace("Backward", "\nBackward")
                text.set_text(label)
                text.set_position(pos[i])
                text.set_visible(True)
            else:
                text.set_visible(False)
        seen = {}
        for e, arrow in enumerate(self.arrows):
            if e < len(graph.edges):
                i, j = graph.edges[e]
                repeat = seen.get((i, j), 0)
                seen[(i, j)] = repeat + 1
                arrow.set_positions(tuple(pos[i]), tuple(pos[j]))
                arrow.set_patchA(self.node_texts[i].get_bbox_patch())    # start and end at the boxes' edges
                arrow.set_patchB(self.node_texts[j].get_bbox_patch())
                arrow.set_connectionstyle(f"arc3,rad={0.25 * repeat}")   # x * x: two edges, two arcs
                arrow.set_visible(True)
            else:
                arrow.set_visible(False)
        ax = self.ax_graph
        if graph.n_nodes:
            width = max(abs(pos[:, 0]).max(), 1.0)
            ax.set_xlim(-width - 0.8, width + 0.8)
            ax.set_ylim(-0.45, 1.55)
            self.root_note.set_position((pos[0, 0], pos[0, 1] + 0.3))
            self.root_note.set_visible(True)
            self.leaf_note.set_visible(False)
            counts = graph.counts
            names = " (Mul = MulBackward0)" if short else ""
            ax.set_title(f"n = {s.n}: {counts.get('MulBackward0', 0)} × MulBackward0 + "
                         f"{counts.get('AccumulateGrad', 0)} × AccumulateGrad = {graph.n_nodes} nodes, "
                         f"{len(graph.edges)} edges{names}\n"
                         "backward runs along the arrows, from y.grad_fn to x.grad",
                         fontsize="small")
        else:
            self.root_note.set_visible(False)
            self.leaf_note.set_text("n = 0: y is x itself, a leaf. No operation ran, so there is no\n"
                                    "graph (y.grad_fn is None); y.backward() puts 1 into x.grad.")
            self.leaf_note.set_visible(True)
            ax.set_title("n = 0: 0 nodes", fontsize="small")

        self.line_formula.set_data(r.grid, r.grid_formula)
        self.dots_autograd.set_data(r.grid[::8], r.grid_grad[::8])
        self.mark_x.set_data([s.x], [r.grad])
        lo, hi = float(np.min(r.grid_formula)), float(np.max(r.grid_formula))
        pad = 0.08 * (hi - lo) if hi > lo else 0.5
        self.ax_grad.set_ylim(lo - pad, hi + pad)
        self.ax_grad.set_title(f"y = x^{s.n + 1}: x.grad = {r.grad:.6g} at x = {s.x:g};  "
                               f"(n + 1)xⁿ = {r.formula:.6g}", fontsize="small")

    def controls(self):
        import ipywidgets as W

        s = self.settings
        return {
            "n": W.IntSlider(value=s.n, min=0, max=N_MAX, description="loop count n", continuous_update=False,
                             style={"description_width": "90px"}),
            "x": W.FloatSlider(value=s.x, min=X_RANGE[0], max=X_RANGE[1], step=0.1, description="x",
                               continuous_update=False, style={"description_width": "90px"}),
        }
