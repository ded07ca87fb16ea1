"""Notebook 20's checkers beyond their registered examples: the references agree with bp.ntk, the
round-off trap of relu_step is real, and answers of the wrong kind are wrong, not errors."""

import math

import numpy as np
import pytest

import backprop_lib as bp
import backprop_lib.exercises as ex
from backprop_lib.exercises import nb20_ntk as nb20
from backprop_lib.ntk.analytic import _relu_step


def test_linear_model_reference_is_the_ntk_of_a_linear_layer_on_the_features():
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    layer = bp.nn.Sequential(bp.nn.Linear(nb20._P, 1, bias=False, seed=0))   # f = θᵀφ
    expected = bp.ntk.empirical(layer, nb20._features(x1), nb20._features(x2))
    np.testing.assert_allclose(nb20._linear_ref(nb20._features, None, x1, x2), expected, rtol=1e-12)


def test_relu_reference_matches_the_library_step_and_quadrature():
    k11, k22, k12 = nb20._relu_cases()
    new, kdot = nb20._relu_ref(k11, k22, k12)
    lib = _relu_step(k11[:, 0], k22[0], k12)
    # the parallel pair (0, 4) has ρ = 1 − O(ε): the library sets θ = 0 there, the reference's
    # θ ≈ √(2ε) ≈ 2e-8 moves Kdot by θ/2π ≈ 3e-9 (why the checker's tolerance is 1e-7)
    np.testing.assert_allclose(new, lib[2], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(kdot, lib[3], rtol=0, atol=1e-8)
    np.testing.assert_allclose(np.diag(new), np.diag(k11) / 2, rtol=1e-15)       # E relu(u)² = K/2
    np.testing.assert_allclose(kdot[1, 5], 0.0, atol=1e-15)                        # antiparallel: θ = π
    f, df = bp.ntk.kernel_quadrature.resolve_activation("relu")
    quad = bp.ntk.kernel_quadrature.gaussian_expectations(f, df, k11[:, 0], k22[0], k12, 16)
    np.testing.assert_allclose(new, quad[2], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(kdot, quad[3], rtol=0, atol=1e-8)


def test_unclipped_arccos_really_gives_nan_on_the_diagonal():
    k11, k22, k12 = nb20._relu_cases()
    with np.errstate(invalid="ignore"):
        angle = np.arccos(k12 / np.sqrt(k11 * k22))
    assert np.all(np.isnan(np.diag(angle)))
    assert np.isfinite(angle[0, 1])


def test_one_hidden_references_agree_with_the_library_and_torch():
    torch = pytest.importorskip("torch")
    w, v, x = nb20._hidden_case()
    lib = nb20._hidden_reference(w, v, x)
    np.testing.assert_allclose(nb20._hidden_ref(w, v, x), lib, rtol=1e-12)
    np.testing.assert_allclose(nb20._hidden_closed(w, v, x), lib, rtol=1e-12)
    n, d = w.shape
    wt, vt = torch.tensor(w, requires_grad=True), torch.tensor(v, requires_grad=True)
    rows = []
    for xi in torch.tensor(x):
        f = vt @ torch.relu(wt @ xi / math.sqrt(d)) / math.sqrt(n)
        gw, gv = torch.autograd.grad(f, (wt, vt))
        rows.append(torch.cat([gw.ravel(), gv]).numpy())
    jac = np.array(rows)
    np.testing.assert_allclose(lib, jac @ jac.T, rtol=1e-12)


@pytest.mark.parametrize(("key", "answer"), [
    ("20.linear_model_ntk", lambda phi, theta, x1, x2: 3.0),
    ("20.linear_model_ntk", lambda phi, theta, x1, x2: "Θ"),
    ("20.linear_model_ntk", np.eye(3)),
    ("20.relu_step", lambda k11, k22, k12: k12),
    ("20.relu_step", lambda k11, k22, k12: (k12, k12, k12)),
    ("20.relu_step", lambda k11, k22, k12: (k12[0], k12[0])),
    ("20.relu_step", lambda k11, k22, k12: (k12 / 2, np.full_like(k12, np.inf))),
    ("20.one_hidden_ntk", lambda w, v, x: None),
    ("20.one_hidden_ntk", lambda w, v, x: x @ x.T),
    ("20.one_hidden_ntk", lambda w, v, x: 1 / 0),
])
def test_wrong_kinds_of_answer_are_wrong_not_errors(key, answer):
    fb = ex.check(key, answer)
    assert fb.status == "wrong" and fb.message, str(fb)


def test_messages_name_the_mistake():
    assert "diagonal" in ex.check("20.relu_step", nb20._wrong_unclipped_arccos).message
    assert "readout" in ex.check("20.one_hidden_ntk", nb20._wrong_no_readout).message
    assert "7 × 7" in ex.check("20.linear_model_ntk", nb20._wrong_phi_phi_t).message
