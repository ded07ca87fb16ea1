"""bp.optim.RMSprop against torch.optim.RMSprop: 100-step trajectories, float64, rel 1e-10."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.nn.module import Parameter

CONFIGS = [
    dict(lr=0.01),
    dict(lr=0.01, centered=True),
    dict(lr=0.005, momentum=0.9),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.02, alpha=0.9, eps=1e-4),
    dict(lr=0.005, alpha=0.95, momentum=0.5, centered=True, weight_decay=0.05),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda k: ",".join(f"{a}={v}" for a, v in k.items()))
def test_rmsprop_trajectory_matches_torch(kwargs, seed, torch_oracle):
    run, assert_same = torch_oracle
    ours, theirs = run("RMSprop", kwargs, seed=seed)
    assert np.linalg.norm(ours[-1][0] - ours[0][0]) > 1e-2
    assert_same(ours, theirs)


def test_rmsprop_param_groups_match_torch(torch_oracle):
    run, assert_same = torch_oracle
    groups = [dict(centered=True), dict(momentum=0.9, lr=0.002)]
    ours, theirs = run("RMSprop", dict(lr=0.01), seed=5, group_overrides=groups)
    assert_same(ours, theirs)


def test_rmsprop_first_step_formula():
    """v_1 = (1-α) g², so the first step is η g / (√(1-α)|g| + ε)."""
    g = np.array([2.0, -0.5])
    p = Parameter(np.zeros(2))
    p.grad = g.copy()
    bp.optim.RMSprop([p], lr=0.01, alpha=0.99, eps=0.0).step()
    np.testing.assert_allclose(p.data, -0.01 * np.sign(g) / np.sqrt(0.01), rtol=1e-13)
