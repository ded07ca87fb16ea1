"""Networks with explicit forward and backward passes (batch-first, float64 by default).

Each helper module adds its public names below.
"""

from .checkpoint import CheckpointedSequential, cached_bytes, checkpoint_sequential
from .dropout import Dropout
from .module import Module, Parameter, Sequential
from .normalization import BatchNorm1d, LayerNorm
from .residual import Residual

__all__ = ["Module", "Parameter", "Sequential"]
__all__ += ["BatchNorm1d", "CheckpointedSequential", "Dropout", "LayerNorm", "Residual", "cached_bytes",
            "checkpoint_sequential"]
