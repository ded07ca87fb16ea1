"""Checkers for notebook 09 (momentum and adaptive optimizers).

* ``09.adam_step``: ``adam_step(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)``
  returns ``(theta, m, v, t)`` after one Adam step, where ``t`` counts the steps taken *before*
  this one (0 at the first call) and comes back as t + 1. Compared step by step with
  ``bp.optim.Adam`` on a quadratic, with the default and with other hyper-parameters; catches
  the missing bias correction (a first step of ≈ 3.16·lr), t counted from 0 (1 − β⁰ = 0),
  t handed back unchanged, and hyper-parameters ignored;
* ``09.rmsprop_step``: ``rmsprop_step(theta, g, v, lr=1e-2, alpha=0.99, eps=1e-8)`` returns
  ``(theta, v)``; compared with ``bp.optim.RMSprop``; catches AdaGrad's sum (v += g²) and a
  running mean of g instead of g²;
* ``09.race_winners``: a prediction ``{"quadratic": ..., "rosenbrock": ..., "saddle": ...}`` of
  which of SGD, momentum and Adam wins each race; the checker runs the races (``RACES``, with
  ``bp.widgets.OptimizerRace``'s compute) and compares.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..nn.module import Parameter
from ..optim.adam import Adam
from ..optim.rmsprop import RMSprop
from .core import Incorrect, NotAttempted, exercise, require, require_callable

# A quadratic f = ½ θᵀAθ whose gradient Aθ feeds both optimizers (mixed signs, a flat direction).
_A = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 0.05]])
_THETA0 = np.array([1.0, -2.0, 0.5])
_STEPS = 25


def _quiet_call(fn, *args, **kwargs):
    """The learner's function, with NumPy's floating-point warnings silenced (a nan is diagnosed
    by the checker instead of printing warnings into the notebook)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)


def _unpack(got, n: int, what: str, names: str):
    require(got is not None, f"{what} returned None.", f"Return the tuple {names}.")
    require(isinstance(got, (tuple, list)) and len(got) == n,
            f"{what} should return the tuple {names}; got "
            f"{type(got).__name__ if not isinstance(got, (tuple, list)) else f'{len(got)} values'}.",
            f"End with `return {names[1:-1]}`.")
    return got


def _array(x, what: str, shape):
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise Incorrect(f"{what} should be an array of numbers; got {type(x).__name__}.") from err
    require(arr.shape == shape, f"{what} should have shape {shape} (the shape of θ); got {arr.shape}.",
            "Work elementwise: every coordinate of θ has its own m and v.")
    return arr


def _close(a, b, rtol=1e-6, atol=1e-12) -> bool:
    return bool(np.all(np.isfinite(a)) and np.allclose(a, b, rtol=rtol, atol=atol))


# -- 09.adam_step -------------------------------------------------------------------------------

def _adam_ref(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    t = t + 1                                        # this is step t = 1, 2, …
    m = beta1 * m + (1 - beta1) * g                  # m_t = β₁ m_{t−1} + (1 − β₁) g
    v = beta2 * v + (1 - beta2) * g * g              # v_t = β₂ v_{t−1} + (1 − β₂) g²
    m_hat = m / (1 - beta1**t)                       # m̂ = m / (1 − β₁ᵗ)
    v_hat = v / (1 - beta2**t)                       # v̂ = v / (1 − β₂ᵗ)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, t


def _adam_inplace(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    t += 1
    m *= betas[0]
    m += (1 - betas[0]) * g
    v *= betas[1]
    v += (1 - betas[1]) * g**2
    step = lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)
    theta -= step
    return theta, m, v, t


def _wrong_adam_no_correction(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    m = betas[0] * m + (1 - betas[0]) * g
    v = betas[1] * v + (1 - betas[1]) * g * g
    return theta - lr * m / (np.sqrt(v) + eps), m, v, t + 1


def _wrong_adam_t_from_0(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    m = betas[0] * m + (1 - betas[0]) * g
    v = betas[1] * v + (1 - betas[1]) * g * g
    m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)     # t not yet incremented
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, t + 1


def _wrong_adam_t_unchanged(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    new_theta, m, v, _ = _adam_ref(theta, g, m, v, t, lr, betas, eps)
    return new_theta, m, v, t                        # the caller never learns that a step was taken


def _wrong_adam_defaults_only(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return _adam_ref(theta, g, m, v, t)              # ignores the lr, betas, eps it was given


def _wrong_adam_g_for_g2(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    t = t + 1
    m = betas[0] * m + (1 - betas[0]) * g
    v = betas[1] * v + (1 - betas[1]) * np.abs(g)    # the mean of |g|, not of g²
    return theta - lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps), m, v, t


def _adam_path(answer, steps, **hyper):
    """Run the learner's adam_step from θ₀ (m = v = 0, t = 0) and bp.optim.Adam side by side;
    raise Incorrect at the first difference, with a diagnosis where one is known."""
    lr = hyper.get("lr", 1e-3)
    beta1, beta2 = hyper.get("betas", (0.9, 0.999))
    eps = hyper.get("eps", 1e-8)
    p = Parameter(_THETA0.copy())
    ref = Adam([p], **hyper)
    theta, m, v, t = _THETA0.copy(), np.zeros(3), np.zeros(3), 0
    args = "" if not hyper else ", " + ", ".join(f"{k}={val}" for k, val in hyper.items())
    for k in range(1, steps + 1):
        g = _A @ theta                                                 # ∇f(θ) = Aθ
        try:
            got = _quiet_call(answer, theta.copy(), g.copy(), m.copy(), v.copy(), t, **hyper)
        except ZeroDivisionError as err:
            raise Incorrect(
                f"adam_step(..., t={t}{args}) divided by zero at step {k}: with t = {t} the bias "
                f"correction 1 − β₁ᵗ is {1 - beta1**t:g}.",
                "t counts the steps taken before this call. Increment it first (t = t + 1), then "
                "divide by 1 − β₁ᵗ and 1 − β₂ᵗ: the first step uses t = 1.") from err
        theta_new, m_new, v_new, t_new = _unpack(got, 4, "adam_step", "(theta, m, v, t)")
        theta_new = _array(theta_new, "the returned theta", (3,))
        m_new, v_new = _array(m_new, "the returned m", (3,)), _array(v_new, "the returned v", (3,))
        p.grad = g
        ref.step()
        st = ref.state[p]
        if k == 1:
            _diagnose_first_adam_step(theta, g, theta_new, lr, beta1, beta2, eps, args)
            if hyper and _close(theta_new, _adam_ref(theta, g, np.zeros(3), np.zeros(3), 0)[0]):
                raise Incorrect(f"adam_step(...{args}) takes the same first step as with the default "
                                "lr, betas and eps: it ignores the arguments it is given.",
                                "Use the parameters lr, betas and eps inside the function, not the "
                                "numbers 1e-3, 0.9, 0.999 and 1e-8.")
        try:
            t_new = int(t_new)
        except (TypeError, ValueError) as err:
            raise Incorrect(f"adam_step returned t = {t_new!r}; expected the integer {t + 1}.") from err
        require(t_new == t + 1,
                f"adam_step(..., t={t}{args}) returned t = {t_new}; expected {t + 1}.",
                "Return the step count after this step (t + 1), so that the next call corrects with "
                "the right power of β.")
        require(_close(m_new, st["exp_avg"]),
                f"At step {k}{args}: m is {np.array2string(m_new, precision=6)}; expected "
                f"{np.array2string(st['exp_avg'], precision=6)}.",
                "m ← β₁ m + (1 − β₁) g: a running mean of the gradient, not yet bias-corrected (return m, "
                "not m̂).")
        require(_close(v_new, st["exp_avg_sq"]),
                f"At step {k}{args}: v is {np.array2string(v_new, precision=6)}; expected "
                f"{np.array2string(st['exp_avg_sq'], precision=6)}.",
                "v ← β₂ v + (1 − β₂) g²: a running mean of the *squared* gradient, elementwise (return "
                "v, not v̂).")
        require(_close(theta_new, p.data),
                f"At step {k}{args}: θ is {np.array2string(theta_new, precision=8)}; bp.optim.Adam "
                f"gives {np.array2string(p.data, precision=8)}.",
                "θ ← θ − lr · m̂ / (√v̂ + ε) with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), and t the number "
                "of this step (1 at the first).")
        theta, m, v, t = theta_new, m_new, v_new, t_new


def _diagnose_first_adam_step(theta, g, theta_new, lr, beta1, beta2, eps, args):
    step = theta_new - theta
    if not np.all(np.isfinite(step)):
        raise Incorrect(
            f"The first step (t = 0 on entry{args}) gives θ = {np.array2string(theta_new, precision=4)}: "
            "not finite. With t = 0, 1 − β₁ᵗ = 1 − β₂ᵗ = 0 and the bias correction divides by zero.",
            "t counts the steps taken before this call. Increment it first (t = t + 1), then correct "
            "with 1 − β₁ᵗ and 1 − β₂ᵗ: the first step uses t = 1.")
    no_correction = -lr * (1 - beta1) * g / (np.sqrt(1 - beta2) * np.abs(g) + eps)
    if _close(step, no_correction, rtol=1e-4):
        ratio = (1 - beta1) / np.sqrt(1 - beta2)
        raise Incorrect(
            f"Your first step has size {np.max(np.abs(step)):.4g} per coordinate = {ratio:.3g} × lr{args}: "
            "that is Adam without bias correction.",
            f"After one step m = (1 − β₁)g and v = (1 − β₂)g², so m/√v = {ratio:.3g}·sign(g). Divide m by "
            "1 − β₁ᵗ and v by 1 − β₂ᵗ: then the first step is lr·sign(g).")


@exercise(
    "09.adam_step", "One Adam step",
    right=[_adam_ref, _adam_inplace],
    wrong={"no bias correction": _wrong_adam_no_correction, "t counted from 0": _wrong_adam_t_from_0,
           "t returned unchanged": _wrong_adam_t_unchanged, "ignores lr/betas/eps": _wrong_adam_defaults_only,
           "|g| for g²": _wrong_adam_g_for_g2},
    success="Increment t, update m and v, divide them by 1 − β₁ᵗ and 1 − β₂ᵗ, step by lr·m̂/(√v̂ + ε): "
            "the same 25 steps as bp.optim.Adam (and torch.optim.Adam).",
)
def _check_adam_step(answer):
    require_callable(answer, "adam_step")
    _adam_path(answer, _STEPS)
    _adam_path(answer, _STEPS, lr=0.05, betas=(0.8, 0.99), eps=1e-6)


# -- 09.rmsprop_step ----------------------------------------------------------------------------

def _rmsprop_ref(theta, g, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g**2               # E[g²] ← α E[g²] + (1 − α) g²
    return theta - lr * g / (np.sqrt(v) + eps), v    # θ ← θ − η g / (√E[g²] + ε)


def _rmsprop_inplace(theta, g, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v *= alpha
    v += (1 - alpha) * g * g
    theta -= lr * g / (np.sqrt(v) + eps)
    return theta, v


def _wrong_rmsprop_sum(theta, g, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = v + g**2                                     # AdaGrad's G += g²
    return theta - lr * g / (np.sqrt(v) + eps), v


def _wrong_rmsprop_g(theta, g, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * g                  # a running mean of g, not of g²
    return theta - lr * g / (np.sqrt(v) + eps), v


def _wrong_rmsprop_abs_g(theta, g, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * np.abs(g)          # sidesteps the nan, still not g²
    return theta - lr * g / (np.sqrt(v) + eps), v


def _wrong_rmsprop_swapped_alpha(theta, g, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = (1 - alpha) * v + alpha * g**2               # forgets the past almost at once
    return theta - lr * g / (np.sqrt(v) + eps), v


def _rmsprop_path(answer, steps, **hyper):
    alpha = hyper.get("alpha", 0.99)
    p = Parameter(_THETA0.copy())
    ref = RMSprop([p], **hyper)
    theta, v = _THETA0.copy(), np.zeros(3)
    args = "" if not hyper else " (" + ", ".join(f"{k}={val}" for k, val in hyper.items()) + ")"
    for k in range(1, steps + 1):
        g = _A @ theta
        got = _quiet_call(answer, theta.copy(), g.copy(), v.copy(), **hyper)
        theta_new, v_new = _unpack(got, 2, "rmsprop_step", "(theta, v)")
        theta_new = _array(theta_new, "the returned theta", (3,))
        v_new = _array(v_new, "the returned v", (3,))
        p.grad = g
        ref.step()
        v_ref = ref.state[p]["square_avg"]
        if not _close(v_new, v_ref):
            if _close(v_new, v + g * g):
                raise Incorrect(
                    f"At step {k}{args} your v is the running *sum* v + g² "
                    f"({np.array2string(v_new, precision=5)}): that is AdaGrad's accumulator.",
                    "RMSprop forgets: v ← α v + (1 − α) g², an exponentially weighted *mean* of g², so the "
                    "step size levels off instead of shrinking forever.")
            mean_of_g = (alpha * v + (1 - alpha) * g, alpha * v + (1 - alpha) * np.abs(g))
            if any(_close(v_new, wrong) for wrong in mean_of_g):
                raise Incorrect(
                    f"At step {k}{args} your v averages the gradient itself (or |g|), not its square: "
                    f"v = {np.array2string(v_new, precision=5)}.",
                    "Average g² (g * g, elementwise): √v is then the root mean square of g, which has the "
                    "units of g, so g/√v is a step of size ~1 per coordinate.")
            raise Incorrect(
                f"At step {k}{args}: v is {np.array2string(v_new, precision=6)}; expected "
                f"{np.array2string(v_ref, precision=6)}.",
                "v ← α v + (1 − α) g²: α (close to 1) weights the old v, 1 − α the new g².")
        require(_close(theta_new, p.data),
                f"At step {k}{args}: θ is {np.array2string(theta_new, precision=8)}; bp.optim.RMSprop gives "
                f"{np.array2string(p.data, precision=8)}.",
                "θ ← θ − lr · g / (√v + ε), with the v of this step (updated first).")
        theta, v = theta_new, v_new


@exercise(
    "09.rmsprop_step", "One RMSprop step",
    right=[_rmsprop_ref, _rmsprop_inplace],
    wrong={"G += g² (AdaGrad)": _wrong_rmsprop_sum, "g for g²": _wrong_rmsprop_g,
           "|g| for g²": _wrong_rmsprop_abs_g, "α and 1 − α swapped": _wrong_rmsprop_swapped_alpha},
    success="v ← αv + (1 − α)g², θ ← θ − lr·g/(√v + ε): an AdaGrad that forgets, as bp.optim.RMSprop.",
)
def _check_rmsprop_step(answer):
    require_callable(answer, "rmsprop_step")
    _rmsprop_path(answer, _STEPS)
    _rmsprop_path(answer, _STEPS, lr=0.05, alpha=0.9)


# -- 09.race_winners ----------------------------------------------------------------------------

RACERS = ("SGD", "momentum", "Adam")
# The three races (settings of bp.widgets.OptimizerRace); every learning rate is pinned here, so the
# races do not move when the explorer's per-surface defaults do.
RACES = {
    "quadratic": dict(surface="quadratic", condition=100.0, angle=30.0, x0=-2.0, y0=1.5, steps=150,
                      lr_sgd=1.0, lr_momentum=0.3, lr_adam=0.3),
    "rosenbrock": dict(surface="rosenbrock", x0=-1.5, y0=2.0, steps=2000,
                       lr_sgd=1e-3, lr_momentum=1e-3, lr_adam=0.1),
    "saddle": dict(surface="saddle", x0=1.8, y0=1e-6, steps=300,
                   lr_sgd=0.05, lr_momentum=0.02, lr_adam=0.05),
}
_COMMON = dict(optimizers=RACERS, momentum=0.9, beta2=0.999, bias_correction=True)
TOL = 1e-6                                              # the finish line f − f* ≤ 1e-6, as in the explorer

_WHY = {
    "quadratic": "On a bowl with κ = 100 plain gradient descent must keep lr below 2 (the steep direction) "
                 "and then crawls along the flat one, shrinking that error by only 1 − 1/100 per step. "
                 "Momentum adds up the small, consistent gradients along the valley floor into speed, while "
                 "the zig-zag across the valley cancels in its velocity. Adam rescales θ₁ and θ₂, the "
                 "coordinate axes, and this valley is turned by 30°, so the rescaling does not straighten "
                 "it.",
    "rosenbrock": "Once on the curved valley floor the gradient is tiny, so every method whose step is "
                  "proportional to the gradient (SGD, momentum, with an lr kept small by the steep walls) "
                  "moves slowly. Adam divides by the root mean square of recent gradients: its steps stay "
                  "near lr however small the gradient gets.",
    "saddle": "Starting 1e-6 off the saddle's ridge, the gradient along θ₂ is about 2e-6: gradient descent "
              "escapes only as fast as that component grows, by (1 + 2·lr) per step, so it first slides "
              "to the saddle and lingers there. Adam normalises the gradient, so even a tiny θ₂ gradient "
              "gives a step of ≈ lr: it leaves the saddle within a few dozen steps.",
}


def race_settings(name: str) -> dict:
    """The settings of race ``name`` ("quadratic", "rosenbrock", "saddle") for
    ``bp.widgets.OptimizerRace(...)`` or ``.set(...)``."""
    if name not in RACES:
        raise ValueError(f"race must be one of {tuple(RACES)}; got {name!r}.")
    return {**RACES[name], **_COMMON}


def race_winner(result) -> tuple[str, str]:
    """``(winner, how)`` of a race result: the first optimizer to reach f − f* ≤ ``TOL`` without
    diverging (the explorer's finish line), else the one with the lowest final f."""
    runs = result.runs
    done = {}
    for name, run in runs.items():
        hit = run.steps_to(TOL, result.surface.min_value)
        if hit is not None and run.diverged_at is None:
            done[name] = hit
    if done:
        best = min(done, key=done.get)
        return best, f"first to f − f* ≤ {TOL:g}, at step {done[best]}"
    alive = {n: r.final_loss for n, r in runs.items() if r.diverged_at is None} or \
        {n: r.final_loss for n, r in runs.items()}
    best = min(alive, key=alive.get)
    return best, f"nobody finished; lowest final f − f* = {alive[best]:.2g}"


def _run_race(name: str):
    from ..widgets.optimizer_race import OptimizerRaceSettings, compute_optimizer_race

    return compute_optimizer_race(OptimizerRaceSettings(**race_settings(name)))


def _name(value, race: str) -> str:
    if not isinstance(value, str):
        raise Incorrect(f"Your prediction for the {race} race is {value!r}; write one of {RACERS} as a "
                        "string.")
    for racer in RACERS:
        if value.strip().lower() == racer.lower():
            return racer
    raise Incorrect(f"Your prediction for the {race} race is {value!r}; the racers are {RACERS}.",
                    "Use the names exactly as the explorer's legend shows them.")


def _right_winners():
    return {name: race_winner(_run_race(name))[0] for name in RACES}


def _summary(result) -> str:
    parts = []
    for name, run in result.runs.items():
        hit = run.steps_to(TOL, result.surface.min_value)
        parts.append(f"{name} {'step ' + str(hit) if hit is not None else f'at {run.final_loss:.1e}'}")
    return ", ".join(parts)


@exercise(
    "09.race_winners", "Predict the race winners",
    right=[{"quadratic": "momentum", "rosenbrock": "Adam", "saddle": "Adam"},
           {"quadratic": "Momentum", "rosenbrock": "adam", "saddle": " ADAM "}],
    wrong={"all SGD": {"quadratic": "SGD", "rosenbrock": "SGD", "saddle": "SGD"},
           "Adam everywhere": {"quadratic": "Adam", "rosenbrock": "Adam", "saddle": "Adam"},
           "momentum everywhere": {"quadratic": "momentum", "rosenbrock": "momentum", "saddle": "momentum"},
           "a race missing": {"quadratic": "momentum", "rosenbrock": "Adam"},
           "not a racer": {"quadratic": "Nesterov", "rosenbrock": "Adam", "saddle": "Adam"},
           "not a dict": ["momentum", "Adam", "Adam"]},
    success="All three right: momentum runs the turned valley; Adam's normalised steps keep their size "
            "where the gradient is tiny (Rosenbrock's valley floor, next to the saddle).",
)
def _check_race_winners(answer):
    if not isinstance(answer, dict):
        raise Incorrect(f"Give a dict {{race: winner}}; got {type(answer).__name__}.",
                        'For example {"quadratic": "SGD", "rosenbrock": "SGD", "saddle": "SGD"}.')
    if all(v is None or v is Ellipsis for v in answer.values()):
        raise NotAttempted
    missing = [r for r in RACES if r not in answer or answer[r] is None or answer[r] is Ellipsis]
    require(not missing, f"Predict every race: {missing} still open.",
            f"One of {RACERS} for each of {tuple(RACES)}.")
    predicted = {race: _name(answer[race], race) for race in RACES}
    wrong, hints = [], []
    for race in RACES:
        result = _run_race(race)
        winner, how = race_winner(result)
        if predicted[race] != winner:
            wrong.append(f"{race}: you said {predicted[race]}, the run says {winner} "
                         f"({how}; {_summary(result)})")
            hints.append(_WHY[race])
    if wrong:
        raise Incorrect(f"{len(RACES) - len(wrong)} of {len(RACES)} right. " + " | ".join(wrong) + ".",
                        " ".join(hints))
