"""The training playground: TensorFlow Playground in Jupyter, and more.

    pg = bp.widgets.TrainingPlayground()                   # the widget (controls + live figure)
    pg = bp.widgets.TrainingPlayground.preset("dead ReLUs")
    session = bp.widgets.PlaygroundSession(dataset="xor", hidden=(8,))   # no widgets: step it
    session.step(200); session.history.test_acc[-1]

Files: ``settings.py`` (the validated settings), ``data.py`` (datasets and input features),
``session.py`` (the steppable training), ``history.py`` (what it records), ``presets.py``,
``view.py`` (the figure), ``explorer.py`` (the widget: driving it and the play loop),
``controls.py`` (its ipywidgets).
"""

from .data import DATASETS, FEATURES, make_features
from .explorer import TrainingPlayground
from .history import PlaygroundHistory
from .presets import PRESETS, Preset, get_preset, preset_settings
from .session import PlaygroundSession, build_network
from .settings import PlaygroundSettings
from .view import PlaygroundView

__all__ = ["TrainingPlayground", "PlaygroundSession", "PlaygroundSettings", "PlaygroundHistory",
           "PlaygroundView", "PRESETS", "Preset", "get_preset", "preset_settings", "DATASETS", "FEATURES",
           "make_features", "build_network"]
