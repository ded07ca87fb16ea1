"""``bp.doctor()``: is this environment ready for the course? Each problem comes with its fix."""

from __future__ import annotations

import html
import importlib
import importlib.metadata as md
import importlib.util
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

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


# Importing these has side effects, so they are only located: `import ipympl` while matplotlib is
# loaded switches matplotlib to the ipympl backend, which closes every open figure.
LOCATE_ONLY = {"ipympl"}


def _check_component(module, dist, minimum, purpose) -> Check:
    try:
        if module in LOCATE_ONLY:
            if importlib.util.find_spec(module) is None:
                raise ImportError(f"No module named {module!r}")
        else:
            importlib.import_module(module)
    except Exception as err:  # ImportError, or a broken install raising something else
        return Check(dist, False, f"cannot be imported ({type(err).__name__}: {err}); needed for {purpose}",
                     FIX_INSTALL)
    try:
        version = md.version(dist)
    except md.PackageNotFoundError:
        version = getattr(sys.modules.get(module), "__version__", "unknown")
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


FIX_KERNEL = "pip install 'ipykernel>=6.29,<7' in the course's environment, then restart the kernel"


def _check_kernel() -> Check:
    """ipykernel 7 now and then never answers a cell's execute request: the kernel sits idle and
    the cell shows [*] forever (ipython/ipykernel#1554). The course installs 6.x."""
    try:
        version = md.version("ipykernel")
    except md.PackageNotFoundError:
        return Check("ipykernel", False, "not installed: no Python kernel for the notebooks", FIX_INSTALL)
    if _version_tuple(version) >= (7,):
        return Check("ipykernel", False, f"version {version}: ipykernel 7 now and then leaves a cell waiting "
                     "forever (idle kernel, [*] that never ends)", FIX_KERNEL)
    return Check("ipykernel", True, version)


FIX_MATPLOTLIB = "pip install 'matplotlib>=3.7,<3.11' in the course's environment, then restart the kernel"


def _check_matplotlib_speed() -> Check | None:
    """matplotlib 3.11 renders text through a new pipeline that draws the explorers' figures
    1.3–3× slower than 3.10 (benchmarks/bench_widgets.py), so sliders lag. The course installs 3.10."""
    try:
        version = md.version("matplotlib")
    except md.PackageNotFoundError:
        return None                                        # the component check reports it missing
    if _version_tuple(version) >= (3, 11):
        return Check("figure speed", False, f"matplotlib {version} draws text 1.3–3× slower than 3.10, "
                     "so the explorers lag behind their sliders", FIX_MATPLOTLIB)
    return Check("figure speed", True, f"matplotlib {version}")


# JupyterLab front-end extensions that render what the kernel sends: (labextension, Python package).
WIDGET_MANAGER = ("@jupyter-widgets/jupyterlab-manager", "jupyterlab_widgets")
FIGURE_EXTENSION = ("jupyter-matplotlib", "ipympl")
# ipywidgets major -> major of the widget manager that renders it (jupyterlab_widgets 1.x ships
# manager 3.x for ipywidgets 7; jupyterlab_widgets 3.x ships manager 5.x for ipywidgets 8).
MANAGER_MAJOR_FOR_IPYWIDGETS = {7: 3, 8: 5}
FIX_WIDGETS = ("pip install --force-reinstall 'ipywidgets>=8.1,<9' 'jupyterlab_widgets>=3,<4' in the "
               "environment that runs JupyterLab, then restart JupyterLab and reload the page")
FIX_FIGURES = ("pip install --force-reinstall 'ipympl>=0.9,<0.11' in the environment that runs JupyterLab, "
               "then restart JupyterLab and reload the page")


def _labextension_paths() -> list[str]:
    """Where JupyterLab looks for prebuilt extensions, highest precedence first."""
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:
        return [str(Path(sys.prefix) / "share" / "jupyter" / "labextensions")]
    return jupyter_path("labextensions")


def _read_version(package_json: Path) -> str | None:
    try:
        return str(json.loads(package_json.read_text())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _labextension_version(name: str) -> tuple[str, str] | None:
    """(version, folder) of the labextension ``name`` JupyterLab would load (the first found), or None."""
    for root in _labextension_paths():
        version = _read_version(Path(root) / name / "package.json")
        if version is not None:
            return version, str(Path(root) / name)
    return None


def _shipped_labextension_version(dist: str, name: str) -> str | None:
    """Version of labextension ``name`` that Python distribution ``dist`` installed (from its file list)."""
    try:
        files = md.files(dist) or []
    except md.PackageNotFoundError:
        return None
    for f in files:
        if str(f).replace("\\", "/").endswith(f"labextensions/{name}/package.json"):
            return _read_version(Path(f.locate()))
    return None


def _where() -> str:
    shell = None
    if "IPython" in sys.modules:     # never import IPython just to ask
        try:
            shell = sys.modules["IPython"].get_ipython()
        except Exception:  # noqa: BLE001 - a half-initialised IPython: treat it as no kernel
            shell = None
    return "in a Jupyter kernel" if getattr(shell, "kernel", None) is not None else "outside a kernel"


def _check_frontend(name, labextension, dist, fix, symptom) -> Check | str:
    """Is the labextension JupyterLab would load present, and the build that ``dist`` shipped?
    Returns a failed Check, or the version found."""
    found = _labextension_version(labextension)
    if found is None:
        return Check(name, False, f"JupyterLab extension {labextension} is in none of "
                     f"{_labextension_paths()}, so {symptom}", fix)
    version, folder = found
    shipped = _shipped_labextension_version(dist, labextension)
    if shipped is not None and shipped != version:
        return Check(name, False, f"JupyterLab would load {labextension} {version} from {folder}, but "
                     f"{dist} {md.version(dist)} ships {shipped}: widgets show 'Error displaying widget'",
                     fix)
    return version


def _check_widgets() -> Check:
    """Widgets render when ipywidgets (kernel side) and JupyterLab's widget manager (front end,
    from jupyterlab_widgets) are both installed and speak the same protocol version."""
    name = "widgets in JupyterLab"
    versions = {}
    for dist in ("ipywidgets", "jupyterlab_widgets"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            return Check(name, False, f"{dist} is not installed, so JupyterLab shows widgets as text "
                         "(e.g. 'IntSlider(value=3)')", FIX_WIDGETS)
    manager = _check_frontend(name, *WIDGET_MANAGER, FIX_WIDGETS, "widgets show as text")
    if isinstance(manager, Check):
        return manager
    ipyw = versions["ipywidgets"]
    need = MANAGER_MAJOR_FOR_IPYWIDGETS.get(_version_tuple(ipyw)[0])
    if need is not None and _version_tuple(manager)[0] != need:
        return Check(name, False, f"ipywidgets {ipyw} needs widget manager {need}.x but JupyterLab has "
                     f"{manager}: widgets show 'Error displaying widget'", FIX_WIDGETS)
    return Check(name, True, f"ipywidgets {ipyw}, jupyterlab_widgets {versions['jupyterlab_widgets']}, "
                 f"manager {manager} ({_where()})")


def _check_interactive_figures() -> Check:
    """``%matplotlib widget`` figures (canvases that redraw in place) need ipympl in the kernel
    and, in JupyterLab, the jupyter-matplotlib extension that ipympl ships. ipympl is located,
    never imported (see LOCATE_ONLY)."""
    name = "interactive figures"
    try:
        version = md.version("ipympl")
        present = importlib.util.find_spec("ipympl") is not None
    except (md.PackageNotFoundError, ValueError):
        present = False
    if not present:
        return Check(name, False, "ipympl is not installed, so `%matplotlib widget` fails", FIX_FIGURES)
    js = _check_frontend(name, *FIGURE_EXTENSION, FIX_FIGURES, "figures show as text ('Canvas(...)')")
    if isinstance(js, Check):
        return js
    return Check(name, True, f"ipympl {version}, {FIGURE_EXTENSION[0]} {js}")


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
    """Check Python, every package the course uses (with versions), the PyTorch build, and whether
    widgets and interactive figures can render in JupyterLab; each problem comes with its fix."""
    checks = [_check_python()]
    checks += [_check_component(*c) for c in components]
    torch_check = _check_torch_cpu()
    if torch_check is not None:
        checks.append(torch_check)
    checks.append(_check_kernel())
    speed = _check_matplotlib_speed()
    if speed is not None:
        checks.append(speed)
    checks.append(_check_widgets())
    checks.append(_check_interactive_figures())
    return DoctorReport(tuple(checks))
