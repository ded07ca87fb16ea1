"""SelfAttention and the attention functions: forward and backward vs PyTorch (float64, ≤ 1e-10),
central differences (bp.gradcheck < 1e-7), the softmax Jacobian, rowsum(dS) = 0, shapes and errors."""

import numpy as np
import pytest
import torch

import backprop_lib as bp
from backprop_lib.nn.attention import (
    SelfAttention,
    attention,
    attention_backward,
    softmax,
    softmax_backward,
    softmax_jacobian,
)


def torch_self_attention(att, x, g):
    """The same head in torch autograd: returns (O, dL/dx, {name: dL/dp}) for L = Σ O ⊙ g."""
    xt = torch.tensor(x, requires_grad=True)
    params = {name: torch.tensor(p.data, requires_grad=True) for name, p in att.named_parameters()}

    def proj(which):
        out = xt @ params[f"{which}_proj.weight"].T
        bias = params.get(f"{which}_proj.bias")
        return out if bias is None else out + bias

    Q, K, V = proj("q"), proj("k"), proj("v")
    S = Q @ K.transpose(-1, -2)
    if att.scale:
        S = S / np.sqrt(att.d_k)
    O = torch.softmax(S, dim=-1) @ V
    (O * torch.from_numpy(g)).sum().backward()
    return O.detach().numpy(), xt.grad.numpy(), {k: v.grad.numpy() for k, v in params.items()}


@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("shape", [(3, 5, 6), (7, 6)])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_and_backward_match_torch(scale, shape, bias, rng):
    att = SelfAttention(6, 4, scale=scale, bias=bias, seed=1)
    x = rng.normal(size=shape)
    out = att(x)
    g = rng.normal(size=out.shape)
    dx = att.backward(g)
    t_out, t_dx, t_grads = torch_self_attention(att, x, g)
    assert out.shape == shape[:-1] + (4,)
    np.testing.assert_allclose(out, t_out, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, t_dx, rtol=0, atol=1e-10)
    assert [n for n, _ in att.named_parameters()] == list(t_grads)
    for name, p in att.named_parameters():
        np.testing.assert_allclose(p.grad, t_grads[name], rtol=0, atol=1e-10, err_msg=name)


def test_matches_torch_scaled_dot_product_attention(rng):
    Q, K, V = (rng.normal(size=(2, 5, 8)) for _ in range(3))
    dO = rng.normal(size=(2, 5, 8))
    O, P = attention(Q, K, V)
    dQ, dK, dV = attention_backward(dO, Q, K, V, P)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (Q, K, V))
    to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv)
    to.backward(torch.from_numpy(dO))
    np.testing.assert_allclose(O, to.detach().numpy(), rtol=0, atol=1e-12)
    for ours, theirs in ((dQ, tq), (dK, tk), (dV, tv)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("scale", [True, False])
def test_gradcheck_passes(scale, rng):
    att = SelfAttention(5, 3, scale=scale, seed=2)
    report = bp.gradcheck.check_layer(att, rng.normal(size=(2, 4, 5)))
    assert report.ok and report.max_rel_error < 1e-7, str(report)


def test_gradcheck_catches_a_missing_scale_in_dK(rng, monkeypatch):
    import backprop_lib.nn.attention as mod

    right = mod._attention_backward

    def no_scale_in_dK(dO, Q, K, V, P, c):
        dQ, dK, dV, dS = right(dO, Q, K, V, P, c)
        return dQ, dK / c, dV, dS

    monkeypatch.setattr(mod, "_attention_backward", no_scale_in_dK)
    report = bp.gradcheck.check_layer(SelfAttention(5, 4, seed=3), rng.normal(size=(6, 5)))
    assert report["k_proj.weight"].verdict == "wrong" and report["q_proj.weight"].verdict == "correct"


def test_rows_of_P_sum_to_one_and_rows_of_dS_to_zero(rng):
    att = SelfAttention(8, 16, scale=False, seed=0)
    out = att(rng.normal(size=(3, 10, 8)))
    att.backward(rng.normal(size=out.shape))
    np.testing.assert_allclose(att.P.sum(axis=-1), 1.0, rtol=0, atol=1e-14)
    assert np.abs(att.dS.sum(axis=-1)).max() < 1e-12 * np.abs(att.dS).max()


def test_key_bias_gets_no_gradient(rng):
    # b_k adds q_i·b_k to the whole row i of scores, which the softmax ignores: dL/db_k = Σ_j dK_j = 0
    att = SelfAttention(4, 3, seed=5)
    out = att(rng.normal(size=(2, 6, 4)))
    att.backward(rng.normal(size=out.shape))
    assert np.abs(att.k_proj.bias.grad).max() < 1e-13 * np.abs(att.q_proj.bias.grad).max()


def test_softmax_backward_is_the_jacobian_transpose(rng):
    P = softmax(rng.normal(size=(2, 4, 5)))
    dP = rng.normal(size=P.shape)
    J = softmax_jacobian(P)                                     # (2, 4, 5, 5)
    np.testing.assert_allclose(J, np.swapaxes(J, -1, -2), rtol=0, atol=0)
    np.testing.assert_allclose(softmax_backward(P, dP), np.einsum("bijk,bik->bij", J, dP), rtol=1e-13,
                               atol=1e-15)
    s = torch.tensor(rng.normal(size=5))
    jt = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0), s).numpy()
    np.testing.assert_allclose(softmax_jacobian(softmax(s.numpy())), jt, rtol=0, atol=1e-15)


def test_softmax_is_stable_for_large_scores():
    P = softmax(np.array([[1000.0, 999.0, -1000.0]]))
    np.testing.assert_allclose(P, [[1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1)), 0.0]], rtol=1e-14)


def test_scaling_divides_the_score_standard_deviation_by_sqrt_dk(rng):
    Q, K = rng.normal(size=(2, 400, 16, 256))
    _, P_scaled = attention(Q, K, K)
    _, P_raw = attention(Q, K, K, scale=False)
    assert P_raw.max(axis=-1).mean() > 0.8 and P_scaled.max(axis=-1).mean() < 0.5


def test_single_sequence_gives_the_same_as_a_batch_of_one(rng):
    att = SelfAttention(3, 2, seed=4)
    x = rng.normal(size=(5, 3))
    g = rng.normal(size=(5, 2))
    out1 = att(x)
    dx1 = att.backward(g)
    grads1 = [p.grad.copy() for p in att.parameters()]
    att.zero_grad()
    out2 = att(x[None])
    dx2 = att.backward(g[None])
    np.testing.assert_array_equal(out1, out2[0])
    np.testing.assert_array_equal(dx1, dx2[0])
    for a, p in zip(grads1, att.parameters(), strict=True):
        np.testing.assert_array_equal(a, p.grad)


def test_lecun_init_gives_unit_variance_queries(rng):
    att = SelfAttention(64, 128, bias=False, init="lecun", seed=0)
    att(rng.normal(size=(4, 256, 64)))
    assert 0.9 < att.Q.var() < 1.1 and 0.9 < att.K.var() < 1.1


def test_clear_errors(rng):
    att = SelfAttention(4, 2)
    with pytest.raises(ValueError, match="before forward"):
        att.backward(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"expected \(batch, T, 4\)"):
        att(rng.normal(size=(3, 5)))
    with pytest.raises(ValueError, match=r"expected \(batch, T, 4\)"):
        att(rng.normal(size=(4,)))
    att(rng.normal(size=(3, 4)))
    with pytest.raises(ValueError, match="grad_out has shape"):
        att.backward(np.ones((3, 4)))
    with pytest.raises(TypeError, match="scale must be True"):
        SelfAttention(4, 2, scale="yes")
    with pytest.raises(ValueError, match="d_k"):
        SelfAttention(4, 0)
    assert "d_k=2" in repr(att)
