"""Stochastic depth (Huang et al., 2016): residual blocks that are skipped at random in training.

Block l computes, with a survival probability ``p_l``::

    training:  x_{l+1} = x_l + b_l · F_l(x_l),   b_l ~ Bernoulli(p_l), one draw per forward call
    eval:      x_{l+1} = x_l + p_l · F_l(x_l)    (the expected value of the training output)

The backward pass reuses the very same ``b_l`` (cached as ``self.b``)::

    b_l = 1:  dL/dx_l = g + J_Fᵀ g        (the residual block's two paths)
    b_l = 0:  dL/dx_l = g                 (the block was skipped: δ passes unchanged, F gets no gradient)
    eval:     dL/dx_l = g + J_Fᵀ (p_l g)

This is the original paper's convention. torchvision's ``StochasticDepth`` uses the inverted one
instead (``b·F(x)/p`` in training, ``F(x)`` in eval), as inverted dropout does: the same expectation.

``survival_probabilities`` gives Huang et al.'s linear decay rule, ``stochastic_depth_mlp`` a
network of such blocks and ``block_gradient_rms`` the RMS of δ at every block over mask draws.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, as_rng, check_choice, check_number, check_positive_int
from .deep import residual_mlp
from .module import Module, Sequential
from .residual import Residual

__all__ = ["StochasticDepth", "block_gradient_rms", "stochastic_depth_mlp", "survival_probabilities"]


class StochasticDepth(Module):
    """``x + b·block(x)`` in training (``b ~ Bernoulli(p_survive)``), ``x + p_survive·block(x)`` in eval.

    ``x: (batch, ...)`` -> the same shape; ``block`` must keep the shape. One ``b`` is drawn per
    forward call, for the whole batch (a skipped block is not run at all). ``seed``: an int, a
    ``numpy.random.Generator`` or ``None``. After a training-mode forward, ``self.b`` is the draw
    (``True``: the block ran); after an eval-mode forward it is ``None``.
    """

    def __init__(self, block: Module, p_survive: float = 0.5, *, seed=None):
        if not isinstance(block, Module):
            raise TypeError(
                "StochasticDepth(block, p_survive) needs a Module as block (e.g. Sequential(Linear(8, 8), "
                f"ReLU(), Linear(8, 8))); got {type(block).__name__}."
            )
        self.block = block
        self.p_survive = check_number(p_survive, "StochasticDepth p_survive", low=0.0, high=1.0,
                                      low_open=True)
        self.rng = as_rng(seed)
        self.b = None             # the last training-mode draw (True: the block survived)
        self._mode = None         # "kept", "dropped" or "eval": which backward the last forward needs
        self._shape = None

    def forward(self, x):
        x = as_float_array(x, "StochasticDepth input x")
        if self.training:
            self.b = bool(self.rng.random() < self.p_survive)          # b ~ Bernoulli(p)
            self._mode = "kept" if self.b else "dropped"
        else:
            self.b, self._mode = None, "eval"
        self._shape = x.shape
        if self._mode == "dropped":
            return x                                                   # x + 0·F(x): F is not run
        fx = self.block(x)
        if fx.shape != x.shape:
            raise ValueError(
                f"StochasticDepth: the block maps input of shape {x.shape} to output of shape {fx.shape}; "
                "x + b·block(x) needs both shapes equal. Make the block return as many features as it "
                "receives."
            )
        return x + fx if self._mode == "kept" else x + self.p_survive * fx     # eval: x + p F(x)

    def backward(self, grad_out):
        self._require_cache("_mode")
        g = as_float_array(grad_out, "StochasticDepth.backward grad_out", allow_nonfinite=True)
        if g.shape != self._shape:
            raise ValueError(
                f"StochasticDepth.backward got grad_out of shape {g.shape}; expected {self._shape}, the "
                "shape of the last forward output."
            )
        if self._mode == "dropped":
            return g                                                   # δ passes unchanged
        if self._mode == "kept":
            return g + self.block.backward(g)                          # g + J_Fᵀ g
        return g + self.block.backward(self.p_survive * g)             # g + J_Fᵀ (p g)

    def extra_repr(self) -> str:
        return f"p_survive={self.p_survive:g}"

    def __repr__(self):
        return f"StochasticDepth({self.extra_repr()},\n  " + repr(self.block).replace("\n", "\n  ") + "\n)"


def survival_probabilities(blocks, p_last, rule="linear") -> np.ndarray:
    """Survival probability of each of ``blocks`` blocks, first block first.

    ``rule="linear"`` (Huang et al.): ``p_l = 1 − (l/L)(1 − p_last)``, l = 1..L, so the blocks near the
    input almost always survive and the last one survives with ``p_last``; ``"uniform"``: all ``p_last``.
    """
    L = check_positive_int(blocks, "blocks")
    p_last = check_number(p_last, "p_last", low=0.0, high=1.0, low_open=True)
    rule = check_choice(rule, "rule", ("linear", "uniform"))
    if rule == "uniform":
        return np.full(L, p_last)
    return 1.0 - np.arange(1, L + 1) / L * (1.0 - p_last)


def stochastic_depth_mlp(width, blocks, p_last=0.5, *, rule="linear", activation="relu", init="he",
                         n_out=10, seed=0, dtype=np.float64) -> Sequential:
    """``bp.nn.residual_mlp`` with every ``Residual`` block made a ``StochasticDepth`` block.

    ``x: (batch, width)`` -> ``(batch, n_out)``; the branches are Linear → act → Linear with the
    weights ``residual_mlp`` draws from ``seed``, block l survives with ``survival_probabilities(blocks,
    p_last, rule)[l]`` and draws its masks from its own generator (derived from ``seed``).
    """
    probs = survival_probabilities(blocks, p_last, rule)
    net = residual_mlp(width, blocks, activation=activation, init=init, n_out=n_out, seed=seed, dtype=dtype)
    mask_seeds = np.random.default_rng([int(seed), 23]).integers(0, 2**63 - 1, size=len(probs))
    layers = [StochasticDepth(layer.block, p, seed=int(s)) if isinstance(layer, Residual) else layer
              for layer, p, s in zip(net.layers, [*probs, None], [*mask_seeds, None], strict=True)]
    return Sequential(*layers)


def block_gradient_rms(net: Sequential, x, grad_out, *, draws: int = 100):
    """RMS of δ = dL/d(input of each block) over ``draws`` training-mode passes, and in eval mode.

    ``net``: a ``Sequential`` (e.g. ``stochastic_depth_mlp``); ``x: (batch, in)``; ``grad_out``: dL/d(output),
    shaped like ``net(x)``. Returns ``(train, eval)``, each ``(len(net),)``: entry l is the RMS of δ at the
    input of layer l, over every entry and, for ``train``, over the draws (√ of the mean of δ²). The
    net's mode is restored afterwards; its ``.grad`` arrays accumulate (call ``zero_grad`` if needed).
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a bp.nn.Sequential; got {type(net).__name__}.")
    draws = check_positive_int(draws, "draws")
    was_training = net.training

    def deltas():
        g, out = grad_out, []
        for layer in reversed(net.layers):
            g = layer.backward(g)
            out.append(np.mean(g ** 2))
        return np.array(out[::-1])

    try:
        net.train()
        sq = np.zeros(len(net))
        for _ in range(draws):
            net(x)
            sq += deltas()
        train = np.sqrt(sq / draws)
        net.eval()
        net(x)
        evaluated = np.sqrt(deltas())
    finally:
        net.train(was_training)
    return train, evaluated
