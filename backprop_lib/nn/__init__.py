"""Networks with explicit forward and backward passes (batch-first, float64 by default).

Each helper module adds its public names below.
"""

from . import attention, cost, init, residual_paths, stochastic_depth, timing  # bp.nn.cost.count_flops, ...
from .activations import ACTIVATIONS, ELU, GELU, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh, get_activation
from .attention import SelfAttention
from .builders import mlp
from .checkpoint import CheckpointedSequential, cached_bytes, checkpoint_sequential
from .deep import add_batch_norm, residual_mlp
from .dropout import Dropout
from .layers import Identity, Linear
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from .module import Module, Parameter, Sequential
from .normalization import BatchNorm1d, LayerNorm
from .residual import Residual
from .stochastic_depth import StochasticDepth

__all__ = ["Module", "Parameter", "Sequential"]
__all__ += ["BatchNorm1d", "CheckpointedSequential", "Dropout", "LayerNorm", "Residual", "cached_bytes",
            "checkpoint_sequential"]
__all__ += ["ACTIVATIONS", "BCEWithLogitsLoss", "CrossEntropyLoss", "ELU", "GELU", "Identity", "LeakyReLU",
            "Linear", "Loss", "MSELoss", "ReLU", "Sigmoid", "Softplus", "Tanh", "get_activation", "init",
            "mlp"]
__all__ += ["add_batch_norm", "residual_mlp"]
__all__ += ["cost", "timing"]
__all__ += ["SelfAttention", "StochasticDepth", "attention", "residual_paths", "stochastic_depth"]
