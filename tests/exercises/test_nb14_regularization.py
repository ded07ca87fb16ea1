"""Notebook 14's checkers beyond their registered examples: each typical mistake gets its own
message, the references agree with PyTorch (batch-norm backward by autograd, the AdamW step with
torch.optim.AdamW), a half-written answer is "not attempted", and malformed answers are wrong,
never an error."""

import numpy as np
import pytest

import backprop_lib as bp
import backprop_lib.exercises as ex
from backprop_lib.exercises import nb14_regularization as nb14


def _todo(*_args, **_kwargs):
    raise NotImplementedError


# -- 14.dropout ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("mistake", "words"), [
    ("no 1/(1-p)", ("unchanged", "1 − p")),
    ("new mask in backward", ("different", "mask")),
    ("p as keep probability", ("keep probability",)),
    ("1/(1-p) forgotten in backward", ("forgot the 1/(1 − p)",)),
    ("global RNG", ("rng",)),
])
def test_dropout_names_the_mistake(mistake, words):
    fb = ex.check("14.dropout", ex.REGISTRY["14.dropout"].wrong[mistake])
    assert fb.status == "wrong"
    for word in words:
        assert word in fb.message


def test_dropout_mask_kept_in_a_global_is_caught():
    store = {}

    def forward(x, p, rng):
        store["mask"] = rng.random(x.shape) >= p
        return x * store["mask"] / (1 - p), p

    def backward(dout, p):
        return dout * store["mask"] / (1 - p)                 # the mask of the latest forward pass

    fb = ex.check("14.dropout", (forward, backward))
    assert fb.status == "wrong" and "mask" in fb.message


@pytest.mark.parametrize("answer", [
    (_todo, _todo),
    (nb14._dropout_forward_ref, _todo),
    None,
])
def test_dropout_template_is_not_attempted(answer):
    assert ex.check("14.dropout", answer).status == "not attempted"


@pytest.mark.parametrize("answer", [
    nb14._dropout_forward_ref,                                          # one function, not the pair
    (lambda x, p, rng: x, nb14._dropout_backward_ref),                  # no cache
    (lambda x, p, rng: (x, None), lambda d, c: d),                      # no dropout at all
    (nb14._dropout_forward_ref, lambda d, c: None),
    (nb14._dropout_forward_ref, lambda d, c: d[:, :1]),
])
def test_dropout_malformed_answers_are_wrong(answer):
    assert ex.check("14.dropout", answer).status == "wrong"


# -- 14.batchnorm_backward -----------------------------------------------------------------------

@pytest.mark.parametrize(("mistake", "words"), [
    ("mu and sigma held constant", ("constants",)),
    ("sigma held constant", ("σ as a constant",)),
    ("dgamma = sum dy", ("dgamma = Σ dy",)),
    ("unbiased variance", ("unbiased",)),
])
def test_batchnorm_names_the_mistake(mistake, words):
    fb = ex.check("14.batchnorm_backward", ex.REGISTRY["14.batchnorm_backward"].wrong[mistake])
    assert fb.status == "wrong"
    for word in words:
        assert word in fb.message


def test_batchnorm_reference_matches_torch_autograd():
    torch = bp.interop.import_torch()
    dy, x, gamma = nb14._bn_case(12, 3, 5)
    dx, dgamma, dbeta = nb14._batchnorm_backward_ref(dy, x, gamma, 1e-5)
    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(gamma, requires_grad=True)
    bt = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-5)
    y.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(dgamma, gt.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(dbeta, bt.grad.numpy(), rtol=1e-12, atol=1e-13)


def test_batchnorm_other_wrong_answer_gets_the_sum_hint():
    def shifted(dy, x, gamma, eps=1e-5):
        dx, dg, db = nb14._batchnorm_backward_ref(dy, x, gamma, eps)
        return dx + 0.1, dg, db                                   # Σ_i dx_i ≠ 0

    fb = ex.check("14.batchnorm_backward", shifted)
    assert fb.status == "wrong" and "Σ_i dx_i" in fb.hint


@pytest.mark.parametrize("answer", [
    lambda dy, x, gamma, eps=1e-5: dy,                               # not a triple
    lambda dy, x, gamma, eps=1e-5: (dy, None, dy.sum(0)),
    lambda dy, x, gamma, eps=1e-5: (dy.T, (dy * x).sum(0), dy.sum(0)),
    "dx = dy",
])
def test_batchnorm_malformed_answers_are_wrong(answer):
    assert ex.check("14.batchnorm_backward", answer).status == "wrong"


# -- 14.adamw_step -----------------------------------------------------------------------------

@pytest.mark.parametrize(("mistake", "words"), [
    ("decay added to g (Adam's L2)", ("Adam's L2",)),
    ("decay without lr", ("(1 − λ)",)),
    ("no bias correction", ("bias correction",)),
    ("decay of the updated weights", ("after the Adam update",)),
])
def test_adamw_names_the_mistake(mistake, words):
    fb = ex.check("14.adamw_step", ex.REGISTRY["14.adamw_step"].wrong[mistake])
    assert fb.status == "wrong"
    for word in words:
        assert word in fb.message


def test_adamw_reference_matches_torch_optim_adamw():
    torch = bp.interop.import_torch()
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=5)
    grads = [rng.normal(size=5) for _ in range(8)]
    hyper = dict(lr=0.05, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.3)
    p = torch.tensor(theta0, requires_grad=True)
    opt = torch.optim.AdamW([p], **hyper)
    theta, m, v = theta0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        p.grad = torch.from_numpy(g.copy())
        opt.step()
        theta, m, v = nb14._adamw_step_ref(theta, g, m, v, t, **hyper)
        np.testing.assert_allclose(theta, p.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_adamw_checker_reference_run_is_the_library_adamw_and_differs_from_adam():
    rng = np.random.default_rng(1)
    theta0 = rng.normal(size=4)
    grads = [rng.normal(size=4) for _ in range(4)]
    lib = nb14._reference_run(theta0, grads, nb14._ADAMW_HYPER)
    ref = nb14._run(nb14._adamw_step_ref, theta0, grads, nb14._ADAMW_HYPER)
    adam = nb14._run(nb14._wrong_decay_in_grad, theta0, grads, nb14._ADAMW_HYPER)
    np.testing.assert_allclose(lib, ref, rtol=1e-13)
    assert np.max(np.abs(np.array(adam) - np.array(ref))) > 1e-3


@pytest.mark.parametrize("answer", [
    lambda theta, grad, m, v, t, **kw: theta,                        # not a triple
    lambda theta, grad, m, v, t, **kw: (theta[:2], m, v),
    lambda theta, grad, m, v, t, **kw: (theta - kw["lr"] * grad, m, v),   # plain SGD
])
def test_adamw_malformed_answers_are_wrong(answer):
    assert ex.check("14.adamw_step", answer).status == "wrong"


def test_adamw_template_is_not_attempted():
    assert ex.check("14.adamw_step", _todo).status == "not attempted"
