"""Notebook 23's checkers beyond their registered examples: each typical mistake gets its own message,
the references agree with PyTorch and with bp.nn.StochasticDepth, a half-written answer is "not
attempted", and malformed answers are wrong, never an error."""

import numpy as np
import pytest
import torch

import backprop_lib.exercises as ex
from backprop_lib.exercises import nb23_modern_blocks as nb23


def _todo(*_args, **_kwargs):
    raise NotImplementedError


@pytest.mark.parametrize(("mistake", "words"), [
    ("P ⊙ dP", ("−p pᵀ",)),
    ("P(1 − P) ⊙ dP", ("sigmoid",)),
    ("sum over the wrong axis", ("axis 0",)),
    ("factor P forgotten", ("factor P",)),
])
def test_softmax_backward_names_the_mistake(mistake, words):
    fb = ex.check("23.softmax_backward", ex.REGISTRY["23.softmax_backward"].wrong[mistake])
    assert fb.status == "wrong"
    for word in words:
        assert word in fb.message


def test_softmax_backward_reference_is_torch_autograd(rng):
    s = torch.tensor(rng.normal(size=(4, 6)), requires_grad=True)
    dP = rng.normal(size=(4, 6))
    P = torch.softmax(s, dim=-1)
    P.backward(torch.from_numpy(dP))
    np.testing.assert_allclose(nb23._softmax_backward_ref(P.detach().numpy(), dP), s.grad.numpy(),
                               rtol=0, atol=1e-14)


@pytest.mark.parametrize(("mistake", "words"), [
    ("1/√d_k missing in dK", ("dK has no 1/√d_k",)),
    ("1/√d_k missing in dQ and dK", ("√d_k times too large",)),
    ("dV = P dO", ("Pᵀ dO",)),
    ("dK = dS Q", ("dSᵀ Q",)),
    ("P ⊙ dP in the softmax", ("rowsum",)),
])
def test_attention_backward_names_the_mistake(mistake, words):
    fb = ex.check("23.attention_backward", ex.REGISTRY["23.attention_backward"].wrong[mistake])
    assert fb.status == "wrong"
    for word in words:
        assert word in fb.message + fb.hint


def test_attention_backward_reference_is_torch(rng):
    dO, Q, K, V, P = nb23._attention_case(5, 3, 0)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (Q, K, V))
    torch.nn.functional.scaled_dot_product_attention(tq, tk, tv).backward(torch.from_numpy(dO))
    for ours, theirs in zip(nb23._attention_backward_ref(dO, Q, K, V, P), (tq, tk, tv), strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=0, atol=1e-12)


def test_attention_backward_other_errors_say_which_gradient():
    def only_dV_wrong(dO, Q, K, V, P):
        dQ, dK, dV = nb23._attention_backward_ref(dO, Q, K, V, P)
        return dQ, dK, 2 * dV

    fb = ex.check("23.attention_backward", only_dV_wrong)
    assert fb.status == "wrong" and "dV" in fb.message and "dQ" not in fb.message


@pytest.mark.parametrize(("mistake", "words"), [
    ("no p", ("always", "p_l F_l")),
    ("inverted", ("torchvision",)),
    ("drop probability", ("1 − p_l",)),
    ("whole output", ("skip",)),
    ("one p", ("own survival probability",)),
])
def test_stochastic_depth_eval_names_the_mistake(mistake, words):
    fb = ex.check("23.stochastic_depth_eval", ex.REGISTRY["23.stochastic_depth_eval"].wrong[mistake])
    assert fb.status == "wrong"
    for word in words:
        assert word in fb.message


def test_stochastic_depth_eval_reference_is_the_mean_of_training_outputs():
    # one block: the mean of x + b F(x) over many draws of b ~ Bernoulli(p) tends to x + p F(x)
    x, Fs, p = nb23._sd_case(0, blocks=1)
    rng = np.random.default_rng(0)
    b = rng.random(20_000) < p[0]
    mean = x + b.mean() * Fs[0](x)
    se = np.sqrt(p[0] * (1 - p[0]) / b.size) * np.abs(Fs[0](x))
    assert np.all(np.abs(mean - nb23._sd_eval_ref(x, Fs, p)) <= 4 * se + 1e-15)


@pytest.mark.parametrize(("key", "answer"), [
    ("23.softmax_backward", _todo),
    ("23.attention_backward", _todo),
    ("23.stochastic_depth_eval", _todo),
    ("23.softmax_backward", ...),
])
def test_templates_are_not_attempted(key, answer):
    assert ex.check(key, answer).status == "not attempted"


@pytest.mark.parametrize(("key", "answer"), [
    ("23.softmax_backward", lambda P, dP: None),
    ("23.softmax_backward", lambda P, dP: dP.sum()),
    ("23.softmax_backward", "P * dP"),
    ("23.attention_backward", lambda dO, Q, K, V, P: dO),
    ("23.attention_backward", lambda dO, Q, K, V, P: (dO, dO, None)),
    ("23.attention_backward", lambda dO, Q, K, V, P: (P, P, P)),
    ("23.stochastic_depth_eval", lambda x, blocks, p: None),
    ("23.stochastic_depth_eval", lambda x, blocks, p: x),
    ("23.stochastic_depth_eval", lambda x, blocks, p: x[0]),
    ("23.stochastic_depth_eval", lambda x, blocks, p: blocks[0](x) + 1),
])
def test_malformed_answers_are_wrong_not_errors(key, answer):
    fb = ex.check(key, answer)
    assert fb.status == "wrong" and fb.message
