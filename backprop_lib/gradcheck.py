"""Gradient checking: compare a backward pass with central finite differences.

The numerical gradient of a scalar function f at x, one entry at a time::

    df/dx_i  ~  ( f(x + h e_i) - f(x - h e_i) ) / (2 h)          (central difference, error O(h^2))

and the agreement between an analytic gradient a and a numerical one b, entry by entry::

    rel_i = |a_i - b_i| / max(|a_i| + |b_i|, tiny)

Verdict bands on the largest ``rel_i`` (cs231n's rule of thumb): below ``CORRECT_BELOW`` (1e-7)
the backward pass is **correct**, below ``WRONG_FROM`` (1e-4) it is **suspicious** (a kink such as
ReLU's at 0 may have been crossed, or the function is badly scaled), from 1e-4 on it is **wrong**.

Three things every check here takes care of:

* **float64 only.** In float32 a central difference with h = 1e-6 is pure rounding noise, so
  ``numerical_gradient`` refuses float32 arrays, and ``check`` / ``check_layer`` run a float32
  model on a float64 *copy* (with a warning): the formulas checked are the same, the
  arithmetic is precise enough to check them.
* **Deterministic models only.** Dropout in training mode draws a new mask at every forward pass,
  so the two sides of a difference would be two different networks. ``check`` raises a clear
  error then (call ``model.eval()`` or use ``p=0``). Batch norm in training mode is fine (its
  output depends only on the batch), and the checks never touch your model: they work on a copy,
  so its running statistics and ``.grad`` stay as they were.
* **The resolution of finite differences.** Rounding limits a central difference to an absolute
  accuracy of roughly ``noise = 10 * eps * max(|L|, 1) / h`` (about 2e-9 for h = 1e-6 and a loss
  of order 1). An entry smaller than ``noise / CORRECT_BELOW`` cannot be verified to 1e-7
  *relative* accuracy, so ``check`` uses that value as ``tiny``: tiny gradient entries are judged
  by their absolute error against the resolution instead of showing a meaningless relative
  error of 1. Pass ``tiny=`` to choose another floor.

Large parameters can be spot-checked: ``max_entries_per_param=200`` checks 200 entries per
parameter, drawn without replacement with the given ``seed`` (each entry costs two forward passes).
"""

from __future__ import annotations

import copy
import html
import math
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_float_array, as_rng, check_number, check_positive_int

CORRECT_BELOW = 1e-7    # max relative error below this: "correct"
WRONG_FROM = 1e-4       # max relative error from this on: "wrong" (in between: "suspicious")
TINY = np.finfo(np.float64).tiny   # default floor of the denominator (only avoids 0 / 0)
NOISE_FACTOR = 10.0     # rounding error of one central difference ~ NOISE_FACTOR * eps * |L| / h

VERDICTS = ("correct", "suspicious", "wrong")

__all__ = [
    "CORRECT_BELOW", "WRONG_FROM", "TINY", "VERDICTS",
    "numerical_gradient", "relative_error", "max_relative_error", "verdict",
    "GradRow", "GradcheckReport", "check", "check_layer",
]


# ---------------------------------------------------------------------------------------------
# Functions of arrays
# ---------------------------------------------------------------------------------------------
def _check_step(h) -> float:
    return check_number(h, "h (the finite-difference step)", low=0.0, low_open=True)


def _scalar(value, what: str) -> float:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())[()]
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating)):
        raise TypeError(
            f"{what} must return a real number (a scalar loss); got {type(value).__name__}"
            + (f" of shape {value.shape}" if isinstance(value, np.ndarray) else "")
            + ". Reduce it first, e.g. with .sum()."
        )
    return float(value)


def _numeric_entries(f, x: np.ndarray, flat_indices, h: float, what: str = "f") -> np.ndarray:
    """Central differences of ``f`` w.r.t. the entries ``flat_indices`` of ``x`` (in place)."""
    out = np.empty(len(flat_indices), dtype=np.float64)
    for k, flat in enumerate(flat_indices):
        idx = np.unravel_index(int(flat), x.shape)
        old = x[idx]
        try:
            x[idx] = old + h
            f_plus = _scalar(f(x), what)
            x[idx] = old - h
            f_minus = _scalar(f(x), what)
        finally:
            x[idx] = old                                    # restore exactly
        out[k] = (f_plus - f_minus) / (2.0 * h)             # (f(x+h e_i) - f(x-h e_i)) / 2h
    return out


def numerical_gradient(f, x, h: float = 1e-6) -> np.ndarray:
    """The gradient of a scalar function ``f`` at ``x`` by central differences.

    ``df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)``, one entry at a time. ``x`` is perturbed
    **in place** (so ``f`` may read it through a closure, e.g. a layer's weight) and restored
    exactly afterwards. ``x`` must be a float64 array: in float32 the difference of two nearly
    equal losses is mostly rounding noise. Cost: ``2 * x.size`` evaluations of ``f``.

    >>> g = numerical_gradient(lambda v: np.sum(v ** 3), np.array([1.0, 2.0]))
    >>> np.allclose(g, [3.0, 12.0])                     # d/dx sum(x^3) = 3 x^2
    True
    """
    if not callable(f):
        raise TypeError(f"f must be a function of one array returning a number; got {type(f).__name__}.")
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"x must be a NumPy float64 array (it is perturbed in place); got {type(x).__name__}. "
            "Convert it with x = np.asarray(x, dtype=np.float64)."
        )
    if x.dtype != np.float64:
        raise TypeError(
            f"x must have dtype float64 for finite differences; got {x.dtype}. In float32 a central "
            "difference with h = 1e-6 is mostly rounding noise. Use x.astype(np.float64) (and a "
            "float64 function)."
        )
    as_float_array(x, "x")                                  # finite values only
    h = _check_step(h)
    grad = _numeric_entries(f, x, np.arange(x.size), h)
    return grad.reshape(x.shape)


def relative_error(a, b, tiny: float = TINY) -> np.ndarray:
    """Elementwise ``|a - b| / max(|a| + |b|, tiny)``; 0 where both are 0, at most 1."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}.")
    tiny = check_number(tiny, "tiny", low=0.0, low_open=True)
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), tiny)


def max_relative_error(a, b, tiny: float = TINY) -> float:
    """The largest entry of ``relative_error(a, b, tiny)`` (0.0 for empty arrays; inf if NaN)."""
    rel = relative_error(a, b, tiny)
    if rel.size == 0:
        return 0.0
    if not np.all(np.isfinite(rel)):
        return math.inf
    return float(rel.max())


def verdict(error: float) -> str:
    """``"correct"`` below 1e-7, ``"suspicious"`` below 1e-4, ``"wrong"`` otherwise (and for NaN)."""
    if not error < WRONG_FROM:                              # also catches NaN
        return "wrong"
    return "correct" if error < CORRECT_BELOW else "suspicious"


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradRow:
    """One checked array: a parameter, or the input (``name="input"``)."""

    name: str
    shape: tuple
    max_rel_error: float
    analytic_norm: float          # ||analytic|| over the checked entries
    numeric_norm: float           # ||numeric|| over the checked entries
    checked: int                  # entries compared
    total: int                    # entries in the array
    verdict: str
    worst_index: tuple | None = None                               # entry with the largest error
    indices: np.ndarray = field(default=None, repr=False, compare=False)   # flat indices checked
    analytic: np.ndarray = field(default=None, repr=False, compare=False)  # at those indices
    numeric: np.ndarray = field(default=None, repr=False, compare=False)


_HEADER = ("array", "shape", "checked", "max rel. error", "|analytic|", "|numeric|", "verdict")
_COLOURS = {"correct": "#2e7d32", "suspicious": "#ef6c00", "wrong": "#c62828"}


@dataclass(frozen=True)
class GradcheckReport:
    """Per-array results of ``check`` / ``check_layer``.

    ``rows``: one ``GradRow`` per parameter; ``input``: the row for dL/dx (or ``None``).
    ``ok`` is True when every row is "correct"; ``worst`` is the row with the largest error.
    """

    rows: tuple
    input: GradRow | None
    loss: float
    h: float
    tiny: float
    notes: tuple = ()
    title: str = "Gradient check"

    @property
    def all_rows(self) -> tuple:
        return self.rows + ((self.input,) if self.input is not None else ())

    @property
    def worst(self) -> GradRow | None:
        rows = self.all_rows
        if not rows:
            return None
        return max(rows, key=lambda r: r.max_rel_error if not math.isnan(r.max_rel_error) else math.inf)

    @property
    def max_rel_error(self) -> float:
        w = self.worst
        return 0.0 if w is None else w.max_rel_error

    @property
    def verdict(self) -> str:
        return verdict(self.max_rel_error)

    @property
    def ok(self) -> bool:
        return all(r.verdict == "correct" for r in self.all_rows)

    def __getitem__(self, name: str) -> GradRow:
        for r in self.all_rows:
            if r.name == name:
                return r
        names = ", ".join(repr(r.name) for r in self.all_rows)
        raise KeyError(f"no checked array named {name!r}; the report has {names}.")

    def _cells(self):
        for r in self.all_rows:
            yield (r.name, str(tuple(r.shape)), f"{r.checked}/{r.total}", f"{r.max_rel_error:.2e}",
                   f"{r.analytic_norm:.4e}", f"{r.numeric_norm:.4e}", r.verdict)

    def _summary(self) -> str:
        bad = [r.name for r in self.all_rows if r.verdict != "correct"]
        if not bad:
            return f"verdict: correct (every max relative error < {CORRECT_BELOW:g})"
        return f"verdict: {self.verdict} (not correct: {', '.join(bad)})"

    def __str__(self) -> str:
        cells = [_HEADER, *self._cells()]
        widths = [max(len(row[i]) for row in cells) for i in range(len(_HEADER))]
        lines = [f"{self.title} (central differences, h={self.h:g}, loss={self.loss:.6g}, "
                 f"denominator floor {self.tiny:.1e})"]
        for row in cells:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        lines.append(self._summary())
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in _HEADER)
        body = []
        for cells in self._cells():
            tds = "".join(f"<td>{esc(c)}</td>" for c in cells[:-1])
            colour = _COLOURS[cells[-1]]
            tds += f'<td style="color:{colour};font-weight:bold">{esc(cells[-1])}</td>'
            body.append(f"<tr>{tds}</tr>")
        notes = "".join(f"<br><i>note: {esc(n)}</i>" for n in self.notes)
        return (
            f"<div><b>{esc(self.title)}</b> (central differences, h={self.h:g}, loss={self.loss:.6g}, "
            f"denominator floor {self.tiny:.1e})"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"{esc(self._summary())}{notes}</div>"
        )


# ---------------------------------------------------------------------------------------------
# Models and layers
# ---------------------------------------------------------------------------------------------
def _named_modules(module, prefix: str = ""):
    """``(path, module)`` for the module and every sub-module ("" is the root, "1.block.0" deeper)."""
    from .nn.module import Module, Sequential

    yield prefix.rstrip("."), module
    if isinstance(module, Sequential):
        for i, layer in enumerate(module.layers):
            yield from _named_modules(layer, f"{prefix}{i}.")
        return
    for key, value in vars(module).items():
        if isinstance(value, Module):
            yield from _named_modules(value, f"{prefix}{key}.")
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, Module):
                    yield from _named_modules(item, f"{prefix}{key}.{i}.")


def _refuse_random_layers(module, who: str) -> None:
    """Raise when a Dropout in training mode with p > 0 would make the loss random."""
    try:
        from .nn.dropout import Dropout
    except ImportError:                                     # pragma: no cover - dropout always ships
        return
    for path, m in _named_modules(module):
        if isinstance(m, Dropout) and m.training and m.p > 0:
            where = f"layer {path!r}" if path else "the layer"
            raise ValueError(
                f"{who} needs a deterministic model, but {where} is Dropout(p={m.p}) in training mode: "
                "it draws a new random mask at every forward pass, so the two sides of a finite "
                "difference would be two different networks. Call model.eval() before checking "
                "(dropout becomes the identity), or build the model with Dropout(p=0)."
            )


def _float64_copy(module, who: str):
    """A deep copy of ``module`` whose parameters and float arrays are float64 (warns if it upcast)."""
    from .nn.module import Module, Parameter

    work = copy.deepcopy(module)
    upcast = False
    for _, m in _named_modules(work):
        for key, value in list(vars(m).items()):
            if isinstance(value, Parameter):
                if value.data.dtype != np.float64:
                    value.data = value.data.astype(np.float64)
                    upcast = True
                value.grad = None
            elif isinstance(value, np.ndarray) and value.dtype == np.float32:
                setattr(m, key, value.astype(np.float64))
                upcast = True
            elif key == "dtype" and not isinstance(value, Module):
                try:
                    if np.dtype(value) == np.float32:
                        setattr(m, key, np.float64)
                        upcast = True
                except TypeError:
                    pass
    if upcast:
        warnings.warn(
            f"{who}: the model has float32 parameters; finite differences need float64 (in float32 a "
            "central difference is mostly rounding noise), so the check runs on a float64 copy of "
            "the model. The formulas checked are the same; your model is not changed.",
            UserWarning,
            stacklevel=3,
        )
    return work, upcast


def _unique_named_parameters(module):
    seen, out = set(), []
    for name, p in module.named_parameters():
        if id(p) not in seen:
            seen.add(id(p))
            out.append((name, p))
    return out


def _select_params(original, work, params):
    """The (name, Parameter-of-the-copy) pairs to check; ``params`` holds names or Parameters."""
    pairs = _unique_named_parameters(work)
    if params is None:
        return pairs
    by_name = dict(pairs)
    id_to_name = {id(p): name for name, p in _unique_named_parameters(original)}
    if isinstance(params, (str, np.ndarray)) or not hasattr(params, "__iter__"):
        params = [params]
    chosen = []
    for item in params:
        name = item if isinstance(item, str) else id_to_name.get(id(item))
        if name not in by_name:
            raise ValueError(
                f"params must name parameters of the model (strings such as '0.weight' or the model's "
                f"Parameter objects); got {item!r}. The model has: {', '.join(by_name) or 'no parameters'}."
            )
        chosen.append((name, by_name[name]))
    return chosen


def _entries(size: int, max_entries, rng) -> np.ndarray:
    if max_entries is None or max_entries >= size:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_entries, replace=False))


def _row(name, array, analytic_full, f, idx, h, tiny, what) -> GradRow:
    numeric = _numeric_entries(f, array, idx, h, what)
    analytic = np.asarray(analytic_full, dtype=np.float64).reshape(-1)[idx]
    rel = relative_error(analytic, numeric, tiny)
    if rel.size and np.all(np.isfinite(rel)):
        k = int(np.argmax(rel))
        err, worst = float(rel[k]), tuple(int(i) for i in np.unravel_index(int(idx[k]), array.shape))
    else:
        err, worst = (0.0, None) if rel.size == 0 else (math.inf, None)
    return GradRow(
        name=name, shape=tuple(array.shape), max_rel_error=err,
        analytic_norm=float(np.linalg.norm(analytic)), numeric_norm=float(np.linalg.norm(numeric)),
        checked=len(idx), total=array.size, verdict=verdict(err), worst_index=worst,
        indices=idx, analytic=analytic, numeric=numeric,
    )


def _floor(scale: float, h: float, tiny) -> float:
    """The denominator floor: what central differences resolve to 1e-7 at this step and loss scale."""
    if tiny is not None:
        return check_number(tiny, "tiny", low=0.0, low_open=True)
    noise = NOISE_FACTOR * np.finfo(np.float64).eps * max(abs(scale), 1.0) / h
    return float(noise / CORRECT_BELOW)


def _check_options(h, max_entries_per_param):
    h = _check_step(h)
    if max_entries_per_param is not None:
        max_entries_per_param = check_positive_int(max_entries_per_param, "max_entries_per_param")
    return h, max_entries_per_param


def _check_module(module, name: str):
    from .nn.module import Module

    if not isinstance(module, Module):
        raise TypeError(
            f"{name} must be a backprop_lib Module (e.g. bp.nn.Sequential or bp.nn.Linear); "
            f"got {type(module).__name__}."
        )


def _grad_or_zeros(p, notes, name):
    if p.grad is None:
        notes.append(f"{name}.grad stayed None after backward (treated as zeros): the layer's "
                     "backward never called accumulate_grad for it.")
        return np.zeros_like(p.data)
    return p.grad


def _require_deterministic(first: float, second: float, who: str) -> None:
    if not math.isclose(first, second, rel_tol=1e-13, abs_tol=1e-300):
        raise ValueError(
            f"the {who} is not deterministic: two forward passes on the same x gave {first!r} and "
            f"{second!r}. Gradient checking compares losses at nearby weights, so every random layer "
            "must be switched off first (call .eval(), or use p=0 for dropout)."
        )


def _require_input_grad(grad_x, x, who: str) -> None:
    if grad_x is None or np.shape(grad_x) != x.shape:
        raise ValueError(
            f"{who}.backward returned {type(grad_x).__name__} of shape {np.shape(grad_x)}; expected dL/dx "
            f"with the input's shape {x.shape}. Pass check_input=False to check parameters only."
        )


def check(model, loss_fn, x, y, h: float = 1e-6, params=None, check_input: bool = True, *,
          max_entries_per_param: int | None = None, seed=0, tiny: float | None = None) -> GradcheckReport:
    """Check ``model``'s backward pass (every parameter, and dL/dx) against central differences.

    ``loss_fn(model(x), y)`` must be a scalar and ``loss_fn.backward()`` its gradient w.r.t. the
    output (a ``bp.nn`` loss). ``x: (batch, in)``; ``y`` as the loss expects it.

    The model must be deterministic (Dropout in eval mode or with p=0; a Dropout in training mode
    raises a ``ValueError``). The check runs on a float64 deep copy of the model: your model, its
    ``.grad`` and its batch-norm running statistics are left untouched; float32 models are
    upcast with a warning. ``params``: names (``"0.weight"``) or the model's Parameters to check
    (default: all). ``max_entries_per_param``: spot-check at most that many entries per array,
    drawn with ``seed``. ``tiny``: the denominator floor (default: the finite-difference resolution
    ``10 * eps * max(|L|, 1) / h / 1e-7``, see the module docstring).

    Returns a ``GradcheckReport``: ``report.ok``, ``report.worst``, ``report["0.weight"]``, and a
    readable table from ``print(report)`` (or as HTML in a notebook).
    """
    _check_module(model, "model")
    if not callable(loss_fn) or not callable(getattr(loss_fn, "backward", None)):
        raise TypeError(
            "loss_fn must be a backprop_lib loss (callable as loss_fn(out, y) with a backward() "
            f"method), e.g. bp.nn.MSELoss(); got {type(loss_fn).__name__}."
        )
    h, max_entries = _check_options(h, max_entries_per_param)
    x = np.array(as_float_array(x, "x"), dtype=np.float64)          # a float64 copy we may perturb
    y = np.array(y, dtype=np.float64) if np.issubdtype(np.asarray(y).dtype, np.floating) else np.asarray(y)
    rng = as_rng(seed)

    _refuse_random_layers(model, "gradcheck.check")
    work, upcast = _float64_copy(model, "gradcheck.check")
    loss_fn = copy.deepcopy(loss_fn)
    notes = ["float32 model: checked on a float64 copy."] if upcast else []

    def loss_of_model(_):                                   # L(theta, x) for the current arrays
        return loss_fn(work(x), y)

    # analytic gradients: one forward, one backward
    work.zero_grad()
    out = work(x)
    loss = _scalar(loss_fn(out, y), "loss_fn(model(x), y)")
    grad_x = work.backward(loss_fn.backward())
    _require_deterministic(loss, _scalar(loss_of_model(None), "loss_fn(model(x), y)"), "model")
    floor = _floor(loss, h, tiny)

    pairs = _select_params(model, work, params)
    analytic = {name: np.array(_grad_or_zeros(p, notes, name)) for name, p in pairs}
    rows = tuple(
        _row(name, p.data, analytic[name], loss_of_model, _entries(p.size, max_entries, rng), h, floor,
             "loss_fn(model(x), y)")
        for name, p in pairs
    )
    input_row = None
    if check_input:
        _require_input_grad(grad_x, x, "model")
        input_row = _row("input", x, grad_x, loss_of_model, _entries(x.size, max_entries, rng), h, floor,
                         "loss_fn(model(x), y)")
    return GradcheckReport(rows=rows, input=input_row, loss=loss, h=h, tiny=floor, notes=tuple(notes),
                           title=f"Gradient check of {type(model).__name__}")


def check_layer(layer, x, grad_out=None, *, h: float = 1e-6, check_input: bool = True,
                max_entries_per_param: int | None = None, seed=0, tiny: float | None = None
                ) -> GradcheckReport:
    """Check one layer's ``backward`` against central differences.

    The scalar checked is ``L = sum(layer(x) * grad_out)``, whose gradient w.r.t. the layer's output
    is exactly ``grad_out``; so ``layer.backward(grad_out)`` must return dL/dx and fill each
    parameter's ``.grad`` with dL/dp. ``grad_out=None`` draws a standard normal one (with ``seed``).
    Same rules as ``check``: deterministic layers, float64 copy, your layer is not modified.
    """
    _check_module(layer, "layer")
    h, max_entries = _check_options(h, max_entries_per_param)
    x = np.array(as_float_array(x, "x"), dtype=np.float64)
    rng = as_rng(seed)

    _refuse_random_layers(layer, "gradcheck.check_layer")
    work, upcast = _float64_copy(layer, "gradcheck.check_layer")
    notes = ["float32 layer: checked on a float64 copy."] if upcast else []

    work.zero_grad()
    out = np.asarray(work(x))
    if grad_out is None:
        grad_out = rng.standard_normal(out.shape)
    grad_out = np.array(as_float_array(grad_out, "grad_out"), dtype=np.float64)
    if grad_out.shape != out.shape:
        raise ValueError(
            f"grad_out must have the layer output's shape {out.shape}; got {grad_out.shape}. "
            "Pass grad_out=None to draw a random one."
        )

    def probe(_):                                           # L = sum(y * g)
        return float(np.sum(np.asarray(work(x)) * grad_out))

    loss = float(np.sum(out * grad_out))
    grad_x = work.backward(grad_out)
    _require_deterministic(loss, probe(None), "layer")
    floor = _floor(float(np.sum(np.abs(out * grad_out))), h, tiny)
    pairs = _unique_named_parameters(work)
    analytic = {name: np.array(_grad_or_zeros(p, notes, name)) for name, p in pairs}
    rows = tuple(
        _row(name, p.data, analytic[name], probe, _entries(p.size, max_entries, rng), h, floor,
             "sum(layer(x) * grad_out)")
        for name, p in pairs
    )
    input_row = None
    if check_input:
        _require_input_grad(grad_x, x, "layer")
        input_row = _row("input", x, grad_x, probe, _entries(x.size, max_entries, rng), h, floor,
                         "sum(layer(x) * grad_out)")
    return GradcheckReport(rows=rows, input=input_row, loss=loss, h=h, tiny=floor, notes=tuple(notes),
                           title=f"Gradient check of {type(layer).__name__}.backward")
