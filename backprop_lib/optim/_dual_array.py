"""``DualArray``: forward-mode dual numbers for whole NumPy arrays.

``bp.autodiff.Dual`` carries one scalar and its tangent through a computation; a ``DualArray``
carries an array ``primal`` and an array ``tangent`` of the same shape, ``primal + tangent·ε``
elementwise with ε² = 0. Every supported operation applies the chain rule to the tangent::

    (a + ȧε) @ (b + ḃε) = a @ b + (ȧ @ b + a @ ḃ) ε
    tanh(a + ȧε)        = tanh a + (1 − tanh² a) ȧ ε

so a NumPy program run on ``DualArray(x, v)`` returns its value *and* its directional
derivative along v in one pass. Run a gradient written in NumPy (a backward pass) on
``DualArray(θ, v)`` and the tangent of the result is ∇(∇L·v) = H v exactly: forward mode
over reverse mode, the Hessian-vector product without any finite difference.

Supported: + − * / (with arrays, numbers or DualArrays on either side), unary −, @,
``np.tanh``, ``np.exp``, ``np.maximum``/``np.greater`` (for ReLU), ``.T``, ``.reshape``,
indexing, ``.sum(axis, keepdims)``. Anything else raises a TypeError naming the operation.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["DualArray", "concatenate"]


def _parts(x):
    """(primal, tangent) of a DualArray, or of a constant (tangent 0)."""
    if isinstance(x, DualArray):
        return x.primal, x.tangent
    if isinstance(x, (numbers.Real, np.ndarray, np.generic)) and not isinstance(x, bool):
        a = np.asarray(x)
        return a, np.zeros(a.shape)
    raise TypeError("DualArray arithmetic needs numbers, NumPy arrays or DualArrays; "
                    f"got {type(x).__name__}.")


def _mul(a, da, b, db):
    return a * b, da * b + a * db                      # (ab)' = a'b + ab'


def _div(a, da, b, db):
    return a / b, (da * b - a * db) / (b * b)          # (a/b)' = (a'b − ab')/b²


def _matmul(a, da, b, db):
    return a @ b, da @ b + a @ db                      # (AB)' = A'B + AB'


def _maximum(a, da, b, db):
    take_a = a >= b                                    # max(a, b)' = a' where a wins, else b'
    return np.maximum(a, b), np.where(take_a, da, db)


def _tanh(a, da):
    t = np.tanh(a)
    return t, (1.0 - t * t) * da                       # tanh' = 1 − tanh²


def _exp(a, da):
    e = np.exp(a)
    return e, e * da


_BINARY = {np.add: lambda a, da, b, db: (a + b, da + db),
           np.subtract: lambda a, da, b, db: (a - b, da - db),
           np.multiply: _mul, np.true_divide: _div, np.matmul: _matmul, np.maximum: _maximum}
_UNARY = {np.negative: lambda a, da: (-a, -da), np.positive: lambda a, da: (a, da),
          np.tanh: _tanh, np.exp: _exp}
_COMPARE = (np.greater, np.greater_equal, np.less, np.less_equal)   # on primals: a plain bool array


class DualArray:
    """``DualArray(primal, tangent=None)``: the array ``primal + tangent·ε`` (ε² = 0).

    primal, tangent: float arrays of one shape (``tangent=None``: zeros, a constant).
    ``np.tanh(d)``, ``d @ w``, ``2 * d`` … return DualArrays; ``d.tangent`` is the derivative
    of the result along the tangent seeded at the inputs.
    """

    def __init__(self, primal, tangent=None):
        p = np.asarray(primal, dtype=np.float64)
        t = np.zeros(p.shape) if tangent is None else np.asarray(tangent, dtype=np.float64)
        if t.shape != p.shape:
            raise ValueError(f"DualArray: tangent must have the primal's shape {p.shape}; got {t.shape}.")
        self.primal, self.tangent = p, t

    # NumPy calls this for np.tanh(d), ndarray + d, ndarray @ d, ...
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            raise TypeError(f"DualArray supports plain calls of NumPy ufuncs only; got {ufunc.__name__}."
                            f"{method} with {sorted(kwargs)}.")
        if ufunc in _COMPARE:
            return ufunc(*(_parts(x)[0] for x in inputs))
        if ufunc in _UNARY and len(inputs) == 1:
            return DualArray(*_UNARY[ufunc](*_parts(inputs[0])))
        if ufunc in _BINARY and len(inputs) == 2:
            return DualArray(*_BINARY[ufunc](*_parts(inputs[0]), *_parts(inputs[1])))
        known = sorted(f.__name__ for f in (*_UNARY, *_BINARY, *_COMPARE))
        raise TypeError(f"DualArray has no derivative rule for np.{ufunc.__name__}; supported: {known}.")

    def __add__(self, o):
        return np.add(self, o)

    def __radd__(self, o):
        return np.add(o, self)

    def __sub__(self, o):
        return np.subtract(self, o)

    def __rsub__(self, o):
        return np.subtract(o, self)

    def __mul__(self, o):
        return np.multiply(self, o)

    def __rmul__(self, o):
        return np.multiply(o, self)

    def __truediv__(self, o):
        return np.true_divide(self, o)

    def __rtruediv__(self, o):
        return np.true_divide(o, self)

    def __matmul__(self, o):
        return np.matmul(self, o)

    def __rmatmul__(self, o):
        return np.matmul(o, self)

    def __neg__(self):
        return np.negative(self)

    def __gt__(self, o):
        return np.greater(self, o)

    # -- shape operations: applied to primal and tangent alike ---------------------------
    @property
    def shape(self):
        return self.primal.shape

    @property
    def ndim(self):
        return self.primal.ndim

    @property
    def T(self):
        return DualArray(self.primal.T, self.tangent.T)

    def reshape(self, *shape):
        return DualArray(self.primal.reshape(*shape), self.tangent.reshape(*shape))

    def __getitem__(self, key):
        return DualArray(self.primal[key], self.tangent[key])

    def sum(self, axis=None, keepdims=False):
        return DualArray(self.primal.sum(axis=axis, keepdims=keepdims),
                         self.tangent.sum(axis=axis, keepdims=keepdims))

    def __len__(self):
        return len(self.primal)

    def __repr__(self):
        return f"DualArray(primal={self.primal!r}, tangent={self.tangent!r})"


def concatenate(parts):
    """``np.concatenate`` of arrays, or of DualArrays (primals and tangents side by side)."""
    parts = list(parts)
    if any(isinstance(p, DualArray) for p in parts):
        pairs = [_parts(p) for p in parts]
        return DualArray(np.concatenate([a for a, _ in pairs]), np.concatenate([t for _, t in pairs]))
    return np.concatenate(parts)
