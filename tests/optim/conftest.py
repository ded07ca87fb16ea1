"""Shared oracle for the optimizer tests: run one of ours and torch.optim's twin on the
same random least-squares problem and compare the trajectories step by step."""

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.nn.module import Parameter


def least_squares_grads(W, b, X, Y):
    """L = 1/(2n) Σ (X Wᵀ + b - Y)²: returns (dL/dW, dL/db), computed in NumPy."""
    n = X.shape[0]
    R = X @ W.T + b - Y                     # residuals, (n, out)
    return R.T @ X / n, R.sum(axis=0) / n


def _split_groups(params, group_overrides):
    """None -> a plain list; [{...}, {...}] -> one group per parameter with overrides."""
    if group_overrides is None:
        return list(params)
    return [{"params": [p], **over} for p, over in zip(params, group_overrides, strict=True)]


def run_against_torch(name, kwargs, *, seed, steps=100, group_overrides=None, ours_only=None):
    """Train W (3, 4) and b (3,) with bp.optim.<name> and torch.optim.<name> on random
    mini-batches of a random least-squares problem (grads computed in NumPy from each
    side's own current parameters). Returns the two trajectories, each a list over steps
    of [W, b]."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, 4))
    Y = X @ rng.normal(size=(4, 3)) + 0.3 * rng.normal(size=(64, 3))
    W0, b0 = rng.normal(size=(3, 4)), rng.normal(size=3)

    ours = [Parameter(W0.copy(), name="weight"), Parameter(b0.copy(), name="bias")]
    theirs = [torch.tensor(W0, dtype=torch.float64, requires_grad=True),
              torch.tensor(b0, dtype=torch.float64, requires_grad=True)]
    opt = getattr(bp.optim, name)(_split_groups(ours, group_overrides), **kwargs, **(ours_only or {}))
    topt = getattr(torch.optim, name)(_split_groups(theirs, group_overrides), **kwargs)

    traj_ours, traj_torch = [], []
    for _ in range(steps):
        batch = rng.choice(64, size=16, replace=False)
        x, y = X[batch], Y[batch]

        opt.zero_grad()
        for p, g in zip(ours, least_squares_grads(ours[0].data, ours[1].data, x, y), strict=True):
            p.accumulate_grad(g)
        opt.step()
        traj_ours.append([p.data.copy() for p in ours])

        topt.zero_grad()
        W, b = (t.detach().numpy() for t in theirs)
        for t, g in zip(theirs, least_squares_grads(W, b, x, y), strict=True):
            t.grad = torch.from_numpy(g.copy())
        topt.step()
        traj_torch.append([t.detach().numpy().copy() for t in theirs])
    return traj_ours, traj_torch


def assert_same_trajectory(traj_a, traj_b, rtol=1e-10, atol=1e-12):
    for step, (a, b) in enumerate(zip(traj_a, traj_b, strict=True)):
        for pa, pb in zip(a, b, strict=True):
            np.testing.assert_allclose(pa, pb, rtol=rtol, atol=atol, err_msg=f"differs at step {step + 1}")


@pytest.fixture
def torch_oracle():
    """(run_against_torch, assert_same_trajectory) for the optimizer tests."""
    return run_against_torch, assert_same_trajectory
