"""Checkers for notebook 16 (the cost of backprop).

* ``16.count_flops``: ``count_flops(sizes, batch)`` returns ``(forward, backward)``, the FLOPs
  of an MLP's Linear layers (a multiply-add = 2 FLOPs): forward B·Σ(2·n_in·n_out + n_out),
  backward B·Σ(4·n_in·n_out + n_out) (dW, dx, db); caught: missing biases, backward = forward,
  a multiply-add counted as one FLOP;
* ``16.accumulate``: ``accumulate_gradients(model, loss_fn, x, y, k)`` splits the batch into k
  equal micro-batches and leaves the full-batch gradient in ``p.grad``; caught: no division by k,
  ``zero_grad`` inside the loop (only the last micro-batch survives), no ``zero_grad`` at all
  (stale gradients added);
* ``16.best_k``: the number of checkpoint segments minimising k + L/k stored activations for
  L = 64 layers (any k from 6 to 11 is within 6 % of the minimum 2√L = 16); caught: 1 (no
  checkpointing, 65) and 64 (a checkpoint at every layer, 65).
"""

from __future__ import annotations

import numbers

import numpy as np

from .core import Incorrect, exercise, require, require_callable

# -- 16.count_flops ------------------------------------------------------------------------

_FLOP_CASES = (([3, 4, 2], 5), ([784, 256, 10], 64), ([2, 16, 16, 1], 32), ([10, 1], 1))


def _flops_ref(sizes, batch):
    fwd = bwd = 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        fwd += batch * (2 * n_in * n_out + n_out)         # x Wᵀ (multiply-adds) + b
        bwd += batch * (4 * n_in * n_out + n_out)         # gᵀx, gW, Σ g
    return fwd, bwd


def _flops_library(sizes, batch):
    from ..nn.cost import count_flops

    c = count_flops(sizes, batch)
    return c.forward, c.backward


def _wrong_no_bias(sizes, batch):
    fwd = sum(2 * batch * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return fwd, 2 * fwd


def _wrong_backward_equals_forward(sizes, batch):
    fwd, _ = _flops_ref(sizes, batch)
    return fwd, fwd


def _wrong_one_flop_per_madd(sizes, batch):
    fwd = sum(batch * (a * b + b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    bwd = sum(batch * (2 * a * b + b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return fwd, bwd


def _pair(answer, sizes, batch):
    got = answer(list(sizes), batch)
    require(got is not None, "count_flops returned None.", "Return a pair: return forward, backward.")
    try:
        fwd, bwd = (float(v) for v in got)
    except (TypeError, ValueError) as err:
        raise Incorrect(f"count_flops should return two numbers (forward, backward); got {got!r}.",
                        "End with `return forward, backward`.") from err
    return fwd, bwd


@exercise(
    "16.count_flops", "Counting the FLOPs of forward and backward",
    right=[_flops_ref, _flops_library],
    wrong={"missing biases": _wrong_no_bias, "backward = forward": _wrong_backward_equals_forward,
           "a multiply-add as 1 FLOP": _wrong_one_flop_per_madd},
    success="Forward ≈ 2BW, backward ≈ 4BW: the backward pass does two matrix products per layer.",
)
def _check_count_flops(answer):
    require_callable(answer, "count_flops")
    for sizes, batch in _FLOP_CASES:
        fwd, bwd = _pair(answer, sizes, batch)
        ref_f, ref_b = _flops_ref(sizes, batch)
        where = f"count_flops({list(sizes)}, batch={batch})"
        if fwd != ref_f:
            if fwd == _wrong_no_bias(sizes, batch)[0]:
                raise Incorrect(f"{where}: your forward count {fwd:.0f} leaves out the biases "
                                f"(expected {ref_f}).",
                                "y = x Wᵀ + b: each of the B·n_out outputs also gets one bias addition.")
            if fwd == _wrong_one_flop_per_madd(sizes, batch)[0]:
                raise Incorrect(f"{where}: your forward count {fwd:.0f} is about half of {ref_f}.",
                                "A multiply-add is 2 FLOPs: x Wᵀ costs 2·B·n_in·n_out.")
            raise Incorrect(f"{where}: forward = {fwd:.0f}; expected {ref_f}.",
                            "Per layer: 2·B·n_in·n_out for x Wᵀ plus B·n_out for the bias.")
        if bwd != ref_b:
            if bwd == fwd:
                raise Incorrect(f"{where}: your backward count equals the forward count ({fwd:.0f}); "
                                f"expected {ref_b}.",
                                "Backward does two matrix products per layer, dW = gᵀx and dx = gW, "
                                "each as big as the forward's x Wᵀ, plus db = Σ g.")
            raise Incorrect(f"{where}: backward = {bwd:.0f}; expected {ref_b}.",
                            "Per layer: 2·B·n_in·n_out (dW) + 2·B·n_in·n_out (dx) + B·n_out (db).")


# -- 16.accumulate -------------------------------------------------------------------------

def _accumulate_ref(model, loss_fn, x, y, k):
    model.zero_grad()                                     # once, before the micro-batches
    for xb, yb in zip(np.array_split(x, k), np.array_split(y, k), strict=True):
        loss_fn(model(xb), yb)
        model.backward(loss_fn.backward() / k)            # ∇(L_j / k), summed into p.grad


def _accumulate_scaled_loss(model, loss_fn, x, y, k):
    for p in model.parameters():
        p.grad = None
    m = len(x) // k
    for j in range(k):
        out = model(x[j * m:(j + 1) * m])
        loss_fn(out, y[j * m:(j + 1) * m])
        g = loss_fn.backward()
        model.backward(g * (1.0 / k))


def _wrong_no_division(model, loss_fn, x, y, k):
    model.zero_grad()
    for xb, yb in zip(np.array_split(x, k), np.array_split(y, k), strict=True):
        loss_fn(model(xb), yb)
        model.backward(loss_fn.backward())


def _wrong_zero_grad_inside(model, loss_fn, x, y, k):
    for xb, yb in zip(np.array_split(x, k), np.array_split(y, k), strict=True):
        model.zero_grad()
        loss_fn(model(xb), yb)
        model.backward(loss_fn.backward() / k)


def _wrong_no_zero_grad(model, loss_fn, x, y, k):
    for xb, yb in zip(np.array_split(x, k), np.array_split(y, k), strict=True):
        loss_fn(model(xb), yb)
        model.backward(loss_fn.backward() / k)


def _flat(model):
    grads = [p.grad for p in model.parameters()]
    if any(g is None for g in grads):
        return None
    return np.concatenate([np.ravel(g) for g in grads])


def _setup(k, seed):
    from ..nn import MSELoss, mlp

    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(16 * k, 3)), rng.normal(size=(16 * k, 2))
    return mlp([3, 8, 2], activation="tanh", seed=seed), MSELoss(), x, y


def _full_batch(k, seed):
    model, loss_fn, x, y = _setup(k, seed)
    loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    return _flat(model)


@exercise(
    "16.accumulate", "Gradient accumulation",
    right=[_accumulate_ref, _accumulate_scaled_loss],
    wrong={"no division by k": _wrong_no_division, "zero_grad inside the loop": _wrong_zero_grad_inside,
           "no zero_grad": _wrong_no_zero_grad},
    success="k micro-batches of B, each loss divided by k, give exactly the gradient of one batch of kB.",
)
def _check_accumulate(answer):
    require_callable(answer, "accumulate_gradients")
    for k, seed in ((4, 0), (2, 1), (8, 2)):
        model, loss_fn, x, y = _setup(k, seed)
        for p in model.parameters():                      # left over from an earlier step
            p.grad = np.full_like(p.data, 0.5)
        answer(model, loss_fn, x, y, k)
        got = _flat(model)
        require(got is not None, "some parameter has no gradient (p.grad is None) after your function.",
                "Call model.backward(...) for every micro-batch.")
        full = _full_batch(k, seed)
        if np.allclose(got, full, rtol=1e-9, atol=1e-12):
            continue
        where = f"(k = {k} micro-batches of 16)"
        if np.allclose(got, k * full, rtol=1e-9, atol=1e-12):
            raise Incorrect(f"Your gradient is {k} times the full-batch gradient {where}.",
                            "Each micro-batch loss is a mean over 16 samples; the batch loss is the mean of "
                            "the k of them: divide each micro-batch's gradient (or loss) by k.")
        stale = 0.5 * np.ones_like(full)
        if np.allclose(got, full + stale, rtol=1e-9, atol=1e-12) or np.allclose(got, k * full + stale):
            raise Incorrect(f"Your gradient still contains the values that were in p.grad before {where}.",
                            "backward adds into p.grad: call model.zero_grad() once, before the loop.")
        last, loss_fn2, xl, yl = _setup(k, seed)
        loss_fn2(last(np.array_split(xl, k)[-1]), np.array_split(yl, k)[-1])
        last.backward(loss_fn2.backward() / k)
        if np.allclose(got, _flat(last), rtol=1e-9, atol=1e-12):
            raise Incorrect(f"Your gradient is only the last micro-batch's (divided by k) {where}.",
                            "zero_grad inside the loop erases what the earlier micro-batches added: "
                            "zero once before the loop, step (and zero) after all k.")
        i = int(np.argmax(np.abs(got - full)))
        raise Incorrect(f"Entry {i} of your accumulated gradient is {got[i]:.6g}; the full batch gives "
                        f"{full[i]:.6g} {where}.",
                        "Zero once; for each of the k micro-batches: forward, loss, backward of dL/dout / k.")


# -- 16.best_k -------------------------------------------------------------------------------

_L = 64


def _memory(k):
    return k + _L / k                                     # saved inputs + one segment's activations


@exercise(
    "16.best_k", "The best number of checkpoint segments",
    right=[8, 6, 11, 9.0, int(round(np.sqrt(_L)))],
    wrong={"no checkpointing": 1, "a checkpoint at every layer": 64, "L/2": 32, "one too few": 5,
           "not a whole number": 8.5},
)
def _check_best_k(answer):
    require(isinstance(answer, numbers.Real) and not isinstance(answer, bool),
            f"best_k should be a whole number of segments; got {answer!r}.")
    require(float(answer).is_integer(), f"best_k should be a whole number of segments; got {answer}.",
            "A network is cut into an integer number of segments.")
    k = int(answer)
    require(1 <= k <= _L, f"k must be between 1 and L = {_L}; got {k}.")
    best = 2 * np.sqrt(_L)
    if k == 1:
        raise Incorrect(f"k = 1 is no checkpointing: the one segment stores all {_L} activations "
                        f"(k + L/k = {_memory(1):.0f}).",
                        "More segments store fewer activations each, until the saved inputs dominate.")
    if k == _L:
        raise Incorrect(f"k = {_L} saves the input of every layer: {_L} saved inputs plus one "
                        f"(k + L/k = {_memory(k):.0f}), no better than no checkpointing.",
                        "Balance the two terms: k saved inputs against L/k activations in a segment.")
    if _memory(k) > 1.06 * best:                          # within 6 %: k = 6 … 11
        raise Incorrect(f"k = {k} stores k + L/k = {_memory(k):.1f} activations; the minimum is "
                        f"{best:.0f}.",
                        "Minimise f(k) = k + L/k: f′(k) = 1 − L/k² = 0.")
