"""Instructor mode in headless Chromium: Voilà serves the dashboard that `make demo` builds
(tools/build_dashboard.py). Every explorer renders in the presentation theme, no code is shown,
nothing fails, and moving a slider redraws that explorer's figure (and only that one).

Voilà runs on a free port of 127.0.0.1 with its own token, serves a temporary folder, keeps
its Jupyter folders there too, and is stopped by its own process id."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import backprop_lib as bp
from tools.build_dashboard import EXPLORERS, explorers_available, write_dashboard

from .conftest import ROOT, _free_port, _stop

pytestmark = pytest.mark.browser

FIGURE = ".widget-output img"


@dataclass
class Voila:
    url: str
    log: Path
    proc: subprocess.Popen

    def wait_ready(self, port: int, timeout_s: float = 60.0) -> None:
        """Until the port accepts connections (a GET would execute the notebook)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Voilà did not start:\n{self.log.read_text()[-3000:]}") from None
                time.sleep(0.2)


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    area = tmp_path_factory.mktemp("voila")
    root = area / "root"
    notebook = write_dashboard(root / "dashboard.ipynb")
    assert ROOT not in root.resolve().parents
    port, token = _free_port(), secrets.token_hex(16)
    # as `make demo` runs it, plus a fixed token and no port retries
    cmd = [sys.executable, "-m", "voila", str(notebook), "--no-browser", "--Voila.ip=127.0.0.1",
           f"--port={port}", "--Voila.port_retries=0", f"--token={token}", "--show_tracebacks=True"]
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(area / "config"), "JUPYTER_DATA_DIR": str(area / "data"),
           "JUPYTER_RUNTIME_DIR": str(area / "runtime"), "IPYTHONDIR": str(area / "ipython"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("MPLBACKEND", None)
    log_path = area / "voila.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
        try:
            server = Voila(f"http://127.0.0.1:{port}/?token={token}", log_path, proc)
            server.wait_ready(port)
            yield server
        finally:
            _stop(proc, None)
    assert proc.poll() is not None, "Voilà outlived its test"


def test_dashboard_shows_every_explorer_and_a_slider_redraws_its_figure(voila, page):
    expected = explorers_available(bp.widgets)
    # Voilà runs the whole dashboard before the page finishes loading: on a busy machine that took
    # over Playwright's default 30 s for `load`. Wait for the response only; the figures below get 120 s.
    page.goto(voila.url, wait_until="commit", timeout=120_000)
    page.wait_for_function(f"(n) => document.querySelectorAll({FIGURE!r}).length >= n",
                           arg=len(expected), timeout=120_000)

    # one figure per explorer, each under its heading; no code, no errors
    assert page.locator(FIGURE).count() == len(expected)
    headings = [h.strip() for h in page.locator("h2").all_inner_texts()]
    assert [h.rstrip("¶").strip() for h in headings] == [heading for _, heading, _ in expected]
    body = page.inner_text("body")
    assert "bp.widgets." not in body and "import backprop_lib" not in body, "code cells must be hidden"
    assert page.locator(".jp-CodeMirrorEditor, .jp-InputArea-editor").count() == 0
    assert all(not t.strip() for t in page.locator(".jp-CodeCell .jp-InputArea").all_inner_texts())
    assert page.get_by_text("Error displaying widget").count() == 0
    assert "Traceback" not in body and "There was an error" not in body

    # the presentation theme: the figures are drawn large and the controls' text is 18 px
    sizes = page.evaluate(f"() => [...document.querySelectorAll({FIGURE!r})].map(i => i.naturalWidth)")
    first = dict((name, i) for i, (name, *_) in enumerate(expected))
    assert sizes[first["ActivationExplorer"]] == 1000           # 10 in at 100 dpi (default: 6.4 in)
    assert page.evaluate("() => getComputedStyle(document.querySelector('.widget-label')).fontSize") == "18px"

    # move the activation explorer's "x max" slider with the keyboard: its figure alone redraws
    figures = page.locator(FIGURE)
    act = first["ActivationExplorer"]
    before, other_before = _stable_src(page, act), _stable_src(page, act + 1)
    slider = page.locator('.widget-slider:has(.widget-label:text-is("x max"))').first
    readout = slider.locator(".widget-readout")
    assert readout.inner_text().strip() == "8.00"
    slider.locator(".noUi-handle").focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("(el) => el.innerText.trim() === '7.50'", arg=readout.element_handle(),
                           timeout=10_000)
    after = _stable_src(page, act, different_from=before)
    assert after.startswith("data:image/png;base64,") and after != before
    assert _src(page, act + 1) == other_before
    assert figures.count() == len(expected)
    assert page.get_by_text("Error displaying widget").count() == 0
    assert "Traceback" not in page.inner_text("body")
    assert len(EXPLORERS) >= len(expected) >= 7


def _src(page, index: int) -> str:
    return page.evaluate(f"(i) => document.querySelectorAll({FIGURE!r})[i].getAttribute('src')", index)


def _stable_src(page, index: int, different_from=None, settle_s: float = 0.8, timeout_s: float = 30.0) -> str:
    """Figure ``index``'s src once stable for ``settle_s`` (and other than ``different_from``)."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        src = _src(page, index)
        if src != last:
            last, since = src, time.monotonic()
        elif src and src != different_from and time.monotonic() - since >= settle_s:
            return src
        time.sleep(0.1)
    raise AssertionError(f"figure {index} {'did not redraw' if last == different_from else 'not stable'} "
                         f"within {timeout_s} s")
