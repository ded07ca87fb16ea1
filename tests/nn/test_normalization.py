"""BatchNorm1d and LayerNorm against torch.nn (train and eval, several steps) and finite differences."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_lib.nn import BatchNorm1d, LayerNorm, Sequential

RTOL, ATOL = 1e-7, 1e-10


def close(a, b):
    if isinstance(b, torch.Tensor):
        b = b.detach().numpy()
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def numeric_grad(f, x, h=1e-6):
    """Central differences of the scalar function f at x (x is changed and restored in place)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        up = f()
        x[idx] = old - h
        down = f()
        x[idx] = old
        grad[idx] = (up - down) / (2 * h)
    return grad


def paired_batchnorm(c, rng, **kwargs):
    """A BatchNorm1d and a torch.nn.BatchNorm1d with the same random γ and β."""
    ours = BatchNorm1d(c, **kwargs)
    theirs = torch.nn.BatchNorm1d(c, dtype=torch.float64, **kwargs)
    if ours.weight is not None:
        ours.weight.data[:] = rng.normal(size=c)
        ours.bias.data[:] = rng.normal(size=c)
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(ours.weight.data))
            theirs.bias.copy_(torch.from_numpy(ours.bias.data))
    return ours, theirs


def step_both(ours, theirs, x, g):
    """Forward and backward through both; returns (our y, our dx, torch y, torch dx)."""
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.from_numpy(g))
    y = ours(x)
    dx = ours.backward(g)
    return y, dx, yt, xt.grad


# -- BatchNorm1d vs PyTorch --------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {},
    {"momentum": 0.3, "eps": 1e-3},
    {"momentum": None},
    {"affine": False},
    {"track_running_stats": False},
])
def test_batchnorm_matches_torch_over_training_steps_then_eval(kwargs, rng):
    c = 5
    ours, theirs = paired_batchnorm(c, rng, **kwargs)
    for step in range(4):
        n = 6 + step
        x = rng.normal(loc=2.0, scale=3.0, size=(n, c))
        g = rng.normal(size=(n, c))
        y, dx, yt, dxt = step_both(ours, theirs, x, g)
        close(y, yt)
        close(dx, dxt)
        if ours.weight is not None:   # gradients accumulate over the steps, in both libraries
            close(ours.weight.grad, theirs.weight.grad)
            close(ours.bias.grad, theirs.bias.grad)
        if ours.track_running_stats:
            close(ours.running_mean, theirs.running_mean)
            close(ours.running_var, theirs.running_var)
            assert ours.num_batches_tracked == int(theirs.num_batches_tracked) == step + 1
    ours.eval()
    theirs.eval()
    ours.zero_grad()
    theirs.zero_grad()
    x = rng.normal(loc=2.0, scale=3.0, size=(7, c))
    g = rng.normal(size=(7, c))
    y, dx, yt, dxt = step_both(ours, theirs, x, g)
    close(y, yt)
    close(dx, dxt)
    if ours.weight is not None:
        close(ours.weight.grad, theirs.weight.grad)
        close(ours.bias.grad, theirs.bias.grad)
    if ours.track_running_stats:      # eval mode leaves the running statistics alone
        close(ours.running_mean, theirs.running_mean)
        assert ours.num_batches_tracked == 4


def test_batchnorm_running_var_is_unbiased_and_normalization_biased(rng):
    x = rng.normal(size=(4, 3))
    bn = BatchNorm1d(3, momentum=1.0, affine=False)
    y = bn(x)
    close(bn.running_mean, x.mean(axis=0))
    close(bn.running_var, x.var(axis=0, ddof=1))
    close(y, (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5))


def test_batchnorm_eval_output_of_one_example_does_not_depend_on_the_batch(rng):
    bn = BatchNorm1d(4)
    bn(rng.normal(size=(10, 4)))
    bn.eval()
    batch = rng.normal(size=(5, 4))
    close(bn(batch)[:1], bn(batch[:1]))


def test_batchnorm_float32(rng):
    bn = BatchNorm1d(3, dtype=np.float32)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    y = bn(x)
    assert y.dtype == np.float32 and bn.running_mean.dtype == np.float32
    assert bn.backward(np.ones_like(x)).dtype == np.float32
    assert bn.weight.grad.dtype == np.float32


# -- BatchNorm1d vs finite differences ---------------------------------------------

@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients_match_finite_differences(training, rng):
    n, c = 5, 3
    bn = BatchNorm1d(c)
    bn.weight.data[:] = rng.normal(size=c)
    bn.bias.data[:] = rng.normal(size=c)
    bn(rng.normal(size=(8, c)))                       # non-trivial running statistics
    bn.train(training)
    x = rng.normal(size=(n, c))
    g = rng.normal(size=(n, c))                       # L = Σ g · y

    def loss():
        return float(np.sum(g * bn(x)))

    bn(x)
    bn.zero_grad()
    dx = bn.backward(g)
    dw, db = bn.weight.grad.copy(), bn.bias.grad.copy()
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dw, numeric_grad(loss, bn.weight.data), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, numeric_grad(loss, bn.bias.data), rtol=1e-6, atol=1e-8)


def test_batchnorm_parameters_and_buffers():
    bn = BatchNorm1d(4)
    names = [p.name for p in bn.parameters()]
    assert names == ["weight", "bias"]
    assert bn.weight.shape == (4,) and bn.running_var.shape == (4,)
    assert BatchNorm1d(4, affine=False).parameters() == []
    no_stats = BatchNorm1d(4, track_running_stats=False)
    assert no_stats.running_mean is None and no_stats.running_var is None
    assert "momentum=0.1" in repr(bn)


def test_batchnorm_inside_sequential_follows_train_and_eval(rng):
    bn = BatchNorm1d(2)
    net = Sequential(bn)
    net(rng.normal(size=(4, 2)))
    net.eval()
    assert bn.training is False
    before = bn.running_mean.copy()
    net(rng.normal(size=(4, 2)))
    close(bn.running_mean, before)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 9), c=st.integers(1, 6), seed=st.integers(0, 2**31),
       scale=st.floats(0.01, 100.0))
def test_batchnorm_matches_torch_for_random_shapes(n, c, seed, scale):
    rng = np.random.default_rng(seed)
    ours, theirs = paired_batchnorm(c, rng)
    x = rng.normal(scale=scale, size=(n, c))
    g = rng.normal(size=(n, c))
    y, dx, yt, dxt = step_both(ours, theirs, x, g)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(dx, dxt.numpy(), rtol=1e-7, atol=1e-9 / scale)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-7)


# -- BatchNorm1d bad input -----------------------------------------------------------

def test_batchnorm_batch_of_one_in_training_is_refused(rng):
    with pytest.raises(ValueError, match="more than 1 example"):
        BatchNorm1d(3)(rng.normal(size=(1, 3)))
    with pytest.raises(ValueError, match="more than 1 example"):   # no running stats: batch stats in eval
        BatchNorm1d(3, track_running_stats=False).eval()(rng.normal(size=(1, 3)))
    assert BatchNorm1d(3).eval()(rng.normal(size=(1, 3))).shape == (1, 3)


def test_batchnorm_wrong_input_shapes_are_refused(rng):
    bn = BatchNorm1d(3)
    expected = r"BatchNorm1d\(3\) got input with 5 features; expected shape \(batch, 3\)"
    with pytest.raises(ValueError, match=expected):
        bn(rng.normal(size=(4, 5)))
    with pytest.raises(ValueError, match="reshape"):
        bn(rng.normal(size=3))
    with pytest.raises(ValueError, match=r"shape \(2, 3, 4\)"):
        bn(rng.normal(size=(2, 3, 4)))
    with pytest.raises(TypeError, match="float64"):
        bn(np.ones((4, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="NaN"):
        bn(np.full((4, 3), np.nan))


def test_batchnorm_backward_errors(rng):
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match="before forward"):
        bn.backward(np.ones((4, 3)))
    bn(rng.normal(size=(4, 3)))
    with pytest.raises(ValueError, match=r"expected \(4, 3\)"):
        bn.backward(np.ones((3, 3)))


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"num_features": 0}, ValueError, "num_features"),
    ({"num_features": 2.5}, TypeError, "num_features"),
    ({"num_features": 3, "eps": 0}, ValueError, "eps"),
    ({"num_features": 3, "eps": -1e-5}, ValueError, "eps"),
    ({"num_features": 3, "momentum": 1.5}, ValueError, "momentum"),
    ({"num_features": 3, "momentum": -0.1}, ValueError, "momentum"),
    ({"num_features": 3, "momentum": "fast"}, TypeError, "momentum"),
    ({"num_features": 3, "affine": "yes"}, TypeError, "affine"),
    ({"num_features": 3, "track_running_stats": 1}, TypeError, "track_running_stats"),
    ({"num_features": 3, "dtype": np.int32}, TypeError, "dtype"),
])
def test_batchnorm_bad_arguments(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        BatchNorm1d(**kwargs)


# -- LayerNorm -----------------------------------------------------------------------

def paired_layernorm(d, rng, **kwargs):
    ours = LayerNorm(d, **kwargs)
    theirs = torch.nn.LayerNorm(d, dtype=torch.float64, **kwargs)
    with torch.no_grad():
        if ours.weight is not None:
            ours.weight.data[:] = rng.normal(size=d)
            theirs.weight.copy_(torch.from_numpy(ours.weight.data))
        if ours.bias is not None:
            ours.bias.data[:] = rng.normal(size=d)
            theirs.bias.copy_(torch.from_numpy(ours.bias.data))
    return ours, theirs


@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 5), (5,)])
@pytest.mark.parametrize("kwargs", [{}, {"eps": 1e-2}, {"elementwise_affine": False}, {"bias": False}])
def test_layernorm_matches_torch(shape, kwargs, rng):
    d = shape[-1]
    ours, theirs = paired_layernorm(d, rng, **kwargs)
    for mode in ("train", "eval"):            # LayerNorm behaves the same in both modes
        getattr(ours, mode)()
        getattr(theirs, mode)()
        ours.zero_grad()
        theirs.zero_grad()
        x = rng.normal(loc=1.0, scale=2.0, size=shape)
        g = rng.normal(size=shape)
        y, dx, yt, dxt = step_both(ours, theirs, x, g)
        close(y, yt)
        close(dx, dxt)
        if ours.weight is not None:
            close(ours.weight.grad, theirs.weight.grad)
        if ours.bias is not None:
            close(ours.bias.grad, theirs.bias.grad)


def test_layernorm_gradients_match_finite_differences(rng):
    ln, _ = paired_layernorm(4, rng)
    x = rng.normal(size=(3, 4))
    g = rng.normal(size=(3, 4))

    def loss():
        return float(np.sum(g * ln(x)))

    ln(x)
    dx = ln.backward(g)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ln.weight.grad, numeric_grad(loss, ln.weight.data), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ln.bias.grad, numeric_grad(loss, ln.bias.data), rtol=1e-6, atol=1e-8)


def test_layernorm_normalizes_each_example_on_its_own(rng):
    ln = LayerNorm(6)
    x = rng.normal(size=(4, 6)) * np.array([[1.0], [10.0], [0.1], [3.0]]) + 5.0
    y = ln(x)
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-12)
    var = x.var(axis=1)
    np.testing.assert_allclose(y.var(axis=1), var / (var + 1e-5), rtol=1e-12)   # 1 up to eps
    close(ln(x[2:3]), y[2:3])


def test_layernorm_options_and_float32(rng):
    assert [p.name for p in LayerNorm(3).parameters()] == ["weight", "bias"]
    assert [p.name for p in LayerNorm(3, bias=False).parameters()] == ["weight"]
    assert LayerNorm(3, elementwise_affine=False).parameters() == []
    assert LayerNorm((3,)).normalized_shape == 3
    ln = LayerNorm(3, dtype=np.float32)
    x = rng.normal(size=(2, 3)).astype(np.float32)
    assert ln(x).dtype == np.float32 and ln.backward(np.ones_like(x)).dtype == np.float32


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 8), seed=st.integers(0, 2**31))
def test_layernorm_matches_torch_for_random_shapes(n, d, seed):
    rng = np.random.default_rng(seed)
    ours, theirs = paired_layernorm(d, rng)
    x = rng.normal(size=(n, d))
    g = rng.normal(size=(n, d))
    y, dx, yt, dxt = step_both(ours, theirs, x, g)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(dx, dxt.numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_layernorm_bad_input(rng):
    with pytest.raises(ValueError, match="only"):
        LayerNorm((2, 3))
    with pytest.raises(ValueError, match="normalized_shape"):
        LayerNorm(0)
    with pytest.raises(TypeError, match="normalized_shape"):
        LayerNorm("4")
    with pytest.raises(ValueError, match="eps"):
        LayerNorm(4, eps=0.0)
    with pytest.raises(TypeError, match="elementwise_affine"):
        LayerNorm(4, elementwise_affine=None)
    with pytest.raises(TypeError, match="dtype"):
        LayerNorm(4, dtype=int)
    ln = LayerNorm(4)
    with pytest.raises(ValueError, match=r"LayerNorm\(4\) got input of shape \(2, 3\)"):
        ln(rng.normal(size=(2, 3)))
    with pytest.raises(ValueError, match="before forward"):
        ln.backward(np.ones((2, 4)))
    ln(rng.normal(size=(2, 4)))
    with pytest.raises(ValueError, match=r"expected \(2, 4\)"):
        ln.backward(np.ones((4, 2)))


# -- with Linear and activations -----------------------------------------------------------

def test_mlp_with_batchnorm_and_layernorm_matches_torch_over_steps(rng):
    from backprop_lib.nn import Linear, Tanh

    ours = Sequential(Linear(3, 8, seed=0), BatchNorm1d(8), Tanh(), Linear(8, 6, seed=1), LayerNorm(6),
                      Linear(6, 2, seed=2))
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.BatchNorm1d(8), torch.nn.Tanh(), torch.nn.Linear(8, 6),
        torch.nn.LayerNorm(6), torch.nn.Linear(6, 2),
    ).double()
    for p in ours.parameters():                       # random γ, β too, not just ones and zeros
        p.data[...] = rng.normal(size=p.shape)
    with torch.no_grad():
        for p, tp in zip(ours.parameters(), theirs.parameters(), strict=True):
            tp.copy_(torch.from_numpy(p.data))
    for step in range(5):
        if step == 4:                                 # last step in eval mode
            ours.eval()
            theirs.eval()
        x = rng.normal(size=(10, 3))
        g = rng.normal(size=(10, 2))
        ours.zero_grad()
        theirs.zero_grad()
        y, dx, yt, dxt = step_both(ours, theirs, x, g)
        close(y, yt)
        close(dx, dxt)
        for p, tp in zip(ours.parameters(), theirs.parameters(), strict=True):
            close(p.grad, tp.grad)
            with torch.no_grad():                     # the same SGD step on both
                p.data -= 0.05 * p.grad
                tp -= 0.05 * tp.grad
        close(ours[1].running_mean, theirs[1].running_mean)
        close(ours[1].running_var, theirs[1].running_var)


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_passes_on_an_mlp_with_normalization(training, rng):
    import backprop_lib as bp

    net = Sequential(bp.nn.Linear(4, 6, seed=0), BatchNorm1d(6), bp.nn.ReLU(), bp.nn.Linear(6, 5, seed=1),
                     LayerNorm(5), bp.nn.Tanh(), bp.nn.Linear(5, 1, seed=2))
    net(rng.normal(size=(16, 4)))                     # non-trivial running statistics
    net.train(training)
    report = bp.gradcheck.check(net, bp.nn.MSELoss(), rng.normal(size=(7, 4)), rng.normal(size=(7, 1)))
    assert report.ok, str(report)
