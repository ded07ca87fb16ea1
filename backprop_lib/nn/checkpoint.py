"""Gradient checkpointing: store fewer activations, recompute them during backward.

Backprop needs every layer's cached activations, so a plain ``Sequential`` of n layers
holds O(n) of them after ``forward``. Checkpointing splits the layers into segments and,
during ``forward``, keeps only each segment's *input*, discarding what the layers inside
cached. During ``backward`` each segment is run forward once more from its saved input
(refilling the caches) right before its own backward pass. With √n segments of √n
layers the stored activations drop from O(n) to O(√n), for the price of one extra
forward pass: gradients are unchanged.

Like ``torch.utils.checkpoint.checkpoint_sequential``, the last segment is not
checkpointed (its caches are needed at once by backward), and the recomputation replays
the random generators (so dropout draws the same masks) and leaves running statistics
(batch norm's buffers) as the real forward pass left them.

What counts as a cache: an ``ndarray`` attribute of a layer that is not one of its
buffers (names listed in the class attribute ``_buffers``, e.g. ``BatchNorm1d.running_mean``).
Parameters live inside ``Parameter`` objects and are never dropped or counted.
"""

from __future__ import annotations

import copy

import numpy as np

from .._validate import check_positive_int
from .module import Module, Sequential


def _modules(module: Module):
    """``module`` and all its descendants."""
    yield module
    for child in module.children():
        yield from _modules(child)


def _cached_arrays(module: Module):
    """The arrays a layer holds for its backward pass (its own attributes only)."""
    buffers = getattr(module, "_buffers", ())
    for name, value in vars(module).items():
        if name in buffers:
            continue
        if isinstance(value, np.ndarray):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from (v for v in value if isinstance(v, np.ndarray))


def cached_bytes(module: Module) -> int:
    """Bytes of activations cached by ``module`` and its sub-modules (call it after forward).

    Every array is counted once, even when several layers hold it (a Linear layer caches
    the very array the activation before it returned) or hold views of it.
    """
    if not isinstance(module, Module):
        raise TypeError(f"cached_bytes(module) needs a Module; got {type(module).__name__}.")
    seen, total = set(), 0
    for m in _modules(module):
        for arr in _cached_arrays(m):
            while isinstance(arr.base, np.ndarray):    # a view: count the memory it looks into
                arr = arr.base
            if id(arr) not in seen:
                seen.add(id(arr))
                total += arr.nbytes
    return total


def _drop_caches(module: Module) -> None:
    """Forget every cached activation in ``module`` and its sub-modules."""
    for m in _modules(module):
        buffers = getattr(m, "_buffers", ())
        for name, value in list(vars(m).items()):
            if isinstance(value, np.ndarray) and name not in buffers:
                setattr(m, name, None)


def _save_state(module: Module):
    """What a forward pass changes besides caches: buffers and random generators."""
    state = []
    for m in _modules(module):
        buffers = getattr(m, "_buffers", ())
        for name, value in vars(m).items():
            if name in buffers:
                state.append((m, name, copy.copy(value)))
            elif isinstance(value, np.random.Generator):
                state.append((m, name, value.bit_generator.state))
    return state


def _load_state(state) -> None:
    for m, name, value in state:
        current = getattr(m, name)
        if isinstance(current, np.random.Generator):
            current.bit_generator.state = value     # in place: shared generators stay shared
        elif isinstance(current, np.ndarray):
            current[...] = value
        else:
            setattr(m, name, value)


class CheckpointedSequential(Sequential):
    """A ``Sequential`` that stores only the inputs of its segments (gradient checkpointing).

    ``CheckpointedSequential(*layers, segments=k)`` splits the n layers into k consecutive
    segments of n // k layers (the last one takes the remainder). Same parameters, same
    outputs and same gradients as ``Sequential(*layers)``; less memory after ``forward``
    (see ``cached_bytes``), one extra forward pass through the first k − 1 segments during
    ``backward``.
    """

    def __init__(self, *layers: Module, segments: int):
        super().__init__(*layers)
        segments = check_positive_int(segments, "segments")
        if segments > len(self.layers):
            raise ValueError(
                f"segments must be at most the number of layers ({len(self.layers)}); got "
                f"segments={segments}. Use about sqrt(n) segments for n layers."
            )
        self.segments = segments
        self.saved_inputs = None    # input of each checkpointed segment
        self._states = None         # generators and buffers before each checkpointed segment

    def _split(self):
        """The segments, as Sequentials sharing this model's layers (last one not checkpointed)."""
        size = len(self.layers) // self.segments
        bounds = [(i * size, (i + 1) * size) for i in range(self.segments - 1)]
        bounds.append(((self.segments - 1) * size, len(self.layers)))
        return [Sequential(*self.layers[a:b]) for a, b in bounds]

    def forward(self, x):
        *checkpointed, last = self._split()
        self.saved_inputs, self._states = [], []
        for segment in checkpointed:
            self.saved_inputs.append(x)                 # the only activation we keep
            self._states.append(_save_state(segment))
            x = segment.forward(x)
            _drop_caches(segment)                       # forget what the inner layers cached
        return last.forward(x)

    def backward(self, grad_out, *, input_grad: bool = True):
        """As ``Sequential.backward``; with ``input_grad=False`` returns None (the first
        segment still computes dL/dx: checkpointing trades compute for memory)."""
        self._require_cache("saved_inputs")
        *checkpointed, last = self._split()
        grad = last.backward(grad_out)
        saved = list(zip(checkpointed, self.saved_inputs, self._states, strict=True))
        for segment, x, before in reversed(saved):
            after = _save_state(segment)
            _load_state(before)         # replay: same dropout masks, running stats as before
            segment.forward(x)          # recompute the segment's caches
            _load_state(after)          # running stats as the real forward pass left them
            grad = segment.backward(grad)
            _drop_caches(segment)
        return grad if input_grad else None

    def __repr__(self):
        body = "\n".join(f"  ({i}): " + repr(l).replace("\n", "\n  ") for i, l in enumerate(self.layers))
        return f"CheckpointedSequential(segments={self.segments},\n{body}\n)"


def checkpoint_sequential(seq, segments: int) -> CheckpointedSequential:
    """A checkpointed version of ``seq`` (a Sequential or a list of layers), sharing its layers.

    Unlike ``torch.utils.checkpoint.checkpoint_sequential``, which runs the forward pass at
    once, this returns a model: call it, then call its ``backward``.
    """
    if isinstance(seq, Sequential):
        layers = seq.layers
    elif isinstance(seq, (list, tuple)):
        layers = list(seq)
    else:
        raise TypeError(
            f"checkpoint_sequential(seq, segments) needs a Sequential or a list of layers as seq; "
            f"got {type(seq).__name__}."
        )
    return CheckpointedSequential(*layers, segments=segments)


__all__ = ["CheckpointedSequential", "cached_bytes", "checkpoint_sequential"]
