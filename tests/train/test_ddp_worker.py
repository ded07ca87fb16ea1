"""bp.train.ddp_worker: two real processes (torch.distributed, gloo, 127.0.0.1) training with DDP.

Oracles: bp's own one-process full-batch gradient and SGD (float64), which PyTorch must match; the
weighted all-reduce of bp.train.parallel for unequal shards.
"""

import subprocess
import sys
import time

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.train import ddp_worker, parallel


def _problem():
    rng = np.random.default_rng(3)
    net = bp.nn.mlp([5, 16, 16, 2], activation="tanh", seed=3)
    return net, rng.normal(size=(48, 5)), rng.normal(size=(48, 2))


@pytest.fixture(scope="module")
def run():
    net, x, y = _problem()
    start = time.perf_counter()
    result = ddp_worker.run_ddp(net, x, y, lr=0.2, steps=5, timing=True, timing_sizes=(16, 32, 4),
                                timing_batches=(8, 32, 64), repeats=5, calls=1)
    print(f"run_ddp took {time.perf_counter() - start:.1f} s")
    return result


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def test_ddp_gradients_are_the_one_process_full_batch_gradient(run):
    net, x, y = _problem()
    full = bp.train.flat_gradient(net, bp.nn.MSELoss(), x, y)
    assert run.grads["float64"].shape == (2, full.size) and run.shard_sizes == (24, 24)
    assert _rel(run.grads["float64"][0], full) <= 1e-12
    assert _rel(run.grads["float32"][0], full) <= 1e-5
    for d in ("float64", "float32"):
        np.testing.assert_array_equal(run.grads[d][0], run.grads[d][1])   # the same average on each rank


def test_weights_after_five_steps_match_one_process_sgd(run):
    net, x, y = _problem()
    loss_fn, opt = bp.nn.MSELoss(), bp.optim.SGD(net.parameters(), lr=0.2)
    for _ in range(5):
        opt.zero_grad()
        loss_fn(net(x), y)
        net.backward(loss_fn.backward())
        opt.step()
    ref = np.concatenate([p.data.ravel() for p in net.parameters()])
    assert _rel(run.weights["float64"][1], ref) <= 1e-12
    assert _rel(run.weights["float32"][1], ref) <= 1e-5
    np.testing.assert_array_equal(run.weights["float64"][0], run.weights["float64"][1])


def test_ddp_broadcasts_rank_0_weights(run):
    for d in ("float64", "float32"):
        assert np.max(np.abs(run.init_before[d][0] - run.init_before[d][1])) > 0.1   # own random init
        np.testing.assert_array_equal(run.init_after[d][1], run.init_after[d][0])
        np.testing.assert_array_equal(run.init_after[d][0], run.init_before[d][0])


def test_unequal_shards_ddp_averages_shard_means(run):
    net, x, y = _problem()
    assert run.unequal_sizes == (30, 18)
    shards = parallel.shard_gradients(net, bp.nn.MSELoss(), x, y, run.unequal_sizes)
    full = parallel.allreduce(shards, run.unequal_sizes)
    assert _rel(run.unequal_grads[0], np.mean(shards, axis=0)) <= 1e-12
    assert _rel(run.unequal_grads[0], full) > 1e-3
    assert _rel(run.unequal_weighted_grads[1], full) <= 1e-12


def test_timing_fields(run):
    t = run.timing
    np.testing.assert_array_equal(t.batch_sizes, [8, 32, 64])
    assert t.single_seconds.shape == (3,) and np.all(t.single_seconds > 0) and t.ddp_seconds > 0
    assert t.ddp_batch == 64 and t.speedup == pytest.approx(t.single_seconds[2] / t.ddp_seconds)
    assert run.wall_seconds > 0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"world_size": 1}, "world_size"),
    ({"unequal_sizes": [40, 10]}, "adding up to 48"),
    ({"timing_batches": (9,)}, "at least 2 sizes"),
])
def test_bad_arguments_are_refused_before_starting_processes(kwargs, match):
    net, x, y = _problem()
    with pytest.raises(ValueError, match=match):
        ddp_worker.run_ddp(net, x, y, **kwargs)


def test_unsupported_models_are_refused():
    _, x, y = _problem()
    with pytest.raises(ValueError, match="supports the layers"):
        ddp_worker.run_ddp(bp.nn.Sequential(bp.nn.Linear(5, 2), bp.nn.BatchNorm1d(2)), x, y)
    with pytest.raises(TypeError, match="Sequential"):
        ddp_worker.run_ddp(bp.nn.Linear(5, 2), x, y)


def test_a_failing_worker_reports_its_error(tmp_path):
    errors = ddp_worker._launch(tmp_path, 2, ddp_worker.free_port(), timeout=60)  # no config.json
    assert len(errors) == 2 and "config.json" in errors[0]


def test_loopback_and_free_port():
    assert ddp_worker.loopback_interface() in ("lo", "lo0", None)
    if sys.platform.startswith("linux"):
        assert ddp_worker.loopback_interface() == "lo"
    port = ddp_worker.free_port()
    assert 0 < port < 65536


def test_worker_script_has_a_command_line():
    out = subprocess.run([sys.executable, ddp_worker.__file__, "--help"], capture_output=True, text=True,
                         check=True)
    assert "--rank" in out.stdout and "--port" in out.stdout
