"""``Dual``: forward-mode automatic differentiation with dual numbers.

A dual number is ``a + b·ε`` with ``ε² = 0``. Taylor-expanding any smooth f,

    f(a + b·ε) = f(a) + f'(a)·b·ε        (all higher powers of ε vanish)

so carrying the pair (primal a, tangent b) through every operation computes the value
and the directional derivative together, in the same single pass. Seed ``tangent = 1``
on the input you differentiate with respect to (and 0 on the others):

    >>> x = Dual(2.0, 1.0)
    >>> y = x * x + x.tanh()
    >>> round(y.tangent, 6)       # dy/dx = 2x + 1 - tanh(x)^2
    4.070651
"""

from __future__ import annotations

import math

from . import _scalar


class Dual:
    """``Dual(primal, tangent=0.0)``: the number ``primal + tangent·ε``.

    Arithmetic with other ``Dual`` objects or plain numbers (on either side) propagates
    the tangent by the chain rule: ``f(x).tangent = f'(x.primal) · x.tangent``.
    """

    __array_ufunc__ = None  # np.float64(2) * Dual(...) defers to Dual.__rmul__

    def __init__(self, primal, tangent=0.0):
        self.primal = _scalar.check_data(primal, "Dual", "primal")
        self.tangent = _scalar.check_data(tangent, "Dual", "tangent")

    @staticmethod
    def _lift(other, op: str) -> Dual:
        """A plain number is a constant: its tangent is 0."""
        if isinstance(other, Dual):
            return other
        return Dual(_scalar.check_operand(other, "Dual", op), 0.0)

    def _apply(self, value: float, derivative: float) -> Dual:
        """f(a + bε) = f(a) + f'(a)·b·ε, given value = f(a) and derivative = f'(a)."""
        return Dual(value, derivative * self.tangent)

    # ------------------------------------------------------------- binary ops
    def __add__(self, other) -> Dual:
        o = Dual._lift(other, "+")
        return Dual(self.primal + o.primal, self.tangent + o.tangent)

    def __sub__(self, other) -> Dual:
        o = Dual._lift(other, "-")
        return Dual(self.primal - o.primal, self.tangent - o.tangent)

    def __mul__(self, other) -> Dual:
        o = Dual._lift(other, "*")
        # (a + bε)(c + dε) = ac + (ad + bc)ε
        return Dual(self.primal * o.primal, self.primal * o.tangent + self.tangent * o.primal)

    def __truediv__(self, other) -> Dual:
        o = Dual._lift(other, "/")
        if o.primal == 0:
            raise ZeroDivisionError(
                f"Dual({self.primal!r}) / Dual(0.0): division by zero. "
                "Add a small epsilon to the denominator or check how it became 0."
            )
        # (a + bε)/(c + dε) = a/c + (b c - a d)/c² ε
        return Dual(self.primal / o.primal, (self.tangent * o.primal - self.primal * o.tangent) / o.primal**2)

    def __pow__(self, k) -> Dual:
        k = _scalar.check_exponent(k, "Dual")
        # (a + bε)^k = a^k + k a^(k-1) b ε
        return self._apply(_scalar.power(self.primal, k, "Dual"), _scalar.power_derivative(self.primal, k))

    def __radd__(self, other) -> Dual:
        return Dual._lift(other, "+") + self

    def __rsub__(self, other) -> Dual:
        return Dual._lift(other, "-") - self

    def __rmul__(self, other) -> Dual:
        return Dual._lift(other, "*") * self

    def __rtruediv__(self, other) -> Dual:
        return Dual._lift(other, "/") / self

    def __rpow__(self, base) -> Dual:
        b = _scalar.rpow_base(base, "Dual")
        value = _scalar.exp(self.primal * math.log(b))
        return self._apply(value, value * math.log(b))  # d(b^x)/dx = b^x ln b

    # -------------------------------------------------------------- unary ops
    def __neg__(self) -> Dual:
        return Dual(-self.primal, -self.tangent)

    def exp(self) -> Dual:
        value = _scalar.exp(self.primal)
        return self._apply(value, value)  # d e^x/dx = e^x

    def log(self) -> Dual:
        return self._apply(_scalar.log(self.primal, "Dual"), 1.0 / self.primal)  # d ln x/dx = 1/x

    def tanh(self) -> Dual:
        t = math.tanh(self.primal)
        return self._apply(t, 1.0 - t * t)  # d tanh x/dx = 1 - tanh² x

    def sigmoid(self) -> Dual:
        s = _scalar.sigmoid(self.primal)
        return self._apply(s, s * (1.0 - s))  # dσ/dx = σ(1 - σ)

    def relu(self) -> Dual:
        positive = self.primal > 0
        return self._apply(self.primal if positive else 0.0, 1.0 if positive else 0.0)

    # ---------------------------------------------------------------- display
    def __repr__(self) -> str:
        return f"Dual(primal={self.primal:.6g}, tangent={self.tangent:.6g})"

    def __float__(self) -> float:
        return self.primal
