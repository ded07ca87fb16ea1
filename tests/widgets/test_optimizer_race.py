"""OptimizerRace and the race compute: closed forms, claims of the theory (momentum on an
ill-conditioned bowl, escaping a saddle), recorded state against the optimizers' own state and
torch.optim, divergence as a message, set()/clicks/controls redraw, bad settings refused."""

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.backend_bases import MouseEvent

import backprop_lib as bp
from backprop_lib.nn.module import Parameter
from backprop_lib.optim import surfaces as S
from backprop_lib.widgets import OptimizerRace, OptimizerRaceSettings, compute_optimizer_race, race
from backprop_lib.widgets.optimizer_race import DEFAULTS, NAMES, TOL, inner_state

ALL = {                                       # learning rates that are stable on Rosenbrock
    "SGD": ("SGD", {"lr": 1e-3}),
    "momentum": ("SGD", {"lr": 1e-3, "momentum": 0.9}),
    "Nesterov": ("SGD", {"lr": 1e-3, "momentum": 0.8, "nesterov": True, "dampening": 0}),
    "AdaGrad": ("AdaGrad", {"lr": 0.4}),
    "RMSprop": ("RMSprop", {"lr": 0.01, "alpha": 0.9}),
    "Adam": ("Adam", {"lr": 0.05, "betas": (0.8, 0.99)}),
    "Adam no bias correction": ("Adam", {"lr": 0.05, "bias_correction": False}),
}


# -- the race: closed forms and the theory's claims ------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(condition=st.floats(1.0, 200.0), angle=st.floats(-90, 90), lr=st.floats(0.01, 1.9),
       x0=st.floats(-2.5, 2.5), y0=st.floats(-2.5, 2.5))
def test_sgd_path_on_the_quadratic_is_the_closed_form(condition, angle, lr, x0, y0):
    q = S.Quadratic(condition=condition, angle=angle)
    run = race(q, {"GD": ("SGD", {"lr": lr})}, (x0, y0), 40).runs["GD"]
    step = np.eye(2) - lr * q.matrix                       # θ_{k+1} = (I − ηA) θ_k
    expected = [np.array([x0, y0])]
    for _ in range(40):
        expected.append(step @ expected[-1])
    np.testing.assert_allclose(run.path, np.array(expected), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(run.loss, q.f(run.path), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(run.grad, q.grad(run.path[:-1]), rtol=1e-12, atol=1e-300)
    assert run.diverged_at is None and run.message is None and run.state == {}


def test_momentum_beats_gradient_descent_on_an_ill_conditioned_quadratic():
    kappa = 50.0
    q = S.Quadratic(condition=kappa)
    L, mu = 1.0, 1.0 / kappa
    r = np.sqrt(kappa)
    res = race(q, {
        "GD best lr": ("SGD", {"lr": 2 / (L + mu)}),                     # the best fixed lr for GD
        "GD lr=1/L": ("SGD", {"lr": 1.0}),
        "heavy ball": ("SGD", {"lr": 4 / (np.sqrt(L) + np.sqrt(mu)) ** 2,   # Polyak's tuning
                               "momentum": ((r - 1) / (r + 1)) ** 2}),
        "momentum 0.9": ("SGD", {"lr": 1.0, "momentum": 0.9}),
    }, (-2.0, 1.5), 1000)
    t = {name: run.steps_to(1e-6) for name, run in res.runs.items()}
    assert all(v is not None for v in t.values()), t
    assert t["heavy ball"] < 0.4 * t["GD best lr"]              # ~ √κ instead of κ: 40 vs 175 steps
    assert t["momentum 0.9"] < t["GD lr=1/L"]
    # GD's rate is the theory's: f shrinks by ((κ − 1)/(κ + 1))² per step once the fast mode is gone
    loss = res.runs["GD best lr"].loss
    rate = (loss[200] / loss[100]) ** (1 / 100)
    assert rate == pytest.approx(((kappa - 1) / (kappa + 1)) ** 2, rel=1e-3)


def test_adam_escapes_the_saddle_that_traps_gradient_descent():
    sd = S.Saddle()
    specs = {"GD": ("SGD", {"lr": 0.1}), "Adam": ("Adam", {"lr": 0.1})}
    # started exactly on the stable manifold (the θ₁ axis), GD converges to the saddle
    on = race(sd, specs, (1.0, 0.0), 300).runs["GD"]
    np.testing.assert_allclose(on.path[-1], [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(on.loss[-1], 1.0, atol=1e-12)            # f(saddle) = 1, f* = 0
    assert on.loss.min() > 0.99 and on.steps_to(1e-2) is None
    # a millionth off the manifold, Adam is near a minimum long before GD leaves the saddle:
    # GD's θ₂ grows by (1 + 2η) per step, Adam's step is ≈ η whatever the gradient's size
    near = race(sd, specs, (1.0, 1e-6), 300).runs
    assert near["Adam"].loss[40] < 0.05 and near["GD"].loss[40] > 0.99
    assert near["Adam"].steps_to(1e-2) < near["GD"].steps_to(1e-2)
    np.testing.assert_allclose(np.abs(near["Adam"].path[-1]), [0.0, np.sqrt(2)], atol=1e-3)
    assert near["GD"].steps_to(1e-2) is not None                    # GD escapes too, only later


def test_adam_without_bias_correction_takes_a_larger_first_step():
    q = S.Quadratic()
    res = race(q, {"with": ("Adam", {"lr": 0.01}),
                   "without": ("Adam", {"lr": 0.01, "bias_correction": False})}, steps=3)
    first = {n: np.abs(run.path[1] - run.path[0]) for n, run in res.runs.items()}
    np.testing.assert_allclose(first["with"], 0.01, rtol=1e-6)                # η·sign(g)
    np.testing.assert_allclose(first["without"], 0.01 * 0.1 / np.sqrt(0.001), rtol=1e-5)   # η(1−β₁)/√(1−β₂)
    np.testing.assert_allclose(res.runs["without"].state["m_hat"], res.runs["without"].state["exp_avg"])


# -- the recorded state is the optimizer's own ------------------------------------------------------
@pytest.mark.parametrize("name", list(ALL))
def test_recorded_state_equals_the_optimizers_own_state_at_every_step(name):
    surface = S.Rosenbrock()
    cls_name, kwargs = ALL[name]
    run = race(surface, {name: (cls_name, kwargs)}, (-1.0, 1.5), 25).runs[name]
    assert run.diverged_at is None and len(run.path) == 26
    p = Parameter(np.array([-1.0, 1.5]))
    opt = getattr(bp.optim, cls_name)([p], **kwargs)
    for t in range(25):
        p.grad = surface.grad(p.data)
        opt.step()
        np.testing.assert_allclose(run.path[t + 1], p.data, rtol=1e-13)
        for key, value in opt.state[p].items():
            if isinstance(value, np.ndarray):
                np.testing.assert_allclose(run.state[key][t], value, rtol=1e-13,
                                           err_msg=f"{key} at step {t + 1}")
    expected = {"SGD": set(), "momentum": {"momentum_buffer"}, "Nesterov": {"momentum_buffer"},
                "AdaGrad": {"sum"}, "RMSprop": {"square_avg"}}
    assert set(run.state) == expected.get(name, {"exp_avg", "exp_avg_sq", "m_hat", "v_hat"})


TORCH = [
    ("momentum", "SGD", {"lr": 1e-3, "momentum": 0.9}, ["momentum_buffer"]),
    ("Nesterov", "SGD", {"lr": 1e-3, "momentum": 0.9, "nesterov": True}, ["momentum_buffer"]),
    ("AdaGrad", "Adagrad", {"lr": 0.3}, ["sum"]),
    ("RMSprop", "RMSprop", {"lr": 0.01, "alpha": 0.95}, ["square_avg"]),
    ("Adam", "Adam", {"lr": 0.05, "betas": (0.85, 0.99)}, ["exp_avg", "exp_avg_sq"]),
]


@pytest.mark.parametrize(("name", "cls_name", "kwargs", "keys"), TORCH, ids=[t[0] for t in TORCH])
def test_recorded_state_and_path_match_torch_optim(name, cls_name, kwargs, keys):
    surface, start = S.Rosenbrock(), (-1.2, 1.0)
    run = race(surface, {name: (cls_name, kwargs)}, start, 40).runs[name]
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, cls_name)([theta], **kwargs)
    for t in range(40):
        opt.zero_grad()
        theta.grad = torch.from_numpy(surface.grad(theta.detach().numpy()))
        opt.step()
        np.testing.assert_allclose(run.path[t + 1], theta.detach().numpy(), rtol=1e-10)
        for key in keys:
            np.testing.assert_allclose(run.state[key][t], opt.state[theta][key].numpy(), rtol=1e-10,
                                       err_msg=f"{key} at step {t + 1}")
    if name == "Adam":               # m̂, v̂ as torch's update uses them
        b1, b2 = kwargs["betas"]
        steps = np.arange(1, 41)[:, None]
        np.testing.assert_allclose(run.state["m_hat"], run.state["exp_avg"] / (1 - b1**steps), rtol=1e-14)
        np.testing.assert_allclose(run.state["v_hat"], run.state["exp_avg_sq"] / (1 - b2**steps), rtol=1e-14)


# -- divergence is a message, never an exception -----------------------------------------------------
def test_a_too_large_learning_rate_diverges_with_a_message_and_the_others_go_on():
    q = S.Quadratic(condition=10)
    res = race(q, {"SGD": ("SGD", {"lr": 2.5}), "Adam": ("Adam", {"lr": 0.1})}, (-2.0, 1.5), 200)
    sgd, adam = res.runs["SGD"], res.runs["Adam"]
    # |1 − ηL| = 1.5 along the steep direction: |θ| passes 1000 after ≈ log(1000/1.5)/log(1.5) ≈ 16 steps
    assert sgd.diverged_at is not None and 10 <= sgd.diverged_at <= 25
    assert "SGD diverged at step" in sgd.message and "lr" in sgd.message and "2.5" in sgd.message
    assert len(sgd.path) == sgd.diverged_at + 1 and np.all(np.isfinite(sgd.path))
    assert np.max(np.abs(sgd.path[-1])) > 1e3 and np.max(np.abs(sgd.path[-2])) <= 1e3
    assert adam.diverged_at is None and adam.message is None and len(adam.path) == 201
    assert res.messages == [sgd.message]


def test_an_overflowing_run_stops_without_warnings():
    with np_errors_raise():
        run = race(S.Beale(), {"SGD": ("SGD", {"lr": 1.0})}, (1.0, 1.5), 100, bound=1e300).runs["SGD"]
    assert run.diverged_at is not None
    assert run.message.startswith(f"SGD diverged at step {run.diverged_at}: the ")
    assert any(why in run.message for why in ("overflowed", "inf/NaN"))
    assert np.all(np.isfinite(run.path)) and np.all(np.isfinite(run.grad))


class np_errors_raise:
    """Turn numpy floating-point warnings into errors (the race must silence them itself)."""

    def __enter__(self):
        self._old = np.seterr(all="raise")

    def __exit__(self, *exc):
        np.seterr(**self._old)


def test_explorer_shows_divergence_in_the_figure():
    ex = OptimizerRace(lr_sgd=3.0)
    assert ex.error is None and ex.message() is None                 # no overlay: a per-run note
    assert ex.note.get_visible() and "SGD diverged at step" in ex.note.get_text()
    assert "diverged" in ex.loss_lines["SGD"].get_label()
    assert ex.ends["SGD"].get_marker() == "X"
    x, y = ex.lines["SGD"].get_data()
    (x0, x1), (y0, y1) = ex.result.surface.xlim, ex.result.surface.ylim
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    assert not inside[-1] and inside[:-1].all()                     # cut once it leaves the map
    ex.set(lr_sgd=1.0)
    assert not ex.note.get_visible()


# -- the explorer ------------------------------------------------------------------------------------
def test_compute_runs_the_optimizers_as_race_does():
    s = OptimizerRaceSettings(surface="rosenbrock", steps=60, momentum=0.8, beta2=0.99, alpha=0.9)
    r = compute_optimizer_race(s)
    assert tuple(r.runs) == NAMES and r.start == S.Rosenbrock.start
    direct = race(S.Rosenbrock(), {n: s.spec(n) for n in NAMES}, r.start, 60)
    for name in NAMES:
        np.testing.assert_allclose(r.runs[name].path, direct.runs[name].path, rtol=0, atol=0)
    assert s.spec("Adam") == ("Adam", {"lr": s.lr_adam, "betas": (0.8, 0.99), "bias_correction": True})
    assert s.spec("RMSprop")[1]["alpha"] == 0.9


def test_nesterov_at_zero_momentum_is_plain_gradient_descent():
    r = compute_optimizer_race(OptimizerRaceSettings(momentum=0.0, lr_nesterov=0.7, lr_sgd=0.7,
                                                     optimizers=("SGD", "Nesterov")))
    np.testing.assert_allclose(r.runs["Nesterov"].path, r.runs["SGD"].path, rtol=1e-15)


def test_moving_one_learning_rate_reruns_only_that_optimizer():
    OptimizerRace.clear_cache()
    a = compute_optimizer_race(OptimizerRaceSettings())
    b = compute_optimizer_race(OptimizerRaceSettings(lr_adam=0.05))
    assert all(a.runs[n] is b.runs[n] for n in NAMES if n != "Adam")
    assert a.runs["Adam"] is not b.runs["Adam"]
    assert not np.allclose(a.runs["Adam"].path, b.runs["Adam"].path)


def test_set_changes_the_figure_and_the_artists_show_the_result():
    ex = OptimizerRace()
    before = ex.render_png()
    ex.set(surface="rosenbrock", optimizers=("SGD", "momentum", "Adam"))
    assert ex.render_png() != before
    r = ex.result
    for name in NAMES:
        assert ex.lines[name].get_visible() == (name in r.runs)
    for name, run in r.runs.items():
        np.testing.assert_allclose(np.column_stack(ex.lines[name].get_data()), run.path)
        np.testing.assert_allclose(ex.loss_lines[name].get_ydata(), run.loss)
    assert ex.ax_map.get_xlim() == S.Rosenbrock.xlim and ex.ax_map.get_ylim() == S.Rosenbrock.ylim
    assert "rosenbrock" in ex.ax_map.get_title()


def test_the_inner_state_panel_shows_the_chosen_optimizer():
    ex = OptimizerRace(show_state="Adam")
    run = ex.result.runs["Adam"]
    lines = [line for line in ex.state_lines if line.get_visible()]
    assert len(lines) == 4
    np.testing.assert_allclose(lines[2].get_ydata(), np.sqrt(run.state["v_hat"][:, 0]))   # √v̂, θ₁
    np.testing.assert_allclose(lines[3].get_ydata(), np.sqrt(run.state["v_hat"][:, 1]))   # √v̂, θ₂
    ex.set(show_state="momentum")
    run = ex.result.runs["momentum"]
    (label, values), _ = inner_state(run)
    assert "velocity" in label
    np.testing.assert_allclose(ex.state_lines[0].get_ydata(), np.abs(run.state["momentum_buffer"][:, 0]))
    ex.set(show_state="SGD")
    assert sum(line.get_visible() for line in ex.state_lines) == 2           # |g| only: no state
    ex.set(optimizers=("SGD", "Adam"), show_state="RMSprop")
    assert ex.state_note.get_visible() and "not racing" in ex.state_note.get_text()


def test_the_title_names_the_first_to_finish():
    ex = OptimizerRace()
    finished = {n: run.steps_to(TOL) for n, run in ex.result.runs.items() if run.steps_to(TOL) is not None}
    winner = min(finished, key=finished.get)
    assert f"{winner} (step {finished[winner]})" in ex.ax_loss.get_title()
    ex.set(optimizers=())
    assert "No optimizer is on" in ex.note.get_text() and "nobody" in ex.ax_loss.get_title()


def test_a_new_surface_brings_its_own_start_learning_rates_and_steps():
    ex = OptimizerRace(x0=0.5, y0=-0.5, lr_adam=0.02, steps=30)
    ex.set(surface="beale")
    s = ex.settings
    assert (s.x0, s.y0) == S.Beale.start and s.steps == DEFAULTS["beale"]["steps"]
    assert s.lr_adam == DEFAULTS["beale"]["lr"]["Adam"] and s.lr_sgd == DEFAULTS["beale"]["lr"]["SGD"]
    ex.set(surface="saddle", x0=1.0, lr_sgd=0.2)                     # given in the same call: kept
    assert ex.settings.x0 == 1.0 and ex.settings.y0 == S.Saddle.start[1] and ex.settings.lr_sgd == 0.2
    ex.set(condition=5.0)                                            # not a new surface: nothing reset
    assert ex.settings.x0 == 1.0 and ex.settings.lr_sgd == 0.2


def _click(ex, x, y, button=1):
    px, py = ex.ax_map.transData.transform((x, y))
    event = MouseEvent("button_press_event", ex.fig.canvas, px, py, button=button)
    ex.fig.canvas.callbacks.process("button_press_event", event)


def test_clicking_on_the_map_moves_the_start():
    ex = OptimizerRace(surface="rosenbrock")
    _click(ex, 0.5, 2.0)
    assert (ex.settings.x0, ex.settings.y0) == pytest.approx((0.5, 2.0), abs=0.006)
    assert all(tuple(run.path[0]) == (ex.settings.x0, ex.settings.y0) for run in ex.result.runs.values())
    before = (ex.settings.x0, ex.settings.y0)
    _click(ex, 0.0, 0.0, button=3)                                   # right click: ignored
    px, py = ex.ax_loss.transAxes.transform((0.5, 0.5))              # a click on another panel: ignored
    ex.fig.canvas.callbacks.process("button_press_event",
                                    MouseEvent("button_press_event", ex.fig.canvas, px, py, button=1))
    assert (ex.settings.x0, ex.settings.y0) == before


@pytest.mark.parametrize(("changes", "error", "match"), [
    ({"surface": "himmelblau"}, ValueError, "unknown surface 'himmelblau'"),
    ({"condition": 0.5}, ValueError, "condition"),
    ({"angle": 120}, ValueError, "angle"),
    ({"optimizers": ("SGD", "LBFGS")}, ValueError, "unknown optimizer 'LBFGS'"),
    ({"optimizers": ("SGD", "SGD")}, ValueError, "twice"),
    ({"lr_adam": 0.0}, ValueError, "lr_adam"),
    ({"lr_sgd": 100.0}, ValueError, "lr_sgd"),
    ({"momentum": 1.0}, ValueError, "momentum"),
    ({"beta2": 1.0}, ValueError, "beta2"),
    ({"bias_correction": "yes"}, TypeError, "bias_correction"),
    ({"x0": 3.0}, ValueError, r"x0 must lie in the view box \[-2.5, 2.5\]"),
    ({"steps": 0}, ValueError, "steps"),
    ({"steps": 2.5}, TypeError, "steps"),
    ({"show_state": "Lion"}, ValueError, "show_state"),
])
def test_bad_settings_are_refused(changes, error, match):
    with pytest.raises(error, match=match):
        OptimizerRaceSettings(**changes)
    with pytest.raises(error, match=match):            # what set() does: replace, validated again
        dataclasses.replace(OptimizerRaceSettings(), **changes)


def test_bad_settings_are_refused_by_set_and_leave_the_explorer_as_it_was():
    ex = OptimizerRace()
    before = ex.settings
    with pytest.raises(ValueError, match="unknown setting"):
        ex.set(depth=3)
    with pytest.raises(ValueError, match="lr_adam"):
        ex.set(lr_adam=-1.0)
    assert ex.settings == before and ex.error is None


@pytest.mark.parametrize(("args", "error", "match"), [
    ((object(), {}), TypeError, "surface must be a bp.optim.surfaces.Surface"),
    ((S.Saddle(), [("SGD", {})]), TypeError, "optimizers must be a dict"),
    ((S.Saddle(), {"x": "SGD"}), TypeError, r"pair \(class name, kwargs dict\)"),
    ((S.Saddle(), {"x": ("LBFGS", {})}), ValueError, "names the optimizer 'LBFGS'"),
    ((S.Saddle(), {"x": ("SGD", {"lr": -1.0})}), ValueError, r"optimizers\['x'\]: SGD: lr must be positive"),
    ((S.Saddle(), {"x": ("Adam", {"lr": 0.1, "beta": 0.9})}), TypeError, r"optimizers\['x'\]"),
    ((S.Saddle(), {}, (1.0,)), TypeError, "start must be a point"),
    ((S.Saddle(), {}, (1.0, float("inf"))), ValueError, "start"),
    ((S.Saddle(), {}, None, 0), ValueError, "steps"),
])
def test_bad_race_arguments_are_refused(args, error, match):
    with pytest.raises(error, match=match):
        race(*args)


def test_controls_drive_the_explorer_and_bad_values_become_a_message():
    ex = OptimizerRace()
    box = ex.show()
    assert box is not None
    w = ex._widgets
    w["lr_adam"].value = 0.05
    assert ex.settings.lr_adam == pytest.approx(0.05)
    w["optimizers"].value = ("SGD", "Adam")
    assert tuple(ex.result.runs) == ("SGD", "Adam")
    w["optimizers"]._boxes["momentum"].value = True                  # ticking a box adds it
    assert ex.settings.optimizers == ("SGD", "momentum", "Adam")
    w["surface"].value = "beale"                                     # the start sliders follow the view box
    assert (w["x0"].min, w["x0"].max) == S.Beale.xlim and w["x0"].value == S.Beale.start[0]
    assert w["condition"].disabled and w["angle"].disabled
    ex.set(x0=4.0)
    w["surface"].value = "saddle"
    assert (w["x0"].min, w["x0"].max) == S.Saddle.xlim and ex.settings.x0 == S.Saddle.start[0]
    ex._on_control("steps", {"new": 0})                              # refused: shown, not raised
    assert ex._message.get_visible() and "steps" in ex._message.get_text()


def test_presentation_theme_makes_a_bigger_figure():
    small = OptimizerRace().fig.get_size_inches()
    big = OptimizerRace(theme="presentation").fig.get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]


IPYMPL_CLICK = r"""
import matplotlib
matplotlib.use("module://ipympl.backend_nbagg")
from backprop_lib.widgets import OptimizerRace
ex = OptimizerRace(surface="saddle")
canvas = ex.fig.canvas
ex.show()
height = canvas.get_renderer().height

def browser_click(x, y):   # the message ipympl's front end sends for a left click (y from the top)
    px, py = ex.ax_map.transData.transform((x, y))
    canvas._handle_message(canvas, {"type": "button_press", "x": px, "y": height - py, "button": 0,
                                    "buttons": 1, "modifiers": [], "guiEvent": None}, [])

browser_click(-1.0, 1.0)
print(ex.settings.x0, ex.settings.y0, ex._widgets["x0"].value, ex._widgets["y0"].value)
canvas.toolbar.zoom()      # in zoom mode a click draws a zoom box instead
browser_click(0.5, -1.0)
print(ex.settings.x0, ex.settings.y0)
"""


def test_a_click_in_an_ipympl_canvas_moves_the_start_and_the_sliders():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", IPYMPL_CLICK], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.split("\n")[:2]
    np.testing.assert_allclose([float(v) for v in first.split()], [-1.0, 1.0, -1.0, 1.0], atol=0.006)
    np.testing.assert_allclose([float(v) for v in second.split()], [-1.0, 1.0], atol=0.006)


@settings(max_examples=30, deadline=None)
@given(surface=st.sampled_from(["quadratic", "rosenbrock", "saddle", "beale"]),
       lrs=st.lists(st.floats(1e-5, 10.0), min_size=6, max_size=6), momentum=st.floats(0.0, 0.999),
       beta2=st.floats(0.0, 0.9999), u=st.floats(0.0, 1.0), v=st.floats(0.0, 1.0),
       steps=st.integers(1, 60), bias_correction=st.booleans())
def test_every_valid_setting_gives_a_result_without_warnings(surface, lrs, momentum, beta2, u, v, steps,
                                                             bias_correction):
    (x0, x1), (y0, y1) = S.SURFACES[surface].xlim, S.SURFACES[surface].ylim
    s = OptimizerRaceSettings(surface=surface, momentum=momentum, alpha=beta2, beta2=beta2, steps=steps,
                              x0=x0 + u * (x1 - x0), y0=y0 + v * (y1 - y0), bias_correction=bias_correction,
                              **{f"lr_{n.lower()}": lr for n, lr in zip(NAMES, lrs, strict=True)})
    with np_errors_raise():
        r = compute_optimizer_race(s)
    for run in r.runs.values():
        assert np.all(np.isfinite(run.path)) and np.all(np.isfinite(run.grad))
        assert len(run.path) == len(run.loss) == len(run.grad) + 1
        if run.diverged_at is None:
            assert len(run.grad) == steps and run.message is None
        else:
            assert run.message.startswith(f"{run.name} diverged at step {run.diverged_at}")


def test_race_paths_feed_plot_loss_landscape():
    res = race(S.Saddle(), {"SGD": ("SGD", {"lr": 0.1}), "Adam": ("Adam", {"lr": 0.1})}, steps=30)
    s = res.surface
    fig = bp.viz.plot_loss_landscape(s.f, res.trajectories, xlim=s.xlim, ylim=s.ylim, resolution=60)
    lines = {line.get_label().split(" (")[0]: line for line in fig.axes[0].get_lines()
             if "final f" in line.get_label()}
    for name, run in res.runs.items():
        np.testing.assert_allclose(np.column_stack(lines[name].get_data()), run.path)
