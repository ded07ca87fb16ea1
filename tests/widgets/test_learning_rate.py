"""LearningRateExplorer: the measured regime against lr·L theory on the quadratic, gradient descent
against its closed form, the MLP's sharpness against full Hessians (torch autograd and finite
differences), divergence as a message, set() redraws, bad settings refused."""

import warnings

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.widgets.learning_rate import (
    MLP_POINTS,
    LearningRateSettings,
    _mlp_problem,
    compute_learning_rate,
    mlp_sharpness,
)


def run(**changes):
    return compute_learning_rate(LearningRateSettings(**changes))


# -- the quadratic ------------------------------------------------------------------------------
@pytest.mark.parametrize("L", [0.5, 4.0, 50.0])
@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0])
@pytest.mark.parametrize(("factor", "expected"), [
    (0.95, "converges"), (1.05, "oscillates"),      # just below / above 1/L
    (1.95, "oscillates"), (2.05, "diverges"),       # just below / above 2/L
])
def test_measured_regime_matches_theory_around_1_over_L_and_2_over_L(L, kappa, factor, expected):
    r = run(curvature=L, condition=kappa, lr=factor / L, steps=60)
    assert r.regime == expected and r.predicted == expected
    assert (r.message is not None) == (expected == "diverges")


def test_gradient_descent_on_the_quadratic_follows_its_closed_form():
    L, kappa, lr, steps = 3.0, 7.0, 0.55, 40
    r = run(curvature=L, condition=kappa, lr=lr, steps=steps)
    t = np.arange(steps + 1)
    mu = L / kappa
    # θ_t = (1 − ηλ)^t θ_0 along each eigenvector, from θ_0 = (1, 1)
    np.testing.assert_allclose(r.path[:, 0], (1 - lr * L) ** t, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(r.path[:, 1], (1 - lr * mu) ** t, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(r.loss, 0.5 * (L * r.path[:, 0] ** 2 + mu * r.path[:, 1] ** 2), rtol=1e-12)
    assert r.L == L and r.threshold == pytest.approx(2 / L) and r.mu == pytest.approx(mu)


def test_oscillation_is_seen_in_the_iterates_and_not_in_the_loss():
    r = run(curvature=1.0, condition=1.0, lr=1.5, steps=30)
    assert r.regime == "oscillates"
    assert np.all(r.path[:-1, 0] * r.path[1:, 0] < 0)          # x flips sign every step
    assert np.all(np.diff(r.loss) < 0)                          # while the loss still falls


def test_loss_decreases_for_a_small_learning_rate():
    r = run(curvature=2.0, lr=0.05, steps=100)
    assert r.regime == "converges" and r.message is None
    assert np.all(np.diff(r.loss) < 0) and r.loss[-1] < 0.5 * r.loss[0]
    m = run(problem="mlp", lr=0.5 / mlp_sharpness(0).value, steps=150)
    assert m.regime == "converges" and m.message is None
    assert np.all(np.diff(m.loss) <= 0) and m.loss[-1] < 0.1 * m.loss[0]


@pytest.mark.parametrize("changes", [
    dict(curvature=10.0, lr=50.0, steps=200),          # overflows (×499 per step)
    dict(curvature=1.0, lr=2.2, steps=20),             # grows, stays finite
    dict(problem="mlp", lr=100.0, steps=200),
    dict(problem="mlp", lr=3.0, steps=150),
])
def test_diverging_lr_is_a_message_not_an_exception_or_warning(changes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # a RuntimeWarning would fail the test
        ex = bp.widgets.LearningRateExplorer(**changes)
        r = ex.result
    assert ex.error is None and r.regime == "diverges"
    assert r.message.startswith("Diverges") and "2/L" in r.message
    assert ex._message.get_visible() and ex._message.get_text() == r.message
    assert np.all(np.isfinite(r.loss))
    if r.diverged_at is not None:                       # the run stopped where the loss overflowed
        assert len(r.loss) == r.diverged_at < r.settings.steps + 1
        assert f"step {r.diverged_at}" in " ".join(r.message.split())


def test_mlp_regime_is_measured_not_predicted():
    # above 2/L at init the MLP's sharpness drops while it trains, and it does not diverge:
    # the explorer reports what happened and says what a quadratic would have done
    L = mlp_sharpness(0).value
    ex = bp.widgets.LearningRateExplorer(problem="mlp", lr=2.1 / L, steps=100)
    r = ex.result
    assert r.predicted == "diverges" and r.regime != "diverges" and r.message is None
    assert "although" in ex.ax_loss.get_title()


# -- sharpness: power iteration on finite-difference Hessian-vector products ----------------------
def _torch_loss(theta, x, y):
    """The 1-16-1 tanh MLP and its MSE loss written in torch, from the same flat θ layout
    (W1 (16,1), b1, W2 (1,16), b2), as bp's parameters() list them."""
    w1, b1, w2, b2 = theta[:16].reshape(16, 1), theta[16:32], theta[32:48].reshape(1, 16), theta[48:49]
    out = torch.tanh(x @ w1.T + b1) @ w2.T + b2
    return ((out - y) ** 2).mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mlp_sharpness_matches_the_top_eigenvalue_of_full_hessians(seed):
    net, x, y, _, theta0, loss_and_grad = _mlp_problem(seed)
    assert [p.shape for p in net.parameters()] == [(16, 1), (16,), (1, 16), (1,)]
    assert x.shape == (MLP_POINTS, 1)
    est = mlp_sharpness(seed)
    # torch autograd's exact Hessian of the same loss
    tx, ty = torch.tensor(x), torch.tensor(y)
    h_torch = torch.autograd.functional.hessian(lambda t: _torch_loss(t, tx, ty), torch.tensor(theta0))
    h_torch = h_torch.numpy()
    lam_torch = np.linalg.eigvalsh(h_torch)[-1]
    # a finite-difference Hessian, column by column from bp's gradients
    n, eps = theta0.size, 1e-5
    h_fd = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = eps
        h_fd[:, i] = (loss_and_grad(theta0 + e)[1] - loss_and_grad(theta0 - e)[1]) / (2 * eps)
    lam_fd = np.linalg.eigvalsh((h_fd + h_fd.T) / 2)[-1]
    assert lam_fd == pytest.approx(lam_torch, rel=1e-6)
    assert est.converged and est.value == pytest.approx(lam_torch, rel=1e-4)
    # its vector is the top eigenvector (up to sign)
    assert abs(est.vector @ np.linalg.eigh(h_torch)[1][:, -1]) == pytest.approx(1.0, abs=1e-3)


# -- the view ---------------------------------------------------------------------------------------
def test_set_changes_the_figure():
    ex = bp.widgets.LearningRateExplorer()
    before = ex.render_png()
    ex.set(lr=1.5)
    assert ex.render_png() != before
    np.testing.assert_allclose(ex.mark_lr.get_xdata(), [1.5])
    np.testing.assert_allclose(ex.line_2L.get_xdata(), [2.0, 2.0])
    np.testing.assert_allclose(ex.line_path.get_xdata(), ex.result.path[:, 0])
    assert "oscillates" in ex.ax_loss.get_title()
    before = ex.render_png()
    ex.set(problem="mlp", lr=0.05)
    assert ex.render_png() != before
    assert len(ex.dots.get_xdata()) == MLP_POINTS and len(ex.line_path.get_xdata()) == 0
    np.testing.assert_allclose(ex.line_2L.get_xdata()[0], 2 / mlp_sharpness(0).value)


def test_quadratic_only_controls_are_disabled_for_the_mlp():
    ex = bp.widgets.LearningRateExplorer()
    ex.show()
    assert not ex._widgets["curvature"].disabled and ex._widgets["seed"].disabled
    ex._widgets["problem"].value = "mlp"
    assert ex.settings.problem == "mlp"
    assert ex._widgets["curvature"].disabled and ex._widgets["condition"].disabled
    assert not ex._widgets["seed"].disabled


@pytest.mark.parametrize(("changes", "match"), [
    ({"problem": "cubic"}, "unknown problem 'cubic'"),
    ({"lr": 0.0}, r"lr \(the learning rate\) must lie in \[0.0001, 100.0\]"),
    ({"lr": 1e3}, r"lr \(the learning rate\) must lie in"),
    ({"steps": 0}, "steps must be an integer from 1 to 200"),
    ({"curvature": 0.0}, "curvature L must lie in"),
    ({"condition": 0.5}, r"condition \(κ = L/μ\) must lie in \[1.0, 1000.0\]"),
    ({"seed": -1}, "seed must be an integer"),
    ({"depth": 3}, "unknown setting"),
])
def test_bad_settings_are_refused_from_code(changes, match):
    ex = bp.widgets.LearningRateExplorer()
    with pytest.raises(ValueError, match=match):
        ex.set(**changes)


def test_non_integer_steps_are_a_type_error():
    with pytest.raises(TypeError, match="steps must be an integer"):
        LearningRateSettings(steps=2.5)


def test_bad_settings_from_a_control_become_a_message_not_a_traceback():
    ex = bp.widgets.LearningRateExplorer()
    ex.show()
    ex._on_control("lr", {"new": 0.0})
    assert ex._message.get_visible() and "lr (the learning rate) must lie in" in ex._message.get_text()


def test_presentation_theme_makes_a_bigger_figure():
    small = bp.widgets.LearningRateExplorer().fig.get_size_inches()
    big = bp.widgets.LearningRateExplorer(theme="presentation").fig.get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]
