"""bp.doctor (backprop_lib/_doctor.py) reports what is installed and a fix for each problem it finds."""

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
