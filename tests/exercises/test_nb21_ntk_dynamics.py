"""Notebook 21's checkers beyond their registered examples: every typical mistake gets its own
message, the references agree with bp.ntk.linearized_dynamics (an independent implementation),
and answers of the wrong kind are reported as wrong, never as an error."""

import numpy as np
import pytest

import backprop_lib as bp
import backprop_lib.exercises as ex
from backprop_lib.exercises import nb21_ntk_dynamics as nb21


@pytest.mark.parametrize(("key", "mistake", "word"), [
    ("21.linearized_train", "missing 1/n", "1/n"),
    ("21.linearized_train", "e^{+ηtΘ/n}", "sign"),
    ("21.linearized_train", "elementwise np.exp", "matrix exponential"),
    ("21.linearized_train", "gradient descent (I − ηΘ/n)^t", "gradient flow"),
    ("21.linearized_train", "y and f0 swapped", "swapped"),
    ("21.steps_to_shrink_slowest", "λ_max", "λ_max"),
    ("21.steps_to_shrink_slowest", "missing n", "1/n"),
    ("21.steps_to_shrink_slowest", "half-life", "half-life"),
    ("21.infinite_time_prediction", "f0 dropped", "dropped the initial function"),
    ("21.infinite_time_prediction", "f0 dropped from the residual", "y − f₀"),
    ("21.infinite_time_prediction", "f0_test dropped", "f₀*"),
    ("21.infinite_time_prediction", "residual sign flipped", "sign"),
])
def test_each_mistake_gets_its_own_message(key, mistake, word):
    fb = ex.check(key, ex.REGISTRY[key].wrong[mistake])
    assert fb.status == "wrong"
    assert word in fb.message, fb.message


def test_linearized_train_reference_matches_linearized_dynamics():
    theta = nb21._kernel(7, 0, 0.1, 4.0)
    rng = np.random.default_rng(0)
    y, f0 = rng.normal(size=7), rng.normal(size=7)
    for t in (0.0, 0.5, 3.0, 40.0):
        dyn = bp.ntk.linearized_dynamics(theta, None, y, f0, None, 1.3, t)
        got = nb21._train_ref(theta, y, f0, 1.3, t)
        np.testing.assert_allclose(got, dyn.f_train[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nb21._train_ref(theta, y, f0, 1.3, 0.0), f0, atol=1e-14)


def test_infinite_time_reference_is_the_limit_of_the_test_dynamics():
    theta, cross, y, f0, f0t = nb21._problem(6, 4, 4)
    lam_min = np.linalg.eigvalsh(theta)[0]
    t_long = 60 * 6 / lam_min                                  # e^{−60}: the residual is gone
    dyn = bp.ntk.linearized_dynamics(theta, cross, y, f0, f0t, 1.0, t_long)
    np.testing.assert_allclose(nb21._inf_ref(theta, cross, y, f0, f0t), dyn.f_test[0], rtol=1e-9, atol=1e-10)


def test_steps_reference_is_where_the_slowest_mode_reaches_one_over_e():
    theta = nb21._kernel(8, 2, 0.05, 5.0)
    v_min = np.linalg.eigh(theta)[1][:, 0]
    tau = nb21._steps_ref(theta, 1.0)
    dyn = bp.ntk.linearized_dynamics(theta, None, v_min, np.zeros(8), None, 1.0, [0.0, tau])
    r = dyn.residual_modes[:, -1]                              # the smallest eigenvalue is listed last
    assert abs(abs(r[1] / r[0]) - np.exp(-1)) < 1e-12
    assert abs(nb21._steps_gd_count(theta, 1.0) - tau) <= 1


@pytest.mark.parametrize(("key", "answer"), [
    ("21.linearized_train", lambda theta, y, f0, lr, t: None),
    ("21.linearized_train", lambda theta, y, f0, lr, t: theta * (f0 - y)),          # * instead of @
    ("21.linearized_train", lambda theta, y, f0, lr, t: y),
    ("21.linearized_train", "y + expm(-lr t theta / n)(f0 - y)"),
    ("21.steps_to_shrink_slowest", lambda theta, lr: np.linalg.eigvalsh(theta)),
    ("21.steps_to_shrink_slowest", lambda theta, lr: "many"),
    ("21.steps_to_shrink_slowest", lambda theta, lr: len(theta) / (lr * np.mean(np.linalg.eigvalsh(theta)))),
    ("21.infinite_time_prediction", lambda theta, cross, y, f0, f0t: cross.T @ (y - f0)),
    ("21.infinite_time_prediction", lambda theta, cross, y, f0, f0t: f0t),
    ("21.infinite_time_prediction", lambda theta, cross, y, f0, f0t: 1 / 0),
])
def test_other_wrong_answers_are_wrong_not_errors(key, answer):
    assert ex.check(key, answer).status == "wrong"


def test_solution_cells_may_return_lists_and_ints():
    assert ex.check("21.steps_to_shrink_slowest", lambda th, lr: round(nb21._steps_ref(th, lr))).correct
    assert ex.check("21.infinite_time_prediction",
                    lambda *a: list(nb21._inf_ref(*a))).correct
