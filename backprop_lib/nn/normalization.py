"""Normalization layers: ``BatchNorm1d`` (over the batch) and ``LayerNorm`` (over features).

Both standardize, then scale and shift with learnable ``weight`` (γ) and ``bias`` (β)::

    μ = mean(x),  σ² = mean((x - μ)²)          (biased variance, as PyTorch)
    x̂ = (x - μ) / sqrt(σ² + eps)
    y = γ · x̂ + β

BatchNorm1d takes the mean over the batch (one μ per feature); LayerNorm over the features
(one μ per example). The backward pass is the same formula in both cases. With N the
number of values averaged and dx̂ = γ · dy (so the Σ below run over those N values)::

    dβ = Σ_batch dy
    dγ = Σ_batch dy · x̂
    dx = (1/N) · (1/σ) · (N·dx̂ − Σ dx̂ − x̂ · Σ(dx̂ · x̂))

The last line is the "compact" batch-norm backward: the three terms come from x itself,
from μ (every x moves the mean) and from σ (every x moves the variance).
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validate import as_float_array, check_bool, check_number, check_positive_int
from .module import Module, Parameter


def _normalize_backward(dx_hat, x_hat, inv_std, axis):
    """dL/dx of x̂ = (x - μ)/σ, with μ and σ computed along ``axis`` (N values each).

    dx = (1/N) · (1/σ) · (N·dx̂ − Σ dx̂ − x̂ · Σ(dx̂ · x̂))
    """
    n = x_hat.shape[axis]
    sum_dx_hat = dx_hat.sum(axis=axis, keepdims=True)                    # Σ dx̂      (through μ)
    sum_dx_hat_x_hat = (dx_hat * x_hat).sum(axis=axis, keepdims=True)    # Σ dx̂·x̂   (through σ)
    return inv_std / n * (n * dx_hat - sum_dx_hat - x_hat * sum_dx_hat_x_hat)


def _check_dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be np.float64 or np.float32; got {dt}.")
    return dt


def _check_grad_out(grad_out, expected_shape, layer):
    grad_out = as_float_array(grad_out, "grad_out", allow_nonfinite=True)
    if grad_out.shape != expected_shape:
        raise ValueError(
            f"{layer}.backward got grad_out of shape {grad_out.shape}; expected {expected_shape}, "
            "the shape of the last forward output."
        )
    return grad_out


class BatchNorm1d(Module):
    """Batch normalization over the batch axis (PyTorch's ``nn.BatchNorm1d``).

    ``x: (batch, num_features)`` -> ``y: (batch, num_features)``.

    Training mode normalizes with the batch's own mean and (biased) variance and updates
    the running estimates::

        running_mean ← (1 − momentum) · running_mean + momentum · μ_batch
        running_var  ← (1 − momentum) · running_var  + momentum · σ²_batch · N/(N − 1)

    (the running variance is the unbiased estimate, exactly as PyTorch; ``momentum=None``
    gives the cumulative average with factor 1/num_batches_tracked). Evaluation mode
    normalizes with the running estimates, so the output of one example no longer depends
    on the rest of the batch. With ``track_running_stats=False`` there are no running
    estimates and batch statistics are used in both modes.

    ``running_mean``, ``running_var`` and ``num_batches_tracked`` are *buffers*: state that
    is not trained by gradients (listed in ``_buffers``).
    """

    _buffers = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=np.float64):
        self.num_features = check_positive_int(num_features, "BatchNorm1d num_features")
        self.eps = check_number(eps, "BatchNorm1d eps", low=0.0, low_open=True)
        if momentum is not None:
            momentum = check_number(momentum, "BatchNorm1d momentum", low=0.0, high=1.0)
        self.momentum = momentum
        self.affine = check_bool(affine, "BatchNorm1d affine")
        self.track_running_stats = check_bool(track_running_stats, "BatchNorm1d track_running_stats")
        dt = _check_dtype(dtype)
        c = self.num_features
        self.weight = Parameter(np.ones(c, dtype=dt)) if self.affine else None     # γ
        self.bias = Parameter(np.zeros(c, dtype=dt)) if self.affine else None      # β
        if self.track_running_stats:
            self.running_mean = np.zeros(c, dtype=dt)
            self.running_var = np.ones(c, dtype=dt)
            self.num_batches_tracked = 0
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        # caches for backward
        self.x_hat = None
        self.inv_std = None
        self.used_batch_stats = None

    def _check_input(self, x):
        x = as_float_array(x, "BatchNorm1d input x")
        if x.ndim != 2 or x.shape[1] != self.num_features:
            got = f"{x.shape[1]} features" if x.ndim == 2 else f"shape {x.shape}"
            raise ValueError(
                f"BatchNorm1d({self.num_features}) got input with {got}; expected shape "
                f"(batch, {self.num_features})."
                + (" Add a batch axis with x.reshape(1, -1)." if x.ndim == 1 else "")
            )
        return x

    def forward(self, x):
        x = self._check_input(x)
        use_batch_stats = self.training or not self.track_running_stats
        if use_batch_stats:
            n = x.shape[0]
            if n < 2:
                raise ValueError(
                    f"BatchNorm1d needs more than 1 example per batch to compute batch statistics; "
                    f"got input of shape {x.shape}. Use a batch of at least 2 in training mode, or "
                    "call .eval() to normalize with the running statistics."
                )
            mean = x.mean(axis=0)                                   # μ_batch
            var = x.var(axis=0)                                     # σ²_batch (biased)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var, n)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)                     # 1/σ
        x_hat = (x - mean) * inv_std                                # x̂ = (x − μ)/σ
        self.x_hat, self.inv_std, self.used_batch_stats = x_hat, inv_std, use_batch_stats
        if self.affine:
            return self.weight.data * x_hat + self.bias.data        # y = γ x̂ + β
        return x_hat

    def _update_running_stats(self, mean, var, n):
        self.num_batches_tracked += 1
        m = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        unbiased_var = var * n / (n - 1)
        # in place, so that anyone holding the arrays sees the update (as in PyTorch)
        self.running_mean *= 1 - m
        self.running_mean += m * mean
        self.running_var *= 1 - m
        self.running_var += m * unbiased_var

    def backward(self, grad_out):
        self._require_cache("x_hat", "inv_std")
        grad_out = _check_grad_out(grad_out, self.x_hat.shape, "BatchNorm1d")
        if self.affine:
            self.bias.accumulate_grad(grad_out.sum(axis=0))                  # dβ = Σ dy
            self.weight.accumulate_grad((grad_out * self.x_hat).sum(axis=0)) # dγ = Σ dy·x̂
            dx_hat = grad_out * self.weight.data                             # dx̂ = γ dy
        else:
            dx_hat = grad_out
        if self.used_batch_stats:
            # μ and σ depend on every example of the batch: the compact formula
            return _normalize_backward(dx_hat, self.x_hat, self.inv_std, axis=0)
        # eval mode: μ and σ are constants (the running estimates), so x̂ is affine in x
        return dx_hat * self.inv_std                                         # dx = dx̂ / σ

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """Layer normalization over the last dimension (PyTorch's ``nn.LayerNorm``).

    ``x: (..., normalized_shape)`` -> ``y`` of the same shape. Every example (every row) is
    standardized with its own mean and biased variance over its features; the statistics
    never mix examples, so training and evaluation mode behave the same.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=np.float64):
        if isinstance(normalized_shape, (tuple, list)):
            if len(normalized_shape) != 1:
                raise ValueError(
                    f"LayerNorm normalized_shape must be an int (the size of the last dimension); got "
                    f"{tuple(normalized_shape)}. This LayerNorm normalizes over the last dimension only: "
                    "reshape the input so that the normalized values lie on one axis."
                )
            normalized_shape = normalized_shape[0]
        if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
            normalized_shape = int(normalized_shape)
        self.normalized_shape = check_positive_int(normalized_shape, "LayerNorm normalized_shape")
        self.eps = check_number(eps, "LayerNorm eps", low=0.0, low_open=True)
        self.elementwise_affine = check_bool(elementwise_affine, "LayerNorm elementwise_affine")
        use_bias = check_bool(bias, "LayerNorm bias")
        dt = _check_dtype(dtype)
        d = self.normalized_shape
        self.weight = Parameter(np.ones(d, dtype=dt)) if self.elementwise_affine else None        # γ
        self.bias = Parameter(np.zeros(d, dtype=dt)) if self.elementwise_affine and use_bias else None  # β
        self.x_hat = None
        self.inv_std = None

    def forward(self, x):
        x = as_float_array(x, "LayerNorm input x")
        d = self.normalized_shape
        if x.ndim == 0 or x.shape[-1] != d:
            raise ValueError(
                f"LayerNorm({d}) got input of shape {x.shape}; expected the last dimension to be {d}, "
                f"e.g. shape (batch, {d})."
            )
        mean = x.mean(axis=-1, keepdims=True)                       # μ per example
        var = x.var(axis=-1, keepdims=True)                         # σ² per example (biased)
        self.inv_std = 1.0 / np.sqrt(var + self.eps)                # 1/σ
        self.x_hat = (x - mean) * self.inv_std                      # x̂ = (x − μ)/σ
        y = self.x_hat
        if self.weight is not None:
            y = self.weight.data * y                                # γ x̂
        if self.bias is not None:
            y = y + self.bias.data                                  # + β
        return y

    def backward(self, grad_out):
        self._require_cache("x_hat", "inv_std")
        grad_out = _check_grad_out(grad_out, self.x_hat.shape, "LayerNorm")
        leading = tuple(range(grad_out.ndim - 1))                   # every axis but the features
        if self.bias is not None:
            self.bias.accumulate_grad(grad_out.sum(axis=leading))                   # dβ = Σ dy
        if self.weight is not None:
            self.weight.accumulate_grad((grad_out * self.x_hat).sum(axis=leading))  # dγ = Σ dy·x̂
            dx_hat = grad_out * self.weight.data                                     # dx̂ = γ dy
        else:
            dx_hat = grad_out
        return _normalize_backward(dx_hat, self.x_hat, self.inv_std, axis=-1)

    def extra_repr(self) -> str:
        return f"({self.normalized_shape},), eps={self.eps}, elementwise_affine={self.elementwise_affine}"


__all__ = ["BatchNorm1d", "LayerNorm"]
