"""Tests of bp.interop.to_torch / from_torch / torch_loss: same function, same weights, both ways."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from backprop_lib.interop import SUPPORTED_LAYERS, from_torch, import_torch, to_torch, torch_loss
from backprop_lib.interop import torch_modules as tm
from backprop_lib.nn.activations import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from backprop_lib.nn.dropout import Dropout
from backprop_lib.nn.layers import Identity, Linear
from backprop_lib.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from backprop_lib.nn.module import Module, Sequential
from backprop_lib.nn.normalization import BatchNorm1d, LayerNorm
from backprop_lib.nn.residual import Residual


def bn_with_history(dtype=np.float64, **kwargs):
    """A BatchNorm1d with non-trivial weights and running statistics (three training batches seen)."""
    bn = BatchNorm1d(4, dtype=dtype, **kwargs)
    rng = np.random.default_rng(1)
    if bn.affine:
        bn.weight.data[:] = rng.normal(size=4)
        bn.bias.data[:] = rng.normal(size=4)
    for _ in range(3):
        bn(rng.normal(2.0, 3.0, size=(8, 4)).astype(dtype))
    return bn


def layernorm_with_weights(**kwargs):
    ln = LayerNorm(4, **kwargs)
    rng = np.random.default_rng(2)
    if ln.weight is not None:
        ln.weight.data[:] = rng.normal(size=4)
    if ln.bias is not None:
        ln.bias.data[:] = rng.normal(size=4)
    return ln


LAYERS = {
    "linear": lambda: Linear(4, 4, seed=0),
    "linear-no-bias": lambda: Linear(4, 4, bias=False, seed=0),
    "linear-ntk": lambda: Linear(4, 4, seed=0, parameterization="ntk", w_std=1.4, b_std=0.3),
    "linear-ntk-no-bias": lambda: Linear(4, 4, bias=False, seed=0, parameterization="ntk", w_std=2.0),
    "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "identity": Identity,
    "leaky_relu": lambda: LeakyReLU(0.2),
    "elu": lambda: ELU(0.7),
    "gelu": GELU,
    "gelu-tanh": lambda: GELU(approximate="tanh"),
    "softplus": lambda: Softplus(beta=2.0, threshold=3.0),
    "dropout-eval": lambda: Dropout(0.4).eval(),
    "batchnorm-train": bn_with_history,
    "batchnorm-eval": lambda: bn_with_history().eval(),
    "batchnorm-no-affine": lambda: bn_with_history(affine=False),
    "batchnorm-momentum-none": lambda: bn_with_history(momentum=None, eps=1e-3),
    "batchnorm-no-running-stats": lambda: BatchNorm1d(4, track_running_stats=False).eval(),
    "layernorm": layernorm_with_weights,
    "layernorm-no-bias": lambda: layernorm_with_weights(bias=False, eps=1e-3),
    "layernorm-no-affine": lambda: layernorm_with_weights(elementwise_affine=False),
    "residual": lambda: Residual(Sequential(Linear(4, 4, seed=0), Tanh(), Linear(4, 4, seed=1))),
    "sequential": lambda: Sequential(Linear(4, 5, seed=0), ReLU(), Sequential(Linear(5, 4, seed=1), Tanh())),
}


def state(module: Module):
    """Every array of a bp model (parameters and batch-norm buffers), by name."""
    out = {name: p.data for name, p in module.named_parameters()}
    for i, m in enumerate(_walk(module)):
        if isinstance(m, BatchNorm1d) and m.track_running_stats:
            out[f"bn{i}.running_mean"], out[f"bn{i}.running_var"] = m.running_mean, m.running_var
            out[f"bn{i}.num_batches_tracked"] = np.array(m.num_batches_tracked)
    return out


def _walk(m):
    yield m
    for c in m.children():
        yield from _walk(c)


def torch_forward(tnet, x):
    with torch.no_grad():
        return tnet(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
def test_round_trip_same_weights_and_outputs(make, rng):
    layer = make()
    x = rng.normal(size=(6, 4))
    tnet = to_torch(layer)
    assert isinstance(tnet, torch.nn.Module)
    assert_allclose(torch_forward(tnet, x), layer(x.copy()), rtol=1e-12, atol=1e-12)

    back = from_torch(to_torch(layer))
    assert type(back) is type(layer)
    assert repr(back) == repr(layer)                                     # same hyper-parameters
    assert back.training == layer.training
    before, after = state(layer), state(back)
    assert before.keys() == after.keys()
    for name in before:                                                  # copies are exact
        assert_array_equal(after[name], before[name])
        assert after[name].dtype == before[name].dtype
    assert_allclose(back(x.copy()), layer(x.copy()), rtol=1e-12, atol=1e-12)


def test_parameter_names_match_between_libraries():
    net = Sequential(Linear(3, 4, seed=0), BatchNorm1d(4), Tanh(),
                     Residual(Sequential(Linear(4, 4, seed=1, parameterization="ntk"), ReLU())),
                     LayerNorm(4), Linear(4, 2, seed=2))
    names = [name for name, _ in net.named_parameters()]
    assert names == [name for name, _ in to_torch(net).named_parameters()]
    assert "3.block.0.weight" in names


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_running_statistics_evolve_identically(mode, rng):
    """Train mode: both libraries normalize with batch statistics and update the running ones alike."""
    net = Sequential(Linear(3, 5, seed=0), BatchNorm1d(5, momentum=0.3), Tanh(), Linear(5, 2, seed=1))
    net[1].running_mean[:] = rng.normal(size=5)
    net[1].running_var[:] = rng.uniform(0.5, 2.0, size=5)
    net.train(mode == "train")
    tnet = to_torch(net)
    assert tnet[1].training == (mode == "train")
    for _ in range(4):
        x = rng.normal(1.0, 2.0, size=(7, 3))
        assert_allclose(torch_forward(tnet, x), net(x), rtol=1e-12, atol=1e-12)
    assert_allclose(tnet[1].running_mean.numpy(), net[1].running_mean, rtol=1e-12, atol=1e-14)
    assert_allclose(tnet[1].running_var.numpy(), net[1].running_var, rtol=1e-12, atol=1e-14)
    assert int(tnet[1].num_batches_tracked) == net[1].num_batches_tracked == (4 if mode == "train" else 0)
    back = from_torch(tnet)
    assert_allclose(back[1].running_mean, net[1].running_mean, rtol=1e-15, atol=0)
    assert back[1].num_batches_tracked == net[1].num_batches_tracked


def test_dropout_keeps_p_and_mode():
    net = Sequential(Linear(3, 3, seed=0), Dropout(0.3), Linear(3, 1, seed=1))
    tnet = to_torch(net)
    assert isinstance(tnet[1], torch.nn.Dropout) and tnet[1].p == 0.3 and tnet[1].training
    back = from_torch(tnet.eval())
    assert back[1].p == 0.3 and not back[1].training and not back.training


def test_modes_are_copied_layer_by_layer():
    net = Sequential(Linear(3, 3, seed=0), BatchNorm1d(3), Dropout(0.5))
    net[1].eval()                                      # a mixed model: bn frozen, dropout active
    tnet = to_torch(net)
    assert [m.training for m in tnet] == [True, False, True]
    assert [m.training for m in from_torch(tnet)] == [True, False, True]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_both_ways(dtype, rng):
    net = Sequential(Linear(3, 4, seed=0, dtype=dtype), BatchNorm1d(4, dtype=dtype), GELU(),
                     LayerNorm(4, dtype=dtype), Linear(4, 2, seed=1, dtype=dtype, parameterization="ntk"))
    tnet = to_torch(net)
    expected = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    assert {p.dtype for p in tnet.parameters()} == {expected}
    assert tnet[1].running_var.dtype == expected
    back = from_torch(tnet)
    assert {p.data.dtype for p in back.parameters()} == {np.dtype(dtype)}
    assert back[1].running_var.dtype == np.dtype(dtype)
    x = rng.normal(size=(5, 3)).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(torch_forward(tnet, x), net(x), rtol=tol, atol=tol)


def test_arrays_are_copied_not_shared(rng):
    net = Sequential(Linear(3, 2, seed=0), BatchNorm1d(2))
    tnet = to_torch(net)
    w = net[0].weight.data.copy()
    with torch.no_grad():
        tnet[0].weight.add_(1.0)
        tnet[1].running_mean.add_(1.0)
    assert_array_equal(net[0].weight.data, w)
    assert_array_equal(net[1].running_mean, np.zeros(2))
    back = from_torch(tnet)
    back[0].weight.data += 1.0
    assert_allclose(tnet[0].weight.detach().numpy(), w + 1.0, rtol=1e-15)


def test_from_torch_on_a_network_built_in_torch(rng):
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ELU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(8, 8), torch.nn.LayerNorm(8), torch.nn.Softplus(), torch.nn.Linear(8, 3),
    ).double().eval()
    net = from_torch(tnet)
    x = rng.normal(size=(6, 5))
    assert_allclose(net(x), torch_forward(tnet, x), rtol=1e-12, atol=1e-12)
    assert not net.training


def test_ntk_module_matches_its_formula(rng):
    layer = Linear(6, 3, seed=0, parameterization="ntk", w_std=1.7, b_std=0.4)
    tnet = to_torch(layer)
    assert isinstance(tnet, tm.NTKLinear)
    x = rng.normal(size=(4, 6))
    expected = 1.7 / np.sqrt(6) * x @ layer.weight.data.T + 0.4 * layer.bias.data
    assert_allclose(torch_forward(tnet, x), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# unsupported layers and bad input
# ---------------------------------------------------------------------------------------------
class Square(Module):
    def forward(self, x):
        return x * x


@pytest.mark.parametrize("net", [Square(), Sequential(Linear(2, 2, seed=0), Square())])
def test_to_torch_refuses_unknown_layers(net):
    with pytest.raises(TypeError, match=r"to_torch cannot convert .*Square.*Supported layers: Sequential, "):
        to_torch(net)


@pytest.mark.parametrize("module", [
    torch.nn.Conv1d(1, 1, 3),
    torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LSTM(2, 2)),
    torch.nn.Softmax(dim=1),
])
def test_from_torch_refuses_unknown_layers(module):
    with pytest.raises(TypeError, match=r"from_torch cannot convert torch\.nn\..*Supported layers: "
                                        r"torch\.nn\.Sequential, torch\.nn\.Linear.*NTKLinear"):
        from_torch(module)


def test_bad_arguments():
    with pytest.raises(TypeError, match="net must be a backprop_lib Module"):
        to_torch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        from_torch(Linear(2, 2))
    with pytest.raises(TypeError, match=r"float16.*module.double\(\)"):
        from_torch(torch.nn.Linear(2, 2).half())
    assert set(SUPPORTED_LAYERS) >= {"Linear", "BatchNorm1d", "LayerNorm", "Residual", "Dropout"}


def test_missing_torch_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)                    # "import torch" now fails
    with pytest.raises(ImportError, match=r"pip install 'backprop_lib\[course\]'"):
        import_torch()
    with pytest.raises(ImportError, match="PyTorch"):
        to_torch(Linear(2, 2))


def test_importing_interop_does_not_import_torch():
    code = "import sys, backprop_lib as bp; bp.interop; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", ["mse", "ce", "bce"])
def test_torch_loss_matches_value_and_gradient(name, reduction, rng):
    out = rng.normal(size=(5, 3))
    if name == "mse":
        loss_fn, torch_cls, y = MSELoss(reduction), torch.nn.MSELoss, rng.normal(size=(5, 3))
    elif name == "ce":
        loss_fn, torch_cls, y = CrossEntropyLoss(reduction), torch.nn.CrossEntropyLoss, rng.integers(0, 3, 5)
    else:
        loss_fn, torch_cls, y = BCEWithLogitsLoss(reduction), torch.nn.BCEWithLogitsLoss, rng.random((5, 3))
    tloss = torch_loss(loss_fn)
    assert type(tloss) is torch_cls and tloss.reduction == reduction
    ot = torch.tensor(out, requires_grad=True)
    value = tloss(ot, torch.from_numpy(y))
    value.backward()
    assert_allclose(loss_fn(out, y), value.item(), rtol=1e-13)
    assert_allclose(loss_fn.backward(), ot.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_torch_loss_refuses_other_objects():
    with pytest.raises(TypeError, match="supported losses: MSELoss, CrossEntropyLoss, BCEWithLogitsLoss"):
        torch_loss(torch.nn.MSELoss())
