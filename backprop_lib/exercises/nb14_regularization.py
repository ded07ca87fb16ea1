"""Checkers for notebook 14 (regularization through backprop).

* ``14.dropout``: the pair ``(dropout_forward, dropout_backward)`` of inverted dropout:
  ``dropout_forward(x, p, rng) -> (out, cache)`` keeps each entry with probability 1 − p and
  scales the kept ones by 1/(1 − p); ``dropout_backward(dout, cache) -> dx`` reuses the forward's
  mask. Caught: no 1/(1 − p), a new mask drawn in backward, p used as the keep probability, the
  scale forgotten in backward only, the global RNG;
* ``14.batchnorm_backward``: ``batchnorm_backward(dy, x, gamma, eps) -> (dx, dgamma, dbeta)`` for
  ``y = γ x̂ + β`` with batch statistics, ``x: (N, D)``. Caught: μ and σ held constant
  (dx = γ dy/σ), σ held constant (only the mean's term), dγ = Σ dy (x̂ forgotten), the unbiased
  variance;
* ``14.adamw_step``: one AdamW step ``adamw_step(theta, grad, m, v, t, lr, betas, eps,
  weight_decay) -> (theta, m, v)`` as ``torch.optim.AdamW``. Caught: the decay added to the
  gradient (Adam's L2), decay without the learning rate, no bias correction, decaying the
  already-updated weights.

The references are ``bp.nn.BatchNorm1d`` and ``bp.optim.AdamW`` (both tested against PyTorch).
"""

from __future__ import annotations

import copy

import numpy as np

from .core import Incorrect, exercise, require, require_callable

# -- 14.dropout ----------------------------------------------------------------------------------


def _dropout_forward_ref(x, p, rng):
    mask = rng.random(x.shape) >= p                     # keep with probability 1 − p
    return x * mask / (1 - p), (mask, p)                # y = x ⊙ m / (1 − p)


def _dropout_backward_ref(dout, cache):
    mask, p = cache
    return dout * mask / (1 - p)                        # dx = dy ⊙ m / (1 − p), the same mask


def _dropout_forward_layer(x, p, rng):                  # bp.nn.Dropout as the learner's answer
    from ..nn.dropout import Dropout

    layer = Dropout(p, seed=rng)
    return layer(x), layer


def _dropout_backward_layer(dout, layer):
    return layer.backward(dout)


def _wrong_forward_unscaled(x, p, rng):
    mask = rng.random(x.shape) >= p
    return x * mask, (mask, p)


def _wrong_backward_unscaled(dout, cache):
    mask, _ = cache
    return dout * mask


def _wrong_forward_keeps_rng(x, p, rng):
    mask = rng.random(x.shape) >= p
    return x * mask / (1 - p), (p, rng)


def _wrong_backward_new_mask(dout, cache):
    p, rng = cache
    mask = rng.random(dout.shape) >= p                  # a second, different mask
    return dout * mask / (1 - p)


def _wrong_forward_keep_p(x, p, rng):
    mask = rng.random(x.shape) < p                      # keeps with probability p
    return x * mask / p, (mask, p)


def _wrong_backward_keep_p(dout, cache):
    mask, p = cache
    return dout * mask / p


def _wrong_forward_global_rng(x, p, rng):
    mask = np.random.default_rng().random(x.shape) >= p
    return x * mask / (1 - p), (mask, p)


def _call_forward(forward, x, p, seed):
    got = forward(x.copy(), p, np.random.default_rng(seed))
    require(isinstance(got, (tuple, list)) and len(got) == 2,
            "dropout_forward should return a pair (out, cache).",
            "End with `return out, cache`, where cache holds what backward needs (the mask and p).")
    out, cache = got
    require(out is not None, "dropout_forward returned None as out.")
    out = np.asarray(out, dtype=float)
    require(out.shape == x.shape, f"dropout_forward returned out of shape {out.shape}; expected {x.shape}.",
            "Dropout works entry by entry: the output has the input's shape.")
    return out, cache


def _check_dropout_forward(forward, x, p, seed):
    out, cache = _call_forward(forward, x, p, seed)
    kept = ~np.isclose(out, 0.0, rtol=0, atol=1e-300)
    scale = out[kept] / x[kept]
    if np.allclose(scale, 1.0, rtol=1e-9):
        raise Incorrect(
            "the kept entries come out unchanged: out = x ⊙ m. Then E[out] = (1 − p)·x, so the next layer "
            "sees smaller inputs in training than in evaluation, where dropout is off.",
            "Inverted dropout divides the kept entries by 1 − p: out = x ⊙ m / (1 − p), so E[out] = x.")
    if np.allclose(scale, 1.0 / p, rtol=1e-9):
        raise Incorrect("the kept entries are divided by p: you treated p as the keep probability. The "
                        "expected value needs 1 − p, the probability of keeping an entry.",
                        "p is the probability of dropping an entry.")
    require(np.allclose(scale, 1.0 / (1.0 - p), rtol=1e-9),
            f"every kept entry should be x / (1 − p) = x · {1 / (1 - p):.4g}; yours are scaled by "
            f"{np.min(scale):.4g} … {np.max(scale):.4g}.",
            "out = x * mask / (1 - p), with mask a boolean (or 0/1) array.")
    dropped = 1.0 - kept.mean()
    se = np.sqrt(p * (1 - p) / x.size)
    if abs(dropped - (1 - p)) < 5 * se and abs(p - 0.5) > 10 * se:
        raise Incorrect(f"with p = {p} you dropped {dropped:.1%} of the entries: you kept each with "
                        "probability p.", "p is the drop probability: keep where rng.random(...) >= p.")
    require(abs(dropped - p) < 5 * se,
            f"with p = {p} you dropped {dropped:.1%} of the entries; expected {p:.0%} (± {5 * se:.1%}).",
            "Keep each entry independently with probability 1 − p: mask = rng.random(x.shape) >= p.")
    again, _ = _call_forward(forward, x, p, seed)
    other, _ = _call_forward(forward, x, p, seed + 1)
    require(np.array_equal(out, again) and not np.array_equal(out, other),
            "dropout_forward does not draw its mask from the rng it is given (the same seed gave different "
            "masks, or different seeds the same mask).",
            "Use rng.random(x.shape), not np.random.rand or a new generator.")
    return out, cache


@exercise(
    "14.dropout", "Inverted dropout: forward and backward",
    right=[(_dropout_forward_ref, _dropout_backward_ref), (_dropout_forward_layer, _dropout_backward_layer)],
    wrong={
        "no 1/(1-p)": (_wrong_forward_unscaled, _wrong_backward_unscaled),
        "new mask in backward": (_wrong_forward_keeps_rng, _wrong_backward_new_mask),
        "p as keep probability": (_wrong_forward_keep_p, _wrong_backward_keep_p),
        "1/(1-p) forgotten in backward": (_dropout_forward_ref, _wrong_backward_unscaled),
        "global RNG": (_wrong_forward_global_rng, _dropout_backward_ref),
    },
    success="y = x ⊙ m/(1 − p) and dx = dy ⊙ m/(1 − p) with the same m: dropout's backward is its "
            "forward, applied to the gradient.",
)
def _check_dropout(answer):
    require(isinstance(answer, (tuple, list)) and len(answer) == 2,
            "pass the pair of functions: (dropout_forward, dropout_backward).")
    forward, backward = answer
    require_callable(forward, "dropout_forward")
    require_callable(backward, "dropout_backward")
    rng = np.random.default_rng(14)
    for p in (0.3, 0.75):
        x = rng.normal(size=(200, 50))
        out, cache = _check_dropout_forward(forward, x, p, seed=int(1000 * p))
        _, later_cache = _call_forward(forward, x, p, seed=7)          # a later forward pass
        dout = rng.normal(size=x.shape)
        dx = backward(dout.copy(), cache)
        require(dx is not None, "dropout_backward returned None.", "Did you forget a `return`?")
        dx = np.asarray(dx, dtype=float)
        require(dx.shape == x.shape, f"dropout_backward returned shape {dx.shape}; expected {x.shape}.")
        kept = ~np.isclose(out, 0.0, rtol=0, atol=1e-300)
        passed = ~np.isclose(dx, 0.0, rtol=0, atol=1e-300)
        if not np.array_equal(kept, passed):
            raise Incorrect(
                "dx is zero at other entries than the forward output: the backward pass used a different "
                "mask from the one forward applied (a new mask, or the mask of a later forward pass).",
                "The gradient flows back only through the entries that were kept: store the forward's mask "
                "in the cache and reuse it, dx = dout * mask / (1 - p).")
        ratio = dx[kept] / dout[kept]
        if np.allclose(ratio, 1.0, rtol=1e-9):
            raise Incorrect("dx = dout ⊙ m: the backward pass forgot the 1/(1 − p) that the forward applied.",
                            "y = x·m/(1 − p) is linear in x with slope m/(1 − p), so dx = dout·m/(1 − p).")
        require(np.allclose(ratio, 1.0 / (1.0 - p), rtol=1e-9),
                f"dx should be dout · m/(1 − p) = dout · {1 / (1 - p):.4g} where kept; yours is dout × "
                f"{np.min(ratio):.4g} … {np.max(ratio):.4g}.",
                "The backward of y = x ⊙ m/(1 − p) multiplies by the same m/(1 − p).")
        dx_later = np.asarray(backward(dout.copy(), later_cache), dtype=float)
        later_kept = ~np.isclose(_call_forward(forward, x, p, seed=7)[0], 0.0, rtol=0, atol=1e-300)
        require(np.array_equal(~np.isclose(dx_later, 0.0, rtol=0, atol=1e-300), later_kept),
                "with the cache of a later forward pass, dx should follow that pass's mask.",
                "Keep the mask in the cache that forward returns (not in a global variable).")


# -- 14.batchnorm_backward ---------------------------------------------------------------------


def _bn_stats(x, eps):
    mu = x.mean(axis=0)
    var = x.var(axis=0)                                 # biased, as PyTorch in training mode
    inv_std = 1.0 / np.sqrt(var + eps)
    return mu, inv_std, (x - mu) * inv_std


def _batchnorm_backward_ref(dy, x, gamma, eps=1e-5):
    n = x.shape[0]
    _, inv_std, x_hat = _bn_stats(x, eps)
    dbeta = dy.sum(axis=0)                              # dβ = Σ dy
    dgamma = (dy * x_hat).sum(axis=0)                   # dγ = Σ dy x̂
    dx_hat = gamma * dy
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


def _batchnorm_backward_layer(dy, x, gamma, eps=1e-5):  # bp.nn.BatchNorm1d as the learner's answer
    from ..nn.normalization import BatchNorm1d

    bn = BatchNorm1d(x.shape[1], eps=eps)
    bn.weight.data[...] = gamma
    bn(x)
    dx = bn.backward(dy)
    return dx, bn.weight.grad, bn.bias.grad


def _batchnorm_backward_staged(dy, x, gamma, eps=1e-5):  # the computational graph, node by node
    n = x.shape[0]
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc ** 2).mean(axis=0)
    std = np.sqrt(var + eps)
    x_hat = xc / std
    dx_hat = gamma * dy
    dstd = -(dx_hat * xc).sum(axis=0) / std ** 2
    dvar = dstd / (2 * std)
    dxc = dx_hat / std + 2 * xc * dvar / n
    dmu = -dxc.sum(axis=0)
    return dxc + dmu / n, (dy * x_hat).sum(axis=0), dy.sum(axis=0)


def _wrong_constant_stats(dy, x, gamma, eps=1e-5):
    _, inv_std, x_hat = _bn_stats(x, eps)
    return gamma * dy * inv_std, (dy * x_hat).sum(axis=0), dy.sum(axis=0)


def _wrong_constant_sigma(dy, x, gamma, eps=1e-5):
    _, inv_std, x_hat = _bn_stats(x, eps)
    dx_hat = gamma * dy
    return (dx_hat - dx_hat.mean(axis=0)) * inv_std, (dy * x_hat).sum(axis=0), dy.sum(axis=0)


def _wrong_dgamma_sum(dy, x, gamma, eps=1e-5):
    dx, _, dbeta = _batchnorm_backward_ref(dy, x, gamma, eps)
    return dx, dy.sum(axis=0), dbeta


def _wrong_unbiased(dy, x, gamma, eps=1e-5):
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    inv_std = 1.0 / np.sqrt((xc ** 2).sum(axis=0) / (n - 1) + eps)
    x_hat = xc * inv_std
    dx_hat = gamma * dy
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0) * n / (n - 1))
    return dx, (dy * x_hat).sum(axis=0), dy.sum(axis=0)


def _close(a, b, rtol=1e-8) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b), initial=1.0))


def _bn_case(n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=rng.normal(size=d), scale=rng.uniform(0.5, 3.0, size=d), size=(n, d))
    return rng.normal(size=(n, d)), x, rng.normal(size=d)


@exercise(
    "14.batchnorm_backward", "Batch norm backward",
    right=[_batchnorm_backward_ref, _batchnorm_backward_layer, _batchnorm_backward_staged],
    wrong={
        "mu and sigma held constant": _wrong_constant_stats,
        "sigma held constant": _wrong_constant_sigma,
        "dgamma = sum dy": _wrong_dgamma_sum,
        "unbiased variance": _wrong_unbiased,
    },
    success="dx = γ/(Nσ)·(N dy − Σdy − x̂ Σ dy x̂): the three terms are x's own path and its paths "
            "through μ and σ, which every example of the batch shares.",
)
def _check_batchnorm_backward(answer):
    require_callable(answer, "batchnorm_backward")
    for n, d, seed in ((16, 3, 0), (5, 4, 1), (64, 2, 2)):
        dy, x, gamma = _bn_case(n, d, seed)
        got = answer(dy.copy(), x.copy(), gamma.copy(), 1e-5)
        require(isinstance(got, (tuple, list)) and len(got) == 3,
                "batchnorm_backward should return three arrays (dx, dgamma, dbeta).",
                "End with `return dx, dgamma, dbeta`.")
        dx, dgamma, dbeta = got
        for name, value in (("dx", dx), ("dgamma", dgamma), ("dbeta", dbeta)):
            require(value is not None, f"{name} is None.", "Compute all three gradients.")
        want_dx, want_dgamma, want_dbeta = _batchnorm_backward_ref(dy, x, gamma, 1e-5)
        require(np.shape(dbeta) == want_dbeta.shape and _close(dbeta, want_dbeta),
                f"dbeta is wrong (shape {np.shape(dbeta)}; expected {want_dbeta.shape}, Σ over the batch "
                "of dy).",
                "β is added to every example: its gradient sums dy over the batch axis (axis=0).")
        unbiased = _wrong_unbiased(dy, x, gamma)
        if _close(dgamma, unbiased[1]) or _close(dx, unbiased[0]):
            raise Incorrect("your x̂ uses the unbiased variance (÷ N − 1); batch norm normalizes with the "
                            "biased one (÷ N), as PyTorch does in training mode.", "Use x.var(axis=0).")
        if _close(dgamma, dy.sum(axis=0)):
            raise Incorrect("dgamma = Σ dy: γ multiplies x̂, so its gradient is Σ dy · x̂.",
                            "y = γ x̂ + β ⇒ ∂y/∂γ = x̂.")
        require(np.shape(dgamma) == want_dgamma.shape and _close(dgamma, want_dgamma),
                "dgamma is wrong; expected Σ_batch dy · x̂, one number per feature.",
                "x̂ = (x − μ)/√(σ² + eps) with the batch's mean and biased variance.")
        require(np.shape(dx) == x.shape, f"dx has shape {np.shape(dx)}; expected {x.shape}.")
        if _close(dx, _wrong_constant_stats(dy, x, gamma)[0]):
            raise Incorrect(
                "dx = γ·dy/σ: that treats μ and σ as constants. In training mode they are computed from the "
                "batch, so every x_i moves them, and through them every output of the feature.",
                "Add the two paths through μ and σ: dx = γ/(Nσ)·(N dy − Σ dy − x̂ Σ dy·x̂). A check: Σ_i dx_i "
                "must be 0 per feature (shifting the whole batch changes nothing after normalization).")
        if _close(dx, _wrong_constant_sigma(dy, x, gamma)[0]):
            raise Incorrect("your dx includes the path through μ but treats σ as a constant.",
                            "σ² = mean((x − μ)²) depends on every x_i too: it adds the term "
                            "−x̂ Σ(γ dy · x̂)/(Nσ).")
        if not _close(dx, want_dx):
            sums = np.abs(np.asarray(dx, dtype=float).sum(axis=0)).max()
            hint = ("Your Σ_i dx_i is not 0 per feature, but it must be: adding a constant to a whole "
                    "feature does not change x̂." if sums > 1e-8 * np.abs(want_dx).max() else
                    "Check the term through σ: −x̂ · Σ(γ dy · x̂), divided by N σ.")
            raise Incorrect(f"dx is wrong for a batch of shape {x.shape}.", hint)


# -- 14.adamw_step -----------------------------------------------------------------------------


def _adamw_step_ref(theta, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    beta1, beta2 = betas
    theta = theta * (1 - lr * weight_decay)             # decoupled decay: θ ← θ(1 − ηλ)
    m = beta1 * m + (1 - beta1) * grad                  # m_t
    v = beta2 * v + (1 - beta2) * grad ** 2             # v_t
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adamw_step_inplace(theta, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    beta1, beta2 = betas                                # torch's order of operations, in place
    theta *= 1 - lr * weight_decay
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    step_size = lr / (1 - beta1 ** t)
    denom = np.sqrt(v) / np.sqrt(1 - beta2 ** t) + eps
    theta -= step_size * m / denom
    return theta, m, v


def _wrong_decay_in_grad(theta, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return _adamw_step_ref(theta, grad + weight_decay * theta, m, v, t, lr, betas, eps, 0.0)


def _wrong_decay_without_lr(theta, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return _adamw_step_ref(theta * (1 - weight_decay), grad, m, v, t, lr, betas, eps, 0.0)


def _wrong_no_bias_correction(theta, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                              weight_decay=1e-2):
    beta1, beta2 = betas
    theta = theta * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return theta - lr * m / (np.sqrt(v) + eps), m, v


def _wrong_decay_after(theta, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    new, m, v = _adamw_step_ref(theta, grad, m, v, t, lr, betas, eps, 0.0)
    return new * (1 - lr * weight_decay), m, v


_ADAMW_HYPER = dict(lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.5)


def _reference_run(theta0, grads, hyper):
    from ..nn.module import Parameter
    from ..optim.adam import AdamW

    p = Parameter(np.array(theta0))
    opt = AdamW([p], **hyper)
    path = []
    for g in grads:
        p.grad = np.array(g)
        opt.step()
        path.append(p.data.copy())
    return path


def _run(step, theta0, grads, hyper):
    theta, m, v = np.array(theta0), np.zeros_like(theta0), np.zeros_like(theta0)
    path = []
    for t, g in enumerate(grads, start=1):
        got = step(theta.copy(), g.copy(), m.copy(), v.copy(), t, **copy.deepcopy(hyper))
        if not (isinstance(got, (tuple, list)) and len(got) == 3):
            raise Incorrect("adamw_step should return three arrays (theta, m, v).",
                            "End with `return theta, m, v` (the new values).")
        theta, m, v = (np.array(a, dtype=float) for a in got)
        if theta.shape != theta0.shape:
            raise Incorrect(f"adamw_step returned theta of shape {theta.shape}; expected {theta0.shape}.")
        path.append(theta.copy())
    return path


@exercise(
    "14.adamw_step", "One AdamW step",
    right=[_adamw_step_ref, _adamw_step_inplace],
    wrong={
        "decay added to g (Adam's L2)": _wrong_decay_in_grad,
        "decay without lr": _wrong_decay_without_lr,
        "no bias correction": _wrong_no_bias_correction,
        "decay of the updated weights": _wrong_decay_after,
    },
    success="θ ← θ(1 − ηλ) − η m̂/(√v̂ + ε): the decay never enters m and v, so every weight shrinks "
            "by the same factor whatever its gradients.",
)
def _check_adamw_step(answer):
    require_callable(answer, "adamw_step")
    rng = np.random.default_rng(3)
    theta0 = rng.normal(size=6) * np.array([3.0, 1.0, 0.1, 3.0, 1.0, 0.1])
    grads = [rng.normal(size=6) * np.array([1.0, 1.0, 1.0, 1e-3, 1e-3, 1e-3]) for _ in range(6)]
    want = _reference_run(theta0, grads, _ADAMW_HYPER)
    got = _run(answer, theta0, grads, _ADAMW_HYPER)
    wrongs = (
        (_wrong_decay_in_grad,
         "you added λθ to the gradient: that is Adam's L2 (torch.optim.Adam's weight_decay). The decay then "
         "goes through m and v and is divided by √v̂, so weights with small gradients are decayed hard and "
         "weights with large gradients hardly at all.",
         "AdamW decays the weights themselves: θ ← θ(1 − ηλ), then the Adam step with the plain gradient."),
        (_wrong_decay_without_lr,
         "you shrink θ by (1 − λ); AdamW (PyTorch's) shrinks it by (1 − ηλ), the decay scaled by the "
         "learning rate.",
         "theta = theta * (1 - lr * weight_decay)."),
        (_wrong_no_bias_correction,
         "your step skips the bias correction: m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ) (t counts from 1).",
         "Without it the first steps are off by (1 − β₁)/√(1 − β₂) ≈ 3.2."),
        (_wrong_decay_after,
         "you decay the weights after the Adam update; AdamW decays θ_{t−1}, the weights before this step.",
         "Shrink first, θ ← θ(1 − ηλ), then subtract η m̂/(√v̂ + ε)."),
    )
    if all(_close(a, b, rtol=1e-10) for a, b in zip(got, want, strict=True)):
        return
    for wrong, message, hint in wrongs:
        if all(_close(a, b, rtol=1e-10) for a, b in zip(got, _run(wrong, theta0, grads, _ADAMW_HYPER),
                                                        strict=True)):
            raise Incorrect(message, hint)
    first_bad = next(i for i, (a, b) in enumerate(zip(got, want, strict=True))
                     if not _close(a, b, rtol=1e-10))
    raise Incorrect(f"theta differs from torch.optim.AdamW's after step {first_bad + 1}.",
                    "Follow the update: θ ← θ(1 − ηλ); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; "
                    "θ ← θ − η m̂/(√v̂ + ε).")
