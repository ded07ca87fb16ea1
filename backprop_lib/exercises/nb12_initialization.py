"""Checkers for notebook 12 (initialization).

* ``12.he_normal``: ``he_normal(shape, rng)`` draws a weight shaped ``(out, in)`` from
  N(0, 2/fan_in) with fan_in = shape[1] = in; caught: fan_out instead of fan_in, LeCun's
  1/fan_in, the variance passed as the standard deviation, a uniform draw, the global RNG;
* ``12.xavier_uniform_bound``: ``xavier_uniform_bound(fan_in, fan_out)`` = √(6/(fan_in+fan_out));
  caught: √(3/…) (half the variance), the standard deviation √(2/…) given as the bound, fan_in
  alone, a missing square root;
* ``12.zero_init_grads``: which parameters of an all-zero ReLU MLP get a non-zero gradient at
  the first step: the last bias only (caught: "all biases", "the last layer", none, all).
  The reference is computed, not written down: one backward pass of ``bp.nn.mlp(..., init="zeros")``.
"""

from __future__ import annotations

import math

import numpy as np

from .core import Incorrect, exercise, require, require_callable

# -- 12.he_normal ------------------------------------------------------------------------

# (out, in) shapes with fan_in ≠ fan_out, so that the two fans give different variances; 160 000
# samples each: the sample variance is within ±1.2 % of the truth (3 standard errors)
_HE_SHAPES = ((200, 800), (800, 200))
_HE_RTOL = 0.05


def _he_ref(shape, rng):
    return rng.normal(0.0, math.sqrt(2.0 / shape[1]), size=shape)       # std √(2/fan_in)


def _he_via_library(shape, rng):
    from ..nn import init

    return init.kaiming_normal_(np.empty(shape), mode="fan_in", nonlinearity="relu", rng=rng)


def _he_standard_normal(shape, rng):
    fan_out, fan_in = shape
    return rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)


def _wrong_fan_out(shape, rng):
    return rng.normal(0.0, math.sqrt(2.0 / shape[0]), size=shape)


def _wrong_lecun(shape, rng):
    return rng.normal(0.0, math.sqrt(1.0 / shape[1]), size=shape)


def _wrong_variance_as_std(shape, rng):
    return rng.normal(0.0, 2.0 / shape[1], size=shape)                 # scale= is the std, not Var


def _wrong_uniform(shape, rng):
    bound = math.sqrt(3.0 * 2.0 / shape[1])                             # right variance, wrong shape
    return rng.uniform(-bound, bound, size=shape)


def _wrong_global_rng(shape, rng):
    return np.random.default_rng().normal(0.0, math.sqrt(2.0 / shape[1]), size=shape)


def _call_he(answer, shape, seed):
    got = answer(shape, np.random.default_rng(seed))
    if got is None:
        raise Incorrect("he_normal returned None.", "Did you forget a `return`?")
    got = np.asarray(got, dtype=float)
    require(got.shape == tuple(shape),
            f"he_normal({shape}, rng) should return an array of shape {shape}; got {got.shape}.",
            "shape is (out, in), the shape of a torch weight: pass it on as size=shape.")
    require(bool(np.all(np.isfinite(got))), "he_normal returned NaN or inf values.")
    return got


@exercise(
    "12.he_normal", "He (Kaiming) normal initialization",
    right=[_he_ref, _he_via_library, _he_standard_normal],
    wrong={
        "fan_out instead of fan_in": _wrong_fan_out,
        "1/fan_in (LeCun)": _wrong_lecun,
        "variance passed as std": _wrong_variance_as_std,
        "uniform instead of normal": _wrong_uniform,
        "global RNG instead of rng": _wrong_global_rng,
    },
    success="W ~ N(0, 2/fan_in): the 2 makes up for the half of z that ReLU sets to zero.",
)
def _check_he_normal(answer):
    require_callable(answer, "he_normal")
    for shape in _HE_SHAPES:
        fan_out, fan_in = shape
        w = _call_he(answer, shape, seed=0)
        target = 2.0 / fan_in
        var = float(np.mean(w**2))                      # E[W²] = Var W for a zero-mean draw
        mean_se = math.sqrt(target / w.size)
        require(abs(float(w.mean())) < 6 * mean_se,
                f"the weights of he_normal({shape}) have mean {w.mean():.3g}; they should have mean 0.",
                "Draw from a normal distribution centred at 0.")
        ratio = var / target
        if abs(ratio - 1.0) <= _HE_RTOL:
            continue
        if abs(var / (2.0 / fan_out) - 1.0) <= _HE_RTOL:
            raise Incorrect(
                f"for shape {shape} your weights have variance 2/{fan_out} = 2/fan_out; He's forward "
                f"rule needs 2/fan_in = 2/{fan_in}.",
                "A weight of shape (out, in) multiplies inputs of size in: z_i = Σ_j W_ij a_j sums "
                "fan_in = shape[1] terms. shape[0] is fan_out.")
        if abs(ratio - 0.5) <= 0.5 * _HE_RTOL:
            raise Incorrect(
                f"your weights have variance 1/fan_in = {var:.3g}: that is LeCun's initialization, "
                "right for tanh near 0 but half of what ReLU needs.",
                "ReLU zeroes half of z, so E[relu(z)²] = Var(z)/2; the factor 2 in Var W = 2/fan_in "
                "makes up for it.")
        if abs(float(np.std(w)) / target - 1.0) <= _HE_RTOL:
            raise Incorrect(
                f"your weights have standard deviation 2/fan_in = {np.std(w):.3g}: you passed the "
                "variance where the standard deviation goes.",
                "rng.normal(loc, scale, size) takes the standard deviation as scale: use "
                "np.sqrt(2 / fan_in).")
        raise Incorrect(
            f"for shape {shape} your weights have variance {var:.3g}; N(0, 2/fan_in) has "
            f"{target:.3g} (fan_in = shape[1] = {fan_in}).",
            "Var W = 2/fan_in, so the standard deviation is √(2/fan_in).")
    w = _call_he(answer, _HE_SHAPES[0], seed=0)
    z = (w - w.mean()) / w.std()
    excess_kurtosis = float(np.mean(z**4) - 3.0)        # 0 for a normal, −1.2 for a uniform
    require(abs(excess_kurtosis) < 0.1,
            f"the variance is right, but the values are not normally distributed (excess kurtosis "
            f"{excess_kurtosis:.2f}; a normal has 0, a uniform −1.2).",
            "he_normal draws from a normal distribution: rng.normal(0, std, size=shape).")
    again = _call_he(answer, _HE_SHAPES[0], seed=0)
    other = _call_he(answer, _HE_SHAPES[0], seed=1)
    require(np.array_equal(w, again) and not np.array_equal(w, other),
            "he_normal(shape, rng) does not draw from the rng it is given: the same seed gave different "
            "weights, or different seeds the same ones.",
            "Use rng.normal(...) (not np.random.randn or a new generator), so that a seed reproduces the "
            "network.")


# -- 12.xavier_uniform_bound ----------------------------------------------------------------

_FAN_PAIRS = ((256, 256), (100, 300), (784, 10), (3, 1))


def _bound_ref(fan_in, fan_out):
    return math.sqrt(6.0 / (fan_in + fan_out))


def _bound_from_variance(fan_in, fan_out):
    var = 2.0 / (fan_in + fan_out)          # Glorot's compromise between 1/fan_in and 1/fan_out
    return math.sqrt(3.0 * var)             # U(−a, a) has variance a²/3


def _wrong_sqrt3(fan_in, fan_out):
    return math.sqrt(3.0 / (fan_in + fan_out))


def _wrong_std_as_bound(fan_in, fan_out):
    return math.sqrt(2.0 / (fan_in + fan_out))


def _wrong_fan_in_only(fan_in, fan_out):
    return math.sqrt(6.0 / fan_in)


def _wrong_no_sqrt(fan_in, fan_out):
    return 6.0 / (fan_in + fan_out)


@exercise(
    "12.xavier_uniform_bound", "The bound of Xavier's uniform initialization",
    right=[_bound_ref, _bound_from_variance, lambda fan_in, fan_out: np.sqrt(6 / (fan_in + fan_out))],
    wrong={
        "√(3/(fan_in+fan_out))": _wrong_sqrt3,
        "std given as the bound": _wrong_std_as_bound,
        "fan_in only": _wrong_fan_in_only,
        "no square root": _wrong_no_sqrt,
    },
    success="a = √(6/(fan_in + fan_out)): Var = a²/3 = 2/(fan_in + fan_out).",
)
def _check_xavier_uniform_bound(answer):
    require_callable(answer, "xavier_uniform_bound")
    for fan_in, fan_out in _FAN_PAIRS:
        got = answer(fan_in, fan_out)
        if got is None:
            raise Incorrect("xavier_uniform_bound returned None.", "Did you forget a `return`?")
        try:
            got = float(got)
        except (TypeError, ValueError) as err:
            raise Incorrect(f"xavier_uniform_bound should return one number; got {type(got).__name__}.",
                            "Return the bound a of U(−a, a), a float.") from err
        want = _bound_ref(fan_in, fan_out)
        if math.isclose(got, want, rel_tol=1e-9):
            continue
        call = f"xavier_uniform_bound({fan_in}, {fan_out})"
        if math.isclose(got, math.sqrt(3.0 / (fan_in + fan_out)), rel_tol=1e-9):
            raise Incorrect(
                f"{call} = √(3/(fan_in + fan_out)) = {got:.4g}; that bound gives variance "
                "1/(fan_in + fan_out), half of Glorot's 2/(fan_in + fan_out).",
                "U(−a, a) has variance a²/3. Set a²/3 = 2/(fan_in + fan_out) and solve for a.")
        if math.isclose(got, math.sqrt(2.0 / (fan_in + fan_out)), rel_tol=1e-9):
            raise Incorrect(
                f"{call} = √(2/(fan_in + fan_out)) = {got:.4g} is the standard deviation Glorot asks "
                "for, not the bound of the uniform distribution.",
                "A uniform U(−a, a) has standard deviation a/√3, so the bound is √3 times the "
                "standard deviation.")
        if math.isclose(got, (6.0 / (fan_in + fan_out)), rel_tol=1e-9):
            raise Incorrect(f"{call} = 6/(fan_in + fan_out) = {got:.4g}: the square root is missing.",
                            "a² = 6/(fan_in + fan_out), so a = √(6/(fan_in + fan_out)).")
        if math.isclose(got, math.sqrt(6.0 / fan_in), rel_tol=1e-9):
            raise Incorrect(
                f"{call} = {got:.4g} uses fan_in only; Xavier averages the forward (fan_in) and "
                "backward (fan_out) requirements.",
                "Var W = 2/(fan_in + fan_out): both fans appear.")
        raise Incorrect(f"{call} should be {want:.4g}; got {got:.4g}.",
                        "Var W = 2/(fan_in + fan_out), and U(−a, a) has variance a²/3.")


# -- 12.zero_init_grads ----------------------------------------------------------------------

ZERO_NET_SIZES = (3, 5, 5, 2)          # the all-zero ReLU network of the exercise
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


def zero_init_nonzero_grads(sizes=ZERO_NET_SIZES, seed: int = 0) -> set:
    """The names (W1, b1, W2, …) of the parameters of ``bp.nn.mlp(sizes, "relu", init="zeros")``
    whose gradient is not exactly 0 after one forward and backward pass of an MSE loss on a
    random batch (random targets, so ∂L/∂out ≠ 0)."""
    from ..nn import Linear, MSELoss, mlp

    rng = np.random.default_rng(seed)
    net = mlp(list(sizes), activation="relu", init="zeros", seed=seed)
    x = rng.standard_normal((16, sizes[0]))
    y = rng.standard_normal((16, sizes[-1]))
    loss = MSELoss()
    loss(net(x), y)
    net.backward(loss.backward())
    names = set()
    for k, layer in enumerate((m for m in net if isinstance(m, Linear)), start=1):
        for letter, p in (("W", layer.weight), ("b", layer.bias)):
            if p.grad is not None and np.any(p.grad != 0):
                names.add(f"{letter}{k}")
    return names


_TORCH_STYLE = {"0.weight": "W1", "0.bias": "b1", "2.weight": "W2", "2.bias": "b2", "4.weight": "W3",
                "4.bias": "b3"}


def _as_names(answer) -> set:
    if isinstance(answer, str):
        answer = [answer]
    if isinstance(answer, dict) or not hasattr(answer, "__iter__"):
        raise Incorrect(f"nonzero_grad should be a set of parameter names such as {{'W1', 'b2'}}; got "
                        f"{type(answer).__name__}.", "Write a set of strings, e.g. {'W1', 'b2'}.")
    names = set()
    for item in answer:
        if not isinstance(item, str):
            raise Incorrect(f"nonzero_grad should hold names (strings) such as 'W1'; got {item!r}.",
                            "Write a set of strings, e.g. {'W1', 'b2'}.")
        key = item.strip()
        key = _TORCH_STYLE.get(key, key[:1].upper() + key[1:] if key[:1] in "wW" else key.lower())
        if key not in PARAM_NAMES:
            raise Incorrect(f"{item!r} is not a parameter of the network; its parameters are "
                            f"{', '.join(PARAM_NAMES)}.", "Use the names W1, b1, W2, b2, W3, b3.")
        names.add(key)
    return names


@exercise(
    "12.zero_init_grads", "Which parameters of an all-zero ReLU network learn?",
    right=[{"b3"}, ["b3"], ("B3",), "b3", {"4.bias"}],
    wrong={
        "all biases": {"b1", "b2", "b3"},
        "the last layer": {"W3", "b3"},
        "none": set(),
        "every parameter": set(PARAM_NAMES),
        "the first layer": {"W1", "b1"},
    },
    success="Only b3: every other gradient is multiplied by a zero weight or a zero activation. "
            "b3 stays the only parameter that ever moves: the network learns the mean target.",
)
def _check_zero_init_grads(answer):
    got = _as_names(answer)
    want = zero_init_nonzero_grads()
    if got == want:
        return
    hidden_biases = got & {"b1", "b2"}
    if hidden_biases:
        raise Incorrect(
            f"{', '.join(sorted(hidden_biases))} get{'s' if len(hidden_biases) == 1 else ''} no gradient: "
            "a bias receives δ of its layer, and δ of a hidden layer is (W^{l+1})ᵀδ^{l+1} ⊙ relu′(z^l), "
            "which is 0 because W^{l+1} = 0 (and relu′(0) = 0 besides).",
            "∂L/∂b^l = δ^l. Which δ^l are non-zero when every weight is 0?")
    weights = got & {"W1", "W2", "W3"}
    if weights:
        raise Incorrect(
            f"{', '.join(sorted(weights))} get{'s' if len(weights) == 1 else ''} no gradient: "
            "∂L/∂W^l = δ^l (a^{l-1})ᵀ needs both a non-zero δ^l and a non-zero input a^{l-1}; "
            "with all weights and biases 0, every hidden activation is relu(0) = 0, and the hidden δ are 0.",
            "For W3: its input is a², the output of the last hidden ReLU. What is it?")
    if not got:
        raise Incorrect(
            "one parameter does get a gradient: the output's δ³ = ∂L/∂z³ is not 0 (the outputs are 0, "
            "the targets are not), and the last bias receives it directly.",
            "∂L/∂b³ = δ³, summed over the batch: nothing multiplies it by a zero.")
    raise Incorrect(f"not quite: {sorted(got)} is not the set of parameters with a non-zero gradient.",
                    "Go layer by layer from the output: δ³ ≠ 0, then δ² = (W³)ᵀδ³ ⊙ relu′(z²), …")
