"""Dropout: randomly silence units during training (inverted dropout).

In training mode each element is kept with probability ``1 - p`` and the kept ones are
scaled by ``1 / (1 - p)``, so that the expected output equals the input::

    m_i ~ Bernoulli(1 - p)            (the keep mask, cached as ``self.mask``)
    y_i = m_i * x_i / (1 - p)         E[y_i] = x_i

In evaluation mode dropout is the identity (no scaling is needed at test time: that is
what "inverted" buys). The backward pass reuses the very same mask::

    dL/dx_i = m_i / (1 - p) * dL/dy_i
"""

from __future__ import annotations

from .._validate import as_float_array, as_rng, check_number
from .module import Module


class Dropout(Module):
    """Inverted dropout with drop probability ``p`` (PyTorch's ``nn.Dropout``).

    ``x: (batch, ...)`` -> ``y`` of the same shape.

    ``seed``: an int, a ``numpy.random.Generator`` or ``None``; the layer draws its masks
    from its own generator, so two layers built with the same seed drop the same units.
    """

    def __init__(self, p: float = 0.5, *, seed=None):
        p = check_number(p, "Dropout p")
        if p == 1:
            raise ValueError(
                "Dropout p must lie in [0, 1); got p=1. Dropping every unit leaves nothing, and "
                "the inverted-dropout scale 1/(1 - p) would divide by zero. Use p < 1 (e.g. 0.5)."
            )
        if not 0 <= p < 1:
            raise ValueError(
                f"Dropout p must lie in [0, 1); got p={p}. p is the probability of dropping a "
                "unit (0 keeps everything); use e.g. p=0.5."
            )
        self.p = p
        self.rng = as_rng(seed)
        self.mask = None        # boolean keep mask of the last training-mode forward pass
        self._identity = None   # True when the last forward was in eval mode

    def forward(self, x):
        x = as_float_array(x, "Dropout input x")
        if not self.training:
            self.mask, self._identity = None, True
            return x
        self._identity = False
        self.mask = self.rng.random(x.shape) >= self.p          # m_i ~ Bernoulli(1 - p)
        return x * self.mask / (1.0 - self.p)                   # y = m * x / (1 - p)

    def backward(self, grad_out):
        if self._identity:
            return as_float_array(grad_out, "grad_out", allow_nonfinite=True)
        self._require_cache("mask")
        grad_out = as_float_array(grad_out, "grad_out", allow_nonfinite=True)
        if grad_out.shape != self.mask.shape:
            raise ValueError(
                f"Dropout.backward got grad_out of shape {grad_out.shape}; expected "
                f"{self.mask.shape}, the shape of the last forward output."
            )
        return grad_out * self.mask / (1.0 - self.p)            # dL/dx = m / (1 - p) * dL/dy

    def extra_repr(self) -> str:
        return f"p={self.p}"


__all__ = ["Dropout"]

