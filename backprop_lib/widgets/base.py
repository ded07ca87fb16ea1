"""The explorer pattern every widget of the course follows (see design.md, "Widgets").

An explorer is three parts, each testable without a browser:

1. ``Settings``: a frozen dataclass whose ``__post_init__`` validates every field;
2. ``compute(settings) -> result``: a pure function (no widgets, no plotting);
3. a view: ``make_figure()`` builds the figure and its artists once, ``draw(result)``
   updates them in place (``set_data`` + ``draw_idle``), so nothing flickers.

``explorer.set(depth=20)`` drives it from code (tests, nbval, an instructor's script) along
the same path as the sliders. Bad settings from code raise ``ValueError``; from a control
they are shown as a message in the figure, never as a traceback.
"""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._validate import check_choice
from ..viz import style


def _interactive_backend() -> bool:
    """True under ``%matplotlib widget`` (ipympl): the canvas itself is a widget."""
    backend = matplotlib.get_backend().lower()
    return "ipympl" in backend or "widget" in backend


class Explorer:
    """Base class: subclasses set ``Settings`` and implement ``compute``, ``make_figure``,
    ``draw`` and ``controls``."""

    Settings: type = None
    title: str = ""

    def __init__(self, *, theme: str = "default", **settings):
        self.theme = check_choice(theme, "theme", tuple(style.THEMES))
        self.settings = self.Settings(**settings)
        self.result = None
        self.error = None
        self.fig = None
        self._message = None
        self._widgets = {}
        self._output = None
        self._syncing = False
        self._refresh()

    # -- to implement ------------------------------------------------------------
    @staticmethod
    def compute(settings):  # pragma: no cover - abstract
        raise NotImplementedError

    def make_figure(self, fig: Figure) -> None:  # pragma: no cover - abstract
        """Create axes and artists on ``fig`` (store them on ``self``)."""
        raise NotImplementedError

    def draw(self, result) -> None:  # pragma: no cover - abstract
        """Update the artists made by ``make_figure`` from ``result``."""
        raise NotImplementedError

    def controls(self) -> dict:  # pragma: no cover - abstract
        """``{settings field: ipywidgets control}``, built from the current settings."""
        raise NotImplementedError

    # -- driving it ----------------------------------------------------------------
    def set(self, **changes):
        """Change settings (validated), move the controls to match, recompute and redraw."""
        fields = {f.name for f in dataclasses.fields(self.Settings)}
        unknown = sorted(set(changes) - fields)
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.set() got unknown setting(s) {unknown}; "
                f"settings are: {sorted(fields)}."
            )
        self.settings = dataclasses.replace(self.settings, **changes)
        self._sync_controls()
        self._refresh()
        return self

    def _refresh(self) -> None:
        try:
            with np.errstate(all="ignore"):
                self.result = self.compute(self.settings)
            self.error = None
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
            self.result, self.error = None, str(err)
        self._render()

    # -- the view --------------------------------------------------------------------
    def _new_figure(self) -> Figure:
        size = style.FIGSIZE[self.theme]
        with style.themed(self.theme):
            if _interactive_backend():
                import matplotlib.pyplot as plt

                with plt.ioff():
                    fig = plt.figure(figsize=size, layout="constrained")
            else:
                fig = Figure(figsize=size, layout="constrained")
                FigureCanvasAgg(fig)
            self.make_figure(fig)
        self._message = fig.text(0.5, 0.5, "", ha="center", va="center", fontsize="large",
                                 color="#D55E00", wrap=True, visible=False, zorder=10,
                                 bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#D55E00"})
        return fig

    def message(self) -> str | None:
        """The text shown across the figure (an error, or a diverged run), if any."""
        if self.error:
            return self.error
        return getattr(self.result, "message", None) or None

    def _render(self) -> None:
        if self.fig is None:
            self.fig = self._new_figure()
        with style.themed(self.theme):
            if self.result is not None:
                self.draw(self.result)
            text = self.message()
            self._message.set_text(text or "")
            self._message.set_visible(bool(text))
        self.fig.canvas.draw_idle()              # an Agg canvas draws here, ipympl's on its next frame
        if self._output is not None:
            self._show_png(self._output)

    def _show_png(self, output) -> None:
        """Without ipympl the figure is shown in an ``Output`` widget as a PNG image.

        ``display(fig)`` of a figure not made by pyplot shows only "<Figure size …>" in a
        kernel, so the canvas that ``draw_idle`` has just drawn is encoded instead (nothing is
        drawn twice). It replaces ``output.outputs`` directly: ``with output: display(...)``
        routes by the kernel's current message, which a background task (the playground's
        play loop) does not belong to.
        """
        import base64

        png = base64.b64encode(self.canvas_png()).decode("ascii")
        label = f"<{self.title or type(self).__name__}>"
        output.outputs = ({"output_type": "display_data", "metadata": {},
                           "data": {"image/png": png, "text/plain": label}},)

    def canvas_png(self) -> bytes:
        """The canvas as last drawn, as PNG bytes (fast, lightly compressed)."""
        import io

        from PIL import Image

        canvas = self.fig.canvas
        if not isinstance(canvas, FigureCanvasAgg):   # ipympl: render a copy
            return self.render_png()
        if not hasattr(canvas, "renderer"):           # never drawn yet
            canvas.draw()
        buf = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buf, format="png", compress_level=1)
        return buf.getvalue()

    def render_png(self) -> bytes:
        """The figure as PNG bytes (tests compare these before and after ``set``)."""
        import io

        buf = io.BytesIO()
        self.fig.savefig(buf, format="png")
        return buf.getvalue()

    # -- widgets ---------------------------------------------------------------------
    def _sync_controls(self) -> None:
        self._syncing = True
        try:
            for name, w in self._widgets.items():
                value = getattr(self.settings, name)
                if w.value != value:
                    w.value = value
        finally:
            self._syncing = False

    def _on_control(self, name, change) -> None:
        if self._syncing:
            return
        try:
            self.set(**{name: change["new"]})
        except (ValueError, TypeError) as err:  # shown in the figure, never a traceback
            self.error = str(err)
            self._render()

    def show(self):
        """The explorer as an ipywidgets box: controls on the left, the figure on the right."""
        import ipywidgets as W

        self._widgets = self.controls()
        for name, w in self._widgets.items():
            w.observe(lambda change, n=name: self._on_control(n, change), names="value")
        extra = self.extra_controls()
        panel = W.VBox(list(self._widgets.values()) + extra,
                       layout=W.Layout(min_width="300px", max_width="360px"))
        if _interactive_backend():
            self.fig.canvas.header_visible = False
            view = self.fig.canvas
        else:
            self._output = W.Output()
            view = self._output
        box = W.HBox([panel, view])
        if self.title:
            box = W.VBox([W.HTML(f"<b>{self.title}</b>"), box])
        self._render()
        return box

    def extra_controls(self) -> list:
        """Buttons and read-outs that are not settings (override where needed)."""
        return []

    def _ipython_display_(self):
        from IPython.display import display

        display(self.show())
