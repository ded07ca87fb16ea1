"""Tests of bp.gradcheck: central differences, relative error, verdicts, model and layer checks.

Oracles: exact derivatives of known functions, PyTorch autograd, and deliberately broken layers
(a check that cannot flag a wrong backward pass is worthless).
"""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from backprop_lib import gradcheck as gc
from backprop_lib.nn.activations import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from backprop_lib.nn.dropout import Dropout
from backprop_lib.nn.layers import Linear
from backprop_lib.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from backprop_lib.nn.module import Sequential
from backprop_lib.nn.normalization import BatchNorm1d, LayerNorm
from backprop_lib.nn.residual import Residual


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def make_mlp(sizes, activation=Tanh, seed=0, dtype=np.float64, linear=Linear):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(linear(a, b, seed=seed + i, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(activation())
    return Sequential(*layers)


def batch_for(loss_fn, rng, n, d_in, d_out):
    x = rng.normal(size=(n, d_in))
    if isinstance(loss_fn, CrossEntropyLoss):
        y = rng.integers(0, d_out, size=n)
    elif isinstance(loss_fn, BCEWithLogitsLoss):
        y = rng.random((n, d_out))
    else:
        y = rng.normal(size=(n, d_out))
    return x, y


class WeightGradTimesHalf(Linear):
    """Planted bug: dL/dW carries a spurious factor 0.5 (dL/db and dL/dx are right)."""

    def backward(self, grad_out):
        self._require_cache("x")
        self.weight.accumulate_grad(0.5 * grad_out.T @ self.x)      # bug: should be gᵀ x
        self.bias.accumulate_grad(grad_out.sum(axis=0))
        return grad_out @ self.weight.data


class InputGradTimesTwo(Linear):
    """Planted bug: dL/dx is doubled (the layer's own parameter gradients are right)."""

    def backward(self, grad_out):
        return 2.0 * super().backward(grad_out)


class SlightlyOff(Linear):
    """Planted bug: dL/dW is 0.1 % too large (a subtle error, e.g. a wrong constant)."""

    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.weight.grad *= 1.001
        return dx


# ---------------------------------------------------------------------------------------------
# numerical_gradient
# ---------------------------------------------------------------------------------------------
def test_numerical_gradient_of_sum_of_cubes_is_three_x_squared(rng):
    x = rng.normal(size=(3, 4))
    g = gc.numerical_gradient(lambda v: np.sum(v ** 3), x)
    assert g.shape == x.shape
    assert_allclose(g, 3 * x ** 2, rtol=1e-8, atol=1e-9)


def test_numerical_gradient_of_log_sum_exp_is_softmax(rng):
    x = rng.normal(size=7)
    g = gc.numerical_gradient(lambda v: np.log(np.sum(np.exp(v))), x)
    assert_allclose(g, np.exp(x) / np.exp(x).sum(), rtol=1e-7, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 4), cols=st.integers(1, 5), seed=st.integers(0, 2 ** 31 - 1))
def test_numerical_gradient_matches_torch_autograd(rows, cols, seed):
    x = np.random.default_rng(seed).normal(size=(rows, cols))

    def f(v):                                                # sin(x)·x² summed, plus a coupling term
        return np.sum(np.sin(v) * v ** 2) + np.sum(v) ** 2 / 3

    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (torch.sum(torch.sin(xt) * xt ** 2) + torch.sum(xt) ** 2 / 3).backward()
    assert_allclose(gc.numerical_gradient(f, x), xt.grad.numpy(), rtol=1e-7, atol=1e-8)


def test_numerical_gradient_reads_x_through_a_closure(rng):
    """Perturbing in place lets f read the array through a closure (how layer weights are checked)."""
    W, v = rng.normal(size=(3, 4)), rng.normal(size=4)
    g = gc.numerical_gradient(lambda _: np.sum(np.tanh(W @ v)), W)
    expected = np.outer(1 - np.tanh(W @ v) ** 2, v)          # d/dW Σ tanh(Wv) = (1 − tanh²) vᵀ
    assert_allclose(g, expected, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_restores_x_exactly_even_when_f_fails(rng):
    x = rng.normal(size=(2, 3))
    before = x.copy()
    gc.numerical_gradient(lambda v: np.sum(v ** 2), x)
    np.testing.assert_array_equal(x, before)

    calls = []

    def failing(v):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("boom")
        return float(np.sum(v))

    with pytest.raises(RuntimeError, match="boom"):
        gc.numerical_gradient(failing, x)
    np.testing.assert_array_equal(x, before)


def test_central_differences_are_second_order():
    """Truncation error ~ h²·f'''/6: ten times smaller h, about a hundred times smaller error."""
    x0 = np.array([0.7])
    errors = []
    for h in (1e-2, 1e-3):
        g = gc.numerical_gradient(lambda v: float(np.exp(v[0])), x0.copy(), h=h)
        errors.append(abs(g[0] - np.exp(0.7)))
    assert 50 < errors[0] / errors[1] < 200
    assert_allclose(errors[0], 1e-4 * np.exp(0.7) / 6, rtol=0.05)


@pytest.mark.parametrize(
    ("f", "x", "h", "error", "match"),
    [
        (lambda v: float(np.sum(v)), np.ones(3, dtype=np.float32), 1e-6, TypeError, "float64"),
        (lambda v: float(np.sum(v)), [1.0, 2.0], 1e-6, TypeError, "NumPy float64 array"),
        (lambda v: v * 2, np.ones(3), 1e-6, TypeError, "scalar"),
        ("not a function", np.ones(3), 1e-6, TypeError, "f must be a function"),
        (lambda v: float(np.sum(v)), np.ones(3), 0.0, ValueError, "h"),
        (lambda v: float(np.sum(v)), np.ones(3), -1e-6, ValueError, "h"),
        (lambda v: float(np.sum(v)), np.array([1.0, np.nan]), 1e-6, ValueError, "NaN"),
    ],
)
def test_numerical_gradient_bad_input(f, x, h, error, match):
    with pytest.raises(error, match=match):
        gc.numerical_gradient(f, x, h=h)


# ---------------------------------------------------------------------------------------------
# relative_error and verdicts
# ---------------------------------------------------------------------------------------------
def test_relative_error_formula():
    a = np.array([1.0, 0.0, 1.0, 2.0, -3.0])
    b = np.array([1.1, 0.0, -1.0, 2.0, -3.3])
    expected = [0.1 / 2.1, 0.0, 1.0, 0.0, 0.3 / 6.3]
    assert_allclose(gc.relative_error(a, b), expected, rtol=1e-12)
    assert_allclose(gc.relative_error(b, a), expected, rtol=1e-12)        # symmetric
    assert_allclose(gc.max_relative_error(a, b), 1.0, rtol=1e-12)
    assert gc.max_relative_error(np.zeros(0), np.zeros(0)) == 0.0


def test_relative_error_floor():
    """Tiny numbers: the floor turns a meaningless relative error of 1 into absolute/tiny."""
    assert_allclose(gc.relative_error(1e-20, 0.0), 1.0, rtol=1e-12)
    assert_allclose(gc.relative_error(1e-20, 0.0, tiny=1e-10), 1e-10, rtol=1e-12)
    assert np.isinf(gc.max_relative_error(np.array([np.nan]), np.array([1.0])))


def test_relative_error_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        gc.relative_error(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="tiny"):
        gc.relative_error(1.0, 1.0, tiny=0.0)


def test_verdict_bands():
    assert (gc.CORRECT_BELOW, gc.WRONG_FROM) == (1e-7, 1e-4)
    assert gc.VERDICTS == ("correct", "suspicious", "wrong")
    cases = {0.0: "correct", 9.9e-8: "correct", 1e-7: "suspicious", 3e-6: "suspicious",
             9.9e-5: "suspicious", 1e-4: "wrong", 0.5: "wrong", float("inf"): "wrong", float("nan"): "wrong"}
    for error, expected in cases.items():
        assert gc.verdict(error) == expected, error


# ---------------------------------------------------------------------------------------------
# check(): correct models pass
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", [Tanh, Sigmoid, GELU, Softplus, ELU])
@pytest.mark.parametrize("loss_fn", [MSELoss(), CrossEntropyLoss(), BCEWithLogitsLoss(),
                                     MSELoss(reduction="sum")], ids=["mse", "ce", "bce", "mse-sum"])
def test_check_passes_on_correct_mlps(activation, loss_fn, rng):
    net = make_mlp([4, 7, 5, 3], activation=activation, seed=3)
    x, y = batch_for(loss_fn, rng, 6, 4, 3)
    report = gc.check(net, loss_fn, x, y)
    assert report.ok, str(report)
    assert report.max_rel_error < 1e-7
    assert report.verdict == "correct"
    assert [r.name for r in report.rows] == [name for name, _ in net.named_parameters()]
    assert all(r.checked == r.total for r in report.all_rows)
    assert report.input is not None and report.input.shape == x.shape


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4), batch=st.integers(2, 5),
       act=st.sampled_from([Tanh, Sigmoid, GELU, LeakyReLU]), seed=st.integers(0, 10_000))
def test_check_passes_on_random_mlps(sizes, batch, act, seed):
    rng = np.random.default_rng(seed)
    net = make_mlp(sizes, activation=act, seed=seed)
    x, y = batch_for(MSELoss(), rng, batch, sizes[0], sizes[-1])
    report = gc.check(net, MSELoss(), x, y)
    assert report.max_rel_error < 1e-7, str(report)


def test_check_report_arrays_agree_with_torch_autograd(rng):
    """The analytic column is bp's backward, the numeric one central differences: both equal torch's."""
    net = make_mlp([3, 5, 2], activation=Tanh, seed=1)
    x, y = batch_for(MSELoss(), rng, 4, 3, 2)
    report = gc.check(net, MSELoss(), x, y)

    W1, b1 = (torch.tensor(p.data, requires_grad=True) for p in net[0].parameters())
    W2, b2 = (torch.tensor(p.data, requires_grad=True) for p in net[2].parameters())
    xt = torch.tensor(x, requires_grad=True)
    out = torch.tanh(xt @ W1.T + b1) @ W2.T + b2
    loss = torch.mean((out - torch.tensor(y)) ** 2)
    loss.backward()
    assert_allclose(report.loss, loss.item(), rtol=1e-12)
    for name, t in [("0.weight", W1), ("0.bias", b1), ("2.weight", W2), ("2.bias", b2), ("input", xt)]:
        row = report[name]
        expected = t.grad.numpy().reshape(-1)[row.indices]
        assert_allclose(row.analytic, expected, rtol=1e-10, atol=1e-14)
        assert_allclose(row.numeric, expected, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_check_passes_on_normalization_and_residual_models(mode, rng):
    bn = BatchNorm1d(6)
    bn.running_mean[:] = rng.normal(size=6)
    bn.running_var[:] = rng.uniform(0.5, 2.0, size=6)
    bn.weight.data[:] = rng.normal(size=6)
    bn.bias.data[:] = rng.normal(size=6)
    net = Sequential(Linear(4, 6, seed=0), bn, Tanh(),
                     Residual(Sequential(Linear(6, 6, seed=1), GELU(), Linear(6, 6, seed=2))),
                     LayerNorm(6), Linear(6, 3, seed=3))
    net.train(mode == "train")
    x, y = batch_for(CrossEntropyLoss(), rng, 8, 4, 3)
    report = gc.check(net, CrossEntropyLoss(), x, y)
    assert report.ok, str(report)


def test_check_with_a_large_loss_still_resolves_correct_gradients(rng):
    """The denominator floor scales with |L|: far-away targets (L ~ 1e4) are no false alarm."""
    net = make_mlp([3, 6, 2], activation=Tanh, seed=5)
    x, y = batch_for(MSELoss(), rng, 5, 3, 2)
    report = gc.check(net, MSELoss(), x, y + 100.0)
    assert report.loss > 1e3
    assert report.ok, str(report)


def test_check_passes_on_relu_networks_away_from_kinks(rng):
    net = make_mlp([5, 8, 8, 2], activation=ReLU, seed=2)
    x, y = batch_for(MSELoss(), rng, 6, 5, 2)
    assert gc.check(net, MSELoss(), x, y).ok


# ---------------------------------------------------------------------------------------------
# check(): broken models are flagged
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss_fn", [MSELoss(), CrossEntropyLoss()], ids=["mse", "ce"])
def test_check_flags_a_wrong_factor_in_one_weight_gradient(loss_fn, rng):
    net = Sequential(Linear(4, 6, seed=0), Tanh(), WeightGradTimesHalf(6, 5, seed=1), Sigmoid(),
                     Linear(5, 3, seed=2))
    x, y = batch_for(loss_fn, rng, 6, 4, 3)
    report = gc.check(net, loss_fn, x, y)
    assert not report.ok
    assert report.verdict == "wrong"
    assert report["2.weight"].verdict == "wrong"
    assert report.worst.name == "2.weight"
    assert report["2.weight"].max_rel_error > 0.1                # the factor 0.5 shows as |1 − 0.5|/1.5
    # the bug is located: every other array is still correct
    others = [r for r in report.all_rows if r.name != "2.weight"]
    assert all(r.verdict == "correct" for r in others), str(report)
    assert "wrong" in str(report)


def test_check_flags_a_wrong_input_gradient_upstream(rng):
    """A doubled dL/dx in layer 2 corrupts every gradient *before* it, not its own parameters."""
    net = Sequential(Linear(4, 6, seed=0), Tanh(), InputGradTimesTwo(6, 3, seed=1))
    x, y = batch_for(MSELoss(), rng, 5, 4, 3)
    report = gc.check(net, MSELoss(), x, y)
    assert {r.name for r in report.all_rows if r.verdict == "wrong"} == {"0.weight", "0.bias", "input"}
    assert report["2.weight"].verdict == report["2.bias"].verdict == "correct"


def test_check_flags_a_subtle_error(rng):
    net = Sequential(Linear(4, 6, seed=0), Tanh(), SlightlyOff(6, 3, seed=1))
    x, y = batch_for(MSELoss(), rng, 5, 4, 3)
    report = gc.check(net, MSELoss(), x, y)
    assert report["2.weight"].verdict != "correct"
    assert not report.ok


def test_check_reports_a_parameter_whose_gradient_is_never_filled(rng):
    class ForgetsBias(Linear):
        def backward(self, grad_out):
            self.weight.accumulate_grad(grad_out.T @ self.x)
            return grad_out @ self.weight.data

    net = Sequential(ForgetsBias(3, 2, seed=0))
    x, y = batch_for(MSELoss(), rng, 4, 3, 2)
    report = gc.check(net, MSELoss(), x, y)
    assert report["0.bias"].verdict == "wrong"
    assert any("0.bias.grad stayed None" in n for n in report.notes)


# ---------------------------------------------------------------------------------------------
# check(): what it leaves alone, what it refuses, options
# ---------------------------------------------------------------------------------------------
def test_check_leaves_the_model_untouched(rng):
    bn = BatchNorm1d(5)
    net = Sequential(Linear(3, 5, seed=0), bn, Tanh(), Linear(5, 2, seed=1))
    weights = [p.data.copy() for p in net.parameters()]
    running = (bn.running_mean.copy(), bn.running_var.copy(), bn.num_batches_tracked)
    x, y = batch_for(MSELoss(), rng, 6, 3, 2)
    gc.check(net, MSELoss(), x, y)
    for p, w in zip(net.parameters(), weights, strict=True):
        np.testing.assert_array_equal(p.data, w)
        assert p.grad is None
    np.testing.assert_array_equal(bn.running_mean, running[0])
    np.testing.assert_array_equal(bn.running_var, running[1])
    assert bn.num_batches_tracked == running[2]
    assert net.training


def test_check_refuses_dropout_in_training_mode(rng):
    net = Sequential(Linear(3, 5, seed=0), Tanh(), Dropout(0.5, seed=0), Linear(5, 2, seed=1))
    x, y = batch_for(MSELoss(), rng, 4, 3, 2)
    with pytest.raises(ValueError, match=r"layer '2' is Dropout\(p=0.5\).*model.eval\(\)"):
        gc.check(net, MSELoss(), x, y)
    assert gc.check(net.eval(), MSELoss(), x, y).ok                     # dropout is the identity


def test_check_accepts_dropout_with_p_zero_in_training_mode(rng):
    net = Sequential(Linear(3, 5, seed=0), Tanh(), Dropout(0.0, seed=0), Linear(5, 2, seed=1))
    x, y = batch_for(MSELoss(), rng, 4, 3, 2)
    assert gc.check(net, MSELoss(), x, y).ok


def test_check_refuses_other_randomness(rng):
    class Noisy(Tanh):
        def forward(self, x):
            return super().forward(x) + 1e-3 * np.random.default_rng().normal(size=x.shape)

    net = Sequential(Linear(3, 4, seed=0), Noisy(), Linear(4, 2, seed=1))
    x, y = batch_for(MSELoss(), rng, 4, 3, 2)
    with pytest.raises(ValueError, match="not deterministic"):
        gc.check(net, MSELoss(), x, y)


def test_check_upcasts_float32_models_with_a_warning(rng):
    net = make_mlp([4, 6, 3], activation=Tanh, seed=0, dtype=np.float32)
    x, y = batch_for(MSELoss(), rng, 5, 4, 3)
    with pytest.warns(UserWarning, match="float64 copy"):
        report = gc.check(net, MSELoss(), x.astype(np.float32), y)
    assert report.ok, str(report)
    assert any("float32" in n for n in report.notes)
    assert all(p.data.dtype == np.float32 for p in net.parameters())      # the model is not changed

    broken = Sequential(WeightGradTimesHalf(4, 3, seed=0, dtype=np.float32))
    with pytest.warns(UserWarning, match="float64 copy"):
        assert gc.check(broken, MSELoss(), x, y)["0.weight"].verdict == "wrong"


def test_check_float64_models_do_not_warn(rng):
    net = make_mlp([3, 4, 2], seed=0)
    x, y = batch_for(MSELoss(), rng, 4, 3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gc.check(net, MSELoss(), x, y)


def test_check_spot_checks_large_parameters_reproducibly(rng):
    net = Sequential(Linear(30, 40, seed=0), Tanh(), Linear(40, 2, seed=1))
    x, y = batch_for(MSELoss(), rng, 5, 30, 2)
    report = gc.check(net, MSELoss(), x, y, max_entries_per_param=12, seed=7)
    assert report.ok, str(report)
    assert [(r.checked, r.total) for r in report.all_rows] == [(12, 1200), (12, 40), (12, 80), (2, 2),
                                                                 (12, 150)]
    again = gc.check(net, MSELoss(), x, y, max_entries_per_param=12, seed=7)
    other = gc.check(net, MSELoss(), x, y, max_entries_per_param=12, seed=8)
    np.testing.assert_array_equal(report["0.weight"].indices, again["0.weight"].indices)
    assert not np.array_equal(report["0.weight"].indices, other["0.weight"].indices)
    assert len(set(report["0.weight"].indices)) == 12                       # without replacement


def test_check_spot_check_still_finds_a_bug(rng):
    net = Sequential(WeightGradTimesHalf(30, 40, seed=0), Tanh(), Linear(40, 2, seed=1))
    x, y = batch_for(MSELoss(), rng, 5, 30, 2)
    report = gc.check(net, MSELoss(), x, y, max_entries_per_param=5)
    assert report["0.weight"].verdict == "wrong"


def test_check_selected_parameters(rng):
    net = make_mlp([3, 4, 2], seed=0)
    x, y = batch_for(MSELoss(), rng, 4, 3, 2)
    by_name = gc.check(net, MSELoss(), x, y, params=["2.bias"], check_input=False)
    assert [r.name for r in by_name.rows] == ["2.bias"] and by_name.input is None
    by_object = gc.check(net, MSELoss(), x, y, params=[net[0].weight])
    assert [r.name for r in by_object.rows] == ["0.weight"]
    assert gc.check(net, MSELoss(), x, y, params="0.bias").rows[0].name == "0.bias"
    with pytest.raises(ValueError, match=r"'5.weight'.*0\.weight, 0\.bias, 2\.weight, 2\.bias"):
        gc.check(net, MSELoss(), x, y, params=["5.weight"])


def test_check_bad_input(rng):
    net = make_mlp([3, 2], seed=0)
    x, y = batch_for(MSELoss(), rng, 4, 3, 2)
    with pytest.raises(TypeError, match="model must be a backprop_lib Module"):
        gc.check(lambda v: v, MSELoss(), x, y)
    with pytest.raises(TypeError, match="loss_fn must be a backprop_lib loss"):
        gc.check(net, lambda out, t: 0.0, x, y)
    with pytest.raises(TypeError, match="x must have dtype float64 or float32"):
        gc.check(net, MSELoss(), x.astype(int), y)
    with pytest.raises(ValueError, match="h"):
        gc.check(net, MSELoss(), x, y, h=0)
    with pytest.raises(ValueError, match="max_entries_per_param"):
        gc.check(net, MSELoss(), x, y, max_entries_per_param=0)
    with pytest.raises(TypeError, match="max_entries_per_param"):
        gc.check(net, MSELoss(), x, y, max_entries_per_param=2.5)


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------
def test_report_text_and_html(rng):
    net = Sequential(Linear(3, 4, seed=0), Tanh(), WeightGradTimesHalf(4, 2, seed=1))
    x, y = batch_for(MSELoss(), rng, 4, 3, 2)
    report = gc.check(net, MSELoss(), x, y)
    text = str(report)
    lines = text.splitlines()
    assert "h=1e-06" in lines[0]
    for row in report.all_rows:
        line = next(line for line in lines if line.startswith(row.name + " "))
        assert row.verdict in line and f"{row.max_rel_error:.2e}" in line
    assert lines[-1].startswith("verdict: wrong") and "2.weight" in lines[-1]
    html = report._repr_html_()
    assert html.count("<tr>") == len(report.all_rows) + 1
    assert "#c62828" in html and "2.weight" in html                       # wrong shown in red
    with pytest.raises(KeyError, match="0.weight"):
        report["nope"]


def test_report_of_a_model_without_parameters(rng):
    report = gc.check(Sequential(Tanh()), MSELoss(), rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))
    assert report.rows == () and report.ok and report.worst.name == "input"


# ---------------------------------------------------------------------------------------------
# check_layer
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: Linear(4, 3, seed=0),
    lambda: Linear(4, 3, seed=0, parameterization="ntk", w_std=1.5, b_std=0.3),
    lambda: BatchNorm1d(4),
    lambda: BatchNorm1d(4).eval(),
    lambda: LayerNorm(4),
    Tanh, Sigmoid, GELU, ELU, Softplus,
    lambda: Residual(Sequential(Linear(4, 4, seed=0), Tanh())),
], ids=["linear", "ntk-linear", "bn-train", "bn-eval", "layernorm", "tanh", "sigmoid", "gelu", "elu",
        "softplus", "residual"])
def test_check_layer_passes_on_correct_layers(make, rng):
    report = gc.check_layer(make(), rng.normal(size=(5, 4)))
    assert report.ok, str(report)


def test_check_layer_finds_the_planted_bug(rng):
    x = rng.normal(size=(5, 4))
    report = gc.check_layer(WeightGradTimesHalf(4, 3, seed=0), x)
    assert report["weight"].verdict == "wrong"
    assert report["bias"].verdict == report["input"].verdict == "correct"
    report = gc.check_layer(InputGradTimesTwo(4, 3, seed=0), x)
    assert report["input"].verdict == "wrong" and report["weight"].verdict == "correct"


def test_check_layer_with_given_grad_out_matches_torch(rng):
    layer = Linear(4, 3, seed=0)
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    report = gc.check_layer(layer, x, g)
    assert_allclose(report.loss, np.sum((x @ layer.weight.data.T + layer.bias.data) * g), rtol=1e-12)
    W = torch.tensor(layer.weight.data, requires_grad=True)
    torch.sum((torch.tensor(x) @ W.T) * torch.tensor(g)).backward()
    assert_allclose(report["weight"].numeric.reshape(3, 4), W.grad.numpy(), rtol=1e-6, atol=1e-9)
    assert layer.weight.grad is None                                      # the layer is not touched


def test_check_layer_bad_input(rng):
    with pytest.raises(ValueError, match="grad_out must have the layer output's shape"):
        gc.check_layer(Linear(4, 3, seed=0), rng.normal(size=(5, 4)), rng.normal(size=(5, 4)))
    with pytest.raises(ValueError, match="Dropout"):
        gc.check_layer(Dropout(0.3), rng.normal(size=(5, 4)))
    with pytest.raises(TypeError, match="layer must be a backprop_lib Module"):
        gc.check_layer(np.tanh, rng.normal(size=(5, 4)))
