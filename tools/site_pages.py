"""The pages of the static course site: an executed notebook as HTML, and the course map.

A site has no kernel, so each widget output is replaced by what it showed when its cell ran
(``freeze_cell``, called as each cell finishes): the explorer's title, its settings, and the
figures its Output widgets held. A later ``.set(...)`` in the notebook shows in its own cell. Nothing on a
page needs a script from the network to show a figure (MathJax, for the formulas, is the one
script that is loaded from its CDN when the reader is online).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters.markdown import markdown2html

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# (first notebook number, part title): the course map's sections (syllabus: three parts)
PARTS = [(0, "Part I: foundations"), (8, "Part II: training deep networks"),
         (16, "Part III: cost, theory and the frontier")]

SITE_CSS = """
.bp-nav { display: flex; gap: 1.5em; justify-content: space-between; max-width: 1100px;
          margin: 0.5em auto; padding: 0.5em 1em; font: 15px system-ui, sans-serif;
          border-bottom: 1px solid #ddd; }
.bp-nav a { color: #0072B2; text-decoration: none; }
.bp-static-widget { border-left: 3px solid #0072B2; padding: 0.2em 0.8em; margin: 0.3em 0; }
.bp-static-note { color: #555; font-style: italic; font-size: 90%; }
.bp-static-controls { columns: 2; margin: 0.3em 0; }
details.bp-solution > summary { cursor: pointer; color: #0072B2; padding: 0.3em 0; }
"""

# The lab template, with no widget, require.js or mermaid scripts (nothing here needs them),
# the course's navigation above and below, and collapsed solutions folded into <details>.
PAGE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style type="text/css">{{ resources.bp_css }}</style>{% endblock extra_css %}
{%- block body_header -%}{{ super() }}{{ resources.bp_nav }}{%- endblock body_header -%}
{% block body_footer %}{{ resources.bp_nav }}{{ super() }}{% endblock body_footer %}
{% block input_group -%}
{%- if cell.metadata.get('jupyter', {}).get('source_hidden') -%}
<details class="bp-solution"><summary>Solution (click to show)</summary>{{ super() }}</details>
{%- else -%}{{ super() }}{%- endif -%}
{% endblock input_group %}
"""


@dataclass(frozen=True)
class Page:
    """One notebook of the site: ``href`` (``03_loss_functions.html``), ``title`` (its first
    heading), ``summary`` (the paragraph after it, as HTML) and ``number`` (its NN prefix)."""

    href: str
    title: str
    summary: str
    number: int | None


def page_info(nb: nbformat.NotebookNode, stem: str) -> Page:
    """Title = the notebook's first markdown heading (else its file name); summary = the first
    paragraph after that heading."""
    title, summary = stem, ""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        match = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", cell.source, flags=re.M)
        if match:
            title = match.group(1).strip()
            rest = cell.source[match.end():].strip().split("\n\n")[0].strip()
            summary = markdown2html(rest) if rest and not rest.startswith("#") else ""
            break
    prefix = re.match(r"(\d+)_", stem)
    return Page(f"{stem}.html", title, summary, int(prefix.group(1)) if prefix else None)


# -- widgets as they were -------------------------------------------------------------------
def _model_id(ref: str) -> str:
    return ref[len("IPY_MODEL_"):] if isinstance(ref, str) and ref.startswith("IPY_MODEL_") else ""


def _control_text(state: dict) -> str | None:
    """``"activation: sigmoid"`` for a control with a description and a value, else None."""
    label = state.get("description") or ""
    if not label:
        return None
    if "_options_labels" in state and isinstance(state.get("index"), int):
        labels, index = state["_options_labels"], state["index"]
        if not 0 <= index < len(labels):
            return None
        value = labels[index]
    elif "value" in state:
        value = state["value"]
    else:
        return None
    if isinstance(value, bool):
        value = "on" if value else "off"
    elif isinstance(value, float):
        value = f"{value:.4g}"
    elif isinstance(value, list | tuple):
        value = " to ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value)
    return f"{label}: {value}"


def static_outputs(state: dict, model_id: str, _seen=None) -> list[dict]:
    """The outputs that stand in for the widget ``model_id`` (``state``: the notebook's widget
    state by model id): one HTML block with its titles and settings, then every output its
    Output widgets held (figures as PNG), depth first."""
    seen = set() if _seen is None else _seen
    titles, controls, held = [], [], []

    def walk(mid):
        if mid in seen or mid not in state:
            return
        seen.add(mid)
        model = state[mid]
        name, s = model.get("model_name", ""), model.get("state", {})
        if name == "OutputModel":
            held.extend(static_notebook_outputs(s.get("outputs", []), state, seen))
        elif name in ("HTMLModel", "HTMLMathModel", "LabelModel") and s.get("value"):
            titles.append(s["value"] if name != "LabelModel" else html.escape(s["value"]))
        else:
            text = _control_text(s)
            if text:
                controls.append(text)
        for ref in s.get("children", []):
            walk(_model_id(ref))

    walk(model_id)
    if not (titles or controls or held):
        note = '<p class="bp-static-note">An interactive widget: run the notebook to use it.</p>'
        return [nbformat.v4.new_output("display_data", data={"text/html": note})]
    items = "".join(f"<li>{html.escape(c)}</li>" for c in controls)
    block = ('<div class="bp-static-widget"><p class="bp-static-note">Interactive in JupyterLab; '
             "shown as it was when this cell ran.</p>" + "".join(f"<div>{t}</div>" for t in titles)
             + (f'<ul class="bp-static-controls">{items}</ul>' if items else "") + "</div>")
    return [nbformat.v4.new_output("display_data", data={"text/html": block})] + held


def static_notebook_outputs(outputs, state: dict, seen=None) -> list[dict]:
    """``outputs`` with every widget view replaced by ``static_outputs``."""
    out = []
    for o in outputs:
        data = o.get("data", {}) if isinstance(o, dict) else {}
        if WIDGET_VIEW in data:
            out.extend(static_outputs(state, data[WIDGET_VIEW].get("model_id", ""), seen))
        else:
            out.append(nbformat.from_dict(o))
    return out


def freeze_cell(cell: nbformat.NotebookNode, kernel_state: dict) -> None:
    """Replace ``cell``'s widget outputs by the widgets as they are now (``kernel_state``:
    nbclient's ``widget_state``, model id -> state); call it as the cell finishes."""
    state = {mid: {"model_name": s.get("_model_name"), "state": s} for mid, s in kernel_state.items()}
    cell.outputs = static_notebook_outputs(cell.get("outputs", []), state)


def freeze_widgets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Replace every widget output of executed ``nb`` by its static form and drop the widget
    state (so no page loads the widget manager). Changes and returns ``nb``."""
    widgets = nb.metadata.pop("widgets", {})
    state = widgets.get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = static_notebook_outputs(cell.get("outputs", []), state)
    return nb


# -- HTML ---------------------------------------------------------------------------------
def _nav(pages: list[Page], index: int) -> str:
    def link(i, arrow_left):
        if not 0 <= i < len(pages):
            return "<span></span>"
        text = html.escape(pages[i].title)
        return f'<a href="{pages[i].href}">{"← " + text if arrow_left else text + " →"}</a>'

    return (f'<nav class="bp-nav">{link(index - 1, True)}<a href="index.html">Course map</a>'
            f"{link(index + 1, False)}</nav>")


def page_html(nb: nbformat.NotebookNode, pages: list[Page], index: int, folder: str = ".") -> str:
    """Page ``pages[index]`` of executed notebook ``nb`` as one HTML file (figures inline)."""
    exporter = HTMLExporter(template_name="lab", template_file="bp_site.html.j2",
                            extra_loaders=[jinja2.DictLoader({"bp_site.html.j2": PAGE_TEMPLATE})],
                            exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True)
    nb = freeze_widgets(nb)
    nb.metadata["title"] = pages[index].title
    resources = {"metadata": {"name": pages[index].title, "path": folder},
                 "bp_css": SITE_CSS, "bp_nav": _nav(pages, index)}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def _part(number: int | None) -> str | None:
    if number is None:
        return None
    return [title for first, title in PARTS if number >= first][-1]


def index_html(pages: list[Page], course: str = "Backprop, Interactively") -> str:
    """The course map: every page in reading order, under its part, with its summary."""
    groups: list[tuple[str | None, list[Page]]] = []
    for page in pages:
        part = _part(page.number)
        if not groups or groups[-1][0] != part:
            groups.append((part, []))
        groups[-1][1].append(page)
    body = "".join(
        (f"<h2>{html.escape(part)}</h2>" if part else "") + '<ul class="map">'
        + "".join(f'<li><a href="{p.href}">{html.escape(p.title)}</a>'
                  f'<div class="summary">{p.summary}</div></li>' for p in group) + "</ul>\n"
        for part, group in groups)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(course)}: course map</title>
<style>
body {{ font: 17px/1.5 system-ui, sans-serif; max-width: 52em; margin: 2em auto; padding: 0 1em; }}
body {{ color: #222; }} a {{ color: #0072B2; font-weight: 600; }} ul.map {{ list-style: none; padding: 0; }}
li {{ margin: 0.8em 0; }} .summary {{ color: #444; font-size: 95%; }} .summary p {{ margin: 0.2em 0; }}
</style></head>
<body><h1>{html.escape(course)}</h1>
<p>The course run once, with every output and figure, to read on any device. To move the
sliders, open the notebooks in JupyterLab (<code>make lab</code>).</p>
{body}</body></html>
"""
