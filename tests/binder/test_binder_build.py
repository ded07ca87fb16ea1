"""binder/ builds an environment that runs every notebook within Binder's memory.

Builds a fresh virtual environment from binder/ the way repo2docker does (Python from
runtime.txt, `pip install -r binder/requirements.txt`, then `binder/postBuild` run from the
repository's root), as far as this machine allows:

- PyTorch's CPU wheel index (the file's `--extra-index-url https://download.pytorch.org/whl/cpu`)
  cannot be reached from here, so that line is dropped and the `torch==X+cpu` pin becomes
  `torch==X`, which pip takes from the CPU wheel of torch 2.13.0 on this machine's disk
  (a local CPU build, as on Binder); every other line is installed as written;
- pip's cache is used (repo2docker passes --no-cache-dir);
- repo2docker's base environment (jupyterhub-singleuser and the like) is not installed: the
  launch relies on jupyterlab from requirements.txt only.

Then every notebook in notebooks/ runs in that environment (nbclient, two at a time, one BLAS
thread each), and each kernel's peak memory (with any processes it starts) must stay within
1.5 GB, Binder's per-notebook budget (design.md). Finally JupyterLab from that environment must
send a visitor of `/` to notebooks/00_start_here.ipynb (postBuild's default URL), with JupyterLab's
news question turned off (postBuild's tools/lab_settings.py).

It takes minutes and ~1.5 GB of disk, so it runs only with BP_BINDER_BUILD=1: `make test-binder`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
DRIVER = Path(__file__).with_name("execute_notebook.py")
TORCH_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"
PEAK_LIMIT_BYTES = 1.5e9
START = "notebooks/00_start_here.ipynb"
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("BP_BINDER_BUILD") != "1",
                       reason="builds a 1.5 GB environment and runs every notebook: `make test-binder`"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads peak memory from /proc"),
]


def local_requirements(text: str) -> str:
    """binder/requirements.txt as this machine can install it (see the module docstring)."""
    lines, dropped, pinned = [], 0, 0
    for line in text.splitlines():
        if line.strip() == TORCH_INDEX:
            dropped += 1
            continue
        new = re.sub(r"^torch==([0-9.]+)\+cpu\s*$", r"torch==\1", line)
        pinned += new != line
        lines.append(new)
    assert (dropped, pinned) == (1, 1), \
        "binder/requirements.txt no longer has the CPU index and a torch==X+cpu pin"
    return "\n".join(lines) + "\n"


def _runtime_python() -> str:
    """An interpreter of runtime.txt's version (python-3.11 -> 3.11)."""
    want = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    for exe in (getattr(sys, "_base_executable", None), sys.executable, f"/usr/bin/python{want}"):
        if exe and Path(exe).exists():
            out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True)
            if out.stdout.strip() == want:
                return exe
    pytest.skip(f"no Python {want} here (binder/runtime.txt)")


def _env(venv: Path, area: Path) -> dict:
    """The environment's bin first on PATH, this interpreter's venv out of the way, Jupyter's own
    folders empty; pip's settings (PIP_*, /etc) stay, since they say where this machine's wheels are."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MPLBACKEND", "JUPYTER_PATH"}}
    here = str(Path(sys.executable).parent)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != here]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl")]:
        env[var] = str(area / sub)
    return {**env, **THREADS}


def _run(cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, \
        f"{cmd} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """(python, env, timings): the environment built from binder/ (removed afterwards)."""
    area = tmp_path_factory.mktemp("binder")
    venv = area / "venv"
    timings = {}
    t0 = time.perf_counter()
    _run([_runtime_python(), "-m", "venv", str(venv)])
    env = _env(venv, area)
    python = str(venv / "bin" / "python")
    req = area / "requirements.txt"
    req.write_text(local_requirements((BINDER / "requirements.txt").read_text()))
    t1 = time.perf_counter()
    _run([python, "-m", "pip", "install", "--quiet", "-r", str(req)], env=env)
    t2 = time.perf_counter()
    _run([str(BINDER / "postBuild")], cwd=ROOT, env=env)      # as repo2docker: executed, from the root
    t3 = time.perf_counter()
    timings.update(venv=t1 - t0, requirements=t2 - t1, postBuild=t3 - t2)
    print(f"\nbinder environment built: {', '.join(f'{k} {v:.0f} s' for k, v in timings.items())}")
    yield python, env, timings
    shutil.rmtree(venv, ignore_errors=True)                     # 1.5 GB


def test_the_environment_is_consistent_and_passes_the_doctor(binder_env):
    python, env, _ = binder_env
    _run([python, "-m", "pip", "check"], env=env)
    code = ("import sys, torch, backprop_lib as bp; r = bp.doctor(); print(r);"
            "print('TORCH', torch.__version__, torch.version.cuda); print('LIB', bp.__file__);"
            "sys.exit(0 if r.ok else 1)")
    out = _run([python, "-c", code], env=env, cwd=ROOT.parent).stdout
    torch_line = next(line for line in out.splitlines() if line.startswith("TORCH"))
    assert torch_line.split()[1].startswith("2.13.0") and torch_line.split()[2] == "None", torch_line
    lib = next(line for line in out.splitlines() if line.startswith("LIB")).split(" ", 1)[1]
    assert Path(lib).resolve().is_relative_to(ROOT / "backprop_lib"), lib   # postBuild's editable install


def test_every_notebook_runs_within_binders_memory(binder_env):
    python, env, timings = binder_env
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks and any(nb.name == Path(START).name for nb in notebooks)

    def run(nb):
        done = subprocess.run([python, str(DRIVER), str(nb)], capture_output=True, text=True, env=env,
                              cwd=ROOT)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if not lines:
            return {"notebook": nb.name, "ok": False, "error": done.stderr[-4000:]}
        return json.loads(lines[-1])

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, notebooks))
    wall = time.perf_counter() - start
    print(f"\n{'notebook':<46} {'s':>6} {'kernel MB':>10} {'tree MB':>8}")
    for r in results:
        kernel_mb, tree_mb = ((r.get(k) or 0) / 1e6 for k in ("kernel_peak_bytes", "tree_peak_bytes"))
        print(f"{r['notebook']:<46} {r.get('seconds', 0):6.1f} {kernel_mb:10.0f} {tree_mb:8.0f}")
    print(f"{len(results)} notebooks in {wall:.0f} s (2 at a time); build {sum(timings.values()):.0f} s")

    failed = {r["notebook"]: r["error"] for r in results if not r["ok"]}
    assert not failed, "\n\n".join(f"{name}:\n{err}" for name, err in failed.items())
    venv_python = Path(python)
    for r in results:
        assert Path(r["kernel_cmd"][0]) == venv_python, f"{r['notebook']} ran in {r['kernel_cmd']}"
        assert r["kernel_peak_bytes"] > 50e6, r                 # a real kernel was measured
        assert r["tree_peak_bytes"] <= PEAK_LIMIT_BYTES, (
            f"{r['notebook']} peaked at {r['tree_peak_bytes'] / 1e9:.2f} GB (Binder's budget: 1.5 GB)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_jupyterlab_opens_the_first_notebook(binder_env, tmp_path):
    python, env, _ = binder_env
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [python, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                opener.open(urllib.request.Request(f"{base}/api/status?token={token}"), timeout=5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(f"{base}/?token={token}", timeout=5)
        assert redirect.value.code == 302
        assert redirect.value.headers["Location"].split("?")[0] == f"/lab/tree/{START}"
        with opener.open(f"{base}/api/contents/{START}?content=0&token={token}", timeout=5) as resp:
            assert json.loads(resp.read())["type"] == "notebook"
        # postBuild's JupyterLab defaults: no toast asking to fetch news over the first notebook
        notification = f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}"
        with opener.open(notification, timeout=5) as resp:
            assert json.loads(resp.read())["schema"]["properties"]["fetchNews"]["default"] == "false"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
