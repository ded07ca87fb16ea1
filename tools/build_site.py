"""Read without running: execute the course's notebooks and write them as a static site.

    python -m tools.build_site [NOTEBOOK ...] [--out _site] [--workers 2] [--timeout 900]

Every notebook (default: notebooks/NN_*.ipynb, in reading order) is executed by nbclient,
``workers`` notebooks at a time, each within ``timeout`` seconds, in its own folder as the
working directory. Each becomes ``OUT/<name>.html`` with its outputs and figures inline;
``OUT/index.html`` is the course map linking every page in reading order. A notebook that
fails or times out fails the build (its error is reported; no course map is written).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .nbwait import guard_missed_wakeups
from .site_pages import Page, freeze_cell, index_html, page_html, page_info

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "_site"
ANSI = re.compile(r"\x1b\[[0-9;]*m")          # colours in tracebacks


class SiteBuildError(RuntimeError):
    """One or more notebooks failed to execute; the message names each and its error."""


@dataclass(frozen=True)
class Built:
    """A page written: its ``path``, ``page`` (title, href) and execution time in ``seconds``."""

    path: Path
    page: Page
    seconds: float


def course_notebooks(folder: Path = ROOT / "notebooks") -> list[Path]:
    """The course's notebooks in reading order (``NN_name.ipynb``)."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


async def _execute(path: Path, gate: asyncio.Semaphore, timeout: float):
    async with gate:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        # widgets frozen as each cell finishes, before later cells change them
        client.on_cell_executed = lambda cell, **_: freeze_cell(cell, client.widget_state)
        client.on_notebook_start = lambda **_: guard_missed_wakeups(client.kc)   # see tools/nbwait.py
        running = {}                                   # the cell under way, for a timeout's message
        client.on_cell_execute = lambda cell, cell_index, **_: running.update(
            index=cell_index, since=time.perf_counter(), line=cell.source.strip().splitlines()[0][:80])
        start = time.perf_counter()
        try:
            await asyncio.wait_for(client.async_execute(), timeout)
        except Exception as err:
            # cancelled at the deadline: nbclient shuts the kernel down, which may surface
            # as DeadKernelError instead of the TimeoutError
            if time.perf_counter() - start >= timeout:
                raise TimeoutError(f"did not finish within {timeout:g} s (--timeout); "
                                   f"{_running_cell(running, start)}") from err
            raise
        return nb, time.perf_counter() - start


def _running_cell(running: dict, start: float) -> str:
    if not running:
        return f"no cell had started after {time.perf_counter() - start:.0f} s (the kernel did not start)"
    return (f"cell {running['index']} ({running['line']!r}) had been running for "
            f"{time.perf_counter() - running['since']:.0f} s")


async def execute_all(paths: list[Path], workers: int, timeout: float) -> list:
    """Execute ``paths``, ``workers`` at a time; one ``(nb, seconds)`` or exception per path."""
    gate = asyncio.Semaphore(workers)
    return await asyncio.gather(*(_execute(p, gate, timeout) for p in paths), return_exceptions=True)


def build_site(notebooks: list[Path] | None = None, out: Path = DEFAULT_OUT, *, workers: int = 2,
               timeout: float = 900.0) -> list[Built]:
    """Execute ``notebooks`` (default: the whole course) and write their pages and the course
    map into ``out``. Returns the pages in reading order; raises ``SiteBuildError`` if any
    notebook failed (the pages of the others are still written)."""
    paths = [Path(p).resolve() for p in (course_notebooks() if notebooks is None else notebooks)]
    if not paths:
        raise ValueError("notebooks is empty: pass at least one .ipynb (default: notebooks/NN_*.ipynb).")
    missing = [str(p) for p in paths if not p.is_file() or p.suffix != ".ipynb"]
    if missing:
        raise ValueError(f"notebooks must be existing .ipynb files; not found or not notebooks: {missing}")
    if len({p.stem for p in paths}) != len(paths):
        raise ValueError("notebooks: two notebooks share a file name, so their pages would collide.")
    if workers < 1 or timeout <= 0:
        raise ValueError(f"workers must be >= 1 and timeout > 0 (got workers={workers}, timeout={timeout}).")
    paths.sort(key=lambda p: p.name)                     # reading order = NN_ prefix order
    results = asyncio.run(execute_all(paths, workers, timeout))

    pages = [page_info(nbformat.read(p, as_version=4), p.stem) for p in paths]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    built, failures = [], []
    for i, (path, result) in enumerate(zip(paths, results, strict=True)):
        if isinstance(result, BaseException):
            text = ANSI.sub("", str(result))[-1500:]
            failures.append(f"{path.name}: {type(result).__name__}: {text}")
            continue
        nb, seconds = result
        target = out / pages[i].href
        target.write_text(page_html(nb, pages, i, str(path.parent)), encoding="utf-8")
        built.append(Built(target, pages[i], seconds))
    if failures:
        raise SiteBuildError(f"{len(failures)} of {len(paths)} notebooks failed:\n" + "\n\n".join(failures))
    (out / "index.html").write_text(index_html(pages), encoding="utf-8")
    return built


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Execute the notebooks and write the course as static HTML.")
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to build (default: the course)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: _site/)")
    parser.add_argument("--workers", type=int, default=2, help="notebooks executed at once (default: 2)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per notebook (default: 900)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        built = build_site(args.notebooks or None, args.out, workers=args.workers, timeout=args.timeout)
    except (SiteBuildError, ValueError) as err:
        print(f"build_site: {err}", file=sys.stderr)
        return 1
    for b in built:
        print(f"{b.seconds:6.1f} s  {b.path}")
    print(f"{len(built)} pages and the course map in {args.out / 'index.html'} "
          f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
