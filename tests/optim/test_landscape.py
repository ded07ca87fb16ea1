"""bp.optim.landscape: the test functions (vs torch autograd), steps_to_tol (vs gradient descent
actually run with bp.optim.SGD), the Hessian from gradients (vs torch), the critical-point
classifier, perturbed gradient descent and the vectorised heavy ball (vs torch.optim.SGD)."""

import math

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.optim import landscape as ls

SADDLE, VALLEY, WELL = ls.QuarticSaddle(), ls.SineValley(), ls.DoubleWell()


def _torch_f(name):
    return {
        "saddle": lambda p: 0.5 * p[0] ** 2 - 0.5 * p[1] ** 2 + 0.25 * p[1] ** 4,
        "valley": lambda p: 0.5 * p[0] ** 2 + 3 * torch.sin(p[1]) ** 2,
    }[name]


@pytest.mark.parametrize(("name", "surface"), [("saddle", SADDLE), ("valley", VALLEY)])
def test_surface_value_and_gradient_match_torch(name, surface):
    rng = np.random.default_rng(0)
    for point in rng.uniform(-2, 2, size=(10, 2)):
        p = torch.tensor(point, requires_grad=True)
        value = _torch_f(name)(p)
        value.backward()
        assert surface(point) == pytest.approx(value.item(), rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(surface.grad(point), p.grad.numpy(), rtol=1e-12, atol=1e-14)
    grid = rng.uniform(-2, 2, size=(4, 5, 2))                                 # (..., 2) → (...)
    assert surface(grid).shape == (4, 5) and surface.grad(grid).shape == (4, 5, 2)


@pytest.mark.parametrize("surface", [SADDLE, VALLEY])
def test_listed_minima_and_saddles_are_critical_points_of_the_right_kind(surface):
    for point in surface.minima:
        np.testing.assert_allclose(surface.grad(point), 0.0, atol=1e-12)
        assert surface(point) == pytest.approx(surface.min_value, abs=1e-12)
        assert ls.classify_critical_point(ls.hessian(surface.grad, point)) == "minimum"
    for point in surface.saddles:
        np.testing.assert_allclose(surface.grad(point), 0.0, atol=1e-12)
        assert ls.classify_critical_point(ls.hessian(surface.grad, point)) == "saddle"
    grid = np.stack(np.meshgrid(np.linspace(*surface.xlim, 41), np.linspace(*surface.ylim, 41)), axis=-1)
    assert surface(grid).min() >= surface.min_value - 1e-12


def test_sine_valley_is_6_smooth():
    ys = np.linspace(-4, 4, 2001)
    lam = [np.abs(np.linalg.eigvalsh(ls.hessian(VALLEY.grad, np.array([0.3, y])))).max() for y in ys[::50]]
    assert max(lam) == pytest.approx(6.0, rel=1e-6)
    # ‖∇f(a) − ∇f(b)‖ <= 6‖a − b‖ on random pairs
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-3, 3, (500, 2)), rng.uniform(-3, 3, (500, 2))
    ratio = np.linalg.norm(VALLEY.grad(a) - VALLEY.grad(b), axis=1) / np.linalg.norm(a - b, axis=1)
    assert ratio.max() <= VALLEY.smoothness


def test_double_well_critical_points_and_basins():
    c = WELL.critical_points
    np.testing.assert_allclose(WELL.grad(c), 0.0, atol=1e-12)
    assert WELL.second(c[0]) > 0 and WELL.second(c[1]) < 0 and WELL.second(c[2]) > 0
    assert WELL.barrier == pytest.approx(c[1])
    assert WELL.global_min == pytest.approx(c[0]) and WELL.f(c[0]) < WELL.f(c[2])   # tilt > 0: left is lower
    assert WELL.local_min == pytest.approx(c[2])
    np.testing.assert_array_equal(WELL.in_global_basin([-2.0, c[1] - 1e-9, c[1] + 1e-9, 2.0]),
                                  [True, True, False, False])
    mirrored = ls.DoubleWell(tilt=-0.5)                         # the right well is the global one
    assert mirrored.global_min == pytest.approx(-WELL.global_min)
    np.testing.assert_array_equal(mirrored.in_global_basin([-2.0, 2.0]), [False, True])
    x = torch.linspace(-2, 2, 9, dtype=torch.float64, requires_grad=True)
    (x**4 - 2 * x**2 + 0.5 * x).sum().backward()
    np.testing.assert_allclose(WELL.grad(x.detach().numpy()), x.grad.numpy(), rtol=1e-12)


def test_double_well_rejects_a_tilt_without_two_wells():
    with pytest.raises(ValueError, match="two wells"):
        ls.DoubleWell(tilt=1.6)


# -- steps_to_tol -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kappa", [2.0, 10.0, 57.0, 300.0])
@pytest.mark.parametrize("tol", [1e-2, 1e-6])
def test_steps_to_tol_is_what_gradient_descent_takes(kappa, tol):
    """Worst case: a start with equal components along both eigenvectors, η = 2/(L + μ)."""
    bowl = bp.optim.surfaces.Quadratic(condition=kappa, angle=20)
    n = ls.steps_to_tol(kappa, tol)
    lr = 2 / (1 + 1 / kappa)                                       # L = 1, μ = 1/κ
    run = bp.widgets.race(bowl, {"GD": ("SGD", {"lr": lr})}, start=(0.6, -0.8), steps=n + 3).runs["GD"]
    err = np.linalg.norm(run.path, axis=1)
    hit = int(np.flatnonzero(err <= tol * err[0] * (1 + 1e-9))[0])
    assert hit == n


def test_steps_to_tol_edges():
    assert ls.steps_to_tol(1.0, 1e-6) == 1           # η = 1/L lands on θ* in one step
    assert ls.steps_to_tol(50.0, 1.0) == 0
    rho = (9 - 1) / (9 + 1)
    assert ls.steps_to_tol(9.0, rho**7) == 7         # an exact power is not rounded up
    assert ls.steps_to_tol(1e6, 1e-6) == pytest.approx(1e6 / 2 * math.log(1e6), rel=1e-4)
    with pytest.raises(ValueError, match="kappa"):
        ls.steps_to_tol(0.5, 1e-3)
    with pytest.raises(ValueError, match="tol"):
        ls.steps_to_tol(10.0, 0.0)


# -- hessian and classify -----------------------------------------------------------------------------

def test_hessian_from_gradients_matches_torch():
    rosen = bp.optim.surfaces.Rosenbrock()
    point = np.array([-0.7, 1.3])
    expected = torch.autograd.functional.hessian(
        lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2, torch.tensor(point)).numpy()
    H = ls.hessian(rosen.grad, point)
    np.testing.assert_allclose(H, expected, rtol=1e-6)
    assert np.array_equal(H, H.T)
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 5))
    A = A + A.T
    np.testing.assert_allclose(ls.hessian(lambda t: A @ t, rng.standard_normal(5)), A, atol=1e-8)


def test_hessian_rejects_bad_input():
    with pytest.raises(TypeError, match="grad"):
        ls.hessian(np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="theta"):
        ls.hessian(lambda t: t, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shaped like theta"):
        ls.hessian(lambda t: np.zeros(3), np.zeros(2))


@pytest.mark.parametrize(("eigenvalues", "kind"), [
    ([1.0, 2.0], "minimum"), ([-1.0, -2.0], "maximum"), ([-1.0, 2.0], "saddle"),
    ([-1.0, -2.0, 3.0], "saddle"), ([0.0, 2.0], "degenerate"), ([0.0, -2.0], "degenerate"),
    ([0.0, -2.0, 1.0], "saddle"), ([0.0, 0.0], "degenerate"), ([3.0], "minimum"),
])
def test_classify_uses_the_signs_of_the_eigenvalues(eigenvalues, kind):
    lam = np.array(eigenvalues)
    Q, _ = np.linalg.qr(np.random.default_rng(len(lam)).standard_normal((lam.size, lam.size)))
    H = Q @ np.diag(lam) @ Q.T
    assert ls.classify_critical_point((H + H.T) / 2) == kind


def test_classify_rejects_non_hessians():
    with pytest.raises(ValueError, match="square"):
        ls.classify_critical_point(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        ls.classify_critical_point(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN"):
        ls.classify_critical_point(np.array([[np.nan]]))


# -- perturbed gradient descent ------------------------------------------------------------------------

def _plain_gd(grad, x0, lr, steps):
    path = [np.array(x0, dtype=float)]
    for _ in range(steps):
        path.append(path[-1] - lr * grad(path[-1]))
    return np.array(path)


def test_perturbed_gd_is_plain_gd_where_the_gradient_is_large():
    start = (1.5, 0.8)
    path = ls.perturbed_gd(SADDLE.grad, start, lr=0.1, steps=15, radius=1e-3, grad_tol=1e-3, seed=0)
    np.testing.assert_array_equal(path, _plain_gd(SADDLE.grad, start, 0.1, 15))


def test_plain_gd_stays_on_an_exact_saddle_perturbed_gd_escapes():
    assert np.all(_plain_gd(SADDLE.grad, (0.0, 0.0), 0.1, 300) == 0.0)
    ends = []
    for seed in range(6):
        path = ls.perturbed_gd(SADDLE.grad, (0.0, 0.0), lr=0.1, steps=300, radius=1e-3, grad_tol=1e-3,
                               seed=seed)
        assert path.shape == (301, 2)
        dist = np.linalg.norm(SADDLE.minima - path[-1], axis=1)
        assert dist.min() <= 1e-2
        ends.append(int(np.argmin(dist)))
        plain = path[:-1] - 0.1 * SADDLE.grad(path[:-1])              # each step: GD plus a kick <= r
        assert np.linalg.norm(path[1:] - plain, axis=1).max() <= 1e-3 * (1 + 0.1 * 3)
    assert set(ends) == {0, 1}                                           # both minima, by the seed's kick
    again = ls.perturbed_gd(SADDLE.grad, (0.0, 0.0), lr=0.1, steps=300, seed=0)
    np.testing.assert_array_equal(again, ls.perturbed_gd(SADDLE.grad, (0.0, 0.0), lr=0.1, steps=300, seed=0))


def test_perturbed_gd_without_a_kick_stays_and_validates():
    path = ls.perturbed_gd(SADDLE.grad, (0.0, 0.0), lr=0.1, steps=50, radius=0.0)
    assert np.all(path == 0.0)
    with pytest.raises(TypeError, match="grad"):
        ls.perturbed_gd("f", (0.0, 0.0), lr=0.1, steps=5)
    with pytest.raises(ValueError, match="lr"):
        ls.perturbed_gd(SADDLE.grad, (0.0, 0.0), lr=0.0, steps=5)
    with pytest.raises(ValueError, match="x0"):
        ls.perturbed_gd(SADDLE.grad, (np.nan, 0.0), lr=0.1, steps=5)


# -- descend: GD, heavy ball, annealed Langevin noise, many starts at once ----------------------------

def test_descend_heavy_ball_matches_torch_sgd_momentum():
    starts = np.linspace(-2, 2, 7)
    ours = ls.descend(WELL.grad, starts, lr=0.01, steps=200, momentum=0.9)
    assert ours.shape == (201, 7)
    p = torch.tensor(starts, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.01, momentum=0.9)
    for t in range(200):
        p.grad = torch.from_numpy(WELL.grad(p.detach().numpy()))
        opt.step()
        np.testing.assert_allclose(ours[t + 1], p.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_descend_without_momentum_or_noise_is_gradient_descent():
    starts = np.array([[-1.5, 0.5], [0.2, 1.9]])
    ours = ls.descend(WELL.grad, starts, lr=0.01, steps=50)
    x = starts.copy()
    for t in range(50):
        x = x - 0.01 * WELL.grad(x)
        np.testing.assert_allclose(ours[t + 1], x, rtol=1e-14)


def test_descend_noise_has_the_langevin_variance_and_cools_to_zero():
    flat = np.zeros_like                                          # ∇f = 0: only the noise moves x
    lr, T = 0.01, 0.3
    path = ls.descend(flat, np.zeros(20_000), lr=lr, steps=10, temperature=T, anneal_steps=5, seed=0)
    first = path[1] - path[0]
    assert np.var(first) == pytest.approx(2 * lr * T, rel=0.05)          # √(2ηT) ξ at t = 0
    second = path[2] - path[1]
    assert np.var(second) == pytest.approx(2 * lr * T * (1 - 1 / 5), rel=0.05)
    np.testing.assert_array_equal(path[6:], np.broadcast_to(path[5], path[6:].shape))   # cooled: T = 0


def test_descend_validates():
    with pytest.raises(ValueError, match="momentum"):
        ls.descend(WELL.grad, [0.5], lr=0.01, steps=5, momentum=1.0)
    with pytest.raises(ValueError, match="temperature"):
        ls.descend(WELL.grad, [0.5], lr=0.01, steps=5, temperature=-1.0)
