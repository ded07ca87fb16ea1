"""Bridge to PyTorch: copy networks both ways and compare gradients with autograd.

    tnet = bp.interop.to_torch(net)                       # same weights, same dtype, same mode
    net2 = bp.interop.from_torch(tnet)
    cmp = bp.interop.compare_gradients(net, loss_fn, x, y)
    print(cmp)

Importing this package does not import torch; the functions do, and say how to install it
(``pip install 'backprop_lib[course]'``) when it is missing.
"""

from .autograd_graph import BackwardGraph, backward_graph
from .compare import GradientComparison, GradientDifference, compare_gradients
from .hooks import ActivationHooks, activation_stats
from .torch_bridge import SUPPORTED_LAYERS, SUPPORTED_LOSSES, from_torch, import_torch, to_torch, torch_loss

__all__ = [
    "GradientComparison", "GradientDifference", "SUPPORTED_LAYERS", "SUPPORTED_LOSSES",
    "compare_gradients", "from_torch", "import_torch", "to_torch", "torch_loss",
]
__all__ += ["BackwardGraph", "backward_graph", "ActivationHooks", "activation_stats"]
