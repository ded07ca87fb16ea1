"""Exercise checkers: instant, specific feedback on a learner's answer.

A checker is a function of the learner's answer that returns normally when the answer is
right and raises :class:`Incorrect` (with a message and a hint) when it is not. It is
registered with the answers that must pass and the typical wrong answers that must fail,
so the checkers are themselves tested (``tests/exercises``).

In a notebook::

    def sigmoid_prime(z):
        # YOUR CODE HERE
        raise NotImplementedError

    bp.exercises.check("01.sigmoid_prime", sigmoid_prime)

An answer that is ``None``/``...`` or a function that raises ``NotImplementedError`` is
reported as *not attempted*, never as an error, so a notebook runs top to bottom before
the learner has written anything.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

STATUSES = ("correct", "wrong", "not attempted")


class Incorrect(Exception):
    """Raised by a checker: ``Incorrect("what is wrong", hint="how to think about it")``."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotAttempted(Exception):
    """Raised when the answer is still the template."""


@dataclass(frozen=True)
class Feedback:
    """What a checker says about one answer."""

    exercise: str
    title: str
    status: str
    message: str
    hint: str = ""

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        mark = {"correct": "✔ correct", "wrong": "✘ not yet", "not attempted": "… not attempted"}
        text = f"[{self.exercise}] {self.title}: {mark[self.status]}. {self.message}"
        return text + (f"\n  Hint: {self.hint}" if self.hint else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = {"correct": "#009E73", "wrong": "#D55E00", "not attempted": "#0072B2"}[self.status]
        icon = {"correct": "✔", "wrong": "✘", "not attempted": "…"}[self.status]
        hint = f"<br><i>Hint:</i> {html.escape(self.hint)}" if self.hint else ""
        return (
            f'<div style="border-left:4px solid {colour};padding:4px 10px;margin:4px 0">'
            f'<b style="color:{colour}">{icon} {html.escape(self.title)}</b> '
            f"<code>{html.escape(self.exercise)}</code><br>{html.escape(self.message)}{hint}</div>"
        )


@dataclass
class Exercise:
    """A registered exercise: its checker and the answers its tests use."""

    id: str
    title: str
    checker: Callable[[object], None]
    success: str = "Well done."
    right: list = field(default_factory=list)          # answers that must pass
    wrong: dict = field(default_factory=dict)          # name of the mistake -> answer that must fail


REGISTRY: dict[str, Exercise] = {}


def exercise(id: str, title: str, *, right=(), wrong=None, success: str = "Well done."):
    """Register the decorated function as the checker of exercise ``id``.

    ``right``: answers that must be accepted; ``wrong``: ``{mistake: answer}`` that must be
    rejected. Both are used by the test-suite, so every checker is shown to catch the
    mistakes it was written for.
    """

    def register(checker):
        if id in REGISTRY:
            raise ValueError(f"exercise {id!r} is registered twice")
        REGISTRY[id] = Exercise(id, title, checker, success, list(right), dict(wrong or {}))
        return checker

    return register


def _is_template(answer) -> bool:
    return answer is None or answer is Ellipsis


def check(exercise_id: str, answer, *, must_pass: bool = False) -> Feedback:
    """Check ``answer`` for exercise ``exercise_id`` and return the feedback.

    ``must_pass=True`` (used in solution cells) raises ``AssertionError`` unless the answer
    is correct, so running the notebook tests the solutions too.
    """
    if exercise_id not in REGISTRY:
        known = ", ".join(sorted(REGISTRY)) or "none"
        raise ValueError(f"unknown exercise {exercise_id!r}; registered exercises: {known}.")
    ex = REGISTRY[exercise_id]
    try:
        if _is_template(answer):
            raise NotAttempted
        ex.checker(answer)
        fb = Feedback(ex.id, ex.title, "correct", ex.success)
    except (NotAttempted, NotImplementedError):
        fb = Feedback(ex.id, ex.title, "not attempted",
                      "Replace the `raise NotImplementedError` (or `...`) with your answer, "
                      "then run the cell again.")
    except Incorrect as err:
        fb = Feedback(ex.id, ex.title, "wrong", err.message, err.hint)
    except Exception as err:  # the learner's code raised: report it, never crash the notebook
        where = traceback.extract_tb(err.__traceback__)[-1]
        fb = Feedback(ex.id, ex.title, "wrong",
                      f"Your code raised {type(err).__name__}: {err} (line {where.lineno}).",
                      "Run your function on a small input in a cell of its own to see what goes wrong.")
    if must_pass and not fb.correct:
        raise AssertionError(str(fb))
    return fb


# -- helpers for writing checkers ------------------------------------------------------

def require(condition: bool, message: str, hint: str = "") -> None:
    """Raise :class:`Incorrect` unless ``condition`` holds."""
    if not condition:
        raise Incorrect(message, hint)


def require_callable(answer, what: str = "your answer") -> None:
    require(callable(answer), f"{what} should be a function; got {type(answer).__name__}.",
            "Pass the function itself (its name, without parentheses).")


def as_numbers(got, what: str, hint: str = "") -> np.ndarray:
    """A learner's returned value as a float array, or :class:`Incorrect` saying what came back."""
    if got is None:
        raise Incorrect(f"{what} returned None.", "Did you forget a `return`?")
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError) as err:
        raise Incorrect(f"{what} should return numbers; got {type(got).__name__}.", hint) from err


def as_number(got, what: str, hint: str = "") -> float:
    """A learner's returned value as one float (a 0-d or size-1 array counts)."""
    arr = as_numbers(got, what, hint)
    if arr.size != 1:
        raise Incorrect(f"{what} should return one number; got {got!r}.", hint)
    return float(arr.reshape(()))


def require_close(got, expected, what: str, *, rtol: float = 1e-6, atol: float = 1e-9,
                  hint: str = "") -> None:
    """Raise :class:`Incorrect` unless ``got`` matches ``expected`` (shape and values)."""
    if got is None:
        raise Incorrect(f"{what}: your code returned None.", "Did you forget a `return`?")
    try:
        got_arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError) as err:
        raise Incorrect(f"{what}: expected numbers, got {type(got).__name__}.", hint) from err
    exp_arr = np.asarray(expected, dtype=float)
    if got_arr.shape != exp_arr.shape:
        raise Incorrect(f"{what}: expected shape {exp_arr.shape}, got {got_arr.shape}.",
                        hint or "Check which axis you sum or multiply over.")
    if not np.allclose(got_arr, exp_arr, rtol=rtol, atol=atol, equal_nan=False):
        i = np.unravel_index(np.argmax(np.abs(got_arr - exp_arr)), exp_arr.shape) if exp_arr.ndim else ()
        at = f" at index {tuple(int(k) for k in i)}" if exp_arr.ndim else ""
        raise Incorrect(
            f"{what}: expected {exp_arr[i]:.6g}{at}, got {got_arr[i]:.6g}.", hint)
