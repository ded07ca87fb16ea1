"""Execute one notebook top to bottom in a fresh kernel and print one JSON line about it.

Run by tests/binder/test_binder_build.py with the Python of the environment built from binder/,
so the kernel, nbclient and every package come from that environment. The kernel starts in the
notebook's folder, as in JupyterLab. Memory: the peak resident set (VmHWM, Linux) of the kernel
and of every process it starts, read every 0.1 s and once more before the kernel shuts down;
``tree_peak_bytes`` sums the per-process peaks (an upper bound of their combined peak).

    python execute_notebook.py NOTEBOOK [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))     # the repository, for tools/
from tools.nbwait import guard_missed_wakeups  # noqa: E402


def vm_hwm_bytes(pid: int) -> int | None:
    """Peak resident set size of process ``pid`` (VmHWM in /proc/<pid>/status), or None if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024          # reported in kB
    except (OSError, ValueError, IndexError):
        pass
    return None


class PeakMemory:
    """Per-process peak memory of a kernel and its descendants, sampled in a thread."""

    def __init__(self, pid: int, interval_s: float = 0.1):
        self.pid, self.interval_s = pid, interval_s
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        try:
            pids = [self.pid] + [c.pid for c in psutil.Process(self.pid).children(recursive=True)]
        except psutil.Error:
            pids = [self.pid]
        for pid in pids:
            hwm = vm_hwm_bytes(pid)
            if hwm is not None:
                self.peaks[pid] = max(hwm, self.peaks.get(pid, 0))

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()                                        # the kernel is still alive here


def execute(path: Path, timeout_s: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    kernel_name = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(nb, timeout=timeout_s, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(path.parent)}})
    result = {"notebook": path.name, "ok": False, "error": None}
    start = time.perf_counter()
    with client.setup_kernel():
        guard_missed_wakeups(client.kc)                      # a missed wake-up costs 1 s, not 600
        pid = client.km.provisioner.process.pid
        result["kernel_cmd"] = psutil.Process(pid).cmdline()[:3]
        with PeakMemory(pid) as memory:
            try:
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
                result["ok"] = True
            except CellExecutionError as err:
                result["error"] = str(err)[-4000:]
    result["seconds"] = time.perf_counter() - start
    result["kernel_peak_bytes"] = memory.peaks.get(pid)
    result["tree_peak_bytes"] = sum(memory.peaks.values())
    result["processes"] = len(memory.peaks)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    result = execute(args.notebook.resolve(), args.timeout)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
