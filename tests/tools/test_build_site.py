"""tools/build_site.py: notebooks executed (two at a time, each within its timeout) and written
as static pages with their figures, plus the course map; failures named, nothing half-built."""

import json
import re

import nbformat
import pytest

from tools.build_site import SiteBuildError, build_site, course_notebooks, main

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
# each notebook records when it ran (to see two run at once) and draws an inline figure
TIMED = "import time\nstart = time.time()\ntime.sleep({sleep})\nprint('ran', start, time.time())"
# a widget shown in one cell and changed by the next: the page shows it as its own cell left it
WIDGET = ("import ipywidgets as W\ns = W.IntSlider(value=1, description='n')\nout = W.Output()\n"
          "out.outputs = ({'output_type': 'stream', 'name': 'stdout', 'text': 'shown 1'},)\nW.VBox([s, out])")
CHANGE = "s.value = 5\nout.outputs = ({'output_type': 'stream', 'name': 'stdout', 'text': 'shown 5'},)"
FIGURE = ("import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
          "import matplotlib.pyplot as plt\nplt.plot([0, 1], [{a}, {b}])\nplt.show()")


def _notebook(folder, name, title, *code):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}\n\nAbout {title}.")]
                                  + [nbformat.v4.new_code_cell(c) for c in code])
    nb.metadata["kernelspec"] = KERNELSPEC
    path = folder / name
    nbformat.write(nb, path)
    return path


def _interval(html_text):
    start, end = re.search(r"ran ([\d.]+) ([\d.]+)", html_text).groups()
    return float(start), float(end)


def test_two_notebooks_run_at_once_and_become_pages_with_figures_and_a_course_map(tmp_path):
    src = tmp_path / "nb"
    src.mkdir()
    second = _notebook(src, "02_second.ipynb", "02 Second", TIMED.format(sleep=1.5), FIGURE.format(a=1, b=0),
                       WIDGET, CHANGE)
    first = _notebook(src, "01_first.ipynb", "01 First", TIMED.format(sleep=1.5), FIGURE.format(a=0, b=1),
                      "from pathlib import Path\n"
                      "print('cwd holds', sorted(p.name for p in Path('.').glob('*.ipynb')))")
    out = tmp_path / "site"
    built = build_site([second, first], out, workers=2, timeout=120)    # given out of order

    assert [b.page.title for b in built] == ["01 First", "02 Second"]
    assert sorted(p.name for p in out.iterdir()) == ["01_first.html", "02_second.html", "index.html"]
    pages = {b.path.name: b.path.read_text() for b in built}
    for text in pages.values():
        assert len(re.findall(r'<img[^>]+src="data:image/png;base64,[A-Za-z0-9+/=]{200,}', text)) == 1
    assert "cwd holds [&#39;01_first.ipynb&#39;, &#39;02_second.ipynb&#39;]" in pages["01_first.html"] or \
        "cwd holds ['01_first.ipynb', '02_second.ipynb']" in pages["01_first.html"]      # run in its folder
    frozen = pages["02_second.html"]
    assert "<li>n: 1</li>" in frozen and re.search(r"<pre>shown 1\s*</pre>", frozen)
    assert "<li>n: 5</li>" not in frozen and not re.search(r"<pre>shown 5", frozen)
    assert "widget-view" not in frozen
    # two workers: the two notebooks' sleeps overlapped
    (s1, e1), (s2, e2) = (_interval(pages[n]) for n in ("01_first.html", "02_second.html"))
    assert s1 < e2 and s2 < e1, "with workers=2 both notebooks should run at the same time"
    index = (out / "index.html").read_text()
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', index) == [("01_first.html", "01 First"),
                                                                   ("02_second.html", "02 Second")]
    assert "About 01 First." in index
    assert all(b.seconds > 1.5 for b in built)
    # the sources are untouched (no outputs written back)
    cells = json.loads(first.read_text())["cells"]
    assert not any(c.get("outputs") for c in cells if c["cell_type"] == "code")


def test_one_worker_runs_notebooks_one_after_the_other(tmp_path):
    a = _notebook(tmp_path, "01_a.ipynb", "01 A", TIMED.format(sleep=0.5))
    b = _notebook(tmp_path, "02_b.ipynb", "02 B", TIMED.format(sleep=0.5))
    built = build_site([a, b], tmp_path / "site", workers=1, timeout=120)
    (s1, e1), (s2, e2) = (_interval(x.path.read_text()) for x in built)
    assert e1 <= s2 or e2 <= s1


def test_a_failing_and_a_slow_notebook_fail_the_build_by_name(tmp_path, capsys):
    good = _notebook(tmp_path, "01_good.ipynb", "01 Good", "print('fine')")
    bad = _notebook(tmp_path, "02_bad.ipynb", "02 Bad", "raise ValueError('planted failure')")
    # each cell is within the timeout, the notebook is not: the per-notebook timeout stops it
    slow = _notebook(tmp_path, "03_slow.ipynb", "03 Slow", "import time\ntime.sleep(2)", "time.sleep(2)")
    out = tmp_path / "site"
    with pytest.raises(SiteBuildError) as err:
        build_site([good, bad, slow], out, workers=2, timeout=3)
    message = str(err.value)
    assert "2 of 3 notebooks failed" in message
    assert "02_bad.ipynb" in message and "planted failure" in message
    assert "03_slow.ipynb" in message and "did not finish within 3 s" in message
    assert re.search(r"cell \d+ \('(import time|time.sleep\(2\))'\) had been running for \d s", message)
    assert "01_good" not in message
    assert sorted(p.name for p in out.iterdir()) == ["01_good.html"]           # no course map

    assert main([str(bad), "--out", str(tmp_path / "cli"), "--timeout", "60"]) == 1
    assert "planted failure" in capsys.readouterr().err


def test_main_builds_the_given_notebooks(tmp_path, capsys):
    nb = _notebook(tmp_path, "05_x.ipynb", "05 X", "print(6 * 7)")
    assert main([str(nb), "--out", str(tmp_path / "site"), "--workers", "1"]) == 0
    assert "1 pages and the course map" in capsys.readouterr().out
    assert "42" in (tmp_path / "site" / "05_x.html").read_text()


@pytest.mark.parametrize("kwargs, match", [
    ({"notebooks": []}, "notebooks is empty"),
    ({"notebooks": ["nope.ipynb"]}, "not found"),
    ({"workers": 0}, "workers"),
    ({"timeout": 0}, "timeout"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, match):
    args = {"notebooks": [_notebook(tmp_path, "01_a.ipynb", "A", "1")], "out": tmp_path / "site", **kwargs}
    with pytest.raises(ValueError, match=match):
        build_site(**args)
    assert not (tmp_path / "site").exists()


def test_two_notebooks_with_one_name_would_collide(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a = _notebook(tmp_path / "x", "01_a.ipynb", "A", "1")
    b = _notebook(tmp_path / "y", "01_a.ipynb", "A", "1")
    with pytest.raises(ValueError, match="share a file name"):
        build_site([a, b], tmp_path / "site")


def test_the_course_notebooks_are_found_in_reading_order():
    found = course_notebooks()
    assert found and [p.name for p in found] == sorted(p.name for p in found)
    assert all(re.match(r"\d\d_", p.name) for p in found)
