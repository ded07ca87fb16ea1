"""FGSM: the input gradient and the adversarial inputs equal PyTorch's; clipping, ε = 0 and zero
gradients behave; on a trained net the gradient's signs hurt far more than random signs."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.train.adversarial import attack_accuracy, fgsm, fgsm_step, input_gradient, random_sign


@pytest.fixture(scope="module")
def trained():
    x, y = bp.data.digits()
    (xtr, ytr), test = bp.data.train_val_split(x, y, val_fraction=0.2, seed=0)
    net = bp.nn.mlp([64, 32, 10], activation="tanh", seed=0)
    opt = bp.optim.SGD(net.parameters(), lr=0.1)
    bp.train.fit(net, bp.nn.CrossEntropyLoss(), (xtr, ytr), opt, epochs=10, batch_size=16, progress=False)
    return net, test


def _torch_fgsm(net, x, y, eps):
    torch = pytest.importorskip("torch")
    tnet = bp.interop.to_torch(net)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(tnet(xt), torch.tensor(y)).backward()
    return xt.grad.numpy(), torch.clamp(xt + eps * xt.grad.sign(), 0.0, 1.0).detach().numpy()


def test_input_gradient_and_fgsm_equal_torch(trained):
    net, (x, y) = trained
    loss_fn = bp.nn.CrossEntropyLoss()
    t_grad, t_adv = _torch_fgsm(net, x[:50], y[:50], 0.1)
    np.testing.assert_allclose(input_gradient(net, loss_fn, x[:50], y[:50]), t_grad, rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(fgsm(net, loss_fn, x[:50], y[:50], 0.1), t_adv, rtol=0, atol=1e-15)
    assert all(p.grad is None for p in net.parameters())


def test_fgsm_step_signs_clipping_and_zero_gradient():
    x = np.array([[0.0, 0.05, 0.5, 0.97, 1.0, 0.3]])
    g = np.array([[-1.0, -2.0, 3.0, 0.5, 1.0, 0.0]])
    np.testing.assert_allclose(fgsm_step(x, g, 0.1), [[0.0, 0.0, 0.6, 1.0, 1.0, 0.3]], atol=1e-15)
    np.testing.assert_allclose(fgsm_step(x, g, 0.1, clip=None), [[-0.1, -0.05, 0.6, 1.07, 1.1, 0.3]],
                               atol=1e-15)
    np.testing.assert_array_equal(fgsm_step(x, g, 0.0), x)
    with pytest.raises(ValueError, match="epsilon"):
        fgsm_step(x, g, -0.1)
    with pytest.raises(ValueError, match="shape"):
        fgsm_step(x, g.T, 0.1)
    with pytest.raises(ValueError, match="low < high"):
        fgsm_step(x, g, 0.1, clip=(1.0, 0.0))


def test_random_sign_moves_every_pixel_by_epsilon_unless_clipped():
    x = np.full((20, 30), 0.5)
    moved = random_sign(x, 0.2, seed=1)
    np.testing.assert_allclose(np.abs(moved - x), 0.2, atol=1e-15)
    assert 0.35 < np.mean(moved > x) < 0.65
    np.testing.assert_array_equal(random_sign(x, 0.2, seed=1), moved)


def test_gradient_signs_hurt_far_more_than_random_signs(trained):
    net, (x, y) = trained
    loss_fn = bp.nn.CrossEntropyLoss()
    eps = [0.0, 0.05, 0.1, 0.2]
    adv = attack_accuracy(net, loss_fn, x, y, eps, attack="fgsm")
    rnd = attack_accuracy(net, loss_fn, x, y, eps, attack="random")
    clean = np.mean(net(x).argmax(1) == y)
    assert adv[0] == pytest.approx(clean) and rnd[0] == pytest.approx(clean)
    assert np.all(np.diff(adv) < 0)
    assert adv[2] < rnd[2] - 0.2 and rnd[2] > clean - 0.05
    with pytest.raises(ValueError, match="attack"):
        attack_accuracy(net, loss_fn, x, y, eps, attack="pgd")
