"""Checkers for notebook 00 (start here): the two warm-up exercises that teach the checker loop.

* ``00.square``: ``square(x)`` returns x²; catches ``x * 2`` (equal to x² at x = 2 only),
  ``2 ** x`` (equal at x = 2 and 4), ``x ^ 2`` (bitwise XOR in Python) and a forgotten ``return``;
* ``00.xor_accuracy``: the XOR accuracy the training playground reports once it has no hidden
  layer (``playground.set(hidden=())``). No straight line classifies more than 3 of XOR's 4
  corners, and on the playground's noisy quadrants logistic regression stays near chance, so a
  correct report is at most 0.75; the 1.0 of a hidden-layer network is caught.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .core import Incorrect, exercise, require, require_callable

# -- 00.square -------------------------------------------------------------------------

_X_SQUARE = (-3, -1.5, 0, 0.5, 2, 3, 10)


def _square_mul(x):
    return x * x


def _square_pow(x):
    return x**2


def _wrong_double(x):                                # x * 2: right at x = 2 only
    return x * 2


def _wrong_two_to_the_x(x):                          # 2 ** x: right at x = 2 and x = 4
    return 2**x


def _wrong_xor(x):                                   # x ^ 2: bitwise XOR, an error for floats
    return x ^ 2


def _wrong_no_return(x):                             # computes x², never returns it
    x * x


def _wrong_abs(x):                                   # |x|: the right value at 0 and 1 only
    return abs(x)


def _matches(answer, fn, xs) -> bool:
    try:
        return all(math.isclose(float(answer(x)), float(fn(x)), rel_tol=1e-12, abs_tol=1e-12) for x in xs)
    except (TypeError, ValueError, OverflowError):
        return False


@exercise(
    "00.square", "Square a number",
    right=[_square_mul, _square_pow, np.square],
    wrong={
        "x * 2": _wrong_double,
        "2 ** x": _wrong_two_to_the_x,
        "x ^ 2 (bitwise XOR)": _wrong_xor,
        "no return": _wrong_no_return,
        "abs(x)": _wrong_abs,
    },
    success="square(x) = x·x. That is the whole loop: write, run, read the feedback, fix, run again.",
)
def _check_square(answer):
    require_callable(answer, "square")
    ints = [x for x in _X_SQUARE if isinstance(x, int)]
    if _matches(answer, lambda x: x ^ 2, ints) and not _matches(answer, lambda x: x * x, ints):
        raise Incorrect("square(3) gave 1: in Python `^` is bitwise XOR, not a power.",
                        "Write the power as x ** 2, or multiply: x * x.")
    for x in _X_SQUARE:
        got = answer(x)
        if got is None:
            raise Incorrect(f"square({x}) returned None.",
                            "A function gives back only what follows `return`: end it with `return x * x`.")
        try:
            got = float(got)
        except (TypeError, ValueError) as err:
            raise Incorrect(f"square({x}) should be a number; got {type(got).__name__}.",
                            "Return x * x, a single number.") from err
        if not math.isclose(got, x * x, rel_tol=1e-12, abs_tol=1e-12):
            if _matches(answer, lambda v: v * 2, _X_SQUARE):
                raise Incorrect(f"square({x}) gave {got:g}, which is 2·({x}): you doubled x.",
                                "x * 2 equals x² only at x = 0 and x = 2 (checkers try several inputs "
                                "for this reason). Square it: x * x or x ** 2.")
            if _matches(answer, lambda v: 2.0**v, _X_SQUARE):
                raise Incorrect(f"square({x}) gave {got:g}, which is 2 to the power {x}.",
                                "2 ** x raises 2 to the power x; x ** 2 raises x to the power 2.")
            raise Incorrect(f"square({x}) gave {got:g}; expected {x * x:g}.",
                            "Try your function on a negative number and on a fraction too.")


# -- 00.xor_accuracy -------------------------------------------------------------------

LINEAR_XOR_BOUND = 0.75     # no line classifies more than 3 of XOR's 4 corners


@exercise(
    "00.xor_accuracy", "XOR without a hidden layer",
    right=[0.44, 0.5, 0.56, 0.75, np.float64(0.47)],
    wrong={
        "the hidden-layer network's 1.0": 1.0,
        "the (8, 8) network's 0.92": 0.92,
        "a percentage": 44.0,
        "a list of accuracies": [0.5, 0.44],
        "a negative number": -0.5,
        "True": True,
    },
    success="No hidden layer, no bend: the boundary stays a straight line and XOR stays near chance. "
            "No line can do better than 3 of the 4 corners; a hidden layer solves it.",
)
def _check_xor_accuracy(answer):
    if hasattr(answer, "session") and hasattr(answer, "settings"):
        raise Incorrect("You passed the playground itself; pass the accuracy it reports.",
                        "After playground.set(hidden=()).step(600), read "
                        "playground.session.history.test_acc[-1].")
    require(isinstance(answer, numbers.Real) and not isinstance(answer, (bool, np.bool_)),
            f"The answer should be one number, an accuracy between 0 and 1; got {type(answer).__name__}.",
            "The last recorded test accuracy is playground.session.history.test_acc[-1].")
    acc = float(answer)
    require(not math.isnan(acc), "The accuracy is NaN: the playground has no test points to score.",
            "Keep train_fraction below 1, or read history.train_acc[-1] instead.")
    require(acc >= 0.0, f"An accuracy cannot be negative; got {acc:g}.",
            "Accuracy = correctly classified points / all points, a number in [0, 1].")
    if 1.0 < acc <= 100.0:
        raise Incorrect(f"{acc:g} looks like a percentage; the course writes accuracies as fractions.",
                        "Give the fraction of correct points, e.g. 0.5 for half of them.")
    require(acc <= 1.0, f"An accuracy is at most 1; got {acc:g}.",
            "Accuracy = correctly classified points / all points.")
    if acc > LINEAR_XOR_BOUND:
        raise Incorrect(
            f"{acc:g} is more than a network without a hidden layer can reach on XOR: did the "
            "playground still have hidden layers?",
            "Without hidden layers the boundary is a straight line, which gets at most 3 of XOR's 4 "
            "corners right. Run playground.set(hidden=()) first, train, then read the accuracy "
            "(and check playground.settings.hidden is ()).")
