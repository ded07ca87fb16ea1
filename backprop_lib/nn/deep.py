"""Deep networks with the architectural remedies of notebook 13: residual blocks and batch norm.

    net = bp.nn.residual_mlp(128, 50, activation="sigmoid", init="xavier", zero_init_residual=True)
    plain = bp.nn.residual_mlp(128, 50, activation="sigmoid", init="xavier", skip=False)
    normed = bp.nn.add_batch_norm(bp.nn.mlp([128] * 20 + [10], activation="tanh", init="xavier"))

A residual block computes ``x + F(x)``, so backprop gives ``δ_in = (I + J_F)ᵀ δ_out``: the
identity carries the error back unchanged however small the branch's Jacobian ``J_F`` is.
Batch norm between a Linear and its activation standardizes the Linear's output over the
batch, so the layer no longer depends on the scale of its weights.
"""

from __future__ import annotations

import copy

import numpy as np

from .._validate import as_rng, check_bool, check_positive_int
from .activations import ACTIVATIONS
from .builders import _activation_factory, _gain
from .layers import Linear
from .module import Module, Sequential
from .normalization import BatchNorm1d
from .residual import Residual

__all__ = ["add_batch_norm", "residual_mlp"]

_ACTIVATION_CLASSES = tuple(set(ACTIVATIONS.values()))


def residual_mlp(width, blocks, *, activation="relu", init="he", init_std=None, branch_layers=2,
                 zero_init_residual=False, skip=True, n_out=10, seed=0, dtype=np.float64) -> Sequential:
    """``blocks`` residual blocks on ``width`` features, then a Linear read-out to ``n_out``.

    ``x: (batch, width)`` -> ``(batch, n_out)``. Block k maps x ↦ x + F_k(x), with the branch

    * ``branch_layers=2`` (default): F(x) = Linear(act(Linear(x))), the MLP form of a ResNet block;
    * ``branch_layers=1``: F(x) = act(Linear(x)).

    ``activation``: a name, class or module, as in ``bp.nn.mlp`` (a new module per block);
    ``init``/``init_std``: for every Linear, as in ``bp.nn.mlp`` ("he" uses the activation's gain).
    ``zero_init_residual``: the branch's last Linear starts with W = 0 and b = 0, so J_F = 0 and every
        block passes the error back unchanged (torchvision's ResNet option of the same name zeroes the
        branch's last batch-norm scale, to the same effect). With two layers the block then also
        starts as the identity map.
    ``skip=False``: the same layers and weights without the identity paths (x ↦ F(x)): the plain
        network to compare with. Each block is then a ``Sequential``.
    ``seed``: each Linear draws from its own seed derived from it (as ``bp.nn.mlp``).
    """
    width = check_positive_int(width, "width")
    blocks = check_positive_int(blocks, "blocks")
    n_out = check_positive_int(n_out, "n_out")
    if branch_layers not in (1, 2) or isinstance(branch_layers, bool):
        raise ValueError(f"branch_layers must be 1 (F = act(Linear x)) or 2 (F = Linear act Linear x); "
                         f"got {branch_layers!r}.")
    zero_init_residual = check_bool(zero_init_residual, "zero_init_residual")
    skip = check_bool(skip, "skip")
    make_act = _activation_factory(activation, "activation")
    gain = _gain(make_act())
    seeds = iter(as_rng(seed).integers(0, 2**63 - 1, size=blocks * branch_layers + 1))

    def linear(n_in, n_o, zero=False):
        layer = Linear(n_in, n_o, init=init, seed=int(next(seeds)), init_std=init_std, nonlinearity=gain,
                       dtype=dtype)
        if zero:
            layer.weight.data[...] = 0.0
            layer.bias.data[...] = 0.0
        return layer

    layers = []
    for _ in range(blocks):
        if branch_layers == 1:
            branch = [linear(width, width, zero_init_residual), make_act()]
        else:
            branch = [linear(width, width), make_act(), linear(width, width, zero_init_residual)]
        layers.append(Residual(Sequential(*branch)) if skip else Sequential(*branch))
    layers.append(linear(width, n_out))
    return Sequential(*layers)


def _insert_batch_norm(module: Module) -> int:
    """Put a BatchNorm1d after every Linear that an activation follows, in place; count them."""
    if isinstance(module, Residual):
        return _insert_batch_norm(module.block)
    if not isinstance(module, Sequential):
        return 0
    layers, added = [], 0
    for i, layer in enumerate(module.layers):
        added += _insert_batch_norm(layer)
        layers.append(layer)
        following = module.layers[i + 1] if i + 1 < len(module.layers) else None
        if isinstance(layer, Linear) and isinstance(following, _ACTIVATION_CLASSES):
            layers.append(BatchNorm1d(layer.out_features, dtype=layer.weight.data.dtype))
            added += 1
    module.layers = layers
    return added


def add_batch_norm(net: Sequential) -> Sequential:
    """A copy of ``net`` with a ``BatchNorm1d`` between every Linear and the activation right after it.

    ``Linear → act`` becomes ``Linear → BatchNorm1d → act`` (the placement of ResNets and of the
    ``relu(bn(conv(x)))`` ConvNet), inside residual blocks too. A Linear with no activation after it
    (the read-out) is left alone. The new layers start as PyTorch's (γ = 1, β = 0, running mean 0,
    running variance 1). ``net`` itself is not changed: its weights are copied.
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"add_batch_norm needs a bp.nn.Sequential (e.g. bp.nn.mlp([...])); "
                        f"got {type(net).__name__}.")
    new = copy.deepcopy(net)
    if _insert_batch_norm(new) == 0:
        raise ValueError("add_batch_norm found no Linear followed by an activation, so there is nowhere to "
                         "put batch norm; build the network with activations, e.g. "
                         "bp.nn.mlp([2, 16, 1], activation='relu').")
    return new
