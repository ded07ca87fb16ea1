"""Every notebook keeps the course's conventions (design.md "Course", syllabus "Template").

Checked mechanically: kernelspec, no stored outputs, goals / predict-first / summary /
where-next sections, at least one widget also driven by ``.set(...)``, at least one claim
check, and every exercise followed by its checker and a collapsed solution that must pass.
nbval (in the README's test command) executes each notebook; this file checks its shape.
"""

import json
import re
from pathlib import Path

import pytest

import backprop_lib.exercises as ex

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _load(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        src = cell["source"]
        cell["text"] = "".join(src) if isinstance(src, list) else src
    return nb


def _markdown(nb):
    return "\n".join(c["text"] for c in nb["cells"] if c["cell_type"] == "markdown")


def _code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _headings(nb):
    return [h.strip().lower() for h in re.findall(r"^#{1,3}\s+(.*)$", _markdown(nb), flags=re.M)]


@pytest.fixture(params=NOTEBOOKS, ids=IDS)
def nb(request):
    return _load(request.param)


def test_notebooks_exist_in_reading_order():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers, "no notebooks found"
    assert numbers == list(range(len(numbers))), f"number notebooks 00, 01, ... without gaps: {numbers}"


def test_kernelspec_is_python3(nb):
    spec = nb["metadata"].get("kernelspec", {})
    assert spec.get("name") == "python3", "set metadata.kernelspec (JupyterLab asks for a kernel otherwise)"


def test_committed_without_outputs(nb):
    for c in _code_cells(nb):
        assert not c.get("outputs") and c.get("execution_count") is None, c["text"][:80]


def test_template_sections_present(nb):
    heads = _headings(nb)
    assert re.match(r"^#\s+\S", nb["cells"][0]["text"]), "the first cell is the title (a markdown '# ...')"
    for section in ("learning goals", "predict first", "summary", "where next"):
        assert any(section in h for h in heads), f"missing a '{section}' heading; headings: {heads}"
    assert "$" in _markdown(nb), "the theory's math is written in LaTeX"


def _explorer_names():
    """Every class of backprop_lib built on the Explorer pattern (widgets/base.py)."""
    names = set()
    for path in (ROOT / "backprop_lib").rglob("*.py"):
        names.update(re.findall(r"^class (\w+)\(Explorer\)", path.read_text(encoding="utf-8"), flags=re.M))
    return names


def test_at_least_one_widget_driven_from_code(nb):
    code = "\n".join(c["text"] for c in _code_cells(nb))
    explorers = "|".join(sorted(_explorer_names()))
    assert re.search(rf"bp\.widgets\.\w+|interact(ive)?\(|ipywidgets|\b({explorers})\(", code), \
        "no widget in this notebook"
    assert re.search(r"\.set\(", code), "drive a widget once with .set(...) so nbval covers it"


def test_at_least_one_claim_check(nb):
    code = "\n".join(c["text"] for c in _code_cells(nb))
    assert "bp.claims.check(" in code, "each notebook checks at least one claim with bp.claims.check"


def test_exercises_have_checker_and_collapsed_solution(nb):
    cells = _code_cells(nb)
    learner = [i for i, c in enumerate(cells) if "YOUR CODE HERE" in c["text"]]
    if nb["cells"][0]["text"].lower().startswith("# 00"):
        return  # the start page has no exercises
    assert learner, "no exercise (a code cell marked '# YOUR CODE HERE')"
    for i in learner:
        m = re.search(r"bp\.exercises\.check\(\s*[\"']([\w.]+)[\"']", cells[i]["text"])
        assert m, f"exercise cell {i} must end with bp.exercises.check('<id>', answer)"
        key = m.group(1)
        assert key in ex.REGISTRY, f"exercise {key!r} is not registered in backprop_lib/exercises"
        assert "must_pass" not in cells[i]["text"]
        solution = cells[i + 1] if i + 1 < len(cells) else None
        assert solution is not None, f"exercise {key}: a solution cell must follow"
        assert solution.get("metadata", {}).get("jupyter", {}).get("source_hidden") is True, \
            f"exercise {key}: collapse the solution (metadata.jupyter.source_hidden = true)"
        assert re.search(rf"check\(\s*[\"']{re.escape(key)}[\"'].*must_pass=True", solution["text"], re.S), \
            f"exercise {key}: the solution cell re-checks with must_pass=True"


def test_no_leftover_markers(nb):
    text = "\n".join(c["text"] for c in nb["cells"])
    for word in ("TODO", "FIXME", "lorem ipsum", "placeholder"):
        assert word.lower() not in text.lower(), f"contains {word!r}"


def test_no_downloads(nb):
    code = "\n".join(c["text"] for c in _code_cells(nb))
    assert not re.search(r"urlopen|requests\.get|wget |curl |fetch_openml|download=True", code)
