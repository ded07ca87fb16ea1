"""bp.data.train_val_split: a partition, stratified for class labels, deterministic."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop_lib as bp


def _ids(part):
    return part[0][:, 0].astype(int)


def test_split_is_a_partition_of_the_right_size():
    x = np.column_stack([np.arange(100.0), np.zeros(100)])
    y = np.arange(100) % 3
    train, val = bp.data.train_val_split(x, y, val_fraction=0.25, seed=0)
    assert len(val[0]) == 25 and len(train[0]) == 75
    ids = np.concatenate([_ids(train), _ids(val)])
    np.testing.assert_array_equal(np.sort(ids), np.arange(100))
    # labels travel with their rows
    np.testing.assert_array_equal(train[1], _ids(train) % 3)
    np.testing.assert_array_equal(val[1], _ids(val) % 3)


def test_split_is_stratified_for_integer_labels():
    y = np.repeat(np.arange(3), [60, 30, 10])
    x = np.arange(100.0)[:, None]
    (_, ytr), (_, yva) = bp.data.train_val_split(x, y, val_fraction=0.2, seed=5)
    np.testing.assert_array_equal(np.bincount(yva, minlength=3), [12, 6, 2])
    np.testing.assert_array_equal(np.bincount(ytr, minlength=3), [48, 24, 8])


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=2, max_size=6),
       frac=st.floats(0.05, 0.95), seed=st.integers(0, 1000))
def test_stratified_counts_stay_within_one_of_the_share(sizes, frac, seed):
    y = np.repeat(np.arange(len(sizes)), sizes)
    n = len(y)
    x = np.arange(float(n))[:, None]
    (xtr, ytr), (xva, yva) = bp.data.train_val_split(x, y, val_fraction=frac, seed=seed)
    assert len(yva) == min(max(round(frac * n), 1), n - 1)
    assert len(ytr) + len(yva) == n
    share = len(yva) * np.array(sizes) / n
    assert np.all(np.abs(np.bincount(yva, minlength=len(sizes)) - share) < 1.0)
    np.testing.assert_array_equal(np.sort(np.concatenate([xtr[:, 0], xva[:, 0]])), np.arange(n))


def test_split_is_deterministic_and_shuffled():
    x, y = bp.data.moons(n=200, seed=0)
    a = bp.data.train_val_split(x, y, seed=1)
    b = bp.data.train_val_split(x, y, seed=1)
    c = bp.data.train_val_split(x, y, seed=2)
    np.testing.assert_array_equal(a[1][0], b[1][0])
    assert not np.array_equal(a[1][0], c[1][0])
    assert np.count_nonzero(np.diff(a[0][1])) > 20  # classes mixed in the training part


def test_regression_targets_split_randomly():
    x, y = bp.data.sine(n=50, seed=0)
    (xtr, ytr), (xva, yva) = bp.data.train_val_split(x, y, val_fraction=0.2)
    assert xva.shape == (10, 1) and yva.shape == (10, 1) and ytr.shape == (40, 1)
    np.testing.assert_allclose(np.sort(np.concatenate([xtr, xva])[:, 0]), np.sort(x[:, 0]))


def test_bad_input_is_named():
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="x has 10 samples but y has 9"):
        bp.data.train_val_split(x, np.zeros(9, dtype=np.int64))
    with pytest.raises(ValueError, match="val_fraction"):
        bp.data.train_val_split(x, np.zeros(10, dtype=np.int64), val_fraction=1.0)
    with pytest.raises(ValueError, match="val_fraction"):
        bp.data.train_val_split(x, np.zeros(10, dtype=np.int64), val_fraction=0.0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        bp.data.train_val_split(x[:1], np.zeros(1, dtype=np.int64))
