"""backprop_lib/optim/second_order.py: exact Hessian-vector products (vs torch double backward and
central differences), Gauss–Newton, the L-BFGS two-loop recursion and wrapper, hypergradients."""

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.optim import second_order as so
from backprop_lib.optim.curvature import hessian_vector_product


def torch_loss(model, theta, x, y):
    a = torch.as_tensor(x)
    layers = model.unflatten(theta)
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}[model.activation]
    for W, b in layers[:-1]:
        a = act(a @ W.T + b)
    W, b = layers[-1]
    r = a @ W.T + b - torch.as_tensor(y)
    return (r * r).sum() / (2 * len(x))


def problem(activation="tanh", sizes=(2, 5, 2), seed=0):
    model, theta = so.FlatMLP.from_net(bp.nn.mlp(list(sizes), activation=activation, seed=seed))
    rng = np.random.default_rng(seed + 10)
    x, y = rng.normal(size=(11, sizes[0])), rng.normal(size=(11, sizes[-1]))
    return model, theta, x, y


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_hvp_matches_torch_double_backward_and_finite_differences(activation):
    model, theta, x, y = problem(activation)
    grad = lambda t: model.grad(t, x, y)                                     # noqa: E731
    v = np.random.default_rng(1).normal(size=theta.size)
    hv = so.hvp(grad, theta, v)
    _, hv_torch = torch.autograd.functional.hvp(lambda t: torch_loss(model, t, x, y), torch.tensor(theta),
                                                torch.tensor(v))
    np.testing.assert_allclose(hv, hv_torch.numpy(), rtol=1e-11, atol=1e-14)
    fd = hessian_vector_product(grad, theta, v, eps=1e-4)
    assert np.linalg.norm(hv - fd) / np.linalg.norm(hv) < 1e-6


def test_hessian_from_hvps_is_torchs_hessian_and_symmetric():
    model, theta, x, y = problem()
    H = so.hessian_from_hvps(lambda t: model.grad(t, x, y), theta)
    H_torch = torch.autograd.functional.hessian(lambda t: torch_loss(model, t, x, y), torch.tensor(theta))
    np.testing.assert_allclose(H, H_torch.numpy(), rtol=1e-10, atol=1e-13)
    assert np.max(np.abs(H - H.T)) < 1e-13


def test_hessian_is_gauss_newton_plus_the_residual_term_and_only_g_is_psd():
    model, theta, x, y = problem(sizes=(1, 8, 1), seed=3)
    n = len(x)
    H = so.hessian_from_hvps(lambda t: model.grad(t, x, y), theta)
    J = model.jacobian(theta, x)
    r = model.forward(theta, x) - y
    G = so.gauss_newton_matrix(J)
    S = so.hessian_from_hvps(lambda t: model.vjp(t, x, r / n), theta)        # Σ rᵢ ∇²fᵢ / n, r held fixed
    np.testing.assert_allclose(H, G + S, atol=1e-13)
    lam_G, lam_H = np.linalg.eigvalsh(G), np.linalg.eigvalsh(H)
    assert lam_G.min() >= -1e-12 * lam_G.max()
    assert lam_H.min() < -1e-3 * lam_H.max()                                  # indefinite at init


def test_linear_least_squares_hessian_is_exactly_gauss_newton():
    model = so.FlatMLP((3, 1), "identity")
    rng = np.random.default_rng(4)
    x, y, theta = rng.normal(size=(20, 3)), rng.normal(size=(20, 1)), rng.normal(size=4)
    H = so.hessian_from_hvps(lambda t: model.grad(t, x, y), theta)
    X1 = np.c_[x, np.ones(20)]
    np.testing.assert_allclose(H, X1.T @ X1 / 20, atol=1e-14)
    np.testing.assert_allclose(so.gauss_newton_matrix(model.jacobian(theta, x)), H, atol=1e-14)


def test_hvp_refuses_a_gradient_that_drops_the_tangent():
    with pytest.raises(TypeError, match="lost the tangent"):
        so.hvp(lambda t: np.asarray(t.primal) * 2, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="v must have theta's shape"):
        so.hvp(lambda t: t, np.ones(3), np.ones(2))


def test_gauss_newton_step_interpolates_between_the_solution_and_a_gradient_step():
    rng = np.random.default_rng(5)
    J, r = rng.normal(size=(30, 4)), rng.normal(size=30)
    G, g = J.T @ J / 30, J.T @ r / 30
    np.testing.assert_allclose(so.gauss_newton_step(J, r, 0.3), -np.linalg.solve(G + 0.3 * np.eye(4), g),
                               rtol=1e-12)
    # λ = 0 on a linear residual r(θ) = Jθ − b: one step lands on the least-squares solution
    b = rng.normal(size=30)
    theta0 = rng.normal(size=4)
    step = so.gauss_newton_step(J, J @ theta0 - b, 0.0)
    np.testing.assert_allclose(theta0 + step, np.linalg.lstsq(J, b, rcond=None)[0], rtol=1e-10)
    big = so.gauss_newton_step(J, r, 1e8)
    np.testing.assert_allclose(big, -g / 1e8, rtol=1e-6)                      # λ → ∞: −g/λ
    # fewer residuals than parameters: G is singular, λ = 0 gives the minimum-norm step −J⁺r
    Jw, rw = rng.normal(size=(2, 5)), rng.normal(size=2)
    np.testing.assert_allclose(so.gauss_newton_step(Jw, rw, 0.0), -np.linalg.pinv(Jw) @ rw, rtol=1e-10)


def test_damped_gauss_newton_fits_a_network_and_reports_divergence():
    model, theta = so.FlatMLP.from_net(bp.nn.mlp([1, 8, 1], activation="tanh", seed=2))
    x = np.linspace(-2, 2, 30)[:, None]
    y = np.sin(2 * x)

    def residuals(t):
        return (model.forward(t, x) - y).ravel(), model.jacobian(t, x), len(x)

    trace = so.damped_gauss_newton(residuals, theta, damping=1e-2, steps=20)
    assert trace.loss.shape == (21,) and trace.theta.shape == (21, theta.size) and trace.diverged_at is None
    assert trace.loss[0] == pytest.approx(model.loss(theta, x, y))
    gd = theta.copy()
    for _ in range(20):                                                       # 20 GD steps, η ≈ 1/λ_max
        gd -= 0.3 * model.grad(gd, x, y)
    assert trace.loss[-1] < 0.1 * model.loss(gd, x, y)
    blow = so.damped_gauss_newton(lambda t: (np.exp(50 * t) - 1, 50 * np.exp(50 * t)[:, None], 1),
                                  np.array([-1.0]), damping=0.0, steps=5)
    assert blow.diverged_at == 1 and blow.loss.shape == (1,) and "raise the damping" in blow.message


def _bfgs_inverse(s_hist, y_hist, gamma):
    """H_k from H₀ = γI by the explicit BFGS inverse update, pair by pair."""
    H = gamma * np.eye(len(s_hist[0]))
    for s, y in zip(s_hist, y_hist, strict=True):
        rho = 1 / (y @ s)
        V = np.eye(len(s)) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


def test_two_loop_recursion_applies_the_bfgs_inverse_without_forming_it():
    rng = np.random.default_rng(6)
    Q = rng.normal(size=(6, 6))
    A = Q @ Q.T + 6 * np.eye(6)                                               # SPD: yᵀs > 0 for y = As
    s_hist = [rng.normal(size=6) for _ in range(4)]
    y_hist = [A @ s for s in s_hist]
    g = rng.normal(size=6)
    gamma = s_hist[-1] @ y_hist[-1] / (y_hist[-1] @ y_hist[-1])
    np.testing.assert_allclose(so.two_loop_direction(g, s_hist, y_hist),
                               _bfgs_inverse(s_hist, y_hist, gamma) @ g, rtol=1e-12)
    secant = so.two_loop_direction(y_hist[-1], s_hist, y_hist)                # H_k y = s for the newest pair
    np.testing.assert_allclose(secant, s_hist[-1], rtol=1e-12)
    np.testing.assert_array_equal(so.two_loop_direction(g, [], []), g)


def test_lbfgs_records_every_iterate_and_solves_rosenbrock_in_few_iterations():
    surf = bp.optim.surfaces.Rosenbrock()
    trace = so.lbfgs(surf.f, surf.grad, [-1.2, 1.0])
    assert trace.path.shape == (trace.iterations + 1, 2) and trace.converged
    np.testing.assert_array_equal(trace.path[0], [-1.2, 1.0])
    np.testing.assert_allclose(trace.loss, surf.f(trace.path), rtol=0)
    hit = trace.steps_to(1e-6)
    assert hit is not None and hit <= 100
    np.testing.assert_allclose(trace.path[-1], [1.0, 1.0], atol=1e-4)
    short = so.lbfgs(surf.f, surf.grad, [-1.2, 1.0], maxiter=5)
    assert short.iterations == 5 and not short.converged and short.steps_to(1e-6) is None


def test_hypergradient_is_the_derivative_of_the_loss_after_one_step():
    model, theta, x, y = problem(seed=7)
    loss, grad = (lambda t: model.loss(t, x, y)), (lambda t: model.grad(t, x, y))
    g, lr, h = grad(theta), 0.3, 1e-5
    fd = (loss(theta - (lr + h) * g) - loss(theta - (lr - h) * g)) / (2 * h)
    hyper = so.hypergradient(grad, theta, lr)
    assert hyper == pytest.approx(fd, rel=1e-7)
    eta = torch.tensor(lr, dtype=torch.float64, requires_grad=True)           # backprop through the step
    torch_loss(model, torch.tensor(theta) - eta * torch.tensor(g), x, y).backward()
    assert hyper == pytest.approx(eta.grad.item(), rel=1e-12)
    # on a quadratic the hypergradient vanishes at the exact line-search step η* = gᵀg / gᵀAg
    A = np.diag([1.0, 10.0])
    th = np.array([1.0, 1.0])
    gq = A @ th
    assert so.hypergradient(lambda t: A @ t, th, gq @ gq / (gq @ A @ gq)) == pytest.approx(0, abs=1e-14)


def test_hypergradient_descent_follows_its_update_rule_and_learns_a_larger_rate():
    A = np.diag([1.0, 0.1])
    loss, grad = (lambda t: 0.5 * t @ A @ t), (lambda t: A @ t)
    tr = so.hypergradient_descent(loss, grad, np.array([1.0, 1.0]), lr0=0.1, hyper_lr=0.5, steps=3)
    theta, lr, g_prev, lrs = np.array([1.0, 1.0]), 0.1, None, []               # the rule, by hand
    for _ in range(3):
        g = A @ theta
        lr = lr if g_prev is None else lr + 0.5 * g @ g_prev
        theta, g_prev = theta - lr * g, g
        lrs.append(lr)
    np.testing.assert_allclose(tr.lr, lrs, rtol=1e-14)
    np.testing.assert_allclose(tr.theta, theta, rtol=1e-14)
    long = so.hypergradient_descent(loss, grad, np.array([1.0, 1.0]), lr0=1e-3, hyper_lr=1e-2, steps=300)
    fixed = so.hypergradient_descent(loss, grad, np.array([1.0, 1.0]), lr0=1e-3, hyper_lr=0.0, steps=300)
    assert long.lr[-1] > 10 * 1e-3 and long.loss[-1] < 0.1 * fixed.loss[-1]
    np.testing.assert_array_equal(fixed.lr, 1e-3)
    wild = so.hypergradient_descent(loss, grad, np.array([0.0, 10.0]), lr0=1.0, hyper_lr=1e3, steps=50)
    assert wild.diverged_at is not None and "lower hyper_lr" in wild.message
    assert len(wild.lr) == len(wild.loss) - 1 == wild.diverged_at - 1 and np.all(np.isfinite(wild.loss))
