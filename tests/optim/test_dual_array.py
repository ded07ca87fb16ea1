"""backprop_lib/optim/_dual_array.py: forward-mode dual numbers for arrays, against central
differences and against bp.autodiff.Dual on scalars."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.optim._dual_array import DualArray, concatenate


def _fd(f, x, v, h=1e-6):
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


def test_tangent_of_a_composite_array_program_is_its_directional_derivative():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))

    def f(x):                                # x: (3, 2); every supported operation once
        z = A @ x - 0.5 * x.T.reshape(6)[:2] + 1.0
        w = np.tanh(z) * np.exp(-z / 3) / (2.0 + z * z)
        u = np.maximum(w, 0.0) + (w > 0) * 0.1 - w @ B.T @ np.ones((3, 2))
        return (-u)[1:].sum(axis=0) + u.sum(axis=1, keepdims=True).T[:, :2]

    x, v = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    out = f(DualArray(x, v))
    np.testing.assert_allclose(out.primal, f(x), rtol=0, atol=1e-14)
    np.testing.assert_allclose(out.tangent, _fd(f, x, v), rtol=1e-7, atol=1e-9)


def test_ndarray_on_the_left_and_numbers_on_either_side_keep_the_tangent():
    d = DualArray(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    for out, expected in ((W @ d, W[:, 0]), (np.array([2.0, 3.0]) * d, [2.0, 0.0]),
                          (3.0 - d, [-1.0, 0.0]), (1.0 / d, [-1.0, 0.0]), (d / 2, [0.5, 0.0])):
        assert isinstance(out, DualArray)
        np.testing.assert_allclose(out.tangent, expected, atol=1e-15)


def test_agrees_with_the_scalar_dual_engine():
    x, dx = 0.7, 1.3
    d = DualArray(np.array([x]), np.array([dx]))
    out = np.tanh(d * d) / (1.0 + np.exp(-d)) - 3.0 * d
    s = bp.autodiff.Dual(x, dx)
    ref = (s * s).tanh() / (1.0 + (-s).exp()) - 3.0 * s
    assert out.primal[0] == pytest.approx(ref.primal, abs=1e-15)
    assert out.tangent[0] == pytest.approx(ref.tangent, abs=1e-14)


def test_relu_masks_the_tangent_and_comparisons_give_plain_booleans():
    d = DualArray(np.array([-1.0, 2.0]), np.array([5.0, 7.0]))
    r = np.maximum(d, 0.0)
    np.testing.assert_array_equal(r.tangent, [0.0, 7.0])
    mask = d > 0
    assert isinstance(mask, np.ndarray) and mask.dtype == bool and mask.tolist() == [False, True]


def test_concatenate_joins_primals_and_tangents():
    a = DualArray(np.ones(2), np.full(2, 3.0))
    out = concatenate([a, np.zeros(1)])
    np.testing.assert_array_equal(out.primal, [1, 1, 0])
    np.testing.assert_array_equal(out.tangent, [3, 3, 0])
    assert isinstance(concatenate([np.ones(1), np.ones(2)]), np.ndarray)


def test_unsupported_operations_and_shapes_are_refused_by_name():
    d = DualArray(np.ones(3))
    with pytest.raises(TypeError, match="no derivative rule for np.sin"):
        np.sin(d)
    with pytest.raises(ValueError, match="tangent must have the primal's shape"):
        DualArray(np.ones(3), np.ones(2))
    with pytest.raises(TypeError, match="got str"):
        d + "a"
