"""``bp.doctor()``: is this environment ready for the course? Each problem comes with its fix."""

from __future__ import annotations

import html
import importlib
import importlib.metadata as md
import re
import sys
from dataclasses import dataclass

FIX_INSTALL = "run `make lab` from the course folder (it installs everything), or pip install -e '.[course]'"

# (import name, distribution name, minimum version, what the course uses it for)
COMPONENTS = [
    ("numpy", "numpy", "1.24", "arrays: the whole library"),
    ("scipy", "scipy", "1.10", "special functions, L-BFGS"),
    ("matplotlib", "matplotlib", "3.7", "every figure"),
    ("tqdm", "tqdm", "4.64", "progress bars"),
    ("sklearn", "scikit-learn", "1.2", "the bundled digits dataset"),
    ("torch", "torch", "2.0", "the PyTorch comparisons"),
    ("ipywidgets", "ipywidgets", "8.0", "the interactive explorers"),
    ("ipympl", "ipympl", "0.9", "figures that redraw in place"),
    ("sympy", "sympy", "1.12", "symbolic differentiation (notebook 06)"),
    ("jupyterlab", "jupyterlab", "4.0", "the course's interface"),
]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _version_tuple(v: str):
    out = []
    for part in v.split("+")[0].split("."):
        m = re.match(r"\d+", part)  # "10rc1" -> 10
        out.append(int(m.group()) if m else 0)
    return tuple(out)


def _check_component(module, dist, minimum, purpose) -> Check:
    try:
        importlib.import_module(module)
    except Exception as err:  # ImportError, or a broken install raising something else
        return Check(dist, False, f"cannot be imported ({type(err).__name__}: {err}); needed for {purpose}",
                     FIX_INSTALL)
    try:
        version = md.version(dist)
    except md.PackageNotFoundError:
        version = getattr(sys.modules[module], "__version__", "unknown")
    if version != "unknown" and _version_tuple(version) < _version_tuple(minimum):
        return Check(dist, False, f"version {version} is older than {minimum} ({purpose})",
                     f"pip install -U '{dist}>={minimum}'")
    return Check(dist, True, f"{version}")


def _check_python() -> Check:
    v = sys.version_info
    ok = v >= (3, 10)
    return Check("python", ok, f"{v.major}.{v.minor}.{v.micro}",
                 "" if ok else "install Python 3.10 or newer and run `make lab` again")


def _check_torch_cpu() -> Check | None:
    try:
        import torch
    except Exception:
        return None
    cuda_build = torch.version.cuda is not None
    return Check("torch build", True,
                 "CUDA build (works on the CPU too, but is a multi-GB download)" if cuda_build
                 else "CPU build")


def _check_widgets() -> Check:
    """Widgets render when the front end has the ipywidgets manager (jupyterlab_widgets)."""
    try:
        jlw = md.version("jupyterlab_widgets")
    except md.PackageNotFoundError:
        return Check("widgets in JupyterLab", False, "jupyterlab_widgets is not installed, so sliders "
                     "show as text", "pip install 'ipywidgets>=8.1,<9' (it brings jupyterlab_widgets)")
    shell = None
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except Exception:
        pass
    in_kernel = shell is not None and getattr(shell, "kernel", None) is not None
    where = "in a Jupyter kernel" if in_kernel else "outside a kernel"
    return Check("widgets in JupyterLab", True, f"jupyterlab_widgets {jlw} ({where})")


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def problems(self):
        return [c for c in self.checks if not c.ok]

    def __str__(self):
        lines = [f"{'✔' if c.ok else '✘'} {c.name:<22} {c.detail}" + (f"\n    fix: {c.fix}" if c.fix else "")
                 for c in self.checks]
        verdict = "Everything the course needs is here." if self.ok else \
            f"{len(self.problems)} problem(s): each line marked ✘ says how to fix it."
        return "\n".join(lines + ["", verdict])

    __repr__ = __str__

    def _repr_html_(self):
        rows = "".join(
            f"<tr><td>{'✔' if c.ok else '✘'}</td><td>{html.escape(c.name)}</td>"
            f"<td>{html.escape(c.detail)}</td><td>{html.escape(c.fix)}</td></tr>" for c in self.checks)
        verdict = ("<b style='color:#009E73'>Everything the course needs is here.</b>" if self.ok else
                   f"<b style='color:#D55E00'>{len(self.problems)} problem(s); the last column says how to "
                   "fix each.</b>")
        return (f"<table><tr><th></th><th>component</th><th>found</th><th>fix</th></tr>{rows}</table>"
                f"{verdict}")


def doctor(components=COMPONENTS) -> DoctorReport:
    """Check Python, every package the course uses, the PyTorch build and widget support."""
    checks = [_check_python()]
    checks += [_check_component(*c) for c in components]
    torch_check = _check_torch_cpu()
    if torch_check is not None:
        checks.append(torch_check)
    checks.append(_check_widgets())
    return DoctorReport(tuple(checks))
