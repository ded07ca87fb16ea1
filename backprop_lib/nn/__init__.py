"""Networks with explicit forward and backward passes (batch-first, float64 by default).

Each helper module adds its public names below.
"""

from .module import Module, Parameter, Sequential

__all__ = ["Module", "Parameter", "Sequential"]
