"""bp.autodiff.numerical: finite differences, their orders of accuracy, and the
truncation / rounding trade-off in float32 and float64."""

import math

import numpy as np
import pytest

from backprop_lib.autodiff import StepSizeStudy, numerical_derivative, step_size_study

# f, exact f', point: smooth functions with f(x), f''(x), f'''(x) all well away from 0
CASES = {
    "sin": (np.sin, np.cos, 1.0),
    "exp": (np.exp, np.exp, 0.5),
    "cube": (lambda x: x**3, lambda x: 3 * x**2, 1.3),
}
METHODS = ("forward", "backward", "central")
ORDER = {"forward": 1, "backward": 1, "central": 2}


@pytest.mark.parametrize("method", METHODS)
def test_estimates_the_derivative_elementwise(method):
    x = np.linspace(-2.0, 2.0, 9)
    d = numerical_derivative(np.sin, x, h=1e-6, method=method)
    assert d.shape == x.shape and d.dtype == np.float64
    np.testing.assert_allclose(d, np.cos(x), atol=1e-5 if method != "central" else 1e-9)


def test_scalar_in_scalar_out_and_dtype_is_kept():
    d = numerical_derivative(lambda x: x**2, 3.0)
    assert np.ndim(d) == 0
    np.testing.assert_allclose(d, 6.0, rtol=1e-9)
    d32 = numerical_derivative(np.sin, np.float32(1.0), h=1e-3)
    assert d32.dtype == np.float32
    d32 = numerical_derivative(np.sin, np.ones(3, dtype=np.float32), h=1e-3)
    assert d32.dtype == np.float32
    np.testing.assert_allclose(d32, np.cos(1.0), rtol=1e-4)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("method", METHODS)
def test_truncation_error_shrinks_like_h_to_the_order(name, method):
    """In the truncation regime (float64, h from 1e-4 to 1e-2) log error vs log h is a
    straight line of slope 1 (one-sided) or 2 (central)."""
    f, df, x = CASES[name]
    hs = np.logspace(-4, -2, 9)
    err = np.array([abs(numerical_derivative(f, x, h, method) - df(x)) for h in hs])
    slope = np.polyfit(np.log10(hs), np.log10(err), 1)[0]
    assert abs(slope - ORDER[method]) < 0.05, slope


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("method", METHODS)
def test_error_model_tracks_the_measured_error(name, method):
    f, df, x = CASES[name]
    s = step_size_study(f, df, x, method=method)
    assert isinstance(s, StepSizeStudy) and s.order == ORDER[method]
    # where truncation dominates, the Taylor term is the error (within 5 %)
    trunc = s.truncation_dominated & (s.truncation > 100 * s.rounding) & (s.h <= 1e-2)
    assert trunc.sum() >= 5
    np.testing.assert_allclose(s.error[trunc], s.truncation[trunc], rtol=0.05)
    # where rounding dominates (and x + h still differs from x), the rounding term bounds the
    # error, and the typical envelope is of the same order of magnitude (not far below it)
    rnd = (s.rounding > 100 * s.truncation) & (s.h > 10 * s.eps * abs(x))
    assert rnd.sum() >= 5
    assert np.all(s.error[rnd] <= 1.5 * s.rounding[rnd])
    assert 0.1 < np.median(s.envelope[rnd] / s.rounding[rnd]) <= 1.5
    np.testing.assert_allclose(s.model, s.truncation + s.rounding)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", METHODS)
def test_best_step_is_near_eps_to_the_half_or_third(name, dtype, method):
    """h* ~ eps^(1/2) one-sided, eps^(1/3) central: within one order of magnitude, and
    within one order of magnitude of where the model's two terms balance."""
    f, df, x = CASES[name]
    s = step_size_study(f, df, x, dtype=dtype, method=method)
    eps = np.finfo(dtype).eps
    assert s.eps == eps and s.dtype == np.dtype(dtype).name
    target = eps ** (1 / 3 if method == "central" else 1 / 2)
    assert abs(math.log10(s.best_h / target)) <= 1.0, (s.best_h, target)
    assert abs(math.log10(s.best_h / s.predicted_h)) <= 1.0, (s.best_h, s.predicted_h)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("method", METHODS)
def test_float32_is_far_worse_than_float64(name, method):
    f, df, x = CASES[name]
    best64 = step_size_study(f, df, x, dtype=np.float64, method=method).best_error
    best32 = step_size_study(f, df, x, dtype=np.float32, method=method).best_error
    assert best32 > 1e3 * best64, (best32, best64)
    assert best64 / abs(df(x)) < (1e-7 if method != "central" else 1e-9)  # relative error


def test_central_beats_one_sided_at_its_best():
    f, df, x = CASES["sin"]
    for dtype in (np.float64, np.float32):
        central = step_size_study(f, df, x, dtype=dtype, method="central").best_error
        forward = step_size_study(f, df, x, dtype=dtype, method="forward").best_error
        assert central < forward / 10


def test_given_higher_derivative_and_custom_steps():
    hs = np.logspace(-8, -1, 15)
    s = step_size_study(np.sin, math.cos(1.0), 1.0, hs=hs, method="central",
                        higher_derivative=-math.cos(1.0))  # f''' = -cos
    np.testing.assert_allclose(s.h, hs)
    np.testing.assert_allclose(s.higher_derivative, math.cos(1.0))
    np.testing.assert_allclose(s.truncation, math.cos(1.0) * hs**2 / 6)
    np.testing.assert_allclose(s.rounding, s.eps * (math.sin(1.0) + math.cos(1.0)) / (2 * hs))
    # the estimated f''' agrees with the exact one
    est = step_size_study(np.sin, np.cos, 1.0, hs=hs, method="central")
    np.testing.assert_allclose(est.higher_derivative, math.cos(1.0), rtol=1e-4)
    est2 = step_size_study(np.sin, np.cos, 1.0, hs=hs, method="forward")
    np.testing.assert_allclose(est2.higher_derivative, math.sin(1.0), rtol=1e-6)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: numerical_derivative("sin", 1.0), TypeError, ["f must be a callable"]),
    (lambda: numerical_derivative(np.sin, 1.0, h=0.0), ValueError, ["h must lie in"]),
    (lambda: numerical_derivative(np.sin, 1.0, h=-1e-3), ValueError, ["h must lie in"]),
    (lambda: numerical_derivative(np.sin, 1.0, method="middle"), ValueError, ["method", "'central'"]),
    (lambda: numerical_derivative(np.sin, np.array([1, 2])), TypeError, ["dtype", "int"]),
    (lambda: numerical_derivative(np.sin, np.float32(1.0), h=1e-50), ValueError, ["underflows"]),
    (lambda: numerical_derivative(np.sum, np.ones(3)), ValueError, ["elementwise"]),
    (lambda: step_size_study(np.sin, np.cos, 1.0, dtype=np.float16), TypeError, ["float64 or np.float32"]),
    (lambda: step_size_study(np.sin, np.cos, 1.0, dtype="banana"), TypeError, ["dtype"]),
    (lambda: step_size_study(lambda x: math.sin(x), math.cos, 1.0, dtype=np.float32), TypeError,
     ["float64 for a float32 input", "NumPy"]),
    (lambda: step_size_study(np.sin, np.cos, 1.0, hs=[1e-3, -1e-3]), ValueError, ["positive"]),
    (lambda: step_size_study(np.sin, np.cos, "1"), TypeError, ["x must be a number"]),
    (lambda: step_size_study(np.sin, "cos", 1.0), TypeError, ["df"]),
])
def test_bad_input_gets_a_clear_error(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_the_three_formulas_on_a_parabola():
    """f = x²: forward gives 2x + h, backward 2x - h, central exactly 2x (f''' = 0)."""
    x, h = 3.0, 0.1
    for method, expected in (("forward", 6.1), ("backward", 5.9), ("central", 6.0)):
        np.testing.assert_allclose(numerical_derivative(lambda z: z**2, x, h, method), expected, rtol=1e-12)
