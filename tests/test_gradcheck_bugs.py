"""Planted backward bugs are caught by bp.gradcheck; the correct layers pass; the bug hunt's
dtype-aware check agrees with bp.gradcheck in float64 and shows float32, kinks and dropout."""

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib import gradcheck_bugs as gb

X = np.random.default_rng(3).standard_normal((6, 4))


def _torch_grads(layer, x, g):
    """dL/dW, dL/db, dL/dx of L = Σ tanh(x Wᵀ + b) ⊙ g by autograd (float64)."""
    W = torch.tensor(layer.weight.data, requires_grad=True)
    b = torch.tensor(layer.bias.data, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    (torch.tanh(xt @ W.T + b) * torch.tensor(g)).sum().backward()
    return W.grad.numpy(), b.grad.numpy(), xt.grad.numpy()


@pytest.mark.parametrize(("n_in", "n_out"), [(4, 4), (3, 5)])
def test_dense_tanh_matches_torch_and_passes_gradcheck(n_in, n_out):
    layer = gb.DenseTanh(n_in, n_out, seed=1)
    x = X[:, :n_in]
    g = np.random.default_rng(0).standard_normal((6, n_out))
    out = layer(x)
    np.testing.assert_allclose(out, np.tanh(x @ layer.weight.data.T + layer.bias.data), rtol=1e-14)
    dx = layer.backward(g)
    dW, db, dx_t = _torch_grads(layer, x, g)
    np.testing.assert_allclose(layer.weight.grad, dW, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.bias.grad, db, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, dx_t, rtol=1e-12, atol=1e-14)
    report = bp.gradcheck.check_layer(gb.DenseTanh(n_in, n_out, seed=1), x)
    assert report.verdict == "correct", str(report)


@pytest.mark.parametrize(("bug", "wrong_arrays"), [
    ("transpose", {"weight"}),
    ("×2", {"bias"}),
    ("missing φ′", {"weight", "bias", "input"}),
])
def test_each_planted_bug_is_wrong_where_it_was_planted(bug, wrong_arrays):
    report = bp.gradcheck.check_layer(gb.PLANTED[bug](4, 4, seed=0), X)
    assert report.verdict == "wrong", str(report)
    assert report.max_rel_error >= bp.gradcheck.WRONG_FROM
    verdicts = {row.name: row.verdict for row in report.all_rows}
    assert {name for name, v in verdicts.items() if v == "wrong"} == wrong_arrays, verdicts
    assert all(v == "correct" for name, v in verdicts.items() if name not in wrong_arrays), verdicts


@pytest.mark.parametrize("bug", sorted(gb.PLANTED))
def test_planted_bug_inside_a_network_is_caught_by_check(bug):
    net = bp.nn.Sequential(gb.PLANTED[bug](4, 4, seed=2), bp.nn.Linear(4, 1, seed=3))
    y = np.random.default_rng(1).standard_normal((6, 1))
    assert bp.gradcheck.check(net, bp.nn.MSELoss(), X, y).verdict == "wrong"
    good = bp.nn.Sequential(gb.DenseTanh(4, 4, seed=2), bp.nn.Linear(4, 1, seed=3))
    assert bp.gradcheck.check(good, bp.nn.MSELoss(), X, y).ok


def test_transposed_weight_gradient_fails_loudly_on_a_non_square_layer():
    layer = gb.TransposedWeightGrad(4, 3, seed=0)
    layer(X)
    with pytest.raises(ValueError, match="shape"):
        layer.backward(np.ones((6, 3)))


def test_suspects_hold_the_three_bugs_and_one_correct_layer():
    assert sorted(gb.SUSPECTS.values(), key=lambda c: c.__name__) == sorted(
        [*gb.PLANTED.values(), gb.DenseTanh], key=lambda c: c.__name__)


@pytest.mark.parametrize("name", [n for n in gb.LAYERS if not n.startswith("Dropout")])
def test_hunt_check_in_float64_agrees_with_bp_gradcheck(name):
    layer, x = gb.make_layer(name, np.float64, seed=0)
    g = np.random.default_rng(5).standard_normal(layer(x).shape)
    rows, tiny = gb.hunt_check(layer, x, g, h=1e-5)
    fresh, _ = gb.make_layer(name, np.float64, seed=0)
    report = bp.gradcheck.check_layer(fresh, x, g, h=1e-5)
    assert tiny == pytest.approx(report.tiny, rel=1e-12)
    assert [r.name for r in rows] == [r.name for r in report.all_rows]
    for mine, theirs in zip(rows, report.all_rows, strict=True):
        np.testing.assert_allclose(mine.numeric, theirs.numeric, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(mine.analytic, theirs.analytic, rtol=1e-12, atol=1e-15)
        assert mine.verdict == theirs.verdict


def test_hunt_check_restores_every_array():
    layer, x = gb.make_layer("Linear → Tanh", np.float32, seed=0)
    before = [p.data.copy() for p in layer.parameters()] + [x.copy()]
    g = np.ones((5, 4), dtype=np.float32)
    rows, _ = gb.hunt_check(layer, x, g, h=1e-3)
    after = [p.data for p in layer.parameters()] + [x]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(p.data.dtype == np.float32 for p in layer.parameters())


def test_float32_fails_the_correct_band_for_every_step_and_float64_passes():
    for h in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
        r32 = gb.compute_hunt(gb.HuntSettings(layer="suspect B", dtype="float32", h=h))
        median = np.median(np.concatenate([row.errors for row in r32.rows]))
        assert median > 1e-6, (h, median)
    r64 = gb.compute_hunt(gb.HuntSettings(layer="suspect B", dtype="float64", h=1e-5))
    assert r64.verdict == "correct" and r64.max_error < 1e-7


def test_hunt_shows_both_arms_of_the_step_size_v_in_float64():
    errors = {h: gb.compute_hunt(gb.HuntSettings(layer="suspect B", h=h)).max_error
              for h in (1e-1, 1e-3, 1e-5, 1e-9, 1e-11)}
    assert errors[1e-5] < 1e-7                                   # the sweet spot
    assert errors[1e-1] > errors[1e-3] > errors[1e-5]            # truncation: shrinks with h
    assert errors[1e-11] > errors[1e-9] > errors[1e-5]           # rounding: grows as h shrinks
    assert gb.compute_hunt(gb.HuntSettings(layer="suspect B", h=1e-11)).verdict != "correct"


def test_relu_kink_is_wrong_when_h_crosses_it_and_correct_below():
    crossed = gb.compute_hunt(gb.HuntSettings(layer="ReLU, inputs near its kink", h=1e-5))
    assert crossed.verdict == "wrong" and "kink" in crossed.note
    clean = gb.compute_hunt(gb.HuntSettings(layer="ReLU, inputs near its kink", h=1e-7))
    assert clean.verdict == "correct" and clean.note == ""


def test_dropout_in_training_mode_is_refused_by_bp_gradcheck_and_wrong_in_the_hunt():
    layer, x = gb.make_layer("Dropout(0.5), training mode")
    with pytest.raises(ValueError, match="eval"):
        bp.gradcheck.check_layer(layer, x)
    r = gb.compute_hunt(gb.HuntSettings(layer="Dropout(0.5), training mode"))
    assert r.verdict == "wrong" and "mask" in r.note


def test_explorer_set_recomputes_and_redraws():
    hunt = gb.BugHunt(layer="suspect B")
    png = hunt.render_png()
    assert hunt.result.verdict == "correct"
    hunt.set(layer="suspect D")
    assert hunt.result.errors()["weight"] >= 1e-4 and hunt.result.errors()["bias"] < 1e-7
    assert hunt.render_png() != png
    assert set(hunt.controls()) == {"layer", "dtype", "h"}
    hunt.set(dtype="float32", h=1e-3)
    assert "float32" in hunt.ax.get_title() and hunt.result.note


@pytest.mark.parametrize("bad", [{"layer": "suspect Z"}, {"dtype": "float16"}, {"h": 0.0}, {"h": 2.0}])
def test_bad_settings_raise_value_error_naming_the_setting(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        gb.BugHunt().set(**bad)
