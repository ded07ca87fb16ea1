"""Gradient clipping: bound the gradient before the optimizer step.

* ``clip_grad_norm_`` rescales all gradients together so that their joint norm is at
  most ``max_norm``: the direction is kept, only the length shrinks. This is the usual
  remedy for exploding gradients (e.g. in RNNs).
* ``clip_grad_value_`` clamps every gradient entry into [-clip_value, clip_value]:
  simpler, but it changes the direction.

Both work in place on ``p.grad`` (hence the trailing underscore, as in PyTorch's
``torch.nn.utils``) and skip parameters whose ``grad`` is ``None``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from backprop_lib.optim.optimizer import _as_param_list


def _grads(parameters, fn):
    """The parameters that have a gradient, with ``p.grad`` made an ndarray (clipped in place)."""
    params = [p for p in _as_param_list(parameters, fn, "parameters", allow_empty=True) if p.grad is not None]
    for p in params:
        if not isinstance(p.grad, np.ndarray):
            p.grad = np.array(p.grad, dtype=p.data.dtype)
    return params


def _positive(value, name, fn):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a positive number; got {value!r} ({type(value).__name__}).")
    if not value > 0:
        raise ValueError(f"{fn}: {name} must be positive (> 0); got {value!r}. Use e.g. {name}=1.0.")
    return float(value)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False) -> float:
    r"""Rescale the gradients so that their total norm is at most ``max_norm``.

    The total norm treats all gradients as one long vector g (as PyTorch does):

        ‖g‖ = (Σ_i |g_i|^p)^(1/p)                  (p = norm_type; p = inf: max_i |g_i|)
        c   = min(1, max_norm / (‖g‖ + 1e-6))      clip coefficient (1e-6 avoids 0/0)
        g   ← c g

    Args:
        parameters: ``net.parameters()`` (or one Parameter).
        max_norm: the largest allowed norm (> 0).
        norm_type: p of the p-norm (> 0), or ``float("inf")``.
        error_if_nonfinite: raise if the norm is NaN/inf (default: clip anyway, as torch).

    Returns:
        The total norm **before** clipping (a float), handy to log.
    """
    fn = "clip_grad_norm_"
    max_norm = _positive(max_norm, "max_norm", fn)
    if isinstance(norm_type, str) and norm_type.lower() in ("inf", "infinity"):
        norm_type = math.inf
    norm_type = _positive(norm_type, "norm_type", fn)
    params = _grads(parameters, fn)
    if not params:
        return 0.0
    # norm of the per-parameter norms = norm of the concatenated gradient
    per_param = np.array([np.linalg.norm(np.ravel(p.grad), ord=norm_type) for p in params])
    total_norm = float(np.linalg.norm(per_param, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError(
            f"{fn}: the total gradient norm is {total_norm}; the gradients contain NaN or inf "
            "(the loss has probably diverged: lower the learning rate). Pass "
            "error_if_nonfinite=False to clip anyway."
        )
    clip_coef = min(1.0, max_norm / (total_norm + 1e-6))     # c = min(1, max_norm / (‖g‖ + 1e-6))
    for p in params:
        p.grad *= clip_coef                                   # g ← c g
    return total_norm


def clip_grad_value_(parameters, clip_value) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]`` (in place)."""
    fn = "clip_grad_value_"
    clip_value = _positive(clip_value, "clip_value", fn)
    for p in _grads(parameters, fn):
        np.clip(p.grad, -clip_value, clip_value, out=p.grad)
