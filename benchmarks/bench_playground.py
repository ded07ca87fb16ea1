"""Benchmark: training steps per second of the TrainingPlayground while it updates its figure.

For each setting, one repeat resets the playground and plays ``--steps`` steps the way the Play
button does (frames of ``steps_per_frame`` steps, each followed by a full redraw: the view's
``set_data`` updates and an Agg render of the whole figure, which is what the kernel does for
an ipympl canvas), from code: ``pg.play(steps=N, background=False)``. The reference is the
same steps without any figure (``PlaygroundSession.step``), measured in the same run,
interleaved. Also: the redraw alone (ms per frame), the PNG encoding the Output-widget path
adds per frame, and training without the one-BLAS-thread limit the session applies.

    .venv/bin/python benchmarks/bench_playground.py [--repeats 5] [--steps 100] [--quick]

Figures are medians of ``--repeats`` (>= 5). Goal: >= 20 steps/s on the default setting
while redrawing every frame.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import backprop_lib.widgets.playground.session as session_module  # noqa: E402
from backprop_lib.widgets.playground import PlaygroundSession, TrainingPlayground, preset_settings  # noqa: E402

GOAL = 20.0
SETTINGS = {
    "default (moons, 2-8-8-2 tanh, adam)": {},
    "preset 'vanishing sigmoid' (6×8)": preset_settings("vanishing sigmoid").__dict__,
    "preset 'spiral' (7 features, 3×8, n=400)": preset_settings("spiral").__dict__,
    "largest (10×64 relu, n=1000)": dict(hidden=(64,) * 10, activation="relu", init="he", n=1000),
}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="the default setting only")
    args = parser.parse_args()
    repeats, steps = max(args.repeats, 5), args.steps
    names = list(SETTINGS)[:1] if args.quick else list(SETTINGS)

    print(f"{steps} steps per repeat, median of {repeats}; steps/s while redrawing vs training alone")
    print(f"{'setting':44s} {'frame':>5s} {'play steps/s':>12s} {'train steps/s':>13s} {'ratio':>6s} "
          f"{'redraw ms':>9s} {'png ms':>6s} {'BLAS free/1':>11s}")
    for name in names:
        kwargs = {k: v for k, v in SETTINGS[name].items() if k != "data"}
        kwargs["max_steps"] = None
        pg = TrainingPlayground(**kwargs)
        session = PlaygroundSession(pg.settings)
        t_play, t_train, t_free, t_draw, t_png = [], [], [], [], []
        pg.play(steps=pg.steps_per_frame, background=False)            # warm-up
        session.step(steps)
        play = lambda pg=pg: pg.play(steps=steps, background=False)        # noqa: E731
        train = lambda session=session: session.step(steps)                # noqa: E731
        for _ in range(repeats):
            pg.reset()
            t_play.append(_timed(play))
            session.reset()
            t_train.append(_timed(train))
            session.reset()
            limit = session_module._one_blas_thread
            session_module._one_blas_thread = contextlib.nullcontext
            try:
                t_free.append(_timed(train))
            finally:
                session_module._one_blas_thread = limit
            t_draw.append(_timed(pg._render))
            t_png.append(_timed(pg.canvas_png))
        rate_play = steps / statistics.median(t_play)
        rate_train = steps / statistics.median(t_train)
        rate_free = steps / statistics.median(t_free)
        print(f"{name:44s} {pg.steps_per_frame:5d} {rate_play:12.1f} {rate_train:13.1f} "
              f"{rate_play / rate_train:6.3f} {1e3 * statistics.median(t_draw):9.0f} "
              f"{1e3 * statistics.median(t_png):6.0f} {rate_free / rate_train:11.2f}")
        if name.startswith("default"):
            verdict = "met" if rate_play >= GOAL else "NOT met"
            print(f"  goal >= {GOAL:g} steps/s while redrawing (default setting): {verdict}")


if __name__ == "__main__":
    main()
