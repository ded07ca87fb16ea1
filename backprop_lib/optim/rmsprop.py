"""RMSprop: divide each step by a running root-mean-square of recent gradients."""

from __future__ import annotations

import numpy as np

from backprop_lib.optim.optimizer import Optimizer, _check_hyper


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, 2012): like AdaGrad, but the squared gradients are *averaged*
    with exponential forgetting, so the step size does not decay to zero.

    For each parameter θ with gradient g, at step t (PyTorch's formulation):

        g_t = g_t + λ θ_{t-1}                          weight decay λ
        v_t = α v_{t-1} + (1 - α) g_t²                 running mean of g², v_0 = 0
        ḡ_t = α ḡ_{t-1} + (1 - α) g_t                  (centered) running mean of g, ḡ_0 = 0
        σ_t = √(v_t - ḡ_t²) + ε   if centered  else  √v_t + ε
        b_t = μ b_{t-1} + g_t / σ_t                    (momentum μ > 0) b_0 = 0
        θ_t = θ_{t-1} - η b_t   if μ > 0  else  θ_{t-1} - η g_t / σ_t

    ``centered=True`` divides by an estimate of the gradient's standard deviation
    instead of its root mean square.

    Args (names and defaults as ``torch.optim.RMSprop``):
        lr: η (> 0); alpha: α smoothing constant in [0, 1]; eps: ε (>= 0);
        weight_decay: λ (>= 0); momentum: μ (>= 0); centered: bool.

    State per parameter: ``"step"``, ``"square_avg"`` (v_t), ``"grad_avg"`` (ḡ_t, centered)
    and ``"momentum_buffer"`` (b_t, momentum > 0).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_hyper(group, "lr", "RMSprop", positive=True)
        _check_hyper(group, "alpha", "RMSprop", low=0, high=1, hint=" Use alpha=0.99 (the default).")
        _check_hyper(group, "eps", "RMSprop", low=0, hint=" Use eps=1e-8 (the default).")
        _check_hyper(group, "weight_decay", "RMSprop", low=0, hint=" Use weight_decay=0 (none) or e.g. 1e-4.")
        _check_hyper(group, "momentum", "RMSprop", low=0, hint=" Use momentum=0 (none) or e.g. 0.9.")

    def _update(self, p, grad, state, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, mu, centered = group["weight_decay"], group["momentum"], group["centered"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.data)
            if centered:
                state["grad_avg"] = np.zeros_like(p.data)
            if mu > 0:
                state["momentum_buffer"] = np.zeros_like(p.data)
        state["step"] += 1

        g = grad
        if wd != 0:
            g = g + wd * p.data                                       # g_t = g_t + λ θ_{t-1}
        v = alpha * state["square_avg"] + (1 - alpha) * g * g         # v_t = α v_{t-1} + (1 - α) g_t²
        state["square_avg"] = v
        if centered:
            g_mean = alpha * state["grad_avg"] + (1 - alpha) * g      # ḡ_t = α ḡ_{t-1} + (1 - α) g_t
            state["grad_avg"] = g_mean
            sigma = np.sqrt(v - g_mean * g_mean) + eps                # σ_t = √(v_t - ḡ_t²) + ε
        else:
            sigma = np.sqrt(v) + eps                                  # σ_t = √v_t + ε
        if mu > 0:
            b = mu * state["momentum_buffer"] + g / sigma             # b_t = μ b_{t-1} + g_t / σ_t
            state["momentum_buffer"] = b
            p.data -= lr * b                                          # θ_t = θ_{t-1} - η b_t
        else:
            p.data -= lr * g / sigma                                  # θ_t = θ_{t-1} - η g_t / σ_t
