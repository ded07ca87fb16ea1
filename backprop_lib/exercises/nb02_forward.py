"""Checkers for notebook 02 (forward propagation).

* ``02.forward``: one sample in the column-vector notation of the seed articles, x: (n, 1),
  W1: (m, n), b1: (m, 1), W2: (p, m), b2: (p, 1); output W2 tanh(W1 x + b1) + b2: (p, 1);
* ``02.forward_batch``: a batch, rows are samples (as in ``bp``/PyTorch), X: (B, n), W1: (m, n),
  b1: (m,), W2: (p, m), b2: (p,); output tanh(X W1ᵀ + b1) W2ᵀ + b2: (B, p);
* ``02.count_params``: Σ_l n_l (n_{l−1} + 1) parameters in an MLP with layer widths n_0 … n_L.

The checkers first use square shapes (n = m = p = B), where the typical mistakes (W instead of Wᵀ,
a bias broadcast along the wrong axis) still give numbers, so the mistake can be named; then
rectangular shapes.
"""

from __future__ import annotations

import numpy as np

from ..nn.builders import mlp
from .core import Incorrect, exercise, require, require_callable, require_close


def _params(n, m, p, seed, column_bias):
    rng = np.random.default_rng(seed)
    W1, W2 = rng.normal(size=(m, n)), rng.normal(size=(p, m))
    b1, b2 = rng.normal(size=m), rng.normal(size=p)
    if column_bias:
        b1, b2 = b1.reshape(m, 1), b2.reshape(p, 1)
    return W1, b1, W2, b2


def _call(fn, what, *args):
    """Call the learner's function on copies; a shape error becomes feedback, not a crash."""
    try:
        return fn(*(np.array(a) for a in args))
    except ValueError as err:
        if "matmul" in str(err) or "broadcast" in str(err) or "shape" in str(err) or "align" in str(err):
            raise Incorrect(
                f"{what} raised a shape error: {err}",
                "Write the shape of every factor next to it, e.g. (m, n) @ (n, 1) -> (m, 1), and check "
                "that the inner sizes agree.",
            ) from err
        raise


def _match(got, mistake, *args) -> bool:
    """Does ``got`` equal what the mistaken function ``mistake`` computes (when it computes at all)?"""
    try:
        candidate = mistake(*args)
        got = np.asarray(got, dtype=float)
    except (ValueError, TypeError):
        return False
    return got.shape == candidate.shape and np.allclose(got, candidate, rtol=1e-9, atol=1e-12)


# -- 02.forward -----------------------------------------------------------------------------

def _forward_ref(x, W1, b1, W2, b2):
    z1 = W1 @ x + b1                                # (m, n) @ (n, 1) + (m, 1)
    return W2 @ np.tanh(z1) + b2                    # (p, m) @ (m, 1) + (p, 1)


def _forward_loop(x, W1, b1, W2, b2):               # neuron by neuron
    a1 = np.array([[np.tanh(W1[j] @ x[:, 0] + b1[j, 0])] for j in range(W1.shape[0])])
    return np.array([[W2[k] @ a1[:, 0] + b2[k, 0]] for k in range(W2.shape[0])])


def _wrong_transposed(x, W1, b1, W2, b2):           # weights read as (in, out)
    return W2.T @ np.tanh(W1.T @ x + b1) + b2


def _wrong_no_bias(x, W1, b1, W2, b2):
    return W2 @ np.tanh(W1 @ x)


def _wrong_no_hidden_bias(x, W1, b1, W2, b2):
    return W2 @ np.tanh(W1 @ x) + b2


def _wrong_no_activation(x, W1, b1, W2, b2):
    return W2 @ (W1 @ x + b1) + b2


@exercise(
    "02.forward", "Forward pass of one sample (column vectors)",
    right=[_forward_ref, _forward_loop],
    wrong={"W1.T @ x": _wrong_transposed, "missing b": _wrong_no_bias,
           "missing b1": _wrong_no_hidden_bias, "no tanh": _wrong_no_activation},
    success="z1 = W1 x + b1, a1 = tanh(z1), output = W2 a1 + b2: each row of W is one neuron.",
)
def _check_forward(answer):
    require_callable(answer, "forward")
    for (n, m, p), seed in (((3, 3, 3), 0), ((2, 4, 3), 1)):
        W1, b1, W2, b2 = _params(n, m, p, seed, column_bias=True)
        x = np.random.default_rng(seed + 10).normal(size=(n, 1))
        got = _call(answer, f"forward(x, W1, b1, W2, b2) with n={n}, m={m}, p={p}", x, W1, b1, W2, b2)
        if _match(got, _wrong_transposed, x, W1, b1, W2, b2):
            raise Incorrect("You multiplied by W1ᵀ (and W2ᵀ): the values match W1.T @ x.",
                            "W1 has shape (m, n): one row per hidden neuron. Row j times x is neuron j's "
                            "weighted sum, so z1 = W1 @ x, no transpose.")
        if any(_match(got, f, x, W1, b1, W2, b2) for f in (_wrong_no_bias, _wrong_no_hidden_bias)):
            raise Incorrect("A bias is missing: your output matches the network without b1 (or b2).",
                            "Every layer adds its bias after the matrix product: z = W a + b.")
        if _match(got, _wrong_no_activation, x, W1, b1, W2, b2):
            raise Incorrect("The hidden layer has no tanh: your output is an affine function of x.",
                            "a1 = tanh(z1) goes between the two layers; the output layer stays linear.")
        require_close(got, _forward_ref(x, W1, b1, W2, b2), f"forward(...) with n={n}, m={m}, p={p}",
                      rtol=1e-9, atol=1e-12,
                      hint="Expected shape (p, 1) = (rows of W2, 1): z1 = W1 @ x + b1, then "
                           "W2 @ tanh(z1) + b2.")


# -- 02.forward_batch ---------------------------------------------------------------------------

def _batch_ref(X, W1, b1, W2, b2):
    A1 = np.tanh(X @ W1.T + b1)                     # (B, n) @ (n, m) + (m,) broadcast over rows
    return A1 @ W2.T + b2                           # (B, m) @ (m, p) + (p,)


def _batch_per_sample(X, W1, b1, W2, b2):           # the column form, one sample at a time
    return np.stack([_forward_ref(x[:, None], W1, b1[:, None], W2, b2[:, None])[:, 0] for x in X])


def _batch_einsum(X, W1, b1, W2, b2):
    return np.einsum("bm,pm->bp", np.tanh(np.einsum("bn,mn->bm", X, W1) + b1), W2) + b2


def _wrong_x_at_w(X, W1, b1, W2, b2):
    return np.tanh(X @ W1 + b1) @ W2 + b2


def _wrong_column_bias(X, W1, b1, W2, b2):          # biases shaped (m, 1), as in the column form
    return np.tanh(X @ W1.T + b1.reshape(-1, 1)) @ W2.T + b2.reshape(-1, 1)


def _wrong_column_form(X, W1, b1, W2, b2):          # W X + b: samples taken as columns
    return (W2 @ np.tanh(W1 @ X + b1) + b2)


@exercise(
    "02.forward_batch", "Forward pass of a batch (rows are samples)",
    right=[_batch_ref, _batch_per_sample, _batch_einsum],
    wrong={"X @ W": _wrong_x_at_w, "b of shape (m, 1)": _wrong_column_bias,
           "W @ X (columns)": _wrong_column_form},
    success="Z = X Wᵀ + b: the transpose of the column form, and b broadcast over the rows.",
)
def _check_forward_batch(answer):
    require_callable(answer, "forward_batch")
    for (B, n, m, p), seed in (((3, 3, 3, 3), 2), ((5, 2, 4, 3), 3)):
        W1, b1, W2, b2 = _params(n, m, p, seed, column_bias=False)
        X = np.random.default_rng(seed + 10).normal(size=(B, n))
        got = _call(answer, f"forward_batch(X, W1, b1, W2, b2) with B={B}, n={n}, m={m}, p={p}",
                    X, W1, b1, W2, b2)
        if _match(got, _wrong_x_at_w, X, W1, b1, W2, b2):
            raise Incorrect("You computed X @ W1: that multiplies by the transpose of the weight.",
                            "W1 is stored as (out, in) = (m, n), like torch. Each row of X is a sample, so "
                            "Z1 = X @ W1.T, shapes (B, n) @ (n, m) -> (B, m).")
        if _match(got, _wrong_column_bias, X, W1, b1, W2, b2):
            raise Incorrect("The bias is added along the wrong axis: b shaped (m, 1) adds b[i] to sample i.",
                            "In the batch form b has shape (m,); NumPy broadcasts it over the rows, so "
                            "every sample gets the same bias vector. Do not reshape it to a column.")
        if _match(got, _wrong_column_form, X, W1, b1, W2, b2):
            raise Incorrect("You treated the columns of X as samples (W1 @ X); here the rows are samples.",
                            "The batch-first form is the transpose of the column form: Z = X Wᵀ + b.")
        require_close(got, _batch_ref(X, W1, b1, W2, b2),
                      f"forward_batch(...) with B={B}, n={n}, m={m}, p={p}",
                      rtol=1e-9, atol=1e-12,
                      hint="Expected shape (B, p): A1 = tanh(X @ W1.T + b1), output = A1 @ W2.T + b2.")


# -- 02.count_params ----------------------------------------------------------------------------

def _count_ref(sizes):
    return sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))


def _count_mlp(sizes):
    return mlp(list(sizes), seed=0).num_parameters()


def _wrong_no_biases(sizes):
    return sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))


def _wrong_input_biases(sizes):                     # a bias for every unit, the inputs included
    return _wrong_no_biases(sizes) + sum(sizes)


def _wrong_in_biases(sizes):                        # n_l (n_{l-1} + 1) with the +1 on the wrong side
    return sum((n_out + 1) * n_in for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))


_SIZES = ([2, 16, 1], [2, 3, 3, 2], [784, 128, 64, 10], [5, 1], [1, 7, 7, 7, 4])


@exercise(
    "02.count_params", "Number of parameters of an MLP",
    right=[_count_ref, _count_mlp],
    wrong={"missing biases": _wrong_no_biases, "biases on the inputs too": _wrong_input_biases,
           "one bias per input": _wrong_in_biases},
    success="Σ n_l (n_{l−1} + 1): each of the n_l neurons of layer l has n_{l−1} weights and one bias.",
)
def _check_count_params(answer):
    require_callable(answer, "count_params")
    for sizes in _SIZES:
        got = answer(list(sizes))
        expected = _count_ref(sizes)
        require(got is not None, "count_params returned None.", "Did you forget a `return`?")
        try:
            got = int(got)
        except (TypeError, ValueError) as err:
            raise Incorrect(f"count_params({sizes}) should return an integer; got {type(got).__name__}.",
                            "Return a number, e.g. an int built with sum(...).") from err
        if got == expected:
            continue
        if got == _wrong_no_biases(sizes):
            raise Incorrect(f"count_params({sizes}) = {got}: that counts the weights only.",
                            "Every neuron of every layer after the input also has one bias.")
        if got in (_wrong_input_biases(sizes), _wrong_in_biases(sizes)):
            raise Incorrect(f"count_params({sizes}) = {got}: too many biases.",
                            "The input layer has no parameters; each neuron of layer l (l ≥ 1) has "
                            "n_{l−1} weights and one bias, so layer l holds n_l (n_{l−1} + 1).")
        raise Incorrect(f"count_params({sizes}) = {got}; expected {expected}.",
                        "Layer l has a weight matrix (n_l, n_{l−1}) and a bias (n_l,).")
