"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

import numpy as np

from backprop_lib.optim.optimizer import Optimizer, _check_hyper


class SGD(Optimizer):
    r"""Gradient descent: step against the gradient, optionally with momentum.

    For each parameter θ with gradient g = ∂L/∂θ, at step t (PyTorch's formulation):

        g_t = g_t + λ θ_{t-1}                      weight decay λ (an L2 penalty λ/2 ‖θ‖²)
        b_t = g_t                                  (t = 1)   momentum buffer
        b_t = μ b_{t-1} + (1 - τ) g_t              (t > 1)   momentum μ, dampening τ
        d_t = g_t + μ b_t   if nesterov  else  b_t        (d_t = g_t when μ = 0)
        θ_t = θ_{t-1} - η d_t                      learning rate η

    Without momentum this is plain gradient descent θ ← θ - η g. Momentum accumulates a
    velocity so that directions with consistent gradients speed up and oscillating ones
    cancel; Nesterov's variant "looks ahead" along the velocity.

    Args (names and defaults as ``torch.optim.SGD``):
        params: ``net.parameters()`` or a list of parameter-group dicts.
        lr: learning rate η (> 0).
        momentum: μ in [0, 1) typically (>= 0).
        dampening: τ, scales down the new gradient inside the buffer (>= 0).
        weight_decay: λ (>= 0), added to the gradient as λ θ.
        nesterov: Nesterov momentum (needs momentum > 0 and dampening = 0).

    State per parameter: ``"momentum_buffer"`` (b_t) when momentum > 0.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_hyper(group, "lr", "SGD", positive=True)
        _check_hyper(group, "momentum", "SGD", low=0,
                     hint=" Use momentum=0 (none) or a value such as 0.9.")
        _check_hyper(group, "dampening", "SGD", low=0, hint=" Use dampening=0 (the default).")
        _check_hyper(group, "weight_decay", "SGD", low=0,
                     hint=" Use weight_decay=0 (none) or a small positive value such as 1e-4.")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov=True needs momentum > 0 and dampening = 0; got "
                f"momentum={group['momentum']}, dampening={group['dampening']}. Set momentum "
                "(e.g. momentum=0.9) and dampening=0, or use nesterov=False."
            )

    def _update(self, p, grad, state, group):
        lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov = group["weight_decay"], group["nesterov"]

        g = grad
        if wd != 0:
            g = g + wd * p.data                                   # g_t = g_t + λ θ_{t-1}
        if mu != 0:
            if "momentum_buffer" not in state:
                b = np.array(g, dtype=p.data.dtype)               # b_1 = g_1
            else:
                b = mu * state["momentum_buffer"] + (1 - tau) * g  # b_t = μ b_{t-1} + (1 - τ) g_t
            state["momentum_buffer"] = b
            g = g + mu * b if nesterov else b                     # d_t = g_t + μ b_t  |  d_t = b_t
        p.data -= lr * g                                          # θ_t = θ_{t-1} - η d_t
