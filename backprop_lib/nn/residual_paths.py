"""The paths of a residual network: ``∏(I + J_l)`` multiplied out.

L residual blocks ``x_{l+1} = x_l + F_l(x_l)`` have the input-output Jacobian

    ∂x_{L+1}/∂x_1 = (I + J_L) ⋯ (I + J_2)(I + J_1) = Σ_{S ⊆ {1..L}} ∏_{l ∈ S, descending} J_l

with ``J_l = ∂F_l/∂x_l`` at the point of the forward pass. Every subset S is one *path* from the input
to the output: through the branches in S and along the skips elsewhere. There are 2ᴸ paths, C(L, k)
of them through exactly k branches; backprop sends ``δ`` along the transpose of every one of them.

``jacobians`` below is a list ``[J_1, …, J_L]`` (first block first) of ``(d, d)`` arrays.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._validate import as_float_array
from .module import Module

__all__ = ["block_jacobian", "enumerate_paths", "path_counts", "path_terms", "residual_product"]


def _check(jacobians) -> list[np.ndarray]:
    mats = [as_float_array(J, f"jacobians[{i}]", ndim=2) for i, J in enumerate(jacobians)]
    if not mats:
        raise ValueError("jacobians must hold at least one (d, d) matrix, one per residual block.")
    d = mats[0].shape[0]
    for i, J in enumerate(mats):
        if J.shape != (d, d):
            raise ValueError(f"jacobians[{i}] has shape {J.shape}; every block's Jacobian must be ({d}, {d}) "
                             "(a residual block keeps the number of features).")
    return mats


def residual_product(jacobians) -> np.ndarray:
    """``(I + J_L) ⋯ (I + J_1)``: the Jacobian of the whole stack of residual blocks, ``(d, d)``."""
    mats = _check(jacobians)
    out = np.eye(mats[0].shape[0])
    for J in mats:
        out = (np.eye(len(J)) + J) @ out                 # block l acts after blocks 1..l−1
    return out


def enumerate_paths(jacobians):
    """Every one of the 2ᴸ paths: yields ``(S, product)`` with ``S`` a tuple of block indices (0-based)
    whose branches the path goes through, and ``product = ∏_{l ∈ S, descending} J_l`` (I for S = ∅)."""
    mats = _check(jacobians)
    eye = np.eye(mats[0].shape[0])
    for bits in itertools.product((0, 1), repeat=len(mats)):
        S = tuple(i for i, b in enumerate(bits) if b)
        prod = eye
        for i in S:
            prod = mats[i] @ prod
        yield S, prod


def path_terms(jacobians) -> list[np.ndarray]:
    """``terms[k]`` = the sum of the C(L, k) paths through exactly k branches, k = 0..L.

    Computed block by block (``terms_k ← terms_k + J_l terms_{k−1}``), so it costs O(L²) products
    instead of 2ᴸ; ``sum(terms) == residual_product(jacobians)``.
    """
    mats = _check(jacobians)
    terms = [np.eye(mats[0].shape[0])]
    for J in mats:
        terms = [terms[0]] + [terms[k] + J @ terms[k - 1] for k in range(1, len(terms))] + [J @ terms[-1]]
    return terms


def path_counts(blocks: int) -> list[int]:
    """``[C(L, 0), …, C(L, L)]``: how many of the 2ᴸ paths go through k branches."""
    return [math.comb(blocks, k) for k in range(blocks + 1)]


def block_jacobian(block: Module, x) -> np.ndarray:
    """``J[i, j] = ∂F_i/∂x_j`` of a shape-keeping block at one input ``x: (d,)``, by d backward passes.

    The block runs on d copies of x; backward with the identity as ``grad_out`` returns row i = e_iᵀ J.
    The block must treat examples independently (no batch norm in training mode); its parameters'
    ``.grad`` accumulate the d backward passes.
    """
    x = as_float_array(x, "x", ndim=1)
    d = x.shape[0]
    block(np.repeat(x[None], d, axis=0))
    return np.asarray(block.backward(np.eye(d)))
