"""bp.data generators: shapes, dtypes, balance, determinism, exact geometry at noise=0, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop_lib as bp

CLASSIFIERS = {
    "moons": (lambda **kw: bp.data.moons(**kw), 2),
    "circles": (lambda **kw: bp.data.circles(**kw), 2),
    "spirals2": (lambda **kw: bp.data.spirals(**kw), 2),
    "spirals5": (lambda **kw: bp.data.spirals(classes=5, **kw), 5),
    "xor": (lambda **kw: bp.data.xor(**kw), 2),
    "blobs": (lambda **kw: bp.data.blobs(**kw), 3),
    "blobs4": (lambda **kw: bp.data.blobs(centers=4, **kw), 4),
}


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_shapes_dtypes_and_exact_balance(name):
    make, classes = CLASSIFIERS[name]
    x, y = make(n=203, noise=0.1, seed=0)
    assert x.shape == (203, 2) and x.dtype == np.float64
    assert y.shape == (203,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=classes)
    assert len(counts) == classes
    assert counts.max() - counts.min() <= 1  # as balanced as n allows
    assert np.all(np.isfinite(x))


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_same_seed_same_data_other_seed_other_data(name):
    make, _ = CLASSIFIERS[name]
    x1, y1 = make(n=100, noise=0.2, seed=7)
    x2, y2 = make(n=100, noise=0.2, seed=7)
    x3, _ = make(n=100, noise=0.2, seed=8)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert np.abs(x1 - x3).max() > 1e-3
    # a Generator works as seed, and draws from it
    g = np.random.default_rng(7)
    xa, _ = make(n=100, noise=0.2, seed=g)
    xb, _ = make(n=100, noise=0.2, seed=g)
    assert np.abs(xa - xb).max() > 1e-3


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_samples_are_shuffled(name):
    make, _ = CLASSIFIERS[name]
    _, y = make(n=200, noise=0.1, seed=0)
    # class-by-class order would put every label change in (classes - 1) places
    assert np.count_nonzero(np.diff(y)) > 20


def test_moons_noise_free_lie_on_their_arcs():
    x, y = bp.data.moons(n=101, noise=0.0, seed=3)
    upper, lower = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=0, atol=1e-12)
    assert np.all(upper[:, 1] >= -1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, rtol=0, atol=1e-12)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)
    # the arcs' end points, as in sklearn.datasets.make_moons
    np.testing.assert_allclose(upper[np.argmax(upper[:, 0])], [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(lower[np.argmin(lower[:, 0])], [0.0, 0.5], atol=1e-12)


@pytest.mark.parametrize("factor", [0.2, 0.5, 0.8])
def test_circles_noise_free_radii(factor):
    x, y = bp.data.circles(n=150, noise=0.0, seed=1, factor=factor)
    r = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-12)
    np.testing.assert_allclose(r[y == 1], factor, atol=1e-12)
    # evenly spaced in angle: sorted angles step by 2π/m
    angles = np.sort(np.arctan2(x[y == 0, 1], x[y == 0, 0]))
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / 75, atol=1e-12)


@pytest.mark.parametrize("classes", [2, 3, 4])
def test_spirals_noise_free_follow_their_arm(classes):
    x, y = bp.data.spirals(n=120, noise=0.0, seed=2, classes=classes)
    r = np.hypot(x[:, 0], x[:, 1])
    theta = 2 * np.pi * y / classes + 2 * np.pi * r  # the arm's equation
    expected = r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    np.testing.assert_allclose(x, expected, atol=1e-12)
    assert r.min() == pytest.approx(0.0, abs=1e-12) and r.max() == pytest.approx(1.0)


def test_xor_noise_free_labels_are_sign_disagreement():
    x, y = bp.data.xor(n=400, noise=0.0, seed=4)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(np.int64))
    assert np.all(np.abs(x) <= 1.0)
    quadrant = (x[:, 0] > 0) * 2 + (x[:, 1] > 0)
    np.testing.assert_array_equal(np.bincount(quadrant), [100, 100, 100, 100])


def test_blobs_noise_free_sit_on_centers_and_noise_is_the_std():
    x, y = bp.data.blobs(n=30, noise=0.0, seed=0, centers=3)
    angle = 2 * np.pi * np.arange(3) / 3
    centers = 2 * np.column_stack([np.cos(angle), np.sin(angle)])
    np.testing.assert_allclose(x, centers[y], atol=1e-12)
    x, y = bp.data.blobs(n=40000, noise=0.3, seed=0)
    np.testing.assert_allclose((x - centers[y]).std(axis=0), 0.3, rtol=0.02)


def test_blobs_accepts_explicit_centers_in_any_dimension():
    c = np.array([[0.0, 0.0, 5.0], [1.0, -1.0, 0.0]])
    x, y = bp.data.blobs(n=10, noise=0.0, seed=0, centers=c)
    assert x.shape == (10, 3)
    np.testing.assert_allclose(x, c[y])


def test_sine_is_regression_shaped_and_noise_free_exact():
    x, y = bp.data.sine(n=50, noise=0.0, seed=0)
    assert x.shape == (50, 1) and y.shape == (50, 1)
    assert x.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_allclose(y, np.sin(x), atol=1e-15)
    assert np.all(np.abs(x) <= np.pi)
    x, y = bp.data.sine(n=40000, noise=0.25, seed=1)
    np.testing.assert_allclose((y - np.sin(x)).std(), 0.25, rtol=0.02)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 300), classes=st.integers(2, 6), seed=st.integers(0, 2**31))
def test_any_n_gives_n_balanced_samples(n, classes, seed):
    x, y = bp.data.spirals(n=n, noise=0.05, seed=seed, classes=classes)
    assert x.shape == (n, 2) and y.shape == (n,)
    counts = np.bincount(y, minlength=classes)
    assert counts.sum() == n and counts.max() - counts.min() <= 1
    for make in (bp.data.moons, bp.data.circles, bp.data.xor, bp.data.blobs, bp.data.sine):
        xx, yy = make(n=n, noise=0.05, seed=seed)
        assert len(xx) == len(yy) == n


@pytest.mark.parametrize("make", [bp.data.moons, bp.data.circles, bp.data.spirals, bp.data.xor,
                                  bp.data.blobs, bp.data.sine])
def test_bad_arguments_are_named(make):
    with pytest.raises(ValueError, match=r"n \(the number of samples\) must be at least 1"):
        make(n=0)
    with pytest.raises(ValueError, match="n"):
        make(n=-5)
    with pytest.raises(TypeError, match="n"):
        make(n=2.5)
    with pytest.raises(ValueError, match="noise.*>= 0"):
        make(n=10, noise=-0.1)
    with pytest.raises(TypeError, match="seed"):
        make(n=10, seed="zero")


def test_bad_shape_specific_arguments():
    with pytest.raises(ValueError, match="factor"):
        bp.data.circles(factor=1.5)
    with pytest.raises(ValueError, match="classes"):
        bp.data.spirals(classes=1)
    with pytest.raises(ValueError, match="centers"):
        bp.data.blobs(centers=np.zeros(3))
    with pytest.raises(ValueError, match="centers"):
        bp.data.blobs(centers=0)
