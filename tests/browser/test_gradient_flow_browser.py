"""The GradientFlowExplorer in a real JupyterLab, in headless Chromium: the notebook runs, the
widget renders (no "Error displaying widget", no traceback), typing a depth into the slider's
read-out recomputes in the kernel and redraws the figure."""

import pytest

from .conftest import ROOT, run_all_cells, run_cell, stable_image_src, write_notebook

pytestmark = pytest.mark.browser

FIGURE = ".widget-output img"
DEPTH_READOUT = '.widget-slider:has(.widget-label:text-is("depth")) .widget-readout'


def test_depth_slider_redraws_the_gradient_flow_figure(lab, page):
    write_notebook(lab.root, "gradient_flow.ipynb", [
        "import backprop_lib as bp\nex = bp.widgets.GradientFlowExplorer()\nex",
        "print('depth', ex.settings.depth, 'layers', ex.result.record.n_layers, 'message', ex.message())",
    ])
    run_all_cells(page, lab, "gradient_flow.ipynb")

    # rendered: the controls and the figure, and nothing went wrong on the way
    page.wait_for_selector(DEPTH_READOUT, timeout=30_000)
    before = stable_image_src(page, FIGURE)
    assert before.startswith("data:image/png;base64,")
    assert page.get_by_text("Error displaying widget").count() == 0
    assert "Traceback" not in page.inner_text(".jp-Notebook")
    assert page.locator(".widget-slider").count() >= 5 and page.locator(".widget-dropdown").count() >= 3
    readout = page.locator(DEPTH_READOUT)
    assert readout.inner_text().strip() == "20"                        # the default depth

    # move the depth slider: type into its read-out + Enter (one update in the kernel)
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("35")
    page.keyboard.press("Enter")
    after = stable_image_src(page, FIGURE, different_from=before)
    assert after != before and after.startswith("data:image/png;base64,")
    assert readout.inner_text().strip() == "35"
    assert page.get_by_text("Error displaying widget").count() == 0

    # the kernel saw it: the explorer's settings and record follow the slider
    assert "depth 35 layers 35 message None" in run_cell(page, 1)

    # the server serves a temporary folder: nothing was written into the repository
    assert ROOT not in lab.root.resolve().parents
    assert (lab.root / "gradient_flow.ipynb").exists()
