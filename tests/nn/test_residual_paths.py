"""Residual paths: the 2ᴸ path products add up to ∏(I + J_l), grouped by length they are C(L, k)
terms, and block_jacobian agrees with PyTorch's jacobian and with a Residual stack's backward pass."""

import math

import numpy as np
import pytest
import torch

from backprop_lib.nn import Linear, Residual, Sequential, Tanh
from backprop_lib.nn.residual_paths import (
    block_jacobian,
    enumerate_paths,
    path_counts,
    path_terms,
    residual_product,
)


def jacobians(rng, L=5, d=3, scale=0.5):
    return [rng.normal(scale=scale, size=(d, d)) for _ in range(L)]


def test_product_is_the_ordered_product(rng):
    J = jacobians(rng, L=3)
    I = np.eye(3)
    np.testing.assert_allclose(residual_product(J), (I + J[2]) @ (I + J[1]) @ (I + J[0]), rtol=1e-14)


def test_all_paths_add_up_to_the_product(rng):
    J = jacobians(rng, L=6)
    paths = list(enumerate_paths(J))
    assert len(paths) == 2 ** 6 and len({S for S, _ in paths}) == 2 ** 6
    np.testing.assert_allclose(sum(prod for _, prod in paths), residual_product(J), rtol=1e-12, atol=1e-14)


def test_path_terms_group_the_paths_by_length(rng):
    J = jacobians(rng, L=5)
    terms = path_terms(J)
    assert len(terms) == 6
    for k, term in enumerate(terms):
        by_length = sum(prod for S, prod in enumerate_paths(J) if len(S) == k)
        np.testing.assert_allclose(term, by_length, rtol=1e-12, atol=1e-14)
    assert path_counts(5) == [1, 5, 10, 10, 5, 1] and sum(path_counts(12)) == 2 ** 12
    assert sum(1 for S, _ in enumerate_paths(J) if len(S) == 2) == math.comb(5, 2)


def test_order_matters_for_non_commuting_jacobians(rng):
    J = jacobians(rng, L=2)
    paths = dict(enumerate_paths(J))
    np.testing.assert_allclose(paths[(0, 1)], J[1] @ J[0], rtol=1e-14)      # block 1 acts after block 0
    assert not np.allclose(J[1] @ J[0], J[0] @ J[1])


def test_block_jacobian_matches_torch(rng):
    block = Sequential(Linear(4, 6, seed=0), Tanh(), Linear(6, 4, seed=1))
    x = rng.normal(size=4)
    w1, b1, w2, b2 = (torch.tensor(p.data) for p in block.parameters())
    jt = torch.autograd.functional.jacobian(lambda v: torch.tanh(v @ w1.T + b1) @ w2.T + b2, torch.tensor(x))
    np.testing.assert_allclose(block_jacobian(block, x), jt.numpy(), rtol=1e-12, atol=1e-14)


def test_product_of_block_jacobians_is_the_stack_jacobian(rng):
    blocks = [Sequential(Linear(3, 5, seed=s), Tanh(), Linear(5, 3, seed=s + 10)) for s in range(4)]
    x = rng.normal(size=3)
    J, h = [], x
    for b in blocks:                                    # each block's Jacobian at its own input
        J.append(block_jacobian(b, h))
        h = h + b(h[None])[0]
    stack = Sequential(*[Residual(b) for b in blocks])
    stack(np.repeat(x[None], 3, axis=0))
    jac = stack.backward(np.eye(3))                     # row i: e_iᵀ ∂x_out/∂x_in
    np.testing.assert_allclose(residual_product(J), jac, rtol=1e-12, atol=1e-14)


def test_clear_errors(rng):
    with pytest.raises(ValueError, match="at least one"):
        residual_product([])
    with pytest.raises(ValueError, match=r"jacobians\[1\] has shape"):
        path_terms([np.eye(2), np.eye(3)])
    with pytest.raises(ValueError, match="2-dimensional"):
        list(enumerate_paths([np.ones(3)]))
