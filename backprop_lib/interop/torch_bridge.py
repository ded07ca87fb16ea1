"""Copy networks between backprop_lib and PyTorch, weights and all.

    tnet = bp.interop.to_torch(net)          # a torch.nn.Module computing the same function
    net2 = bp.interop.from_torch(tnet)       # and back
    bp.interop.torch_loss(bp.nn.MSELoss())   # torch.nn.MSELoss(reduction="mean")

The two libraries use the same names, shapes and defaults (``Linear.weight`` is ``(out, in)`` in
both), so each layer maps to its namesake: Linear, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU,
Softplus, Identity, Dropout, BatchNorm1d (running statistics included), LayerNorm and Sequential.
``Residual(block)`` and the NTK-parameterized ``Linear`` have no ``torch.nn`` namesake; they map to
the small modules of ``bp.interop.torch_modules`` (``Residual`` and ``NTKLinear``).

Arrays are **copied**, never shared, and keep their dtype (float64 stays float64, float32 stays
float32). Each layer keeps its mode (``training`` / eval). PyTorch is imported only when one of
these functions runs; without it they raise an ``ImportError`` saying how to install it.
"""

from __future__ import annotations

import numpy as np

from ..nn.activations import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from ..nn.dropout import Dropout
from ..nn.layers import Identity, Linear
from ..nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from ..nn.module import Module, Sequential
from ..nn.normalization import BatchNorm1d, LayerNorm
from ..nn.residual import Residual

INSTALL_HINT = "pip install 'backprop_lib[course]'"

SUPPORTED_LAYERS = ("Sequential", "Linear", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU",
                    "Softplus", "Identity", "Dropout", "BatchNorm1d", "LayerNorm", "Residual")
SUPPORTED_LOSSES = ("MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss")

__all__ = ["SUPPORTED_LAYERS", "SUPPORTED_LOSSES", "from_torch", "import_torch", "to_torch", "torch_loss"]


def import_torch():
    """``import torch``, or an ImportError that says how to install the CPU build."""
    try:
        import torch
    except ImportError as err:                              # pragma: no cover - torch is installed in CI
        raise ImportError(
            f"bp.interop needs PyTorch, which is not installed. Install the course extras with "
            f"{INSTALL_HINT} (it pins the CPU build of torch)."
        ) from err
    return torch


def _torch_dtype(np_dtype):
    torch = import_torch()
    return {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}[np.dtype(np_dtype)]


def _tensor(array):
    """A torch copy of a NumPy array (same dtype)."""
    torch = import_torch()
    return torch.from_numpy(np.array(array, copy=True))


def _array(tensor, what: str) -> np.ndarray:
    """A NumPy copy of a torch tensor; only float32/float64 are supported by backprop_lib."""
    torch = import_torch()
    if tensor.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"{what} has dtype {tensor.dtype}; backprop_lib supports float32 and float64. "
            "Convert the module first, e.g. module.double()."
        )
    return tensor.detach().cpu().numpy().copy()


def _unsupported(obj, direction: str, supported) -> TypeError:
    return TypeError(
        f"{direction} cannot convert {type(obj).__module__}.{type(obj).__qualname__}: no equivalent layer. "
        f"Supported layers: {', '.join(supported)}."
    )


# ---------------------------------------------------------------------------------------------
# backprop_lib -> torch
# ---------------------------------------------------------------------------------------------
def _linear_to_torch(layer: Linear):
    torch = import_torch()
    from .torch_modules import NTKLinear

    dt = _torch_dtype(layer.weight.data.dtype)
    bias = layer.bias is not None
    if layer.parameterization == "ntk":
        mod = NTKLinear(layer.in_features, layer.out_features, bias, w_std=layer.w_std, b_std=layer.b_std,
                        dtype=dt)
    else:
        mod = torch.nn.Linear(layer.in_features, layer.out_features, bias=bias, dtype=dt)
    with torch.no_grad():
        mod.weight.copy_(_tensor(layer.weight.data))
        if bias:
            mod.bias.copy_(_tensor(layer.bias.data))
    return mod


def _batchnorm_to_torch(layer: BatchNorm1d):
    torch = import_torch()
    source = layer.weight.data if layer.affine else layer.running_mean
    dt = _torch_dtype(source.dtype if source is not None else np.float64)
    mod = torch.nn.BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum,
                               affine=layer.affine, track_running_stats=layer.track_running_stats, dtype=dt)
    with torch.no_grad():
        if layer.affine:
            mod.weight.copy_(_tensor(layer.weight.data))
            mod.bias.copy_(_tensor(layer.bias.data))
        if layer.track_running_stats:
            mod.running_mean.copy_(_tensor(layer.running_mean))
            mod.running_var.copy_(_tensor(layer.running_var))
            mod.num_batches_tracked.fill_(int(layer.num_batches_tracked))
    return mod


def _layernorm_to_torch(layer: LayerNorm):
    torch = import_torch()
    dt = _torch_dtype(layer.weight.data.dtype if layer.weight is not None else np.float64)
    mod = torch.nn.LayerNorm(layer.normalized_shape, eps=layer.eps,
                             elementwise_affine=layer.elementwise_affine,
                             bias=layer.bias is not None, dtype=dt)
    with torch.no_grad():
        if layer.weight is not None:
            mod.weight.copy_(_tensor(layer.weight.data))
        if layer.bias is not None:
            mod.bias.copy_(_tensor(layer.bias.data))
    return mod


def _to_torch(m: Module):
    torch = import_torch()
    nn = torch.nn
    from .torch_modules import Residual as TorchResidual

    if isinstance(m, Sequential):
        mod = nn.Sequential(*(_to_torch(layer) for layer in m.layers))
    elif isinstance(m, Linear):
        mod = _linear_to_torch(m)
    elif isinstance(m, Residual):
        mod = TorchResidual(_to_torch(m.block))
    elif isinstance(m, BatchNorm1d):
        mod = _batchnorm_to_torch(m)
    elif isinstance(m, LayerNorm):
        mod = _layernorm_to_torch(m)
    elif isinstance(m, Dropout):
        mod = nn.Dropout(m.p)
    elif isinstance(m, LeakyReLU):
        mod = nn.LeakyReLU(m.negative_slope)
    elif isinstance(m, ELU):
        mod = nn.ELU(m.alpha)
    elif isinstance(m, GELU):
        mod = nn.GELU(approximate=m.approximate)
    elif isinstance(m, Softplus):
        mod = nn.Softplus(beta=m.beta, threshold=m.threshold)
    elif isinstance(m, (Sigmoid, Tanh, ReLU, Identity)):
        simple = {Sigmoid: nn.Sigmoid, Tanh: nn.Tanh, ReLU: nn.ReLU, Identity: nn.Identity}
        mod = next(t() for b, t in simple.items() if isinstance(m, b))
    else:
        raise _unsupported(m, "to_torch", SUPPORTED_LAYERS)
    mod.training = bool(m.training)                         # this layer's own mode
    return mod


def to_torch(net: Module):
    """A ``torch.nn.Module`` computing the same function as ``net``, with copies of its weights.

    Layers map to their ``torch.nn`` namesakes (``Sequential`` to ``nn.Sequential``, so parameter
    names match: ``"0.weight"`` in both); ``Residual`` and NTK-parameterized ``Linear`` map to
    ``bp.interop.torch_modules``. Batch-norm running statistics, dtypes and train/eval modes
    are copied. An unsupported layer raises a ``TypeError`` that names it.
    """
    if not isinstance(net, Module):
        raise TypeError(f"net must be a backprop_lib Module (e.g. bp.nn.Sequential); "
                        f"got {type(net).__name__}.")
    import_torch()
    return _to_torch(net)


# ---------------------------------------------------------------------------------------------
# torch -> backprop_lib
# ---------------------------------------------------------------------------------------------
def _np_dtype(tensor):
    torch = import_torch()
    return {torch.float64: np.float64, torch.float32: np.float32}.get(tensor.dtype, np.float64)


def _linear_from_torch(mod, ntk: bool) -> Linear:
    dt = _np_dtype(mod.weight)
    kwargs = {"parameterization": "ntk", "w_std": mod.w_std, "b_std": mod.b_std} if ntk else {}
    layer = Linear(mod.in_features, mod.out_features, bias=mod.bias is not None, dtype=dt, seed=0, **kwargs)
    layer.weight.data[...] = _array(mod.weight, "Linear.weight")
    if mod.bias is not None:
        layer.bias.data[...] = _array(mod.bias, "Linear.bias")
    return layer


def _batchnorm_from_torch(mod) -> BatchNorm1d:
    source = mod.weight if mod.affine else mod.running_mean
    dt = _np_dtype(source) if source is not None else np.float64
    layer = BatchNorm1d(mod.num_features, eps=mod.eps, momentum=mod.momentum, affine=mod.affine,
                        track_running_stats=mod.track_running_stats, dtype=dt)
    if mod.affine:
        layer.weight.data[...] = _array(mod.weight, "BatchNorm1d.weight")
        layer.bias.data[...] = _array(mod.bias, "BatchNorm1d.bias")
    if mod.track_running_stats:
        layer.running_mean[...] = _array(mod.running_mean, "BatchNorm1d.running_mean")
        layer.running_var[...] = _array(mod.running_var, "BatchNorm1d.running_var")
        layer.num_batches_tracked = int(mod.num_batches_tracked.item())
    return layer


def _layernorm_from_torch(mod) -> LayerNorm:
    dt = _np_dtype(mod.weight) if mod.weight is not None else np.float64
    layer = LayerNorm(tuple(mod.normalized_shape), eps=mod.eps, elementwise_affine=mod.elementwise_affine,
                      bias=mod.bias is not None, dtype=dt)
    if mod.weight is not None:
        layer.weight.data[...] = _array(mod.weight, "LayerNorm.weight")
    if mod.bias is not None:
        layer.bias.data[...] = _array(mod.bias, "LayerNorm.bias")
    return layer


def _from_torch(mod) -> Module:
    torch = import_torch()
    nn = torch.nn
    from . import torch_modules as tm

    kind = type(mod)
    if kind is nn.Sequential:
        layer = Sequential(*(_from_torch(child) for child in mod))
    elif kind is nn.Linear:
        layer = _linear_from_torch(mod, ntk=False)
    elif kind is tm.NTKLinear:
        layer = _linear_from_torch(mod, ntk=True)
    elif kind is tm.Residual:
        layer = Residual(_from_torch(mod.block))
    elif kind is nn.BatchNorm1d:
        layer = _batchnorm_from_torch(mod)
    elif kind is nn.LayerNorm:
        layer = _layernorm_from_torch(mod)
    elif kind is nn.Dropout:
        layer = Dropout(mod.p)
    elif kind is nn.LeakyReLU:
        layer = LeakyReLU(mod.negative_slope)
    elif kind is nn.ELU:
        layer = ELU(mod.alpha)
    elif kind is nn.GELU:
        layer = GELU(approximate=mod.approximate)
    elif kind is nn.Softplus:
        layer = Softplus(beta=mod.beta, threshold=mod.threshold)
    elif kind in (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.Identity):
        layer = {nn.Sigmoid: Sigmoid, nn.Tanh: Tanh, nn.ReLU: ReLU, nn.Identity: Identity}[kind]()
    else:
        names = [f"torch.nn.{n}" for n in SUPPORTED_LAYERS if n != "Residual"]
        raise _unsupported(mod, "from_torch", names + ["bp.interop.torch_modules.Residual / NTKLinear"])
    layer.training = bool(mod.training)
    return layer


def from_torch(module) -> Module:
    """The backprop_lib equivalent of a ``torch.nn.Module`` built from the supported layers.

    Weights, batch-norm running statistics, dtypes and train/eval modes are copied. Any other
    layer (``nn.Conv2d``, ``nn.LSTM``, a custom module ...) raises a ``TypeError`` naming it and
    listing the supported ones.
    """
    torch = import_torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module; got {type(module).__name__}.")
    return _from_torch(module)


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------
def torch_loss(loss_fn):
    """The ``torch.nn`` loss matching a backprop_lib loss (same reduction).

    ``MSELoss`` -> ``nn.MSELoss``, ``CrossEntropyLoss`` -> ``nn.CrossEntropyLoss`` (logits and
    integer labels), ``BCEWithLogitsLoss`` -> ``nn.BCEWithLogitsLoss``.
    """
    torch = import_torch()
    nn = torch.nn
    for bp_cls, torch_cls in ((MSELoss, nn.MSELoss), (CrossEntropyLoss, nn.CrossEntropyLoss),
                              (BCEWithLogitsLoss, nn.BCEWithLogitsLoss)):
        if isinstance(loss_fn, bp_cls):
            return torch_cls(reduction=loss_fn.reduction)
    raise TypeError(
        f"torch_loss cannot convert {type(loss_fn).__name__}; supported losses: "
        f"{', '.join(SUPPORTED_LOSSES)} (from bp.nn)."
    )
