"""JupyterLab in headless Chromium (Debian's chromium, driven by Playwright's Python API).

The server runs on 127.0.0.1 with its own token, serves a temporary folder (so JupyterLab's
autosave never writes outputs into the course's notebooks) and is stopped by its own
process id. Screenshots of failing tests land in test-artifacts/.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


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
    """A minimal notebook of code cells, with the kernelspec JupyterLab needs."""
    nb = {
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                   "source": src} for src in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path = folder / name
    path.write_text(json.dumps(nb))
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab: yields (base_url, token, root folder)."""
    root = tmp_path_factory.mktemp("lab")
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", "--expose-app-in-browser", "--LabApp.news_url=None",
           f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(root.parent / f"lab-{port}.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start; see {log.name}") from None
                time.sleep(0.3)
        yield base, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def page(request):
    """A Chromium page; on failure a screenshot is saved in test-artifacts/."""
    from playwright.sync_api import sync_playwright

    exe = _chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield pg
        if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        browser.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def run_all_cells(page, base, token, name, timeout_ms=120_000):
    """Open notebook ``name`` in JupyterLab and run every cell; wait until the kernel is idle."""
    page.goto(f"{base}/lab/tree/{name}?token={token}")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout_ms)
    page.wait_for_selector(".jp-Notebook", timeout=timeout_ms)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=timeout_ms)
    page.evaluate(
        """async () => {
            const app = window.jupyterapp;
            await app.restored;
            const nb = app.shell.currentWidget;
            await nb.context.sessionContext.ready;
            await app.commands.execute('notebook:run-all-cells');
        }"""
    )
    page.wait_for_function(
        """() => { const c = document.querySelectorAll('.jp-InputArea-prompt');
                   return c.length > 0 && [...c].every(p => !p.textContent.includes('*')); }""",
        timeout=timeout_ms,
    )
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=timeout_ms)


def stable_image_src(page, selector, settle_ms=800, timeout_ms=30_000):
    """The ``src`` of the figure image once it has not changed for ``settle_ms``."""
    deadline = time.monotonic() + timeout_ms / 1000
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        imgs = page.query_selector_all(selector)
        src = imgs[-1].get_attribute("src") if imgs else None
        if src != last:
            last, since = src, time.monotonic()
        elif src and (time.monotonic() - since) * 1000 >= settle_ms:
            return src
        time.sleep(0.1)
    raise AssertionError(f"no stable image for {selector!r} within {timeout_ms} ms")
