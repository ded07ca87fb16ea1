"""Checkers for notebook 11 (vanishing and exploding gradients).

* ``11.layer_factor``: ``layer_factor(activation, s, z)`` = s · RMS φ′(z), the factor by which
  one layer with weight scale s (Var W = s²/n) multiplies the RMS of δ on its way back, given
  the layer's pre-activations z; catches ignoring φ′ (returning s), the mean of φ′ instead of
  its RMS, the bound max φ′ instead of the typical slope, s² for s, and φ for φ′;
* ``11.relu_std``: ``relu_std(n)``, the weight std of an n-wide ReLU layer that keeps δ level,
  √(2/n) (accepted within 5 %); catches √(1/n) (forgets that ReLU passes half), 2/n (a
  variance), and √(2/n) written as √2/n;
* ``11.label_plots``: three gradient-flow plots (``mystery_records()``), each zoomed to its own
  data, labelled "vanishing", "stable" or "exploding"; catches reading the plot's shape
  instead of its log axis (a gentle ×2 rise labelled "exploding") and reading the layers from
  the wrong end (vanishing and exploding swapped).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..nn.activations import get_activation
from .core import Incorrect, NotAttempted, exercise, require, require_callable

# -- 11.layer_factor ------------------------------------------------------------------------------

_ACTS = ("sigmoid", "tanh", "relu")


def _factor_cases():
    """(activation, s, z) triples: z is a layer's pre-activations (batch × units, flattened)."""
    rng = np.random.default_rng(11)
    return [
        ("sigmoid", 4.0, rng.normal(0.5, 3.0, 4000)),     # first: every mistake gives another number
        ("relu", 2.0, rng.normal(0.0, 1.0, 4000)),
        ("relu", math.sqrt(2.0), rng.normal(0.3, 2.0, 4000)),
        ("tanh", 1.5, rng.normal(0.0, 0.8, 4000)),
        ("sigmoid", 1.0, rng.normal(0.0, 1.0, 4000)),
    ]


def _factor_ref(activation, s, z):
    slope = get_activation(activation).df(z)             # φ′(z^l)
    return s * math.sqrt(float(np.mean(slope ** 2)))     # s · RMS φ′


def _factor_by_hand(activation, s, z):
    z = np.asarray(z, dtype=float)
    if activation == "relu":
        slope = (z > 0).astype(float)
    elif activation == "tanh":
        slope = 1.0 - np.tanh(z) ** 2
    else:
        p = 1.0 / (1.0 + np.exp(-z))
        slope = p * (1.0 - p)
    return s * np.sqrt(np.mean(slope ** 2))


def _wrong_ignores_slope(activation, s, z):
    return s


def _wrong_mean_slope(activation, s, z):
    return s * float(np.mean(get_activation(activation).df(z)))


def _wrong_max_slope(activation, s, z):
    return s * {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0}[activation]


def _wrong_variance(activation, s, z):
    return s ** 2 * math.sqrt(float(np.mean(get_activation(activation).df(z) ** 2)))


def _wrong_phi(activation, s, z):
    return s * math.sqrt(float(np.mean(get_activation(activation).f(z) ** 2)))


def _number(got, what):
    if got is None:
        raise Incorrect(f"{what} returned None.", "Did you forget a `return`?")
    try:
        value = float(np.asarray(got, dtype=float).reshape(()))
    except (TypeError, ValueError) as err:
        raise Incorrect(f"{what} should return one number; got {got!r}.",
                        "Average over every entry of z: the factor is a single float.") from err
    require(math.isfinite(value), f"{what} returned {value}.", "Check for a division by zero.")
    return value


@exercise(
    "11.layer_factor", "The per-layer factor s · RMS φ′",
    right=[_factor_ref, _factor_by_hand],
    wrong={"ignores φ′ (returns s)": _wrong_ignores_slope, "mean φ′ instead of RMS": _wrong_mean_slope,
           "max φ′ (the bound) instead of the typical slope": _wrong_max_slope,
           "s² instead of s": _wrong_variance, "φ instead of φ′": _wrong_phi},
    success="One layer multiplies RMS(δ) by about s · RMS φ′(z): the weights' scale times the typical slope.",
)
def _check_layer_factor(answer):
    require_callable(answer, "layer_factor")
    for activation, s, z in _factor_cases():
        what = f"layer_factor({activation!r}, s={s:.3g}, z)"
        got = _number(answer(activation, s, z.copy()), what)
        expected = _factor_ref(activation, s, z)
        if math.isclose(got, expected, rel_tol=1e-6):
            continue
        slope = get_activation(activation).df(z)
        if math.isclose(got, s, rel_tol=1e-6):
            raise Incorrect(f"{what} = {got:.4g}, which is s itself: the activation's slope is missing.",
                            "δ^l = D^l (W^{l+1})ᵀ δ^{l+1}: after the weights, every unit multiplies its "
                            "error by φ′(z). Include RMS φ′(z) = √mean(φ′(z)²).")
        if math.isclose(got, s * float(np.mean(slope)), rel_tol=1e-6):
            raise Incorrect(f"{what} = {got:.4g} uses the mean of φ′; the factor uses its RMS.",
                            "Sizes of δ add up as squares (RMS), so average φ′(z)², then take the square "
                            "root. For ReLU the two differ: mean φ′ = 1/2 but RMS φ′ = √(1/2).")
        if math.isclose(got, s * {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0}[activation], rel_tol=1e-6):
            raise Incorrect(f"{what} = {got:.4g} uses the largest slope max φ′, an upper bound.",
                            "The bound gives the worst case; the typical factor uses the slopes at the "
                            "layer's actual z: √mean(φ′(z)²).")
        if math.isclose(got, s * s * math.sqrt(float(np.mean(slope ** 2))), rel_tol=1e-6):
            raise Incorrect(f"{what} = {got:.4g} has s² where s belongs.",
                            "s² is the variance scale (Var W = s²/n); the RMS of δ scales with s.")
        raise Incorrect(f"{what} = {got:.6g}; expected {expected:.6g}.",
                        "Compute the slope φ′ at every entry of z (bp.nn.get_activation(activation).df(z)), "
                        "its RMS √mean(φ′²), and multiply by s.")


# -- 11.relu_std ----------------------------------------------------------------------------------

_WIDTHS = (16, 128, 500)


def _relu_std_ref(n):
    return math.sqrt(2.0 / n)            # s = √2: s · RMS ReLU′ = √2 · √(1/2) = 1


def _relu_std_rounded(n):
    return 1.4 / math.sqrt(n)            # √2 ≈ 1.414, within 5 %


def _wrong_lecun(n):
    return math.sqrt(1.0 / n)


def _wrong_variance_std(n):
    return 2.0 / n


def _wrong_root_two_over_n(n):
    return math.sqrt(2.0) / n


@exercise(
    "11.relu_std", "A ReLU init that keeps δ level",
    right=[_relu_std_ref, _relu_std_rounded],
    wrong={"√(1/n)": _wrong_lecun, "2/n (a variance)": _wrong_variance_std, "√2/n": _wrong_root_two_over_n},
    success="std = √(2/n): s = √2 makes up for the half of the units that ReLU switches off (He's init).",
)
def _check_relu_std(answer):
    require_callable(answer, "relu_std")
    for n in _WIDTHS:
        got = _number(answer(n), f"relu_std({n})")
        require(got > 0, f"relu_std({n}) = {got:.4g}; a standard deviation is positive.",
                "Return the std itself (√ of the variance).")
        s = got * math.sqrt(n)
        factor = s * math.sqrt(0.5)                       # s · RMS ReLU′ for z symmetric around 0
        target = math.sqrt(2.0 / n)
        if abs(got / target - 1) <= 0.05:
            continue
        over = f"over 49 layers δ changes about ×{factor ** 49:.2g}"
        if abs(got / math.sqrt(1.0 / n) - 1) <= 0.05:
            raise Incorrect(f"relu_std({n}) = {got:.4g} = √(1/n): then s = 1 and each layer multiplies "
                            f"RMS(δ) by s · RMS ReLU′ = √(1/2) ≈ 0.71; {over}.",
                            "ReLU′ is 1 on about half of the units and 0 on the rest, so RMS ReLU′ = √(1/2). "
                            "Which s makes s · √(1/2) = 1?")
        if abs(got / (2.0 / n) - 1) <= 0.05:
            raise Incorrect(f"relu_std({n}) = {got:.4g} = 2/n, the variance, not the standard deviation.",
                            "Var W = 2/n; the std is its square root.")
        raise Incorrect(f"relu_std({n}) = {got:.4g} gives s = std·√n = {s:.3g} and a factor "
                        f"s·√(1/2) = {factor:.3g} per layer; {over}.",
                        "You need s · RMS ReLU′ = 1 with RMS ReLU′ = √(1/2), and std = s/√n.")


# -- 11.label_plots -------------------------------------------------------------------------------

LABELS = ("vanishing", "stable", "exploding")
#: the networks behind the three plots: depth 20, width 128 throughout (the read-out too)
_MYSTERY = {
    "A": dict(activation="tanh", init="normal", init_std=6.0 / math.sqrt(128)),
    "B": dict(activation="relu", init="he"),
    "C": dict(activation="relu", init="lecun"),
}


@functools.cache
def mystery_records() -> dict:
    """``{"A": FlowRecord, "B": …, "C": …}``: one forward and backward pass (MSE loss, a seeded
    N(0, 1) batch of 128) of three 20-layer, 128-wide networks, measured by
    ``bp.probes.gradient_flow``. The notebook plots them; the checker grades labels against them."""
    from .. import probes
    from ..nn.builders import mlp
    from ..nn.losses import MSELoss

    rng = np.random.default_rng(11)
    x, y = rng.standard_normal((128, 128)), rng.standard_normal((128, 128))
    return {k: probes.gradient_flow(mlp([128] * 21, seed=0, **kw), MSELoss(), x, y, label=f"plot {k}")
            for k, kw in _MYSTERY.items()}


def classify(first_over_last: float) -> str | None:
    """"vanishing" (δ at layer 1 over 100× smaller than at the last layer), "exploding" (over
    100× larger), "stable" (within 10×), or None in between."""
    if first_over_last < 1e-2:
        return "vanishing"
    if first_over_last > 1e2:
        return "exploding"
    if 0.1 <= first_over_last <= 10:
        return "stable"
    return None


def _truth() -> dict:
    return {k: classify(float(rec.delta_rms[0] / rec.delta_rms[-1])) for k, rec in mystery_records().items()}


@exercise(
    "11.label_plots", "Read three gradient-flow plots",
    right=[{"A": "exploding", "B": "stable", "C": "vanishing"},
           {"a": "Exploding", "b": "Stable ", "c": "VANISHING"}],
    wrong={"misread log axis (B's ×2 rise read as exploding)":
               {"A": "exploding", "B": "exploding", "C": "vanishing"},
           "read from the wrong end (vanishing ↔ exploding)":
               {"A": "vanishing", "B": "stable", "C": "exploding"},
           "all vanishing": {"A": "vanishing", "B": "vanishing", "C": "vanishing"}},
    success="Read the tick labels, not the shape: each panel is zoomed to its own data.",
)
def _check_label_plots(answer):
    require(isinstance(answer, dict),
            f"answer with a dict such as {{'A': 'vanishing', ...}}; got {type(answer).__name__}.",
            "One entry per plot: labels = {'A': ..., 'B': ..., 'C': ...}.")
    if answer and all(v is None for v in answer.values()):
        raise NotAttempted
    got = {}
    for key, value in answer.items():
        require(isinstance(key, str) and isinstance(value, str),
                f"keys and values should be strings; got {key!r}: {value!r}.",
                "Write labels = {'A': 'stable', ...} with the words in quotes.")
        got[key.strip().upper()] = value.strip().lower()
    truth = _truth()
    require(set(got) == set(truth), f"label the plots {sorted(truth)}; got {sorted(got)}.",
            "One entry per plot.")
    bad = [v for v in got.values() if v not in LABELS]
    require(not bad, f"use the words {LABELS}; got {bad}.", "Each plot is vanishing, stable or exploding.")
    if got == truth:
        return
    ratios = {k: float(rec.delta_rms[0] / rec.delta_rms[-1]) for k, rec in mystery_records().items()}
    wrong = sorted(k for k in truth if got[k] != truth[k])
    swapped = [k for k in wrong if {got[k], truth[k]} == {"vanishing", "exploding"}]
    if swapped:
        raise Incorrect(f"plot{'s' if len(swapped) > 1 else ''} {', '.join(swapped)}: vanishing and "
                        "exploding are swapped.",
                        "Layer 1 (left) is nearest the input, where the gradient arrives last. Vanishing "
                        "means δ is smallest at layer 1; exploding means it is largest there.")
    k = wrong[0]
    raise Incorrect(f"plot {k} is not {got[k]}: its δ at layer 1 is {ratios[k]:.3g} × its δ at the last "
                    "layer.",
                    "Every panel is zoomed to its own data, so every line crosses the whole height. Read the "
                    "tick labels: how many powers of 10 does the line span?")
