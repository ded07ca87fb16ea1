"""Checkers for notebook 05 (backpropagation in matrix form).

* ``05.backward_2layer``: the gradients of a 2-layer sigmoid network with the mean squared error,
  batch-first (rows are samples): X: (B, n), Y: (B, 1), W1: (m, n), b1: (m,), W2: (1, m), b2: (1,);
  A1 = σ(X W1ᵀ + b1), A2 = σ(A1 W2ᵀ + b2), L = mean((A2 − Y)²) (``bp.nn.MSELoss``, torch's default);
  returns (dW1, db1, dW2, db2) shaped like the parameters;
* ``05.s1_chain``: the scalar chain of the seed article S1 §4, z1 = w11·x + b1, z2 = w21·z1 + b2,
  o = σ(z2), L = ½(y − o)²; returns (∂L/∂w21, ∂L/∂w11);
* ``05.train_step``: one step of gradient descent on a ``bp.nn`` network (zero the gradients,
  forward, loss, backward, θ ← θ − η·∂L/∂θ); returns the loss before the update.
"""

from __future__ import annotations

import copy

import numpy as np

from ..nn.builders import mlp
from ..nn.losses import MSELoss
from .core import Incorrect, exercise, require, require_callable, require_close


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))            # σ(z) without overflow


def _close(a, b) -> bool:
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-14)


# -- 05.backward_2layer ---------------------------------------------------------------------------

PARAM_NAMES = ("dW1", "db1", "dW2", "db2")


def _forward(X, W1, b1, W2, b2):
    A1 = _sigmoid(X @ W1.T + b1)                      # (B, m)
    A2 = _sigmoid(A1 @ W2.T + b2)                     # (B, 1)
    return A1, A2


def _backward_ref(X, Y, W1, b1, W2, b2):
    B = X.shape[0]
    A1, A2 = _forward(X, W1, b1, W2, b2)
    D2 = 2.0 * (A2 - Y) * A2 * (1.0 - A2)             # BP1: δ² = ∇ₐℓ ⊙ σ′(z²), one row per sample
    D1 = (D2 @ W2) * A1 * (1.0 - A1)                  # BP2: δ¹ = (W²)ᵀδ² ⊙ σ′(z¹), as rows: Δ² W² ⊙ σ′
    return D1.T @ X / B, D1.sum(axis=0) / B, D2.T @ A1 / B, D2.sum(axis=0) / B   # BP3, BP4


def _backward_per_sample(X, Y, W1, b1, W2, b2):       # column form, one sample at a time, then averaged
    grads = [np.zeros_like(W1), np.zeros_like(b1), np.zeros_like(W2), np.zeros_like(b2)]
    for x, y in zip(X, Y, strict=True):
        x, y = x[:, None], y[:, None]
        a1 = _sigmoid(W1 @ x + b1[:, None])
        a2 = _sigmoid(W2 @ a1 + b2[:, None])
        d2 = 2.0 * (a2 - y) * a2 * (1.0 - a2)
        d1 = (W2.T @ d2) * a1 * (1.0 - a1)
        for g, new in zip(grads, (d1 @ x.T, d1[:, 0], d2 @ a1.T, d2[:, 0]), strict=True):
            g += new / len(X)
    return tuple(grads)


def _backward_bp_nn(X, Y, W1, b1, W2, b2):            # the same network in bp.nn
    from ..nn import Linear, Sequential, Sigmoid

    net = Sequential(Linear(W1.shape[1], W1.shape[0]), Sigmoid(), Linear(W2.shape[1], W2.shape[0]), Sigmoid())
    for p, value in zip(net.parameters(), (W1, b1, W2, b2), strict=True):
        p.data[...] = value
    loss_fn = MSELoss()
    loss_fn(net(X), Y)
    net.backward(loss_fn.backward())
    return tuple(p.grad for p in net.parameters())


def _wrong_no_hidden_sigma_prime(X, Y, W1, b1, W2, b2):
    B = X.shape[0]
    A1, A2 = _forward(X, W1, b1, W2, b2)
    D2 = 2.0 * (A2 - Y) * A2 * (1.0 - A2)
    D1 = D2 @ W2                                      # σ′(z¹) forgotten
    return D1.T @ X / B, D1.sum(axis=0) / B, D2.T @ A1 / B, D2.sum(axis=0) / B


def _wrong_transposed_dW(X, Y, W1, b1, W2, b2):
    B = X.shape[0]
    A1, A2 = _forward(X, W1, b1, W2, b2)
    D2 = 2.0 * (A2 - Y) * A2 * (1.0 - A2)
    D1 = (D2 @ W2) * A1 * (1.0 - A1)
    return X.T @ D1 / B, D1.sum(axis=0) / B, A1.T @ D2 / B, D2.sum(axis=0) / B     # (in, out)


def _wrong_no_mean(X, Y, W1, b1, W2, b2):
    B = X.shape[0]
    return tuple(B * g for g in _backward_ref(X, Y, W1, b1, W2, b2))


def _wrong_half(X, Y, W1, b1, W2, b2):                # the ½(a − y)² convention: dℓ/da = a − y
    return tuple(g / 2 for g in _backward_ref(X, Y, W1, b1, W2, b2))


def _wrong_no_output_sigma_prime(X, Y, W1, b1, W2, b2):
    B = X.shape[0]
    A1, A2 = _forward(X, W1, b1, W2, b2)
    D2 = 2.0 * (A2 - Y)                               # σ′(z²) forgotten
    D1 = (D2 @ W2) * A1 * (1.0 - A1)
    return D1.T @ X / B, D1.sum(axis=0) / B, D2.T @ A1 / B, D2.sum(axis=0) / B


def _case(B, n, m, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(B, n))
    Y = rng.uniform(size=(B, 1))
    W1, b1 = rng.normal(size=(m, n)), rng.normal(size=m)
    W2, b2 = rng.normal(size=(1, m)), rng.normal(size=1)
    return X, Y, W1, b1, W2, b2


def _grads(answer, args, what):
    try:
        got = answer(*(np.array(a) for a in args))
    except ValueError as err:
        if any(word in str(err) for word in ("matmul", "broadcast", "shape", "align")):
            raise Incorrect(f"{what} raised a shape error: {err}",
                            "Write the shape next to every factor: Δ² is (B, 1), W2 is (1, m), so "
                            "Δ² @ W2 is (B, m), the shape of A1.") from err
        raise
    require(isinstance(got, (tuple, list)) and len(got) == 4,
            f"{what} should return four arrays (dW1, db1, dW2, db2); got "
            f"{type(got).__name__}{'' if not isinstance(got, (tuple, list)) else f' of length {len(got)}'}.",
            "End with `return dW1, db1, dW2, db2`.")
    for name, g in zip(PARAM_NAMES, got, strict=True):
        require(g is not None, f"{name} is None.", "Compute every one of the four gradients.")
    return got


def _diagnose(got, args):
    """Name the typical mistake whose numbers ``got`` reproduces (or return quietly)."""
    expected = _backward_ref(*args)
    for name, g, e in zip(PARAM_NAMES, got, expected, strict=True):
        if name.startswith("dW") and not _close(g, e) and _close(np.transpose(g), e):
            raise Incorrect(f"{name} is transposed: it has the shape (in, out) of Aᵀ Δ.",
                            "A weight gradient has the shape of its weight, (out, in): dW = Δᵀ A / B "
                            "(the sum over samples of δ aᵀ, an outer product per sample).")
    B = args[0].shape[0]
    if all(_close(g, B * e) for g, e in zip(got, expected, strict=True)):
        raise Incorrect(f"your gradients are B = {B} times too large: they are the gradients of the summed "
                        "loss.", "L is the mean over the batch, so every gradient is divided by B: "
                                 "dW = Δᵀ A / B, db = 1ᵀ Δ / B.")
    if all(_close(g, e / 2) for g, e in zip(got, expected, strict=True)):
        raise Incorrect("your gradients are half the right ones.",
                        "L = mean((A2 − Y)²), with no ½ in front, so ∂ℓ/∂a² = 2(a² − y) (as bp.nn.MSELoss "
                        "and torch.nn.MSELoss).")
    if all(_close(g, -e) for g, e in zip(got, expected, strict=True)):
        raise Incorrect("your gradients have the wrong sign.",
                        "The output error is ∂ℓ/∂a² = 2(a² − y), prediction minus target.")
    no_hidden = _wrong_no_hidden_sigma_prime(*args)
    if _close(got[0], no_hidden[0]) and _close(got[1], no_hidden[1]):
        raise Incorrect("dW1 and db1 miss the factor σ′(z¹): they match (Δ² W2)ᵀ X / B.",
                        "The recursion has two factors: δ¹ = (W²)ᵀδ² ⊙ σ′(z¹). The error coming back "
                        "through W2 still has to pass the hidden sigmoid: multiply by A1 * (1 - A1).")
    no_output = _wrong_no_output_sigma_prime(*args)
    if all(_close(g, e) for g, e in zip(got, no_output, strict=True)):
        raise Incorrect("the output error misses σ′(z²): δ² = 2(a² − y) is only ∂ℓ/∂a².",
                        "δ² = ∂ℓ/∂z² = ∂ℓ/∂a² ⊙ σ′(z²): the output layer has a sigmoid too, so "
                        "multiply by A2 * (1 - A2).")


@exercise(
    "05.backward_2layer", "The four equations for a 2-layer sigmoid network",
    right=[_backward_ref, _backward_per_sample, _backward_bp_nn],
    wrong={"missing σ′(z₁)": _wrong_no_hidden_sigma_prime, "transposed dW": _wrong_transposed_dW,
           "missing /B": _wrong_no_mean, "½ in the loss": _wrong_half,
           "missing σ′(z₂)": _wrong_no_output_sigma_prime},
    success="Δ² = 2(A2 − Y) ⊙ σ′(Z2), Δ¹ = Δ² W2 ⊙ σ′(Z1), dW = Δᵀ A / B, db = 1ᵀ Δ / B.",
)
def _check_backward_2layer(answer):
    require_callable(answer, "backward_2layer")
    for (B, n, m), seed in (((4, 3, 3), 0), ((6, 2, 5), 1)):
        args = _case(B, n, m, seed)
        what = f"backward_2layer with B={B}, n={n}, m={m}"
        got = _grads(answer, args, what)
        _diagnose(got, args)
        for name, g, e in zip(PARAM_NAMES, got, _backward_ref(*args), strict=True):
            require_close(g, e, f"{what}: {name}", rtol=1e-8, atol=1e-12,
                          hint="Forward first (keep A1 and A2), then Δ² = 2(A2 − Y) ⊙ A2(1 − A2), "
                               "Δ¹ = (Δ² @ W2) ⊙ A1(1 − A1), dW = Δᵀ @ A_prev / B, db = Δ.sum(axis=0) / B.")


# -- 05.s1_chain ---------------------------------------------------------------------------------------

def _s1_ref(x, y, w11, b1, w21, b2):
    z1 = w11 * x + b1
    o = _sigmoid(w21 * z1 + b2)
    dz2 = (o - y) * o * (1 - o)                       # ∂L/∂o · ∂o/∂z2
    return dz2 * z1, dz2 * w21 * x                    # · ∂z2/∂w21 = z1;  · ∂z2/∂z1 · ∂z1/∂w11 = w21 · x


def _s1_value(x, y, w11, b1, w21, b2):                # the same with the scalar engine of notebook 04
    from ..autodiff import Value

    a, b = Value(w11), Value(w21)
    o = ((b * (a * x + b1)) + b2).sigmoid()
    loss = 0.5 * (y - o) ** 2
    loss.backward()
    return b.grad, a.grad


def _wrong_missing_w21(x, y, w11, b1, w21, b2):
    z1 = w11 * x + b1
    o = _sigmoid(w21 * z1 + b2)
    dz2 = (o - y) * o * (1 - o)
    return dz2 * z1, dz2 * x


def _wrong_missing_sigma_prime(x, y, w11, b1, w21, b2):
    z1 = w11 * x + b1
    o = _sigmoid(w21 * z1 + b2)
    return (o - y) * z1, (o - y) * w21 * x


def _wrong_sign_s1(x, y, w11, b1, w21, b2):
    return tuple(-g for g in _s1_ref(x, y, w11, b1, w21, b2))


_S1_POINTS = ((0.8, 1.0, 0.5, -0.2, -1.7, 0.3),          # (x, y, w11, b1, w21, b2), w21 ≠ ±1
              (-1.5, 0.0, 1.2, 0.4, 2.5, -0.6),
              (2.0, 0.3, -0.7, 0.1, 0.6, 0.2))


@exercise(
    "05.s1_chain", "The two-weight scalar chain, by hand",
    right=[_s1_ref, _s1_value],
    wrong={"missing w₂₁": _wrong_missing_w21, "missing σ′": _wrong_missing_sigma_prime,
           "sign flipped": _wrong_sign_s1},
    success="∂L/∂w21 = (o − y)·o(1 − o)·z1 and ∂L/∂w11 = (o − y)·o(1 − o)·w21·x: the path to w11 "
            "passes through w21.",
)
def _check_s1_chain(answer):
    require_callable(answer, "s1_grads")
    for point in _S1_POINTS:
        got = answer(*point)
        require(isinstance(got, (tuple, list)) and len(got) == 2,
                f"s1_grads should return two numbers (dL_dw21, dL_dw11); got {got!r}.",
                "End with `return dL_dw21, dL_dw11`.")
        expected = _s1_ref(*point)
        at = "x={}, y={}, w11={}, b1={}, w21={}, b2={}".format(*point)
        if _close(got[1], _wrong_missing_w21(*point)[1]) and _close(got[0], expected[0]):
            raise Incorrect(f"∂L/∂w11 misses the factor w21 (at {at}).",
                            "w11 reaches the loss only through z1, and z1 reaches z2 through w21: the "
                            "chain is ∂L/∂o · ∂o/∂z2 · ∂z2/∂z1 · ∂z1/∂w11 with ∂z2/∂z1 = w21.")
        if all(_close(g, e) for g, e in zip(got, _wrong_missing_sigma_prime(*point), strict=True)):
            raise Incorrect(f"both derivatives miss σ′(z2) = o(1 − o) (at {at}).",
                            "o = σ(z2), so ∂o/∂z2 = o(1 − o) sits in every path from L to a weight.")
        if all(_close(g, -e) for g, e in zip(got, expected, strict=True)):
            raise Incorrect(f"both derivatives have the wrong sign (at {at}).",
                            "∂/∂o of ½(y − o)² is −(y − o) = o − y.")
        for name, g, e in zip(("dL_dw21", "dL_dw11"), got, expected, strict=True):
            require_close(g, e, f"{name} at {at}", rtol=1e-8, atol=1e-12,
                          hint="Forward first: z1, z2, o. Then δ = (o − y)·o(1 − o) = ∂L/∂z2; "
                               "∂L/∂w21 = δ·z1 and ∂L/∂w11 = δ·w21·x.")


# -- 05.train_step ---------------------------------------------------------------------------------

def _step_ref(net, loss_fn, X, Y, lr):
    net.zero_grad()                                   # gradients accumulate: start from none
    loss = loss_fn(net(X), Y)                         # forward and loss
    net.backward(loss_fn.backward())                  # backward: fills every p.grad
    for p in net.parameters():
        p.data -= lr * p.grad                         # θ ← θ − η ∂L/∂θ
    return loss


def _step_sgd(net, loss_fn, X, Y, lr):
    from ..optim import SGD

    opt = SGD(net.parameters(), lr=lr)
    opt.zero_grad()
    loss = loss_fn(net(X), Y)
    net.backward(loss_fn.backward())
    opt.step()
    return loss


def _wrong_plus_eta(net, loss_fn, X, Y, lr):
    net.zero_grad()
    loss = loss_fn(net(X), Y)
    net.backward(loss_fn.backward())
    for p in net.parameters():
        p.data += lr * p.grad                         # uphill
    return loss


def _wrong_no_zero_grad(net, loss_fn, X, Y, lr):
    loss = loss_fn(net(X), Y)
    net.backward(loss_fn.backward())                  # adds to the previous step's gradients
    for p in net.parameters():
        p.data -= lr * p.grad
    return loss


def _wrong_loss_after(net, loss_fn, X, Y, lr):
    _step_ref(net, loss_fn, X, Y, lr)
    return loss_fn(net(X), Y)


def _params(net):
    return [p.data.copy() for p in net.parameters()]


@exercise(
    "05.train_step", "One step of gradient descent",
    right=[_step_ref, _step_sgd],
    wrong={"+η (uphill)": _wrong_plus_eta, "no zero_grad": _wrong_no_zero_grad,
           "loss after the update": _wrong_loss_after},
    success="zero_grad → forward → loss → backward → θ ← θ − η·grad: the loop every trainer runs.",
)
def _check_train_step(answer):
    require_callable(answer, "train_step")
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(16, 2)), rng.normal(size=(16, 1))
    lr = 0.1
    net, ref = mlp([2, 4, 1], activation="tanh", seed=3), mlp([2, 4, 1], activation="tanh", seed=3)
    loss_fn, ref_loss_fn = MSELoss(), MSELoss()
    for step in (1, 2, 3):
        before = _params(net)
        got = answer(net, loss_fn, X.copy(), Y.copy(), lr)
        expected = _step_ref(ref, ref_loss_fn, X, Y, lr)
        after = _params(net)
        require(any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True)),
                f"after train_step (call {step}) the parameters have not changed.",
                "Update every parameter in place: p.data -= lr * p.grad.")
        probe = copy.deepcopy(net)
        for p, b in zip(probe.parameters(), before, strict=True):
            p.data[...] = b
        probe.zero_grad()
        probe_loss = MSELoss()
        probe_loss(probe(X), Y)
        probe.backward(probe_loss.backward())
        grads = [p.grad for p in probe.parameters()]
        if all(_close(a, b + lr * g) for a, b, g in zip(after, before, grads, strict=True)):
            raise Incorrect(f"call {step}: your step moved the parameters to θ + η·∂L/∂θ, uphill: the loss "
                            "grows.", "The gradient points to where the loss increases fastest; gradient "
                                      "descent goes the other way: p.data -= lr * p.grad.")
        if step > 1 and not all(_close(a, b - lr * g) for a, b, g in zip(after, before, grads, strict=True)):
            raise Incorrect(f"call {step}: the step did not use this batch's gradient; the first call was "
                            "right, so the gradients of the previous call are probably still in p.grad.",
                            "backward adds to p.grad (as in PyTorch): call net.zero_grad() before the "
                            "backward pass of every step.")
        for i, (a, e) in enumerate(zip(after, _params(ref), strict=True)):
            require_close(a, e, f"call {step}: parameter {i} after the step", rtol=1e-9, atol=1e-12,
                          hint="zero_grad, forward, loss, backward, then p.data -= lr * p.grad for "
                               "every p in net.parameters().")
        require(got is not None, "train_step returned None.", "Return the loss computed in the forward pass.")
        if _close(got, loss_fn(net(X), Y)) and not _close(got, expected):
            raise Incorrect(f"call {step}: you returned the loss after the update.",
                            "Return the loss of the forward pass that produced the gradients (before "
                            "the update), as a training loop logs it.")
        require_close(got, expected, f"call {step}: the returned loss", rtol=1e-9, atol=1e-12,
                      hint="Return the loss computed in the forward pass of this step.")
