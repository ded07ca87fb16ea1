"""bp.data.digits: scikit-learn's bundled 8x8 digits, scaled to [0, 1]."""

import numpy as np
from sklearn.datasets import load_digits

import backprop_lib as bp


def test_digits_shape_dtype_scale():
    x, y = bp.data.digits()
    assert x.shape == (1797, 64) and x.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    assert np.bincount(y).min() >= 170  # every digit is well represented
    ref = load_digits()
    np.testing.assert_allclose(x, ref.data / 16.0)
    np.testing.assert_array_equal(y, ref.target)


def test_digits_seed_shuffles_pairs_together():
    x0, y0 = bp.data.digits()
    x1, y1 = bp.data.digits(seed=3)
    order = np.random.default_rng(3).permutation(1797)
    np.testing.assert_array_equal(x1, x0[order])
    np.testing.assert_array_equal(y1, y0[order])
    x2, y2 = bp.data.digits(seed=3)
    np.testing.assert_array_equal(x1, x2)
    assert not np.array_equal(y1, y0)
