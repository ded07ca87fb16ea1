"""Benchmark: compute and redraw time of every explorer in ``bp.widgets``, at default and worst settings.

For each row (an explorer and a list of settings, cycled through the repeats):

* compute cold: ``Explorer.compute(Settings(**s))`` after ``clear_cache()`` (explorers that memoise
  part of their work, e.g. the finite-difference curve or the MLP's sharpness, offer it): the
  cost of the first move of a slider that invalidates the cache;
* compute warm: the same without clearing (a slider that reuses the cache, e.g. h or lr);
* redraw: ``explorer._render()``: ``draw(result)`` updating the artists in place plus the Agg
  render of the whole figure (what the kernel does for an ipympl canvas, before the PNG is sent);
* compute + redraw: ``explorer._refresh()`` (cold), the path every ``set()`` and control takes.

Figures are medians of ``--repeats`` (>= 7). The reference, measured in the same run, is an Agg
draw of a blank figure of the explorer's size with one empty axes ("redraw / blank"): on a slow
machine every explorer is slow, the ratio says how much of the time the figure's content costs.
Goals (issue 5): compute <= 50 ms and compute + redraw <= 100 ms for explorers 1, 2, 5, 6, 7
(Activation, GradientFlow at depth 50 / width 128 / batch 128, LearningRate, FiniteDifference,
BackpropStepper); the playground's goal (steps per second) is measured by bench_playground.py.

Explorers listed in ``ENTRIES`` that are not (yet) in ``bp.widgets`` are skipped; settings an
explorer refuses are reported and skipped.

    .venv/bin/python benchmarks/bench_widgets.py [--repeats 7] [--only LearningRateExplorer]

``make bench`` runs it with the Makefile's MALLOC_ENV, as ``make lab`` runs the course's kernels:
without it glibc returns freed memory to the OS after each update and the next compute faults it
in again (GradientFlowExplorer at depth 50: up to ~1.5x slower).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import backprop_lib as bp  # noqa: E402

COMPUTE_GOAL_MS, TOTAL_GOAL_MS = 50.0, 100.0


@dataclass
class Entry:
    """An explorer by name, its rows ``{label: [settings, ...]}`` and whether issue 5 sets it a goal."""

    name: str
    rows: dict
    goal: bool = False
    note: str = ""


ENTRIES = [
    Entry("ActivationExplorer", {"default": [{}], "worst": [{"name": "gelu", "x_min": -50.0, "x_max": 50.0}]},
          goal=True),
    Entry("GradientFlowExplorer", {"default": [{}], "worst": [{"depth": 50, "width": 128, "batch_size": 128}],
                                   "worst + bn + residual": [{"depth": 50, "width": 128, "batch_size": 128,
                                                              "batch_norm": True, "residual": True}]},
          goal=True),
    Entry("TrainingPlayground", {"default": [{}], "worst": [{"hidden": (64,) * 10, "activation": "relu",
                                                             "init": "he", "n": 1000}]},
          note="compute = a new PlaygroundSession; its goal (steps/s) is in bench_playground.py"),
    Entry("OptimizerRace", {"default": [{}], "worst": [{"surface": "rosenbrock", "steps": 2000}]},
          note="worst: Rosenbrock, every optimizer, the most steps"),
    Entry("LearningRateExplorer", {"default": [{}], "worst": [{"problem": "mlp", "steps": 200}]}, goal=True),
    Entry("FiniteDifferenceExplorer", {"default": [{}], "worst": [{"function": "tanh", "method": "central",
                                                                   "dtype": "float32"}]}, goal=True),
    Entry("BackpropStepper", {"default": [{}], "worst": [{"graph": "network", "step": 26}],
                              "switch graph": [{"graph": "network"}, {"graph": "expression"}]}, goal=True),
    Entry("NTKExplorer", {"default": [{}], "width 4096, depth 1": [{"width": 4096}],
                          "worst": [{"width": 2048, "depth": 2, "steps": 49}]},
          note="worst: the most work its budget allows (2048 wide, 2 hidden layers, 49 steps)"),
]


def median_ms(fn, repeats: int, before=None) -> float:
    times = []
    for i in range(repeats):
        if before is not None:
            before(i)
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def blank_ms(size, repeats: int) -> float:
    """Agg draw of a blank figure of ``size`` inches with one empty axes (the reference)."""
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    fig.add_subplot()
    fig.canvas.draw()
    return median_ms(lambda _i: fig.canvas.draw(), repeats)


def bench_row(cls, rows: list, repeats: int):
    clear = getattr(cls, "clear_cache", None)
    settings = [cls.Settings(**kw) for kw in rows]

    def cold(_i):
        if clear is not None:
            clear()

    def compute(i):
        cls.compute(settings[i % len(settings)])

    t_cold = median_ms(compute, repeats, before=cold)
    compute(0)
    t_warm = median_ms(compute, repeats)
    ex = cls(**rows[0])
    ex.fig.canvas.draw()                                 # first draw (fonts, caches) out of the timing

    def refresh(i):
        ex.settings = settings[i % len(settings)]
        ex._refresh()

    def render(i):
        ex._render()

    t_total = median_ms(refresh, repeats, before=cold)
    t_draw = median_ms(render, repeats)
    t_blank = blank_ms(tuple(ex.fig.get_size_inches()), repeats)
    return t_cold, t_warm, t_draw, t_total, t_blank


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", nargs="*", help="explorer names to run (default: all present)")
    args = parser.parse_args()
    repeats = max(args.repeats, 7)

    print(f"median of {repeats} runs; ms; cold = after clear_cache(); goals: compute <= {COMPUTE_GOAL_MS:g}, "
          f"compute + redraw <= {TOTAL_GOAL_MS:g} (explorers 1, 2, 5, 6, 7)")
    head = (f"{'explorer':26s} {'setting':22s} {'compute':>8s} {'warm':>7s} {'redraw':>7s} "
            f"{'comp+redraw':>11s} {'blank':>6s} {'redraw/blank':>12s}  goal")
    print(head)
    print("-" * len(head))
    for entry in ENTRIES:
        if args.only and entry.name not in args.only:
            continue
        cls = getattr(bp.widgets, entry.name, None)
        if cls is None:
            print(f"{entry.name:26s} (not in bp.widgets yet: skipped)")
            continue
        for label, rows in entry.rows.items():
            try:
                t_cold, t_warm, t_draw, t_total, t_blank = bench_row(cls, rows, repeats)
            except (TypeError, ValueError) as err:
                print(f"{entry.name:26s} {label:22s} settings refused ({err}); skipped")
                continue
            if entry.goal:
                ok = t_cold <= COMPUTE_GOAL_MS and t_total <= TOTAL_GOAL_MS
                partly = "compute met, redraw not" if t_cold <= COMPUTE_GOAL_MS else "NOT met"
                verdict = "met" if ok else partly
            else:
                verdict = "-"
            print(f"{entry.name:26s} {label:22s} {t_cold:8.1f} {t_warm:7.1f} {t_draw:7.1f} {t_total:11.1f} "
                  f"{t_blank:6.1f} {t_draw / t_blank:12.1f}  {verdict}")
        if entry.note:
            print(f"{'':26s} note: {entry.note}")


if __name__ == "__main__":
    main()
