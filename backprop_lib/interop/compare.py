"""Compare a backprop_lib model's gradients with PyTorch autograd on the same batch.

    cmp = bp.interop.compare_gradients(net, bp.nn.CrossEntropyLoss(), x, y)
    print(cmp)            # per parameter: max relative / absolute difference, and the losses
    cmp.max_rel_error     # the largest, over every parameter and the input gradient

Both sides start from the same weights (``to_torch(net)``) and see the same batch; bp runs its
explicit ``backward``, torch runs ``loss.backward()``. The relative difference of two gradients
``a`` (bp) and ``b`` (torch) is, entry by entry::

    rel_i = |a_i - b_i| / max(|a_i| + |b_i|, tiny),     tiny = floor · max_j(|a_j|, |b_j|)

where the max runs over every compared array. Without the floor, an entry that is zero in exact
arithmetic (say the bias gradient of a layer followed by batch norm) would compare two rounding
errors and show a meaningless relative difference near 1. ``floor`` defaults to 1e-6 in float64
and 1e-2 in float32 (far above the rounding error of the matrix products, far below any real bug).
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, check_number
from ..gradcheck import _refuse_random_layers, _unique_named_parameters
from ..nn.module import Module
from .torch_bridge import import_torch, to_torch, torch_loss

DEFAULT_FLOOR = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-2}

__all__ = ["DEFAULT_FLOOR", "GradientComparison", "GradientDifference", "compare_gradients"]


@dataclass(frozen=True)
class GradientDifference:
    """bp vs torch for one array (a parameter's gradient, or ``"input"``: dL/dx)."""

    name: str
    shape: tuple
    max_rel_error: float
    max_abs_error: float
    bp_norm: float
    torch_norm: float


@dataclass(frozen=True)
class GradientComparison:
    """The result of ``compare_gradients``: one row per parameter, plus the input gradient."""

    rows: tuple
    input: GradientDifference | None
    loss_bp: float
    loss_torch: float
    tiny: float
    dtype: str

    @property
    def all_rows(self) -> tuple:
        return self.rows + ((self.input,) if self.input is not None else ())

    @property
    def loss_diff(self) -> float:
        """|L_bp - L_torch|."""
        return abs(self.loss_bp - self.loss_torch)

    @property
    def max_rel_error(self) -> float:
        return max((r.max_rel_error for r in self.all_rows), default=0.0)

    @property
    def worst(self) -> GradientDifference | None:
        return max(self.all_rows, key=lambda r: r.max_rel_error, default=None)

    def __getitem__(self, name: str) -> GradientDifference:
        for r in self.all_rows:
            if r.name == name:
                return r
        raise KeyError(f"no compared array named {name!r}; have {', '.join(r.name for r in self.all_rows)}.")

    _HEADER = ("array", "shape", "max rel. diff", "max abs. diff", "|bp grad|", "|torch grad|")

    def _cells(self):
        for r in self.all_rows:
            yield (r.name, str(tuple(r.shape)), f"{r.max_rel_error:.2e}", f"{r.max_abs_error:.2e}",
                   f"{r.bp_norm:.4e}", f"{r.torch_norm:.4e}")

    def _title(self) -> str:
        return (f"backprop_lib vs PyTorch autograd ({self.dtype}): loss {self.loss_bp:.10g} vs "
                f"{self.loss_torch:.10g} (|diff| {self.loss_diff:.1e})")

    def __str__(self) -> str:
        cells = [self._HEADER, *self._cells()]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self._HEADER))]
        lines = [self._title()]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
        lines.append(f"largest relative difference: {self.max_rel_error:.2e}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self._HEADER)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
                       for cells in self._cells())
        return (f"<div><b>{html.escape(self._title())}</b><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>largest relative difference: {self.max_rel_error:.2e}</div>")


def _model_dtype(net: Module, x: np.ndarray) -> np.dtype:
    params = net.parameters()
    return np.dtype(params[0].data.dtype) if params else np.dtype(x.dtype)


def compare_gradients(net: Module, loss_fn, x, y, *, check_input: bool = True, floor: float | None = None
                      ) -> GradientComparison:
    """Per-parameter difference between ``net``'s backward pass and PyTorch autograd.

    ``net`` is not modified (the comparison runs on copies, so batch-norm running statistics and
    ``.grad`` stay as they were). ``x`` is cast to the model's dtype; ``y`` holds integer labels
    for ``CrossEntropyLoss`` and float targets otherwise. The model must be deterministic (a
    Dropout in training mode would draw different masks in the two libraries: call ``eval()``).
    ``floor``: the relative floor of the denominator (see the module docstring; default 1e-6 in
    float64, 1e-2 in float32). ``check_input=False`` skips dL/dx.

    Returns a ``GradientComparison``: ``max_rel_error``, ``worst``, ``loss_diff``, ``cmp["0.weight"]``
    and a printable table.
    """
    torch = import_torch()
    if not isinstance(net, Module):
        raise TypeError(f"net must be a backprop_lib Module (e.g. bp.nn.Sequential); "
                        f"got {type(net).__name__}.")
    tloss_fn = torch_loss(loss_fn)
    _refuse_random_layers(net, "compare_gradients")
    x = as_float_array(x, "x")
    dtype = _model_dtype(net, x)
    x = np.array(x, dtype=dtype)
    y = np.asarray(y)
    if floor is None:
        floor = DEFAULT_FLOOR[dtype]
    floor = check_number(floor, "floor", low=0.0)

    tnet = to_torch(net)                                     # before bp's forward touches running stats
    work, loss_fn = copy.deepcopy(net), copy.deepcopy(loss_fn)

    # backprop_lib: explicit forward and backward
    work.zero_grad()
    loss_bp = float(loss_fn(work(x), y))
    grad_x = work.backward(loss_fn.backward())

    # PyTorch: autograd
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.from_numpy(np.array(y, dtype=np.int64 if np.issubdtype(y.dtype, np.integer) else dtype))
    loss_t = tloss_fn(tnet(xt), yt)
    loss_t.backward()

    torch_params = dict(tnet.named_parameters())
    pairs = []
    for name, p in _unique_named_parameters(work):
        if name not in torch_params:                        # pragma: no cover - to_torch keeps names
            raise RuntimeError(f"parameter {name!r} has no counterpart in the torch model "
                               f"({', '.join(torch_params)}).")
        tp = torch_params[name]
        g_bp = np.zeros_like(p.data) if p.grad is None else np.asarray(p.grad)
        g_t = np.zeros_like(p.data) if tp.grad is None else tp.grad.detach().numpy()
        pairs.append((name, g_bp, g_t))
    if check_input:
        pairs.append(("input", np.asarray(grad_x), xt.grad.detach().numpy()))

    scale = max((max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0)) for _, a, b in pairs),
                default=0.0)
    tiny = max(floor * float(scale), np.finfo(np.float64).tiny)
    rows = []
    for name, a, b in pairs:
        a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        diff = np.abs(a64 - b64)
        rel = diff / np.maximum(np.abs(a64) + np.abs(b64), tiny)
        rows.append(GradientDifference(
            name=name, shape=tuple(a64.shape),
            max_rel_error=float(rel.max(initial=0.0)), max_abs_error=float(diff.max(initial=0.0)),
            bp_norm=float(np.linalg.norm(a64)), torch_norm=float(np.linalg.norm(b64)),
        ))
    input_row = rows.pop() if check_input else None
    return GradientComparison(rows=tuple(rows), input=input_row, loss_bp=loss_bp,
                              loss_torch=float(loss_t.item()), tiny=tiny, dtype=str(dtype))
