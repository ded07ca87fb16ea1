"""ActivationExplorer: an activation f and its derivative f′, with saturation shaded.

Where f′ is tiny the unit is *saturated*: whatever error arrives from above is multiplied
by f′ on the way down (δ = (Wᵀδ′) ⊙ f′(z)), so almost nothing gets through.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_choice, check_number
from ..nn.activations import ACTIVATIONS
from ..viz import style
from .base import Explorer

NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus", "identity")


@dataclass(frozen=True)
class ActivationSettings:
    name: str = "sigmoid"
    x_min: float = -8.0
    x_max: float = 8.0
    threshold: float = 0.01   # |f′| below this counts as saturated
    points: int = 801

    def __post_init__(self):
        object.__setattr__(self, "name", check_choice(self.name, "activation", NAMES))
        check_number(self.x_min, "x_min", low=-1e4, high=1e4)
        check_number(self.x_max, "x_max", low=-1e4, high=1e4)
        if not self.x_min < self.x_max:
            raise ValueError(f"x_min must be below x_max; got x_min={self.x_min}, x_max={self.x_max}.")
        check_number(self.threshold, "threshold", low=0, high=1, low_open=True)


@dataclass(frozen=True)
class ActivationResult:
    settings: ActivationSettings
    x: np.ndarray
    f: np.ndarray
    df: np.ndarray
    saturated: np.ndarray       # boolean mask, |f′(x)| < threshold
    max_slope: float
    argmax_slope: float

    @property
    def saturated_fraction(self) -> float:
        return float(self.saturated.mean())


def compute_activation(settings: ActivationSettings) -> ActivationResult:
    """f and f′ on a grid, the saturated region, and the steepest slope."""
    cls = ACTIVATIONS[settings.name]
    x = np.linspace(settings.x_min, settings.x_max, settings.points)
    f, df = cls.f(x), cls.df(x)
    i = int(np.argmax(np.abs(df)))
    return ActivationResult(settings, x, f, df, np.abs(df) < settings.threshold, float(df[i]), float(x[i]))


class ActivationExplorer(Explorer):
    """Pick an activation and an input range; see f, f′ and where f′ < threshold (shaded).

    ``ActivationExplorer(name="tanh").set(x_min=-4, x_max=4)``
    """

    Settings = ActivationSettings
    title = "Activation functions and their derivatives"
    compute = staticmethod(compute_activation)

    def make_figure(self, fig):
        self.ax_f, self.ax_df = fig.subplots(1, 2)
        (self.line_f,) = self.ax_f.plot([], [], color=style.color(0), label="f(x)")
        (self.line_df,) = self.ax_df.plot([], [], color=style.color(1), label="f′(x)")
        self.ax_f.set(xlabel="input x", ylabel="f(x)")
        self.ax_df.set(xlabel="input x", ylabel="f′(x)")
        self.peak = self.ax_df.plot([], [], "o", color=style.color(5), label="steepest slope")[0]
        self._shades = []

    def draw(self, r: ActivationResult):
        s = r.settings
        self.line_f.set_data(r.x, r.f)
        self.line_df.set_data(r.x, r.df)
        self.peak.set_data([r.argmax_slope], [r.max_slope])
        for shade in self._shades:
            shade.remove()
        self._shades = [
            ax.fill_between(r.x, 0, 1, where=r.saturated, transform=ax.get_xaxis_transform(),
                            color="0.6", alpha=0.25, linewidth=0, label=f"saturated (|f′| < {s.threshold:g})")
            for ax in (self.ax_f, self.ax_df)
        ]
        for ax, y in ((self.ax_f, r.f), (self.ax_df, r.df)):
            ax.set_xlim(s.x_min, s.x_max)
            lo, hi = float(np.min(y)), float(np.max(y))
            pad = 0.08 * (hi - lo or 1.0)
            ax.set_ylim(lo - pad, hi + pad)
            ax.legend(loc="upper left", fontsize="small")
        self.ax_f.set_title(f"{s.name}: f(x)")
        self.ax_df.set_title(f"f′ peaks at {r.max_slope:.3g} (x = {r.argmax_slope:.3g})\n"
                             f"{100 * r.saturated_fraction:.0f}% of the range saturated")

    def controls(self):
        import ipywidgets as W

        s = self.settings
        return {
            "name": W.Dropdown(options=NAMES, value=s.name, description="activation"),
            "x_min": W.FloatSlider(value=s.x_min, min=-50, max=0, step=0.5, description="x min",
                                   continuous_update=False),
            "x_max": W.FloatSlider(value=s.x_max, min=0.5, max=50, step=0.5, description="x max",
                                   continuous_update=False),
            "threshold": W.FloatLogSlider(value=s.threshold, base=10, min=-4, max=-0.5, step=0.25,
                                          description="saturated <", continuous_update=False),
        }
