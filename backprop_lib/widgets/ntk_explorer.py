"""NTKExplorer: the neural tangent kernel of a finite network, its infinite-width limit, and
how well the kernel predicts training.

On a fixed input set (20 points on the unit circle, targets y = cos φ + ½ sin 2φ) the explorer
builds ``bp.nn.mlp([2, width × depth, 1])`` in the NTK parameterization and shows

1. its empirical NTK Θ₀ = ``bp.ntk.empirical(net, x)`` next to the infinite-width Θ_∞ =
   ``bp.ntk.analytic(x, depth, activation)``, with ‖Θ₀ − Θ_∞‖_F/‖Θ_∞‖_F (∝ 1/√width);
2. how far the kernel moves while the network trains by full-batch gradient descent on
   L = 1/(2n)·Σ(f − y)²: ‖Θ_s − Θ₀‖_F/‖Θ₀‖_F at checkpoints s (small when wide: the lazy regime);
3. the outputs the linearised network predicts (``bp.ntk.linearized_dynamics`` with Θ₀, the
   network's own initial outputs and the same steps) next to the trained network's, on the
   training points and on 80 test points between them.

Training costs parameters × steps; a setting beyond ``UPDATE_BUDGET`` parameter updates is
refused, naming the largest steps and width that fit (depth 1 is cheap at every width: its
hidden layer has 2 inputs, so the network has only 4·width + 1 parameters).

    ex = bp.widgets.NTKExplorer(width=64)
    ex.set(width=4096)             # the kernel freezes and training follows the prediction
"""

from __future__ import annotations

import numbers
import textwrap
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._validate import NonFiniteError, check_choice, check_number
from ..nn.builders import mlp
from ..ntk.analytic import CLOSED_FORMS, analytic
from ..ntk.dynamics import linearized_dynamics
from ..ntk.empirical import empirical
from ..ntk.experiments import circle_data, train_gd
from ._ntk_view import NTKFigure
from .base import Explorer

ACTIVATIONS = ("relu", "tanh", "gelu", "softplus", "sigmoid", "elu", "leaky_relu", "identity")
WIDTH_RANGE, DEPTH_RANGE, STEPS_RANGE = (16, 4096), (1, 3), (1, 100)
LR_RANGE, SEED_RANGE = (1e-3, 100.0), (0, 2**31 - 1)
N_TRAIN, N_TEST = 20, 80
QUADRATURE_ORDER = 16      # Gauss–Hermite order of the analytic kernel without closed form (~1e-8)
CHECKPOINTS = 10           # kernels measured during training (besides the initial one)
#: The explorer's work budget in parameter updates: parameters × (steps + SETUP_STEPS), where
#: SETUP_STEPS is about what drawing the initial weights and measuring the kernels cost. It allows
#: depth 1 at every width, depth 2 and 3 at width 1024 for 100 steps, depth 2 at width 2048 for
#: 49 steps and at width 4096 for 4 (a few seconds on a shared 2-core machine, see the benchmark).
UPDATE_BUDGET, SETUP_STEPS = 2.5e8, 10


def _int_in(value, name: str, lo: int, hi: int, meaning: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer ({meaning}); got {value!r} ({type(value).__name__}).")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo} to {hi} ({meaning}); got {value}.")
    return int(value)


def parameter_count(width: int, depth: int) -> int:
    """Weights and biases of ``mlp([2] + [width] * depth + [1])``."""
    sizes = [2] + [width] * depth + [1]
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def _work(width: int, depth: int, steps: int) -> int:
    return parameter_count(width, depth) * (steps + SETUP_STEPS)


def _check_budget(width: int, depth: int, steps: int) -> None:
    if _work(width, depth, steps) <= UPDATE_BUDGET:
        return
    count = parameter_count(width, depth)
    max_steps = int(UPDATE_BUDGET // count) - SETUP_STEPS
    fits = [w for w in range(WIDTH_RANGE[0], width) if _work(w, depth, steps) <= UPDATE_BUDGET]
    options = [f"steps to ≤ {max_steps}"] if max_steps >= 1 else []
    options += [f"width to ≤ {fits[-1]}"] if fits else []
    raise ValueError(
        f"steps={steps} at width={width} and depth={depth} is too much work for this explorer: "
        f"{count:,} parameters × ({steps} step{'s' * (steps > 1)} + {SETUP_STEPS} for set-up) = "
        f"{_work(width, depth, steps):.3g} updates, beyond its budget of {UPDATE_BUDGET:.3g} (a few "
        f"seconds per change). Lower {' or '.join(options)}, or use depth=1 (cheap at every width)."
    )


@dataclass(frozen=True)
class NTKSettings:
    """One setting of the explorer (validated on creation).

    width: units per hidden layer (16 … 4096); depth: hidden layers (1 … 3), then a linear
    read-out; activation: one of ``ACTIVATIONS`` (the analytic kernel of relu and identity is
    closed-form, the others use Gauss–Hermite quadrature of order 16);
    lr: gradient-descent rate η on L = 1/(2n)·Σ(f − y)² (diverges when ηλ_max(Θ₀)/n ≥ 2);
    steps: gradient-descent steps (1 … 100; parameters × (steps + 10) ≤ ``UPDATE_BUDGET``);
    seed: the network's initial weights.
    """

    width: int = 256
    depth: int = 1
    activation: str = "relu"
    lr: float = 1.0
    steps: int = 100
    seed: int = 0

    def __post_init__(self):
        put = object.__setattr__
        put(self, "width", _int_in(self.width, "width", *WIDTH_RANGE, "units per hidden layer"))
        put(self, "depth", _int_in(self.depth, "depth", *DEPTH_RANGE, "the number of hidden layers"))
        put(self, "activation", check_choice(self.activation, "activation", ACTIVATIONS))
        put(self, "lr", check_number(self.lr, "lr", low=LR_RANGE[0], high=LR_RANGE[1]))
        put(self, "steps", _int_in(self.steps, "steps", *STEPS_RANGE, "gradient-descent steps"))
        put(self, "seed", _int_in(self.seed, "seed", *SEED_RANGE, "seed of the initial weights"))
        _check_budget(self.width, self.depth, self.steps)

    def describe(self) -> str:
        return (f"width {self.width} · depth {self.depth} · {self.activation} · lr {self.lr:.3g} · "
                f"{self.steps} steps · seed {self.seed}")


@dataclass(frozen=True)
class Data:
    """The fixed inputs: x_train (20, 2) on the unit circle at angles phi_train (20,), targets
    y_train (20,); x_test (80, 2) between them at phi_test, targets y_test (80,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    phi_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    phi_test: np.ndarray


@lru_cache(maxsize=1)
def fixed_data() -> Data:
    x, y = circle_data(N_TRAIN)
    xt, yt = circle_data(N_TEST, offset=0.5)
    phi, phit = 2 * np.pi * np.arange(N_TRAIN) / N_TRAIN, 2 * np.pi * (np.arange(N_TEST) + 0.5) / N_TEST
    arrays = (x, y, phi, xt, yt, phit)
    for a in arrays:
        a.setflags(write=False)
    return Data(*arrays)


def build_network(settings: NTKSettings):
    """``bp.nn.mlp([2] + [width] * depth + [1], activation, seed, parameterization="ntk")``
    (w_std = 1, b_std = 0: the biases get no gradient, the kernels of ``bp.ntk`` match)."""
    s = settings
    return mlp([2] + [s.width] * s.depth + [1], activation=s.activation, seed=s.seed, parameterization="ntk")


@lru_cache(maxsize=32)
def analytic_kernel(depth: int, activation: str) -> np.ndarray:
    """Θ_∞ (20, 20) on the training points (closed form, or quadrature of ``QUADRATURE_ORDER``)."""
    order = None if activation in CLOSED_FORMS else QUADRATURE_ORDER
    theta = analytic(fixed_data().x_train, depth=depth, activation=activation, quadrature_order=order).ntk
    theta.setflags(write=False)
    return theta


def relative_distance(a, b) -> float:
    """‖a − b‖_F / ‖b‖_F."""
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@dataclass(frozen=True)
class NTKResult:
    """What ``compute_ntk_explorer`` measured (T = steps; C ≤ 11 checkpoints).

    analytic, empirical: Θ_∞ and Θ₀ (20, 20); distance = ‖Θ₀ − Θ_∞‖/‖Θ_∞‖;
    sharpness = η·λ_max(Θ₀)/n (gradient descent diverges at ≥ 2);
    checkpoints (C,) steps at which the kernel was measured (0 first), kernel_change (C,)
        ‖Θ_s − Θ₀‖/‖Θ₀‖ there, final_kernel Θ at the last checkpoint;
    actual_train, predicted_train (T + 1, 20): outputs at every step, trained vs linearised;
    actual_loss, predicted_loss (T + 1,): L = 1/(2n)Σ(f − y)² of each;
    initial_test, actual_test, predicted_test (80,): test outputs at step 0 and after T steps;
    train_error: max over steps of ‖actual − predicted‖ / the largest ‖actual_s − actual_0‖;
    test_error: ‖actual_test − predicted_test‖ / ‖actual_test − initial_test‖;
    message: why training stopped or did not start (None when it ran). Training fields are
    None when it did not start; a run that diverged keeps the steps before it.
    """

    settings: NTKSettings
    data: Data
    analytic: np.ndarray
    empirical: np.ndarray
    distance: float
    sharpness: float
    checkpoints: np.ndarray | None = None
    kernel_change: np.ndarray | None = None
    final_kernel: np.ndarray | None = None
    actual_train: np.ndarray | None = None
    predicted_train: np.ndarray | None = None
    actual_loss: np.ndarray | None = None
    predicted_loss: np.ndarray | None = None
    initial_test: np.ndarray | None = None
    actual_test: np.ndarray | None = None
    predicted_test: np.ndarray | None = None
    train_error: float = float("nan")
    test_error: float = float("nan")
    message: str | None = None

    @property
    def trained(self) -> bool:
        return self.actual_train is not None


def _train(net, data: Data, lr: float, steps: int, theta0):
    """GD in chunks between checkpoints, the kernel measured at each.

    Returns outputs (T' + 1, n) for the steps run (None if the first chunk diverged),
    checkpoints (C,), changes (C,), the last kernel measured, and a message if it diverged.
    """
    marks = np.unique(np.round(np.linspace(0, steps, min(steps, CHECKPOINTS) + 1)).astype(int))
    outputs, changes, kernel = [], [0.0], theta0
    for a, b in zip(marks[:-1], marks[1:], strict=True):
        try:
            f, _ = train_gd(net, data.x_train, data.y_train, lr, int(b - a))
        except NonFiniteError:                   # a layer refused an overflowed input
            f = None
        if f is None or not np.all(np.isfinite(f)):
            return (np.vstack(outputs) if outputs else None, marks[:len(changes)], np.array(changes), kernel,
                    f"Training diverged between steps {a} and {b}: the outputs overflowed although "
                    f"η·λ_max(Θ₀)/n < 2 (the kernel grew while training, as narrow networks' kernels "
                    "may). Lower lr.")
        outputs.append(f if not outputs else f[1:])
        kernel = empirical(net, data.x_train)
        changes.append(relative_distance(kernel, theta0))
    return np.vstack(outputs), marks, np.array(changes), kernel, None


def _relative(a, b, reference) -> float:
    """‖a − b‖ / ‖reference‖ (0/0 counts as 0)."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(reference), np.finfo(float).tiny))


def compute_ntk_explorer(settings: NTKSettings) -> NTKResult:
    """Kernels, training and linearised prediction of one setting. Pure: no widgets, no figure.

    A learning rate that makes gradient descent diverge (ηλ_max(Θ₀)/n ≥ 2) or a run that
    overflows is a result with a ``message``, not an exception.
    """
    if not isinstance(settings, NTKSettings):
        raise TypeError(f"settings must be an NTKSettings; got {type(settings).__name__}.")
    s, data = settings, fixed_data()
    theta_inf = analytic_kernel(s.depth, s.activation)
    net = build_network(s)
    with np.errstate(all="ignore"):
        theta0 = empirical(net, data.x_train)
        sharpness = float(s.lr * np.linalg.eigvalsh(theta0)[-1] / N_TRAIN)
        base = dict(settings=s, data=data, analytic=theta_inf, empirical=theta0,
                    distance=relative_distance(theta0, theta_inf), sharpness=sharpness)
        if sharpness >= 2:
            return NTKResult(**base, message=(
                f"lr={s.lr:.3g} makes gradient descent diverge: η·λ_max(Θ₀)/n = {sharpness:.3g} ≥ 2 for "
                f"this network's kernel. Use lr < {2 * s.lr / sharpness:.3g}."))
        f0_test = net(data.x_test)[:, 0]
        cross0, f0_train = empirical(net, data.x_test, data.x_train), net(data.x_train)[:, 0]
        pred = linearized_dynamics(theta0, cross0, data.y_train, f0_train, f0_test, s.lr,
                                   np.arange(s.steps + 1), method="gd")
        actual, marks, changes, kernel, message = _train(net, data, s.lr, s.steps, theta0)
        training = dict(checkpoints=marks, kernel_change=changes, final_kernel=kernel, message=message)
        if actual is None:
            return NTKResult(**base, **training)
        last = actual.shape[0] - 1
        predicted = pred.f_train[:last + 1]
        moved = np.max(np.linalg.norm(actual - actual[0], axis=1))
        train_error = float(np.max(np.linalg.norm(actual - predicted, axis=1))
                            / max(moved, np.finfo(float).tiny))
        actual_test = net(data.x_test)[:, 0] if message is None else None
        predicted_test = pred.f_test[last]
        test_error = (float("nan") if actual_test is None
                      else _relative(actual_test, predicted_test, actual_test - f0_test))
    return NTKResult(
        **base, **training, actual_train=actual, predicted_train=predicted,
        actual_loss=0.5 * np.mean((actual - data.y_train) ** 2, axis=1),
        predicted_loss=pred.train_loss[:last + 1],
        initial_test=f0_test, actual_test=actual_test, predicted_test=predicted_test,
        train_error=train_error, test_error=test_error,
    )


class NTKExplorer(Explorer):
    """Width (16 … 4096, log scale), depth, activation, lr, steps and seed → the empirical NTK
    next to the infinite-width one with their relative distance, the kernel's change while the
    network trains, and the linearised (kernel) prediction next to the trained network's outputs.

    ``NTKExplorer(width=16).set(width=4096)``: the kernel approaches Θ_∞, barely moves while
    training, and the network follows its linearisation.
    """

    Settings = NTKSettings
    title = "Neural tangent kernel: finite width, infinite width and training"
    compute = staticmethod(compute_ntk_explorer)

    @staticmethod
    def clear_cache() -> None:
        """Forget the memoised analytic kernels (benchmarks time a cold compute with it)."""
        analytic_kernel.cache_clear()

    def make_figure(self, fig):
        self.view = NTKFigure(fig, self.theme, N_TRAIN)

    def draw(self, r: NTKResult):
        self.view.draw(r)

    def message(self):
        text = super().message()
        return textwrap.fill(text, 72) if text else text

    # -- controls --------------------------------------------------------------------
    def controls(self):
        import ipywidgets as W

        s = self.settings
        label = {"description_width": "70px"}
        slider = dict(continuous_update=False, style=label)
        lo, hi = (float(np.log2(w)) for w in WIDTH_RANGE)
        return {
            "width": W.FloatLogSlider(value=s.width, base=2, min=lo, max=hi, step=1, readout_format=".0f",
                                      description="width", **slider),
            "depth": W.IntSlider(value=s.depth, min=DEPTH_RANGE[0], max=DEPTH_RANGE[1], description="depth",
                                 **slider),
            "activation": W.Dropdown(options=ACTIVATIONS, value=s.activation, description="activation",
                                     style=label),
            "lr": W.FloatLogSlider(value=s.lr, base=10, min=np.log10(LR_RANGE[0]), max=np.log10(LR_RANGE[1]),
                                   step=0.1, readout_format=".3g", description="lr", **slider),
            "steps": W.IntSlider(value=s.steps, min=STEPS_RANGE[0], max=STEPS_RANGE[1], description="steps",
                                 **slider),
            "seed": W.BoundedIntText(value=s.seed, min=SEED_RANGE[0], max=SEED_RANGE[1], description="seed",
                                     style=label),
        }

    def _on_control(self, name, change):
        if name == "width":            # the log slider gives floats (2.0**k): the setting is an int
            change = {**change, "new": int(round(change["new"]))}
        super()._on_control(name, change)
