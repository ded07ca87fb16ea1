"""Real data parallelism: PyTorch's DistributedDataParallel in separate processes on this machine.

``run_ddp`` starts ``world_size`` copies of this file as subprocesses (``python ddp_worker.py --rank r
...``), which join a ``torch.distributed`` process group over the gloo backend on 127.0.0.1 (a free
port chosen here; gloo kept on the loopback interface) and train the same small network with
``DistributedDataParallel``, each on its own shard of the batch. They report back through ``.npz``
files in a temporary directory:

* the weights of every rank before and after wrapping the model in DDP (DDP broadcasts rank 0's);
* the gradients of the first step, as DDP leaves them in ``p.grad`` after its all-reduce (the
  average of the ranks' gradients), for float64 and float32;
* the weights after ``steps`` steps of SGD;
* with unequal shards: the gradients DDP gives (a plain average of the shard means) and those with
  each rank's loss scaled by world_size·n_k/n (which makes the average the full-batch gradient);
* timings: one process alone, t(B) for several batch sizes, and a DDP step of the largest batch
  split over the ranks (each the median over ``repeats`` of the fastest of ``calls`` calls).

The parent never imports torch (only the workers do), so ``bp.train`` stays light.

    run = bp.train.ddp_worker.run_ddp(net, x, y, lr=0.1, steps=5)
    run.grads["float64"]     # (world_size, n_params): each rank's averaged gradient
"""

from __future__ import annotations

import argparse
import copy
import faulthandler
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["run_ddp", "DDPRun", "DDPTiming", "free_port", "loopback_interface"]

LAYERS = ("Linear", "Tanh", "ReLU", "Sigmoid", "Identity")


# -- the parent's side ---------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_interface() -> str | None:
    """The name of the loopback network interface ("lo" on Linux, "lo0" on macOS), if one is found."""
    try:
        names = [name for _, name in socket.if_nameindex()]
    except (OSError, AttributeError):                      # pragma: no cover - platform without it
        return None
    return next((n for n in names if n in ("lo", "lo0")), None)


@dataclass(frozen=True)
class DDPTiming:
    """batch_sizes: (k,) B timed in one process; single_seconds: (k,) seconds per step at each B;
    ddp_batch: the batch split over the ranks; ddp_seconds: seconds per DDP step. Each time is the
    median over ``repeats`` of the fastest of a few calls; within a repeat every B and the DDP step
    take their turn, so load on the machine does not fall on one of them only."""

    batch_sizes: np.ndarray
    single_seconds: np.ndarray
    ddp_batch: int
    ddp_seconds: float
    world_size: int
    repeats: int

    @property
    def speedup(self) -> float:
        """t(one process, full batch) / t(DDP step, batch split over the ranks)."""
        i = int(np.flatnonzero(self.batch_sizes == self.ddp_batch)[0])
        return float(self.single_seconds[i] / self.ddp_seconds)


@dataclass(frozen=True)
class DDPRun:
    """Everything the ranks reported; arrays are (world_size, n_params), parameters flattened in
    ``model.parameters()`` order (bp's and torch's are the same)."""

    world_size: int
    shard_sizes: tuple[int, ...]
    init_before: dict
    init_after: dict
    grads: dict
    weights: dict
    unequal_sizes: tuple[int, ...]
    unequal_grads: np.ndarray
    unequal_weighted_grads: np.ndarray
    timing: DDPTiming | None
    wall_seconds: float


def _spec(model) -> list:
    """The layer list of a bp ``Sequential`` of supported layers, for the workers to rebuild."""
    from ..nn.module import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"run_ddp needs a bp.nn.Sequential (e.g. bp.nn.mlp(...)); "
                        f"got {type(model).__name__}.")
    spec = []
    for layer in model.layers:
        name = type(layer).__name__
        if name not in LAYERS:
            raise ValueError(f"run_ddp supports the layers {LAYERS}; got {name}. Build the model from those.")
        if name == "Linear":
            if layer.parameterization != "standard":
                raise ValueError("run_ddp supports the standard parameterization of Linear only "
                                 "(as torch.nn.Linear).")
            spec.append([name, layer.in_features, layer.out_features, layer.bias is not None])
        else:
            spec.append([name])
    return spec


def run_ddp(model, x, y, *, lr: float = 0.1, steps: int = 5, world_size: int = 2,
            dtypes=("float64", "float32"), unequal_sizes=None, timing: bool = True,
            timing_sizes=(64, 256, 256, 10), timing_batches=(8, 32, 128, 512, 1024), repeats: int = 7,
            calls: int = 3, timeout: float = 180.0) -> DDPRun:
    """Train ``model`` (a bp Sequential, MSE loss) with DDP in ``world_size`` processes on ``(x, y)``.

    x: (n, in), y: (n, out); rank k gets the k-th of ``np.array_split``'s contiguous shards.
    ``unequal_sizes``: shard sizes (one per rank, adding up to n) for the unequal-shard run (default:
    the first rank gets 5/8 of the batch). ``timing``: also time steps of an MLP ``timing_sizes``
    (float32) at ``timing_batches`` in one process and a DDP step at the largest batch.
    Raises ``RuntimeError`` with a rank's error output if a worker fails or runs past ``timeout`` s.
    """
    from .parallel import split_sizes

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"x and y must be 2-D with the same number of rows; "
                         f"got shapes {x.shape}, {y.shape}.")
    if world_size < 2:
        raise ValueError(f"world_size must be at least 2 processes; got {world_size}.")
    n = len(x)
    shards = split_sizes(n, world_size)
    if unequal_sizes is None:
        first = (5 * n) // 8
        unequal_sizes = [first] + split_sizes(n - first, world_size - 1)
    unequal_sizes = [int(k) for k in unequal_sizes]
    if len(unequal_sizes) != world_size or sum(unequal_sizes) != n or min(unequal_sizes) < 1:
        raise ValueError(f"unequal_sizes must be {world_size} positive sizes adding up to {n}; "
                         f"got {unequal_sizes}.")
    timing_batches = sorted(int(b) for b in timing_batches)
    if timing and (len(timing_batches) < 2 or timing_batches[-1] % world_size):
        raise ValueError("timing_batches needs at least 2 sizes, the largest divisible by world_size; "
                         f"got {timing_batches}.")
    config = {"spec": _spec(model), "lr": float(lr), "steps": int(steps), "world_size": world_size,
              "dtypes": list(dtypes), "shards": shards, "unequal": unequal_sizes, "timing": bool(timing),
              "timing_sizes": [int(s) for s in timing_sizes], "timing_batches": timing_batches,
              "repeats": int(repeats), "calls": int(calls)}
    weights = {p.name: np.asarray(p.data, dtype=np.float64) for p in model.parameters()}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bp_ddp_") as tmp:
        folder = Path(tmp)
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
        np.savez(folder / "inputs.npz", x=x, y=y, **{f"w/{k}": v for k, v in weights.items()})
        earlier = []
        for attempt in range(2):
            errors = _launch(folder, world_size, free_port(), timeout)
            if not errors:
                break
            if attempt == 0 and _worth_retrying(errors):
                earlier = ["(a first attempt failed too: " + errors[0].splitlines()[0] + ")"]
                continue
            raise RuntimeError("a DDP worker failed:\n" + "\n".join(errors + earlier))
        ranks = [dict(np.load(folder / f"rank{r}.npz")) for r in range(world_size)]
    wall = time.perf_counter() - start

    def stack(key):
        return np.stack([rk[key] for rk in ranks])

    t = None
    if timing:
        r0 = ranks[0]
        t = DDPTiming(np.array(timing_batches), r0["t_single"], timing_batches[-1], float(r0["t_ddp"]),
                      world_size, int(repeats))
    return DDPRun(world_size, tuple(shards),
                  {d: stack(f"{d}/before") for d in dtypes}, {d: stack(f"{d}/after_wrap") for d in dtypes},
                  {d: stack(f"{d}/grad") for d in dtypes}, {d: stack(f"{d}/weights") for d in dtypes},
                  tuple(unequal_sizes), stack("unequal/grad"), stack("unequal/weighted_grad"), t, wall)


def _worth_retrying(errors: list[str]) -> bool:
    """A failure that a second launch can fix: the port was taken between choosing and binding it, or
    a rank was killed by a signal (e.g. SIGABRT from a C++ thread of gloo, which is rare and not ours
    to fix). A Python error in a worker is not retried: it would fail again."""
    text = "\n".join(errors)
    return "address already in use" in text.lower() or "(killed by signal" in text


def _launch(folder: Path, world_size: int, port: int, timeout: float) -> list[str]:
    """Start the ranks, wait for them; return the error output of failed ranks (empty: all fine).

    As soon as one rank fails, the others are stopped: they would otherwise wait for it (in
    ``init_process_group`` or a collective) until ``timeout``. Each rank's output goes to
    ``rank{r}.log`` in ``folder`` (a file, not a pipe, so a chatty rank never blocks on a full pipe).
    """
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MASTER_ADDR="127.0.0.1",
               MASTER_PORT=str(port))
    lo = loopback_interface()
    if lo:
        env["GLOO_SOCKET_IFNAME"] = lo                      # gloo's own connections stay on 127.0.0.1 too
    logs = [folder / f"rank{r}.log" for r in range(world_size)]
    procs = []
    for r, log in enumerate(logs):
        with open(log, "w", encoding="utf-8") as out:
            procs.append(subprocess.Popen([sys.executable, __file__, "--rank", str(r), "--world-size",
                                           str(world_size), "--port", str(port), "--dir", str(folder)],
                                          env=env, stdout=out, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + timeout
    while True:
        codes = [p.poll() for p in procs]                  # poll every rank (any() would stop early)
        if all(c is not None for c in codes) or any(codes) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    stopped = [p.poll() is None for p in procs]            # still running: stopped by us, not failed
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    errors = []
    for r, (proc, log) in enumerate(zip(procs, logs, strict=True)):
        if stopped[r] or proc.returncode == 0:
            continue
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        how = f" (killed by signal {_signal_name(-proc.returncode)})" if proc.returncode < 0 else ""
        errors.append(f"rank {r} exited with {proc.returncode}{how}:\n{tail}")
    if not errors and any(stopped):
        return [f"no result after {timeout:.0f} s (stopped all ranks)"]
    return errors


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


# -- the worker's side (runs in each subprocess; imports torch) ------------------------------------

def _build(torch, spec, dtype):
    layers = []
    for item in spec:
        if item[0] == "Linear":
            layers.append(torch.nn.Linear(item[1], item[2], bias=item[3], dtype=dtype))
        else:
            layers.append(getattr(torch.nn, item[0])())
    return torch.nn.Sequential(*layers)


def _flat(tensors):
    return np.concatenate([t.detach().double().reshape(-1).numpy() for t in tensors])


def _fastest_call(step, calls: int) -> float:
    """Seconds of the fastest of ``calls`` calls of ``step``: the one least disturbed by other work."""
    fastest = float("inf")
    for _ in range(calls):
        t0 = time.perf_counter()
        step()
        fastest = min(fastest, time.perf_counter() - t0)
    return fastest


def _worker(rank: int, world_size: int, port: int, folder: Path) -> None:
    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))   # before torch: fail fast
    data = np.load(folder / "inputs.npz")
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    out = {}
    mse = torch.nn.MSELoss()

    def shard(sizes, dtype):
        a = sum(sizes[:rank])
        b = a + sizes[rank]
        return (torch.from_numpy(data["x"][a:b]).to(dtype), torch.from_numpy(data["y"][a:b]).to(dtype))

    def model_from_inputs(dtype, own_init=False):
        model = _build(torch, cfg["spec"], dtype)
        if not own_init:                                   # rank 0 (or everyone) loads the given weights
            state = {k[2:]: torch.from_numpy(data[k]).to(dtype) for k in data.files if k.startswith("w/")}
            model.load_state_dict(state)
        return model

    for name in cfg["dtypes"]:
        dtype = getattr(torch, name)
        torch.manual_seed(1000 + rank)                     # ranks > 0 start from their own random weights
        model = model_from_inputs(dtype, own_init=rank > 0)
        out[f"{name}/before"] = _flat(model.parameters())
        ddp = DDP(model)                                   # broadcasts rank 0's parameters to every rank
        out[f"{name}/after_wrap"] = _flat(model.parameters())
        opt = torch.optim.SGD(ddp.parameters(), lr=cfg["lr"])
        xs, ys = shard(cfg["shards"], dtype)
        for step in range(cfg["steps"]):
            opt.zero_grad()
            mse(ddp(xs), ys).backward()                    # DDP all-reduces (averages) the gradients here
            if step == 0:
                out[f"{name}/grad"] = _flat(p.grad for p in model.parameters())
            opt.step()
        out[f"{name}/weights"] = _flat(model.parameters())

    n = sum(cfg["unequal"])
    xs, ys = shard(cfg["unequal"], torch.float64)
    for key, scale in (("grad", 1.0), ("weighted_grad", world_size * len(xs) / n)):
        ddp = DDP(model_from_inputs(torch.float64))
        (scale * mse(ddp(xs), ys)).backward()              # scale = N n_k/n turns DDP's mean into Σ n_k/n g_k
        out[f"unequal/{key}"] = _flat(p.grad for p in ddp.module.parameters())

    if cfg["timing"]:
        torch.manual_seed(0)
        sizes, batches = cfg["timing_sizes"], cfg["timing_batches"]
        gen = torch.Generator().manual_seed(1)
        x_all = torch.randn(batches[-1], sizes[0], generator=gen)
        y_all = torch.randn(batches[-1], sizes[-1], generator=gen)
        spec = [i for a, b in zip(sizes[:-1], sizes[1:], strict=True)
                for i in (["Linear", a, b, True], ["ReLU"])]
        model = _build(torch, spec[:-1], torch.float32)           # Linear, ReLU, …, Linear

        def step_on(net, xb, yb, opt):
            opt.zero_grad()
            mse(net(xb), yb).backward()
            opt.step()

        alone = copy.deepcopy(model)                       # rank 0 times this one in one process
        opt_alone = torch.optim.SGD(alone.parameters(), lr=1e-3)
        ddp = DDP(model)
        opt = torch.optim.SGD(ddp.parameters(), lr=1e-3)
        part = batches[-1] // world_size
        xb, yb = x_all[rank * part:(rank + 1) * part], y_all[rank * part:(rank + 1) * part]
        step_on(ddp, xb, yb, opt)                          # warm-up: DDP builds its buckets on the first step
        # Every repeat times each batch size alone (rank 0; the others wait) and then a DDP step, so a
        # burst of load on this machine falls on all of them alike rather than on one batch size.
        single = np.zeros((cfg["repeats"], len(batches)))
        ddp_seconds = np.zeros(cfg["repeats"])
        for i in range(cfg["repeats"]):
            if rank == 0:
                single[i] = [_fastest_call(lambda b=b: step_on(alone, x_all[:b], y_all[:b], opt_alone),
                                           cfg["calls"]) for b in batches]
            dist.barrier()
            ddp_seconds[i] = _fastest_call(lambda: step_on(ddp, xb, yb, opt), cfg["calls"])
            dist.barrier()
        if rank == 0:
            out["t_single"] = np.median(single, axis=0)
        out["t_ddp"] = np.array(np.median(ddp_seconds))
    np.savez(folder / f"rank{rank}.npz", **out)
    dist.barrier()                                         # nobody tears down while another rank still talks
    dist.destroy_process_group()


def main(argv=None) -> None:
    faulthandler.enable()                                  # a crash in torch's C++ names the Python line
    parser = argparse.ArgumentParser(description="One rank of bp.train.ddp_worker.run_ddp (started by it).")
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--world-size", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    _worker(args.rank, args.world_size, args.port, args.dir)


if __name__ == "__main__":
    main()
    # The results are saved and the process group destroyed. Leave now, without the interpreter's
    # shutdown: there, gloo's C++ threads and the tensors they still hold are torn down in no fixed
    # order, which can abort the process ("terminate called without an active exception").
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
