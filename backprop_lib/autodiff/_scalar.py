"""Scalar functions and argument checks shared by ``Value`` (reverse mode) and ``Dual``
(forward mode). Both engines use the same local derivatives; only the order in which
the chain rule multiplies them differs.
"""

from __future__ import annotations

import math
import numbers


def check_operand(other, engine: str, op: str):
    """Return ``other`` as a float if it is a plain real number, else raise a clear TypeError.

    ``engine`` is the class name ("Value" or "Dual"), ``op`` the operator symbol.
    """
    if isinstance(other, bool) or not isinstance(other, numbers.Real):
        raise TypeError(
            f"unsupported operand for {engine} {op}: got {type(other).__name__} ({other!r}); "
            f"expected a {engine} or a real number (int/float). "
            f"Wrap plain numbers as {engine}(x) or convert arrays with float(x)."
        )
    return float(other)


def check_data(x, engine: str, arg: str) -> float:
    """The number a ``Value``/``Dual`` stores: a real Python/NumPy scalar, as float."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(
            f"{engine}({arg}=...) expects a real number (int or float); got {type(x).__name__} ({x!r}). "
            + ("It is already one: use it directly." if type(x).__name__ == engine
               else "Convert a 0-d array or tensor with float(x).")
        )
    return float(x)


def exp(x: float) -> float:
    """e**x, returning inf on overflow (a diverging computation is a result, not a crash)."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def log(x: float, engine: str) -> float:
    """ln x, defined only for x > 0."""
    if not x > 0:
        raise ValueError(
            f"log of {engine}({x!r}): the logarithm needs a positive argument; got {x!r}. "
            "Shift or clip the input (e.g. (x + 1e-12).log() or use a positive quantity)."
        )
    return math.log(x)


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), written so that neither branch can overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)  # x < 0, so e^x <= 1
    return z / (1.0 + z)


def check_exponent(k, engine: str) -> float:
    """``x ** k`` is supported for a plain number ``k`` only."""
    if isinstance(k, bool) or not isinstance(k, numbers.Real):
        hint = (
            f"For a {engine} exponent write (k * x.log()).exp() (needs x > 0)."
            if type(k).__name__ == engine
            else "Pass an int or float exponent."
        )
        raise TypeError(
            f"{engine} ** exponent: the exponent must be a plain number (int/float); "
            f"got {type(k).__name__}. {hint}"
        )
    return float(k)


def power(x: float, k: float, engine: str) -> float:
    """x ** k for real x and k, refusing the cases whose result is not a real number."""
    if x < 0 and not float(k).is_integer():
        raise ValueError(
            f"{engine}({x!r}) ** {k!r}: a negative base with a non-integer exponent is not a real "
            "number. Use an integer exponent or a positive base."
        )
    if x == 0 and k < 0:
        raise ValueError(
            f"{engine}({x!r}) ** {k!r}: zero cannot be raised to a negative power (division by zero)."
        )
    try:
        return x ** k
    except OverflowError:
        return math.copysign(math.inf, x) if float(k).is_integer() and int(k) % 2 else math.inf


def power_derivative(x: float, k: float) -> float:
    """d(x^k)/dx = k x^(k-1). At x = 0 with k < 1 the formula divides by zero: the
    derivative is 0 for k = 0 (a constant) and +inf for 0 < k < 1 (e.g. sqrt at 0)."""
    if x == 0 and k < 1:
        return 0.0 if k == 0 else math.inf
    return k * x ** (k - 1)


def rpow_base(base, engine: str) -> float:
    """``base ** v`` (number to the power of a Value/Dual) = exp(v ln base): needs base > 0."""
    b = check_operand(base, engine, "** (as exponent)")
    if not b > 0:
        raise ValueError(
            f"{b!r} ** {engine}: a number raised to a {engine} power is computed as exp(v * ln(base)) "
            f"and needs base > 0; got base {b!r}."
        )
    return b
