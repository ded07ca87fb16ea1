"""The Optimizer base class: parameter groups, zero_grad, the lr property, state_dict
round trips, and the errors bad input gets (each names the argument and the fix)."""

import pickle

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.nn.module import Module, Parameter, Sequential

ALL = ["SGD", "AdaGrad", "RMSprop", "Adam", "AdamW"]
RICH = {  # settings that give every optimizer non-trivial state
    "SGD": dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "AdaGrad": dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "Adam": dict(lr=0.01, amsgrad=True, weight_decay=0.01),
    "AdamW": dict(lr=0.01, amsgrad=True),
}


class Affine(Module):
    """y = x Wᵀ + b: just enough of a layer to own named parameters."""

    def __init__(self, n_in, n_out, rng):
        self.weight = Parameter(rng.normal(size=(n_out, n_in)))
        self.bias = Parameter(np.zeros(n_out))

    def forward(self, x):
        self.x = x
        return x @ self.weight.data.T + self.bias.data

    def backward(self, grad_out):
        self.weight.accumulate_grad(grad_out.T @ self.x)
        self.bias.accumulate_grad(grad_out.sum(axis=0))
        return grad_out @ self.weight.data


def _net(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(Affine(4, 3, rng), Affine(3, 2, rng))


def _grads_for(net, x, y):
    """Fill .grad with the gradient of the mean squared error 1/2n Σ (net(x) - y)²."""
    out = net(x)
    net.backward((out - y) / len(x))


def _train(net, opt, batches):
    for x, y in batches:
        opt.zero_grad()
        _grads_for(net, x, y)
        opt.step()


def _batches(seed, n):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(8, 4)), rng.normal(size=(8, 2))) for _ in range(n)]


# -- state_dict ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_state_dict_round_trip_resumes_identically(name):
    first, second = _batches(1, 30), _batches(2, 30)

    net = _net()
    opt = getattr(bp.optim, name)(net.parameters(), **RICH[name])
    _train(net, opt, first)
    saved_opt = pickle.loads(pickle.dumps(opt.state_dict()))      # a checkpoint survives pickling
    saved_params = [p.data.copy() for p in net.parameters()]
    _train(net, opt, second)
    uninterrupted = [p.data.copy() for p in net.parameters()]

    resumed_net = _net(seed=99)                                   # different initial weights ...
    for p, data in zip(resumed_net.parameters(), saved_params, strict=True):
        p.data[...] = data                                        # ... overwritten by the checkpoint
    resumed = getattr(bp.optim, name)(resumed_net.parameters(), lr=123.0)   # hyper-params come back too
    resumed.load_state_dict(saved_opt)
    assert resumed.lr == RICH[name]["lr"]
    _train(resumed_net, resumed, second)

    for a, b in zip(uninterrupted, (p.data for p in resumed_net.parameters()), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", ALL)
def test_state_dict_without_loading_the_state_does_not_resume(name):
    """Control for the round trip: a fresh optimizer (no state) ends elsewhere."""
    first, second = _batches(1, 30), _batches(2, 30)
    net = _net()
    opt = getattr(bp.optim, name)(net.parameters(), **RICH[name])
    _train(net, opt, first)
    saved_params = [p.data.copy() for p in net.parameters()]
    _train(net, opt, second)
    other = _net(seed=99)
    for p, data in zip(other.parameters(), saved_params, strict=True):
        p.data[...] = data
    _train(other, getattr(bp.optim, name)(other.parameters(), **RICH[name]), second)
    pairs = zip(net.parameters(), other.parameters(), strict=True)
    diffs = [np.max(np.abs(a.data - b.data)) for a, b in pairs]
    assert max(diffs) > 1e-6


def test_state_dict_is_a_snapshot_and_uses_torch_layout():
    net = _net()
    opt = bp.optim.Adam(net.parameters(), lr=0.01)
    _train(net, opt, _batches(0, 3))
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"} and sd["state"][0]["step"] == 3
    before = sd["state"][0]["exp_avg"].copy()
    _train(net, opt, _batches(1, 3))
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)
    assert sd["state"][0]["step"] == 3


def test_load_state_dict_rejects_another_architecture():
    net = _net()
    opt = bp.optim.Adam(net.parameters())
    _train(net, opt, _batches(0, 2))
    sd = opt.state_dict()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="state_dict.*shape"):
        bp.optim.Adam(Sequential(Affine(5, 3, rng), Affine(3, 2, rng)).parameters()).load_state_dict(sd)
    with pytest.raises(
            ValueError, match="state_dict group 0 has 4 parameters but this optimizer.s group 0 has 3"):
        bp.optim.Adam(_net().parameters()[:3]).load_state_dict(sd)
    with pytest.raises(ValueError, match="state_dict has 1 parameter group"):
        ps = _net().parameters()
        bp.optim.Adam([{"params": ps[:2]}, {"params": ps[2:]}]).load_state_dict(sd)
    with pytest.raises(TypeError, match="state_dict"):
        bp.optim.Adam(_net().parameters()).load_state_dict({"lr": 0.1})


# -- groups, zero_grad, lr --------------------------------------------------------------
def test_param_groups_take_defaults_and_overrides():
    net = _net()
    opt = bp.optim.SGD([{"params": net[0].parameters(), "lr": 0.5},
                        {"params": net[1].parameters()}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]
    x, y = _batches(0, 1)[0]
    before = [p.data.copy() for p in net.parameters()]
    opt.zero_grad()
    _grads_for(net, x, y)
    grads = [p.grad.copy() for p in net.parameters()]
    opt.step()
    lrs = [0.5, 0.5, 0.1, 0.1]
    for p, b, g, lr in zip(net.parameters(), before, grads, lrs, strict=True):
        np.testing.assert_allclose(p.data, b - lr * g, rtol=1e-14, atol=1e-16)


def test_params_accepts_a_generator_and_a_single_parameter():
    net = _net()
    assert len(bp.optim.SGD(p for p in net.parameters()).param_groups[0]["params"]) == 4
    assert len(bp.optim.SGD(net.parameters()[0]).param_groups[0]["params"]) == 1


def test_zero_grad_sets_none_or_zeros():
    net = _net()
    opt = bp.optim.SGD(net.parameters(), lr=0.1)
    _grads_for(net, *_batches(0, 1)[0])
    opt.zero_grad(set_to_none=False)
    assert all(np.all(p.grad == 0) and p.grad.shape == p.data.shape for p in net.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_lr_property_reads_first_group_and_sets_all():
    ps = _net().parameters()
    opt = bp.optim.Adam([{"params": ps[:2], "lr": 0.5}, {"params": ps[2:]}], lr=0.1)
    assert opt.lr == 0.5
    opt.lr = 0.01
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.01]
    with pytest.raises(ValueError, match="lr must be positive"):
        opt.lr = 0.0
    assert opt.lr == 0.01


def test_step_with_closure_returns_the_loss():
    net = _net()
    opt = bp.optim.SGD(net.parameters(), lr=0.1)
    x, y = _batches(0, 1)[0]

    def closure():
        opt.zero_grad()
        out = net(x)
        net.backward((out - y) / len(x))
        return 0.5 * np.mean(np.sum((out - y) ** 2, axis=1))

    first = opt.step(closure)
    for _ in range(20):
        last = opt.step(closure)
    assert last < first


def test_repr_lists_groups():
    text = repr(bp.optim.SGD(_net().parameters(), lr=0.1, momentum=0.9))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "momentum: 0.9" in text


# -- bad input -------------------------------------------------------------------------------
def _params():
    return [Parameter(np.ones(3), name="w")]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("lr", [0.0, -0.1])
def test_non_positive_lr_is_refused(name, lr):
    with pytest.raises(ValueError, match=rf"{name}: lr must be positive \(> 0\); got {lr}"):
        getattr(bp.optim, name)(_params(), lr=lr)


@pytest.mark.parametrize("name", ALL)
def test_lr_must_be_a_number(name):
    with pytest.raises(TypeError, match="lr must be a number"):
        getattr(bp.optim, name)(_params(), lr="0.1")


@pytest.mark.parametrize("name, arg", [
    ("SGD", "momentum"), ("SGD", "dampening"), ("SGD", "weight_decay"),
    ("AdaGrad", "lr_decay"), ("AdaGrad", "weight_decay"), ("AdaGrad", "initial_accumulator_value"),
    ("AdaGrad", "eps"),
    ("RMSprop", "alpha"), ("RMSprop", "eps"), ("RMSprop", "weight_decay"), ("RMSprop", "momentum"),
    ("Adam", "eps"), ("Adam", "weight_decay"), ("AdamW", "eps"), ("AdamW", "weight_decay"),
])
def test_negative_hyperparameters_are_refused(name, arg):
    with pytest.raises(ValueError, match=rf"{name}: {arg} must be >= 0; got -0.5\. Use"):
        getattr(bp.optim, name)(_params(), **{arg: -0.5})


def test_rmsprop_alpha_above_one_is_refused():
    with pytest.raises(ValueError, match="alpha must be <= 1"):
        bp.optim.RMSprop(_params(), alpha=1.5)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("betas, index", [
    ((1.0, 0.999), 0), ((-0.1, 0.999), 0), ((0.9, 1.0), 1), ((0.9, 2.0), 1),
])
def test_betas_outside_0_1_are_refused(name, betas, index):
    with pytest.raises(ValueError, match=rf"betas\[{index}\] \(beta{index + 1}\) must lie in \[0, 1\)"):
        getattr(bp.optim, name)(_params(), betas=betas)


@pytest.mark.parametrize("betas", [0.9, (0.9,), (0.9, 0.99, 0.999), ("a", 0.9)])
def test_betas_must_be_a_pair(betas):
    with pytest.raises(TypeError, match="betas must be a pair"):
        bp.optim.Adam(_params(), betas=betas)


@pytest.mark.parametrize("kwargs", [dict(nesterov=True), dict(nesterov=True, momentum=0.9, dampening=0.1)])
def test_nesterov_needs_momentum_and_no_dampening(kwargs):
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0 and dampening = 0"):
        bp.optim.SGD(_params(), lr=0.1, **kwargs)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("empty", [[], (), iter([])], ids=["list", "tuple", "iterator"])
def test_empty_parameter_list_is_refused(name, empty):
    with pytest.raises(ValueError, match="params is an empty parameter list"):
        getattr(bp.optim, name)(empty)


def test_empty_parameter_group_is_refused():
    with pytest.raises(ValueError, match="params is an empty parameter list"):
        bp.optim.SGD([{"params": []}])


@pytest.mark.parametrize("bad, pattern", [
    ([np.ones(3)], r"params\[0\] is a ndarray, not a bp.nn.Parameter"),
    ([Parameter(np.ones(2)), 3.0], r"params\[1\] is a float, not a bp.nn.Parameter"),
    (np.ones(3), "params must be an iterable of bp.nn.Parameter"),
    (5, "params must be an iterable of bp.nn.Parameter"),
])
def test_non_parameters_are_refused(bad, pattern):
    with pytest.raises(TypeError, match=pattern):
        bp.optim.SGD(bad, lr=0.1)


def test_passing_the_model_instead_of_its_parameters_is_explained():
    with pytest.raises(TypeError, match=r"not the model itself.*Pass net.parameters\(\)"):
        bp.optim.Adam(_net())


def test_group_problems_are_explained():
    p, q = _params()[0], Parameter(np.ones(2))
    with pytest.raises(TypeError, match="not one dict; wrap it in a list"):
        bp.optim.SGD({"params": [p]})
    with pytest.raises(TypeError, match="without a 'params' key"):
        bp.optim.SGD([{"lr": 0.1}])
    with pytest.raises(TypeError, match="mixes Parameters and parameter-group dicts"):
        bp.optim.SGD([p, {"params": [q]}])
    with pytest.raises(ValueError, match="listed twice in params"):
        bp.optim.SGD([p, p])
    with pytest.raises(ValueError, match="listed twice in params"):
        bp.optim.SGD([{"params": [p]}, {"params": [p, q]}])
    with pytest.raises(ValueError, match="SGD: lr must be positive"):        # overrides are checked too
        bp.optim.SGD([{"params": [p], "lr": -1.0}], lr=0.1)


def test_step_without_gradient_names_the_parameter_and_the_fix():
    net = _net()
    opt = bp.optim.Adam(net.parameters(), lr=0.1)
    message = ("parameter '0.weight' has no gradient; call loss backward (net.backward(loss_fn.backward())) "
               "before opt.step(), or leave frozen parameters out of the optimizer")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        opt.step()


def test_a_missing_gradient_leaves_every_parameter_untouched():
    net = _net()
    opt = bp.optim.SGD(net.parameters(), lr=0.1)
    _grads_for(net, *_batches(0, 1)[0])
    net[1].bias.grad = None                               # the last parameter lacks a gradient
    before = [p.data.copy() for p in net.parameters()]
    with pytest.raises(ValueError, match="parameter '1.bias' has no gradient"):
        opt.step()
    for p, b in zip(net.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)
    assert opt.state == {}


def test_unnamed_parameter_is_identified_by_index_and_shape():
    ps = [Parameter(np.ones(2)), Parameter(np.ones((3, 1)))]
    ps[0].grad = np.ones(2)
    with pytest.raises(ValueError, match=r"parameter #1 \(unnamed, shape \(3, 1\)\) has no gradient"):
        bp.optim.SGD(ps, lr=0.1).step()


def test_gradient_of_the_wrong_shape_is_explained():
    p = Parameter(np.ones(3), name="w")
    p.grad = np.ones(4)
    with pytest.raises(ValueError, match=r"parameter 'w' has a gradient of shape \(4,\)"):
        bp.optim.SGD([p], lr=0.1).step()


def test_every_optimizer_descends_a_quadratic():
    """Sanity for the whole family: 300 steps on ½‖θ‖² shrink θ (each from its default lr x 10)."""
    for name in ALL:
        p = Parameter(np.array([1.0, -2.0, 0.5]))
        opt = getattr(bp.optim, name)([p], lr=getattr(bp.optim, name)([p]).lr * 10)
        for _ in range(300):
            p.grad = p.data.copy()
            opt.step()
        assert np.linalg.norm(p.data) < 0.5 * np.linalg.norm([1.0, -2.0, 0.5]), name


TORCH_ONLY = {"foreach", "maximize", "capturable", "differentiable", "fused", "decoupled_weight_decay"}


@pytest.mark.parametrize("name, torch_name", [("SGD", "SGD"), ("AdaGrad", "Adagrad"), ("RMSprop", "RMSprop"),
                                              ("Adam", "Adam"), ("AdamW", "AdamW")])
def test_signature_matches_torch(name, torch_name):
    """Same argument names, order and defaults as torch.optim (minus torch's engine flags;
    plus our teaching-only keyword bias_correction for Adam/AdamW)."""
    import inspect

    import torch

    def args(fn, drop):
        return [(n, p.default) for n, p in inspect.signature(fn).parameters.items() if n not in drop]

    ours = args(getattr(bp.optim, name), {"bias_correction"})
    theirs = args(getattr(torch.optim, torch_name), TORCH_ONLY)
    assert ours == theirs


@pytest.mark.parametrize("name", ALL)
def test_float32_parameters_stay_float32(name):
    p = Parameter(np.linspace(-1, 1, 4).astype(np.float32))
    opt = getattr(bp.optim, name)([p], **RICH[name])
    for _ in range(3):
        p.grad = (2 * p.data).astype(np.float32)
        opt.step()
    assert p.data.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))
