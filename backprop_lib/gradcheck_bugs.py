"""Layers with planted backward bugs, and the bug hunt of notebook 07 (gradient checking).

The correct layer is a dense tanh layer, for a batch ``x: (batch, in)``::

    z = x Wᵀ + b,   a = tanh(z)                                  forward
    δ = g ⊙ (1 − a²)          (g = dL/da: (batch, out))         tanh′(z) = 1 − tanh²(z)
    dL/dW = δᵀ x,  dL/db = Σ_batch δ,  dL/dx = δ W              backward

Each planted bug changes one line of that backward pass:

    TransposedWeightGrad    dL/dW = xᵀ δ        (a square W hides it: the shapes still match)
    DoubledBiasGrad         dL/db = 2 Σ_batch δ
    MissingTanhDerivative   δ = g               (the activation's φ′ is forgotten)

``hunt_check(layer, x, grad_out, h)`` compares a layer's backward pass with central differences
**in the layer's own dtype** (``bp.gradcheck`` always checks in float64; this one also shows what
float32 does to a check), and ``BugHunt`` is the explorer: pick a layer (three suspects carry a
planted bug, one is innocent), a dtype and a step h, and read each array's relative errors
against the shaded verdict bands of ``bp.gradcheck`` (plain relative errors, without the
resolution floor of ``bp.gradcheck``, so that too small an h shows its rounding error).

    hunt = BugHunt(layer="suspect A")
    hunt.set(dtype="float32", h=1e-3)
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np

from . import gradcheck
from ._validate import as_float_array, check_choice, check_number
from .nn.activations import ReLU, Sigmoid, Tanh
from .nn.dropout import Dropout
from .nn.layers import Linear, _check_dtype, _check_grad_out
from .nn.module import Module, Parameter, Sequential
from .nn.normalization import BatchNorm1d
from .widgets.base import Explorer

__all__ = [
    "DenseTanh", "TransposedWeightGrad", "DoubledBiasGrad", "MissingTanhDerivative", "PLANTED",
    "SUSPECTS", "LAYERS", "ArrayErrors", "HuntSettings", "HuntResult", "hunt_check", "make_layer",
    "compute_hunt", "BugHunt",
]


# ---------------------------------------------------------------------------------------------
# The correct layer and its three planted bugs
# ---------------------------------------------------------------------------------------------
class DenseTanh(Module):
    """``a = tanh(x Wᵀ + b)``: a Linear layer and its tanh in one module (a correct backward).

    ``weight: (out, in)`` and ``bias: (out,)`` are initialised as ``bp.nn.Linear``'s (PyTorch's
    U(±1/√in)). Caches ``x`` and ``a``. The backward pass is split into four small methods, so that
    each planted bug overrides exactly one line.
    """

    def __init__(self, in_features: int = 4, out_features: int = 4, *, seed=0, dtype=np.float64):
        lin = Linear(in_features, out_features, seed=seed, dtype=_check_dtype(dtype))
        self.weight: Parameter = lin.weight
        self.bias: Parameter = lin.bias
        self.x = None
        self.a = None

    def forward(self, x):
        """x: (batch, in) → a: (batch, out)."""
        x = as_float_array(x, f"{type(self).__name__} input x", ndim=2)
        if x.shape[1] != self.weight.shape[1]:
            raise ValueError(f"{type(self).__name__} got input with {x.shape[1]} features; expected shape "
                             f"(batch, {self.weight.shape[1]}).")
        self.x = x
        self.a = np.tanh(x @ self.weight.data.T + self.bias.data)      # a = tanh(x Wᵀ + b)
        return self.a

    def backward(self, grad_out):
        """grad_out = dL/da: (batch, out). Adds dL/dW, dL/db; returns dL/dx: (batch, in)."""
        self._require_cache("x", "a")
        g = _check_grad_out(self, grad_out, self.a.shape)
        delta = self.delta(g)
        self.weight.accumulate_grad(self.weight_grad(delta))
        self.bias.accumulate_grad(self.bias_grad(delta))
        return delta @ self.weight.data                                  # dL/dx = δ W

    def delta(self, g):
        return g * (1.0 - self.a * self.a)                               # δ = g ⊙ tanh′(z) = g ⊙ (1 − a²)

    def weight_grad(self, delta):
        return delta.T @ self.x                                          # dL/dW = δᵀ x: (out, in)

    def bias_grad(self, delta):
        return delta.sum(axis=0)                                         # dL/db = Σ_batch δ


class TransposedWeightGrad(DenseTanh):
    """Planted bug: dL/dW = xᵀ δ, the transpose of δᵀ x (only a square W lets it pass the shapes)."""

    def weight_grad(self, delta):
        return self.x.T @ delta


class DoubledBiasGrad(DenseTanh):
    """Planted bug: dL/db = 2 Σ_batch δ (a stray factor 2)."""

    def bias_grad(self, delta):
        return 2.0 * delta.sum(axis=0)


class MissingTanhDerivative(DenseTanh):
    """Planted bug: δ = g, the activation's derivative 1 − a² is forgotten."""

    def delta(self, g):
        return g


PLANTED = {"transpose": TransposedWeightGrad, "×2": DoubledBiasGrad, "missing φ′": MissingTanhDerivative}
SUSPECTS = {"suspect A": DoubledBiasGrad, "suspect B": DenseTanh, "suspect C": MissingTanhDerivative,
            "suspect D": TransposedWeightGrad}

# ---------------------------------------------------------------------------------------------
# The layers of the hunt: correct bp layers, two pitfalls, and the suspects
# ---------------------------------------------------------------------------------------------
IN = OUT = 4          # square layers: a transposed weight gradient still has the right shape
BATCH = 5
KINK_ENTRIES = {(0, 0): 3e-6, (1, 2): -2e-6}   # ReLU inputs this close to 0 are crossed by a step h > |x|

LAYERS = (
    "Linear(4, 4)", "Linear → Tanh", "Linear → Sigmoid", "BatchNorm1d(4)",
    "ReLU, inputs near its kink", "Dropout(0.5), training mode", *SUSPECTS,
)


def make_layer(name: str, dtype=np.float64, seed: int = 0):
    """The layer called ``name`` (one of ``LAYERS``) and its input ``x: (5, 4)``, both in ``dtype``."""
    name = check_choice(name, "layer", LAYERS)
    dt = _check_dtype(dtype)
    x = np.random.default_rng(seed).standard_normal((BATCH, IN)).astype(dt)
    if name in SUSPECTS:
        return SUSPECTS[name](IN, OUT, seed=seed, dtype=dt), x
    if name == "ReLU, inputs near its kink":
        for idx, value in KINK_ENTRIES.items():
            x[idx] = value
        return ReLU(), x
    if name == "Dropout(0.5), training mode":
        return Dropout(0.5, seed=seed), x
    if name == "BatchNorm1d(4)":
        return BatchNorm1d(IN, dtype=dt), x
    act = {"Linear → Tanh": Tanh, "Linear → Sigmoid": Sigmoid}.get(name)
    linear = Linear(IN, OUT, seed=seed, dtype=dt)
    return (Sequential(linear, act()) if act else linear), x


@dataclass(frozen=True)
class ArrayErrors:
    """One checked array: flat analytic and numerical gradients and their relative errors."""

    name: str
    analytic: np.ndarray
    numeric: np.ndarray
    errors: np.ndarray                  # |a − n| / max(|a| + |n|, tiny), entry by entry

    @property
    def max_error(self) -> float:
        return float(np.max(self.errors)) if np.all(np.isfinite(self.errors)) else float("inf")

    @property
    def verdict(self) -> str:
        return gradcheck.verdict(self.max_error)


def _central_differences(probe, array: np.ndarray, h: float) -> np.ndarray:
    """(f(θ + h eᵢ) − f(θ − h eᵢ)) / 2h for every entry, perturbing ``array`` in its own dtype."""
    numeric = np.empty(array.size)
    for i in range(array.size):
        idx = np.unravel_index(i, array.shape)
        old = array[idx]
        array[idx] = old + h          # rounded to the array's dtype, as in any float32 code
        f_plus = probe()
        array[idx] = old - h
        f_minus = probe()
        array[idx] = old              # restore exactly
        numeric[i] = (f_plus - f_minus) / (2.0 * h)
    return numeric


def hunt_check(layer: Module, x, grad_out, h: float = 1e-5, tiny: float | None = None) -> tuple:
    """Check ``layer.backward`` against central differences, in the dtype of ``x`` and the layer.

    The scalar is ``L = Σ layer(x) ⊙ grad_out`` (so dL/d(output) = grad_out), as in
    ``bp.gradcheck.check_layer``, with the same denominator floor ``tiny`` (the float64 resolution
    of a central difference at this h and loss scale, unless given). Unlike ``check_layer``, nothing
    is upcast and nothing is refused: a float32 layer is checked in float32 and a random layer is
    checked as it is, which is what shows why ``bp.gradcheck`` does neither. The layer is
    modified in place (its parameters are restored, its ``.grad`` is refilled).

    Returns ``(rows, tiny)``: one ``ArrayErrors`` per parameter, then one for the input.
    """
    h = check_number(h, "h (the finite-difference step)", low=0.0, low_open=True)
    x = np.array(x)
    grad_out = np.asarray(grad_out, dtype=x.dtype)
    layer.zero_grad()
    out = layer(x)
    grad_x = layer.backward(grad_out)

    def probe():                                   # L = Σ layer(x) ⊙ g, computed in the layer's dtype
        return float(np.sum(layer(x) * grad_out))

    if tiny is None:
        scale = max(float(np.sum(np.abs(out * grad_out), dtype=np.float64)), 1.0)
        noise = gradcheck.NOISE_FACTOR * np.finfo(np.float64).eps * scale / h
        tiny = noise / gradcheck.CORRECT_BELOW
    arrays = [(name, p.data, p.grad) for name, p in layer.named_parameters()] + [("input", x, grad_x)]
    rows = []
    for name, array, analytic in arrays:
        analytic = np.zeros(array.size) if analytic is None else np.asarray(analytic, np.float64).ravel()
        numeric = _central_differences(probe, array, h)
        rows.append(ArrayErrors(name, analytic, numeric, gradcheck.relative_error(analytic, numeric, tiny)))
    return tuple(rows), float(tiny)


# ---------------------------------------------------------------------------------------------
# The explorer
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HuntSettings:
    layer: str = "suspect A"
    dtype: str = "float64"
    h: float = 1e-5
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "layer", check_choice(self.layer, "layer", LAYERS))
        object.__setattr__(self, "dtype", check_choice(self.dtype, "dtype", ("float64", "float32")))
        check_number(self.h, "h", low=1e-12, high=1.0)


@dataclass(frozen=True)
class HuntResult:
    settings: HuntSettings
    rows: tuple
    tiny: float
    note: str

    @property
    def max_error(self) -> float:
        return max(r.max_error for r in self.rows)

    @property
    def verdict(self) -> str:
        return gradcheck.verdict(self.max_error)

    def errors(self) -> dict:
        """``{array name: max relative error}``."""
        return {r.name: r.max_error for r in self.rows}


def _note(s: HuntSettings) -> str:
    if s.layer.startswith("Dropout"):
        return ("Dropout draws a new mask at every forward pass: the two sides of each difference are two "
                "different networks. bp.gradcheck refuses it; call .eval() first.")
    if s.dtype == "float32":
        return ("float32 keeps about 7 digits: L(θ ± h) is rounded before the difference is taken, and "
                "no h fixes that. bp.gradcheck always checks in float64.")
    if s.layer.startswith("ReLU") and s.h > min(abs(v) for v in KINK_ENTRIES.values()):
        return "Some inputs lie closer to ReLU's kink at 0 than h: the step crosses it. Try a smaller h."
    return ""


def compute_hunt(settings: HuntSettings) -> HuntResult:
    """Build the chosen layer in the chosen dtype and check every array (pure: no widgets).

    The relative errors have no resolution floor (``tiny = bp.gradcheck.TINY``): a step h so small
    that rounding dominates shows as such, instead of being judged by its absolute error.
    """
    layer, x = make_layer(settings.layer, settings.dtype, settings.seed)
    g = np.random.default_rng(settings.seed + 1).standard_normal((BATCH, OUT)).astype(x.dtype)
    rows, tiny = hunt_check(layer, x, g, settings.h, tiny=gradcheck.TINY)   # no floor: rounding shows
    return HuntResult(settings, rows, tiny, _note(settings))


BANDS = (("correct", 1e-20, gradcheck.CORRECT_BELOW, "#009E73"),
         ("suspicious", gradcheck.CORRECT_BELOW, gradcheck.WRONG_FROM, "#E69F00"),
         ("wrong", gradcheck.WRONG_FROM, 10.0, "#D55E00"))
FLOOR = 1e-17          # a relative error of exactly 0 is drawn here


class BugHunt(Explorer):
    """Which layer's backward pass is wrong? Relative errors of every array over the verdict bands.

    ``BugHunt(layer="suspect C").set(dtype="float32")``; ``.result.errors()`` holds the numbers.
    """

    Settings = HuntSettings
    title = "Bug hunt: gradient check of one layer"
    compute = staticmethod(compute_hunt)

    def make_figure(self, fig):
        self.ax = fig.subplots()
        for label, lo, hi, colour in BANDS:
            self.ax.axhspan(lo, hi, color=colour, alpha=0.13, linewidth=0)
            self.ax.text(1.01, np.sqrt(max(lo, FLOOR) * min(hi, 1.0)), label, color=colour, va="center",
                         transform=self.ax.get_yaxis_transform(), fontsize="small")
        self.ax.set_yscale("log")
        self.ax.set_ylim(FLOOR / 3, 3.0)
        self.ax.set_ylabel("relative error |a − n| / (|a| + |n|)")
        self.ax.grid(axis="x", visible=False)
        self._artists = []

    def draw(self, r: HuntResult):
        for artist in self._artists:
            artist.remove()
        self._artists = []
        rng = np.random.default_rng(0)                          # fixed jitter: redraws do not dance
        for i, row in enumerate(r.rows):
            colour = dict((b[0], b[3]) for b in BANDS)[row.verdict]
            top = max(min(row.max_error, 1.0), FLOOR)
            self._artists.append(self.ax.bar(i, top - FLOOR, bottom=FLOOR, width=0.6, color=colour,
                                             alpha=0.3, edgecolor=colour, linewidth=2))
            shown = np.clip(np.nan_to_num(row.errors, nan=1.0), FLOOR, 1.0)
            self._artists.append(self.ax.scatter(i + rng.uniform(-0.2, 0.2, shown.size), shown, s=12,
                                                 color="black", alpha=0.6, zorder=3))
        self.ax.set_xticks(range(len(r.rows)), [f"{row.name}\n{row.max_error:.1e}" for row in r.rows])
        self.ax.set_xlim(-0.7, len(r.rows) - 0.3)
        s = r.settings
        self.ax.set_title(f"{s.layer}, {s.dtype}, h = {s.h:.0e}: {r.verdict}", fontsize="medium")
        note = r.note or "bars: the largest error of each array; dots: every entry"
        self.ax.set_xlabel(textwrap.fill(note, 80), fontsize="small", color="#0072B2" if r.note else "0.3")

    def controls(self):
        import ipywidgets as W

        s = self.settings
        return {
            "layer": W.Dropdown(options=LAYERS, value=s.layer, description="layer"),
            "dtype": W.ToggleButtons(options=("float64", "float32"), value=s.dtype, description="dtype"),
            "h": W.FloatLogSlider(value=s.h, base=10, min=-11, max=-1, step=0.5, description="step h",
                                  readout_format=".0e", continuous_update=False),
        }
