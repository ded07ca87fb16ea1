"""Elementwise activations: Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU, Softplus (and Identity).

Each activation ``y = f(x)`` has no parameters; its backward pass is the chain rule for an
elementwise function, dL/dx = dL/dy ⊙ f′(x) (the ⊙ σ′(z) of backprop's equations).

Every activation class offers:

* the pure functions ``f`` and ``df`` (the derivative f′ with respect to the input), usable
  without building a module: ``Sigmoid.f(x)``, ``LeakyReLU.df(x, negative_slope=0.2)``.
  Read from an instance they use that instance's hyper-parameters:
  ``LeakyReLU(0.2).f(x)``;
* a module: ``forward(x)`` caches the input ``self.x`` and output ``self.out``; ``backward``
  uses whichever gives f′ most cheaply (σ′ = y(1 − y), tanh′ = 1 − y², ...).

All of them are numerically stable: no overflow warning and no NaN for any finite input
(tested up to |x| = 1e4); defaults are PyTorch's (``GELU`` is the exact erf form).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import erfc

from .._validate import as_float_array, check_choice, check_number
from .layers import Identity, _check_grad_out
from .module import Module

__all__ = [
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Identity",
    "ACTIVATIONS", "get_activation",
]


def _float(x) -> np.ndarray:
    """Array-like → float array (ints become float64; float32 stays float32)."""
    a = np.asarray(x)
    if a.dtype.kind in "biu":
        return a.astype(np.float64)
    if a.dtype.kind != "f":
        raise TypeError(f"x must be an array of numbers; got dtype {a.dtype}.")
    return a


class _pure:
    """Marks ``f``/``df``: a plain function on the class, hyper-parameters bound on instances.

    ``LeakyReLU.f(x)`` uses the default slope; ``LeakyReLU(0.2).f(x)`` uses 0.2.
    """

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self.fn
        bound = functools.partial(self.fn, **{k: getattr(obj, k) for k in obj.hyperparameters})
        functools.update_wrapper(bound, self.fn)
        return bound


class _Activation(Module):
    """Shared forward/backward of the elementwise activations.

    Subclasses define ``f``, ``df`` and may override ``_local_grad`` to get f′(x) from the
    cached output instead of recomputing it from the input.
    """

    name = ""  # registry name, e.g. "relu"
    hyperparameters: tuple[str, ...] = ()

    def __init__(self):
        self.x = None
        self.out = None

    def forward(self, x):
        """x: any shape → f(x), same shape."""
        x = as_float_array(x, f"{type(self).__name__} input x")
        self.x = x
        self.out = self.f(x)
        return self.out

    def _local_grad(self):
        """f′ at the cached input."""
        return self.df(self.x)

    def backward(self, grad_out):
        """dL/dx = dL/dy ⊙ f′(x)."""
        self._require_cache("x", "out")
        g = _check_grad_out(self, grad_out, self.x.shape)
        return g * self._local_grad()

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyperparameters)


class Sigmoid(_Activation):
    """σ(x) = 1 / (1 + e^(−x)),  σ′(x) = σ(x)(1 − σ(x)) ≤ 1/4 (why deep sigmoid nets vanish)."""

    name = "sigmoid"

    @_pure
    def f(x):
        x = _float(x)
        # σ(x) = e^min(x, 0) / (1 + e^(−|x|)): for x ≥ 0 that is 1/(1 + e^(−x)), for x < 0 it is
        # e^x/(1 + e^x), the same value. No exponent is positive, so nothing overflows.
        return np.exp(np.minimum(x, 0.0)) / (1.0 + np.exp(-np.abs(x)))

    @_pure
    def df(x):
        s = Sigmoid.f(x)
        return s * (1.0 - s)

    def _local_grad(self):
        return self.out * (1.0 - self.out)  # σ′ = y(1 − y)


class Tanh(_Activation):
    """tanh(x),  tanh′(x) = 1 − tanh²(x)."""

    name = "tanh"

    @_pure
    def f(x):
        return np.tanh(_float(x))

    @_pure
    def df(x):
        t = np.tanh(_float(x))
        return 1.0 - t * t

    def _local_grad(self):
        return 1.0 - self.out * self.out  # tanh′ = 1 − y²


class ReLU(_Activation):
    """max(x, 0),  ReLU′(x) = 1 if x > 0 else 0 (0 at x = 0, as PyTorch)."""

    name = "relu"

    @_pure
    def f(x):
        x = _float(x)
        return np.maximum(x, 0.0).astype(x.dtype, copy=False)

    @_pure
    def df(x):
        x = _float(x)
        return (x > 0).astype(x.dtype)


class LeakyReLU(_Activation):
    """x if x > 0 else negative_slope·x;  derivative 1 or negative_slope."""

    name = "leaky_relu"
    hyperparameters = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = check_number(negative_slope, "negative_slope")

    @_pure
    def f(x, negative_slope=0.01):
        x = _float(x)
        return np.where(x > 0, x, negative_slope * x).astype(x.dtype, copy=False)

    @_pure
    def df(x, negative_slope=0.01):
        x = _float(x)
        return np.where(x > 0, 1.0, negative_slope).astype(x.dtype)


class ELU(_Activation):
    """x if x > 0 else α(eˣ − 1);  derivative 1 or α·eˣ."""

    name = "elu"
    hyperparameters = ("alpha",)

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = check_number(alpha, "alpha")

    @_pure
    def f(x, alpha=1.0):
        x = _float(x)
        neg = np.minimum(x, 0.0)  # exp only of non-positive numbers: no overflow
        return np.where(x > 0, x, alpha * np.expm1(neg)).astype(x.dtype, copy=False)

    @_pure
    def df(x, alpha=1.0):
        x = _float(x)
        return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))).astype(x.dtype, copy=False)


_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_K_TANH = math.sqrt(2.0 / math.pi)  # constants of the tanh approximation
_C_TANH = 0.044715


class GELU(_Activation):
    """GELU(x) = x·Φ(x), Φ the standard normal CDF (Hendrycks & Gimpel).

    Exact (default, as PyTorch): Φ(x) = ½·erfc(−x/√2) (erfc keeps accuracy for x ≪ 0),
    GELU′(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).

    ``approximate="tanh"``: ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).
    """

    name = "gelu"
    hyperparameters = ("approximate",)

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = check_choice(approximate, "approximate", ("none", "tanh"))

    @_pure
    def f(x, approximate="none"):
        x = _float(x)
        if approximate == "tanh":
            xc = np.clip(x, -100.0, 100.0)  # tanh(u) is exactly ±1 beyond: avoids x³ overflow
            t = np.tanh(_K_TANH * (xc + _C_TANH * xc**3))
            return 0.5 * x * (1.0 + t)
        return x * (0.5 * erfc(-x / _SQRT_2))

    @_pure
    def df(x, approximate="none"):
        x = _float(x)
        xc = np.clip(x, -100.0, 100.0)  # φ(x) and 1 − tanh² are exactly 0 beyond ±100
        if approximate == "tanh":
            t = np.tanh(_K_TANH * (xc + _C_TANH * xc**3))
            du = _K_TANH * (1.0 + 3.0 * _C_TANH * xc * xc)
            return 0.5 * (1.0 + t) + 0.5 * xc * (1.0 - t * t) * du
        phi = _INV_SQRT_2PI * np.exp(-0.5 * xc * xc)
        return 0.5 * erfc(-x / _SQRT_2) + xc * phi


class Softplus(_Activation):
    """softplus(x) = log(1 + e^(βx))/β, and x where βx > threshold (as PyTorch).

    Its derivative is the sigmoid: softplus′(x) = σ(βx) (1 above the threshold).
    """

    name = "softplus"
    hyperparameters = ("beta", "threshold")

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = check_number(beta, "beta", low=0.0, low_open=True)
        self.threshold = check_number(threshold, "threshold")

    @_pure
    def f(x, beta=1.0, threshold=20.0):
        x = _float(x)
        z = beta * x
        zc = np.minimum(z, threshold)  # e^z only where it is used: no overflow
        return np.where(z > threshold, x, np.log1p(np.exp(zc)) / beta).astype(x.dtype, copy=False)

    @_pure
    def df(x, beta=1.0, threshold=20.0):
        x = _float(x)
        z = beta * x
        return np.where(z > threshold, 1.0, Sigmoid.f(z)).astype(x.dtype, copy=False)


#: registry name → class ("linear" is an alias of "identity").
ACTIVATIONS = {
    "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU,
    "gelu": GELU, "softplus": Softplus, "identity": Identity, "linear": Identity,
}


def get_activation(name, **kwargs) -> Module:
    """A new activation module from its name: ``get_activation("leaky_relu", negative_slope=0.2)``.

    ``name`` may also be an activation class (instantiated with ``kwargs``). Names are
    case-insensitive and ignore ``_``/``-`` ("LeakyReLU" works).
    """
    if isinstance(name, type) and issubclass(name, Module):
        return name(**kwargs)
    if not isinstance(name, str):
        raise TypeError(
            f"activation must be a name such as 'relu' (or an activation class); got "
            f"{type(name).__name__}."
        )
    key = name.lower().replace("-", "").replace("_", "")
    for reg_name, cls in ACTIVATIONS.items():
        if reg_name.replace("_", "") == key:
            return cls(**kwargs)
    listed = ", ".join(repr(k) for k in ACTIVATIONS)
    raise ValueError(f"unknown activation {name!r}; expected one of {listed}.")
