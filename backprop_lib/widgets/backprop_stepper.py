"""BackpropStepper: the backward pass of a small graph, one node per click.

Backpropagation visits the nodes in reverse topological order (the output first, every node
after all the nodes that use it) and gives each one its gradient by the chain rule:

    n.grad = Σ over the users u of n   (∂u/∂n) · u.grad
             ───────────────────────   ───────   ──────
             one term per path out     local     upstream
             of n (fan-out: a sum)     derivative gradient

Step 0 is the forward pass alone (every value known, no gradient); step k has revealed the
gradients of the first k nodes of that order; the last step is ``Value.backward()``'s result.
The stepper computes each gradient itself from a table of local derivatives (it does not call
the nodes' ``_backward``), so the tests can check it against ``Value.backward()`` and PyTorch.

    ex = bp.widgets.BackpropStepper(graph="network")
    ex.next(); ex.next(); ex.back(); ex.reset()      # or the buttons, or ex.set(step=5)
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

from .._validate import check_choice
from ..autodiff.value import Value
from ..viz import style
from ..viz.graph import BOX_W, _node_text, draw_graph, graph_layout
from .base import Explorer

GRAPHS = ("expression", "network")


# -- the graphs -----------------------------------------------------------------------------------
def _leaf(data: float, label: str) -> Value:
    return Value(data, label=label)


def _named(node: Value, label: str) -> Value:
    node.label = label
    return node


def build_expression() -> Value:
    """One sigmoid neuron whose output feeds two nodes (fan-out at a):

        z = w1·x1 + w2·x2 + b,   a = σ(z),   z′ = w3·a,   z″ = w4·a,   L = z′ + z″
    """
    x1, x2 = _leaf(1.0, "x1"), _leaf(-2.0, "x2")
    w1, w2, b = _leaf(0.5, "w1"), _leaf(-0.3, "w2"), _leaf(0.1, "b")
    w3, w4 = _leaf(1.5, "w3"), _leaf(-2.0, "w4")
    s = _named(_named(w1 * x1, "w1x1") + _named(w2 * x2, "w2x2"), "s")
    z = _named(s + b, "z")
    a = _named(z.sigmoid(), "a")
    return _named(_named(w3 * a, "z′") + _named(w4 * a, "z″"), "L")


def build_network() -> Value:
    """A 2-2-1 network with tanh hidden units and a squared error, written with Values (each
    input feeds both hidden units: fan-out at x1 and x2):

        h_j = tanh(w_j1·x1 + w_j2·x2 + b_j),   ŷ = v1·h1 + v2·h2 + c,   L = (ŷ − y)²
    """
    x = [_leaf(0.5, "x1"), _leaf(-1.0, "x2")]
    w = [[_leaf(0.4, "w11"), _leaf(-0.6, "w12")], [_leaf(0.9, "w21"), _leaf(0.2, "w22")]]
    b = [_leaf(0.1, "b1"), _leaf(-0.2, "b2")]
    v, c, y = [_leaf(1.2, "v1"), _leaf(-0.7, "v2")], _leaf(0.05, "c"), _leaf(1.0, "y")
    h = []
    for j in range(2):
        p1, p2 = _named(w[j][0] * x[0], f"w{j + 1}1x1"), _named(w[j][1] * x[1], f"w{j + 1}2x2")
        z = _named(_named(p1 + p2, f"s{j + 1}") + b[j], f"z{j + 1}")
        h.append(_named(z.tanh(), f"h{j + 1}"))
    out = _named(_named(_named(v[0] * h[0], "v1h1") + _named(v[1] * h[1], "v2h2"), "u") + c, "ŷ")
    return _named(_named(out - y, "e") ** 2, "L")


BUILDERS = {"expression": build_expression, "network": build_network}


@functools.cache
def n_steps(graph: str) -> int:
    """Steps of the backward pass of ``graph``: one per node."""
    return len(BUILDERS[check_choice(graph, "graph", GRAPHS)]().graph()[0])


# -- local derivatives --------------------------------------------------------------------------
def name(node: Value) -> str:
    """A node's name in the formulas: its label, else its value."""
    return node.label or f"{node.data:.4g}"


def _num(x: float) -> str:
    """A number in a formula, negative ones in parentheses."""
    return f"({x:.4g})" if x < 0 else f"{x:.4g}"


def local_derivative(user: Value, slot: int) -> tuple[float, str]:
    """∂user/∂(its input number ``slot``), as (value, formula): the chain rule's local factor."""
    op, ins, out = user._op, user._prev, user.data
    p = ins[slot]
    if op == "+":
        return 1.0, "1"
    if op == "-":
        return (1.0, "1") if slot == 0 else (-1.0, "−1")
    if op == "*":                                        # ∂(ab)/∂a = b
        other = ins[1 - slot]
        return other.data, name(other)
    if op == "/":                                        # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b²
        a, b = ins
        return (1 / b.data, f"1/{name(b)}") if slot == 0 else (-a.data / b.data**2, f"−{name(a)}/{name(b)}²")
    if op.startswith("**"):                              # ∂(p^k)/∂p = k p^(k−1)
        k = float(op[2:])
        return k * p.data ** (k - 1), f"{k:g}·{name(p)}" + (f"^{k - 1:g}" if k != 2 else "")
    if op.endswith("**"):                                # ∂(b^p)/∂p = b^p ln b
        base = float(op[:-2])
        return out * math.log(base), f"{name(user)}·ln {base:g}"
    if op == "exp":                                      # ∂e^p/∂p = e^p
        return out, name(user)
    if op == "log":                                      # ∂ln p/∂p = 1/p
        return 1 / p.data, f"1/{name(p)}"
    if op == "tanh":                                     # ∂tanh p/∂p = 1 − tanh² p
        return 1 - out**2, f"(1 − {name(user)}²)"
    if op == "sigmoid":                                  # ∂σ(p)/∂p = σ(p)(1 − σ(p))
        return out * (1 - out), f"{name(user)}(1 − {name(user)})"
    if op == "relu":                                     # 1 if p > 0 else 0
        return (1.0 if p.data > 0 else 0.0), f"[{name(p)} > 0]"
    if op == "neg":
        return -1.0, "−1"
    raise ValueError(f"the stepper has no local derivative for operation {op!r}; "
                     "build the graph from + - * / ** exp log tanh sigmoid relu and negation.")


# -- settings, result, compute --------------------------------------------------------------------
@dataclass(frozen=True)
class BackpropStepperSettings:
    """graph: "expression" (one sigmoid neuron feeding two nodes) or "network" (2-2-1 tanh with
    a squared error); step: 0 (forward pass only) to the number of nodes (backward pass done)."""

    graph: str = "expression"
    step: int = 0

    def __post_init__(self):
        object.__setattr__(self, "graph", check_choice(self.graph, "graph", GRAPHS))
        n = n_steps(self.graph)
        if isinstance(self.step, bool) or not isinstance(self.step, numbers.Integral):
            raise TypeError(f"step must be an integer from 0 to {n}; got {self.step!r} "
                            f"({type(self.step).__name__}).")
        if not 0 <= self.step <= n:
            raise ValueError(f"step must be an integer from 0 (forward pass only) to {n} (every node of the "
                             f"{self.graph} graph has its gradient); got {self.step}.")
        object.__setattr__(self, "step", int(self.step))


@dataclass(frozen=True)
class Term:
    """One path out of a node: ``local`` (∂user/∂node, with its ``formula``) × ``user.grad``."""

    user: Value
    local: float
    formula: str
    upstream: float

    @property
    def value(self) -> float:
        return self.local * self.upstream


@dataclass(frozen=True)
class Step:
    """The gradient of one node: the sum of its terms (the output's is the seed 1)."""

    node: Value
    terms: tuple
    grad: float

    @property
    def merges(self) -> bool:
        """True where paths merge: the node feeds more than one term (fan-out → a sum)."""
        return len(self.terms) > 1

    def explain(self) -> tuple[str, str]:
        """The computation as two lines: the formula and the numbers."""
        n = name(self.node)
        if not self.terms:
            return f"{n}.grad = ∂{n}/∂{n} = 1", "(the seed: the output's derivative with respect to itself)"
        formula = " + ".join(f"{name(t.user)}.grad·{t.formula}" for t in self.terms)
        numbers_ = " + ".join(f"{_num(t.upstream)}·{_num(t.local)}" for t in self.terms)
        return f"{n}.grad = {formula}", f"{' ' * len(n)}      = {numbers_} = {self.grad:.6g}"


@dataclass(frozen=True)
class StepperResult:
    """output: the graph's output Value (fresh for this result; revealed nodes carry their grad);
    nodes: every node in topological order; steps: one ``Step`` per node, in the order the
    backward pass visits them (reverse topological); step: how many are revealed; message: None.
    """

    settings: BackpropStepperSettings
    output: Value
    nodes: list
    steps: list
    step: int
    message: str | None = None

    @property
    def order(self) -> list:
        """The nodes in the order the backward pass visits them."""
        return [s.node for s in self.steps]

    @property
    def revealed(self) -> list:
        return self.order[: self.step]

    @property
    def current(self) -> Step | None:
        """The step just taken (None before the first)."""
        return self.steps[self.step - 1] if self.step else None

    @property
    def n_steps(self) -> int:
        return len(self.steps)


def backward_steps(output: Value) -> list[Step]:
    """The backward pass of ``output``'s graph as a list of steps, from the local-derivative table:
    each node's grad is Σ local·upstream over every input slot through which its users use it."""
    nodes, _ = output.graph()
    users = {id(n): [] for n in nodes}
    for u in nodes:
        for slot, p in enumerate(u._prev):
            users[id(p)].append((u, slot))
    grad, steps = {}, []
    for node in reversed(nodes):                         # outputs before inputs
        if node is output:
            steps.append(Step(node, (), 1.0))
            grad[id(node)] = 1.0                         # dL/dL = 1
            continue
        terms = []
        for u, slot in users[id(node)]:
            local, formula = local_derivative(u, slot)
            terms.append(Term(u, local, formula, grad[id(u)]))   # u came earlier: its grad is final
        g = math.fsum(t.value for t in terms)            # paths merge: their contributions add
        grad[id(node)] = g
        steps.append(Step(node, tuple(terms), g))
    return steps


def compute_stepper(settings: BackpropStepperSettings) -> StepperResult:
    """Build the setting's graph (a fresh one), run the forward pass, work out every step of the
    backward pass, and set ``.grad`` on the nodes revealed so far (0 on the others). Pure."""
    if not isinstance(settings, BackpropStepperSettings):
        raise TypeError(f"settings must be a BackpropStepperSettings; got {type(settings).__name__}.")
    output = BUILDERS[settings.graph]()
    nodes, _ = output.graph()
    steps = backward_steps(output)
    for node in nodes:
        node.grad = 0.0
    for s in steps[: settings.step]:
        s.node.grad = s.grad
    return StepperResult(settings=settings, output=output, nodes=nodes, steps=steps, step=settings.step)


# -- the view -------------------------------------------------------------------------------------
CAPTION = ("boxes: blue = input or parameter, grey = operation, orange = output; thick outline = the node "
           "of this step; red arrows = gradient flowing back from its users (× local derivative)")


class BackpropStepper(Explorer):
    """A small graph whose backward pass advances one node per click: the node of the step is
    outlined, the gradient arriving from each of its users is drawn as a red arrow labelled with
    the local derivative, and the text below spells out local derivative × upstream gradient and
    the sum where paths merge.

    ``BackpropStepper(graph="network").set(step=3)``; ``.next()``, ``.back()``, ``.reset()``.
    """

    Settings = BackpropStepperSettings
    title = "Backpropagation, one node at a time"
    compute = staticmethod(compute_stepper)

    # -- driving it --------------------------------------------------------------------
    def set(self, **changes):
        """As ``Explorer.set``; a new graph starts again from step 0 unless a step is given."""
        if "graph" in changes and "step" not in changes:
            changes["step"] = 0
        return super().set(**changes)

    def next(self):
        """One more node (no-op when the backward pass is done)."""
        return self.set(step=min(self.settings.step + 1, n_steps(self.settings.graph)))

    def back(self):
        """One node less (no-op at step 0)."""
        return self.set(step=max(self.settings.step - 1, 0))

    def reset(self):
        """Back to the forward pass (step 0)."""
        return self.set(step=0)

    # -- the view --------------------------------------------------------------------------
    def make_figure(self, fig):
        # A fixed layout: a redraw skips the constrained-layout solve, which would measure every
        # text of the graph once more.
        fig.set_layout_engine("none")
        fig.set_size_inches((15.0, 9.5) if self.theme == "presentation" else (11.0, 7.0))
        self.ax_graph = fig.add_axes((0.01, 0.25, 0.98, 0.67))
        self.ax_text = fig.add_axes((0.01, 0.01, 0.98, 0.21))
        self.ax_text.set_axis_off()
        self.text = self.ax_text.text(0.0, 1.0, "", transform=self.ax_text.transAxes, ha="left", va="top",
                                      family="monospace", fontsize="medium")
        self.caption = self.ax_text.text(0.0, 0.0, CAPTION, transform=self.ax_text.transAxes, ha="left",
                                         va="bottom", fontsize="x-small", color="0.35", wrap=True)

    def draw(self, r: StepperResult):
        from matplotlib.patches import FancyArrowPatch

        ax = self.ax_graph
        if getattr(self, "_drawn", None) != r.settings.graph:
            self._draw_graph(r)
        # update the boxes in place (a new draw_graph per step would rebuild every artist)
        revealed = {id(n) for n in r.revealed}
        current = r.current
        for node, text, box in zip(r.nodes, self._texts, self._boxes, strict=True):
            text.set_text(_node_text(node, id(node) in revealed))
            on = current is not None and node is current.node
            box.set_edgecolor(self._box_style[on][0])
            box.set_linewidth(self._box_style[on][1])
        for artist in self._overlay:
            artist.remove()
        self._overlay = []
        if current is not None and current.terms:
            index = {id(n): i for i, n in enumerate(r.nodes)}
            xn, yn = self._positions[index[id(current.node)]]
            for t in current.terms:                       # the gradient flows back from each user
                xu, yu = self._positions[index[id(t.user)]]
                self._overlay.append(ax.add_patch(FancyArrowPatch(
                    (xu - BOX_W / 2, yu), (xn + BOX_W / 2, yn), arrowstyle="-|>", mutation_scale=16,
                    connectionstyle="arc3,rad=0.35", color=style.color(5), linewidth=2.2, zorder=4)))
                self._overlay.append(ax.text(
                    (xu + xn) / 2, (yu + yn) / 2 - 0.3, f"×{t.formula}", ha="center", va="top",
                    fontsize="small", color=style.color(5), zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
                          "alpha": 0.85}))
        ax.set_title(self._headline(r), fontsize="medium")
        self.text.set_text(self._explanation(r))

    def _draw_graph(self, r: StepperResult):
        """Draw the graph once per graph with ``bp.viz.draw_graph`` and keep its boxes and texts
        (in ``r.nodes`` order) and the outline styles it gives a highlighted and a plain node."""
        from matplotlib.patches import FancyBboxPatch

        ax = self.ax_graph
        ax.clear()
        draw_graph(r.output, ax=ax, highlight=[r.output], show_grad=False, theme=self.theme)
        layout = graph_layout(r.output)
        boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
        texts = list(ax.texts)
        if not (len(boxes) == len(texts) == len(layout.nodes) == len(r.nodes)):
            raise RuntimeError("draw_graph drew an unexpected set of artists; the stepper cannot update it.")
        plain = next(b for b, n in zip(boxes, layout.nodes, strict=True) if n is not r.output)
        lit = boxes[-1] if layout.nodes[-1] is r.output else boxes[layout.nodes.index(r.output)]
        self._box_style = {False: (plain.get_edgecolor(), plain.get_linewidth()),
                           True: (lit.get_edgecolor(), lit.get_linewidth())}
        self._boxes, self._texts = boxes, texts
        self._fit_text(r)
        self._positions = [layout.positions[n] for n in layout.nodes]
        self._overlay = []
        self._drawn = r.settings.graph

    def _fit_text(self, r: StepperResult, most: float = 2.0) -> None:
        """Enlarge the boxes' text (up to ``most``×) while the widest text, with a long grad such as
        "grad -1.234e-05", still fits its box: draw_graph sizes it for the smallest room."""
        renderer = self.fig.canvas.get_renderer()
        self._drawn_fontsize = min(t.get_fontsize() for t in self._texts)    # what draw_graph chose
        scale = most
        for node, text, box in zip(r.nodes, self._texts, self._boxes, strict=True):
            text.set_text(_node_text(node, False).replace("grad ?", f"grad {-1.234e-05:.4g}"))
            tw, th = text.get_window_extent(renderer).size
            bw, bh = box.get_window_extent(renderer).size
            if tw > 0 and th > 0:
                scale = min(scale, 0.9 * bw / tw, 0.85 * bh / th)
        if scale > 1.05:
            for text in self._texts:
                text.set_fontsize(text.get_fontsize() * scale)

    @staticmethod
    def _headline(r: StepperResult) -> str:
        graph = "z = w1·x1 + w2·x2 + b, a = σ(z), L = w3·a + w4·a" if r.settings.graph == "expression" \
            else "2-2-1 network: h = tanh(Wx + b), ŷ = v·h + c, L = (ŷ − y)²"
        if r.step == 0:
            where = "step 0: forward pass only"
        elif r.step == r.n_steps:
            where = f"step {r.step}/{r.n_steps}: backward pass done"
        else:
            where = f"step {r.step}/{r.n_steps}: {name(r.current.node)}"
        return f"{graph}\n{where}"

    @staticmethod
    def _explanation(r: StepperResult) -> str:
        if r.current is None:
            return ("Forward pass done: every value is known, no gradient yet (grad ?).\n"
                    f"Press next ▶: the backward pass starts at the output, {name(r.output)}.grad = 1.")
        formula, numbers_ = r.current.explain()
        lines = [formula, numbers_]
        s = r.current
        if s.merges:
            lines.append(f"{name(s.node)} feeds {len(s.terms)} nodes: the paths merge here, so their "
                         "contributions add up.")
        elif s.terms:
            lines.append("local derivative × upstream gradient (one path).")
        if r.step == r.n_steps:
            lines.append("Done: these are the gradients Value.backward() computes.")
        else:
            lines.append(f"next ▶: {name(r.steps[r.step].node)}")
        return "\n".join(lines)

    # -- controls --------------------------------------------------------------------------
    def controls(self):
        import ipywidgets as W

        s = self.settings
        label = {"description_width": "60px"}
        return {
            "graph": W.ToggleButtons(options=GRAPHS, value=s.graph, description="graph", style=label),
            "step": W.IntSlider(value=s.step, min=0, max=n_steps(s.graph), description="step",
                                continuous_update=False, style=label),
        }

    def _sync_controls(self):
        if "step" in self._widgets:                      # a new graph has another number of steps
            self._syncing = True                         # (a shorter slider clamps its value: not a move)
            try:
                self._widgets["step"].max = n_steps(self.settings.graph)
            finally:
                self._syncing = False
        super()._sync_controls()

    def extra_controls(self):
        import ipywidgets as W

        buttons = []
        for text, action in (("◀ back", self.back), ("next ▶", self.next), ("reset", self.reset)):
            button = W.Button(description=text, layout=W.Layout(width="90px"))
            button.on_click(lambda _b, act=action: act())
            buttons.append(button)
        self._buttons = buttons
        return [W.HBox(buttons)]
