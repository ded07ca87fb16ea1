"""Checkers for notebook 01 (neurons and activations).

* ``01.sigmoid_prime``: σ′(z) = σ(z)(1 − σ(z)) for arrays with |z| up to 1000, without an
  overflow warning (the naive ``np.exp(-z)`` overflows for z ≪ 0);
* ``01.relu_prime``: ReLU′(z) = 1[z > 0], 0 at z = 0 as in PyTorch;
* ``01.collapse``: a stack of Linear layers without activations is one Linear layer:
  W = W_L ⋯ W_2 W_1 and b = W_L(⋯(W_2 b_1 + b_2)⋯) + b_L.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..nn.activations import Sigmoid
from ..nn.layers import Linear
from .core import Incorrect, exercise, require, require_callable, require_close

# -- 01.sigmoid_prime ------------------------------------------------------------------

_Z_GRID = np.concatenate([np.linspace(-10.0, 10.0, 81), [-1000.0, -700.0, -50.0, 50.0, 700.0, 1000.0]])


def _sigmoid_prime_ref(z):
    e = np.exp(-np.abs(z))                          # e^(−|z|) in (0, 1]: never overflows
    return e / (1.0 + e) ** 2                       # σ′ is even: σ′(z) = e^(−|z|)/(1 + e^(−|z|))²


def _sigmoid_prime_expit(z):
    from scipy.special import expit

    s = expit(z)
    return s * (1.0 - s)


def _sigmoid_prime_where(z):
    e = np.exp(-np.abs(z))                          # e^(−|z|) in (0, 1]
    s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return s * (1.0 - s)


def _wrong_one_minus_z(z):                          # σ(z)(1 − z): 1 − z instead of 1 − σ(z)
    s = Sigmoid.f(z)
    return s * (1.0 - z)


def _wrong_naive_exp(z):                            # overflows for z ≪ 0
    s = 1.0 / (1.0 + np.exp(-z))
    return s * (1.0 - s)


def _wrong_naive_quotient(z):                       # e^(−z)/(1 + e^(−z))²: inf/inf = nan at z = −1000
    e = np.exp(-z)
    return e / (1.0 + e) ** 2


def _wrong_sigmoid_itself(z):
    return Sigmoid.f(z)


def _call_strict(fn, z, what):
    """Call the learner's function with overflow / invalid / divide-by-zero raising."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            try:
                return fn(z.copy())
            except (FloatingPointError, RuntimeWarning) as err:
                raise Incorrect(
                    f"{what} triggers a floating-point warning on inputs with |z| up to 1000 ({err}).",
                    "np.exp(-z) overflows for z = -1000 (e^1000 is beyond float64). Compute σ from "
                    "e^(-|z|), which never exceeds 1, or use scipy.special.expit. Careful: np.where "
                    "evaluates both branches on every element.",
                ) from err


@exercise(
    "01.sigmoid_prime", "Derivative of the sigmoid",
    right=[_sigmoid_prime_ref, _sigmoid_prime_expit, _sigmoid_prime_where],
    wrong={
        "σ(z)(1−z)": _wrong_one_minus_z,
        "naive exp(-z)": _wrong_naive_exp,
        "naive e^(-z)/(1+e^(-z))²": _wrong_naive_quotient,
        "σ itself": _wrong_sigmoid_itself,
    },
    success="σ′ = σ(1 − σ), stable for every input. Its largest value is 1/4, at z = 0.",
)
def _check_sigmoid_prime(answer):
    require_callable(answer, "sigmoid_prime")
    small = np.linspace(-3.0, 3.0, 13)
    got_small = _call_strict(answer, small, "sigmoid_prime")
    h = 1e-5
    numeric = (Sigmoid.f(small + h) - Sigmoid.f(small - h)) / (2 * h)   # central differences
    require_close(got_small, numeric, "sigmoid_prime(z) against central differences of σ",
                  rtol=1e-6, atol=1e-9,
                  hint="Differentiating σ = 1/(1 + e^(-z)) gives σ′ = σ(z)·(1 − σ(z)): "
                       "both factors are values of σ, not of z.")
    got = _call_strict(answer, _Z_GRID, "sigmoid_prime")
    require(got is not None, "sigmoid_prime returned None.", "Did you forget a `return`?")
    got = np.asarray(got, dtype=float)
    require(np.all(np.isfinite(got)),
            "sigmoid_prime returned NaN or inf for large |z|.",
            "Far from 0 the slope is tiny but finite: avoid dividing inf by inf.")
    require_close(got, _sigmoid_prime_ref(_Z_GRID), "sigmoid_prime(z) for |z| up to 1000",
                  rtol=1e-7, atol=1e-15,
                  hint="σ′ = σ(1 − σ); at z = ±1000 it is 0 (to float64 precision).")


# -- 01.relu_prime ---------------------------------------------------------------------

_Z_RELU = np.array([-3.0, -1e-12, 0.0, 1e-12, 0.5, 2.0, -0.0, 100.0])


def _relu_prime_ref(z):
    return (np.asarray(z) > 0).astype(float)


def _relu_prime_where(z):
    return np.where(z > 0, 1.0, 0.0)


def _wrong_one_at_zero(z):
    return (np.asarray(z) >= 0).astype(float)


def _wrong_relu_itself(z):
    return np.maximum(z, 0.0)


def _wrong_sign(z):
    return np.sign(z)


@exercise(
    "01.relu_prime", "Derivative of ReLU",
    right=[_relu_prime_ref, _relu_prime_where],
    wrong={"1 at 0": _wrong_one_at_zero, "ReLU itself": _wrong_relu_itself, "sign(z)": _wrong_sign},
    success="ReLU′ = 1[z > 0], and 0 at z = 0 as in PyTorch.",
)
def _check_relu_prime(answer):
    require_callable(answer, "relu_prime")
    got = answer(_Z_RELU.copy())
    if got is None:
        raise Incorrect("relu_prime returned None.", "Did you forget a `return`?")
    got = np.asarray(got, dtype=float)
    require(got.shape == _Z_RELU.shape,
            f"relu_prime should return one slope per input, shape {_Z_RELU.shape}; got {got.shape}.",
            "Work elementwise on the array z (no sums, no loops needed).")
    expected = _relu_prime_ref(_Z_RELU)
    zero = _Z_RELU == 0
    if np.allclose(got[~zero], expected[~zero]) and not np.allclose(got[zero], 0.0):
        raise Incorrect(
            f"relu_prime(0) = {got[zero][0]:g}; the course (like PyTorch) uses 0 at z = 0.",
            "ReLU has a kink at 0: any value in [0, 1] is a valid subgradient. PyTorch picks 0, so "
            "use z > 0 (strict) so your gradients match torch's exactly.",
        )
    if np.any(got < 0):
        raise Incorrect("relu_prime returned a negative slope; ReLU never decreases.",
                        "For z < 0, ReLU(z) = 0 is flat: its slope is 0, not -1.")
    require_close(got, expected, "relu_prime(z)",
                  hint="ReLU(z) = max(z, 0) has slope 1 where z > 0 and slope 0 elsewhere; "
                       "return the slope, not ReLU(z) itself.")


# -- 01.collapse -----------------------------------------------------------------------

def _collapse_ref(layers):
    W, b = layers[0].weight.data, layers[0].bias.data
    for layer in layers[1:]:
        # y = (x Wᵀ + b) W_lᵀ + b_l = x (W_l W)ᵀ + (W_l b + b_l)
        W, b = layer.weight.data @ W, layer.weight.data @ b + layer.bias.data
    return W, b


def _collapse_probe(layers):
    """Read W and b off the affine map itself: b = f(0), Wᵀ = f(I) − b."""
    d = layers[0].in_features
    x = np.vstack([np.zeros(d), np.eye(d)])
    for layer in layers:
        x = layer.forward(x)
    b = x[0]
    return (x[1:] - b).T, b


def _wrong_reversed(layers):                        # W1 @ W2 @ W3: the first layer on the left
    W, b = layers[0].weight.data, layers[0].bias.data
    for layer in layers[1:]:
        W = W @ layer.weight.data
        b = layer.weight.data @ b + layer.bias.data
    return W, b


def _wrong_last_bias(layers):                       # biases of earlier layers lost
    return _collapse_ref(layers)[0], layers[-1].bias.data.copy()


def _wrong_sum_biases(layers):                      # biases added, not pushed through later weights
    return _collapse_ref(layers)[0], sum(layer.bias.data for layer in layers)


def _wrong_no_bias(layers):
    W = _collapse_ref(layers)[0]
    return W, np.zeros(W.shape[0])


def _layers(sizes, seed):
    rng = np.random.default_rng(seed)
    layers = [Linear(n_in, n_out, seed=int(rng.integers(2**31)))    # PyTorch's default init:
              for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]    # nonzero biases
    for layer in layers:
        layer.bias.data += rng.normal(0.0, 1.0, layer.bias.shape)       # biases big enough to matter
    return layers


def _unpack(result, what):
    if result is None:
        raise Incorrect(f"{what} returned None.", "Did you forget a `return W, b`?")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Incorrect(f"{what} should return a pair (W, b); got {type(result).__name__}.",
                        "End with `return W, b`.")
    W, b = (np.asarray(a, dtype=float) for a in result)
    return W, b


@exercise(
    "01.collapse", "A stack of Linear layers is one Linear layer",
    right=[_collapse_ref, _collapse_probe],
    wrong={
        "W1@W2@W3 (wrong order)": _wrong_reversed,
        "lost biases (last bias only)": _wrong_last_bias,
        "lost biases (sum of biases)": _wrong_sum_biases,
        "lost biases (none)": _wrong_no_bias,
    },
    success="Without activations, depth adds nothing: W = W_L⋯W_1 and the biases are pushed "
            "through the later layers.",
)
def _check_collapse(answer):
    require_callable(answer, "collapse")
    # square layers first: a wrong order still gives numbers, so we can name the mistake
    for sizes, seed in (([3, 3, 3, 3], 1), ([4, 5, 3, 2], 2)):
        layers = _layers(sizes, seed)
        snapshot = [(la.weight.data.copy(), la.bias.data.copy()) for la in layers]
        W, b = _unpack(answer(layers), "collapse(layers)")
        for la, (w0, b0) in zip(layers, snapshot, strict=True):
            require(np.array_equal(la.weight.data, w0) and np.array_equal(la.bias.data, b0),
                    "collapse changed the layers' weights or biases.",
                    "Build new arrays (W = A @ B creates one); do not modify layer.weight.data in place.")
        W_ref, b_ref = _collapse_ref(layers)
        shape = W_ref.shape
        if W.shape == shape[::-1] and shape[0] != shape[1]:
            raise Incorrect(
                f"W has shape {W.shape}; the course stores weights like PyTorch, (out, in) = {shape}.",
                "y = x Wᵀ + b with W of shape (out_features, in_features), as layer.weight.data is.",
            )
        if W.shape == shape and not np.allclose(W, W_ref, rtol=1e-10, atol=1e-12):
            square = all(n == sizes[0] for n in sizes)
            reversed_product = np.linalg.multi_dot([la.weight.data for la in layers]) if square else None
            if reversed_product is not None and np.allclose(W, reversed_product, rtol=1e-10, atol=1e-12):
                raise Incorrect(
                    "W is the product W1 @ W2 @ W3 in the wrong order.",
                    "The first layer acts first, so its weight is the rightmost factor: "
                    "W = W3 @ W2 @ W1 (weight shapes (out, in) chain from right to left).",
                )
        require_close(W, W_ref, f"W for layers of sizes {sizes}", rtol=1e-10, atol=1e-12,
                      hint="Write out two layers: (x W1ᵀ + b1) W2ᵀ + b2 = x (W2 W1)ᵀ + (W2 b1 + b2).")
        if b.shape == b_ref.shape and not np.allclose(b, b_ref, rtol=1e-10, atol=1e-12):
            if np.allclose(b, sum(bl for _, bl in snapshot)) or np.allclose(b, snapshot[-1][1]) \
                    or np.allclose(b, 0.0):
                raise Incorrect(
                    "W is right, but the bias is not: the earlier biases must pass through the later "
                    "layers' weights.",
                    "From (x W1ᵀ + b1) W2ᵀ + b2: the bias is W2 b1 + b2. Fold layer by layer: "
                    "b ← W_l b + b_l.",
                )
        require_close(b, b_ref, f"b for layers of sizes {sizes}", rtol=1e-10, atol=1e-12,
                      hint="Fold layer by layer: start with b = b1, then b ← W_l b + b_l.")
