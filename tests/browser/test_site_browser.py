"""The static course site (`make site`, tools/build_site.py) in headless Chromium, offline:
built from notebooks 01 and 03 into a temporary folder, opened from disk with every network
request refused. The course map links both pages, each page shows its figures (decoded PNG
images), and its navigation leads on to the next page and back to the map."""

from __future__ import annotations

import nbformat
import pytest

from tools.build_site import build_site
from tools.site_pages import page_info

from .conftest import ROOT

pytestmark = pytest.mark.browser

NOTEBOOKS = [ROOT / "notebooks" / "01_neurons_and_activations.ipynb",
             ROOT / "notebooks" / "03_loss_functions.ipynb"]
FIGURES = 'img[src^="data:image/png;base64,"]'


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    build_site(NOTEBOOKS, out, workers=2, timeout=300)
    return out


@pytest.fixture
def offline(page):
    """The page with every request that is not a file refused; returns the refused URLs."""
    refused = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return refused


def _decoded_figures(page) -> int:
    page.wait_for_function(f"() => [...document.querySelectorAll({FIGURES!r})].every(i => i.complete)")
    sizes = page.evaluate(f"() => [...document.querySelectorAll({FIGURES!r})].map(i => i.naturalWidth)")
    assert all(w > 100 for w in sizes), sizes
    return len(sizes)


def test_course_map_links_pages_whose_figures_are_there(site, page, offline):
    titles = [page_info(nbformat.read(p, as_version=4), p.stem).title for p in NOTEBOOKS]
    page.goto((site / "index.html").as_uri())
    links = page.locator("ul.map a")
    assert links.all_inner_texts() == titles
    assert page.locator("h2").first.inner_text() == "Part I: foundations"

    # the map's first link opens notebook 01: its heading, its figures, its explorer frozen
    links.first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/01_neurons_and_activations.html")
    assert page.locator("h1").first.inner_text().strip().rstrip("¶").strip() == titles[0]
    assert _decoded_figures(page) >= 2
    explorer = page.locator(".bp-static-widget", has_text="Activation functions and their derivatives")
    assert explorer.count() >= 1 and "activation: sigmoid" in explorer.first.inner_text()
    body = page.inner_text("body")
    assert "Error displaying widget" not in body and "Traceback" not in body
    assert page.locator("details.bp-solution").count() >= 1          # solutions folded, not gone

    # next page from the navigation: notebook 03, with its figures
    page.locator(".bp-nav").first.get_by_text("→").click()
    page.wait_for_load_state()
    assert page.url.endswith("/03_loss_functions.html")
    assert page.locator("h1").first.inner_text().strip().rstrip("¶").strip() == titles[1]
    assert _decoded_figures(page) >= 1

    # and back to the course map
    page.locator(".bp-nav").first.get_by_role("link", name="Course map").click()
    page.wait_for_load_state()
    assert page.url.endswith("/index.html")
    # nothing but MathJax (formulas, when online) was asked of the network
    assert offline and all("mathjax" in url.lower() for url in offline), offline
