"""bp.autodiff.jacobian against torch.autograd.functional.jacobian, and its pass counts:
forward mode needs one pass per input, reverse mode one backward sweep per output."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_lib.autodiff import Dual, JacobianResult, Value, jacobian


def make_f(n, m, seed):
    """f: R^n -> R^m written only with ops that Dual, Value and torch tensors share."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(m, n)).tolist()

    def f(x):
        outs = []
        for i in range(m):
            acc = x[i % n] * x[(i + 1) % n]  # reuses inputs: shared nodes
            for j in range(n):
                acc = acc + w[i][j] * (x[j] * 0.5).tanh()
            outs.append(acc.sigmoid() + (1.0 + x[i % n] * x[i % n]).log())
        return outs

    return f


def torch_jacobian(f, x):
    def tf(t):
        return torch.stack(f([t[i] for i in range(t.shape[0])]))

    return torch.autograd.functional.jacobian(tf, torch.tensor(x, dtype=torch.float64)).numpy()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), seed=st.integers(0, 1000))
def test_both_modes_match_torch_and_count_passes(n, m, seed):
    f = make_f(n, m, seed)
    x = np.random.default_rng(seed + 1).normal(size=n)
    expected = torch_jacobian(f, x)
    fwd = jacobian(f, x, mode="forward")
    rev = jacobian(f, x, mode="reverse")
    for res in (fwd, rev):
        assert isinstance(res, JacobianResult)
        assert res.jacobian.shape == (m, n) == (res.n_outputs, res.n_inputs)
        np.testing.assert_allclose(res.jacobian, expected, rtol=1e-10, atol=1e-12)
    assert (fwd.passes, fwd.evaluations, fwd.mode) == (n, n, "forward")  # one pass per input
    assert (rev.passes, rev.evaluations, rev.mode) == (m, 1, "reverse")  # one sweep per output


def test_loss_shaped_function_favours_reverse_mode():
    """n = 20 inputs, m = 1 output (a loss): reverse mode needs 1 sweep, forward mode 20."""
    def loss(x):
        return sum((xi * 0.3).tanh() ** 2 for xi in x)

    x = np.linspace(-1, 1, 20)
    fwd, rev = jacobian(loss, x, mode="forward"), jacobian(loss, x, mode="reverse")
    assert (fwd.passes, rev.passes) == (20, 1)
    expected = torch_jacobian(lambda t: [loss(t)], x)
    np.testing.assert_allclose(fwd.jacobian, expected, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(rev.jacobian, expected, rtol=1e-10, atol=1e-14)


def test_default_mode_is_forward_and_lists_are_accepted():
    res = jacobian(lambda x: [x[0] * x[1], x[0] - x[1]], [2.0, 3.0])
    assert res.mode == "forward"
    np.testing.assert_allclose(res.jacobian, [[3.0, 2.0], [1.0, -1.0]], rtol=1e-14)


def test_outputs_that_are_inputs_or_constants():
    def f(x):
        return [x[1], 3.0, x[0] * x[1]]  # an input passed through, a constant

    for mode in ("forward", "reverse"):
        res = jacobian(f, [2.0, 5.0], mode=mode)
        np.testing.assert_allclose(res.jacobian, [[0.0, 1.0], [0.0, 0.0], [5.0, 2.0]], rtol=1e-14)


def test_reverse_sweeps_do_not_leak_gradients_between_outputs():
    """Each row must come from its own sweep: inputs are reset between outputs."""
    def f(x):
        shared = (x[0] * x[1]).tanh()
        return [shared, shared * x[0], shared + x[1]]

    x = [0.7, -0.4]
    res = jacobian(f, x, mode="reverse")
    np.testing.assert_allclose(res.jacobian, torch_jacobian(f, x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: jacobian("f", [1.0]), TypeError, ["f must be a callable"]),
    (lambda: jacobian(lambda x: x, [1.0], mode="sideways"), ValueError, ["mode", "'forward'", "'reverse'"]),
    (lambda: jacobian(lambda x: x, [[1.0, 2.0]]), ValueError, ["x must be 1-dimensional"]),
    (lambda: jacobian(lambda x: x, []), ValueError, ["at least one"]),
    (lambda: jacobian(lambda x: x, np.array([1, 2])), TypeError, ["dtype", "int"]),
    (lambda: jacobian(lambda x: x, [np.nan]), ValueError, ["NaN"]),
    (lambda: jacobian(lambda x: np.tanh(np.array([1.0])), [1.0]), TypeError, ["ndarray", "Dual"]),
    (lambda: jacobian(lambda x: [x[0], "y"], [1.0], mode="reverse"), TypeError, ["output 1", "Value"]),
    (lambda: jacobian(lambda x: [], [1.0]), ValueError, ["empty"]),
])
def test_bad_input_gets_a_clear_error(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_engines_are_the_ones_documented():
    seen = {}

    def spy(x):
        seen.setdefault("types", set()).add(type(x[0]))
        return x[0] * 2.0

    jacobian(spy, [1.0], mode="forward")
    jacobian(spy, [1.0], mode="reverse")
    assert seen["types"] == {Dual, Value}
