"""Adam and AdamW: momentum plus a per-coordinate RMS scale, with bias correction."""

from __future__ import annotations

import numbers

import numpy as np

from backprop_lib.optim.optimizer import Optimizer, _check_hyper


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015): a running mean of the gradient (momentum) divided by a
    running root mean square of the gradient (RMSprop), both bias-corrected.

    For each parameter θ with gradient g, at step t = 1, 2, … (PyTorch's formulation):

        g_t = g_t + λ θ_{t-1}                      weight decay λ (Adam: an L2 term in g)
        m_t = β₁ m_{t-1} + (1 - β₁) g_t            first moment, m_0 = 0
        v_t = β₂ v_{t-1} + (1 - β₂) g_t²           second moment, v_0 = 0
        v̂ᵐᵃˣ_t = max(v̂ᵐᵃˣ_{t-1}, v_t)              (amsgrad) use it in place of v_t below
        m̂_t = m_t / (1 - β₁ᵗ)                      bias correction
        v̂_t = v_t / (1 - β₂ᵗ)                      bias correction
        θ_t = θ_{t-1} - η m̂_t / (√v̂_t + ε)

    **Why bias correction.** m and v start at 0, so early on they are biased towards 0:
    after one step m_1 = (1 - β₁) g, v_1 = (1 - β₂) g². Dividing by (1 - βᵗ) removes that
    bias; then the first step is ≈ η·sign(g). Without it (``bias_correction=False``) the
    first step is ≈ η (1 - β₁)/√(1 - β₂) ≈ 3.2 η with the default betas, and the ratio
    changes over the first ~1/(1 - β₂) = 1000 steps.

    Args (names and defaults as ``torch.optim.Adam``):
        lr: η (> 0); betas: (β₁, β₂), each in [0, 1); eps: ε (>= 0);
        weight_decay: λ (>= 0); amsgrad: keep the running maximum of v (Reddi et al., 2018).
        bias_correction: **not in torch**, for teaching: ``False`` skips the two bias
            corrections (m̂ = m, v̂ = v) so the course can show what goes wrong without them.

    State per parameter: ``"step"`` (t), ``"exp_avg"`` (m_t), ``"exp_avg_sq"`` (v_t) and
    ``"max_exp_avg_sq"`` (amsgrad).
    """

    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                 *, bias_correction=True):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, bias_correction=bias_correction)
        super().__init__(params, defaults)

    def _check_group(self, group):
        name = type(self).__name__
        _check_hyper(group, "lr", name, positive=True)
        _check_hyper(group, "eps", name, low=0, hint=" Use eps=1e-8 (the default).")
        _check_hyper(group, "weight_decay", name, low=0, hint=" Use weight_decay=0 (none) or e.g. 1e-4.")
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2
                and all(isinstance(b, numbers.Real) and not isinstance(b, bool) for b in betas)):
            raise TypeError(
                f"{name}: betas must be a pair of numbers (beta1, beta2), e.g. betas=(0.9, 0.999); "
                f"got {betas!r}."
            )
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(
                    f"{name}: betas[{i}] (beta{i + 1}) must lie in [0, 1); got {beta!r}. A beta of 1 "
                    "never forgets the initial zero and a beta above 1 diverges; use betas=(0.9, 0.999)."
                )
        group["betas"] = (float(betas[0]), float(betas[1]))

    def _update(self, p, grad, state, group):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]

        g = grad
        if wd != 0:
            if self.decoupled_weight_decay:
                p.data *= 1 - lr * wd                             # AdamW: θ ← θ - η λ θ
            else:
                g = g + wd * p.data                               # Adam: g_t = g_t + λ θ_{t-1}
        m = beta1 * state["exp_avg"] + (1 - beta1) * g            # m_t = β₁ m_{t-1} + (1 - β₁) g_t
        v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g     # v_t = β₂ v_{t-1} + (1 - β₂) g_t²
        state["exp_avg"], state["exp_avg_sq"] = m, v
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v)            # v_t ← max(v_{t-1}^max, v_t)
            state["max_exp_avg_sq"] = v
        if group["bias_correction"]:
            m_hat = m / (1 - beta1**t)                            # m̂_t = m_t / (1 - β₁ᵗ)
            v_hat = v / (1 - beta2**t)                            # v̂_t = v_t / (1 - β₂ᵗ)
        else:
            m_hat, v_hat = m, v                                   # (teaching) no bias correction
        p.data -= lr * m_hat / (np.sqrt(v_hat) + eps)             # θ_t = θ_{t-1} - η m̂_t / (√v̂_t + ε)


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with *decoupled* weight decay.

    Adam's ``weight_decay`` adds λθ to the gradient, so the decay is rescaled by the
    adaptive denominator (weights with large gradients are barely decayed). AdamW
    instead shrinks the weights directly, before the Adam step:

        θ_{t-1} ← θ_{t-1} - η λ θ_{t-1}            decoupled weight decay
        (then the Adam update above, with g_t the plain gradient)

    Same arguments as ``Adam``; ``weight_decay`` defaults to 1e-2 as in ``torch.optim.AdamW``.
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 *, bias_correction=True):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, bias_correction=bias_correction)
