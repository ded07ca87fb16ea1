"""bp.doctor (backprop_lib/_doctor.py) reports what is installed and a fix for each problem it finds."""

import importlib.metadata as md
import importlib.util
import json
import subprocess
import sys

import pytest

import backprop_lib as bp
from backprop_lib import _doctor as doctor_mod


def test_this_environment_is_complete():
    report = bp.doctor()
    assert report.ok, str(report)
    names = {c.name for c in report.checks}
    assert {"python", "numpy", "torch", "ipywidgets", "jupyterlab", "widgets in JupyterLab"} <= names


def test_missing_package_is_reported_with_a_fix():
    report = bp.doctor(components=[("surely_not_a_module_xyz", "surely-not-xyz", "1.0", "testing")])
    bad = [c for c in report.checks if c.name == "surely-not-xyz"]
    assert bad and not bad[0].ok and "make lab" in bad[0].fix
    assert not report.ok and "problem" in str(report) and "fix" in report._repr_html_()


def test_too_old_version_is_reported():
    report = bp.doctor(components=[("numpy", "numpy", "999.0", "testing")])
    bad = [c for c in report.checks if c.name == "numpy"][0]
    assert not bad.ok and "older than 999.0" in bad.detail and "pip install -U" in bad.fix


def test_version_parsing_handles_local_tags():
    assert doctor_mod._version_tuple("2.13.0+cpu") == (2, 13, 0)
    assert doctor_mod._version_tuple("1.10rc1") < doctor_mod._version_tuple("1.11")


# --- widgets and interactive figures: the front end JupyterLab would load -------------------------

MANAGER, FIGURES = doctor_mod.WIDGET_MANAGER[0], doctor_mod.FIGURE_EXTENSION[0]


def _labext(root, name, version):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": name, "version": version}))
    return root


def _shipped(name):
    return doctor_mod._shipped_labextension_version(*{MANAGER: doctor_mod.WIDGET_MANAGER,
                                                       FIGURES: doctor_mod.FIGURE_EXTENSION}[name][::-1])


def _check(report, name):
    return next(c for c in report.checks if c.name == name)


def test_widget_checks_report_kernel_and_front_end_versions():
    report = bp.doctor(components=[])
    widgets, figures = _check(report, "widgets in JupyterLab"), _check(report, "interactive figures")
    assert widgets.ok and figures.ok, str(report)
    assert md.version("ipywidgets") in widgets.detail and _shipped(MANAGER) in widgets.detail
    assert md.version("ipympl") in figures.detail and _shipped(FIGURES) in figures.detail


def test_missing_front_end_extensions_are_problems_with_fixes(tmp_path, monkeypatch):
    monkeypatch.setattr(doctor_mod, "_labextension_paths", lambda: [str(tmp_path)])
    report = bp.doctor(components=[])
    widgets, figures = _check(report, "widgets in JupyterLab"), _check(report, "interactive figures")
    assert not widgets.ok and MANAGER in widgets.detail and "jupyterlab_widgets" in widgets.fix
    assert not figures.ok and FIGURES in figures.detail and "ipympl" in figures.fix
    assert "restart JupyterLab" in widgets.fix and not report.ok


@pytest.mark.parametrize("first_is_stale", [True, False])
def test_the_extension_jupyterlab_loads_first_must_be_the_shipped_one(tmp_path, monkeypatch, first_is_stale):
    stale, good = tmp_path / "stale", tmp_path / "good"
    _labext(stale, MANAGER, "3.0.1")
    _labext(stale, FIGURES, "0.7.0")
    _labext(good, MANAGER, _shipped(MANAGER))
    _labext(good, FIGURES, _shipped(FIGURES))
    order = [stale, good] if first_is_stale else [good, stale]
    monkeypatch.setattr(doctor_mod, "_labextension_paths", lambda: [str(p) for p in order])
    report = bp.doctor(components=[])
    widgets, figures = _check(report, "widgets in JupyterLab"), _check(report, "interactive figures")
    if first_is_stale:
        assert not widgets.ok and "3.0.1" in widgets.detail and str(stale) in widgets.detail
        assert not figures.ok and "0.7.0" in figures.detail and "ipympl" in figures.fix
    else:
        assert widgets.ok and figures.ok, str(report)


def test_ipywidgets_8_needs_widget_manager_5_even_without_a_file_list(tmp_path, monkeypatch):
    """A package manager that records no file list (so the shipped build is unknown) still gets
    the protocol check: ipywidgets 8 is rendered by manager 5.x only."""
    _labext(tmp_path, MANAGER, "3.6.0")
    monkeypatch.setattr(doctor_mod, "_labextension_paths", lambda: [str(tmp_path)])
    monkeypatch.setattr(doctor_mod, "_shipped_labextension_version", lambda dist, name: None)
    widgets = _check(bp.doctor(components=[]), "widgets in JupyterLab")
    assert not widgets.ok and "needs widget manager 5.x" in widgets.detail and "3.6.0" in widgets.detail


@pytest.mark.parametrize("dist, check, version, ok, fix", [
    ("ipykernel", "ipykernel", "6.29.5", True, ""),
    ("ipykernel", "ipykernel", "6.31.0", True, ""),
    ("ipykernel", "ipykernel", "7.0.0", False, "'ipykernel>=6.29,<7'"),     # cells left waiting
    ("ipykernel", "ipykernel", "7.4.0", False, "'ipykernel>=6.29,<7'"),
    ("matplotlib", "figure speed", "3.7.1", True, ""),
    ("matplotlib", "figure speed", "3.10.9", True, ""),
    ("matplotlib", "figure speed", "3.11.0", False, "'matplotlib>=3.7,<3.11'"),   # slow text
    ("matplotlib", "figure speed", "3.12.1", False, "'matplotlib>=3.7,<3.11'"),
])
def test_versions_known_to_misbehave_are_problems_with_a_fix(monkeypatch, dist, check, version, ok, fix):
    real = md.version
    monkeypatch.setattr(md, "version", lambda name: version if name == dist else real(name))
    found = _check(bp.doctor(components=[]), check)
    assert found.ok is ok and version in found.detail
    assert (fix in found.fix) if fix else not found.fix


def test_missing_ipympl_is_a_problem_with_a_fix(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ipympl" else real(name, *a))
    report = bp.doctor()
    figures, ipympl = _check(report, "interactive figures"), _check(report, "ipympl")
    assert not figures.ok and "%matplotlib widget" in figures.detail and "ipympl" in figures.fix
    assert not ipympl.ok and ipympl.fix


def test_doctor_leaves_matplotlib_backend_and_open_figures_alone():
    """`import ipympl` with matplotlib loaded switches the backend and closes every figure; the
    doctor must not do that to a learner's kernel (checked in a fresh interpreter)."""
    code = ("import matplotlib; matplotlib.use('agg'); import matplotlib.pyplot as plt; fig = plt.figure();"
            "import backprop_lib as bp; bp.doctor();"
            "print(matplotlib.get_backend(), plt.fignum_exists(fig.number))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["agg", "True"], out
