"""The computational graph of a ``bp.autodiff.Value``, drawn with matplotlib only.

Inputs on the left, the output on the right. An inner node's column is the length of the
longest path from the inputs to it; a leaf (input or constant) sits one column before its
first use, so a constant used late does not stretch an arrow across the whole figure.
Each node is a box showing its operation, ``data`` and ``grad``; each edge an arrow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .style import PALETTE, new_axes, themed

BOX_W, BOX_H = 0.8, 0.72  # box size in data units; columns and rows are 1 unit apart
MAX_FIG_W, MAX_FIG_H = 22.0, 14.0  # inches; larger graphs get a smaller font instead


@dataclass(frozen=True)
class GraphLayout:
    """``nodes`` in topological order, ``edges`` as (input, output) pairs, and
    ``positions[node] = (column, row)`` in data coordinates."""

    nodes: list
    edges: list
    positions: dict

    @property
    def n_columns(self) -> int:
        return int(max(x for x, _ in self.positions.values())) + 1

    @property
    def n_rows(self) -> int:
        columns = [x for x, _ in self.positions.values()]
        return max(columns.count(c) for c in set(columns))


def _check_value(value):
    from ..autodiff.value import Value  # viz depends on autodiff, never the reverse

    if not isinstance(value, Value):
        raise TypeError(
            f"value must be a bp.autodiff.Value (the output of a computation); got {type(value).__name__}. "
            "Build the expression with Value objects, e.g. x = Value(2.0); draw_graph(x * x)."
        )


def graph_layout(value) -> GraphLayout:
    """Column and row of every node of ``value``'s graph (see the module docstring)."""
    _check_value(value)
    nodes, edges = value.graph()
    users = {n: [] for n in nodes}
    for child, parent in edges:
        users[child].append(parent)

    column = {}
    for node in nodes:  # topological order: a node's inputs are placed before it
        # the length of the longest path from the leaves
        column[node] = 1 + max(column[c] for c in node._prev) if node._prev else 0
    for node in nodes:
        if not node._prev and users[node]:  # move each leaf next to its first use
            column[node] = min(column[u] for u in users[node]) - 1

    # Rows: start in topological order, then sort each column by the mean row of its
    # neighbours (the barycentre heuristic), sweeping left-right and right-left; this
    # removes most edge crossings.
    by_column = {}
    for node in nodes:
        by_column.setdefault(column[node], []).append(node)
    row = {}
    for members in by_column.values():
        _assign_rows(members, row)
    for _ in range(2):
        for c in sorted(by_column):
            _sort_column(by_column[c], row, users, look_left=True)
        for c in sorted(by_column, reverse=True):
            _sort_column(by_column[c], row, users, look_left=False)
    positions = {n: (float(column[n]), row[n]) for n in nodes}
    return GraphLayout(nodes=nodes, edges=edges, positions=positions)


def _assign_rows(members: list, row: dict) -> None:
    """Centre a column's nodes vertically, first member on top, one unit apart."""
    for i, node in enumerate(members):
        row[node] = (len(members) - 1) / 2 - i


def _sort_column(members: list, row: dict, users: dict, look_left: bool) -> None:
    """Order a column by the mean row of each node's inputs (or of its users)."""

    def mean_neighbour_row(node):
        inputs = [row[p] for p in dict.fromkeys(node._prev)]
        outputs = [row[u] for u in users[node]]
        near = (inputs or outputs) if look_left else (outputs or inputs)
        return sum(near) / len(near) if near else 0.0

    members.sort(key=mean_neighbour_row, reverse=True)  # highest row first
    _assign_rows(members, row)


def _node_set(nodes, name: str, graph_nodes: list) -> set:
    """Validate a collection of graph nodes given as ``highlight=`` or ``show_grad=``."""
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Iterable):
        raise TypeError(
            f"{name} must be a collection of Value nodes of the graph; got {type(nodes).__name__}."
        )
    members = {id(n) for n in graph_nodes}
    chosen = list(nodes)
    foreign = [n for n in chosen if id(n) not in members]
    if foreign:
        raise ValueError(
            f"{name} contains {len(foreign)} node(s) that are not in this graph (first: {foreign[0]!r}); "
            "pass nodes from value.graph()[0]."
        )
    return {id(n) for n in chosen}


def _node_text(node, show_grad: bool) -> str:
    if node._op:
        head = f"{node.label} = {node._op}" if node.label else node._op
    else:
        head = node.label or "leaf"
    grad = f"{node.grad:.4g}" if show_grad else "?"
    return f"{head}\ndata {node.data:.4g}\ngrad {grad}"


def draw_graph(value, ax=None, *, highlight=None, show_grad=True, theme: str = "default", title=None):
    """Draw the computational graph of ``value``; returns the figure.

    ``highlight``: nodes to outline (e.g. the node a backprop stepper is at).
    ``show_grad``: ``True`` (every grad), ``False`` (none: "grad ?") or a collection of
    nodes whose grad is revealed. Leaves are blue, inner nodes grey, the output orange.
    """
    layout = graph_layout(value)
    nodes = layout.nodes
    lit = set() if highlight is None else _node_set(highlight, "highlight", nodes)
    if isinstance(show_grad, bool):
        revealed = {id(n) for n in nodes} if show_grad else set()
    else:
        revealed = _node_set(show_grad, "show_grad", nodes)

    # Size the figure so that boxes hold 8-pt text; past MAX_FIG_* shrink the font instead.
    width, height = 1.5 * layout.n_columns + 0.4, 0.85 * layout.n_rows + 0.6
    if ax is None:
        scale = min(1.0, MAX_FIG_W / width, MAX_FIG_H / height)
        fig, ax = new_axes(theme=theme, figsize=(max(width * scale, 3.0), max(height * scale, 2.0)))
    else:  # the caller's axes: fit the font to the room it has
        fig = ax.figure
        box = ax.get_position()
        fig_w, fig_h = fig.get_size_inches()
        scale = min(1.0, fig_w * box.width / width, fig_h * box.height / height)
    fontsize = max(8.0 * scale, 2.0)

    with themed(theme):
        for child, parent in layout.edges:
            (xc, yc), (xp, yp) = layout.positions[child], layout.positions[parent]
            ax.add_patch(FancyArrowPatch(
                (xc + BOX_W / 2, yc), (xp - BOX_W / 2, yp), arrowstyle="-|>", mutation_scale=10,
                shrinkA=0, shrinkB=0, color="#555555", linewidth=1.0, zorder=1,
            ))
        for node in nodes:
            x, y = layout.positions[node]
            face = PALETTE[1] if node is value else (PALETTE[4] if not node._prev else "#DDDDDD")
            on = id(node) in lit
            ax.add_patch(FancyBboxPatch(
                (x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H, boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=face, edgecolor=PALETTE[5] if on else "#333333", linewidth=3.0 if on else 1.0,
                zorder=2,
            ))
            ax.text(x, y, _node_text(node, id(node) in revealed), ha="center", va="center",
                    fontsize=fontsize, family="monospace", zorder=3)

    ax.set_xlim(-0.6, layout.n_columns - 0.4)
    rows = [y for _, y in layout.positions.values()]
    ax.set_ylim(min(rows) - 0.6, max(rows) + 0.6)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig
