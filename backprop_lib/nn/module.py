"""The three objects every network is made of: ``Parameter``, ``Module``, ``Sequential``.

The contract (cs231n style, PyTorch names):

* ``forward(x)`` computes the output and caches exactly what ``backward`` will need;
* ``backward(grad_out)`` takes dL/d(output), **adds** dL/dp into each parameter's
  ``p.grad`` (so gradients accumulate, as in PyTorch, until ``zero_grad``) and returns
  dL/d(input);
* ``parameters()`` lists the trainable ``Parameter`` objects, in a fixed order.
"""

from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array and its gradient.

    ``data``: the values (updated in place by optimizers).
    ``grad``: dL/d(data), same shape, or ``None`` before the first backward pass.
    ``name``: a readable label such as ``"0.weight"`` (set by the enclosing model).
    """

    def __init__(self, data, name: str = ""):
        arr = np.array(data, dtype=np.result_type(np.asarray(data).dtype, np.float32))
        self.data = arr
        self.grad = None
        self.name = name

    @property
    def shape(self):
        return self.data.shape

    @property
    def size(self):
        return self.data.size

    def accumulate_grad(self, g) -> None:
        """Add ``g`` to ``self.grad`` (creating it on first use)."""
        if g.shape != self.data.shape:
            raise ValueError(
                f"gradient for parameter {self.name or '?'} has shape {g.shape}; "
                f"expected {self.data.shape} (the parameter's shape)."
            )
        if self.grad is None:
            self.grad = np.array(g, dtype=self.data.dtype)
        else:
            self.grad += g

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self):
        label = f"{self.name!r}, " if self.name else ""
        return f"Parameter({label}shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of every layer, activation and network.

    Subclasses implement ``forward`` and ``backward``. Parameters and sub-modules are
    found automatically among the instance's attributes (in the order they were set),
    including lists and tuples of modules.
    """

    training: bool = True

    # -- to implement -------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, grad_out):
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_out)")

    # -- shared behaviour ---------------------------------------------------------
    def __call__(self, x):
        return self.forward(x)

    def children(self):
        """Direct sub-modules, in attribute order."""
        for value in vars(self).values():
            if isinstance(value, Module):
                yield value
            elif isinstance(value, (list, tuple)):
                yield from (v for v in value if isinstance(v, Module))

    def named_parameters(self, prefix: str = ""):
        """``(name, Parameter)`` pairs, e.g. ``("0.weight", p)`` inside a Sequential."""
        for key, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + key, value
            elif isinstance(value, Module):
                yield from value.named_parameters(f"{prefix}{key}.")
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield from item.named_parameters(f"{prefix}{i}.")

    def parameters(self) -> list[Parameter]:
        """Every trainable Parameter, each once, with ``p.name`` filled in."""
        seen, params = set(), []
        for name, p in self.named_parameters():
            if id(p) not in seen:
                seen.add(id(p))
                if not p.name:
                    p.name = name
                params.append(p)
        return params

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True):
        """Training mode (dropout active, batch norm uses batch statistics)."""
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        """Evaluation mode (dropout off, batch norm uses running statistics)."""
        return self.train(False)

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        kids = list(self.children())
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        body = "\n".join("  " + repr(k).replace("\n", "\n  ") for k in kids)
        return f"{type(self).__name__}(\n{body}\n)"

    # -- helpers for subclasses -----------------------------------------------------
    def _require_cache(self, *names):
        """Raise a clear error when ``backward`` is called before ``forward``."""
        for n in names:
            if getattr(self, n, None) is None:
                raise ValueError(
                    f"{type(self).__name__}.backward() was called before forward(): there is "
                    "nothing cached to differentiate. Call the module on a batch first "
                    "(out = module(x)), then backward(grad_out)."
                )


class Sequential(Module):
    """Layers applied one after another: ``Sequential(Linear(2, 8), Tanh(), Linear(8, 1))``.

    ``backward`` runs the layers' backward passes in reverse order (the chain rule).
    """

    def __init__(self, *layers: Module):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(
                    f"Sequential argument {i} must be a Module (a layer such as Linear or "
                    f"ReLU); got {type(layer).__name__}."
                )
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_out, *, input_grad: bool = True):
        """grad_out: dL/d(output). Backward through the layers in reverse order; returns dL/dx.

        ``input_grad=False`` is the training loop's case: nothing needs dL/dx of the network's
        input (PyTorch skips it too: the input does not require grad), so a first layer that
        can skip it (``Linear``) does, and ``None`` is returned.
        """
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if i == 0 and not input_grad:
                if getattr(layer, "can_skip_input_grad", False):
                    return layer.backward(grad_out, input_grad=False)
                layer.backward(grad_out)
                return None
            grad_out = layer.backward(grad_out)
        return grad_out if input_grad else None

    def named_parameters(self, prefix: str = ""):
        for i, layer in enumerate(self.layers):
            yield from layer.named_parameters(f"{prefix}{i}.")

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(*self.layers[idx])
        return self.layers[idx]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def append(self, layer: Module):
        if not isinstance(layer, Module):
            raise TypeError(f"append() needs a Module; got {type(layer).__name__}.")
        self.layers.append(layer)
        return self

    def __repr__(self):
        body = "\n".join(f"  ({i}): " + repr(l).replace("\n", "\n  ") for i, l in enumerate(self.layers))
        return f"Sequential(\n{body}\n)"
