"""``TrainingPlayground``: TensorFlow Playground in Jupyter, and more.

    pg = bp.widgets.TrainingPlayground()                  # moons, 2 hidden layers of 8 tanh
    pg                                                    # controls + live figure
    pg.step(100); pg.set(lr=0.003); pg.play(steps=200)    # the same, driven from code
    pg = bp.widgets.TrainingPlayground.preset("vanishing sigmoid")
    pg = bp.widgets.TrainingPlayground(data=(x, y))       # your own 2-D points and labels
    tnet = pg.session.export_torch()

The training is a ``PlaygroundSession`` (pure, steppable); the figure a ``PlaygroundView``.

**Play without freezing the notebook.** Inside Jupyter the kernel runs an asyncio event loop.
``play()`` there starts a task that does ``steps_per_frame`` steps, redraws, then awaits
(``asyncio.sleep``), so the kernel handles clicks, slider moves and other cells between two
frames (a change of lr reaches the very next frame). With an ipympl canvas the task awaits
until the browser has fetched the frame's image (at most ``RENDER_WAIT`` s), so every frame
is seen. Outside an event loop (a script, a test) ``play(steps=n)`` runs the frames
synchronously and returns when done; ``play(background=False)`` does that in Jupyter too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import textwrap

from ..._validate import check_positive_int
from ..base import Explorer, _interactive_backend
from .controls import PlaygroundControls
from .data import OWN
from .presets import get_preset
from .session import PlaygroundSession
from .settings import LIVE, PlaygroundSettings
from .view import PlaygroundView

RENDER_WAIT = 0.5      # s: the longest a playing frame waits for the browser to render it


def _running_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class TrainingPlayground(PlaygroundControls, Explorer):
    """Train a small network on 2-D points and watch it learn (see the module docstring).

    Settings: ``PlaygroundSettings`` (keyword arguments, or ``data=(x, y)``).
    ``steps_per_frame``: training steps between two redraws while playing.
    """

    Settings = PlaygroundSettings
    title = "Training playground"
    compute = staticmethod(PlaygroundSession)

    def __init__(self, data=None, *, theme: str = "default", steps_per_frame: int = 20, **settings):
        if data is not None:
            settings["data"] = data
        self.view = PlaygroundView(theme)
        self.steps_per_frame = check_positive_int(steps_per_frame, "steps_per_frame")
        self.explanation = ""
        self._playing = False
        self._task = None
        self._buttons = {}
        self._draws = 0
        super().__init__(theme=theme, **settings)
        self._own_data = self.settings.data             # checked arrays (or None)

    @classmethod
    def preset(cls, name: str, **kwargs) -> TrainingPlayground:
        """A playground with the settings of a named preset (``PRESETS``); ``kwargs`` override them."""
        p = get_preset(name)
        pg = cls(**{**p.settings, **kwargs})
        pg.explanation = p.explanation
        pg._render()
        return pg

    def apply_preset(self, name: str) -> TrainingPlayground:
        """Replace every setting by preset ``name``'s (on top of the defaults) and reset."""
        p = get_preset(name)
        self.settings = PlaygroundSettings(**p.settings)
        self.explanation = p.explanation
        self._sync_controls()
        self._refresh()
        return self

    @property
    def session(self) -> PlaygroundSession:
        """The training state (``None`` only if the settings could not be built)."""
        return self.result

    # -- driving it from code --------------------------------------------------------------
    def set(self, **changes):
        """Change settings. lr, l2, optimizer, batch size and the stop condition change the running
        session (weights kept); anything else resets it."""
        fields = {f.name for f in dataclasses.fields(PlaygroundSettings)}
        unknown = sorted(set(changes) - fields)
        if unknown:
            raise ValueError(f"TrainingPlayground.set() got unknown setting(s) {unknown}; "
                             f"settings are: {sorted(fields)}.")
        if "data" not in changes and "dataset" in changes:
            # leaving the learner's arrays drops them from the settings; coming back restores them
            changes["data"] = self._own_data if changes["dataset"] == OWN else None
        new = dataclasses.replace(self.settings, **changes)
        self.settings = new
        if new.data is not None:
            self._own_data = new.data
        self._sync_controls()
        if not set(changes) <= LIVE:
            self.explanation = ""
        if self.result is None:
            self._refresh()
        else:
            self.error = None
            self.result.update(**{name: getattr(new, name) for name in changes})
            self._render()
        return self

    def step(self, n: int = 1) -> TrainingPlayground:
        """Run ``n`` training steps now, then redraw."""
        n = check_positive_int(n, "n")
        if self.session is not None:
            self.session.step(n)
        self._render()
        return self

    def reset(self) -> TrainingPlayground:
        """Start again from the initial weights (same settings)."""
        if self.session is not None:
            self.session.reset()
        self._render()
        return self

    def play(self, steps: int | None = None, *, background: bool | None = None):
        """Train frame by frame (``steps_per_frame`` steps, then a redraw) until ``steps`` more
        steps, the stop condition, a divergence or ``pause()``.

        ``background`` (default: whether an event loop is running, as in Jupyter): start an
        asyncio task and return it at once; otherwise run to the end and return ``self``.
        """
        if steps is not None:
            steps = check_positive_int(steps, "steps")
        if background is None:
            background = _running_loop() is not None
        if background:
            if self._task is not None and not self._task.done():
                return self._task
            self._set_playing(True)
            self._task = asyncio.ensure_future(self._play_async(steps))
            return self._task
        if steps is None and self.settings.max_steps is None:
            raise ValueError("play() without an event loop runs until it stops: give steps=... or set "
                             "max_steps (or call pg.step(n)).")
        self._set_playing(True)
        try:
            while self._frame(steps):
                if steps is not None:
                    steps -= self._last_frame
        finally:
            self._set_playing(False)
        return self

    def pause(self) -> TrainingPlayground:
        """Stop playing after the current frame."""
        self._set_playing(False)
        return self

    @property
    def playing(self) -> bool:
        return self._playing

    def _frame(self, remaining) -> bool:
        """One frame: up to ``steps_per_frame`` steps and a redraw. False when play should stop."""
        session = self.session
        if not self._playing or session is None or session.done or (remaining is not None and remaining <= 0):
            return False
        k = self.steps_per_frame if remaining is None else min(self.steps_per_frame, remaining)
        self._last_frame = session.step(k)
        self._render()
        return self._last_frame > 0 and not session.done

    async def _play_async(self, steps) -> None:
        try:
            while self._frame(steps):
                if steps is not None:
                    steps -= self._last_frame
                await self._wait_for_render()           # the kernel handles messages meanwhile
        except Exception as err:                        # never a traceback in the notebook
            self.error = f"{type(err).__name__}: {err}"
            self._render()
        finally:
            self._set_playing(False)

    async def _wait_for_render(self, timeout: float = RENDER_WAIT) -> None:
        """Yield to the event loop until the frame has been rendered (at most ``timeout`` s).

        An ipympl canvas renders when the browser asks for the new image, a round trip later;
        without waiting for it, frames would run back to back and the browser would see one
        frame in ten. Other canvases render inside the frame: one yield is enough."""
        await asyncio.sleep(0)
        if not _interactive_backend():
            return
        loop, drawn = asyncio.get_running_loop(), self._draws
        deadline = loop.time() + timeout
        while self._draws == drawn and loop.time() < deadline and self._playing:
            await asyncio.sleep(0.005)

    def _count_draw(self, _event) -> None:
        self._draws += 1

    def _set_playing(self, on: bool) -> None:
        self._playing = on
        button = self._buttons.get("play")
        if button is not None:
            button.description = "⏸ pause" if on else "▶ play"

    # -- the view --------------------------------------------------------------------------
    def make_figure(self, fig) -> None:
        self.view.attach(fig)
        fig.canvas.mpl_connect("draw_event", self._count_draw)

    def draw(self, session) -> None:
        self.view.draw(session, status=self.status())
        msg = self._message                             # a rebuild clears the figure: put it back
        if msg is not None and msg not in self.fig.texts and msg not in self.fig.artists:
            self.fig.add_artist(msg)

    def status(self) -> str:
        """The line under the plot's title: the preset's lesson and how the run stopped."""
        parts = [textwrap.fill(self.explanation, 90)] if self.explanation else []
        if self.session is not None and self.session.stopped:
            parts.append(self.session.message)
        return "\n".join(parts)

    def message(self):
        """Shown across the figure: a refused setting or a diverged run (never a traceback)."""
        if self.error:
            return self.error
        if self.session is not None and self.session.diverged:
            return self.session.message
        return None
