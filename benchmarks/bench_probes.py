"""Benchmark: what measuring costs. ``bp.probes.gradient_flow`` (a forward + backward pass
layer by layer, plus per-layer RMS, mean/std, histogram and saturation) against the plain
forward + loss + backward of the same network on the same batch, measured in the same run.

Setting: the GradientFlowExplorer's worst case in the issue (depth 50, width 128, batch 128,
tanh, Xavier init, MSE), float64. Each figure is the median of ``--repeats`` runs (>= 5),
the two interleaved so both see the same machine state. Also times ``activation_stats``
(forward only) against a plain forward pass.

    .venv/bin/python benchmarks/bench_probes.py [--repeats 15] [--threads 1]

Goal: gradient_flow / (forward + backward) <= 2.5 (the measuring itself costs at most
about as much as the pass it measures).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

import backprop_lib as bp

DEPTH, WIDTH, BATCH = 50, 128, 128
GOAL = 2.5


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    repeats = max(args.repeats, 5)

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(BATCH, WIDTH)), rng.normal(size=(BATCH, 1))
    net = bp.nn.mlp([WIDTH] * (DEPTH + 1) + [1], activation="tanh", init="xavier", seed=0)
    loss_fn = bp.nn.MSELoss()

    def plain():
        loss_fn(net(x), y)
        net.zero_grad()
        net.backward(loss_fn.backward())

    def probe():
        bp.probes.gradient_flow(net, loss_fn, x, y, lr=0.1)

    def forward():
        net(x)

    def stats():
        bp.probes.activation_stats(net, x)

    pairs = {"gradient_flow vs forward+backward": (probe, plain),
             "activation_stats vs forward": (stats, forward)}
    with threadpool_limits(args.threads):
        print(f"depth {DEPTH}, width {WIDTH}, batch {BATCH}, float64, BLAS threads {args.threads}, "
              f"median of {repeats}")
        for name, (measured, reference) in pairs.items():
            measured(), reference()                                   # warm-up
            t_m, t_r = [], []
            for _ in range(repeats):
                for fn, out in ((measured, t_m), (reference, t_r)):
                    start = time.perf_counter()
                    fn()
                    out.append(time.perf_counter() - start)
            m, r = statistics.median(t_m), statistics.median(t_r)
            print(f"  {name:36s} {1e3 * m:8.1f} ms / {1e3 * r:8.1f} ms = {m / r:5.2f}x")
            if name.startswith("gradient_flow"):
                verdict = "met" if m / r <= GOAL else "NOT met"
                print(f"  goal gradient_flow / (forward+backward) <= {GOAL}: {verdict}")


if __name__ == "__main__":
    main()
