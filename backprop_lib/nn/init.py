"""Weight initialisation, with PyTorch's names and formulas (``torch.nn.init``).

Every function fills its argument **in place** and returns it. The argument is a
``Parameter`` (its ``.data`` is filled) or a float NumPy array. Randomness comes from
``seed=`` (an int, ``None`` for fresh entropy, or a ``numpy.random.Generator``); ``rng=``
is accepted as an alias for passing a Generator.

Names: the PyTorch spellings end in an underscore (``xavier_uniform_``: "modifies its
argument"); each also exists without it (``xavier_uniform``) because both spellings are
common in course material. They are the same function.

Formulas (fan_in = columns of a ``(out, in)`` weight, fan_out = rows):

==================  =================================================================
``uniform_``        U(a, b)
``normal_``         N(mean, std²)
``xavier_uniform_`` U(±gain·√(6 / (fan_in + fan_out)))   Var = gain²·2/(fan_in+fan_out)
``xavier_normal_``  N(0, gain²·2/(fan_in + fan_out))
``kaiming_uniform_`` U(±gain·√(3 / fan))                  Var = gain²/fan
``kaiming_normal_`` N(0, gain²/fan), fan = fan_in (mode="fan_in") or fan_out
``lecun_normal_``   N(0, 1/fan_in)                        (plain normal, not truncated)
``orthogonal_``     gain·Q, Q with orthonormal rows or columns (QR of a Gaussian matrix)
==================  =================================================================

``calculate_gain(nonlinearity)`` is ``torch.nn.init.calculate_gain``: 1 for linear/sigmoid,
5/3 for tanh, √2 for relu, √(2/(1+slope²)) for leaky_relu, 3/4 for selu.

The last part of this file is the *name registry* used by ``Linear(init=...)`` and
``mlp(init=...)``; see ``init_linear_`` and ``INIT_SCHEMES``.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import FLOAT_DTYPES, as_rng, check_choice, check_number
from .module import Parameter

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "lecun_normal_", "orthogonal_",
    "uniform", "normal", "constant", "zeros", "ones", "xavier_uniform", "xavier_normal",
    "kaiming_uniform", "kaiming_normal", "lecun_normal", "orthogonal",
    "INIT_SCHEMES", "init_linear_", "gain_for_activation",
]


# -- helpers -----------------------------------------------------------------------------
def _target(tensor, fn_name: str) -> np.ndarray:
    """The float array to fill: ``tensor.data`` for a Parameter, else the array itself."""
    arr = tensor.data if isinstance(tensor, Parameter) else tensor
    if not isinstance(arr, np.ndarray):
        raise TypeError(
            f"{fn_name}(tensor) needs a Parameter or a NumPy float array to fill in place; got "
            f"{type(tensor).__name__}. Create one first, e.g. np.empty((out, in))."
        )
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{fn_name}(tensor) needs a float32 or float64 array; got dtype {arr.dtype}. "
            "Create it with dtype=np.float64."
        )
    return arr


def _fill(tensor, values, fn_name: str):
    arr = _target(tensor, fn_name)
    arr[...] = values  # in place, cast to the array's dtype
    return tensor


def _rng(seed, rng) -> np.random.Generator:
    if rng is not None and seed is not None:
        raise ValueError("pass either seed= or rng= (they mean the same thing), not both.")
    return as_rng(rng if rng is not None else seed, "rng" if rng is not None else "seed")


def _fans(tensor, fn_name: str) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shaped like torch's: (out, in, *kernel)."""
    arr = _target(tensor, fn_name)
    if arr.ndim < 2:
        raise ValueError(
            f"{fn_name} needs a weight with at least 2 dimensions (out, in) to compute fan_in and "
            f"fan_out; got shape {arr.shape}. For a bias use uniform_/normal_/zeros_."
        )
    receptive = int(np.prod(arr.shape[2:])) if arr.ndim > 2 else 1
    return arr.shape[1] * receptive, arr.shape[0] * receptive


def _fan(tensor, mode: str, fn_name: str) -> int:
    mode = check_choice(mode, "mode", ("fan_in", "fan_out"))
    fan_in, fan_out = _fans(tensor, fn_name)
    return fan_in if mode == "fan_in" else fan_out


# -- gains -----------------------------------------------------------------------------------
_LINEAR_LIKE = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                "conv_transpose2d", "conv_transpose3d", "sigmoid")
_GAIN_NAMES = _LINEAR_LIKE + ("tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended scale for a nonlinearity (``torch.nn.init.calculate_gain``).

    It keeps the variance of activations roughly constant through a layer:
    relu halves the second moment, so its gain is √2; tanh's 5/3 is an empirical choice.
    ``param`` is the negative slope for ``"leaky_relu"`` (default 0.01).
    """
    name = check_choice(nonlinearity, "nonlinearity", _GAIN_NAMES)
    if name in _LINEAR_LIKE:
        return 1.0
    if name == "tanh":
        return 5.0 / 3.0
    if name == "relu":
        return math.sqrt(2.0)
    if name == "selu":
        return 3.0 / 4.0
    # leaky_relu: √(2 / (1 + slope²))
    slope = 0.01 if param is None else check_number(param, "param (negative slope)")
    return math.sqrt(2.0 / (1.0 + slope**2))


def gain_for_activation(name: str, param=None) -> float:
    """``calculate_gain`` extended to every activation of ``bp.nn``.

    ELU, GELU and Softplus have no gain in PyTorch; they behave like ReLU for large inputs,
    so they get ReLU's √2 here (an approximation, stated in ``mlp``'s docstring).
    """
    key = name.lower() if isinstance(name, str) else name
    if key in ("elu", "gelu", "softplus"):
        return math.sqrt(2.0)
    return calculate_gain(name, param)


# -- the torch.nn.init functions -------------------------------------------------------------
def uniform_(tensor, a: float = 0.0, b: float = 1.0, *, seed=None, rng=None):
    """Fill with U(a, b)."""
    a, b = check_number(a, "a"), check_number(b, "b")
    if not a < b:
        raise ValueError(f"uniform_ needs a < b; got a={a}, b={b}.")
    arr = _target(tensor, "uniform_")
    return _fill(tensor, _rng(seed, rng).uniform(a, b, size=arr.shape), "uniform_")


def normal_(tensor, mean: float = 0.0, std: float = 1.0, *, seed=None, rng=None):
    """Fill with N(mean, std²)."""
    mean, std = check_number(mean, "mean"), check_number(std, "std", low=0.0)
    arr = _target(tensor, "normal_")
    return _fill(tensor, _rng(seed, rng).normal(mean, std, size=arr.shape), "normal_")


def constant_(tensor, val: float):
    """Fill with the value ``val`` (every unit identical: the symmetry problem)."""
    return _fill(tensor, check_number(val, "val"), "constant_")


def zeros_(tensor):
    """Fill with 0."""
    return _fill(tensor, 0.0, "zeros_")


def ones_(tensor):
    """Fill with 1."""
    return _fill(tensor, 1.0, "ones_")


def xavier_uniform_(tensor, gain: float = 1.0, *, seed=None, rng=None):
    """Glorot & Bengio (2010): U(±a), a = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    a = check_number(gain, "gain", low=0.0) * math.sqrt(6.0 / (fan_in + fan_out))
    arr = _target(tensor, "xavier_uniform_")
    return _fill(tensor, _rng(seed, rng).uniform(-a, a, size=arr.shape), "xavier_uniform_")


def xavier_normal_(tensor, gain: float = 1.0, *, seed=None, rng=None):
    """Glorot & Bengio (2010): N(0, std²), std = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    std = check_number(gain, "gain", low=0.0) * math.sqrt(2.0 / (fan_in + fan_out))
    arr = _target(tensor, "xavier_normal_")
    return _fill(tensor, _rng(seed, rng).normal(0.0, std, size=arr.shape), "xavier_normal_")


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     *, seed=None, rng=None):
    """He et al. (2015): U(±bound), bound = gain·√(3 / fan); ``a`` is leaky_relu's slope.

    With the defaults (a=0, leaky_relu) the gain is √2, i.e. Var = 2 / fan_in.
    ``torch.nn.Linear`` uses ``a=√5``, which gives bound = 1/√fan_in.
    """
    fan = _fan(tensor, mode, "kaiming_uniform_")
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    arr = _target(tensor, "kaiming_uniform_")
    return _fill(tensor, _rng(seed, rng).uniform(-bound, bound, size=arr.shape), "kaiming_uniform_")


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    *, seed=None, rng=None):
    """He et al. (2015): N(0, std²), std = gain / √fan (√(2/fan_in) for ReLU)."""
    fan = _fan(tensor, mode, "kaiming_normal_")
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    arr = _target(tensor, "kaiming_normal_")
    return _fill(tensor, _rng(seed, rng).normal(0.0, std, size=arr.shape), "kaiming_normal_")


def lecun_normal_(tensor, *, seed=None, rng=None):
    """LeCun et al. (1998): N(0, 1/fan_in). (Not in torch.nn.init; JAX truncates, we do not.)"""
    fan_in, _ = _fans(tensor, "lecun_normal_")
    arr = _target(tensor, "lecun_normal_")
    return _fill(tensor, _rng(seed, rng).normal(0.0, 1.0 / math.sqrt(fan_in), size=arr.shape),
                 "lecun_normal_")


def orthogonal_(tensor, gain: float = 1.0, *, seed=None, rng=None):
    """Saxe et al. (2013): gain·Q with Q (semi-)orthogonal, as ``torch.nn.init.orthogonal_``.

    The weight is viewed as a (rows, cols) matrix. A Gaussian matrix is QR-factorised and
    the signs of Q's columns fixed by R's diagonal, which makes Q uniformly distributed
    (Haar). Then WᵀW = gain²·I if rows ≥ cols, else WWᵀ = gain²·I.
    """
    arr = _target(tensor, "orthogonal_")
    if arr.ndim < 2:
        raise ValueError(
            f"orthogonal_ needs a weight with at least 2 dimensions; got shape {arr.shape}."
        )
    gain = check_number(gain, "gain")
    rows = arr.shape[0]
    cols = arr.size // rows
    flat = _rng(seed, rng).normal(size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)  # Q·diag(sign(diag R)): unique, Haar-distributed
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(arr.shape), "orthogonal_")


# Plain (no underscore) spellings: the same functions.
uniform, normal, constant, zeros, ones = uniform_, normal_, constant_, zeros_, ones_
xavier_uniform, xavier_normal = xavier_uniform_, xavier_normal_
kaiming_uniform, kaiming_normal = kaiming_uniform_, kaiming_normal_
lecun_normal, orthogonal = lecun_normal_, orthogonal_


# -- the name registry used by Linear(init=...) and mlp(init=...) ----------------------------
#: name → one-line description (aliases share a line). Biases are zero except for "default".
INIT_SCHEMES = {
    "default": "PyTorch's nn.Linear: W and b ~ U(±1/√fan_in) (kaiming_uniform_ with a=√5)",
    "xavier": "xavier_uniform_ (gain 1); alias 'glorot'",
    "glorot": "xavier_uniform_ (gain 1); alias of 'xavier'",
    "xavier_uniform": "xavier_uniform_ (gain 1)",
    "xavier_normal": "xavier_normal_ (gain 1)",
    "he": "kaiming_normal_, mode fan_in, gain of the nonlinearity (ReLU's √2 by default); alias 'kaiming'",
    "kaiming": "kaiming_normal_, mode fan_in; alias of 'he'",
    "he_normal": "kaiming_normal_; alias of 'he'",
    "he_uniform": "kaiming_uniform_, mode fan_in, gain of the nonlinearity",
    "kaiming_uniform": "kaiming_uniform_; alias of 'he_uniform'",
    "lecun": "lecun_normal_: N(0, 1/fan_in); alias 'lecun_normal'",
    "lecun_normal": "lecun_normal_",
    "orthogonal": "orthogonal_ (gain 1)",
    "normal": "normal_ with std=init_std (default 1.0)",
    "zeros": "all zeros (nothing breaks the symmetry: a teaching counter-example)",
    "constant": "every weight = init_std (required)",
}


def init_linear_(weight, bias=None, scheme: str = "default", *, nonlinearity: str = "relu",
                 std=None, seed=None, rng=None):
    """Initialise a dense layer's ``weight`` (out, in) and ``bias`` (out,) by scheme name.

    ``scheme``: a key of ``INIT_SCHEMES``, or a callable ``fn(weight_array, rng)`` that
    fills the weight array in place. ``nonlinearity`` (an activation name, or the gain
    itself as a number) picks the gain of ``"he"``/``"he_uniform"`` (see
    ``gain_for_activation``). ``std`` is the standard deviation of
    ``"normal"`` and the value of ``"constant"``. Returns ``(weight, bias)``.
    """
    gen = _rng(seed, rng)
    if callable(scheme):
        scheme(_target(weight, "init"), gen)
        if bias is not None:
            zeros_(bias)
        return weight, bias
    if not isinstance(scheme, str) or scheme.lower() not in INIT_SCHEMES:
        listed = ", ".join(repr(k) for k in INIT_SCHEMES)
        raise ValueError(
            f"unknown init {scheme!r}; expected one of {listed} "
            "(or a function fn(weight, rng) that fills the weight in place)."
        )
    name = scheme.lower()
    fan_in, _ = _fans(weight, f"init {name!r}")
    if name == "default":
        bound = 1.0 / math.sqrt(fan_in)
        kaiming_uniform_(weight, a=math.sqrt(5.0), rng=gen)  # = U(±1/√fan_in)
        if bias is not None:
            uniform_(bias, -bound, bound, rng=gen)
        return weight, bias
    if name in ("xavier", "glorot", "xavier_uniform"):
        xavier_uniform_(weight, rng=gen)
    elif name == "xavier_normal":
        xavier_normal_(weight, rng=gen)
    elif name in ("he", "kaiming", "he_normal", "he_uniform", "kaiming_uniform"):
        # kaiming_*_ with gain g: std = g/√fan_in. Written via the gain so that every
        # activation of bp.nn (not only torch's list) has one.
        gain = (check_number(nonlinearity, "nonlinearity (gain)", low=0.0)
                if not isinstance(nonlinearity, str) else gain_for_activation(nonlinearity))
        std_he = gain / math.sqrt(fan_in)
        if name in ("he_uniform", "kaiming_uniform"):
            b = math.sqrt(3.0) * std_he  # U(±√3·std) has standard deviation std
            uniform_(weight, -b, b, rng=gen)
        else:
            normal_(weight, 0.0, std_he, rng=gen)
    elif name in ("lecun", "lecun_normal"):
        lecun_normal_(weight, rng=gen)
    elif name == "orthogonal":
        orthogonal_(weight, rng=gen)
    elif name == "normal":
        normal_(weight, 0.0, 1.0 if std is None else check_number(std, "init_std", low=0.0), rng=gen)
    elif name == "zeros":
        zeros_(weight)
    elif name == "constant":
        if std is None:
            raise ValueError("init='constant' needs the value: pass init_std=<value> (e.g. init_std=0.5).")
        constant_(weight, check_number(std, "init_std"))
    if bias is not None:
        zeros_(bias)
    return weight, bias
