"""Adversarial examples: backprop's gradient with respect to the *input*, turned against the model.

The fast gradient sign method (FGSM, Goodfellow et al. 2015) moves every pixel by ε in the
direction that increases the loss, then clips back to the valid pixel range::

    x′ = clip(x + ε · sign(∇ₓL(x, y)), lo, hi)

The same ε with random signs barely changes the accuracy; the gradient's signs do.

    x_adv = fgsm(net, loss_fn, x, y, epsilon=0.1)              # pixels in [0, 1]
    acc = attack_accuracy(net, loss_fn, x, y, [0, 0.05, 0.1], attack="fgsm")
"""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, as_rng, check_choice, check_number


def input_gradient(net, loss_fn, x, y) -> np.ndarray:
    """∇ₓL: (batch, in), the gradient of the loss with respect to the input (one backward pass).

    Parameter gradients are cleared before and after, so training state is not disturbed.
    """
    x = as_float_array(x, "x", ndim=2)
    net.zero_grad()
    loss_fn(net(x), y)
    grad = net.backward(loss_fn.backward())          # dL/dx, the input's δ
    net.zero_grad()
    return grad


def _check_clip(clip):
    if clip is None:
        return None
    lo, hi = (check_number(c, "clip bound") for c in clip)
    if lo >= hi:
        raise ValueError(f"clip must be (low, high) with low < high; got {clip}.")
    return lo, hi


def fgsm_step(x, grad, epsilon: float, clip=(0.0, 1.0)) -> np.ndarray:
    """``clip(x + ε·sign(grad), *clip)``; ``clip=None`` skips the clipping."""
    x = as_float_array(x, "x")
    grad = as_float_array(grad, "grad")
    if grad.shape != x.shape:
        raise ValueError(f"grad has shape {grad.shape}; expected {x.shape}, the shape of x.")
    epsilon = check_number(epsilon, "epsilon", low=0.0)
    out = x + epsilon * np.sign(grad)
    bounds = _check_clip(clip)
    return out if bounds is None else np.clip(out, *bounds)


def fgsm(net, loss_fn, x, y, epsilon: float, clip=(0.0, 1.0)) -> np.ndarray:
    """FGSM adversarial inputs ``x′ = clip(x + ε sign ∇ₓL, *clip)``, ``x, x′: (batch, in)``."""
    return fgsm_step(x, input_gradient(net, loss_fn, x, y), epsilon, clip)


def random_sign(x, epsilon: float, *, seed=0, clip=(0.0, 1.0)) -> np.ndarray:
    """The baseline: the same ε per pixel, with signs drawn at random (±1, fair coin)."""
    x = as_float_array(x, "x")
    signs = as_rng(seed).choice([-1.0, 1.0], size=x.shape)
    return fgsm_step(x, signs, epsilon, clip)


def attack_accuracy(net, loss_fn, x, y, epsilons, *, attack: str = "fgsm", seed=0,
                    clip=(0.0, 1.0)) -> np.ndarray:
    """Accuracy ``(len(epsilons),)`` of ``net`` on ``x`` moved by ``attack`` (``"fgsm"`` or ``"random"``)."""
    attack = check_choice(attack, "attack", ("fgsm", "random"))
    y = np.asarray(y)
    grad = input_gradient(net, loss_fn, x, y) if attack == "fgsm" else None
    acc = []
    for eps in epsilons:
        x_adv = (fgsm_step(x, grad, eps, clip) if attack == "fgsm"
                 else random_sign(x, eps, seed=seed, clip=clip))
        acc.append(np.mean(net(x_adv).argmax(axis=1) == y))
    return np.array(acc)
