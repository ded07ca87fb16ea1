"""bp.optim.surfaces: gradients against central differences and torch autograd, the minima
and saddle where the formulas put them, vectorisation over (..., 2), and clear errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_lib.optim import surfaces as S

SURFACES = [S.Quadratic(), S.Quadratic(condition=50, angle=30), S.Quadratic(condition=1000, angle=-75),
            S.Rosenbrock(), S.Rosenbrock(a=0.5, b=10), S.Saddle(), S.Beale()]
IDS = [repr(s) for s in SURFACES]


def torch_f(surface, xy):
    """The same formulas written independently in torch (float64)."""
    x, y = xy[..., 0], xy[..., 1]
    if isinstance(surface, S.Quadratic):
        phi = np.radians(surface.angle)
        u = np.cos(phi) * x + np.sin(phi) * y          # coordinate along the flat eigenvector
        v = -np.sin(phi) * x + np.cos(phi) * y         # along the steep one
        return 0.5 * (u**2 / surface.condition + v**2)
    if isinstance(surface, S.Rosenbrock):
        return (surface.a - x) ** 2 + surface.b * (y - x**2) ** 2
    if isinstance(surface, S.Saddle):
        return x**2 - y**2 + y**4 / 4 + 1
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def central_difference(f, p, h=1e-6):
    g = np.zeros(2)
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        g[i] = (f(p + e) - f(p - e)) / (2 * h)
    return g


def point_in_view(surface, u, v):
    (x0, x1), (y0, y1) = surface.xlim, surface.ylim
    return np.array([x0 + u * (x1 - x0), y0 + v * (y1 - y0)])


unit = st.floats(0.0, 1.0)


@pytest.mark.parametrize("surface", SURFACES, ids=IDS)
@settings(max_examples=30, deadline=None)
@given(u=unit, v=unit)
def test_gradient_matches_central_differences(surface, u, v):
    p = point_in_view(surface, u, v)
    fd = central_difference(surface.f, p)
    scale = 1.0 + abs(float(surface.f(p)))             # FD rounding error grows with |f|
    np.testing.assert_allclose(surface.grad(p), fd, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("surface", SURFACES, ids=IDS)
def test_value_and_gradient_match_torch_autograd(surface, rng):
    pts = np.stack([point_in_view(surface, *rng.uniform(size=2)) for _ in range(50)])
    t = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
    value = torch_f(surface, t)
    value.sum().backward()
    np.testing.assert_allclose(surface.f(pts), value.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(surface.grad(pts), t.grad.numpy(), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize(("surface", "minima"), [
    (S.Rosenbrock(), [[1.0, 1.0]]),
    (S.Rosenbrock(a=0.5, b=10), [[0.5, 0.25]]),
    (S.Beale(), [[3.0, 0.5]]),
    (S.Saddle(), [[0.0, -np.sqrt(2)], [0.0, np.sqrt(2)]]),
    (S.Quadratic(condition=50, angle=30), [[0.0, 0.0]]),
], ids=["rosenbrock", "rosenbrock(0.5,10)", "beale", "saddle", "quadratic"])
def test_known_minima_have_zero_value_and_zero_gradient(surface, minima):
    np.testing.assert_allclose(surface.minima, minima, atol=1e-15)
    np.testing.assert_allclose(surface.f(surface.minima), 0.0, atol=1e-14)
    np.testing.assert_allclose(surface.grad(surface.minima), 0.0, atol=1e-13)
    assert surface.min_value == 0.0


@pytest.mark.parametrize("surface", SURFACES, ids=IDS)
def test_no_point_of_the_view_box_lies_below_the_minimum(surface):
    gx, gy = np.meshgrid(np.linspace(*surface.xlim, 301), np.linspace(*surface.ylim, 301))
    z = surface.f(np.stack([gx, gy], axis=-1))
    assert z.min() >= surface.min_value - 1e-12
    # and the default start lies inside the view box, above the minimum
    (x0, x1), (y0, y1) = surface.xlim, surface.ylim
    assert x0 <= surface.start[0] <= x1 and y0 <= surface.start[1] <= y1
    assert surface.f(np.array(surface.start)) > surface.min_value + 1e-3


def test_saddle_point_has_curvatures_plus_and_minus_two():
    s = S.Saddle()
    np.testing.assert_allclose(s.saddles, [[0.0, 0.0]])
    assert float(s.f(s.saddles[0])) == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(s.grad(s.saddles[0]), 0.0, atol=1e-15)
    h = 1e-5
    H = np.stack([(s.grad(np.eye(2)[i] * h) - s.grad(-np.eye(2)[i] * h)) / (2 * h) for i in range(2)])
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh((H + H.T) / 2)), [-2.0, 2.0], atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(condition=st.floats(1.0, 1e4), angle=st.floats(-180, 180))
def test_quadratic_has_curvatures_one_over_kappa_and_one_along_the_turned_axes(condition, angle):
    q = S.Quadratic(condition=condition, angle=angle)
    A = q.matrix
    np.testing.assert_allclose(A, A.T, atol=1e-15)
    np.testing.assert_allclose(np.linalg.eigvalsh(A), [1 / condition, 1.0], rtol=1e-9, atol=1e-14)
    flat = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    np.testing.assert_allclose(A @ flat, flat / condition, atol=1e-12)          # the flat direction
    theta = np.array([0.3, -1.7])
    np.testing.assert_allclose(q.f(theta), 0.5 * theta @ A @ theta, rtol=1e-12)
    np.testing.assert_allclose(q.grad(theta), A @ theta, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("surface", SURFACES, ids=IDS)
def test_f_and_grad_are_vectorised_over_leading_axes(surface, rng):
    pts = rng.uniform(-1.5, 1.5, size=(4, 5, 2))
    f, g = surface.f(pts), surface.grad(pts)
    assert f.shape == (4, 5) and g.shape == (4, 5, 2)
    for i, j in np.ndindex(4, 5):
        np.testing.assert_allclose(f[i, j], surface.f(pts[i, j]), rtol=1e-14)
        np.testing.assert_allclose(g[i, j], surface.grad(pts[i, j]), rtol=1e-14, atol=1e-15)
    assert surface(pts[0, 0]) == surface.f(pts[0, 0])       # calling the surface is f
    np.testing.assert_allclose(surface.f([[1, 2]]), surface.f(np.array([[1.0, 2.0]])))   # ints are promoted


def test_surfaces_compare_by_parameters_and_are_hashable():
    assert S.Quadratic(10, 30) == S.Quadratic(10.0, 30.0)
    assert S.Quadratic(10, 30) != S.Quadratic(10, 31)
    assert S.Saddle() != S.Beale()
    assert len({S.Rosenbrock(), S.Rosenbrock(), S.Beale()}) == 2
    assert S.make_surface("quadratic", condition=5, angle=10) == S.Quadratic(5, 10)
    assert set(S.SURFACES) == {"quadratic", "rosenbrock", "saddle", "beale"}


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: S.Saddle().f(np.zeros(3)), ValueError, r"shape \(\.\.\., 2\)"),
    (lambda: S.Saddle().grad(np.zeros((4, 3))), ValueError, r"shape \(\.\.\., 2\)"),
    (lambda: S.Beale().f(np.float64(1.0)), ValueError, r"shape \(\.\.\., 2\)"),
    (lambda: S.Beale().f(np.array(["a", "b"])), TypeError, "array of numbers"),
    (lambda: S.Quadratic(condition=0.5), ValueError, "condition"),
    (lambda: S.Quadratic(angle=float("nan")), ValueError, "angle"),
    (lambda: S.Rosenbrock(b=0), ValueError, "b must lie in"),
    (lambda: S.make_surface("sphere"), ValueError, "unknown surface 'sphere'"),
    (lambda: S.make_surface("saddle", condition=3), TypeError, "takes the parameters none"),
    (lambda: S.make_surface("quadratic", kappa=3), TypeError, r"\['condition', 'angle'\]"),
])
def test_bad_input_is_refused_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()
