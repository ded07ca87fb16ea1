"""The repository's setup files agree with each other, so every way in installs the same course."""

import os
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _runtime_requirements():
    """pyproject's dependencies plus the `course` extra: what a learner's kernel needs."""
    project = _pyproject()["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["course"]
    return {Requirement(r).name.lower(): Requirement(r) for r in reqs}


def _binder_requirements():
    out = {}
    for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        out[req.name.lower()] = req
    return out


def _strip_local(spec: str) -> str:
    """`==2.13.0+cpu` and `==2.13.0` pin the same release (the local tag picks the build)."""
    return re.sub(r"\+[A-Za-z0-9.]+", "", spec)


def test_binder_and_pyproject_list_the_same_runtime_dependencies():
    ours, binder = _runtime_requirements(), _binder_requirements()
    assert sorted(binder) == sorted(ours), (
        f"only in pyproject: {sorted(set(ours) - set(binder))}; "
        f"only in binder/requirements.txt: {sorted(set(binder) - set(ours))}"
    )


def test_binder_and_pyproject_agree_on_version_ranges():
    ours, binder = _runtime_requirements(), _binder_requirements()
    for name, req in ours.items():
        theirs = {_strip_local(str(s)) for s in binder[name].specifier}
        mine = {str(s) for s in req.specifier}
        assert theirs == mine, f"{name}: pyproject says {sorted(mine)}, binder says {sorted(theirs)}"


def test_torch_is_the_one_pin_and_binder_takes_the_cpu_build():
    ours, binder = _runtime_requirements(), _binder_requirements()
    pinned = sorted(n for n, r in ours.items() if any(s.operator == "==" for s in r.specifier))
    assert pinned == ["torch"], f"only PyTorch's CPU build is pinned; pinned: {pinned}"
    torch_spec = next(iter(binder["torch"].specifier))
    assert Version(torch_spec.version).local == "cpu", "binder must install the +cpu build of torch"
    text = (ROOT / "binder" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text


def test_every_other_dependency_is_a_bounded_range():
    for name, req in _runtime_requirements().items():
        if name == "torch":
            continue
        ops = {s.operator for s in req.specifier}
        assert ">=" in ops and "<" in ops, f"{name} should be a range with a lower and an upper bound: {req}"


def test_binder_runs_python_311_and_installs_the_library():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    post = (ROOT / "binder" / "postBuild").read_text()
    assert post.startswith("#!/bin/bash") and "set -e" in post and "pip install" in post


def test_binder_start_sets_the_makefiles_malloc_settings():
    """binder/start (run by Binder before JupyterLab) exports what MALLOC_ENV gives `make lab`."""
    start = ROOT / "binder" / "start"
    text = start.read_text()
    assert text.startswith("#!/bin/bash") and text.rstrip().endswith('exec "$@"')
    assert os.access(start, os.X_OK), "binder/start must be executable"
    makefile = (ROOT / "Makefile").read_text()
    malloc_env = re.search(r"^MALLOC_ENV := (.+)$", makefile, flags=re.M).group(1).split()
    assert malloc_env and all(v.startswith("MALLOC_") for v in malloc_env)
    assert sorted(re.findall(r"^export (\S+)$", text, flags=re.M)) == sorted(malloc_env)
    assert re.search(r"^lab:.*\n\t\$\(MALLOC_ENV\) ", makefile, flags=re.M), "make lab must use MALLOC_ENV"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"^\s*(make \w[\w-]*)\s*$", readme, flags=re.M)
    assert "make test" in commands and "make lab" in commands, commands
    assert re.search(r"^make test$", ci, flags=re.M), ".ci/run must run the README's test command"


def test_ci_runs_the_binder_build_after_the_tests():
    ci = (ROOT / ".ci" / "run").read_text()
    steps = re.findall(r"^(make [\w-]+)$", ci, flags=re.M)
    assert steps[-2:] == ["make test", "make test-binder"], steps
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^test-binder:.*\n\t(.+)$", makefile, flags=re.M)
    assert recipe and "BP_BINDER_BUILD=1" in recipe.group(1) and "tests/binder" in recipe.group(1)
