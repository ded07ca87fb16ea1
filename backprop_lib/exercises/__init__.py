"""Checkers for the course's exercises: ``bp.exercises.check("01.sigmoid_prime", answer)``.

Every module in this package registers the exercises of one notebook; they are all
loaded here so that ``check`` knows every exercise.
"""

import importlib
import pkgutil

from .core import (
    REGISTRY,
    Exercise,
    Feedback,
    Incorrect,
    check,
    exercise,
    require,
    require_callable,
    require_close,
)

for _info in pkgutil.iter_modules(__path__):
    if _info.name != "core":
        importlib.import_module(f"{__name__}.{_info.name}")


def list_exercises():
    """``{id: title}`` of every registered exercise, in notebook order."""
    return {k: REGISTRY[k].title for k in sorted(REGISTRY)}


__all__ = [
    "REGISTRY", "Exercise", "Feedback", "Incorrect", "check", "exercise", "list_exercises",
    "require", "require_callable", "require_close",
]
