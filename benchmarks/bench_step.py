"""Benchmark: one training step (forward + loss + backward) of an MLP, backprop_lib vs PyTorch CPU.

Network [784, 512, 512, 10] with ReLU, CrossEntropyLoss, batch 256, in float32 and float64.
PyTorch runs the very same weights (``bp.interop.to_torch``) on the same batch in the same
process. A step is ``zero_grad`` + forward + loss (timed together as "forward") and the
backward pass ("backward"); no optimizer update. Each figure is the median of ``--repeats``
steps (>= 7) after ``--warmup`` untimed steps, bp and torch interleaved step by step (in
rotating order) so that both see the same machine state. The ratio column ("bp/this") is the
median over rounds of bp's step time divided by that side's step time in the same round:
pairing cancels most of the noise of a shared machine.

Threads: numpy's BLAS is limited (threadpoolctl) and torch set (``torch.set_num_threads``) to
the same count, by default the number of threads numpy's BLAS would use anyway.

Two PyTorch references are printed: the usual training step (the input does not require a
gradient, so autograd skips dL/dx of the first layer; bp's training step does the same with
``net.backward(g, input_grad=False)``, as ``bp.train.fit`` does) and the same step with
``x.requires_grad_()``, which computes dL/dx too.

    .venv/bin/python benchmarks/bench_step.py [--repeats 21] [--warmup 3] [--threads N]

Goal: bp step time / torch step time <= 1.1.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import backprop_lib as bp

SIZES = [784, 512, 512, 10]
BATCH, SEED = 256, 0
GOAL = 1.1


def blas_threads() -> int:
    """Threads numpy's BLAS uses by default (what the bp step runs with unless limited)."""
    counts = [d["num_threads"] for d in threadpool_info() if d.get("user_api") == "blas"]
    return max(counts) if counts else 1


def matmul_mflop():
    """Multiply-add work of the matrix products, in MFLOP: forward, backward with and without dL/dx."""
    pairs = list(zip(SIZES[:-1], SIZES[1:], strict=True))
    forward = sum(2 * BATCH * i * o for i, o in pairs)                  # x Wᵀ per layer
    grad_w = forward                                                    # gᵀ x: same size
    grad_x = sum(2 * BATCH * i * o for i, o in pairs[1:])               # g W, but not for layer 1
    first_x = 2 * BATCH * SIZES[0] * SIZES[1]                           # g W of layer 1 (dL/dx)
    return forward / 1e6, (grad_w + grad_x) / 1e6, (grad_w + grad_x + first_x) / 1e6


def bp_step(net, loss_fn, x, y):
    """(forward seconds, backward seconds) of one bp step."""
    t0 = time.perf_counter()
    net.zero_grad()
    loss_fn(net(x), y)
    t1 = time.perf_counter()
    net.backward(loss_fn.backward(), input_grad=False)     # as torch: the input needs no grad
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def torch_step(tnet, tloss, xt, yt):
    t0 = time.perf_counter()
    tnet.zero_grad(set_to_none=True)
    if xt.requires_grad:
        xt.grad = None
    loss = tloss(tnet(xt), yt)
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def bench(dtype, repeats: int, warmup: int):
    rng = np.random.default_rng(SEED)
    net = bp.nn.mlp(SIZES, activation="relu", seed=SEED, dtype=dtype)
    loss_fn = bp.nn.CrossEntropyLoss()
    x = rng.normal(size=(BATCH, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[-1], size=BATCH)

    tnet = bp.interop.to_torch(net)
    tloss = bp.interop.torch_loss(loss_fn)
    xt, yt = torch.from_numpy(x.copy()), torch.from_numpy(y)
    xt_grad = torch.from_numpy(x.copy()).requires_grad_()

    # the three sides compute the same loss and gradients (checked once, outside the timing)
    cmp = bp.interop.compare_gradients(net, loss_fn, x, y)
    runs = {"bp": lambda: bp_step(net, loss_fn, x, y),
            "torch": lambda: torch_step(tnet, tloss, xt, yt),
            "torch (dL/dx too)": lambda: torch_step(tnet, tloss, xt_grad, yt)}
    names = list(runs)
    times = {name: [] for name in runs}
    for i in range(warmup + repeats):
        order = names[i % len(names):] + names[:i % len(names)]        # rotate: no side always first
        for name in order:
            fwd, bwd = runs[name]()
            if i >= warmup:
                times[name].append((fwd, bwd))
    out = {}
    for name, samples in times.items():
        fwd = statistics.median(s[0] for s in samples)
        bwd = statistics.median(s[1] for s in samples)
        step = statistics.median(s[0] + s[1] for s in samples)
        # bp step / this side's step, paired round by round (both saw the same machine load)
        paired = statistics.median((b[0] + b[1]) / (s[0] + s[1]) for b, s in zip(times["bp"], samples,
                                                                                   strict=True))
        out[name] = (fwd, bwd, step, paired)
    return out, cmp.max_rel_error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="default: numpy's BLAS thread count")
    args = parser.parse_args(argv)
    if args.repeats < 7:
        parser.error("--repeats must be >= 7 (the figures are medians)")
    threads = args.threads or blas_threads()
    torch.set_num_threads(threads)

    print(f"one training step: MLP {SIZES}, ReLU, CrossEntropyLoss, batch {BATCH}; "
          f"median of {args.repeats} after {args.warmup} warm-up; threads: numpy BLAS {threads}, "
          f"torch {torch.get_num_threads()} (torch {torch.__version__}, numpy {np.__version__})")
    mf_fwd, bwd_torch, bwd_bp = matmul_mflop()
    print(f"matrix-product work per step: forward {mf_fwd:.0f} MFLOP; backward {bwd_torch:.0f} MFLOP "
          f"for bp and torch (both skip dL/dx of layer 1), {bwd_bp:.0f} MFLOP for 'torch (dL/dx too)'")
    header = (f"{'dtype':8} {'side':18} {'forward ms':>10} {'backward ms':>11} {'step ms':>8} "
              f"{'bwd/fwd':>7} {'bp/this':>7}")
    print(header)
    print("-" * len(header))
    with threadpool_limits(limits=threads, user_api="blas"):
        for dtype in (np.float32, np.float64):
            res, err = bench(dtype, args.repeats, args.warmup)
            for name, (fwd, bwd, step, paired) in res.items():
                print(f"{np.dtype(dtype).name:8} {name:18} {fwd * 1e3:10.2f} {bwd * 1e3:11.2f} "
                      f"{step * 1e3:8.2f} {bwd / fwd:7.2f} {paired:7.2f}")
            ratio = res["torch"][3]
            verdict = "meets" if ratio <= GOAL else "misses"
            print(f"{'':8} bp/torch = {ratio:.2f}: {verdict} the goal <= {GOAL}; "
                  f"gradients agree to {err:.1e} (max relative difference)")


if __name__ == "__main__":
    main()
