"""Notebook 12's checkers beyond their registered examples: each typical mistake gets its own
message, the reference of the zero-init exercise agrees with PyTorch, and answers of the wrong
kind are reported as wrong, never as an error."""

import math

import numpy as np
import pytest

import backprop_lib.exercises as ex
from backprop_lib.exercises import nb12_initialization as nb12


@pytest.mark.parametrize(("mistake", "words"), [
    ("fan_out instead of fan_in", ("2/fan_out",)),
    ("1/fan_in (LeCun)", ("LeCun",)),
    ("variance passed as std", ("standard deviation",)),
    ("uniform instead of normal", ("kurtosis",)),
    ("global RNG instead of rng", ("rng",)),
])
def test_he_normal_names_the_mistake(mistake, words):
    fb = ex.check("12.he_normal", ex.REGISTRY["12.he_normal"].wrong[mistake])
    assert fb.status == "wrong"
    for word in words:
        assert word in fb.message


def test_he_normal_sample_variance_is_within_the_tolerance_of_the_reference():
    # the tolerance (5 %) is far above the sampling error: 3 standard errors of the variance
    for shape in nb12._HE_SHAPES:
        w = nb12._he_ref(shape, np.random.default_rng(0))
        assert abs(np.mean(w**2) / (2 / shape[1]) - 1) < 3 * math.sqrt(2 / w.size)


@pytest.mark.parametrize("answer", [
    lambda shape, rng: rng.normal(0.0, math.sqrt(2 / shape[1]), size=shape[::-1]),   # transposed
    lambda shape, rng: None,
    lambda shape, rng: np.full(shape, np.nan),
    lambda shape, rng: 1.0 + rng.normal(0.0, math.sqrt(2 / shape[1]), size=shape),    # mean 1
    lambda shape, rng: rng.normal(0.0, 1.0, size=shape),
    "N(0, 2/fan_in)",
])
def test_he_normal_other_wrong_answers(answer):
    assert ex.check("12.he_normal", answer).status == "wrong"


@pytest.mark.parametrize(("mistake", "word"), [
    ("√(3/(fan_in+fan_out))", "half of Glorot"),
    ("std given as the bound", "standard deviation"),
    ("fan_in only", "fan_in only"),
    ("no square root", "square root"),
])
def test_xavier_bound_names_the_mistake(mistake, word):
    fb = ex.check("12.xavier_uniform_bound", ex.REGISTRY["12.xavier_uniform_bound"].wrong[mistake])
    assert fb.status == "wrong"
    assert word in fb.message


def test_xavier_bound_reference_matches_the_library():
    # U(−a, a) from bp.nn.init.xavier_uniform_ never exceeds a and comes within 0.1 % of it
    w = ex.REGISTRY["12.xavier_uniform_bound"]
    a = w.right[0](300, 100)
    import backprop_lib as bp

    sample = bp.nn.init.xavier_uniform_(np.empty((100, 300)), seed=0)
    assert np.abs(sample).max() <= a
    assert np.abs(sample).max() > 0.999 * a


@pytest.mark.parametrize("answer", [lambda a, b: "0.1", lambda a, b: [0.1, 0.2], 0.108, lambda a, b: None])
def test_xavier_bound_of_the_wrong_kind_is_wrong(answer):
    assert ex.check("12.xavier_uniform_bound", answer).status == "wrong"


def test_zero_init_reference_agrees_with_torch():
    torch = pytest.importorskip("torch")
    sizes = nb12.ZERO_NET_SIZES
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        lin = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
        torch.nn.init.zeros_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers += [lin] + ([torch.nn.ReLU()] if i < len(sizes) - 2 else [])
    net = torch.nn.Sequential(*layers)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(16, sizes[0], generator=gen, dtype=torch.float64)
    y = torch.randn(16, sizes[-1], generator=gen, dtype=torch.float64)
    torch.nn.functional.mse_loss(net(x), y).backward()
    names = {f"{'W' if name.endswith('weight') else 'b'}{int(name.split('.')[0]) // 2 + 1}"
             for name, p in net.named_parameters() if torch.any(p.grad != 0)}
    assert names == nb12.zero_init_nonzero_grads() == {"b3"}


@pytest.mark.parametrize(("answer", "word"), [
    ({"b1", "b2", "b3"}, "W^{l+1} = 0"),
    ({"W3", "b3"}, "relu(0) = 0"),
    (set(), "last bias"),
])
def test_zero_init_names_the_mistake(answer, word):
    fb = ex.check("12.zero_init_grads", answer)
    assert fb.status == "wrong"
    assert word in fb.message


@pytest.mark.parametrize("answer", [{"W4"}, {"b3": 1}, [3], 3, {"bias"}])
def test_zero_init_malformed_answers_are_wrong_not_errors(answer):
    assert ex.check("12.zero_init_grads", answer).status == "wrong"
