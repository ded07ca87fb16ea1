"""``FlatMLP``: an MLP whose parameters are one flat vector θ, with its backward pass in NumPy.

Second-order methods think of the loss as a function L(θ) of one vector θ ∈ ℝᵂ: the Hessian
is W × W, a Hessian-vector product maps ℝᵂ → ℝᵂ, L-BFGS wants ``fun(θ)`` and ``grad(θ)``.
``FlatMLP`` is that view of ``bp.nn.mlp``: the same layers (weights shaped like torch,
``(out, in)``), read out of one vector, and the mean squared error with a ½::

    L(θ) = 1/(2n) Σᵢ ‖f(xᵢ; θ) − yᵢ‖²          (so ∇L = Jᵀr/n and G = JᵀJ/n, r = f − y)

Every method is written with NumPy operations that ``DualArray`` supports, so the gradient
itself can be differentiated once more (forward over reverse, ``second_order.hvp``)::

    model, theta = FlatMLP.from_net(bp.nn.mlp([1, 8, 1], activation="tanh", seed=0))
    model.loss(theta, x, y); model.grad(theta, x, y)     # (W,)
    model.jacobian(theta, x)                             # (n·out, W): ∂f_ik/∂θ, per sample
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array
from ._dual_array import concatenate

__all__ = ["FlatMLP"]

ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")


def _act(name, z):
    """φ(z) (hidden layers only)."""
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "relu":
        return np.maximum(z, 0.0)
    return z


def _act_prime(name, z, a):
    """φ′(z), from the pre-activation z and the activation a = φ(z) (both cached by forward)."""
    if name == "tanh":
        return 1.0 - a * a                       # tanh′ = 1 − tanh²
    if name == "sigmoid":
        return a * (1.0 - a)                     # σ′ = σ(1 − σ)
    if name == "relu":
        return (z > 0) * 1.0                     # a step: its own derivative is 0 (almost everywhere)
    return 1.0


@dataclass(frozen=True)
class FlatMLP:
    """sizes: widths [in, hidden…, out]; activation: "tanh", "sigmoid", "relu" or "identity"
    (hidden layers; the output layer is linear). θ holds, layer by layer, W (out, in) row by
    row, then b (out,)."""

    sizes: tuple
    activation: str = "tanh"

    def __post_init__(self):
        sizes = tuple(int(s) for s in self.sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError("sizes must list at least 2 positive widths, e.g. (1, 8, 1); "
                             f"got {self.sizes!r}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; expected one of {ACTIVATIONS}.")
        object.__setattr__(self, "sizes", sizes)

    @property
    def shapes(self) -> list[tuple]:
        """[(W shape, b shape)] per layer."""
        return [((o, i), (o,)) for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True)]

    @property
    def n_params(self) -> int:
        """W, the length of θ."""
        return sum(math.prod(w) + b[0] for w, b in self.shapes)

    @classmethod
    def from_net(cls, net):
        """``(FlatMLP, θ)`` from a ``bp.nn.Sequential`` of Linear layers (with bias, standard
        parameterization) and one kind of activation between them (e.g. ``bp.nn.mlp``)."""
        sizes, acts, theta = [], set(), []
        for layer in getattr(net, "layers", ()):
            if hasattr(layer, "weight"):
                if layer.bias is None or getattr(layer, "parameterization", "standard") != "standard":
                    raise ValueError("FlatMLP.from_net needs Linear layers with bias in the standard "
                                     "parameterization (bp.nn.mlp's defaults).")
                if not sizes:
                    sizes.append(layer.in_features)
                sizes.append(layer.out_features)
                theta += [layer.weight.data.ravel(), layer.bias.data]
            else:
                acts.add(getattr(layer, "name", type(layer).__name__))
        if not sizes or len(acts) > 1 or not acts <= set(ACTIVATIONS):
            raise ValueError(f"FlatMLP.from_net needs Linear layers with one activation out of {ACTIVATIONS} "
                             f"between them; got layers {[type(layer).__name__ for layer in net.layers]}.")
        model = cls(tuple(sizes), acts.pop() if acts else "identity")
        return model, np.concatenate(theta).astype(np.float64)

    # -- θ ↔ layers -----------------------------------------------------------------------
    def unflatten(self, theta):
        """[(W, b)] views of θ (ndarray, DualArray or a torch tensor)."""
        if len(theta) != self.n_params or getattr(theta, "ndim", 1) != 1:
            raise ValueError(f"theta must be a flat vector of {self.n_params} parameters for sizes "
                             f"{self.sizes}; got shape {tuple(theta.shape)}.")
        out, k = [], 0
        for w, b in self.shapes:
            nw = math.prod(w)
            out.append((theta[k:k + nw].reshape(w), theta[k + nw:k + nw + b[0]]))
            k += nw + b[0]
        return out

    def _data(self, x, y=None):
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != self.sizes[0]:
            raise ValueError(f"x must have shape (n, {self.sizes[0]}); got {x.shape}.")
        if y is None:
            return x
        y = as_float_array(y, "y", ndim=2)
        if y.shape != (len(x), self.sizes[-1]):
            raise ValueError(f"y must have shape (n, out) = {(len(x), self.sizes[-1])}; got {y.shape}.")
        return x, y

    # -- forward, loss, backward ---------------------------------------------------------------
    def _forward(self, theta, x):
        """Output f: (n, out) and the cache [(a_in, z, a_out)] per layer."""
        layers = self.unflatten(theta)
        a, cache = x, []
        for k, (W, b) in enumerate(layers):
            z = a @ W.T + b                                      # z = a Wᵀ + b
            out = z if k == len(layers) - 1 else _act(self.activation, z)
            cache.append((a, z, out))
            a = out
        return a, cache

    def forward(self, theta, x):
        """f(x; θ): (n, out) for x: (n, in)."""
        return self._forward(theta, self._data(x))[0]

    def loss(self, theta, x, y) -> float:
        """L(θ) = 1/(2n) Σᵢ ‖f(xᵢ) − yᵢ‖²."""
        x, y = self._data(x, y)
        r = self._forward(theta, x)[0] - y
        return (r * r).sum() / (2 * len(x))

    def _backward(self, theta, cache, delta):
        """Backprop δ = ∂(·)/∂f (n, out) through the cached layers: the flat gradient."""
        layers = self.unflatten(theta)
        grads = []
        for k in range(len(layers) - 1, -1, -1):
            a_in, _, _ = cache[k]
            grads.append((delta.T @ a_in, delta.sum(axis=0)))    # ∂W = δᵀ a_in, ∂b = Σᵢ δᵢ
            if k > 0:
                _, z_prev, a_prev = cache[k - 1]
                delta = (delta @ layers[k][0]) * _act_prime(self.activation, z_prev, a_prev)  # δ W ⊙ φ′
        return concatenate([g for W_b in reversed(grads) for g in (W_b[0].reshape(-1), W_b[1])])

    def vjp(self, theta, x, u):
        """Jᵀu = Σᵢₖ uᵢₖ ∂fᵢₖ/∂θ for u: (n, out) (u is a constant, even when θ is a DualArray)."""
        x = self._data(x)
        _, cache = self._forward(theta, x)
        return self._backward(theta, cache, np.asarray(u, dtype=np.float64))

    def grad(self, theta, x, y):
        """∇L(θ) = Jᵀr/n, r = f − y (backprop; works on a DualArray θ, see ``second_order.hvp``)."""
        x, y = self._data(x, y)
        f, cache = self._forward(theta, x)
        return self._backward(theta, cache, (f - y) / len(x))   # δ_out = ∂L/∂f = r/n

    def jacobian(self, theta, x) -> np.ndarray:
        """J: (n·out, W), row i·out + k = ∂f_k(xᵢ)/∂θ: one backward pass per output unit, with
        the per-sample products δᵢ a_iᵀ kept apart instead of summed over the batch."""
        x = self._data(x)
        theta = np.asarray(theta, dtype=np.float64)
        layers = self.unflatten(theta)
        _, cache = self._forward(theta, x)
        n, n_out = len(x), self.sizes[-1]
        J = np.empty((n, n_out, self.n_params))
        for k_out in range(n_out):
            delta = np.zeros((n, n_out))
            delta[:, k_out] = 1.0
            pieces = []
            for k in range(len(layers) - 1, -1, -1):
                a_in = cache[k][0]
                pieces.append((np.einsum("no,ni->noi", delta, a_in).reshape(n, -1), delta))
                if k > 0:
                    _, z_prev, a_prev = cache[k - 1]
                    delta = (delta @ layers[k][0]) * _act_prime(self.activation, z_prev, a_prev)
            J[:, k_out] = np.concatenate([p for pair in reversed(pieces) for p in pair], axis=1)
        return J.reshape(n * n_out, self.n_params)

