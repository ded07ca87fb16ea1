"""Benchmark: the empirical NTK without a Jacobian vs Jacobian contraction (bp and torch.func).

Setting (issue 4): an MLP [10, 512, 512, 512, 1] (depth 3, width 512, ReLU, NTK
parameterization, 531,457 parameters), inputs 1000 × 10, float64, the full 1000 × 1000 kernel.

* layer-wise: ``bp.ntk.empirical`` (Gram matrices of activations and deltas, per layer);
* bp Jacobian: ``bp.ntk.empirical_jacobian`` (one backward pass per example, then J Jᵀ);
* torch.func: ``vmap(jacrev(f))`` over ``functional_call`` of an equivalent torch model (same
  weights and scaling), then ``einsum`` J Jᵀ, float64.

Each method runs in its own subprocess so its memory is measured alone:
  - time: median of ``--repeats`` (≥ 5) calls after one untimed warm-up call;
  - "peak RSS Δ": the process's peak resident set size (VmHWM in /proc/self/status, reset
    through /proc/self/clear_refs just before the first call) minus its RSS at that moment,
    i.e. the extra memory the method needed;
  - "tracemalloc peak" (numpy methods only): the peak of Python-tracked allocations (numpy
    registers its buffers with tracemalloc) during one extra call.
The Jacobian methods need n × 531,457 × 8 bytes per Jacobian (4.3 GB at n = 1000), so by
default they run at n = 50, 100, 200, 400 and their time (a·n + b·n²) and memory (c + d·n) are
extrapolated to n = 1000 and labelled as such; ``--full`` also runs them at n = 1000 when
the machine has 1.5× the memory extrapolated from the small runs available (several minutes).

Also timed: ``bp.ntk.analytic`` for 1000 × 1000 inputs at depth 10 (ReLU and erf closed forms).

    .venv/bin/python benchmarks/bench_ntk.py [--repeats 5] [--threads 1] [--full]

Goal: layer-wise ≥ 100× faster than torch.func at n = 1000, with ≤ 0.5 GB peak memory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np
from scipy.optimize import nnls

import backprop_lib as bp

D_IN, WIDTH, DEPTH, N = 10, 512, 3, 1000
SMALL_NS = (50, 100, 200, 400)
GOAL_SPEEDUP, GOAL_BYTES = 100.0, 0.5e9


def _setup(n):
    net = bp.nn.mlp([D_IN] + [WIDTH] * DEPTH + [1], activation="relu", parameterization="ntk", seed=0)
    x = np.random.default_rng(0).normal(size=(n, D_IN))
    return net, x


def _torch_ntk_fn(net):
    import torch
    from torch.func import functional_call, jacrev, vmap

    class ScaledLinear(torch.nn.Module):
        def __init__(self, layer):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.tensor(layer.weight.data, dtype=torch.float64))
            self.bias = torch.nn.Parameter(torch.tensor(layer.bias.data, dtype=torch.float64))
            self.s, self.c = layer.w_std / math.sqrt(layer.in_features), layer.b_std

        def forward(self, x):
            return self.s * (x @ self.weight.T) + self.c * self.bias

    model = torch.nn.Sequential(*[ScaledLinear(m) if isinstance(m, bp.nn.Linear) else torch.nn.ReLU()
                                  for m in net])
    params = {k: v.detach() for k, v in model.named_parameters()}

    def f(p, x):
        return functional_call(model, p, (x[None],))[0]

    def ntk(x):
        xt = torch.tensor(x, dtype=torch.float64)
        jac = vmap(jacrev(f), in_dims=(None, 0))(params, xt)
        j = torch.cat([v.reshape(v.shape[0], -1) for v in jac.values()], dim=1)  # (n, P)
        return torch.einsum("ip,jp->ij", j, j).numpy()

    return ntk


def _rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_rss():
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux ≥ 4.0)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _peak_rss():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def worker(method, n, repeats, threads):
    """Time one method at size n in this (fresh) process; print a JSON line."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    net, x = _setup(n)
    if method == "torch":
        import torch

        torch.set_num_threads(threads)
        fn = _torch_ntk_fn(net)
        call = lambda: fn(x)  # noqa: E731
    elif method == "layerwise":
        call = lambda: bp.ntk.empirical(net, x)  # noqa: E731
    elif method == "jacobian":
        call = lambda: bp.ntk.empirical_jacobian(net, x)  # noqa: E731
    elif method in ("analytic-relu", "analytic-erf"):
        act = method.split("-")[1]
        call = lambda: bp.ntk.analytic(x, depth=10, activation=act)  # noqa: E731
    else:
        raise ValueError(method)
    layerwise = lambda: bp.ntk.empirical(net, x)  # noqa: E731
    paired = method in ("torch", "jacobian")
    if paired:
        layerwise()
    _reset_peak_rss()
    base = _rss()
    call()  # warm-up (also the first peak)
    times, ratios = [], []
    if not paired:
        repeats *= 4  # cheap methods: more repeats, a steadier median
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
        if paired:  # the layer-wise kernel right after, in the same process and machine state
            t0 = time.perf_counter()
            layerwise()
            ratios.append(times[-1] / (time.perf_counter() - t0))
    peak_delta = _peak_rss() - base
    traced = None
    if method != "torch":
        tracemalloc.start()
        call()
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(json.dumps({"method": method, "n": n, "median": statistics.median(times), "times": times,
                      "rss_delta": peak_delta, "traced": traced,
                      "paired_ratio": statistics.median(ratios) if ratios else 1.0}))


def _run(method, n, repeats, threads):
    out = subprocess.run([sys.executable, __file__, "--worker", method, "--n", str(n),
                          "--repeats", str(repeats), "--threads", str(threads)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _check_agreement():
    net, x = _setup(20)
    lw = bp.ntk.empirical(net, x)
    jac = bp.ntk.empirical_jacobian(net, x)
    tf = _torch_ntk_fn(net)(x)
    scale = np.abs(lw).max()
    return np.abs(lw - jac).max() / scale, np.abs(lw - tf).max() / scale


def _extrapolate(rows, n):
    ns = np.array([r["n"] for r in rows], float)
    t = np.array([r["median"] for r in rows])
    a, b = nnls(np.stack([ns, ns**2], 1), t)[0]                         # t ≈ a·n + b·n², a, b ≥ 0
    mem = np.array([r["rss_delta"] for r in rows], float)
    d, c = np.polyfit(ns, mem, 1)                                         # mem ≈ c + d·n
    return a * n + b * n * n, c + d * n


def _fmt_bytes(b):
    return "-" if b is None else f"{b / 1e6:8.1f} MB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--worker")
    parser.add_argument("--n", type=int)
    args = parser.parse_args()
    repeats = max(args.repeats, 5)
    if args.worker:
        worker(args.worker, args.n, repeats, args.threads)
        return

    n_params = bp.nn.mlp([D_IN] + [WIDTH] * DEPTH + [1], seed=0).num_parameters()
    print(f"MLP {[D_IN] + [WIDTH] * DEPTH + [1]}, ReLU, NTK parameterization, {n_params:,} parameters, "
          f"float64; threads={args.threads}; median of {repeats}")
    d_jac, d_torch = _check_agreement()
    print(f"agreement at n=20: max|layer-wise − bp Jacobian|/max = {d_jac:.1e}, "
          f"vs torch.func = {d_torch:.1e}\n")

    rows = {"layerwise": [_run("layerwise", n, repeats, args.threads) for n in (*SMALL_NS, N)]}
    for method in ("jacobian", "torch"):
        rows[method] = [_run(method, n, repeats, args.threads) for n in SMALL_NS]
        if args.full:  # memory guard: the linear fit of the small runs' peaks, with 50% margin
            import psutil
            need = 1.5 * _extrapolate(rows[method], N)[1]
            if psutil.virtual_memory().available > need:
                rows[method].append(_run(method, N, repeats, args.threads))
            else:
                print(f"{method}: skipped n={N} (needs ~{need / 1.5e9:.1f} GB, 1.5× that not available)")

    names = {"layerwise": "layer-wise (bp.ntk.empirical)", "jacobian": "bp Jacobian contraction",
             "torch": "torch.func vmap(jacrev) + einsum"}
    print(f"{'method':34s} {'n':>5s} {'time':>11s} {'peak RSS Δ':>11s} {'tracemalloc':>11s} "
          f"{'× layer-wise':>13s} (paired)")
    for method, rs in rows.items():
        for r in rs:
            ratio = r["paired_ratio"]
            print(f"{names[method]:34s} {r['n']:5d} {r['median']:9.4f} s {_fmt_bytes(r['rss_delta'])} "
                  f"{_fmt_bytes(r['traced'])} {ratio:12.1f}×")
    lw = rows["layerwise"][-1]
    print()
    results = {}
    for method in ("jacobian", "torch"):
        measured = [r for r in rows[method] if r["n"] == N]
        if measured:  # speed-up paired round by round with the layer-wise call in the same process
            t, mem, speed = measured[0]["median"], measured[0]["rss_delta"], measured[0]["paired_ratio"]
            label = "measured; speed-up paired in the same process"
        else:
            t, mem = _extrapolate(rows[method], N)
            speed = t / lw["median"]
            label = f"EXTRAPOLATED from n={SMALL_NS}"
        results[method] = speed
        print(f"n={N}: {names[method]:34s} {t:9.2f} s, peak ≈ {mem / 1e9:5.2f} GB; "
              f"layer-wise is {speed:,.0f}× faster ({label})")
    peak = max(lw["rss_delta"], lw["traced"])
    print(f"n={N}: layer-wise {lw['median']:.4f} s, peak {peak / 1e9:.3f} GB (max of RSS Δ and tracemalloc)")
    speedup = results["torch"]
    print(f"goal: ≥ {GOAL_SPEEDUP:.0f}× faster than torch.func → {speedup:,.0f}× "
          f"{'MET' if speedup >= GOAL_SPEEDUP else 'NOT MET'}; ≤ {GOAL_BYTES / 1e9} GB peak → "
          f"{peak / 1e9:.3f} GB {'MET' if peak <= GOAL_BYTES else 'NOT MET'}\n")

    for act in ("relu", "erf"):
        r = _run(f"analytic-{act}", N, repeats, args.threads)
        print(f"analytic NTK+NNGP {N}×{N}, depth 10, {act:4s}: {r['median']:.3f} s, "
              f"tracemalloc peak {r['traced'] / 1e6:.0f} MB, peak RSS Δ {r['rss_delta'] / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
