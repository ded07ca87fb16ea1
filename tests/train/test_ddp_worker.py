"""bp.train.ddp_worker: two real processes (torch.distributed, gloo, 127.0.0.1) training with DDP.

Oracles: bp's own one-process full-batch gradient and SGD (float64), which PyTorch must match; the
weighted all-reduce of bp.train.parallel for unequal shards.
"""

import subprocess
import sys
import threading
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
    # The first rank to fail stops the other, which may or may not have failed on its own by then:
    # one or two errors, each a rank's own traceback naming the missing file (none a timeout).
    assert 1 <= len(errors) <= 2
    for error in errors:
        assert error.startswith(("rank 0 exited with 1", "rank 1 exited with 1")) and "config.json" in error


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


@pytest.mark.parametrize(("errors", "expected"), [
    (["rank 0 exited with 1:\nRuntimeError: Address already in use"], True),
    (["rank 0 exited with -6 (killed by signal SIGABRT):\nterminate called without an active exception"],
     True),
    (["rank 1 exited with 1:\nFileNotFoundError: config.json"], False),
    (["no result after 180 s (stopped all ranks)"], False),
])
def test_which_failures_are_worth_a_second_launch(errors, expected):
    assert ddp_worker._worth_retrying(errors) is expected


def _fake_python(tmp_path, body):
    """A stand-in for sys.executable: a shell script that runs ``body`` (then, maybe, the real Python)."""
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return str(script)


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in for Python")
def test_a_rank_killed_by_a_signal_is_named_and_retried_once(tmp_path, monkeypatch):
    net, x, y = _problem()
    folder = tmp_path / "run"
    folder.mkdir()
    monkeypatch.setattr(ddp_worker.sys, "executable", _fake_python(tmp_path, "kill -ABRT $$"))
    errors = ddp_worker._launch(folder, 2, ddp_worker.free_port(), timeout=60)
    assert errors and all("killed by signal SIGABRT" in e for e in errors)   # the first to die, maybe both
    calls = []
    real_launch = ddp_worker._launch
    monkeypatch.setattr(ddp_worker, "_launch", lambda *a: calls.append(a) or real_launch(*a))
    with pytest.raises(RuntimeError, match=r"(?s)SIGABRT.*a first attempt failed too"):
        ddp_worker.run_ddp(net, x, y, timing=False)
    assert len(calls) == 2


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in for Python")
def test_a_run_whose_first_launch_crashes_succeeds_on_the_second(tmp_path, monkeypatch):
    """Rank 1 aborts on the first launch (as gloo's threads rarely do); rank 0, waiting for it, is
    stopped rather than left waiting until the timeout, and the second launch gives the right gradients."""
    net, x, y = _problem()
    marker = tmp_path / "crashed-once"
    body = (f'case " $* " in *" --rank 1 "*) mkdir "{marker}" 2>/dev/null && kill -ABRT $$;; esac\n'
            f'exec "{sys.executable}" "$@"')                 # rank 1 aborts once; rank 0 waits for it
    monkeypatch.setattr(ddp_worker.sys, "executable", _fake_python(tmp_path, body))
    calls = []
    real_launch = ddp_worker._launch
    monkeypatch.setattr(ddp_worker, "_launch", lambda *a: calls.append(a) or real_launch(*a))
    result = ddp_worker.run_ddp(net, x, y, timing=False, timeout=120)
    assert len(calls) == 2 and marker.is_dir()
    full = bp.train.flat_gradient(net, bp.nn.MSELoss(), x, y)
    assert _rel(result.grads["float64"][0], full) <= 1e-12


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in for Python")
def test_a_failed_rank_stops_the_others_long_before_the_timeout(tmp_path, monkeypatch):
    """Rank 1 aborts; rank 0 would wait ~forever (sleep 1000). _launch must notice rank 1's death
    (it once polled only the first running rank) and stop rank 0, not wait for the 1000 s timeout."""
    body = 'case " $* " in *" --rank 1 "*) kill -ABRT $$;; esac\nexec sleep 1000'
    monkeypatch.setattr(ddp_worker.sys, "executable", _fake_python(tmp_path, body))
    folder = tmp_path / "run"
    folder.mkdir()
    found = []
    launch = threading.Thread(target=lambda: found.extend(ddp_worker._launch(folder, 2, 0, timeout=1000)),
                              daemon=True)
    launch.start()
    launch.join(timeout=60)                                # a hang detector: it takes well under 1 s
    assert not launch.is_alive(), "_launch still waits for rank 0 after rank 1 died"
    assert len(found) == 1 and found[0].startswith("rank 1 exited with -6 (killed by signal SIGABRT)")
