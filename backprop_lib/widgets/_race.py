"""The optimizer race, pure compute: run real ``bp.optim`` optimizers on a 2-D test surface.

Each optimizer steps its own 2-element ``bp.nn.Parameter`` θ from the same start; the
gradient is the surface's exact ∇f(θ) (no network, no noise), so every difference between
the paths comes from the update rule::

    result = race(bp.optim.surfaces.Quadratic(condition=50),
                  {"SGD": ("SGD", {"lr": 1.0}),
                   "momentum": ("SGD", {"lr": 0.5, "momentum": 0.9}),
                   "Adam": ("Adam", {"lr": 0.1})},
                  start=(-2.0, 1.5), steps=100)
    result.runs["Adam"].path          # (steps + 1, 2): θ_0 … θ_T
    result.runs["Adam"].state["v_hat"]  # (steps, 2): v̂_t after each step

Along the path the optimizer's inner state is recorded after every step, under PyTorch's
names: ``momentum_buffer`` (the velocity b_t of SGD with momentum), ``sum`` (AdaGrad's s_t),
``square_avg`` (RMSprop's v_t), ``exp_avg`` / ``exp_avg_sq`` (Adam's m_t / v_t), and for Adam
the bias-corrected ``m_hat`` = m_t/(1 − β₁ᵗ) and ``v_hat`` = v_t/(1 − β₂ᵗ) it actually steps with.

A run that diverges (θ, f or ∇f not finite, or θ outside the box |θ₁|, |θ₂| ≤ ``bound``) stops
there with a message naming the optimizer; the others go on.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from .._validate import check_number, check_positive_int
from ..nn.module import Parameter
from ..optim import adagrad, adam, rmsprop, sgd
from ..optim.surfaces import Surface

OPTIMIZER_CLASSES = {"SGD": sgd.SGD, "AdaGrad": adagrad.AdaGrad, "Adagrad": adagrad.AdaGrad,
                     "RMSprop": rmsprop.RMSprop, "Adam": adam.Adam, "AdamW": adam.AdamW}
BOUND = 1e3          # a run has diverged once |θ₁| or |θ₂| exceeds this
MAX_STEPS = 100_000


@dataclass(frozen=True)
class Run:
    """One optimizer's race.

    path: (n + 1, 2) the iterates θ_0 … θ_n (n = ``len(grad)`` steps taken; n < ``steps`` if it
    diverged; the last row may lie outside the box, never inf/NaN); loss: (n + 1,) f(θ_t);
    grad: (n, 2) the gradient ∇f(θ_{t−1}) used by step t; state: {key: (n, 2)} the optimizer's
    state after each step (see the module docstring); diverged_at: the step at which it
    diverged, or None; message: why, and what to do (None if it did not diverge).
    """

    name: str
    optimizer: str
    kwargs: dict
    path: np.ndarray
    loss: np.ndarray
    grad: np.ndarray
    state: dict = field(default_factory=dict)
    steps: int = 0
    diverged_at: int | None = None
    message: str | None = None

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1])

    def steps_to(self, tol: float, min_value: float = 0.0) -> int | None:
        """The first step t with f(θ_t) − f* <= ``tol`` (None if never)."""
        hit = np.flatnonzero(self.loss - min_value <= tol)
        return int(hit[0]) if hit.size else None


@dataclass(frozen=True)
class RaceResult:
    """surface, start, steps and ``runs`` ({name: Run}, in the order given)."""

    surface: Surface
    start: tuple
    steps: int
    runs: dict

    @property
    def messages(self) -> list[str]:
        """One line per diverged optimizer."""
        return [r.message for r in self.runs.values() if r.message]

    @property
    def trajectories(self) -> dict:
        """``{name: path (n + 1, 2)}``, as ``bp.viz.plot_loss_landscape`` takes them::

            s = result.surface
            bp.viz.plot_loss_landscape(s.f, result.trajectories, xlim=s.xlim, ylim=s.ylim)
        """
        return {name: run.path for name, run in self.runs.items()}


def _check_spec(name, spec):
    if not isinstance(name, str):
        raise TypeError(f"optimizers must be keyed by a name (str); got key {name!r}.")
    if not (isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[1], dict)):
        raise TypeError(
            f"optimizers[{name!r}] must be a pair (class name, kwargs dict), e.g. "
            f"('SGD', {{'lr': 0.1, 'momentum': 0.9}}); got {spec!r}."
        )
    cls_name, kwargs = spec
    if cls_name not in OPTIMIZER_CLASSES:
        raise ValueError(
            f"optimizers[{name!r}] names the optimizer {cls_name!r}; expected one of "
            f"{', '.join(repr(k) for k in OPTIMIZER_CLASSES)} (classes of bp.optim)."
        )
    if "params" in kwargs:
        raise ValueError(f"optimizers[{name!r}]: leave 'params' out of the kwargs; the race makes θ itself.")
    return cls_name, dict(kwargs)


def check_start(start, name: str = "start") -> tuple[float, float]:
    """``start`` as a pair of finite floats."""
    if isinstance(start, (str, bytes)) or not hasattr(start, "__len__") or len(start) != 2:
        raise TypeError(f"{name} must be a point (θ₁, θ₂) of two numbers; got {start!r}.")
    return (check_number(start[0], f"{name}[0] (θ₁)"), check_number(start[1], f"{name}[1] (θ₂)"))


def _make_optimizer(name, cls_name, kwargs, p):
    try:
        return OPTIMIZER_CLASSES[cls_name]([p], **kwargs)
    except TypeError as err:
        raise TypeError(f"optimizers[{name!r}] = ({cls_name!r}, {kwargs!r}): {err}") from None
    except ValueError as err:
        raise ValueError(f"optimizers[{name!r}]: {err}") from None


def _derived_state(state: dict, group: dict) -> dict:
    """Adam's bias-corrected moments as its update uses them, from the recorded m_t, v_t
    (arrays (n, 2) over the steps t = 1 … n)."""
    if "exp_avg" not in state:
        return {}
    m = state["exp_avg"]
    v = state["max_exp_avg_sq"] if group.get("amsgrad") else state["exp_avg_sq"]
    if not group.get("bias_correction", True):
        return {"m_hat": m, "v_hat": v}
    beta1, beta2 = group["betas"]
    t = np.arange(1, len(m) + 1, dtype=np.float64)[:, None]
    return {"m_hat": m / (1 - beta1**t),          # m̂_t = m_t / (1 − β₁ᵗ)
            "v_hat": v / (1 - beta2**t)}          # v̂_t = v_t / (1 − β₂ᵗ)


def _value(fn, x: float, y: float):
    """``fn(x, y)`` on plain floats; an overflow gives inf (Python floats raise instead)."""
    try:
        return fn(x, y)
    except OverflowError:
        return (math.inf, math.inf) if fn.__name__ == "_grad" else math.inf


def run_optimizer(surface: Surface, name: str, cls_name: str, kwargs: dict, start, steps: int,
                  bound: float = BOUND) -> Run:
    """Run one optimizer for ``steps`` steps from ``start`` on ``surface`` (see ``race``)."""
    p = Parameter(np.array(start, dtype=np.float64), name=name)
    opt = _make_optimizer(name, cls_name, kwargs, p)
    group = opt.param_groups[0]
    f, grad = surface._f, surface._grad                     # on plain floats: fast per point
    x, y = float(start[0]), float(start[1])
    path, loss, grads = [(x, y)], [_value(f, x, y)], []
    records: dict[str, list] = {}
    diverged_at, why = None, None
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            gx, gy = _value(grad, x, y)                     # ∇f(θ_{t−1}), exact
            if not (math.isfinite(gx) and math.isfinite(gy)):
                diverged_at, why = t, "the gradient overflowed"
                break
            p.grad = np.array((gx, gy))
            opt.step()                                      # the real bp.optim update
            x, y = p.data.tolist()
            if not (math.isfinite(x) and math.isfinite(y)):
                diverged_at, why = t, "θ became inf/NaN"
                break
            grads.append((gx, gy))
            for key, value in opt.state[p].items():              # the state after step t
                if type(value) is np.ndarray:
                    records.setdefault(key, [None] * (t - 1)).append(value.tolist())
            path.append((x, y))
            if abs(x) > bound or abs(y) > bound:
                loss.append(float(surface.f(np.array((x, y)))))
                diverged_at, why = t, f"θ left the box |θ₁|, |θ₂| ≤ {bound:g}"
                break
            loss.append(_value(f, x, y))
            if not math.isfinite(loss[-1]):
                diverged_at, why = t, "the loss overflowed"
                break
    message = None
    if diverged_at is not None:
        message = f"{name} diverged at step {diverged_at}: {why}. Lower its lr (now {group['lr']:.3g})."
    n = len(grads)
    arrays = {"path": np.array(path).reshape(n + 1, 2), "loss": np.array(loss, dtype=np.float64),
              "grad": np.array(grads, dtype=np.float64).reshape(n, 2)}
    state = {k: np.array([(np.nan, np.nan) if v is None else v for v in vals], dtype=np.float64).reshape(n, 2)
             for k, vals in records.items()}
    with np.errstate(all="ignore"):                            # β^t may underflow: 1 − β^t = 1
        state.update(_derived_state(state, group))
    for a in (*arrays.values(), *state.values()):
        a.setflags(write=False)
    return Run(name=name, optimizer=cls_name, kwargs=kwargs, state=state, steps=steps,
               diverged_at=diverged_at, message=message, **arrays)


def race(surface: Surface, optimizers: dict, start=None, steps: int = 100, *,
         bound: float = BOUND) -> RaceResult:
    """Run each optimizer of ``optimizers`` ({name: (class name, kwargs)}, the class one of
    ``bp.optim``'s: "SGD", "AdaGrad", "RMSprop", "Adam", "AdamW") for ``steps`` steps on
    ``surface`` from ``start`` (default: the surface's own start), recording path, loss,
    gradient and inner state. Pure: no figure, no warnings; a diverging optimizer ends early
    with a ``message``; bad arguments raise ValueError/TypeError naming the optimizer."""
    if not isinstance(surface, Surface):
        raise TypeError(
            f"surface must be a bp.optim.surfaces.Surface (e.g. Rosenbrock()); got {type(surface).__name__}."
        )
    if not isinstance(optimizers, dict):
        raise TypeError(
            "optimizers must be a dict {name: (class name, kwargs)}, e.g. "
            f"{{'Adam': ('Adam', {{'lr': 0.1}})}}; got {type(optimizers).__name__}."
        )
    start = check_start(surface.start if start is None else start)
    steps = check_positive_int(steps, "steps")
    if steps > MAX_STEPS:
        raise ValueError(f"steps must be at most {MAX_STEPS}; got {steps}.")
    if isinstance(bound, bool) or not isinstance(bound, numbers.Real):
        raise TypeError(f"bound must be a number; got {bound!r}.")
    bound = check_number(bound, "bound", low=0, low_open=True)
    specs = {name: _check_spec(name, spec) for name, spec in optimizers.items()}
    runs = {name: run_optimizer(surface, name, cls_name, kwargs, start, steps, bound)
            for name, (cls_name, kwargs) in specs.items()}
    return RaceResult(surface=surface, start=start, steps=steps, runs=runs)
