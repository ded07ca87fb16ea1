"""bp.optim.Adam / AdamW against torch.optim: 100-step trajectories, float64, rel 1e-10;
and Adam without bias correction (a teaching switch) against its own formula."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.nn.module import Parameter

ADAM = [
    dict(lr=0.01),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.05, betas=(0.5, 0.9), eps=1e-3),
    dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.05, amsgrad=True),
]
ADAMW = [
    dict(lr=0.01),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.02, weight_decay=0.3, amsgrad=True, betas=(0.7, 0.95)),
]


def _ids(k):
    return ",".join(f"{a}={v}" for a, v in k.items())


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kwargs", ADAM, ids=_ids)
def test_adam_trajectory_matches_torch(kwargs, seed, torch_oracle):
    run, assert_same = torch_oracle
    ours, theirs = run("Adam", kwargs, seed=seed)
    assert np.linalg.norm(ours[-1][0] - ours[0][0]) > 1e-2
    assert_same(ours, theirs)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kwargs", ADAMW, ids=_ids)
def test_adamw_trajectory_matches_torch(kwargs, seed, torch_oracle):
    run, assert_same = torch_oracle
    ours, theirs = run("AdamW", kwargs, seed=seed)
    assert np.linalg.norm(ours[-1][0] - ours[0][0]) > 1e-2
    assert_same(ours, theirs)


def test_adam_param_groups_match_torch(torch_oracle):
    run, assert_same = torch_oracle
    groups = [dict(betas=(0.5, 0.9)), dict(lr=0.03, amsgrad=True)]
    ours, theirs = run("Adam", dict(lr=0.01, weight_decay=0.01), seed=6, group_overrides=groups)
    assert_same(ours, theirs)


def test_adamw_default_weight_decay_is_torchs():
    import torch

    p = Parameter(np.zeros(2))
    assert bp.optim.AdamW([p]).defaults["weight_decay"] == torch.optim.AdamW(
        [torch.zeros(2, requires_grad=True)]).defaults["weight_decay"]


def test_adamw_differs_from_adam_with_l2(torch_oracle):
    """Decoupled decay is not the L2 term: the two trajectories separate."""
    run, _ = torch_oracle
    adam, _ = run("Adam", dict(lr=0.01, weight_decay=0.3), seed=0, steps=50)
    adamw, _ = run("AdamW", dict(lr=0.01, weight_decay=0.3), seed=0, steps=50)
    assert np.max(np.abs(adam[-1][0] - adamw[-1][0])) > 1e-3


def _adam_formula_without_bias_correction(theta, grads, lr, beta1, beta2, eps):
    """Reference: m, v moments and θ ← θ - η m / (√v + ε), with no division by 1 - βᵗ."""
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    out = []
    for g in grads:
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        theta = theta - lr * m / (np.sqrt(v) + eps)
        out.append(theta)
    return out


def test_adam_without_bias_correction_follows_its_formula_and_differs_from_torch(torch_oracle):
    run, assert_same = torch_oracle
    ours, theirs = run("Adam", dict(lr=0.01), seed=2, ours_only=dict(bias_correction=False))
    # It is not torch's Adam: the early steps are ~3x larger with the default betas ...
    assert np.max(np.abs(ours[0][0] - theirs[0][0])) > 1e-3
    with pytest.raises(AssertionError):
        assert_same(ours, theirs)
    # ... and it is exactly the formula without bias correction.
    rng = np.random.default_rng(7)
    grads = [rng.normal(size=5) for _ in range(100)]
    p = Parameter(np.zeros(5))
    opt = bp.optim.Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8, bias_correction=False)
    trajectory = []
    for g in grads:
        p.grad = g.copy()
        opt.step()
        trajectory.append(p.data.copy())
    expected = _adam_formula_without_bias_correction(np.zeros(5), grads, 0.01, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(np.array(trajectory), np.array(expected), rtol=1e-12, atol=1e-15)


def test_adam_first_step_size_with_and_without_bias_correction():
    """With bias correction the first step is ≈ η sign(g); without, ≈ η (1-β₁)/√(1-β₂)."""
    g = np.array([3.0, -0.2, 1e-3])
    for correct, size in [(True, 1.0), (False, 0.1 / np.sqrt(0.001))]:
        p = Parameter(np.zeros(3))
        p.grad = g.copy()
        bp.optim.Adam([p], lr=0.01, eps=1e-12, bias_correction=correct).step()
        np.testing.assert_allclose(p.data, -0.01 * size * np.sign(g), rtol=1e-6)
