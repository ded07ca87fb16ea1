"""``Optimizer``: what every update rule shares (parameter groups, state, checks).

An optimizer holds the parameters it updates in **parameter groups**: lists of
``Parameter`` objects that share hyper-parameters. ``SGD(net.parameters(), lr=0.1)``
makes one group; PyTorch-style dicts give each group its own settings::

    opt = bp.optim.SGD([
        {"params": net[0].parameters(), "lr": 1e-2},   # this group overrides lr
        {"params": net[2].parameters()},               # this one uses the default
    ], lr=1e-3, momentum=0.9)

Per-parameter memory (momentum buffers, running averages, step counts) lives in
``opt.state[p]``, a dict per ``Parameter``, with PyTorch's key names.

A subclass only writes ``_update(p, grad, state, group)``: one parameter, one step,
beside its formula. ``step()`` checks that every parameter has a gradient first, so a
missing ``backward`` never leaves the model half updated.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np

from backprop_lib.nn.module import Module, Parameter


class Optimizer:
    """Base class of ``SGD``, ``AdaGrad``, ``RMSprop``, ``Adam`` and ``AdamW``.

    ``params``: an iterable of ``Parameter`` (usually ``net.parameters()``) or of dicts
    ``{"params": [...], "lr": ..., ...}`` (one per parameter group).
    ``defaults``: the hyper-parameters a group gets unless it sets its own.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict[Parameter, dict] = {}
        self.param_groups: list[dict] = []
        for group in _as_param_groups(params, type(self).__name__):
            self.add_param_group(group)

    # -- to implement ---------------------------------------------------------------
    def _check_group(self, group: dict) -> None:
        """Validate one group's hyper-parameters (raise ValueError/TypeError)."""
        _check_hyper(group, "lr", type(self).__name__, positive=True)

    def _update(self, p: Parameter, grad: np.ndarray, state: dict, group: dict) -> None:
        """Update ``p.data`` in place from ``grad``; keep memory in ``state``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update(p, grad, state, group)")

    # -- the public API (as torch.optim.Optimizer) ------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (with optional hyper-parameter overrides)."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(
                f"{type(self).__name__}.add_param_group needs a dict with a 'params' key, "
                f"e.g. {{'params': layer.parameters(), 'lr': 0.01}}; got {type(param_group).__name__}."
            )
        group = dict(param_group)
        group["params"] = _as_param_list(group["params"], type(self).__name__)
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)

        already = {id(p) for g in self.param_groups for p in g["params"]}
        seen = set()
        for p in group["params"]:
            if id(p) in already or id(p) in seen:
                raise ValueError(
                    f"{type(self).__name__}: parameter {_label(p)} is listed twice in params; "
                    "each parameter must appear once (in one group), or it would be updated twice "
                    "per step. Remove the duplicate."
                )
            seen.add(id(p))
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None`` (or zeros with ``set_to_none=False``).

        Backward passes *add* into ``p.grad``, so call this once per step.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad = np.zeros_like(p.data)

    def step(self, closure=None):
        """Update every parameter once from its ``.grad``.

        ``closure`` (optional, as in torch): a function that recomputes the loss (and the
        gradients); its value is returned.
        """
        loss = closure() if closure is not None else None
        grads = [self._checked_grad(p, i) for i, p in enumerate(self._all_params())]
        k = 0
        for group in self.param_groups:
            for p in group["params"]:
                self._update(p, grads[k], self.state.setdefault(p, {}), group)
                k += 1
        return loss

    @property
    def lr(self) -> float:
        """The learning rate of the first group; setting it sets every group's lr.

        (A scheduler recomputes the lr at its next ``step()``, overriding a value set here.)
        """
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value) -> None:
        _check_hyper({"lr": value}, "lr", type(self).__name__, positive=True)
        for group in self.param_groups:
            group["lr"] = value

    def state_dict(self) -> dict:
        """A snapshot ``{"state": {index: {...}}, "param_groups": [...]}`` as in torch.

        Parameters are referred to by their index in the order of the groups; arrays are
        copied, so later steps do not change the snapshot.
        """
        index = {id(p): i for i, p in enumerate(self._all_params())}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyper-parameters and per-parameter state saved by ``state_dict()``.

        The optimizer must have been built on parameters of the same shapes, in the
        same groups (e.g. a fresh model of the same architecture).
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise TypeError(
                f"{name}.load_state_dict: state_dict must be the dict returned by "
                f"optimizer.state_dict() (keys 'state' and 'param_groups'); got {type(state_dict).__name__}."
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: state_dict has {len(saved_groups)} parameter group(s) but "
                f"this optimizer has {len(self.param_groups)}; build the optimizer the same way as "
                "the one that was saved."
            )
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: state_dict group {g} has {len(saved['params'])} parameters "
                    f"but this optimizer's group {g} has {len(group['params'])}; build the optimizer "
                    "on the same model architecture."
                )
        params = self._all_params()
        saved_index = [i for saved in saved_groups for i in saved["params"]]
        new_state = {}
        for p, i in zip(params, saved_index, strict=True):
            if i not in state_dict["state"]:
                continue
            entry = {}
            for key, value in state_dict["state"][i].items():
                if isinstance(value, np.ndarray):
                    if value.shape != p.data.shape:
                        raise ValueError(
                            f"{name}.load_state_dict: state_dict entry {key!r} of parameter {i} has shape "
                            f"{value.shape} but parameter {_label(p)} has shape {p.data.shape}; the "
                            "saved optimizer belonged to a different architecture."
                        )
                    value = value.astype(p.data.dtype, copy=True)
                else:
                    value = copy.deepcopy(value)
                entry[key] = value
            new_state[p] = entry
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            for key, value in saved.items():
                if key != "params":
                    group[key] = copy.deepcopy(value)
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    # -- helpers -------------------------------------------------------------------
    def _all_params(self) -> list[Parameter]:
        return [p for group in self.param_groups for p in group["params"]]

    def _checked_grad(self, p: Parameter, index: int) -> np.ndarray:
        if p.grad is None:
            raise ValueError(
                f"parameter {_label(p, index)} has no gradient; call loss backward "
                "(net.backward(loss_fn.backward())) before opt.step(), or leave frozen parameters "
                "out of the optimizer"
            )
        grad = np.asarray(p.grad, dtype=p.data.dtype)
        if grad.shape != p.data.shape:
            raise ValueError(
                f"parameter {_label(p, index)} has a gradient of shape {grad.shape} but its data has "
                f"shape {p.data.shape}; p.grad must have the parameter's shape (it is filled by "
                "backward via p.accumulate_grad)."
            )
        return grad


# -- argument checks shared by the optimizers --------------------------------------------
def _label(p: Parameter, index: int | None = None) -> str:
    if p.name:
        return repr(p.name)
    where = f"#{index} " if index is not None else ""
    return f"{where}(unnamed, shape {p.data.shape})"


def _check_hyper(group: dict, key: str, owner: str, *, positive=False, low=None, high=None,
                 high_open=False, hint: str = "") -> float:
    """``group[key]`` must be a real number (> 0 if ``positive``, else in [low, high])."""
    value = group[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {key} must be a number; got {value!r} ({type(value).__name__}).")
    if not np.isfinite(value):
        raise ValueError(f"{owner}: {key} must be finite; got {value!r}.{hint}")
    if positive and value <= 0:
        raise ValueError(
            f"{owner}: {key} must be positive (> 0); got {value!r}.{hint or ' Use e.g. ' + key + '=1e-3.'}"
        )
    if low is not None and value < low:
        raise ValueError(f"{owner}: {key} must be >= {low}; got {value!r}.{hint}")
    if high is not None and (value >= high if high_open else value > high):
        bound = f"< {high}" if high_open else f"<= {high}"
        raise ValueError(f"{owner}: {key} must be {bound}; got {value!r}.{hint}")
    return float(value)


def _as_param_list(params, owner: str, name: str = "params", allow_empty: bool = False) -> list[Parameter]:
    if isinstance(params, Parameter):
        return [params]
    if isinstance(params, Module):
        raise TypeError(
            f"{owner}: {name} must be the model's parameters, not the model itself; got a "
            f"{type(params).__name__}. Pass net.parameters()."
        )
    if isinstance(params, (np.ndarray, str, bytes)) or not hasattr(params, "__iter__"):
        raise TypeError(
            f"{owner}: {name} must be an iterable of bp.nn.Parameter (e.g. net.parameters()); "
            f"got {type(params).__name__}."
        )
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(
                f"{owner}: {name}[{i}] is a {type(p).__name__}, not a bp.nn.Parameter; pass "
                "net.parameters(), or wrap an array with bp.nn.Parameter(array)."
            )
    if not params and not allow_empty:
        raise ValueError(
            f"{owner}: {name} is an empty parameter list; there is nothing to optimize. Pass "
            "net.parameters() of a model that has trainable layers (e.g. bp.nn.Linear)."
        )
    return params


def _as_param_groups(params, owner: str) -> list[dict]:
    """torch's two spellings: parameters, or dicts ``{"params": [...], **overrides}``."""
    if isinstance(params, dict):
        raise TypeError(
            f"{owner}: params must be a list of parameter-group dicts, not one dict; wrap it in a "
            "list: [{'params': ..., 'lr': ...}]."
        )
    if isinstance(params, (Parameter, Module, np.ndarray, str, bytes)) or not hasattr(params, "__iter__"):
        return [{"params": _as_param_list(params, owner)}]
    items = list(params)
    if not items:
        raise ValueError(
            f"{owner}: params is an empty parameter list; there is nothing to optimize. Pass "
            "net.parameters() of a model that has trainable layers (e.g. bp.nn.Linear)."
        )
    if all(isinstance(item, dict) for item in items):
        for i, item in enumerate(items):
            if "params" not in item:
                raise TypeError(
                    f"{owner}: params[{i}] is a parameter-group dict without a 'params' key; write "
                    "{'params': layer.parameters(), 'lr': ...}."
                )
        return items
    if any(isinstance(item, dict) for item in items):
        raise TypeError(
            f"{owner}: params mixes Parameters and parameter-group dicts; use one or the other "
            "(put loose parameters in their own {'params': [...]} group)."
        )
    return [{"params": _as_param_list(items, owner)}]
