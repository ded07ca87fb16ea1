"""Named presets: a settings dict and the one-line lesson it shows.

    TrainingPlayground.preset("vanishing sigmoid")
    PlaygroundSession(preset_settings("dead ReLUs"))

A preset is applied on top of the defaults (``PlaygroundSettings()``), so it shows the same
thing whatever was set before.
"""

from __future__ import annotations

from dataclasses import dataclass

from .settings import PlaygroundSettings

ALL_FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")


@dataclass(frozen=True)
class Preset:
    explanation: str
    settings: dict


PRESETS = {
    "vanishing sigmoid": Preset(
        "Six sigmoid layers: σ′ ≤ 1/4, so each layer shrinks the backpropagated error and the first "
        "layers' gradients are 10⁴ times smaller than the last one's: they barely learn.",
        dict(activation="sigmoid", hidden=(8, 8, 8, 8, 8, 8), init="default", optimizer="sgd", lr=0.3),
    ),
    "dead ReLUs": Preset(
        "lr 1 with plain SGD: a few large updates push ReLU units to negative inputs on every point; "
        "a dead unit passes no gradient, so it never recovers (flat white heatmaps).",
        dict(activation="relu", hidden=(8, 8, 8), init="he", optimizer="sgd", lr=1.0),
    ),
    "too-large lr": Preset(
        "lr 10 on a squared loss: each step overshoots the minimum by more than it corrects "
        "(lr × curvature > 2), so the loss grows geometrically until it overflows.",
        dict(activation="tanh", hidden=(8, 8), loss="mse", optimizer="sgd", lr=10.0),
    ),
    "xor needs a hidden layer": Preset(
        "No hidden layer: the boundary is a straight line, and no line separates XOR (at most 3 of "
        "its 4 corners). Add a hidden layer, or give it the feature x1*x2.",
        dict(dataset="xor", noise=0.0, hidden=()),
    ),
    "xor with the x1x2 feature": Preset(
        "Still no hidden layer, but the input x₁x₂ is negative exactly on the XOR class: a good "
        "feature makes a linear model enough.",
        dict(dataset="xor", noise=0.0, hidden=(), features=("x1*x2",)),
    ),
    "spiral": Preset(
        "Two interleaved spirals: every feature and three hidden layers; the boundary has to wind "
        "around the origin, which takes a few thousand steps.",
        dict(dataset="spiral", noise=0.0, n=400, features=ALL_FEATURES, hidden=(8, 8, 8), lr=0.01,
             max_steps=3000),
    ),
}


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").split()).lower()


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (case, dashes and underscores do not matter)."""
    if isinstance(name, str):
        for known, preset in PRESETS.items():
            if _key(known) == _key(name):
                return preset
    raise ValueError(f"unknown preset {name!r}; expected one of {', '.join(map(repr, PRESETS))}.")


def preset_settings(name: str) -> PlaygroundSettings:
    """The settings of preset ``name`` (applied on top of the defaults)."""
    return PlaygroundSettings(**get_preset(name).settings)
