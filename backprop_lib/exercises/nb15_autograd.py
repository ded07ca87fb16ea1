"""Checkers for notebook 15 (PyTorch autograd).

* ``15.sigmoid_function``: a ``torch.autograd.Function`` subclass computing σ(x) whose backward
  returns grad_output · σ(x)(1 − σ(x)); checked with a random grad_output (caught: ignoring
  grad_output, which ``out.sum().backward()`` cannot see because it sends ones; x(1 − x) for
  σ(1 − σ); a missing (1 − σ)) and with ``torch.autograd.gradcheck`` in float64;
* ``15.linear_stats``: ``linear_stats(model, x)`` → ``{name: (mean, std)}`` of the output of
  every ``nn.Linear`` of ``model``, recorded with forward hooks on a network with a skip
  connection (caught: storing graph tensors, hooking every module, leaving the hooks on, running
  the children one after another instead of hooking);
* ``15.fix_s0_snippet``: ``grad_of_double(x)`` runs S0's ``y = x * 2`` on the leaf x,
  backpropagates and returns x.grad, which must be [2, 2, …] every time it is called (caught:
  S0's ``y.backward()`` unchanged, a stale ``.grad`` left from an earlier call, a hard-coded
  ``torch.ones(3)``, ``y.mean()``, ``torch.autograd.grad`` leaving ``x.grad`` empty).

PyTorch is imported only when a checker runs, so ``import backprop_lib.exercises`` stays light.
The example answers of ``15.sigmoid_function`` are classes that need torch to exist; they are
registered as ``_Built(factory)`` objects that the checker builds when it is given one.
"""

from __future__ import annotations

import numpy as np

from .core import Incorrect, exercise, require, require_callable, require_close


def _torch():
    from ..interop.torch_bridge import import_torch

    return import_torch()


class _Built:
    """An example answer built on use (a torch class cannot exist before torch is imported)."""

    def __init__(self, build, what: str):
        self.build = build
        self.what = what

    def __repr__(self):
        return f"<example answer: {self.what}>"


# -- 15.sigmoid_function ---------------------------------------------------------------------

def _sigmoid_class(rule, *, save_output: bool = True):
    """A Function whose forward is σ(x) and whose backward is ``rule(grad_output, x, s)``."""
    torch = _torch()

    class Sigmoid(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            s = torch.sigmoid(x) if save_output else 1.0 / (1.0 + torch.exp(-x))
            ctx.save_for_backward(x, s)
            return s

        @staticmethod
        def backward(ctx, grad_output):
            x, s = ctx.saved_tensors
            return rule(grad_output, x, s)

    return Sigmoid


def _right_saved_output():
    return _sigmoid_class(lambda g, x, s: g * s * (1 - s))                  # x̄ = ȳ ⊙ σ(1 − σ)


def _right_recomputed():
    torch = _torch()

    class Sigmoid(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)                                        # keep the input only
            return 1.0 / (1.0 + torch.exp(-x))

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            s = torch.sigmoid(x)                                            # recompute σ(x)
            return grad_output * s * (1.0 - s)

    return Sigmoid


_SIGMOID_RIGHT = [_Built(_right_saved_output, "saves σ(x)"), _Built(_right_recomputed, "recomputes σ(x)")]
_SIGMOID_WRONG = {
    "ignores grad_output": _Built(lambda: _sigmoid_class(lambda g, x, s: s * (1 - s)),
                                  "returns σ′(x) alone"),
    "x(1 − x) instead of σ(1 − σ)": _Built(lambda: _sigmoid_class(lambda g, x, s: g * x * (1 - x)),
                                          "uses the input"),
    "missing (1 − σ)": _Built(lambda: _sigmoid_class(lambda g, x, s: g * s), "returns ȳ σ"),
}


def _close(a, b, rtol: float = 1e-9) -> bool:
    return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=1e-12))


@exercise(
    "15.sigmoid_function", "A custom autograd.Function for the sigmoid",
    right=_SIGMOID_RIGHT, wrong=_SIGMOID_WRONG,
    success="backward multiplies the incoming gradient by σ(x)(1 − σ(x)): a vector-Jacobian product.",
)
def _check_sigmoid_function(answer):
    torch = _torch()
    if isinstance(answer, _Built):
        answer = answer.build()
    require(isinstance(answer, type) and issubclass(answer, torch.autograd.Function),
            f"pass the class itself, a subclass of torch.autograd.Function; got {answer!r}.",
            "Write `class Sigmoid(torch.autograd.Function): ...` and pass `Sigmoid` (call it with "
            "Sigmoid.apply(x), never Sigmoid()(x)).")
    gen = torch.Generator().manual_seed(15)
    x = 3.0 * torch.randn(5, 4, dtype=torch.float64, generator=gen)
    x[0, 0], x[0, 1] = 30.0, -30.0                    # saturated: σ′ ≈ 1e-13
    x.requires_grad_(True)
    out = answer.apply(x)
    require(isinstance(out, torch.Tensor), f"forward should return a tensor; got {type(out).__name__}.",
            "Return σ(x) computed with torch operations, e.g. torch.sigmoid(x) or 1 / (1 + torch.exp(-x)).")
    s = torch.sigmoid(x.detach())
    require_close(out.detach().numpy(), s.numpy(), "forward: Sigmoid.apply(x)", rtol=1e-10, atol=1e-12,
                  hint="forward returns σ(x) = 1 / (1 + e^(−x)), element by element.")
    v = torch.randn(5, 4, dtype=torch.float64, generator=gen)   # a grad_output that is not all ones
    (gx,) = torch.autograd.grad(out, x, v)
    gx = gx.numpy()
    sig, xv, vn = s.numpy(), x.detach().numpy(), v.numpy()
    if _close(gx, sig * (1 - sig)):
        raise Incorrect(
            "your backward returns σ′(x) and ignores grad_output.",
            "backward receives ȳ = ∂L/∂(output) and must return x̄ = ȳ ⊙ σ(x)(1 − σ(x)) (the chain rule). "
            "A check with out.sum().backward() cannot see this mistake: it sends ȳ = ones.")
    if _close(gx, vn * xv * (1 - xv)):
        raise Incorrect(
            "your backward uses x(1 − x): the derivative is σ(x)(1 − σ(x)), in terms of the output.",
            "Save σ(x) in forward (ctx.save_for_backward(s)) and use it in backward.")
    if _close(gx, vn * sig):
        raise Incorrect("your backward returns grad_output · σ(x): the factor (1 − σ(x)) is missing.",
                        "σ′(x) = σ(x)(1 − σ(x)).")
    require_close(gx, vn * sig * (1 - sig), "backward: the gradient for a random grad_output",
                  rtol=1e-9, atol=1e-12, hint="Return grad_output * s * (1 - s) with s = σ(x).")
    xs = torch.randn(3, 2, dtype=torch.float64, generator=gen, requires_grad=True)
    require(bool(torch.autograd.gradcheck(answer.apply, (xs,), raise_exception=False)),
            "torch.autograd.gradcheck fails: backward disagrees with finite differences of forward.",
            "Run torch.autograd.gradcheck(Sigmoid.apply, (x,)) with a float64 x to see the two Jacobians.")


# -- 15.linear_stats --------------------------------------------------------------------------

def _stats_model():
    """A small float64 network with a skip connection, fixed weights; its Linear modules are
    named "fc1", "block.0" and "out"."""
    torch = _torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 6)
            self.act = nn.Tanh()
            self.block = nn.Sequential(nn.Linear(6, 6), nn.ReLU())
            self.out = nn.Linear(6, 2)

        def forward(self, x):
            h = self.act(self.fc1(x))
            return self.out(h + self.block(h))          # a skip connection: not a chain of children

    model = Net().double()
    gen = torch.Generator().manual_seed(15)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, dtype=torch.float64, generator=gen))
    x = torch.randn(32, 4, dtype=torch.float64, generator=gen)
    return model, x


def _linear_outputs(model, x):
    """The outputs of the three Linear modules, computed by hand (no hooks)."""
    torch = _torch()
    with torch.no_grad():
        z1 = model.fc1(x)
        h = torch.tanh(z1)
        z2 = model.block[0](h)
        z3 = model.out(h + torch.relu(z2))
    return {"fc1": z1, "block.0": z2, "out": z3}


def _stats_hooks_item(model, x):
    torch = _torch()
    stats, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            def hook(mod, inputs, output, name=name):
                stats[name] = (output.mean().item(), output.std().item())    # plain floats
            handles.append(module.register_forward_hook(hook))
    model(x)
    for h in handles:
        h.remove()
    return stats


def _stats_hooks_detach(model, x):
    torch = _torch()
    outputs, handles = {}, []
    linears = {name: m for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    try:
        for name, module in linears.items():
            handles.append(module.register_forward_hook(
                lambda mod, inp, out, name=name: outputs.__setitem__(name, out.detach())))
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return {name: (float(o.mean()), float(o.std(correction=0))) for name, o in outputs.items()}


def _wrong_graph_tensors(model, x):
    torch = _torch()
    stats, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            def hook(mod, inputs, output, name=name):
                stats[name] = (output.mean(), output.std())               # tensors on the graph
            handles.append(module.register_forward_hook(hook))
    model(x)
    for h in handles:
        h.remove()
    return stats


def _wrong_every_module(model, x):
    stats, handles = {}, []
    for name, module in model.named_modules():                            # containers and Tanh too
        def hook(mod, inputs, output, name=name):
            stats[name] = (output.mean().item(), output.std().item())
        handles.append(module.register_forward_hook(hook))
    model(x)
    for h in handles:
        h.remove()
    return stats


def _wrong_hooks_left(model, x):
    torch = _torch()
    stats = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            def hook(mod, inputs, output, name=name):
                stats[name] = (output.mean().item(), output.std().item())
            module.register_forward_hook(hook)                            # the handle is thrown away
    model(x)
    return stats


def _wrong_children_chain(model, x):
    torch = _torch()
    stats, h = {}, x
    with torch.no_grad():
        for name, child in model.named_children():                        # misses the skip connection
            if isinstance(child, torch.nn.Sequential):
                for i, sub in enumerate(child):
                    h = sub(h)
                    if isinstance(sub, torch.nn.Linear):
                        stats[f"{name}.{i}"] = (h.mean().item(), h.std().item())
            else:
                h = child(h)
                if isinstance(child, torch.nn.Linear):
                    stats[name] = (h.mean().item(), h.std().item())
    return stats


def _forward_hook_count(model) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


@exercise(
    "15.linear_stats", "Forward hooks: mean and std of every Linear output",
    right=[_stats_hooks_item, _stats_hooks_detach],
    wrong={
        "stores graph tensors": _wrong_graph_tensors,
        "hooks every module": _wrong_every_module,
        "leaves the hooks registered": _wrong_hooks_left,
        "runs the children in a chain instead of hooking": _wrong_children_chain,
    },
    success="one hook per Linear, plain numbers stored, hooks removed: the model is as it was.",
)
def _check_linear_stats(answer):
    require_callable(answer, "linear_stats")
    torch = _torch()
    model, x = _stats_model()
    got = answer(model, x)
    left = _forward_hook_count(model)
    require(isinstance(got, dict), f"linear_stats should return a dict {{name: (mean, std)}}; got "
            f"{type(got).__name__}.", "Fill a dict inside the hook: stats[name] = (mean, std).")
    expected = _linear_outputs(model, x)
    keys = set(got)
    if keys > set(expected):
        extra = sorted(str(k) for k in keys - set(expected))
        raise Incorrect(
            f"you recorded modules that are not Linear: {extra} (the container '' is the whole model).",
            "Loop over model.named_modules() and register a hook only where isinstance(module, nn.Linear).")
    require(keys == set(expected),
            f"expected one entry per Linear module, named as in model.named_modules(): "
            f"{sorted(expected)}; got {sorted(str(k) for k in keys)}.",
            "Use the names from model.named_modules() as the keys.")
    for name, value in got.items():
        require(isinstance(value, (tuple, list)) and len(value) == 2,
                f"stats[{name!r}] should be a pair (mean, std); got {value!r}.")
        for part in value:
            if isinstance(part, torch.Tensor) and (part.requires_grad or part.grad_fn is not None):
                raise Incorrect(
                    f"stats[{name!r}] holds tensors attached to the graph (grad_fn="
                    f"{type(part.grad_fn).__name__}): each keeps the whole forward pass's graph, and every "
                    "tensor it saved, alive for as long as you keep the statistics.",
                    "Store plain numbers: output.mean().item(), or compute on output.detach().")
    require(left == 0,
            f"{left} forward hook(s) are still registered on the model after linear_stats returned: every "
            "later forward pass runs them again (and calling linear_stats twice doubles them).",
            "register_forward_hook returns a handle: keep the handles and call handle.remove() at the end.")
    for name, z in expected.items():
        mean, std = (float(v) for v in got[name])
        require_close(mean, z.mean().item(), f"mean of {name}'s output", rtol=1e-9, atol=1e-12,
                      hint="Record the output the hook receives (its third argument), as the model really "
                           "runs: this model has a skip connection, so running its children one after "
                           "another is not the same computation.")
        ok_std = any(np.isclose(std, z.std(correction=c).item(), rtol=1e-9, atol=1e-12) for c in (0, 1))
        require(ok_std, f"std of {name}'s output: expected {z.std().item():.6g}; got {std:.6g}.",
                "Take the std over every element of the output: output.std().")


# -- 15.fix_s0_snippet ------------------------------------------------------------------------

def _fix_set_none(x):
    x.grad = None                                  # forget any earlier gradient
    y = x * 2
    y.backward(_ones_like(y))                 # ȳ = ones: the gradient of y.sum()
    return x.grad


def _ones_like(t):
    return _torch().ones_like(t)


def _fix_zero_and_sum(x):
    if x.grad is not None:
        x.grad.zero_()
    y = x * 2
    y.sum().backward()
    return x.grad


def _wrong_s0_unchanged(x):
    y = x * 2
    y.backward()
    return x.grad


def _wrong_stale_grad(x):
    y = x * 2
    y.backward(_ones_like(y))
    return x.grad


def _wrong_hard_coded_three(x):
    x.grad = None
    y = x * 2
    y.backward(_torch().ones(3))
    return x.grad


def _wrong_mean(x):
    x.grad = None
    (x * 2).mean().backward()
    return x.grad


def _wrong_autograd_grad(x):
    y = x * 2
    (g,) = _torch().autograd.grad(y, x, _ones_like(y))
    return g


def _call_double(answer, x, call):
    torch = _torch()
    try:
        got = answer(x)
    except RuntimeError as err:
        text = str(err)
        if "implicitly created only for scalar outputs" in text:
            raise Incorrect(
                "this is S0's snippet unchanged: y = x * 2 has 3 elements, so y.backward() does not know "
                "which gradient to start from and raises.",
                "Give it ȳ: y.backward(torch.ones_like(y)), or reduce to a scalar first: "
                "y.sum().backward().") from err
        if "shape" in text or "size" in text.lower():
            raise Incorrect(
                f"with a {len(x)}-element x your code raised: {text.splitlines()[0]}",
                "Build the gradient to start from with the shape of y: torch.ones_like(y).") from err
        raise
    if got is None:
        raise Incorrect(f"grad_of_double returned None (call {call}).",
                        "Return x.grad after the backward call.")
    require(isinstance(got, torch.Tensor), f"return the tensor x.grad; got {type(got).__name__}.")
    return got.detach().clone()


@exercise(
    "15.fix_s0_snippet", "S0's snippet, fixed",
    right=[_fix_set_none, _fix_zero_and_sum],
    wrong={
        "S0's y.backward() unchanged": _wrong_s0_unchanged,
        "stale .grad from an earlier call": _wrong_stale_grad,
        "hard-coded torch.ones(3)": _wrong_hard_coded_three,
        "y.mean() instead of y.sum()": _wrong_mean,
        "autograd.grad leaves x.grad empty": _wrong_autograd_grad,
    },
    success="ȳ = ones gives the gradient of y.sum(), and a fresh .grad gives it every time.",
)
def _check_fix_s0_snippet(answer):
    require_callable(answer, "grad_of_double")
    torch = _torch()
    gen = torch.Generator().manual_seed(15)
    x = torch.randn(3, generator=gen).requires_grad_(True)
    first = _call_double(answer, x, 1)
    twos = np.full(3, 2.0)
    if _close(first.numpy(), np.full(3, 2.0 / 3.0), rtol=1e-6):        # float32
        raise Incorrect("you get 2/3 per element: that is the gradient of y.mean(), not of y.sum().",
                        "S0 wants ∂(Σ yᵢ)/∂xᵢ = 2: use y.sum() or y.backward(torch.ones_like(y)).")
    require_close(first.numpy(), twos, "x.grad after the first call", rtol=1e-6, atol=1e-6,
                  hint="y = 2x, so ∂yᵢ/∂xᵢ = 2 for every element.")
    if x.grad is None:
        raise Incorrect("the function returned [2, 2, 2] but x.grad is still None.",
                        "torch.autograd.grad returns the gradient without storing it; the exercise asks "
                        "for x.grad: call .backward() on y with ȳ = ones.")
    require_close(x.grad.detach().numpy(), twos, "x.grad after the first call", rtol=1e-6, atol=1e-6)
    second = _call_double(answer, x, 2)
    if _close(second.numpy(), 2 * twos, rtol=1e-6):
        raise Incorrect(
            "the second call on the same x returns [4, 4, 4]: .grad accumulates, and the gradient of "
            "the first call was still there.",
            "Clear the stale gradient before backward: x.grad = None (or x.grad.zero_()), as "
            "optimizer.zero_grad() does before every training step.")
    require_close(second.numpy(), twos, "x.grad after a second call on the same x", rtol=1e-6, atol=1e-6)
    x5 = torch.randn(5, generator=gen).requires_grad_(True)
    x5.grad = torch.full((5,), 7.0)                # left over from some earlier computation
    got = _call_double(answer, x5, 3)
    require_close(got.numpy(), np.full(5, 2.0), "x.grad for a 5-element x that had an old .grad",
                  rtol=1e-6, atol=1e-6, hint="Clear x.grad first and use torch.ones_like(y).")
