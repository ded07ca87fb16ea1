"""Instructor mode: write the Voilà dashboard notebook of the course's explorers.

``make demo`` runs this, then serves the notebook with Voilà, which shows only outputs: one
explorer per section, each in the ``presentation`` theme (larger fonts and figures), with a
heading between them. The notebook is generated, not committed, so the explorers the library
has when it is built are the ones on the dashboard (``NTKExplorer`` joins once it exists).

    python -m tools.build_dashboard [--out build/demo/dashboard.ipynb]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
DEFAULT_OUT = Path("build") / "demo" / "dashboard.ipynb"   # build/ is git-ignored

# (class name in bp.widgets, heading, what to ask the room), in the course's order.
EXPLORERS = [
    ("ActivationExplorer", "Activation functions",
     "Where does each activation's derivative vanish? Which ones are zero-centred?"),
    ("BackpropStepper", "Backpropagation, one node at a time",
     "Before each step: which node gets its gradient next, and what is it?"),
    ("FiniteDifferenceExplorer", "Finite differences",
     "Shrink the step h: why does the error fall, then rise again?"),
    ("LearningRateExplorer", "The learning rate",
     "Predict the learning rate at which gradient descent starts to oscillate, then to diverge."),
    ("OptimizerRace", "Optimizers race",
     "Which optimizer reaches the minimum first on a narrow valley? On a saddle?"),
    ("ScheduleViewer", "Learning-rate schedules",
     "Sketch the cosine schedule with warm-up before you switch to it."),
    ("GradientFlowExplorer", "Gradient flow through depth",
     "Add layers: which activation and initialisation keep the gradients alive?"),
    ("TrainingPlayground", "Training playground",
     "Press play: how do depth, width and learning rate change what the network learns?"),
    ("AutogradGraphExplorer", "PyTorch's backward graph",
     "How many nodes does a loop of n multiplications leave in the graph?"),
    ("CostExplorer", "The cost of backprop",
     "Double the depth: what happens to the FLOPs, and to the memory with checkpointing?"),
    ("PrecisionExplorer", "Floating-point precision",
     "Which gradients vanish in float16, and which loss scale rescues them?"),
    ("DoubleDescentExplorer", "Double descent",
     "Where will the test error peak as the number of features grows?"),
    ("NTKExplorer", "The neural tangent kernel",
     "Widen the network: how far do the weights move during training?"),
    ("AttentionExplorer", "Backprop through attention",
     "Turn off the 1/√d_k scaling: what happens to the attention weights and their gradient?"),
    ("ParallelExplorer", "Scaling out",
     "With 5% serial work, how much can 100 workers speed up a step?"),
    ("AlternativesExplorer", "Alternatives to backprop",
     "Can a network learn with a random matrix in place of Wᵀ?"),
]
# on the dashboard only when the library has them (the core explorers above are required)
OPTIONAL = {"NTKExplorer", "ScheduleViewer", "AutogradGraphExplorer", "CostExplorer", "PrecisionExplorer",
            "DoubleDescentExplorer", "AttentionExplorer", "ParallelExplorer", "AlternativesExplorer"}

# Voilà hides code, not the controls' size: larger widget fonts for the back of the room.
PRESENTATION_CSS = """<style>
:root, body {
  --jp-widgets-font-size: 18px;
  --jp-widgets-inline-height: 34px;
  --jp-widgets-inline-label-width: 130px;
  --jp-widgets-inline-width: 390px;
  --jp-content-font-size1: 18px;
}
.widget-hbox > .widget-vbox:first-child {
  flex: 0 0 400px; min-width: 400px !important; max-width: 400px !important;
}
</style>"""


def explorers_available(widgets) -> list[tuple[str, str, str]]:
    """The ``EXPLORERS`` entries that ``widgets`` (``bp.widgets``) provides.

    A missing required explorer is an error (the dashboard would silently lose a section)."""
    missing = [name for name, *_ in EXPLORERS if name not in OPTIONAL and not hasattr(widgets, name)]
    if missing:
        raise ValueError(f"bp.widgets has no {missing}; remove them from tools/build_dashboard.EXPLORERS "
                         "or restore them in backprop_lib/widgets/__init__.py.")
    return [entry for entry in EXPLORERS if hasattr(widgets, entry[0])]


def dashboard_notebook(widgets=None, theme: str = "presentation") -> nbformat.NotebookNode:
    """The dashboard: a hidden setup cell, then per explorer a markdown heading and one code
    cell that builds it with ``theme`` (``"default"`` only to compare the two)."""
    if theme not in ("default", "presentation"):
        raise ValueError(f"theme must be 'presentation' (or 'default', to compare), not {theme!r}.")
    if widgets is None:
        import backprop_lib as bp

        widgets = bp.widgets
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell("# Backprop, Interactively: live explorers\n\n"
                             "Every explorer of the course, large enough for a projector. "
                             "Move a control and the figure follows."),
        v4.new_code_cell("import backprop_lib as bp\nfrom IPython.display import HTML, display\n\n"
                         + (f"display(HTML({PRESENTATION_CSS!r}))" if theme == "presentation" else "")),
    ]
    for name, heading, question in explorers_available(widgets):
        cells.append(v4.new_markdown_cell(f"## {heading}\n\n*Ask the room:* {question}"))
        cells.append(v4.new_code_cell(f'bp.widgets.{name}(theme="{theme}")'))
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write_dashboard(out: Path = DEFAULT_OUT, widgets=None, theme: str = "presentation") -> Path:
    """Write the dashboard notebook to ``out`` (folders created) and return its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(dashboard_notebook(widgets, theme), out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"notebook to write ({DEFAULT_OUT})")
    args = parser.parse_args(argv)
    print(write_dashboard(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
