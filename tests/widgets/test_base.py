"""The explorer base class (backprop_lib/widgets/base.py): what a learner sees without ipympl."""

import base64

import pytest

pytest.importorskip("ipywidgets")

import backprop_lib as bp  # noqa: E402


def _shown_png(explorer):
    (out,) = explorer._output.outputs
    assert out["output_type"] == "display_data"
    return base64.b64decode(out["data"]["image/png"])


def test_show_puts_the_figure_as_png_in_the_output_and_set_replaces_it():
    ex = bp.widgets.ActivationExplorer(name="sigmoid")
    ex.show()
    first = _shown_png(ex)
    assert first.startswith(b"\x89PNG")
    ex.set(name="relu")
    second = _shown_png(ex)
    assert second.startswith(b"\x89PNG") and second != first
    assert len(ex._output.outputs) == 1                      # replaced, not appended


def test_canvas_png_is_the_drawn_canvas_and_matches_the_figure_size():
    import io

    from PIL import Image

    ex = bp.widgets.ActivationExplorer()
    img = Image.open(io.BytesIO(ex.canvas_png()))
    w, h = ex.fig.get_size_inches() * ex.fig.dpi
    assert img.size == (round(w), round(h))


def test_a_bad_control_value_is_a_message_not_an_exception():
    ex = bp.widgets.ActivationExplorer()
    ex.show()
    ex._on_control("name", {"new": "no-such-activation"})
    assert ex.message() and "no-such-activation" in ex.message()
    assert _shown_png(ex).startswith(b"\x89PNG")
