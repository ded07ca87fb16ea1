"""Forward gradients: a gradient estimate from one forward-mode pass, no backward pass at all.

Pick a random direction ``v ~ N(0, I)`` in parameter space and compute the directional derivative
``∇L·v`` exactly, in the same forward pass as ``L`` (forward mode, a JVP: every layer carries a
value and its tangent, as ``bp.autodiff.Dual`` does for scalars). Then

    ĝ = (∇L·v) v,        E[ĝ] = E[v vᵀ] ∇L = ∇L        (unbiased)

but each ĝ points almost anywhere: cos∠(ĝ, ∇L) = |∇L·v| / (‖∇L‖‖v‖) has mean ≈ √(2/(πW)) for W
parameters, and the mean of K estimates has cos ≈ 1/√(1 + (W+1)/K): about W passes to match one
backprop gradient.

    loss, dloss = jvp(net, loss_fn, x, y, v)              # L and ∇L·v, exact
    loss, g_hat, v = forward_gradient(net, loss_fn, x, y, rng=0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, as_rng, check_positive_int
from .feedback_alignment import mlp_blocks


def _tangents(net, v) -> list[np.ndarray]:
    params = net.parameters()
    if v is None or len(v) != len(params):
        raise ValueError(f"v must be a list of {len(params)} arrays, one per parameter of net.parameters() "
                         f"(shapes {[p.shape for p in params]}); got {None if v is None else len(v)}.")
    out = []
    for i, (p, t) in enumerate(zip(params, v, strict=True)):
        t = as_float_array(t, f"v[{i}]")
        if t.shape != p.shape:
            raise ValueError(f"v[{i}] has shape {t.shape}; expected {p.shape}, the shape of parameter "
                             f"{p.name or i}.")
        out.append(t)
    return out


def jvp(net, loss_fn, x, y, v) -> tuple[float, float]:
    """``(L, ∇L·v)`` exactly, by one forward pass carrying tangents (forward-mode AD).

    ``net``: an MLP ``Linear, act, …, Linear``; ``x: (batch, in)``; ``v``: a list of arrays shaped
    like ``net.parameters()`` (the direction). Per block, with a dot for the tangent::

        z = a Wᵀ + b          ż = ȧ Wᵀ + a Ẇᵀ + ḃ      (product rule; ȧ = 0 at the input)
        a = φ(z)              ȧ = φ′(z) ⊙ ż
        L = loss(z^L, y)      L̇ = Σ ∂L/∂z^L ⊙ ż^L     (the loss's own derivative, one local step)

    No backward pass through the network: nothing is stored for later.
    """
    blocks = mlp_blocks(net)
    tangents = _tangents(net, v)
    index = {id(p): i for i, p in enumerate(net.parameters())}
    a = as_float_array(x, "x", ndim=2)
    a_dot = None                                                     # the input does not move
    for lin, act in blocks:
        W, W_dot = lin.weight.data, tangents[index[id(lin.weight)]]
        z = a @ W.T
        z_dot = a @ W_dot.T if a_dot is None else a_dot @ W.T + a @ W_dot.T
        if lin.bias is not None:
            z = z + lin.bias.data
            z_dot = z_dot + tangents[index[id(lin.bias)]]
        if act is None:
            a, a_dot = z, z_dot
        else:
            a, a_dot = act.f(z), act.df(z) * z_dot                   # ȧ = φ′(z) ⊙ ż
    loss = float(loss_fn(a, y))
    return loss, float(np.sum(loss_fn.backward() * a_dot))          # L̇ = Σ ∂L/∂out ⊙ ȯut


def forward_gradient(net, loss_fn, x, y, *, rng=None, v=None):
    """``(L, ĝ, v)`` with ``ĝ = (∇L·v) v`` (a list shaped like ``net.parameters()``).

    ``v`` defaults to a draw ``N(0, I)`` from ``rng`` (seed or Generator); any ``v`` with
    ``E[v vᵀ] = I`` (e.g. random signs) makes ĝ unbiased. Does not touch ``p.grad``.
    """
    if v is None:
        gen = as_rng(rng, "rng")
        v = [gen.standard_normal(p.shape) for p in net.parameters()]
    loss, dloss = jvp(net, loss_fn, x, y, v)
    return loss, [dloss * t for t in v], v


def _flat(arrays) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in arrays])


@dataclass(frozen=True)
class ForwardGradientStudy:
    """K forward gradients of one loss compared with its backprop gradient."""

    num_parameters: int          # W
    cos: np.ndarray              # (K,) cos∠(ĝ_k, ∇L) of each single estimate
    cos_of_mean: np.ndarray      # (K,) cos∠(mean of ĝ_1..ĝ_k, ∇L)

    @property
    def theory(self) -> float:
        """E cos ≈ √(2/(πW)) for v ~ N(0, I) (‖v‖ ≈ √W, E|∇L·v| = √(2/π)‖∇L‖)."""
        return float(np.sqrt(2.0 / (np.pi * self.num_parameters)))

    def theory_of_mean(self, k) -> np.ndarray:
        """cos of the mean of k estimates ≈ 1/√(1 + (W+1)/k) (its covariance is (‖g‖²I + ggᵀ)/k)."""
        return 1.0 / np.sqrt(1.0 + (self.num_parameters + 1) / np.asarray(k, dtype=float))


def forward_gradient_study(net, loss_fn, x, y, n_samples: int = 200, *, seed=0) -> ForwardGradientStudy:
    """Draw ``n_samples`` forward gradients at the current parameters; compare with backprop's ∇L."""
    n_samples = check_positive_int(n_samples, "n_samples")
    gen = as_rng(seed)
    net.zero_grad()
    loss_fn(net(x), y)
    net.backward(loss_fn.backward(), input_grad=False)
    g = _flat(p.grad for p in net.parameters())
    net.zero_grad()
    g_norm = np.linalg.norm(g)
    total = np.zeros_like(g)
    cos, cos_mean = np.empty(n_samples), np.empty(n_samples)
    for k in range(n_samples):
        g_hat = _flat(forward_gradient(net, loss_fn, x, y, rng=gen)[1])
        total += g_hat
        cos[k] = g_hat @ g / (np.linalg.norm(g_hat) * g_norm)
        cos_mean[k] = total @ g / (np.linalg.norm(total) * g_norm)
    return ForwardGradientStudy(g.size, cos, cos_mean)
