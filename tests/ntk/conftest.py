"""A PyTorch oracle for the NTK: an equivalent torch model (same weights, same scaling) and its
kernel by torch.func (vmap over examples of jacrev through functional_call)."""

import math

import pytest

import backprop_lib as bp

torch = pytest.importorskip("torch")
from torch.func import functional_call, jacrev, vmap  # noqa: E402


class _ScaledLinear(torch.nn.Module):
    """y = s·x Wᵀ + c·b (s = c = 1: torch.nn.Linear; s = w_std/√in, c = b_std: NTK)."""

    def __init__(self, layer):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(layer.weight.data, dtype=torch.float64))
        self.bias = (None if layer.bias is None
                     else torch.nn.Parameter(torch.tensor(layer.bias.data, dtype=torch.float64)))
        ntk = layer.parameterization == "ntk"
        self.s = layer.w_std / math.sqrt(layer.in_features) if ntk else 1.0
        self.c = layer.b_std if ntk else 1.0

    def forward(self, x):
        y = self.s * (x @ self.weight.T)
        return y if self.bias is None else y + self.c * self.bias


def _torch_activation(layer):
    name = type(layer).__name__
    table = {
        "ReLU": torch.nn.ReLU(), "Tanh": torch.nn.Tanh(), "Sigmoid": torch.nn.Sigmoid(),
        "GELU": torch.nn.GELU(), "Softplus": torch.nn.Softplus(), "ELU": torch.nn.ELU(),
        "Identity": torch.nn.Identity(),
    }
    if name == "LeakyReLU":
        return torch.nn.LeakyReLU(layer.negative_slope)
    return table[name]


def torch_model(net):
    layers = []
    for layer in net:
        layers.append(_ScaledLinear(layer) if isinstance(layer, bp.nn.Linear) else _torch_activation(layer))
    return torch.nn.Sequential(*layers)


def torch_func_ntk(net, x1, x2=None):
    """Θ[i, j, a, b] = Σ_p ∂f_a(x1_i)/∂p ∂f_b(x2_j)/∂p by torch.func: (n1, n2, k, k)."""
    model = torch_model(net)
    params = {k: v.detach() for k, v in model.named_parameters()}

    def f(p, x):  # one example (d,) -> outputs (k,)
        return functional_call(model, p, (x[None],))[0]

    def jac(x):
        j = vmap(jacrev(f), in_dims=(None, 0))(params, torch.tensor(x, dtype=torch.float64))
        return torch.cat([v.reshape(v.shape[0], v.shape[1], -1) for v in j.values()], dim=2)

    j1 = jac(x1)
    j2 = j1 if x2 is None else jac(x2)
    return torch.einsum("iap,jbp->ijab", j1, j2).numpy()


@pytest.fixture(scope="session")
def torch_ntk():
    return torch_func_ntk
