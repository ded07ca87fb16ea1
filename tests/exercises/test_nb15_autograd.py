"""Notebook 15's checkers beyond their registered examples: each typical mistake gets its own
message, the references agree with PyTorch itself, answers of the wrong kind are reported as
wrong (never as an error), and importing the checkers does not import torch."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import backprop_lib.exercises as ex
from backprop_lib.exercises import nb15_autograd as nb15


@pytest.mark.parametrize(("key", "mistake", "words"), [
    ("15.sigmoid_function", "ignores grad_output", ("ignores grad_output",)),
    ("15.sigmoid_function", "x(1 − x) instead of σ(1 − σ)", ("x(1 − x)",)),
    ("15.sigmoid_function", "missing (1 − σ)", ("(1 − σ(x)) is missing",)),
    ("15.linear_stats", "stores graph tensors", ("attached to the graph",)),
    ("15.linear_stats", "hooks every module", ("not Linear",)),
    ("15.linear_stats", "leaves the hooks registered", ("still registered",)),
    ("15.linear_stats", "runs the children in a chain instead of hooking", ("mean of out",)),
    ("15.fix_s0_snippet", "S0's y.backward() unchanged", ("S0's snippet unchanged",)),
    ("15.fix_s0_snippet", "stale .grad from an earlier call", ("[4, 4, 4]", "accumulates")),
    ("15.fix_s0_snippet", "hard-coded torch.ones(3)", ("5-element",)),
    ("15.fix_s0_snippet", "y.mean() instead of y.sum()", ("y.mean()",)),
    ("15.fix_s0_snippet", "autograd.grad leaves x.grad empty", ("x.grad is still None",)),
])
def test_each_mistake_gets_its_own_message(key, mistake, words):
    fb = ex.check(key, ex.REGISTRY[key].wrong[mistake])
    assert fb.status == "wrong"
    for word in words:
        assert word in fb.message


def test_ignoring_grad_output_passes_a_sum_backward_test_but_not_the_checker():
    # why the checker uses a random grad_output: with ones the mistake is invisible
    wrong = ex.REGISTRY["15.sigmoid_function"].wrong["ignores grad_output"].build()
    x = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
    wrong.apply(x).sum().backward()
    s = torch.sigmoid(x.detach())
    torch.testing.assert_close(x.grad, s * (1 - s))
    assert not torch.autograd.gradcheck(wrong.apply, (x.detach().clone().requires_grad_(True),),
                                        raise_exception=False)


def test_right_sigmoid_equals_torch_sigmoid_gradient():
    right = ex.REGISTRY["15.sigmoid_function"].right[0].build()
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    v = torch.randn(4, 3, dtype=torch.float64)
    (ours,) = torch.autograd.grad(right.apply(x), x, v)
    (ref,) = torch.autograd.grad(torch.sigmoid(x), x, v)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("answer", [
    torch.sigmoid,                                 # a function, not a Function class
    "torch.sigmoid",
    torch.autograd.Function,                       # the base class: forward is not implemented
])
def test_sigmoid_other_wrong_answers(answer):
    assert ex.check("15.sigmoid_function", answer).status in ("wrong", "not attempted")
    if answer is not torch.autograd.Function:
        assert ex.check("15.sigmoid_function", answer).status == "wrong"


def test_linear_stats_reference_matches_hooks_written_here():
    model, x = nb15._stats_model()
    seen = {}
    handles = [m.register_forward_hook(lambda mod, i, o, n=n: seen.__setitem__(n, o.detach()))
               for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    model(x)
    for h in handles:
        h.remove()
    ref = nb15._linear_outputs(model, x)
    assert set(seen) == set(ref) == {"fc1", "block.0", "out"}
    for name in ref:
        torch.testing.assert_close(seen[name], ref[name], rtol=0, atol=0)


@pytest.mark.parametrize("answer", [
    lambda model, x: None,
    lambda model, x: [(0.0, 1.0)] * 3,
    lambda model, x: {"fc1": (0.0, 1.0), "block.0": (0.0, 1.0), "out": (0.0, 1.0)},
    lambda model, x: {"fc1": 0.0, "block.0": 0.0, "out": 0.0},
    lambda model, x: {0: (0.0, 1.0), 1: (0.0, 1.0), 2: (0.0, 1.0)},
])
def test_linear_stats_other_wrong_answers(answer):
    assert ex.check("15.linear_stats", answer).status == "wrong"


def test_linear_stats_accepts_population_or_sample_std():
    for correction in (0, 1):
        def answer(model, x, c=correction):
            out = {}
            hs = [m.register_forward_hook(lambda mod, i, o, n=n: out.__setitem__(
                n, (o.mean().item(), o.std(correction=c).item())))
                for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
            model(x)
            for h in hs:
                h.remove()
            return out
        assert ex.check("15.linear_stats", answer).status == "correct"


@pytest.mark.parametrize("answer", [
    lambda x: None,
    lambda x: [2.0, 2.0, 2.0],
    lambda x: torch.full_like(x, 2.0),             # right numbers, but x.grad never filled
    "x.grad",
])
def test_fix_s0_other_wrong_answers(answer):
    assert ex.check("15.fix_s0_snippet", answer).status == "wrong"


def test_s0_fixed_reference_is_what_torch_gives():
    x = torch.randn(3, requires_grad=True)
    (x * 2).backward(torch.ones(3))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    out = nb15._fix_set_none(x)                    # again on the same x: still 2, not 4
    np.testing.assert_array_equal(out.numpy(), [2.0, 2.0, 2.0])


def test_importing_the_checkers_does_not_import_torch():
    code = "import sys, backprop_lib.exercises; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
