"""The NTK chapter's claims, measured: wide networks train like their linearisation, narrow
ones do not; kernels converge and freeze as width grows; modes decay at ηλ/n."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.ntk import experiments as ex
from tests._oracles import sgd_mse_outputs


def _linearised_vs_trained(width, seed, steps=60, lr=1.0):
    x, y = ex.circle_data(10)
    net = bp.nn.mlp([2, width, 1], activation="relu", parameterization="ntk", seed=seed)
    theta = bp.ntk.empirical(net, x)
    f0 = net(x)[:, 0]
    pred = bp.ntk.linearized_dynamics(theta, None, y, f0, None, lr, np.arange(steps + 1), method="gd")
    actual = sgd_mse_outputs(net, x, y, lr, steps)
    moved = np.max(np.linalg.norm(actual - actual[0], axis=1))
    return np.max(np.linalg.norm(actual - pred.f_train, axis=1)) / moved


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wide_network_trains_like_its_linearisation_narrow_one_does_not(seed):
    """Width 4096: the GD trajectory stays within 1% (of how far the outputs move) of the
    linearised prediction. Width 16 misses by far more: at least 5× the wide error."""
    wide = _linearised_vs_trained(4096, seed)
    narrow = _linearised_vs_trained(16, seed)
    assert wide < 0.01
    assert wide < 0.2 * narrow


@pytest.mark.parametrize("kernel", ["empirical", "analytic"])
def test_predicted_vs_actual(kernel):
    wide = ex.predicted_vs_actual(width=4096, steps=80, kernel=kernel, seed=3)
    narrow = ex.predicted_vs_actual(width=16, steps=80, kernel=kernel, seed=3)
    assert wide.actual_train.shape == wide.predicted_train.shape == (81, 12)
    assert wide.actual_test.shape == wide.predicted_test.shape == (81, 12)
    np.testing.assert_allclose(wide.predicted_train[0], wide.actual_train[0])
    # the infinite-width kernel of a finite network is off by its O(1/√width) fluctuation
    limit = 0.01 if kernel == "empirical" else 0.05
    assert wide.train_error < limit and wide.test_error < limit
    assert wide.train_error < 0.2 * narrow.train_error
    assert wide.test_error < 0.2 * narrow.test_error


def test_kernel_convergence_falls_like_inverse_sqrt_width():
    res = ex.kernel_convergence(widths=(32, 128, 512, 2048), depth=2, n_nets=4, seed=0)
    assert res.distances.shape == (4, 4)
    assert np.all(np.diff(res.mean) < 0)
    assert -0.75 < res.slope < -0.3
    np.testing.assert_allclose(res.analytic, bp.ntk.analytic(ex.circle_data()[0], depth=2).ntk)


def test_kernel_convergence_with_quadrature_activation():
    res = ex.kernel_convergence(widths=(32, 1024), depth=1, activation="tanh", n_nets=3, seed=1)
    assert res.mean[1] < 0.5 * res.mean[0]


def test_kernel_change_during_training_falls_with_width():
    res = ex.kernel_change_during_training(widths=(64, 256, 1024, 4096), steps=50, n_nets=2, seed=0)
    assert np.all(np.diff(res.mean) < 0)
    assert -0.8 < res.slope < -0.3
    assert res.mean[-1] < 0.02
    assert np.all(res.final_loss < 0.5 * np.mean(ex.circle_data()[1] ** 2) / 2)


def test_convergence_rate_per_mode_matches_eigenvalue():
    res = ex.convergence_vs_eigenvalue(width=4096, steps=150, seed=0)
    n = res.eigenvalues.size
    assert res.residual_modes.shape == (151, n)
    np.testing.assert_allclose(res.flow_rate, res.eigenvalues / n)
    r0 = np.abs(res.residual_modes[0])
    strong = (r0 > 0.05 * r0.max()) & (res.eigenvalues > 1e-3 * res.eigenvalues[0])
    assert strong.sum() >= 4
    np.testing.assert_allclose(res.measured_rate[strong], res.predicted_rate[strong], rtol=0.05)


def test_unstable_learning_rate_is_refused():
    with pytest.raises(ValueError, match="diverge.*Use lr <"):
        ex.predicted_vs_actual(width=64, lr=100.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive integer"):
        ex.kernel_convergence(widths=(0, 10))
    with pytest.raises(ValueError, match="y is required"):
        ex.kernel_change_during_training(x=np.ones((3, 2)))
    with pytest.raises(ValueError, match="unknown kernel"):
        ex.predicted_vs_actual(kernel="ntk")
    with pytest.raises(ValueError, match="one target per row"):
        ex.convergence_vs_eigenvalue(x=np.ones((3, 2)), y=np.ones(4))
