"""AdaGrad: a per-coordinate learning rate that shrinks with the gradients seen so far."""

from __future__ import annotations

import numpy as np

from backprop_lib.optim.optimizer import Optimizer, _check_hyper


class AdaGrad(Optimizer):
    r"""AdaGrad (Duchi et al., 2011): divide each coordinate's step by the root of the sum
    of its squared past gradients.

    For each parameter θ with gradient g, at step t = 1, 2, … (PyTorch's formulation):

        g_t = g_t + λ θ_{t-1}                      weight decay λ
        η_t = η / (1 + (t - 1) δ)                  learning-rate decay δ
        s_t = s_{t-1} + g_t²                       sum of squares, s_0 = initial_accumulator_value
        θ_t = θ_{t-1} - η_t g_t / (√s_t + ε)

    Coordinates with large or frequent gradients get small steps, rare ones large steps.
    Because s_t only grows, the effective step keeps shrinking (RMSprop fixes that).

    Args (names and defaults as ``torch.optim.Adagrad``):
        lr: η (> 0); lr_decay: δ (>= 0); weight_decay: λ (>= 0);
        initial_accumulator_value: s_0 (>= 0); eps: ε (>= 0), added to the denominator.

    State per parameter: ``"step"`` (t) and ``"sum"`` (s_t).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, defaults)

    def _check_group(self, group):
        name = type(self).__name__
        _check_hyper(group, "lr", name, positive=True)
        _check_hyper(group, "lr_decay", name, low=0, hint=" Use lr_decay=0 (none).")
        _check_hyper(group, "weight_decay", name, low=0, hint=" Use weight_decay=0 (none) or e.g. 1e-4.")
        _check_hyper(group, "initial_accumulator_value", name, low=0,
                     hint=" Use initial_accumulator_value=0 (the default) or a small positive value.")
        _check_hyper(group, "eps", name, low=0, hint=" Use eps=1e-10 (the default).")

    def _update(self, p, grad, state, group):
        lr, lr_decay, wd, eps = group["lr"], group["lr_decay"], group["weight_decay"], group["eps"]
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p.data, group["initial_accumulator_value"])
        state["step"] += 1
        t = state["step"]

        g = grad
        if wd != 0:
            g = g + wd * p.data                          # g_t = g_t + λ θ_{t-1}
        lr_t = lr / (1 + (t - 1) * lr_decay)             # η_t = η / (1 + (t - 1) δ)
        s = state["sum"] + g * g                         # s_t = s_{t-1} + g_t²
        state["sum"] = s
        p.data -= lr_t * g / (np.sqrt(s) + eps)          # θ_t = θ_{t-1} - η_t g_t / (√s_t + ε)


Adagrad = AdaGrad  # PyTorch's spelling
