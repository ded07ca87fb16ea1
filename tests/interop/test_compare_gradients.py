"""Tests of bp.interop.compare_gradients: bp's explicit backward against torch autograd."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from backprop_lib.interop import GradientComparison, compare_gradients
from backprop_lib.nn.activations import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from backprop_lib.nn.dropout import Dropout
from backprop_lib.nn.layers import Linear
from backprop_lib.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from backprop_lib.nn.module import Sequential
from backprop_lib.nn.normalization import BatchNorm1d, LayerNorm
from backprop_lib.nn.residual import Residual

ACTIVATIONS = [Tanh, Sigmoid, GELU, ReLU, ELU, Softplus, LeakyReLU]


def make_mlp(sizes, activation, seed, dtype=np.float64, last=Linear):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append((last if i == len(sizes) - 2 else Linear)(a, b, seed=seed + i, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(activation())
    return Sequential(*layers)


def batch_for(loss_fn, rng, n, d_in, d_out):
    x = rng.normal(size=(n, d_in))
    if isinstance(loss_fn, CrossEntropyLoss):
        return x, rng.integers(0, d_out, size=n)
    if isinstance(loss_fn, BCEWithLogitsLoss):
        return x, rng.random((n, d_out))
    return x, rng.normal(size=(n, d_out))


class WeightGradTimesHalf(Linear):
    """Planted bug: dL/dW carries a spurious factor 0.5."""

    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.weight.grad *= 0.5
        return dx


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 12), min_size=2, max_size=5), batch=st.integers(1, 16),
       activation=st.sampled_from(ACTIVATIONS), loss=st.sampled_from(["mse", "ce", "bce"]),
       reduction=st.sampled_from(["mean", "sum"]), seed=st.integers(0, 10_000))
def test_random_mlps_agree_with_torch(sizes, batch, activation, loss, reduction, seed):
    loss_fn = {"mse": MSELoss, "ce": CrossEntropyLoss, "bce": BCEWithLogitsLoss}[loss](reduction)
    net = make_mlp(sizes, activation, seed)
    x, y = batch_for(loss_fn, np.random.default_rng(seed), batch, sizes[0], sizes[-1])
    cmp = compare_gradients(net, loss_fn, x, y)
    assert isinstance(cmp, GradientComparison)
    assert cmp.max_rel_error < 1e-10, str(cmp)
    assert cmp.loss_diff <= 1e-12 * max(1.0, abs(cmp.loss_torch))
    assert [r.name for r in cmp.rows] == [name for name, _ in net.named_parameters()]
    for row in cmp.all_rows:
        assert_allclose(row.bp_norm, row.torch_norm, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_normalization_residual_and_ntk_models_agree_with_torch(mode, rng):
    """Includes the bias of a layer followed by batch norm: its gradient is 0 up to rounding."""
    net = Sequential(Linear(4, 6, seed=0), BatchNorm1d(6), Tanh(),
                     Residual(Sequential(Linear(6, 6, seed=1), GELU(),
                                         Linear(6, 6, seed=2, parameterization="ntk", w_std=1.5, b_std=0.1))),
                     LayerNorm(6), Dropout(0.5), Linear(6, 3, seed=3))
    net[1].running_mean[:] = rng.normal(size=6)
    net[1].running_var[:] = rng.uniform(0.5, 2.0, size=6)
    net.train(mode == "train")
    net[5].eval()                                          # dropout off, batch norm in `mode`
    x, y = batch_for(CrossEntropyLoss(), rng, 8, 4, 3)
    cmp = compare_gradients(net, CrossEntropyLoss(), x, y)
    assert cmp.max_rel_error < 1e-10, str(cmp)
    if mode == "train":                                    # mean subtraction removes the bias' effect
        assert cmp["0.bias"].bp_norm < 1e-12


def test_float32_models_agree_to_float32_precision(rng):
    net = make_mlp([5, 16, 16, 3], Tanh, seed=0, dtype=np.float32)
    x, y = batch_for(CrossEntropyLoss(), rng, 10, 5, 3)
    cmp = compare_gradients(net, CrossEntropyLoss(), x, y)
    assert cmp.dtype == "float32"
    assert cmp.max_rel_error < 1e-4, str(cmp)
    assert cmp.max_rel_error > 1e-12                      # it really ran in float32


def test_a_wrong_backward_is_visible(rng):
    net = make_mlp([4, 6, 3], Sigmoid, seed=0, last=WeightGradTimesHalf)
    x, y = batch_for(MSELoss(), rng, 5, 4, 3)
    cmp = compare_gradients(net, MSELoss(), x, y)
    assert cmp.worst.name == "2.weight"
    assert_allclose(cmp["2.weight"].max_rel_error, 0.5 / 1.5, rtol=1e-8)   # |g/2 - g| / (|g/2| + |g|)
    assert cmp["2.bias"].max_rel_error < 1e-10 and cmp["input"].max_rel_error < 1e-10


def test_the_model_is_left_untouched(rng):
    net = Sequential(Linear(3, 4, seed=0), BatchNorm1d(4), ReLU(), Linear(4, 2, seed=1))
    weights = [p.data.copy() for p in net.parameters()]
    x, y = batch_for(MSELoss(), rng, 6, 3, 2)
    compare_gradients(net, MSELoss(), x, y)
    for p, w in zip(net.parameters(), weights, strict=True):
        np.testing.assert_array_equal(p.data, w)
        assert p.grad is None
    np.testing.assert_array_equal(net[1].running_mean, np.zeros(4))
    assert net[1].num_batches_tracked == 0


def test_report_text_and_lookup(rng):
    net = make_mlp([3, 4, 2], Tanh, seed=0)
    x, y = batch_for(MSELoss(), rng, 4, 3, 2)
    cmp = compare_gradients(net, MSELoss(), x, y, check_input=False)
    assert cmp.input is None
    text = str(cmp)
    assert "float64" in text.splitlines()[0]
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert any(line.startswith(name + " ") for line in text.splitlines())
    assert cmp._repr_html_().count("<tr>") == 5
    with pytest.raises(KeyError, match="0.weight"):
        cmp["input"]


def test_bad_input(rng):
    net = Sequential(Linear(3, 4, seed=0), Dropout(0.5), Linear(4, 2, seed=1))
    x, y = batch_for(MSELoss(), rng, 4, 3, 2)
    with pytest.raises(ValueError, match=r"Dropout\(p=0.5\) in training mode"):
        compare_gradients(net, MSELoss(), x, y)
    with pytest.raises(TypeError, match="torch_loss cannot convert"):
        compare_gradients(net.eval(), lambda out, t: 0.0, x, y)
    with pytest.raises(TypeError, match="net must be a backprop_lib Module"):
        compare_gradients("net", MSELoss(), x, y)
    with pytest.raises(TypeError, match="x must have dtype"):
        compare_gradients(net.eval(), MSELoss(), x.astype(int), y)
