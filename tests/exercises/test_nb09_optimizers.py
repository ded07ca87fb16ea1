"""Notebook 09's checkers beyond their registered examples: the reference answers agree with
torch.optim, the messages name the mistake, and the race winners come from the runs."""

import numpy as np
import pytest
import torch

import backprop_lib as bp
import backprop_lib.exercises as ex
from backprop_lib.exercises import nb09_optimizers as nb09

A, THETA0 = nb09._A, nb09._THETA0


def _torch_path(opt_class, steps, **kwargs):
    p = torch.tensor(THETA0.copy(), dtype=torch.float64, requires_grad=True)
    opt = opt_class([p], **kwargs)
    out = []
    for _ in range(steps):
        p.grad = torch.from_numpy(A @ p.detach().numpy())
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


@pytest.mark.parametrize("hyper", [{}, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}])
def test_adam_reference_answer_matches_torch(hyper):
    theta, m, v, t = THETA0.copy(), np.zeros(3), np.zeros(3), 0
    ours = []
    for _ in range(30):
        theta, m, v, t = nb09._adam_ref(theta, A @ theta, m, v, t, **hyper)
        ours.append(theta)
    np.testing.assert_allclose(ours, _torch_path(torch.optim.Adam, 30, **hyper), rtol=1e-12, atol=1e-14)
    assert t == 30


@pytest.mark.parametrize("hyper", [{}, {"lr": 0.05, "alpha": 0.9}])
def test_rmsprop_reference_answer_matches_torch(hyper):
    theta, v = THETA0.copy(), np.zeros(3)
    ours = []
    for _ in range(30):
        theta, v = nb09._rmsprop_ref(theta, A @ theta, v, **hyper)
        ours.append(theta)
    np.testing.assert_allclose(ours, _torch_path(torch.optim.RMSprop, 30, **hyper), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("mistake", "words"), [
    ("no bias correction", ["3.16", "without bias correction"]),
    ("t counted from 0", ["t = 0", "t = 1"]),
    ("t returned unchanged", ["t = 0", "expected 1"]),
    ("ignores lr/betas/eps", ["ignores"]),
])
def test_adam_messages_name_the_mistake(mistake, words):
    fb = ex.check("09.adam_step", ex.REGISTRY["09.adam_step"].wrong[mistake])
    text = fb.message + " " + fb.hint
    for word in words:
        assert word in text, (mistake, text)


def test_adam_t_from_0_with_python_floats_is_wrong_not_an_error():
    def t_from_0(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        c1 = 1.0 / (1.0 - betas[0] ** t)        # ZeroDivisionError at t = 0
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        return theta - lr * m * c1 / np.sqrt(v / (1 - betas[1] ** t)), m, v, t + 1

    fb = ex.check("09.adam_step", t_from_0)
    assert fb.status == "wrong"
    assert "t = 1" in fb.hint


@pytest.mark.parametrize("answer", [
    lambda theta, g, m, v, t, **kw: theta,                              # not a tuple
    lambda theta, g, m, v, t, **kw: (theta, m, v),                      # a value short
    lambda theta, g, m, v, t, **kw: (theta[:2], m, v, t + 1),           # wrong shape
])
def test_adam_malformed_returns_are_wrong(answer):
    fb = ex.check("09.adam_step", answer)
    assert fb.status == "wrong"
    assert fb.message


def test_rmsprop_messages_name_the_mistake():
    wrong = ex.REGISTRY["09.rmsprop_step"].wrong
    assert "AdaGrad" in ex.check("09.rmsprop_step", wrong["G += g² (AdaGrad)"]).message
    for mistake in ("g for g²", "|g| for g²"):
        assert "not its square" in ex.check("09.rmsprop_step", wrong[mistake]).message


def test_race_winners_come_from_the_runs():
    """The checker's verdict follows race_winner on the explorer's own compute."""
    from backprop_lib.widgets.optimizer_race import OptimizerRaceSettings, compute_optimizer_race

    for name in nb09.RACES:
        result = compute_optimizer_race(OptimizerRaceSettings(**nb09.race_settings(name)))
        winner, _ = nb09.race_winner(result)
        finished = {n: r.steps_to(1e-6) for n, r in result.runs.items() if r.steps_to(1e-6) is not None}
        assert finished, f"{name}: somebody should finish, so the race has a clear winner"
        assert winner == min(finished, key=finished.get)
        others = sorted(v for k, v in finished.items() if k != winner)
        assert not others or others[0] >= 1.2 * finished[winner], f"{name}: a photo finish {finished}"


def test_race_winner_without_a_finisher_is_the_lowest_final_loss():
    bowl = bp.optim.surfaces.Quadratic(condition=10)
    result = bp.widgets.race(bowl, {"too fast": ("SGD", {"lr": 2.5}), "slow": ("SGD", {"lr": 0.01}),
                                    "slower": ("SGD", {"lr": 0.001})}, steps=200)
    assert result.runs["too fast"].diverged_at is not None
    winner, how = nb09.race_winner(result)
    assert winner == "slow"
    assert "nobody finished" in how


def test_race_settings_rejects_an_unknown_race():
    with pytest.raises(ValueError, match="race must be one of"):
        nb09.race_settings("beale")


def test_race_predictions_partly_open_are_not_attempted_only_when_all_open():
    assert ex.check("09.race_winners", {"quadratic": ..., "rosenbrock": ..., "saddle": ...}).status == \
        "not attempted"
    fb = ex.check("09.race_winners", {"quadratic": "momentum", "rosenbrock": ..., "saddle": ...})
    assert fb.status == "wrong"
    assert "still open" in fb.message


def test_wrong_race_prediction_reports_the_measured_steps_and_why():
    fb = ex.check("09.race_winners", {"quadratic": "Adam", "rosenbrock": "Adam", "saddle": "Adam"})
    assert "2 of 3 right" in fb.message
    assert "momentum step" in fb.message
    assert "turned by 30°" in fb.hint
