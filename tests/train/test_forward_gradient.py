"""Forward gradients: the JVP is exact (= ∇L·v from backprop, = torch.func.jvp, = dual numbers), the
estimate (∇L·v)v is unbiased (exactly, over all 2^W sign vectors; statistically, for Gaussian v), and
its cosine with ∇L follows √(2/(πW)) and, averaged over K draws, 1/√(1 + (W+1)/K)."""

import itertools

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.train.forward_gradient import forward_gradient, forward_gradient_study, jvp


def _problem(sizes=(4, 6, 5, 3), activation="tanh", seed=0, batch=7):
    rng = np.random.default_rng(seed + 50)
    net = bp.nn.mlp(list(sizes), activation=activation, seed=seed)
    x, y = rng.normal(size=(batch, sizes[0])), rng.integers(0, sizes[-1], size=batch)
    return net, bp.nn.CrossEntropyLoss(), x, y, rng


def _backprop_grad(net, loss_fn, x, y):
    net.zero_grad()
    loss = loss_fn(net(x), y)
    net.backward(loss_fn.backward())
    g = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    return float(loss), g


def _dot(a, b):
    return sum(float(np.sum(u * w)) for u, w in zip(a, b, strict=True))


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "gelu"])
def test_jvp_equals_the_gradient_dotted_with_v(activation):
    net, loss_fn, x, y, rng = _problem(activation=activation)
    v = [rng.normal(size=p.shape) for p in net.parameters()]
    loss, dloss = jvp(net, loss_fn, x, y, v)
    ref_loss, g = _backprop_grad(net, loss_fn, x, y)
    assert loss == pytest.approx(ref_loss, rel=1e-14)
    assert dloss == pytest.approx(_dot(g, v), rel=1e-11, abs=1e-14)


def test_jvp_equals_torch_func_jvp():
    torch = pytest.importorskip("torch")
    net, loss_fn, x, y, rng = _problem()
    v = [rng.normal(size=p.shape) for p in net.parameters()]
    tnet = bp.interop.to_torch(net)
    names = [n for n, _ in tnet.named_parameters()]
    primals = tuple(p.detach() for p in tnet.parameters())
    xt, yt = torch.tensor(x), torch.tensor(y)

    def loss_of(*params):
        out = torch.func.functional_call(tnet, dict(zip(names, params, strict=True)), (xt,))
        return torch.nn.functional.cross_entropy(out, yt)

    t_loss, t_dot = torch.func.jvp(loss_of, primals, tuple(torch.tensor(t) for t in v))
    loss, dloss = jvp(net, loss_fn, x, y, v)
    assert loss == pytest.approx(t_loss.item(), rel=1e-13)
    assert dloss == pytest.approx(t_dot.item(), rel=1e-11)


def test_jvp_equals_dual_numbers_on_a_small_net():
    # the course's scalar forward-mode engine: every parameter is Dual(value, v-entry)
    Dual = bp.autodiff.Dual
    net = bp.nn.mlp([2, 3, 2], activation="tanh", seed=1)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    v = [rng.normal(size=p.shape) for p in net.parameters()]
    (W1, b1, W2, b2) = [[[Dual(p, t) for p, t in zip(pr, tr, strict=True)] for pr, tr in
                         zip(np.atleast_2d(P.data), np.atleast_2d(T), strict=True)]
                        for P, T in zip(net.parameters(), v, strict=True)]
    b1, b2 = b1[0], b2[0]
    total = Dual(0.0)
    for xi, yi in zip(x, y, strict=True):
        h = [(sum((W1[j][k] * float(xi[k]) for k in range(2)), Dual(0.0)) + b1[j]).tanh() for j in range(3)]
        for o in range(2):
            out = sum((W2[o][j] * h[j] for j in range(3)), Dual(0.0)) + b2[o]
            total = total + (out - float(yi[o])) ** 2
    total = total / 8.0                                  # MSELoss: mean over 4 × 2 elements
    loss, dloss = jvp(net, bp.nn.MSELoss(), x, y, v)
    assert loss == pytest.approx(total.primal, rel=1e-13)
    assert dloss == pytest.approx(total.tangent, rel=1e-12)


def test_forward_gradient_is_exactly_unbiased_over_all_sign_vectors():
    # E[v vᵀ] = I for independent fair signs, so the mean of (∇L·v)v over all 2^W sign vectors is ∇L
    net, loss_fn, x, y, _ = _problem(sizes=(2, 2, 2), batch=5)
    shapes = [p.shape for p in net.parameters()]
    W = sum(int(np.prod(s)) for s in shapes)
    assert W == 12
    total = np.zeros(W)
    for signs in itertools.product((-1.0, 1.0), repeat=W):
        flat, v, i = np.array(signs), [], 0
        for s in shapes:
            v.append(flat[i:i + int(np.prod(s))].reshape(s))
            i += int(np.prod(s))
        total += np.concatenate([g.ravel() for g in forward_gradient(net, loss_fn, x, y, v=v)[1]])
    g = np.concatenate([a.ravel() for a in _backprop_grad(net, loss_fn, x, y)[1]])
    np.testing.assert_allclose(total / 2**W, g, rtol=1e-10, atol=1e-14)


def test_forward_gradient_mean_over_gaussian_directions_tends_to_the_gradient():
    net, loss_fn, x, y, _ = _problem(sizes=(3, 3, 2), batch=6)
    g = np.concatenate([a.ravel() for a in _backprop_grad(net, loss_fn, x, y)[1]])
    n = 20000
    rng = np.random.default_rng(0)
    total = np.zeros_like(g)
    for _ in range(n):
        total += np.concatenate([a.ravel() for a in forward_gradient(net, loss_fn, x, y, rng=rng)[1]])
    mean = total / n
    # Cov((g·v)v) = ‖g‖²I + ggᵀ: each entry of the mean has std √((‖g‖² + gᵢ²)/n)
    z = (mean - g) / np.sqrt((g @ g + g**2) / n)
    assert np.max(np.abs(z)) < 4.5
    # a normalised direction, (g·v)v/‖v‖², would be biased by 1/W: far outside these bounds
    assert np.linalg.norm(mean - g) < 0.1 * np.linalg.norm(g)


def test_cosine_study_follows_the_theory():
    x, y = bp.data.digits()
    net = bp.nn.mlp([64, 13, 10], activation="tanh", seed=0)
    s = forward_gradient_study(net, bp.nn.CrossEntropyLoss(), x[:128], y[:128], n_samples=1000, seed=3)
    assert s.num_parameters == 985
    assert s.theory == pytest.approx(np.sqrt(2 / (np.pi * 985)))
    assert np.all(s.cos >= 0)                             # cos = |∇L·v| / (‖∇L‖‖v‖)
    assert s.cos.mean() * np.sqrt(985) == pytest.approx(np.sqrt(2 / np.pi), abs=0.05)
    assert s.cos_of_mean[984] == pytest.approx(s.theory_of_mean(985), abs=0.05)   # K = W: ≈ 1/√2
    assert s.cos_of_mean[-1] > s.cos_of_mean[99] > s.cos_of_mean[9]


def test_forward_gradient_does_not_touch_grads_and_refuses_bad_directions():
    net, loss_fn, x, y, rng = _problem()
    forward_gradient(net, loss_fn, x, y, rng=0)
    assert all(p.grad is None for p in net.parameters())
    v = [rng.normal(size=p.shape) for p in net.parameters()]
    with pytest.raises(ValueError, match="one per parameter"):
        jvp(net, loss_fn, x, y, v[:-1])
    v[0] = v[0].T
    with pytest.raises(ValueError, match="v\\[0\\] has shape"):
        jvp(net, loss_fn, x, y, v)
