"""bp.train.random_features: features against a torch forward pass, the min-norm fit against
pinv / torch's lstsq and against gradient descent run by torch.optim.SGD, the GD limit from
θ₀ ≠ 0, ridge against scikit-learn and its normal equations, and the cached SVD path of the
double-descent sweep against the direct fits."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.train.random_features import (
    RandomFeatureProblem,
    RandomReLUFeatures,
    double_descent,
    gd_limit,
    min_norm_fit,
    p_grid,
    ridge_fit,
)

torch = pytest.importorskip("torch")


def underdetermined(n=20, d=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=n)


def torch_gd(x, y, theta0, steps=3000):
    """Full-batch gradient descent on ½‖Xθ − y‖²/n with torch.optim.SGD, step 1/L."""
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    theta = torch.tensor(theta0, requires_grad=True)
    lr = len(y) / np.linalg.eigvalsh(x.T @ x).max()          # 1/L, L = λ_max(XᵀX)/n
    opt = torch.optim.SGD([theta], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * ((xt @ theta - yt) ** 2).mean()).backward()
        opt.step()
    return theta.detach().numpy()


# -- features ----------------------------------------------------------------------------------

def test_features_are_relu_of_f_transpose_x_as_torch_computes_it():
    feats = RandomReLUFeatures(7, 30, seed=1)
    x = np.random.default_rng(2).normal(size=(5, 7))
    expected = torch.relu(torch.from_numpy(x) @ torch.from_numpy(feats.F)).numpy()
    np.testing.assert_allclose(feats(x), expected, rtol=1e-14, atol=0)
    assert feats(x).shape == (5, 30) and (feats(x) == 0).any()


def test_feature_weights_have_variance_one_over_d_and_preactivations_variance_one():
    feats = RandomReLUFeatures(20, 5000, seed=0)
    assert feats.F.var() == pytest.approx(1 / 20, rel=0.03)
    z = np.random.default_rng(1).normal(size=(400, 20)) @ feats.F
    assert z.var() == pytest.approx(1.0, rel=0.05)
    np.testing.assert_array_equal(RandomReLUFeatures(20, 50, seed=3).F, RandomReLUFeatures(20, 50, seed=3).F)


def test_features_refuse_the_wrong_input_width():
    with pytest.raises(ValueError, match=r"expected shape \(batch, 4\)"):
        RandomReLUFeatures(4, 10, seed=0)(np.ones((3, 5)))


# -- minimum norm and gradient descent ----------------------------------------------------------

def test_min_norm_fit_is_pinv_and_torch_lstsq():
    x, y = underdetermined()
    theta = min_norm_fit(x, y)
    np.testing.assert_allclose(theta, np.linalg.pinv(x) @ y, rtol=1e-10, atol=1e-12)
    ref = torch.linalg.lstsq(torch.from_numpy(x), torch.from_numpy(y)[:, None], driver="gelsd").solution
    np.testing.assert_allclose(theta, ref.numpy().ravel(), rtol=1e-10, atol=1e-12)


def test_min_norm_fit_interpolates_lies_in_the_row_space_and_beats_every_other_interpolator():
    x, y = underdetermined()
    theta = min_norm_fit(x, y)
    np.testing.assert_allclose(x @ theta, y, atol=1e-10)
    coef = np.linalg.lstsq(x.T, theta, rcond=None)[0]            # θ = Xᵀa for some a
    np.testing.assert_allclose(x.T @ coef, theta, atol=1e-12)
    null = np.linalg.svd(x)[2][len(y):]                          # an orthonormal basis of null(X)
    for v in np.random.default_rng(1).normal(size=(5, null.shape[0])) @ null:
        other = theta + v
        np.testing.assert_allclose(x @ other, y, atol=1e-10)     # also interpolates …
        assert np.linalg.norm(other) > np.linalg.norm(theta)     # … with a larger norm


def test_gradient_descent_from_zero_converges_to_the_min_norm_solution():
    x, y = underdetermined()
    theta = torch_gd(x, y, np.zeros(x.shape[1]))
    assert np.max(np.abs(theta - min_norm_fit(x, y))) <= 1e-8


def test_gradient_descent_from_theta0_keeps_its_null_space_part():
    x, y = underdetermined()
    theta0 = np.random.default_rng(5).normal(size=x.shape[1])
    limit = gd_limit(x, y, theta0)
    assert np.max(np.abs(torch_gd(x, y, theta0) - limit)) <= 1e-8
    assert np.linalg.norm(limit - min_norm_fit(x, y)) > 1.0     # not the min-norm solution
    p_row = np.linalg.pinv(x) @ x                                # X⁺X projects onto the row space
    np.testing.assert_allclose(limit - p_row @ limit, theta0 - p_row @ theta0, atol=1e-12)
    np.testing.assert_allclose(gd_limit(x, y), min_norm_fit(x, y), atol=1e-14)


def test_gd_limit_refuses_a_theta0_of_the_wrong_size():
    x, y = underdetermined()
    with pytest.raises(ValueError, match="theta0 has shape"):
        gd_limit(x, y, np.zeros(3))
    with pytest.raises(ValueError, match="y has 19 entries"):
        min_norm_fit(x, y[:-1])


# -- ridge --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("n", "p"), [(30, 10), (10, 30), (15, 15)])
@pytest.mark.parametrize("lam", [1e-3, 1.0, 50.0])
def test_ridge_solves_its_normal_equations_and_matches_scikit_learn(n, p, lam):
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(n + p)
    phi, y = rng.normal(size=(n, p)), rng.normal(size=n)
    theta = ridge_fit(phi, y, lam)
    np.testing.assert_allclose(phi.T @ (phi @ theta - y) + lam * theta, 0, atol=1e-10)   # ∇ = 0
    ref = linear_model.Ridge(alpha=lam, fit_intercept=False, solver="svd").fit(phi, y).coef_
    np.testing.assert_allclose(theta, ref, rtol=1e-8, atol=1e-10)


def test_ridge_tends_to_the_min_norm_fit_as_lambda_goes_to_zero():
    x, y = underdetermined()
    gaps = [np.linalg.norm(ridge_fit(x, y, lam) - min_norm_fit(x, y)) for lam in (1e-2, 1e-4, 1e-6)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-5
    np.testing.assert_array_equal(ridge_fit(x, y, 0.0), min_norm_fit(x, y))
    with pytest.raises(ValueError, match="lam"):
        ridge_fit(x, y, -1.0)


# -- the sweep ----------------------------------------------------------------------------------

def test_p_grid_is_log_spaced_and_contains_n():
    grid = p_grid(137, 2000)
    assert grid[0] == 1 and grid[-1] == 2000 and 137 in grid
    assert np.all(np.diff(grid) > 0)


@pytest.mark.parametrize("lam", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("p", [10, 39, 40, 41, 200])
def test_the_cached_svd_fit_is_the_direct_fit(p, lam):
    prob = RandomFeatureProblem(40, 8, 200, seed=3, n_test=50)
    y, y_test = prob.targets(0.3)
    direct = ridge_fit(prob.phi[:, :p], y, lam)
    np.testing.assert_allclose(prob.fit(p, 0.3, lam), direct, rtol=1e-7, atol=1e-9)
    row = prob.sweep([p], noise=0.3, lam=lam).at(p)
    train = np.mean((prob.phi[:, :p] @ direct - y) ** 2)
    test = np.mean((prob.phi_test[:, :p] @ direct - y_test) ** 2)
    assert row["train_error"] == pytest.approx(train, rel=1e-6, abs=1e-18)
    assert row["test_error"] == pytest.approx(test, rel=1e-6)
    assert row["theta_norm"] == pytest.approx(np.linalg.norm(direct), rel=1e-7)
    s = np.linalg.svd(prob.phi[:, :p], compute_uv=False)
    assert row["smallest_singular"] == pytest.approx(s[min(40, p) - 1], rel=1e-8)


def test_problem_data_is_a_noisy_linear_teacher_with_unit_signal():
    prob = RandomFeatureProblem(100, 20, 50, seed=0, n_test=20000)
    assert np.linalg.norm(prob.beta) == pytest.approx(1.0)
    y0, yt0 = prob.targets(0.0)
    np.testing.assert_allclose(y0, prob.x @ prob.beta)
    y, yt = prob.targets(0.3)
    assert np.var(yt - yt0) == pytest.approx(0.09, rel=0.05) and np.var(yt0) == pytest.approx(1.0, rel=0.05)


def test_double_descent_peaks_at_p_equals_n_where_theta_and_the_conditioning_blow_up():
    r = double_descent(n=100, d=20, noise=0.3, seed=0)
    i = int(np.flatnonzero(r.p == 100)[0])
    assert r.peak_p == 100
    assert np.argmax(r.theta_norm) == i and np.argmin(r.smallest_singular) == i
    assert np.all(r.train_error[r.p >= 100] < 1e-18) and np.all(r.train_error[r.p < 100] > 1e-3)
    assert r.test_error[i] >= 10 * r.test_error[-1]              # far past the peak: lower again
    ridge = double_descent(n=100, d=20, noise=0.3, lam=1.0, seed=0)
    assert ridge.at(100)["test_error"] <= 2.5 * ridge.test_error.min() and ridge.peak_p != 100


@pytest.mark.parametrize("d", [5, 20, 40])
def test_the_peak_follows_n_not_d(d):
    assert double_descent(p_grid(50, 1000), n=50, d=d, seed=0).peak_p == 50


def test_sweep_errors_are_clear():
    prob = RandomFeatureProblem(10, 3, 20, seed=0, n_test=5)
    with pytest.raises(ValueError, match="exceeds p_max=20"):
        prob.sweep([30])
    with pytest.raises(TypeError, match="seed must be an int"):
        double_descent(seed=None)
    with pytest.raises(ValueError, match="not among the swept"):
        prob.sweep([5, 10]).at(7)
    with pytest.raises(ValueError, match="noise"):
        prob.targets(-0.1)


def test_exported_from_bp_train():
    assert bp.train.double_descent is double_descent and bp.train.min_norm_fit is min_norm_fit
