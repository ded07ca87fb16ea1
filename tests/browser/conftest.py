"""JupyterLab in headless Chromium (Debian's chromium, driven by Playwright's Python API).

The server runs on 127.0.0.1 with its own token, serves a temporary folder (so JupyterLab's
autosave never writes into the course's notebooks/), keeps its settings, workspaces and
IPython profile in that temporary area too, and is stopped by its own process id (its
kernels are shut down first). Playwright never downloads a browser: Debian's chromium is
launched by path. A failing test leaves a screenshot, the browser console and the server log
in test-artifacts/.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def pytest_collection_modifyitems(items):
    """Every test in tests/browser/ carries the ``browser`` marker (``-m "not browser"`` skips them)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("BP_SKIP_BROWSER") == "1":
            pytest.skip("BP_SKIP_BROWSER=1 and Debian's chromium is not installed")
        pytest.fail("Debian's chromium is needed for the browser tests: apt-get install -y chromium "
                    "(.ci/run installs it), or set BP_SKIP_BROWSER=1 to skip them locally.")
    return path


def write_notebook(folder: Path, name: str, cells: list[str]) -> Path:
    """A minimal notebook of code cells, with the kernelspec JupyterLab needs (without it
    JupyterLab opens a "Select Kernel" dialog)."""
    nb = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {},
                   "outputs": [], "source": src} for i, src in enumerate(cells)],
        "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path = folder / name
    path.write_text(json.dumps(nb))
    return path


@dataclass
class Lab:
    """A JupyterLab server: ``base`` URL, ``token``, the ``root`` folder it serves, its log and
    process. The fixture hands it over while the server is still booting (so the browser starts
    meanwhile); ``wait_ready()`` (called by ``open_notebook``) waits until it answers."""

    base: str
    token: str
    root: Path
    log: Path
    proc: subprocess.Popen
    ready: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout_s: float = 60.0) -> Lab:
        deadline = time.monotonic() + timeout_s
        while not self.ready:
            try:
                self.api("status")
                self.ready = True
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{self.log.read_text()[-3000:]}") from None
                time.sleep(0.2)
        return self

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}?token={self.token}"

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(f"{self.base}/api/{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            body = resp.read()
        return json.loads(body) if body else None


def _stop(proc: subprocess.Popen, lab: Lab | None) -> None:
    """Shut down the server's kernels through its API, then stop the server by its pid."""
    if lab is not None and proc.poll() is None:
        try:
            for kernel in lab.api("kernels"):
                lab.api(f"kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass
    children = []
    try:
        import psutil  # comes with ipykernel; used only to make sure no kernel outlives the server

        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception:   # noqa: BLE001 - psutil missing or the server already gone
        pass
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for child in children:                       # by pid, only the server's own children
        try:
            if child.is_running():
                child.kill()
        except Exception:  # noqa: BLE001 - already exited
            pass


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab serving a fresh temporary folder (never the repository); see ``Lab``."""
    area = tmp_path_factory.mktemp("lab")
    root = area / "root"
    root.mkdir()
    assert ROOT not in root.resolve().parents, "the browser tests must not serve the repository"
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--expose-app-in-browser",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={area / 'settings'}",
           f"--LabApp.workspaces_dir={area / 'workspaces'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    # no news or update questions popping up over the notebook
    notify = area / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notify.parent.mkdir(parents=True)
    notify.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(area / "config"), "JUPYTER_DATA_DIR": str(area / "data"),
           "JUPYTER_RUNTIME_DIR": str(area / "runtime"), "IPYTHONDIR": str(area / "ipython"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("MPLBACKEND", None)                  # the kernel's default (inline) backend
    log_path = area / f"lab-{port}.log"
    proc = lab_obj = None
    with open(log_path, "w") as log:
        try:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
            lab_obj = Lab(f"http://127.0.0.1:{port}", token, root, log_path, proc)
            yield lab_obj
        finally:
            if proc is not None:
                _stop(proc, lab_obj)


@pytest.fixture
def page(request):
    """A Chromium page; on failure its screenshot and console (and the server log, when the
    test uses ``lab``) are saved in test-artifacts/."""
    from playwright.sync_api import sync_playwright

    exe = _chromium()
    console = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            pg = browser.new_page(viewport={"width": 1400, "height": 1000})
            pg.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
            pg.on("pageerror", lambda err: console.append(f"[pageerror] {err}"))
            yield pg
            rep = getattr(request.node, "rep_call", None)
            if rep is not None and rep.failed:
                ARTIFACTS.mkdir(exist_ok=True)
                stem = ARTIFACTS / request.node.name.replace("/", "_")
                try:
                    pg.screenshot(path=f"{stem}.png", full_page=True)
                except Exception as err:  # noqa: BLE001 - a dead page must not hide the test's failure
                    console.append(f"[screenshot failed] {err}")
                Path(f"{stem}.console.txt").write_text("\n".join(console))
                if "lab" in request.fixturenames:
                    shutil.copyfile(request.getfixturevalue("lab").log, f"{stem}.lab.log")
        finally:
            browser.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def open_notebook(page, lab: Lab, name: str, timeout_ms: int = 60_000) -> None:
    """Open notebook ``name`` in JupyterLab and wait until its kernel is idle."""
    lab.wait_ready()
    page.goto(lab.url(f"lab/tree/{name}"))
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout_ms)
    page.evaluate(
        """async () => {
            const app = window.jupyterapp;
            await app.restored;
            let nb = app.shell.currentWidget;
            while (!nb || !nb.context) {               // the notebook panel may come a moment later
                await new Promise(r => setTimeout(r, 100));
                nb = app.shell.currentWidget;
            }
            await nb.context.ready;
            await nb.context.sessionContext.ready;
        }"""
    )
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=timeout_ms)


def run_all_cells(page, lab: Lab, name: str, timeout_ms: int = 120_000) -> None:
    """Open notebook ``name`` and run every cell; return once each code cell has run
    (its prompt shows an execution number) and the kernel is idle."""
    open_notebook(page, lab, name, timeout_ms)
    page.evaluate("async () => { await window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function(
        """() => { const c = document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt');
                   return c.length > 0 && [...c].every(p => /\\[\\d+\\]/.test(p.textContent)); }""",
        timeout=timeout_ms,
    )
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=timeout_ms)


def run_cell(page, index: int, timeout_ms: int = 60_000) -> str:
    """Run code cell ``index`` of the open notebook again and return its output text."""
    return page.evaluate(
        """async ([index, timeout]) => {
            const app = window.jupyterapp;
            const panel = app.shell.currentWidget;
            const cell = panel.content.widgets[index];
            const before = cell.model.executionCount;
            panel.content.activeCellIndex = index;
            await app.commands.execute('notebook:run-cell');
            const start = Date.now();
            while (cell.model.executionCount === before || cell.model.executionCount === null) {
                if (Date.now() - start > timeout) throw new Error('cell ' + index + ' did not run');
                await new Promise(r => setTimeout(r, 50));
            }
            return cell.outputArea.node.innerText;
        }""",
        [index, timeout_ms],
    )


def stable_image_src(page, selector, settle_ms=800, timeout_ms=30_000, different_from=None):
    """The ``src`` of the last image matching ``selector`` once it has not changed for
    ``settle_ms`` (a figure redraws over several frames); with ``different_from``, wait for a
    src other than that one first."""
    deadline = time.monotonic() + timeout_ms / 1000
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        src = page.evaluate(
            "(sel) => { const imgs = document.querySelectorAll(sel);"
            " return imgs.length ? imgs[imgs.length - 1].getAttribute('src') : null; }", selector)
        if src != last:
            last, since = src, time.monotonic()
        elif src and src != different_from and (time.monotonic() - since) * 1000 >= settle_ms:
            return src
        time.sleep(0.1)
    state = "unchanged" if last is not None and last == different_from else "not stable or missing"
    raise AssertionError(f"image {selector!r} {state} within {timeout_ms} ms")
