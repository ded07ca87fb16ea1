"""bp.interop.ActivationHooks / activation_stats: forward hooks inside torch record what
bp.probes.activation_stats computes on the bp network, and leave the torch network as it was."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

import backprop_lib as bp
from backprop_lib.interop import ActivationHooks, activation_stats, to_torch


def batch(n=64, d=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


NETS = {
    "tanh mlp": lambda: bp.nn.mlp([3, 16, 16, 2], activation="tanh", seed=1),
    "relu he": lambda: bp.nn.mlp([3, 32, 32, 32, 1], activation="relu", init="he", seed=2),
    "sigmoid deep": lambda: bp.nn.mlp([3, 8, 8, 8, 8, 8, 3], activation="sigmoid", seed=3),
    "batch norm (eval) + dropout (eval)": lambda: bp.nn.Sequential(
        bp.nn.Linear(3, 12, seed=4), bp.nn.BatchNorm1d(12), bp.nn.Tanh(), bp.nn.Dropout(0.3),
        bp.nn.Linear(12, 2, seed=5)).eval(),
    "residual": lambda: bp.nn.Sequential(
        bp.nn.Linear(3, 8, seed=6), bp.nn.ReLU(),
        bp.nn.Residual(bp.nn.Sequential(bp.nn.Linear(8, 8, seed=7), bp.nn.Tanh())),
        bp.nn.Linear(8, 1, seed=8)),
    "nested sequential": lambda: bp.nn.Sequential(
        bp.nn.Sequential(bp.nn.Linear(3, 6, seed=9), bp.nn.Tanh()), bp.nn.Linear(6, 2, seed=10)),
}


@pytest.mark.parametrize("name", sorted(NETS))
def test_torch_hooks_record_what_bp_probes_compute(name):
    net, x = NETS[name](), batch()
    ours = activation_stats(to_torch(net), x)
    ref = bp.probes.activation_stats(net, x)
    assert ours.labels == ref.labels and ours.saturation_kind == ref.saturation_kind
    for field in ("act_mean", "act_std", "act_rms"):
        assert_allclose(getattr(ours, field), getattr(ref, field), rtol=1e-12, atol=1e-14)
    assert_allclose(ours.saturated, ref.saturated, rtol=0, atol=1e-12, equal_nan=True)
    for a, b in zip(ours.hist_edges, ref.hist_edges, strict=True):
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert ours.setting.startswith(ref.setting) and ours.setting.endswith("torch hooks")


def test_hooks_are_removed_after_the_block_and_outputs_are_detached_copies():
    net = bp.nn.mlp([3, 8, 2], activation="tanh", seed=0)
    tnet = to_torch(net)
    x = torch.from_numpy(batch())
    with ActivationHooks(tnet) as hooks:
        assert sum(len(m._forward_hooks) for m in tnet.modules()) == 2   # Tanh and the last Linear only
        out = tnet(x)                                  # with grad: the outputs are graph tensors
    assert out.grad_fn is not None
    assert sum(len(m._forward_hooks) for m in tnet.modules()) == 0
    assert all(isinstance(a, np.ndarray) for a in hooks.outputs.values())
    assert_allclose(hooks.outputs[1], out.detach().numpy(), rtol=0, atol=0)
    hooks.outputs[1][...] = 0.0                        # a copy: the tensor is untouched
    assert out.abs().sum().item() > 0
    tnet(x)                                            # after removal nothing is recorded
    assert np.all(hooks.outputs[1] == 0.0)


def test_register_twice_adds_one_hook_per_stage():
    tnet = to_torch(bp.nn.mlp([3, 8, 2], seed=0))
    hooks = ActivationHooks(tnet).register().register()
    assert sum(len(m._forward_hooks) for m in tnet.modules()) == 2
    hooks.remove()
    assert sum(len(m._forward_hooks) for m in tnet.modules()) == 0


def test_float32_network_and_tensor_input():
    net = bp.nn.mlp([3, 8, 2], activation="tanh", seed=0, dtype=np.float32)
    x = batch().astype(np.float32)
    a = activation_stats(to_torch(net), x)                     # NumPy float32 → the module's dtype
    b = activation_stats(to_torch(net), torch.from_numpy(x))   # a tensor is used as it is
    assert_allclose(a.act_std, b.act_std, rtol=0, atol=0)
    assert_allclose(a.act_std, bp.probes.activation_stats(net, x).act_std, rtol=1e-5)


def test_record_before_a_forward_pass_says_what_to_do():
    hooks = ActivationHooks(to_torch(bp.nn.mlp([3, 8, 2], seed=0)))
    with pytest.raises(ValueError, match="run the network forward while the hooks"):
        hooks.record()


def test_one_activation_module_used_twice_is_refused():
    tanh = torch.nn.Tanh()
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), tanh, torch.nn.Linear(4, 4), tanh,
                               torch.nn.Linear(4, 1))
    with pytest.raises(ValueError, match="same module object ends two stages"):
        ActivationHooks(tnet.double())


@pytest.mark.parametrize(("module", "x", "error", "match"), [
    ("not a module", batch(), TypeError, "module must be a torch.nn.Module"),
    (None, batch()[0], ValueError, r"shaped \(batch, features\)"),
])
def test_bad_arguments(module, x, error, match):
    if module is None:
        module = to_torch(bp.nn.mlp([3, 8, 2], seed=0))
    with pytest.raises(error, match=match):
        activation_stats(module, x)


def test_unsupported_layers_are_named():
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Softmax(dim=1)).double()
    with pytest.raises(TypeError, match="Softmax"):
        ActivationHooks(tnet)
