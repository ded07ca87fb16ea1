"""bp.train.flat_gradient and bp.train.gradient_noise.

Oracles: PyTorch autograd for the flat gradient; for the noise, closed-form per-sample gradients
of a linear model (replaying the same random draws) and the sampling-without-replacement formula
E‖ĝ_B − g‖² = (tr Σ / B)(N − B)/(N − 1).
"""

import numpy as np
import pytest

import backprop_lib as bp


def linear_problem(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = x @ rng.normal(size=(d, 1)) + 0.5 * rng.normal(size=(n, 1))
    net = bp.nn.Sequential(bp.nn.Linear(d, 1, seed=seed))
    return net, bp.nn.MSELoss(), x, y


def per_sample_gradients(net, x, y):
    """∇ℓ_i for ℓ_i = (w·x_i + b − y_i)²: 2 r_i [x_i, 1] (weight entries, then the bias)."""
    lin = net[0]
    r = x @ lin.weight.data.T + lin.bias.data - y                     # (n, 1)
    return 2 * r * np.hstack([x, np.ones((len(x), 1))])               # (n, d + 1)


def test_flat_gradient_matches_torch_autograd():
    torch = bp.interop.import_torch()
    x, y = bp.data.moons(n=64, noise=0.2, seed=1)
    net = bp.nn.mlp([2, 8, 8, 2], activation="tanh", seed=3)
    g = bp.train.flat_gradient(net, bp.nn.CrossEntropyLoss(), x, y)
    tnet = bp.interop.to_torch(net)
    loss = torch.nn.functional.cross_entropy(tnet(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    expected = np.concatenate([p.grad.numpy().ravel() for p in tnet.parameters()])
    assert g.shape == (sum(p.size for p in net.parameters()),)
    np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-13)


def test_flat_gradient_is_the_mean_of_per_sample_gradients():
    net, loss_fn, x, y = linear_problem()
    g = bp.train.flat_gradient(net, loss_fn, x, y)
    np.testing.assert_allclose(g, per_sample_gradients(net, x, y).mean(axis=0), rtol=1e-12, atol=1e-14)


def test_variance_replays_the_same_draws_exactly():
    net, loss_fn, x, y = linear_problem()
    sizes = [1, 3, 10]
    noise = bp.train.gradient_noise(net, loss_fn, (x, y), batch_sizes=sizes, draws=50, seed=5)
    per = per_sample_gradients(net, x, y)
    g = per.mean(axis=0)
    rng = np.random.default_rng(5)
    expected = []
    for b in sizes:
        batches = [rng.choice(len(x), size=b, replace=False) for _ in range(50)]
        expected.append(np.mean([np.sum((per[idx].mean(axis=0) - g) ** 2) for idx in batches]))
    np.testing.assert_allclose(noise.variance, expected, rtol=1e-10)
    np.testing.assert_allclose(noise.full_gradient, g, rtol=1e-12)
    assert noise.n == len(x) and noise.draws == 50
    np.testing.assert_array_equal(noise.batch_sizes, sizes)


def test_variance_follows_the_without_replacement_formula():
    net, loss_fn, x, y = linear_problem(n=30)
    per = per_sample_gradients(net, x, y)
    trace = np.sum(per.var(axis=0, ddof=1))                            # tr Σ (unbiased covariance)
    sizes = np.array([1, 2, 5, 15, 29])
    formula = trace / sizes * (len(x) - sizes) / len(x)               # (N − B)/(N B) · tr Σ_ddof1
    noise = bp.train.gradient_noise(net, loss_fn, (x, y), batch_sizes=sizes, draws=3000, seed=0)
    np.testing.assert_allclose(noise.variance, formula, rtol=0.12)


def test_full_batch_has_no_noise_and_single_samples_the_most():
    """Without replacement a batch of all N samples *is* the full batch: variance 0. Sampling with
    replacement would leave (tr Σ)(N − 1)/N² of it."""
    net, loss_fn, x, y = linear_problem(n=20)
    noise = bp.train.gradient_noise(net, loss_fn, (x, y), batch_sizes=[1, 20], draws=200, seed=0)
    assert noise.variance[1] < 1e-24 * noise.variance[0]
    assert noise.variance[0] > 0


def test_parameters_are_not_changed():
    net, loss_fn, x, y = linear_problem()
    before = [p.data.copy() for p in net.parameters()]
    bp.train.gradient_noise(net, loss_fn, (x, y), batch_sizes=[2, 4], draws=20)
    for p, b in zip(net.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)


def test_slope_and_prediction_on_exact_one_over_b():
    b = np.array([1, 4, 16, 64])
    n = 1000
    variance = 3.0 / b * (n - b) / (n - 1)
    noise = bp.train.GradientNoise(batch_sizes=b, variance=variance, full_gradient=np.zeros(2), draws=1, n=n)
    np.testing.assert_allclose(noise.predicted(), variance, rtol=1e-12)
    pure = bp.train.GradientNoise(b, 5.0 / b, np.zeros(2), draws=1, n=10**9)
    assert pure.slope() == pytest.approx(-1.0, abs=1e-9)
    assert bp.train.GradientNoise(b, 1.0 / b**2, np.zeros(2), 1, n).slope() == pytest.approx(-2.0, abs=1e-9)


def test_mlp_noise_slope_is_minus_one():
    x, y = bp.data.moons(n=4000, noise=0.2, seed=0)
    net = bp.nn.mlp([2, 8, 2], activation="tanh", seed=0)
    noise = bp.train.gradient_noise(net, bp.nn.CrossEntropyLoss(), (x, y), batch_sizes=[1, 4, 16, 64],
                                    draws=200, seed=1)
    assert noise.slope() == pytest.approx(-1.0, abs=0.1)


@pytest.mark.parametrize(("sizes", "match"), [([0, 2], "between 1"), ([5, 41], "N = 40"), ([1.5], "integers"),
                                              ([], "non-empty")])
def test_bad_batch_sizes_are_named(sizes, match):
    net, loss_fn, x, y = linear_problem()
    with pytest.raises(ValueError, match="batch_sizes") as err:
        bp.train.gradient_noise(net, loss_fn, (x, y), batch_sizes=sizes)
    assert match in str(err.value)


def test_bad_draws_and_model():
    net, loss_fn, x, y = linear_problem()
    with pytest.raises(ValueError, match="draws"):
        bp.train.gradient_noise(net, loss_fn, (x, y), batch_sizes=[1], draws=0)
    with pytest.raises(TypeError, match="model"):
        bp.train.gradient_noise(lambda v: v, loss_fn, (x, y), batch_sizes=[1])
    one = bp.train.GradientNoise(np.array([4]), np.array([1.0]), np.zeros(1), 1, 10)
    with pytest.raises(ValueError, match="at least 2 batch sizes"):
        one.slope()
