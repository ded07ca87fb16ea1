"""`make lab` (the Makefile's lab target): a second launch, or a busy port, still works; JupyterLab
keeps its token and listens on 127.0.0.1 unless told otherwise; `--allow-root` only as root.

The server command is the Makefile's own, read with `make -n lab` (a dry run prints the recipe
with every variable expanded) and started with Popen, so each server is stopped by its own pid.
Each server gets empty Jupyter config/runtime folders, so no user's settings change the outcome.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tools.lab_settings import NOTIFICATION  # the plugin that asks about news

ROOT = Path(__file__).resolve().parents[1]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def lab_recipe(**variables) -> tuple[dict, list[str]]:
    """(environment, argv) of the command `make lab VAR=value ...` would run: the recipe's jupyter
    line from a dry run, its leading NAME=value words (MALLOC_ENV) taken as the environment."""
    assignments = [f"{name}={value}" for name, value in variables.items()]
    out = subprocess.run(["make", "--no-print-directory", "-n", "lab", *assignments],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = [line for line in out.replace("\\\n", " ").splitlines() if "jupyter lab" in line]
    assert len(lines) == 1, f"expected one `jupyter lab` line in the lab recipe:\n{out}"
    words = shlex.split(lines[0])
    env = {}
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    return env, words


def lab_command(**variables) -> list[str]:
    """The argv `make lab VAR=value ...` would run."""
    return lab_recipe(**variables)[1]


def _option(argv, name):
    values = [a.split("=", 1)[1] for a in argv if a.startswith(f"{name}=")]
    return values[-1] if values else None


def test_lab_listens_on_localhost_keeps_its_token_and_retries_ports():
    argv = lab_command()
    assert argv[1] == "lab" and argv[-1] == "notebooks/00_start_here.ipynb"
    assert _option(argv, "--ip") == "127.0.0.1"
    assert int(_option(argv, "--ServerApp.port_retries")) > 0
    assert not any("token" in a.lower() or "password" in a.lower() for a in argv), argv
    assert ("--allow-root" in argv) == IS_ROOT
    assert _option(argv, "--LabApp.news_url") == "None"       # nothing fetched from the internet


def test_lab_ip_and_port_can_be_told_otherwise():
    argv = lab_command(IP="0.0.0.0", PORT="9123")
    assert _option(argv, "--ip") == "0.0.0.0" and _option(argv, "--port") == "9123"


def _two_free_ports() -> int:
    """A port p with p and p + 1 both free on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


def _get(url, token=None):
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


class Server:
    """One `make lab` server: started with Popen, found through the runtime file it writes
    (jpserver-<pid>.json: port and token), stopped by its own pid."""

    def __init__(self, argv, area: Path, env_extra: dict):
        area.mkdir(parents=True)
        self.runtime = area / "runtime"
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(area / "config"),
               "JUPYTER_DATA_DIR": str(area / "data"), "JUPYTER_RUNTIME_DIR": str(self.runtime),
               "IPYTHONDIR": str(area / "ipython"), **env_extra}
        self.log_path = area / "lab.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.info = None

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout_s=120.0) -> dict:
        deadline = time.monotonic() + timeout_s
        info_file = self.runtime / f"jpserver-{self.proc.pid}.json"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"`make lab` exited with {self.proc.returncode}:\n{self.log[-3000:]}")
            if info_file.exists():
                try:
                    info = json.loads(info_file.read_text())
                    status, _ = _get(f"http://127.0.0.1:{info['port']}/api/status", info["token"])
                    if status == 200:
                        self.info = info
                        return info
                except (ValueError, OSError):
                    pass                          # file half written, or the server not yet answering
            time.sleep(0.3)
        raise RuntimeError(f"`make lab` did not answer within {timeout_s} s:\n{self.log[-3000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.mark.slow
def test_make_lab_twice_serves_both_with_tokens_on_localhost(tmp_path):
    """The second `make lab` with the same PORT takes the next free port. Both refuse requests
    without the token. JUPYTER_PORT_RETRIES=0 (a user's setting) must not make the second fail."""
    psutil = pytest.importorskip("psutil")
    port = _two_free_ports()
    recipe_env, argv = lab_recipe(PORT=port, LAB_ARGS="--no-browser")
    servers = []
    try:
        for i in range(2):
            area = tmp_path / f"server{i}"
            servers.append(Server(argv, area, {**recipe_env, "JUPYTER_PORT_RETRIES": "0"}))
            servers[-1].wait_ready()
        first, second = (s.info for s in servers)
        assert first["port"] == port and second["port"] == port + 1, (first["port"], second["port"])
        assert "already in use" in servers[1].log
        for server in servers:
            info = server.info
            base = f"http://127.0.0.1:{info['port']}"
            assert len(info["token"]) >= 32 and info["pid"] == server.proc.pid
            status, body = _get(f"{base}/api/status", info["token"])
            assert status == 200 and "started" in json.loads(body)
            assert _get(f"{base}/api/status")[0] == 403
            assert _get(f"{base}/api/contents/notebooks")[0] == 403
            assert _get(f"{base}/api/contents/notebooks", "not-the-token")[0] == 403
            listening = {c.laddr.ip for c in psutil.Process(server.proc.pid).net_connections(kind="inet")
                         if c.status == psutil.CONN_LISTEN}
            assert listening == {"127.0.0.1"}, listening
        # no toast asking to fetch news from the internet over the first notebook (tools/lab_settings.py)
        status, body = _get(f"{base}/lab/api/settings/{NOTIFICATION}", info["token"])
        assert status == 200 and json.loads(body)["schema"]["properties"]["fetchNews"]["default"] == "false"
    finally:
        for server in servers:
            server.stop()
    assert all(s.proc.returncode is not None for s in servers)
