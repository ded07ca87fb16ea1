"""tools/site_pages.py: page titles, widgets frozen to what they showed, page and course-map HTML."""

import base64
import re

import nbformat
import pytest

from tools.site_pages import (
    WIDGET_STATE,
    WIDGET_VIEW,
    Page,
    freeze_widgets,
    index_html,
    page_html,
    page_info,
    static_outputs,
)

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake-figure").decode()


def _model(name, **state):
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
            "state": state}


def _explorer_state():
    """VBox[HTML title, HBox[VBox[Dropdown, FloatSlider, Checkbox, Button], Output[png, nested view]]]
    with the nested view an Output holding a second figure."""
    return {
        "root": _model("VBoxModel", children=["IPY_MODEL_title", "IPY_MODEL_row"]),
        "title": _model("HTMLModel", value="<b>Gradient flow</b>", description=""),
        "row": _model("HBoxModel", children=["IPY_MODEL_panel", "IPY_MODEL_out"]),
        "panel": _model("VBoxModel", children=[f"IPY_MODEL_{k}" for k in ("act", "lr", "bn", "go", "lay")]),
        "act": _model("DropdownModel", description="activation", _options_labels=["sigmoid", "tanh"],
                      index=1),
        "lr": _model("FloatLogSliderModel", description="lr", value=0.0031622776),
        "bn": _model("CheckboxModel", description="batch norm", value=True),
        "go": _model("ButtonModel", description="play"),
        "lay": _model("LayoutModel", width="300px"),
        "out": _model("OutputModel", outputs=[
            {"output_type": "display_data", "metadata": {},
             "data": {"image/png": PNG, "text/plain": "<fig>"}},
            {"output_type": "display_data", "metadata": {},
             "data": {WIDGET_VIEW: {"model_id": "inner", "version_major": 2, "version_minor": 0}}},
        ]),
        "inner": _model("OutputModel", outputs=[
            {"output_type": "stream", "name": "stdout", "text": "loss 0.25\n"}]),
    }


def test_title_is_the_first_heading_and_summary_the_paragraph_after_it():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("Some preface without a heading."),
        nbformat.v4.new_markdown_cell("## 04 Chain rule ##\n\nThe *chain rule* in one line.\n\nMore text."),
        nbformat.v4.new_markdown_cell("# A later heading"),
    ])
    page = page_info(nb, "04_chain_rule")
    assert page == Page("04_chain_rule.html", "04 Chain rule", page.summary, 4)
    assert "<em>chain rule</em>" in page.summary and "More text" not in page.summary


def test_a_notebook_without_heading_is_titled_by_its_file_name():
    page = page_info(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("text")]), "notes")
    assert (page.title, page.summary, page.number, page.href) == ("notes", "", None, "notes.html")


def test_a_widget_becomes_its_title_settings_and_the_figures_it_held():
    outs = static_outputs(_explorer_state(), "root")
    block = outs[0]["data"]["text/html"]
    assert "<b>Gradient flow</b>" in block
    controls = re.findall(r"<li>(.*?)</li>", block)
    assert controls == ["activation: tanh", "lr: 0.003162", "batch norm: on"]    # no button, no layout
    assert outs[1]["data"]["image/png"] == PNG                                     # the figure, as it was
    assert outs[2]["data"]["text/html"].count("<li>") == 0          # nested Output: no settings
    assert outs[3] == nbformat.v4.new_output("stream", name="stdout", text="loss 0.25\n")
    assert len(outs) == 4


def test_a_widget_without_stored_state_says_so():
    outs = static_outputs({}, "gone")
    assert len(outs) == 1 and "run the notebook" in outs[0]["data"]["text/html"]


def test_freeze_widgets_replaces_views_and_drops_the_state():
    cell = nbformat.v4.new_code_cell("ex", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="before\n"),
        nbformat.v4.new_output("display_data",
                               data={WIDGET_VIEW: {"model_id": "root"}, "text/plain": "VBox(...)"}),
    ])
    nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_markdown_cell("# t")])
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": _explorer_state(), "version_major": 2,
                                             "version_minor": 0}}
    freeze_widgets(nb)
    assert "widgets" not in nb.metadata
    outs = nb.cells[0].outputs
    assert outs[0].text == "before\n"
    assert not any(WIDGET_VIEW in o.get("data", {}) for o in outs)
    assert [o["data"].get("image/png") for o in outs if "image/png" in o.get("data", {})] == [PNG]
    nbformat.validate(nb)


def _pages():
    return [Page("01_a.html", "01 A", "", 1), Page("03_c.html", "03 C", "<p>c</p>", 3),
            Page("09_i.html", "09 I", "", 9)]


def test_page_html_has_navigation_figures_and_folded_solutions_without_widget_scripts():
    solution = nbformat.v4.new_code_cell("answer = 42", metadata={"jupyter": {"source_hidden": True}})
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 03 C"),
        nbformat.v4.new_code_cell("ex", outputs=[nbformat.v4.new_output(
            "display_data", data={WIDGET_VIEW: {"model_id": "root"}, "text/plain": "VBox(...)"})]),
        solution,
    ])
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": _explorer_state()}}
    text = page_html(nb, _pages(), 1)
    assert f"data:image/png;base64,{PNG}" in text
    nav = re.findall(r'<nav class="bp-nav">(.*?)</nav>', text, flags=re.S)
    assert len(nav) == 2                                                   # above and below
    assert re.findall(r'href="([^"]+)"', nav[0]) == ["01_a.html", "index.html", "09_i.html"]
    folded = r'<details class="bp-solution"><summary>[^<]*</summary>.*answer.*?</details>'
    assert re.search(folded, text, re.S)
    assert "embed-amd" not in text and "require.js" not in text and "mermaid" not in text
    assert "<title>03 C</title>" in text


def test_first_and_last_pages_link_only_inwards():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 A")])
    first = re.search(r'<nav class="bp-nav">(.*?)</nav>', page_html(nb, _pages(), 0), re.S).group(1)
    last = re.search(r'<nav class="bp-nav">(.*?)</nav>', page_html(nb, _pages(), 2), re.S).group(1)
    assert re.findall(r'href="([^"]+)"', first) == ["index.html", "03_c.html"]
    assert re.findall(r'href="([^"]+)"', last) == ["03_c.html", "index.html"]


def test_index_lists_every_page_in_order_under_its_part():
    text = index_html(_pages() + [Page("notes.html", "Notes", "", None)])
    assert re.findall(r'<a href="([^"]+)">', text) == ["01_a.html", "03_c.html", "09_i.html", "notes.html"]
    parts = re.findall(r"<h2>(.*?)</h2>", text)
    assert parts == ["Part I: foundations", "Part II: training deep networks"]
    assert text.index("03_c.html") < text.index("Part II") < text.index("09_i.html")
    assert "<p>c</p>" in text


@pytest.mark.parametrize("number, part", [(0, "Part I"), (7, "Part I"), (8, "Part II"), (15, "Part II"),
                                          (16, "Part III"), (26, "Part III")])
def test_parts_follow_the_syllabus(number, part):
    text = index_html([Page("x.html", "X", "", number)])
    assert re.search(r"<h2>(.*?)</h2>", text).group(1).startswith(part + ":")
