"""bp.optim.AdaGrad against torch.optim.Adagrad: 100-step trajectories, float64, rel 1e-10."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.nn.module import Parameter

CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.1, lr_decay=0.01),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.1, initial_accumulator_value=0.5),
    dict(lr=0.2, lr_decay=0.05, weight_decay=0.05, initial_accumulator_value=0.1, eps=1e-3),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda k: ",".join(f"{a}={v}" for a, v in k.items()))
def test_adagrad_trajectory_matches_torch(kwargs, seed, torch_oracle):
    run, assert_same = torch_oracle
    ours, theirs = run("Adagrad", kwargs, seed=seed)
    assert np.linalg.norm(ours[-1][0] - ours[0][0]) > 1e-2
    assert_same(ours, theirs)


def test_adagrad_param_groups_match_torch(torch_oracle):
    run, assert_same = torch_oracle
    groups = [dict(lr=0.3), dict(lr_decay=0.1, eps=1e-2)]
    ours, theirs = run("Adagrad", dict(lr=0.1), seed=4, group_overrides=groups)
    assert_same(ours, theirs)


def test_adagrad_alias_and_first_step():
    """AdaGrad is Adagrad; the first step is -η g/(|g| + ε) ≈ -η sign(g)."""
    assert bp.optim.Adagrad is bp.optim.AdaGrad
    p = Parameter(np.array([1.0, 1.0]))
    p.grad = np.array([4.0, -0.01])
    bp.optim.AdaGrad([p], lr=0.5, eps=0.0).step()
    np.testing.assert_allclose(p.data, [0.5, 1.5], rtol=1e-14)


def test_adagrad_steps_shrink_like_one_over_sqrt_t():
    """With a constant gradient s_t = t g², so the step is η/√t."""
    p = Parameter(np.zeros(1))
    opt = bp.optim.AdaGrad([p], lr=1.0, eps=0.0)
    positions = []
    for _ in range(16):
        p.grad = np.array([2.0])
        opt.step()
        positions.append(p.data[0])
    steps = -np.diff([0.0] + positions)
    np.testing.assert_allclose(steps, 1 / np.sqrt(np.arange(1, 17)), rtol=1e-12)
