"""Losses: ``MSELoss``, ``CrossEntropyLoss`` (logits + integer labels), ``BCEWithLogitsLoss``.

A loss is where backpropagation starts. ``loss_fn(out, y)`` returns the loss as a Python
float and caches what the gradient needs; ``loss_fn.backward()`` returns dL/d(out), shaped
like ``out``, ready for ``net.backward``. ``reduction="mean"`` (default, as PyTorch) averages
over all elements (over the batch for cross-entropy); ``"sum"`` adds them up.

``backward(grad_out=1.0)`` multiplies the gradient by ``grad_out`` (dTotal/dL), e.g. a
loss-scaling factor or the weight of this term in a sum of losses.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_choice, check_number
from .activations import Sigmoid
from .module import Module

__all__ = ["Loss", "MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss"]


class Loss(Module):
    """Base class: ``loss_fn(out, y) -> float``, then ``loss_fn.backward() -> dL/dout``.

    Losses have no parameters. The input of the last call is cached as ``self.out`` and
    the target as ``self.target``.
    """

    def __init__(self, reduction: str = "mean"):
        self.reduction = check_choice(reduction, "reduction", ("mean", "sum"))
        self.out = None
        self.target = None

    def __call__(self, out, y):
        return self.forward(out, y)

    def forward(self, out, y):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(out, y)")

    def _scale(self, grad_out, n: int) -> float:
        """grad_out / n for reduction="mean" (n = number of averaged terms), else grad_out."""
        s = check_number(grad_out, f"{type(self).__name__}.backward grad_out")
        return s / n if self.reduction == "mean" else s

    def _nonempty(self, out):
        if out.size == 0:
            raise ValueError(
                f"{type(self).__name__} got an empty batch (out has shape {out.shape}); a loss needs "
                "at least one example. Check the batch slicing."
            )
        return out

    def _reduce(self, per_element) -> float:
        return float(per_element.mean() if self.reduction == "mean" else per_element.sum())

    def _same_shape_target(self, out, y, out_name: str):
        """Float target with exactly the shape of ``out`` (no silent broadcasting)."""
        cls = type(self).__name__
        y = as_float_array(y, f"{cls} target y")
        if y.shape != out.shape:
            hint = ""
            if y.ndim == 1 and out.ndim == 2 and out.shape[1] == 1 and y.shape[0] == out.shape[0]:
                hint = " Reshape it with y.reshape(-1, 1)."
            raise ValueError(
                f"{cls} target y has shape {y.shape}; expected {out.shape}, the shape of the "
                f"{out_name}.{hint or ' Make y match it element for element.'}"
            )
        return y

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(Loss):
    """L = mean((out − y)²) over all elements;  dL/dout = 2(out − y)/N  (N = out.size)."""

    def forward(self, out, y):
        out = self._nonempty(as_float_array(out, "MSELoss prediction out"))
        y = self._same_shape_target(out, y, "prediction out")
        self.out, self.target = out, y
        self.diff = out - y
        return self._reduce(self.diff * self.diff)

    def backward(self, grad_out=1.0):
        self._require_cache("out")
        return (2.0 * self._scale(grad_out, self.diff.size)) * self.diff


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy from logits ``out: (batch, classes)`` and labels ``y: (batch,)``.

    Per example: ℓ = −log softmax(z)_y = logsumexp(z) − z_y, computed stably as
    logsumexp(z) = m + log(1 + Σ_{j≠argmax} exp(z_j − m)) with m = max(z) (log1p keeps
    the relative accuracy of small losses). Gradient: dℓ/dz = softmax(z) − onehot(y)
    (divided by the batch size for reduction="mean"). ``self.probs`` holds softmax(z).
    """

    def forward(self, out, y):
        out = self._nonempty(as_float_array(out, "CrossEntropyLoss logits out", ndim=2))
        labels = self._labels(out, y)
        rows = np.arange(out.shape[0])
        top = out.argmax(axis=1)
        z = out - out[rows, top][:, None]  # shift by the max: exp(z) ≤ 1, no overflow
        e = np.exp(z)
        e[rows, top] = 0.0  # the max's term, exp(0) = 1, is added exactly by log1p:
        logsumexp = np.log1p(e.sum(axis=1, keepdims=True))  # log Σ exp(z), accurate when ℓ ≪ 1
        log_probs = z - logsumexp  # log softmax
        self.out, self.target = out, labels
        self.probs = np.exp(log_probs)
        return self._reduce(-log_probs[rows, labels])

    def backward(self, grad_out=1.0):
        self._require_cache("out")
        g = self.probs.copy()
        g[np.arange(g.shape[0]), self.target] -= 1.0  # softmax − onehot
        g *= self._scale(grad_out, g.shape[0])
        return g

    @staticmethod
    def _labels(out, y):
        batch, classes = out.shape
        arr = np.asarray(y)
        if arr.dtype.kind not in "iu":
            if arr.shape == out.shape:
                raise TypeError(
                    "CrossEntropyLoss target y looks like one-hot/probability rows (shaped like the "
                    f"logits, {arr.shape}); expected integer class labels of shape ({batch},). "
                    "Convert with y.argmax(axis=1)."
                )
            raise TypeError(
                f"CrossEntropyLoss target y must hold integer class labels; got dtype {arr.dtype}. "
                "Convert with y.astype(np.int64)."
            )
        if arr.shape != (batch,):
            raise ValueError(
                f"CrossEntropyLoss target y has shape {arr.shape}; expected ({batch},): one integer "
                f"label per row of the logits {out.shape}. Use y.reshape(-1) if it is a column."
            )
        if arr.min() < 0 or arr.max() >= classes:
            raise ValueError(
                f"CrossEntropyLoss labels must lie in [0, {classes - 1}] for {classes} classes; got "
                f"values from {arr.min()} to {arr.max()}. Re-index the labels (e.g. with np.unique(y, "
                "return_inverse=True)) or give the last layer more outputs."
            )
        return arr


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy from logits ``x`` and float targets ``y ∈ [0, 1]`` of the same shape.

    ℓ = −[y log σ(x) + (1 − y) log(1 − σ(x))], computed stably as
    ℓ = max(x, 0) − x·y + log(1 + e^(−|x|)).   dℓ/dx = σ(x) − y.
    """

    def forward(self, out, y):
        x = self._nonempty(as_float_array(out, "BCEWithLogitsLoss logits out"))
        y = self._same_shape_target(x, y, "logits out")
        if y.min() < 0 or y.max() > 1:
            raise ValueError(
                f"BCEWithLogitsLoss targets must be probabilities in [0, 1]; got values from {y.min()} "
                f"to {y.max()}. For labels in {{-1, 1}} use (y + 1) / 2."
            )
        self.out, self.target = x, y
        return self._reduce(np.maximum(x, 0.0) - x * y + np.log1p(np.exp(-np.abs(x))))

    def backward(self, grad_out=1.0):
        self._require_cache("out")
        return (Sigmoid.f(self.out) - self.target) * self._scale(grad_out, self.out.size)
