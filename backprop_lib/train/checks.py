"""Argument checks for ``fit``: each error names the argument, what came and the fix."""

from __future__ import annotations

import numbers

import numpy as np


def check_model(model):
    """``model`` must be a bp.nn Module (forward, backward, parameters) with parameters."""
    from ..nn.module import Module

    if not isinstance(model, Module):
        raise TypeError(
            f"model must be a bp.nn.Module (e.g. bp.nn.mlp([2, 16, 2]) or bp.nn.Sequential(...)); "
            f"got {type(model).__module__}.{type(model).__name__}. A torch.nn.Module trains with "
            "a PyTorch loop (or convert it with bp.interop.from_torch)."
        )
    params = model.parameters()
    if not params:
        raise ValueError(
            f"model ({type(model).__name__}) has no parameters to train; add a layer with "
            "weights such as bp.nn.Linear."
        )
    return params


def check_loss_fn(loss_fn):
    if isinstance(loss_fn, type):
        raise TypeError(
            f"loss_fn must be a loss instance; got the class {loss_fn.__name__}. Pass "
            f"{loss_fn.__name__}() (note the parentheses)."
        )
    if not callable(loss_fn) or not callable(getattr(loss_fn, "backward", None)):
        raise TypeError(
            "loss_fn must be a bp.nn loss object with a backward() method, e.g. "
            f"bp.nn.CrossEntropyLoss() or bp.nn.MSELoss(); got {type(loss_fn).__name__}. "
            "Pass an instance (note the parentheses), not the class or a plain function."
        )


def check_data(data, name: str, dtype=None):
    """``data`` must be ``(x, y)`` with one row of ``x`` per target in ``y``.

    ``x`` (float, at least 2-D: (n, features)) and floating ``y`` are cast to ``dtype``
    (the model's); integer class labels stay integers.
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        got = f"a {type(data).__name__}" + (f" of length {len(data)}" if isinstance(data, (tuple, list))
                                           else "")
        raise TypeError(f"{name} must be a tuple (x, y) of inputs and targets; got {got}. "
                        f"Pass {name}=(x, y).")
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"{name}: x must hold floats; got dtype {x.dtype}. Convert it with x.astype(np.float64)."
        )
    if x.ndim < 2:
        raise ValueError(
            f"{name}: x must be shaped (samples, features); got shape {x.shape}. For one feature "
            "per sample use x.reshape(-1, 1)."
        )
    if y.ndim == 0:
        raise ValueError(f"{name}: y must have one target per sample; got a scalar.")
    if len(x) != len(y):
        raise ValueError(
            f"{name}: x has {len(x)} samples but y has {len(y)}; x and y must have the same length "
            "(one target per row of x). Check that they come from the same dataset/split."
        )
    if len(x) == 0:
        raise ValueError(f"{name} is empty (0 samples); pass at least one sample.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: x contains NaN or infinite values; clean the data first.")
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y)):
        raise ValueError(f"{name}: y contains NaN or infinite targets; clean the data first.")
    if dtype is not None and x.dtype != dtype:
        x = x.astype(dtype)
    if dtype is not None and np.issubdtype(y.dtype, np.floating) and y.dtype != dtype:
        y = y.astype(dtype)
    return x, y


def check_count(value, name: str, low: int, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {low}; got {value!r} ({type(value).__name__}). "
                        f"Use e.g. {example}.")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value}. Use e.g. {example}.")
    return int(value)


def optimizer_params(optimizer) -> list:
    groups = getattr(optimizer, "param_groups", None)
    if groups is None or not callable(getattr(optimizer, "step", None)):
        raise TypeError(
            "optimizer must be a bp.optim optimizer (e.g. bp.optim.Adam(model.parameters(), lr=1e-3)); "
            f"got {type(optimizer).__name__}."
        )
    return [p for g in groups for p in g["params"]]


def check_optimizer(optimizer, model_params) -> None:
    """Every parameter the optimizer updates must belong to the model being trained."""
    own = {id(p) for p in model_params}
    for i, p in enumerate(optimizer_params(optimizer)):
        if id(p) not in own:
            label = getattr(p, "name", "") or f"#{i}"
            raise ValueError(
                f"optimizer: its parameter {label} (shape {tuple(np.shape(getattr(p, 'data', p)))}) is not "
                "one of the model's parameters, so its updates would not change the model. This "
                "happens when the model is rebuilt after the optimizer. Build the optimizer on this "
                "model: optimizer = bp.optim.Adam(model.parameters(), lr=...)."
            )


def is_plateau(scheduler) -> bool:
    """ReduceLROnPlateau needs a metric in ``step(metric)``; the others take none."""
    return any(cls.__name__ == "ReduceLROnPlateau" for cls in type(scheduler).__mro__)


def check_scheduler(scheduler, interval: str) -> None:
    if scheduler is None:
        return
    if not callable(getattr(scheduler, "step", None)):
        raise TypeError(
            "scheduler must be a bp.optim.lr_scheduler object with a step() method (e.g. "
            f"CosineAnnealingLR(optimizer, T_max=...)); got {type(scheduler).__name__}."
        )
    if interval == "step" and is_plateau(scheduler):
        raise ValueError(
            "scheduler_interval='step' cannot drive ReduceLROnPlateau: it reacts to an epoch's loss. "
            "Use scheduler_interval='epoch' (the default)."
        )


def check_probes(probes) -> list:
    """Probes: objects with ``.name`` (str), ``.every`` (int >= 1) and ``__call__``."""
    if probes is None:
        return []
    if callable(probes) and hasattr(probes, "every"):
        probes = [probes]
    probes = list(probes)
    names = set()
    for i, probe in enumerate(probes):
        name, every = getattr(probe, "name", None), getattr(probe, "every", None)
        if not isinstance(name, str) or not callable(probe):
            raise TypeError(
                f"probes[{i}] must be a callable with a .name (str) and .every (int), called as "
                "probe(model=..., loss_fn=..., optimizer=..., x=..., y=..., step=...); got "
                f"{type(probe).__name__}."
            )
        check_count(every, f"probes[{i}].every", 1, "every=10 (call the probe every 10 steps)")
        if name in names:
            raise ValueError(f"probes: two probes are named {name!r}; give each probe its own name.")
        names.add(name)
    return probes
