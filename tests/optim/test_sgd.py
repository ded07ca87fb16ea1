"""bp.optim.SGD against torch.optim.SGD: 100-step trajectories, float64, rel 1e-10."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.nn.module import Parameter

CONFIGS = [
    dict(lr=0.05),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.5),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.02, momentum=0.5, dampening=0.1, weight_decay=0.05),
    dict(lr=0.03, momentum=0.8, weight_decay=0.2, nesterov=True),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda k: ",".join(f"{a}={v}" for a, v in k.items()))
def test_sgd_trajectory_matches_torch(kwargs, seed, torch_oracle):
    run, assert_same = torch_oracle
    ours, theirs = run("SGD", kwargs, seed=seed)
    assert np.linalg.norm(ours[-1][0] - ours[0][0]) > 1e-2     # the parameters really moved
    assert_same(ours, theirs)


def test_sgd_param_groups_match_torch(torch_oracle):
    run, assert_same = torch_oracle
    groups = [dict(lr=0.1, momentum=0.5), dict(nesterov=True, weight_decay=0.3)]
    ours, theirs = run("SGD", dict(lr=0.02, momentum=0.9), seed=3, group_overrides=groups)
    assert_same(ours, theirs)


def test_sgd_default_lr_is_torchs():
    import torch

    p = Parameter(np.zeros(2))
    assert bp.optim.SGD([p]).lr == torch.optim.SGD([torch.zeros(2, requires_grad=True)]).defaults["lr"]


def test_plain_sgd_is_gradient_descent():
    """Without momentum one step is θ - η g exactly (the formula, independent of torch)."""
    p = Parameter(np.array([1.0, -2.0, 3.0]))
    p.grad = np.array([0.5, 0.25, -1.0])
    bp.optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.025, 3.1], rtol=1e-15)


def test_momentum_on_a_constant_gradient_approaches_g_over_1_minus_mu():
    """With a constant gradient the buffer b_t = Σ μ^k g → g / (1 - μ) (velocity build-up)."""
    p = Parameter(np.zeros(1))
    opt = bp.optim.SGD([p], lr=1.0, momentum=0.9)
    for _ in range(300):
        p.grad = np.ones(1)
        opt.step()
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [10.0], rtol=1e-10)


def test_sgd_keeps_float32():
    p = Parameter(np.ones(3, dtype=np.float32))
    opt = bp.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    for _ in range(3):
        p.grad = np.full(3, 0.5, dtype=np.float32)
        opt.step()
    assert p.data.dtype == np.float32
    assert opt.state[p]["momentum_buffer"].dtype == np.float32
