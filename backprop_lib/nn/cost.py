"""The cost of backprop, counted: arithmetic (FLOPs) and stored activations.

Arithmetic of one ``Linear(n_in, n_out)`` on a batch of B rows (one multiply-add = 2 FLOPs)::

    forward   y = x Wᵀ + b        2·B·n_in·n_out  +  B·n_out          (products, bias adds)
    backward  dW = gᵀ x           2·B·n_in·n_out
              dx = g W            2·B·n_in·n_out     (skipped for the network's input)
              db = Σ_batch g      B·n_out

so the backward pass of a layer costs about twice its forward pass, and a whole network
about 2BW forward and 4BW backward for W parameters. Elementwise activations cost O(B·n),
negligible next to O(B·n_in·n_out); they are not counted.

Stored activations, counted in arrays of one layer's output shape. A layer that caches c new
arrays (an activation such as ``Tanh`` caches its output: c = 1; a block ``Linear`` + activation
caches the pre-activation and the output: c = 2), besides its input, makes a ``Sequential`` of
L layers hold c·L + 1 arrays after forward. With ``CheckpointedSequential`` and k segments of
s = L // k layers (the last one takes the rest, ℓ = L − (k − 1)s)::

    after forward        (k − 1) saved segment inputs + c·ℓ + 1 in the last segment
    peak during backward the same + c·s while one segment is recomputed (k > 1)
    forward calls        L + (k − 1)s              (one extra pass, the last segment excepted)

``trace_memory`` measures the same quantities on a real network (``cached_bytes`` sampled
around every layer's backward), so the formulas are checked against the library.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from .._validate import check_positive_int
from .checkpoint import cached_bytes
from .module import Sequential

__all__ = ["CheckpointMemory", "FlopCount", "MemoryTrace", "checkpoint_memory", "count_flops",
           "num_parameters", "trace_memory"]


def _check_sizes(sizes) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
        raise ValueError(f"sizes must list the layer widths [in, hidden…, out] (at least 2), e.g. "
                         f"[784, 256, 10]; got {sizes!r}.")
    for i, n in enumerate(sizes):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"sizes[{i}] must be a positive integer; got {n!r} in sizes={list(sizes)}.")
    return [int(n) for n in sizes]


def num_parameters(sizes, bias: bool = True) -> int:
    """W of an MLP with widths ``sizes``: Σ_l n_{l−1}·n_l (+ n_l biases)."""
    sizes = _check_sizes(sizes)
    return sum(a * b + (b if bias else 0) for a, b in zip(sizes[:-1], sizes[1:], strict=True))


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one forward and one backward pass; ``backward`` = ``weight_grads`` + ``input_grads``."""

    forward: int
    weight_grads: int      # dW = gᵀx and db = Σ g, every layer
    input_grads: int       # dx = gW, every layer but the first when input_grad=False

    @property
    def backward(self) -> int:
        return self.weight_grads + self.input_grads

    @property
    def ratio(self) -> float:
        """backward / forward (→ 2 for wide layers)."""
        return self.backward / self.forward


def count_flops(sizes, batch: int, *, bias: bool = True, input_grad: bool = True) -> FlopCount:
    """FLOPs of the Linear layers of an MLP with widths ``sizes`` on ``batch`` rows.

    ``count_flops([784, 256, 10], batch=64).forward`` = 64·(2·784·256 + 256 + 2·256·10 + 10).
    ``input_grad=False``: the first layer skips dL/dx (the training loop's case, as PyTorch).
    """
    sizes = _check_sizes(sizes)
    batch = check_positive_int(batch, "batch")
    forward = weight = inputs = 0
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        bias_flops = batch * n_out if bias else 0
        forward += 2 * batch * n_in * n_out + bias_flops          # y = x Wᵀ + b
        weight += 2 * batch * n_in * n_out + bias_flops           # dW = gᵀ x, db = Σ g
        if i > 0 or input_grad:
            inputs += 2 * batch * n_in * n_out                    # dx = g W
    return FlopCount(forward, weight, inputs)


@dataclass(frozen=True)
class CheckpointMemory:
    """Stored activations (in arrays of one layer's output) for L layers in k segments."""

    layers: int
    segments: int
    arrays_per_layer: int  # c: new arrays each layer caches
    plain: int             # Sequential: c·L + 1
    after_forward: int     # CheckpointedSequential right after forward
    peak: int              # its maximum during backward
    forward_calls: int     # layer forward calls for one forward + backward

    @property
    def textbook(self) -> float:
        """k + c·L/k: saved inputs + one segment's activations, what a framework that frees each
        activation once its backward has used it (PyTorch) holds at most; for c = 1 its minimum
        is 2√L, at k = √L."""
        return self.segments + self.arrays_per_layer * self.layers / self.segments


def checkpoint_memory(layers: int, segments: int, arrays_per_layer: int = 1) -> CheckpointMemory:
    """What ``CheckpointedSequential(*L layers, segments=k)`` stores, for layers that each
    cache ``arrays_per_layer`` new arrays besides their input (see the module docstring)."""
    L = check_positive_int(layers, "layers")
    k = check_positive_int(segments, "segments")
    c = check_positive_int(arrays_per_layer, "arrays_per_layer")
    if k > L:
        raise ValueError(f"segments must be at most layers ({L}); got segments={k}. "
                         "Use about sqrt(layers) segments.")
    size = L // k
    last = L - (k - 1) * size
    after = (k - 1) + c * last + 1
    peak = after + (c * size if k > 1 else 0)
    return CheckpointMemory(L, k, c, c * L + 1, after, peak, L + (k - 1) * size)


@dataclass(frozen=True)
class MemoryTrace:
    """Measured by ``trace_memory``: bytes of cached activations and layer forward calls."""

    after_forward: int     # cached_bytes right after forward
    peak: int              # largest cached_bytes seen during backward (or after forward)
    forward_calls: int     # forward calls of the model's layers, forward + backward
    layers: int            # distinct layers in model.layers


def trace_memory(model: Sequential, x, grad_out) -> MemoryTrace:
    """Run ``model(x)`` and ``model.backward(grad_out)``, recording cached activation bytes.

    ``cached_bytes(model)`` is sampled after the forward pass and before and after the backward
    of every layer in ``model.layers`` (a checkpointed segment has just been recomputed when
    the backward of its last layer starts), and the layers' forward calls are counted. The
    layers are wrapped for the duration of the call only. ``grad_out``: dL/d(output), shaped
    like ``model(x)``.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"trace_memory(model, x, grad_out) needs a Sequential (or CheckpointedSequential) "
                        f"as model; got {type(model).__name__}.")
    layers = list({id(layer): layer for layer in model.layers}.values())    # a shared layer once
    samples, calls = [], [0]

    def wrap(layer):
        forward, backward = layer.forward, layer.backward

        def counted_forward(*args, **kwargs):
            calls[0] += 1
            return forward(*args, **kwargs)

        def sampled_backward(*args, **kwargs):
            samples.append(cached_bytes(model))
            out = backward(*args, **kwargs)
            samples.append(cached_bytes(model))
            return out

        layer.forward, layer.backward = counted_forward, sampled_backward

    for layer in layers:
        wrap(layer)
    try:
        model(x)
        after = cached_bytes(model)
        model.backward(grad_out)
    finally:
        for layer in layers:                 # the class's own methods again
            del layer.forward, layer.backward
    return MemoryTrace(after, max([after, *samples]), calls[0], len(layers))
