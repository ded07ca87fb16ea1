"""Residual connection: ``y = x + block(x)`` (the skip connection of ResNets).

By the chain rule the gradient reaching ``x`` has two paths, the identity and the block::

    dL/dx = dL/dy + block.backward(dL/dy)      (i.e. (I + J_block)ᵀ · dL/dy)

The identity term carries the gradient back unchanged however small the block's Jacobian
is: this is why deep residual networks do not suffer from vanishing gradients.
"""

from __future__ import annotations

from .._validate import as_float_array
from .module import Module


class Residual(Module):
    """``Residual(block)(x) = x + block(x)``; ``block`` must keep the shape of ``x``.

    ``x: (batch, features)`` -> ``y: (batch, features)``. The parameters are the block's
    (found through the ``block`` attribute, named ``"block.weight"`` and so on).
    """

    def __init__(self, block: Module):
        if not isinstance(block, Module):
            raise TypeError(
                f"Residual(block) needs a Module as block (e.g. Sequential(Linear(8, 8), ReLU())); "
                f"got {type(block).__name__}."
            )
        self.block = block
        self.input_shape = None     # shape of the last input (nothing else is needed backward)

    def forward(self, x):
        x = as_float_array(x, "Residual input x")
        fx = self.block(x)
        if fx.shape != x.shape:
            raise ValueError(
                f"Residual: the block maps input of shape {x.shape} to output of shape {fx.shape}; "
                "x + block(x) needs both shapes equal. Make the block return as many features as it "
                "receives (e.g. Linear(d, h), ReLU(), Linear(h, d))."
            )
        self.input_shape = x.shape
        return x + fx                                       # y = x + F(x)

    def backward(self, grad_out):
        self._require_cache("input_shape")
        grad_out = as_float_array(grad_out, "grad_out", allow_nonfinite=True)
        if grad_out.shape != self.input_shape:
            raise ValueError(
                f"Residual.backward got grad_out of shape {grad_out.shape}; expected "
                f"{self.input_shape}, the shape of the last forward output."
            )
        return grad_out + self.block.backward(grad_out)     # dL/dx = g + J_Fᵀ g

    def __repr__(self):
        return "Residual(\n  " + repr(self.block).replace("\n", "\n  ") + "\n)"


__all__ = ["Residual"]
