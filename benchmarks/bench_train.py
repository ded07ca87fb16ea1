"""Benchmark: one epoch of MLP training on digits, ``bp.train.fit`` vs a hand-written PyTorch loop.

Both sides train the same network (64-128-64-10, ReLU) from the same initial weights (copied),
on the same mini-batches (``bp.train.minibatches`` with the same seed), with Adam(lr=1e-3),
batch size 32, in float32 and in float64; both then evaluate loss and accuracy on the training
set in eval mode, as ``fit`` does at the end of every epoch. A third column times the same
NumPy work without ``fit`` (a bare loop over the bp layers), so the table separates the cost
of the layers from the bookkeeping of ``fit``.

Times are medians over ``--repeats`` runs (>= 5), printed as ratios to the PyTorch loop
measured in the same run. Threads: numpy's BLAS and torch are limited to ``--threads``
(default 1: the sizes are small, and the course targets 2-core Binder machines).

    .venv/bin/python benchmarks/bench_train.py [--repeats 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import backprop_lib as bp

SIZES = [64, 128, 64, 10]
BATCH, LR, SEED = 32, 1e-3, 0


def build_bp(dtype):
    return bp.nn.mlp(SIZES, activation="relu", init="default", seed=SEED, dtype=dtype)


def build_torch(net, tdtype):
    """The same network in PyTorch, with the bp weights copied."""
    linears = [m for m in net if isinstance(m, bp.nn.Linear)]
    layers = []
    for i, lin in enumerate(linears):
        t = torch.nn.Linear(lin.in_features, lin.out_features, dtype=tdtype)
        with torch.no_grad():
            t.weight.copy_(torch.from_numpy(lin.weight.data))
            t.bias.copy_(torch.from_numpy(lin.bias.data))
        layers.append(t)
        if i < len(linears) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def torch_epoch(tnet, xt, yt):
    """The hand-written PyTorch loop: one epoch, then the end-of-epoch evaluation."""
    opt = torch.optim.Adam(tnet.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    tnet.train()
    for idx in bp.train.minibatches(len(xt), BATCH, np.random.default_rng(SEED)):
        idx = torch.from_numpy(idx)
        opt.zero_grad()
        loss = loss_fn(tnet(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
    tnet.eval()
    with torch.no_grad():
        out = tnet(xt)
        train_loss = loss_fn(out, yt).item()
        train_acc = (out.argmax(1) == yt).double().mean().item()
    return train_loss, train_acc


def bare_epoch(net, x, y):
    """The same NumPy work as fit, written out: no checks, History, probes or bar."""
    opt = bp.optim.Adam(net.parameters(), lr=LR)
    loss_fn = bp.nn.CrossEntropyLoss()
    params = net.parameters()
    net.train()
    for idx in bp.train.minibatches(len(x), BATCH, np.random.default_rng(SEED)):
        for p in params:
            p.grad = None
        loss_fn(net(x[idx]), y[idx])
        net.backward(loss_fn.backward())
        opt.step()
    return bp.train.evaluate(net, loss_fn, (x, y))


def fit_epoch(net, x, y, progress=False):
    opt = bp.optim.Adam(net.parameters(), lr=LR)
    with contextlib.redirect_stderr(io.StringIO()):  # the bar is drawn, but not shown here
        hist = bp.train.fit(net, bp.nn.CrossEntropyLoss(), (x, y), opt, epochs=1, batch_size=BATCH,
                            seed=SEED, progress=progress)
    return hist.train_loss[0], hist.train_acc[0]


def timed(fn, make, repeats):
    """Median wall time of fn(make()) over `repeats` runs (model construction not timed)."""
    fn(make())  # warm-up
    times = []
    for _ in range(repeats):
        model = make()
        t0 = time.perf_counter()
        fn(model)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(dtype, repeats):
    x, y = bp.data.digits()
    x = x.astype(dtype)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    # the two sides compute the same thing: compare after one epoch
    net = build_bp(dtype)
    tnet = build_torch(net, tdtype)
    fit_epoch(net, x, y)
    torch_epoch(tnet, xt, yt)
    diff = max(float(np.max(np.abs(p.data - q.detach().numpy())) / np.max(np.abs(q.detach().numpy())))
               for p, q in zip(net.parameters(), tnet.parameters(), strict=True))

    t_torch = timed(lambda m: torch_epoch(m, xt, yt), lambda: build_torch(build_bp(dtype), tdtype),
                    repeats)
    t_bare = timed(lambda m: bare_epoch(m, x, y), lambda: build_bp(dtype), repeats)
    t_fit = timed(lambda m: fit_epoch(m, x, y), lambda: build_bp(dtype), repeats)
    t_bar = timed(lambda m: fit_epoch(m, x, y, progress=True), lambda: build_bp(dtype), repeats)
    return dict(torch=t_torch, bare=t_bare, fit=t_fit, bar=t_bar, diff=diff)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (the report is a median)")

    torch.set_num_threads(args.threads)
    steps = -(-1797 // BATCH)
    print(f"One epoch of MLP {SIZES} (ReLU) training on digits (1797 samples, batch {BATCH}, "
          f"{steps} Adam steps) + end-of-epoch evaluation")
    print(f"median of {args.repeats} runs; {args.threads} thread(s); torch {torch.__version__}, "
          f"numpy {np.__version__}\n")
    header = (f"{'dtype':8} {'PyTorch loop':>13} {'bp bare loop':>17} {'bp.train.fit':>17} "
              f"{'fit + tqdm bar':>17}   max rel. param diff")
    print(header)
    print("-" * len(header))
    with threadpool_limits(limits=args.threads):
        for dtype in (np.float32, np.float64):
            r = run(dtype, args.repeats)
            ref = r["torch"]

            def cell(t, ref=ref):
                return f"{1e3 * t:7.1f} ms {t / ref:5.2f}x"

            print(f"{np.dtype(dtype).name:8} {1e3 * ref:10.1f} ms {cell(r['bare']):>17} {cell(r['fit']):>17} "
                  f"{cell(r['bar']):>17}   {r['diff']:.1e}")
    print("\nratio = time / PyTorch loop time (same run); param diff: bp vs PyTorch after one epoch")


if __name__ == "__main__":
    main()
