"""Losses: values and dL/dout against PyTorch and central finite differences, stability,
float32, the backward scale, and bad input."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_lib.nn import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss

F = torch.nn.functional


def rel_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if den == 0 else float(np.linalg.norm(a - b) / den)


def numerical_grad(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        fp = f()
        x[idx] = old - h
        fm = f()
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * h)
    return grad


def torch_loss_and_grad(fn, out, y, **kw):
    t = torch.tensor(out, requires_grad=True)
    ty = torch.tensor(y)
    loss = fn(t, ty, **kw)
    loss.backward()
    return loss.item(), t.grad.numpy()


cases = st.fixed_dictionaries({
    "batch": st.integers(1, 7), "k": st.integers(1, 5), "seed": st.integers(0, 2**31 - 1),
    "scale": st.sampled_from([0.1, 1.0, 5.0]), "reduction": st.sampled_from(["mean", "sum"]),
})


def make_data(case, kind):
    rng = np.random.default_rng(case["seed"])
    shape = (case["batch"], case["k"] + (1 if kind == "ce" else 0))  # CE needs ≥ 2 classes
    out = case["scale"] * rng.normal(size=shape)
    if kind == "mse":
        y = rng.normal(size=shape)
    elif kind == "ce":
        y = rng.integers(0, shape[1], size=case["batch"])
    else:
        y = rng.uniform(0, 1, size=shape)  # soft targets, about half of them rounded to 0/1
        hard = rng.random(shape) < 0.5
        y[hard] = np.round(y[hard])
    return out, y


LOSSES = [
    ("mse", MSELoss, F.mse_loss),
    ("ce", CrossEntropyLoss, F.cross_entropy),
    ("bce", BCEWithLogitsLoss, F.binary_cross_entropy_with_logits),
]
IDS = [c[0] for c in LOSSES]


@pytest.mark.parametrize("kind, cls, tf", LOSSES, ids=IDS)
@settings(max_examples=30, deadline=None)
@given(case=cases)
def test_loss_matches_torch(kind, cls, tf, case):
    out, y = make_data(case, kind)
    loss_fn = cls(reduction=case["reduction"])
    loss = loss_fn(out, y)
    grad = loss_fn.backward()
    t_loss, t_grad = torch_loss_and_grad(tf, out, y, reduction=case["reduction"])
    assert isinstance(loss, float)
    assert rel_error(loss, t_loss) < 1e-7
    assert rel_error(grad, t_grad) < 1e-7
    assert grad.shape == out.shape


@pytest.mark.parametrize("kind, cls, tf", LOSSES, ids=IDS)
@settings(max_examples=30, deadline=None)
@given(case=cases)
def test_loss_matches_finite_differences(kind, cls, tf, case):
    out, y = make_data(case, kind)
    loss_fn = cls(reduction=case["reduction"])
    loss_fn(out, y)
    grad = loss_fn.backward()
    num = numerical_grad(lambda: cls(reduction=case["reduction"])(out, y), out)
    # Relative error with a floor: each element's term has an O(1) derivative, scaled by
    # 1/N for reduction="mean". Where the gradient vanishes (BCE with σ(x) ≈ y) a relative
    # error means nothing; there the absolute error must stay below 1e-11 of that scale.
    scale = 1.0 / (out.shape[0] if kind == "ce" else out.size) if case["reduction"] == "mean" else 1.0
    den = max(np.linalg.norm(grad) + np.linalg.norm(num), 1e-4 * scale)
    assert np.linalg.norm(grad - num) / den < 1e-7


def test_cross_entropy_gradient_is_softmax_minus_onehot(rng):
    z = rng.normal(size=(6, 4))
    y = np.array([0, 3, 1, 1, 2, 0])
    loss_fn = CrossEntropyLoss()
    loss_fn(z, y)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss_fn.probs, p, rtol=1e-12)
    np.testing.assert_allclose(loss_fn.backward(), (p - np.eye(4)[y]) / 6, rtol=1e-12, atol=1e-15)


def test_mse_value_by_hand():
    loss_fn = MSELoss()
    assert loss_fn(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]])) == pytest.approx(2.5)
    np.testing.assert_allclose(loss_fn.backward(), [[1.0], [2.0]])  # 2(out − y)/N
    assert MSELoss(reduction="sum")(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]])) == pytest.approx(5.0)


@pytest.mark.parametrize("kind, cls, tf", LOSSES, ids=IDS)
def test_backward_scale_and_repeatability(kind, cls, tf):
    case = {"batch": 4, "k": 3, "seed": 0, "scale": 1.0, "reduction": "mean"}
    out, y = make_data(case, kind)
    loss_fn = cls()
    loss_fn(out, y)
    g1 = loss_fn.backward()
    np.testing.assert_allclose(loss_fn.backward(2.5), 2.5 * g1, rtol=1e-14)
    np.testing.assert_allclose(loss_fn.backward(grad_out=-1.0), -g1, rtol=1e-14)
    np.testing.assert_allclose(loss_fn.backward(), g1, rtol=0, atol=0)  # backward does not consume
    assert loss_fn.parameters() == []
    with pytest.raises(TypeError, match="grad_out must be a number"):
        loss_fn.backward(np.ones(3))


@pytest.mark.parametrize("kind, cls, tf", LOSSES, ids=IDS)
def test_float32_path(kind, cls, tf):
    case = {"batch": 5, "k": 3, "seed": 1, "scale": 2.0, "reduction": "mean"}
    out, y = make_data(case, kind)
    y32 = y if kind == "ce" else y.astype(np.float32)
    f32, f64 = cls(), cls()
    loss32 = f32(out.astype(np.float32), y32)
    g32 = f32.backward()
    assert g32.dtype == np.float32
    assert loss32 == pytest.approx(f64(out, y), rel=1e-5)
    np.testing.assert_allclose(g32, f64.backward(), rtol=1e-4, atol=1e-6)


def test_stable_for_huge_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1.0, 3e3], [800.0, 800.0, -800.0]])
    y = np.array([1, 0, 2])
    b = np.array([[1e4, -1e4, 0.0], [-800.0, 800.0, 3.0]])
    tb = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.25]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warnings
        ce, bce = CrossEntropyLoss(), BCEWithLogitsLoss()
        ce_val, bce_val = ce(z, y), bce(b, tb)
        ce_grad, bce_grad = ce.backward(), bce.backward()
    t_ce, t_ce_grad = torch_loss_and_grad(F.cross_entropy, z, y)
    t_bce, t_bce_grad = torch_loss_and_grad(F.binary_cross_entropy_with_logits, b, tb)
    assert np.isfinite(ce_val) and np.isfinite(bce_val)
    assert ce_val == pytest.approx(t_ce, rel=1e-12)
    assert bce_val == pytest.approx(t_bce, rel=1e-12)
    np.testing.assert_allclose(ce_grad, t_ce_grad, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(bce_grad, t_bce_grad, rtol=1e-12, atol=1e-300)


# -- bad input ------------------------------------------------------------------------------
def test_mse_shape_mismatch_names_expected_shape():
    with pytest.raises(ValueError, match=r"target y has shape \(5,\); expected \(5, 1\).*reshape\(-1, 1\)"):
        MSELoss()(np.zeros((5, 1)), np.zeros(5))
    with pytest.raises(ValueError, match=r"target y has shape \(5, 2\); expected \(5, 3\)"):
        MSELoss()(np.zeros((5, 3)), np.zeros((5, 2)))


def test_bce_shape_mismatch():
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss target y has shape \(4, 2\); expected \(4, 1\)"):
        BCEWithLogitsLoss()(np.zeros((4, 1)), np.zeros((4, 2)))


@pytest.mark.parametrize("labels, match", [
    (np.array([0, 3, 1]), r"labels must lie in \[0, 2\] for 3 classes; got values from 0 to 3"),
    (np.array([0, -1, 1]), r"labels must lie in \[0, 2\].*from -1 to 1"),
])
def test_cross_entropy_labels_out_of_range(labels, match):
    with pytest.raises(ValueError, match=match):
        CrossEntropyLoss()(np.zeros((3, 3)), labels)


def test_cross_entropy_label_types_and_shapes():
    logits = np.zeros((3, 4))
    with pytest.raises(TypeError, match=r"integer class labels; got dtype float64.*astype\(np.int64\)"):
        CrossEntropyLoss()(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match=r"one-hot.*argmax\(axis=1\)"):
        CrossEntropyLoss()(logits, np.eye(4)[[0, 1, 2]])
    with pytest.raises(ValueError, match=r"target y has shape \(3, 1\); expected \(3,\)"):
        CrossEntropyLoss()(logits, np.array([[0], [1], [2]]))
    with pytest.raises(ValueError, match="2-dimensional"):
        CrossEntropyLoss()(np.zeros(4), np.array([1]))
    assert CrossEntropyLoss()(logits, [0, 1, 3]) == pytest.approx(np.log(4))  # a list of ints is fine


def test_bce_targets_must_be_probabilities():
    expected = r"probabilities in \[0, 1\]; got values from -1.0 to 1.0.*\(y \+ 1\) / 2"
    with pytest.raises(ValueError, match=expected):
        BCEWithLogitsLoss()(np.zeros((2, 1)), np.array([[-1.0], [1.0]]))


@pytest.mark.parametrize("cls", [MSELoss, BCEWithLogitsLoss])
def test_integer_targets_are_refused_for_float_losses(cls):
    with pytest.raises(TypeError, match=r"target y must have dtype float64 or float32.*astype"):
        cls()(np.zeros((2, 1)), np.array([[0], [1]]))


@pytest.mark.parametrize("cls", [MSELoss, CrossEntropyLoss, BCEWithLogitsLoss])
def test_common_bad_input(cls):
    with pytest.raises(ValueError, match=r"backward\(\) was called before forward"):
        cls().backward()
    with pytest.raises(ValueError, match="unknown reduction 'avg'; expected one of 'mean', 'sum'"):
        cls(reduction="avg")
    bad = np.zeros((2, 2))
    bad[0, 1] = np.nan
    y = np.array([0, 1]) if cls is CrossEntropyLoss else np.zeros((2, 2))
    with pytest.raises(ValueError, match="NaN or infinite"):
        cls()(bad, y)
    with pytest.raises(TypeError, match="float64 or float32"):
        cls()(np.zeros((2, 2), dtype=np.int64), y)
    empty_y = np.zeros(0, dtype=np.int64) if cls is CrossEntropyLoss else np.zeros((0, 2))
    with pytest.raises(ValueError, match="empty batch"):
        cls()(np.zeros((0, 2)), empty_y)
