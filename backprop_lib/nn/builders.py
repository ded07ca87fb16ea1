"""``mlp``: build a multilayer perceptron ``Sequential`` from a list of layer sizes."""

from __future__ import annotations

import copy
import numbers

import numpy as np

from .._validate import as_rng
from .activations import get_activation
from .init import gain_for_activation
from .layers import Linear
from .module import Module, Sequential

__all__ = ["mlp"]


def _check_sizes(sizes) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(
            f"sizes must be a list of layer widths such as [2, 16, 16, 1]; got {type(sizes).__name__}."
        )
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"sizes must list at least 2 widths (input and output), e.g. [2, 16, 1]; got {sizes}."
        )
    for i, n in enumerate(sizes):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
            raise TypeError(f"sizes[{i}] must be a positive integer; got {n!r} ({type(n).__name__}).")
        if n < 1:
            raise ValueError(f"sizes[{i}] must be a positive integer (>= 1); got {n} in sizes={sizes}.")
    return [int(n) for n in sizes]


def _activation_factory(activation, arg_name: str):
    """A function returning a *new* activation module each call (each caches its own input)."""
    if isinstance(activation, Module):
        return lambda: copy.deepcopy(activation)
    if isinstance(activation, str) or (isinstance(activation, type) and issubclass(activation, Module)):
        get_activation(activation)  # fail now, with the list of names, if unknown
        return lambda: get_activation(activation)
    raise TypeError(
        f"{arg_name} must be an activation name such as 'relu', an activation class or module; "
        f"got {type(activation).__name__}."
    )


def _gain(act: Module) -> float:
    """The gain of ``init="he"`` for this activation (``bp.nn.init.gain_for_activation``)."""
    name = getattr(act, "name", "")
    if not name:
        return gain_for_activation("relu")
    return gain_for_activation(name, getattr(act, "negative_slope", None))


def mlp(sizes, activation="relu", init="default", seed=0, dtype=np.float64, bias=True,
        output_activation=None, parameterization="standard", w_std=1.0, b_std=0.0, init_std=None):
    """``Sequential(Linear, act, Linear, act, …, Linear[, output_activation])``.

    ``mlp([2, 16, 16, 1], activation="tanh", init="xavier", seed=0)`` has two hidden layers
    of 16 units. Arguments:

    * ``sizes``: widths ``[in, hidden…, out]`` (at least 2 positive ints);
    * ``activation``: name (see ``bp.nn.ACTIVATIONS``), class or module (copied per layer);
    * ``init``: a name of ``bp.nn.init.INIT_SCHEMES`` or ``fn(weight, rng)``, for every
      Linear. ``"he"`` uses the gain of ``activation`` (ReLU's √2 for ELU/GELU/Softplus,
      which PyTorch gives no gain); ``init_std`` is the std of ``"normal"`` or the value
      of ``"constant"``;
    * ``seed``: int or ``numpy.random.Generator``. The same seed gives the same network:
      each layer draws from its own seed derived from it;
    * ``parameterization``, ``w_std``, ``b_std``: passed to every ``Linear`` (``"ntk"`` is the
      NTK parameterization used by ``bp.ntk``);
    * ``output_activation``: ``None`` (default: raw outputs, what the losses expect) or an
      activation applied after the last Linear.
    """
    sizes = _check_sizes(sizes)
    make_act = _activation_factory(activation, "activation")
    make_out = (None if output_activation is None
                else _activation_factory(output_activation, "output_activation"))
    gain = _gain(make_act())
    root = as_rng(seed)
    layer_seeds = root.integers(0, 2**63 - 1, size=len(sizes) - 1)

    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Linear(n_in, n_out, bias, init=init, seed=int(layer_seeds[i]), dtype=dtype,
                             parameterization=parameterization, w_std=w_std, b_std=b_std,
                             init_std=init_std, nonlinearity=gain))
        if i < len(sizes) - 2:
            layers.append(make_act())
    if make_out is not None:
        layers.append(make_out())
    return Sequential(*layers)
