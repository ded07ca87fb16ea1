"""Two small PyTorch modules for layers that ``torch.nn`` does not have.

* ``Residual(block)``: ``y = x + block(x)`` (bp.nn.Residual).
* ``NTKLinear(in, out)``: the dense layer in the NTK parameterization (bp.nn.Linear with
  ``parameterization="ntk"``), ``y = (w_std / √in) · x Wᵀ + b_std · b``.

This file imports torch at the top; ``bp.interop`` imports it only when a bridge function runs.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Residual(nn.Module):
    """``y = x + block(x)``, the skip connection (autograd adds the identity path's gradient)."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, x):
        return x + self.block(x)


class NTKLinear(nn.Module):
    """Dense layer in the NTK parameterization: ``y = (w_std / √in) · x Wᵀ + b_std · b``.

    ``weight: (out, in)`` and ``bias: (out,)`` hold the raw N(0, 1) parameters; the scales live
    in the forward pass, so gradient descent on them is the NTK-parameterized dynamics.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 w_std: float = 1.0, b_std: float = 0.0, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.w_std, self.b_std = float(w_std), float(b_std)
        self.weight = nn.Parameter(torch.randn(out_features, in_features, dtype=dtype))
        self.bias = nn.Parameter(torch.randn(out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        y = (self.w_std / math.sqrt(self.in_features)) * (x @ self.weight.T)   # (w_std/√in) x Wᵀ
        if self.bias is not None:
            y = y + self.b_std * self.bias                                       # + b_std · b
        return y

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, w_std={self.w_std}, b_std={self.b_std}")


__all__ = ["NTKLinear", "Residual"]
