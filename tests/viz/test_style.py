"""backprop_lib/viz/style.py: themes, and figures that show up in a real kernel."""

import matplotlib
import nbformat
import pytest

import backprop_lib as bp


def test_presentation_theme_is_larger_than_default():
    default, big = bp.viz.style.rc("default"), bp.viz.style.rc("presentation")
    for key in ("font.size", "lines.linewidth"):
        assert float(big[key]) > float(default.get(key, matplotlib.rcParamsDefault[key]))
    assert bp.viz.style.FIGSIZE["presentation"][0] > bp.viz.style.FIGSIZE["default"][0]
    with pytest.raises(ValueError, match="theme"):
        bp.viz.style.rc("huge")


def test_themed_restores_the_callers_settings():
    before = dict(matplotlib.rcParams)
    with bp.viz.style.themed("presentation"):
        assert matplotlib.rcParams["font.size"] == bp.viz.style.rc("presentation")["font.size"]
    assert matplotlib.rcParams["font.size"] == before["font.size"]


def test_every_figure_of_a_notebook_is_shown_not_only_the_first():
    """The inline backend loads on first use; loaded inside themed()'s rc_context its
    interactive mode was undone on exit, and later figures were silently not displayed."""
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    cell = "import backprop_lib as bp\nfig, ax = bp.viz.style.new_axes()\nax.plot([0, 1], [1, 0])"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for _ in range(3)])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    shown = [any("image/png" in o.get("data", {}) for o in c.outputs) for c in nb.cells]
    assert shown == [True, True, True]
