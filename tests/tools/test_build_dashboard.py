"""tools/build_dashboard.py: the notebook `make demo` serves with Voilà, and the presentation
theme every explorer on it is drawn in (larger figures, larger text)."""

import io
import types

import nbformat
import numpy as np
import pytest
from PIL import Image

import backprop_lib as bp
from tools.build_dashboard import EXPLORERS, OPTIONAL, dashboard_notebook, explorers_available, main

REQUIRED = [name for name, *_ in EXPLORERS if name not in OPTIONAL]


def _fake_widgets(names):
    return types.SimpleNamespace(**{n: object for n in names})


def _code(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_one_presentation_explorer_per_section_under_its_heading():
    nb = dashboard_notebook(_fake_widgets(REQUIRED))
    code = _code(nb)
    assert code[0].startswith("import backprop_lib as bp") and "<style>" in code[0]
    assert code[1:] == [f'bp.widgets.{name}(theme="presentation")' for name in REQUIRED]
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
    assert headings[1:] == [f"## {heading}" for name, heading, _ in EXPLORERS if name in REQUIRED]
    # each explorer's cell comes right after its heading
    for i, cell in enumerate(nb.cells[3:], start=3):
        if cell.cell_type == "code":
            assert nb.cells[i - 1].cell_type == "markdown"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    nbformat.validate(nb)


def test_an_optional_explorer_joins_once_the_library_has_it_in_course_order():
    without = _code(dashboard_notebook(_fake_widgets(REQUIRED)))
    with_ntk = _code(dashboard_notebook(_fake_widgets(REQUIRED + ["NTKExplorer"])))
    assert not any("NTKExplorer" in c for c in without)
    assert 'bp.widgets.NTKExplorer(theme="presentation")' in with_ntk
    assert len(with_ntk) == len(without) + 1
    order = [name for name, *_ in EXPLORERS]
    shown = [c.split(".")[2].split("(")[0] for c in with_ntk[1:]]
    assert shown == sorted(shown, key=order.index)


def test_the_real_library_has_every_required_explorer():
    names = [name for name, *_ in explorers_available(bp.widgets)]
    assert [n for n in names if n in REQUIRED] == REQUIRED
    for name in OPTIONAL:
        assert (name in names) == hasattr(bp.widgets, name)


def test_a_missing_explorer_or_unknown_theme_is_an_error_naming_it():
    with pytest.raises(ValueError, match="OptimizerRace"):
        dashboard_notebook(_fake_widgets([n for n in REQUIRED if n != "OptimizerRace"]))
    with pytest.raises(ValueError, match="theme"):
        dashboard_notebook(_fake_widgets(REQUIRED), theme="large")


def test_default_theme_variant_has_no_presentation_css():
    nb = dashboard_notebook(_fake_widgets(REQUIRED), theme="default")
    code = _code(nb)
    assert "<style>" not in code[0] and code[1] == f'bp.widgets.{REQUIRED[0]}(theme="default")'


def test_main_writes_the_notebook(tmp_path, capsys):
    out = tmp_path / "sub" / "dash.ipynb"
    assert main(["--out", str(out)]) == 0
    nb = nbformat.read(out, as_version=4)
    assert str(out) in capsys.readouterr().out
    assert len(_code(nb)) == 1 + len(explorers_available(bp.widgets))


def _font_sizes(fig):
    """Sizes of the texts drawn (tick labels of axes turned off are not)."""
    hidden = {id(t) for ax in fig.axes if not ax.axison for t in ax.get_xticklabels() + ax.get_yticklabels()}
    texts = fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text") and a.get_text()
                        and a.get_visible() and id(a) not in hidden)
    return np.array([t.get_fontsize() for t in texts])


@pytest.mark.parametrize("name", [name for name, *_ in explorers_available(bp.widgets)])
def test_presentation_theme_draws_larger_figures_and_text(name):
    """What the dashboard relies on: in the presentation theme each explorer's figure has more
    pixels in both directions and its text is larger on average (ticks 13 pt vs 10 pt)."""
    cls = getattr(bp.widgets, name)
    default, big = cls(theme="default"), cls(theme="presentation")
    w0, h0 = Image.open(io.BytesIO(default.canvas_png())).size
    w1, h1 = Image.open(io.BytesIO(big.canvas_png())).size
    assert w1 > 1.2 * w0 and h1 > 1.2 * h0, (name, (w0, h0), (w1, h1))
    f0, f1 = _font_sizes(default.fig), _font_sizes(big.fig)
    assert f1.mean() > 1.2 * f0.mean(), (name, f0.mean(), f1.mean())
    assert f1.max() > f0.max()
