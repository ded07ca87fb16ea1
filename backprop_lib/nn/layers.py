"""The dense layer ``Linear`` (and ``Identity``), with explicit forward and backward passes.

Forward, for a batch ``x: (batch, in)`` and ``W: (out, in)``, ``b: (out,)``::

    y = x Wᵀ + b                                   (standard parameterization, as torch)
    y = (w_std / √in) · x Wᵀ + b_std · b           (NTK parameterization, W, b ~ N(0, 1))

Backward, given ``g = dL/dy: (batch, out)`` (the second of backprop's four equations in
batch form; the sums over the batch are the matrix products)::

    dL/dW = gᵀ x          (out, in)    × s in the NTK parameterization, s = w_std/√in
    dL/db = Σ_batch g     (out,)       × b_std in the NTK parameterization
    dL/dx = g W           (batch, in)  × s in the NTK parameterization
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import as_float_array, as_rng, check_choice, check_number, check_positive_int
from .init import init_linear_
from .module import Module, Parameter


def _check_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be np.float64 or np.float32; got {dt}. Use dtype=np.float64.")
    return dt


def _check_grad_out(module: Module, grad_out, expected_shape) -> np.ndarray:
    """``grad_out`` must be a float array shaped like the forward output."""
    name = f"{type(module).__name__}.backward grad_out"
    g = as_float_array(grad_out, name, allow_nonfinite=True)
    if g.shape != tuple(expected_shape):
        raise ValueError(
            f"{name} has shape {g.shape}; expected {tuple(expected_shape)}, the shape of the output "
            "of the last forward call. Pass dL/d(output) for that same batch."
        )
    return g


class Linear(Module):
    """Fully connected layer ``y = x Wᵀ + b``, weight shaped ``(out_features, in_features)``.

    Args:
        in_features, out_features: sizes of each input / output row.
        bias: learn an additive bias (``bias=None`` attribute when False).
        init: scheme name from ``bp.nn.init.INIT_SCHEMES`` (``"default"`` is PyTorch's
            U(±1/√in) for W and b; in the NTK parameterization it means N(0, 1)), or a
            function ``fn(weight_array, rng)`` filling the weight in place.
        seed: int, None or ``numpy.random.Generator`` for the initial values.
        dtype: ``np.float64`` (default) or ``np.float32``.
        parameterization: ``"standard"`` or ``"ntk"`` (see the module docstring).
        w_std, b_std: the NTK parameterization's weight and bias scales.
        init_std: std of ``init="normal"`` (default 1.0), value of ``init="constant"``.
        nonlinearity: activation name (or a gain) used by ``init="he"``; default ``"relu"``.

    Caches the input as ``self.x`` (``None`` before the first forward).
    """

    def __init__(self, in_features, out_features, bias=True, *, init="default", seed=None,
                 dtype=np.float64, parameterization="standard", w_std=1.0, b_std=0.0,
                 init_std=None, nonlinearity="relu"):
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False; got {bias!r}.")
        dt = _check_dtype(dtype)
        self.parameterization = check_choice(parameterization, "parameterization", ("standard", "ntk"))
        self.w_std = check_number(w_std, "w_std", low=0.0)
        self.b_std = check_number(b_std, "b_std", low=0.0)

        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dt))
        self.bias = Parameter(np.empty(self.out_features, dtype=dt)) if bias else None
        if self.parameterization == "ntk" and isinstance(init, str) and init.lower() == "default":
            # NTK parameterization: all parameters ~ N(0, 1); the scale lives in forward.
            rng = as_rng(seed)
            self.weight.data[...] = rng.standard_normal(self.weight.shape)
            if self.bias is not None:
                self.bias.data[...] = rng.standard_normal(self.bias.shape)
        else:
            init_linear_(self.weight, self.bias, init, nonlinearity=nonlinearity, std=init_std,
                         seed=seed)
        self.x = None

    # y = s·x Wᵀ + c·b, with s = c = 1 (standard) or s = w_std/√in, c = b_std (ntk)
    @property
    def weight_scale(self) -> float:
        """s in y = s·x Wᵀ + c·b (1 in the standard parameterization)."""
        if self.parameterization == "ntk":
            return self.w_std / math.sqrt(self.in_features)
        return 1.0

    @property
    def bias_scale(self) -> float:
        """c in y = s·x Wᵀ + c·b (1 in the standard parameterization)."""
        return self.b_std if self.parameterization == "ntk" else 1.0

    def forward(self, x):
        """x: (batch, in) → y: (batch, out)."""
        name = f"Linear({self.in_features}, {self.out_features}) input x"
        x = as_float_array(x, name, ndim=2)
        if x.shape[1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) got input with {x.shape[1]} features; "
                f"expected shape (batch, {self.in_features}). Check the previous layer's out_features "
                "or the data's number of columns."
            )
        self.x = x
        s = self.weight_scale
        y = x @ self.weight.data.T
        if s != 1.0:
            y *= s
        if self.bias is not None:
            c = self.bias_scale
            y += self.bias.data if c == 1.0 else c * self.bias.data
        return y

    can_skip_input_grad = True     # Sequential.backward(..., input_grad=False) may ask it to

    def backward(self, grad_out, *, input_grad: bool = True):
        """grad_out: (batch, out) = dL/dy. Adds dL/dW, dL/db; returns dL/dx: (batch, in).

        ``input_grad=False`` skips dL/dx (a first layer's input needs none) and returns None.
        """
        self._require_cache("x")
        g = _check_grad_out(self, grad_out, (self.x.shape[0], self.out_features))
        s = self.weight_scale
        dW = g.T @ self.x  # dL/dW = gᵀ x
        if s != 1.0:
            dW *= s
        self.weight.accumulate_grad(dW)
        if self.bias is not None:
            db = g.sum(axis=0)  # dL/db = Σ_batch g
            if self.bias_scale != 1.0:
                db = db * self.bias_scale
            self.bias.accumulate_grad(db)
        if not input_grad:
            return None
        dx = g @ self.weight.data  # dL/dx = g W
        return dx * s if s != 1.0 else dx

    def extra_repr(self) -> str:
        extra = ""
        if self.parameterization == "ntk":
            extra = f", parameterization='ntk', w_std={self.w_std}, b_std={self.b_std}"
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}{extra}")


class Identity(Module):
    """``y = x`` (a placeholder layer, and the "linear" activation). dL/dx = dL/dy.

    Caches ``self.x`` and ``self.out`` (the same array) like every activation.
    """

    name = "identity"  # activation registry name
    hyperparameters = ()

    @staticmethod
    def f(x):
        """f(x) = x."""
        return np.asarray(x)

    @staticmethod
    def df(x):
        """f′(x) = 1."""
        a = np.asarray(x)
        return np.ones(a.shape, dtype=a.dtype if a.dtype.kind == "f" else np.float64)

    def __init__(self):
        self.x = None
        self.out = None

    def forward(self, x):
        x = as_float_array(x, "Identity input x")
        self.x = self.out = x
        return x

    def backward(self, grad_out):
        self._require_cache("x")
        return _check_grad_out(self, grad_out, self.x.shape)
