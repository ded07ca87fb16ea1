"""The playground's ipywidgets: one control per setting, in four groups above the figure,
plus the run controls (preset, play / pause, step, reset, steps per frame).

A mixin of ``TrainingPlayground``: it converts between settings values and control values
(``hidden=(4, 2)`` is the text "4, 2"; ``max_steps=None`` is 0) and sends every change
through ``TrainingPlayground.set``, so the controls and code take the same path.
"""

from __future__ import annotations

from ..base import _interactive_backend
from .data import DATASETS, FEATURES, OWN
from .presets import PRESETS
from .settings import ACTIVATIONS, INITS, LOSSES, OPTIMIZERS

_NO_PRESET = "(presets)"
_GROUPS = (("data", ("dataset", "noise", "n", "train_fraction", "features")),
           ("network", ("hidden", "activation", "init", "dropout", "seed")),
           ("training", ("loss", "optimizer", "lr", "batch_size", "l2", "max_steps", "target_loss")))


def _parse_hidden(text):
    if isinstance(text, (tuple, list)):
        return tuple(text)
    parts = [p for p in str(text).replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError("hidden: write the neuron counts separated by commas, e.g. '4, 2' (nothing for "
                         f"no hidden layer); got {text!r}.") from None


# settings field → (settings value → control value, control value → settings value)
_CONVERT = {
    "hidden": (lambda v: ", ".join(map(str, v)), _parse_hidden),
    "max_steps": (lambda v: v or 0, lambda v: int(v) or None),
    "target_loss": (lambda v: v or 0.0, lambda v: float(v) or None),
}


class PlaygroundControls:
    """``controls``, ``show`` and the control ↔ setting plumbing of ``TrainingPlayground``."""

    def controls(self) -> dict:
        import ipywidgets as W

        s = self.settings
        slider = {"continuous_update": False}
        datasets = (*DATASETS, OWN) if s.data is not None else tuple(DATASETS)
        controls = {
            "dataset": W.Dropdown(options=datasets, value=s.dataset, description="dataset"),
            "noise": W.FloatSlider(value=s.noise, min=0, max=1, step=0.01, description="noise", **slider),
            "n": W.IntSlider(value=s.n, min=20, max=1000, step=10, description="points", **slider),
            "train_fraction": W.FloatSlider(value=s.train_fraction, min=0.1, max=1, step=0.05,
                                            description="train share", **slider),
            "features": W.SelectMultiple(options=[(label, name) for name, (label, _) in FEATURES.items()],
                                         value=s.features, rows=7, description="features"),
            "hidden": W.Text(value=_CONVERT["hidden"][0](s.hidden), description="hidden",
                             placeholder="e.g. 4, 2", continuous_update=False),
            "activation": W.Dropdown(options=ACTIVATIONS, value=s.activation, description="activation"),
            "init": W.Dropdown(options=INITS, value=s.init, description="init"),
            "loss": W.Dropdown(options=LOSSES, value=s.loss, description="loss"),
            "optimizer": W.Dropdown(options=OPTIMIZERS, value=s.optimizer, description="optimizer"),
            "lr": W.FloatLogSlider(value=s.lr, base=10, min=-5, max=1.5, step=0.1, description="lr",
                                   readout_format=".2g", **slider),
            "batch_size": W.IntSlider(value=s.batch_size, min=1, max=200, description="batch", **slider),
            "l2": W.BoundedFloatText(value=s.l2, min=0, max=10, step=1e-4, description="L2"),
            "dropout": W.FloatSlider(value=s.dropout, min=0, max=0.9, step=0.05, description="dropout",
                                     **slider),
            "seed": W.BoundedIntText(value=s.seed, min=0, max=2**31 - 1, description="seed"),
            "max_steps": W.BoundedIntText(value=s.max_steps or 0, min=0, max=10**7,
                                          description="max steps", tooltip="0: no limit"),
            "target_loss": W.BoundedFloatText(value=s.target_loss or 0.0, min=0, max=100, step=0.01,
                                              description="stop at loss", tooltip="test loss; 0: none"),
        }
        for w in controls.values():
            w.layout.width = "265px"
            w.style.description_width = "80px"
        return controls

    def show(self):
        """Controls in four groups (data, network, training, run) above the figure: the figure
        is too wide to sit beside them in a notebook."""
        import ipywidgets as W

        self._widgets = self.controls()
        for name, w in self._widgets.items():
            w.observe(lambda change, n=name: self._on_control(n, change), names="value")
        column = W.Layout(width="270px")
        groups = [W.VBox([W.HTML(f"<b>{title}</b>"), *(self._widgets[n] for n in names)], layout=column)
                  for title, names in _GROUPS]
        groups.append(W.VBox([W.HTML("<b>run</b>"), *self.extra_controls()], layout=column))
        panel = W.GridBox(groups, layout=W.Layout(grid_template_columns="repeat(auto-fill, 275px)"))
        if _interactive_backend():
            self.fig.canvas.header_visible = False
            view = self.fig.canvas
        else:
            self._output = W.Output()
            view = self._output
        self._render()
        return W.VBox([W.HTML(f"<b>{self.title}</b>"), panel, view])

    def _sync_controls(self) -> None:
        self._syncing = True
        try:
            for name, w in self._widgets.items():
                value = getattr(self.settings, name)
                value = _CONVERT[name][0](value) if name in _CONVERT else value
                if w.value != value:
                    w.value = value
        finally:
            self._syncing = False

    def _on_control(self, name, change) -> None:
        if self._syncing:
            return
        try:
            value = change["new"]
            self.set(**{name: _CONVERT[name][1](value) if name in _CONVERT else value})
        except (ValueError, TypeError) as err:             # shown in the figure, never a traceback
            self.error = str(err)
            self._render()

    def extra_controls(self) -> list:
        import ipywidgets as W

        presets = W.Dropdown(options=(_NO_PRESET, *PRESETS), value=_NO_PRESET, description="preset")

        def on_preset(change):
            if change["new"] != _NO_PRESET:
                self.apply_preset(change["new"])
                presets.value = _NO_PRESET              # the same preset can be chosen again

        presets.observe(on_preset, names="value")
        self._buttons = {
            "play": W.Button(description="⏸ pause" if self._playing else "▶ play",
                             layout=W.Layout(width="90px")),
            "step": W.Button(description="step", layout=W.Layout(width="70px")),
            "reset": W.Button(description="reset", layout=W.Layout(width="70px")),
        }
        self._buttons["play"].on_click(lambda _: self.pause() if self._playing else self.play())
        self._buttons["step"].on_click(lambda _: self.step(1))
        self._buttons["reset"].on_click(lambda _: self.reset())
        speed = W.IntSlider(value=self.steps_per_frame, min=1, max=100, description="steps/frame",
                            continuous_update=False)
        speed.observe(lambda change: setattr(self, "steps_per_frame", int(change["new"])), names="value")
        return [presets, W.HBox(list(self._buttons.values())), speed]
