"""Forward hooks on a PyTorch network: ``bp.probes.activation_stats``, measured inside torch.

A forward hook ``fn(module, inputs, output)`` registered with ``module.register_forward_hook``
runs right after ``module.forward`` and sees its output. ``ActivationHooks`` puts one on the
module that ends each *stage* of the network (the stages of ``bp.probes``: each ``Linear`` and
the layers after it up to the next one; the stage's activation is the output of its last
activation function, or of the ``Linear`` itself for the read-out layer), keeps a detached
NumPy copy of what it sees, and removes the hooks when the ``with`` block ends:

    tnet = bp.interop.to_torch(net)
    with bp.interop.ActivationHooks(tnet) as hooks:
        tnet(torch.from_numpy(x))
    record = hooks.record()                        # an ActivationRecord (bp.probes)
    bp.viz.plot_activation_stats(record)
    bp.interop.activation_stats(tnet, x)           # the same in one call

Keeping ``output`` itself instead of a detached copy would keep the whole forward graph (every
saved tensor of the pass) alive for as long as the record lives. The networks supported are
those ``bp.interop.from_torch`` converts (the stages are found on that copy, by position).
"""

from __future__ import annotations

import numpy as np

from .._validate import check_positive_int
from ..probes import network
from ..probes.records import ActivationRecord
from ..probes.stats import histogram, mean_std, rms, saturated_fraction
from .torch_bridge import from_torch, import_torch

__all__ = ["ActivationHooks", "activation_stats"]


def _flatten_torch(module) -> list:
    """The modules of ``module`` in the order they run, nested ``nn.Sequential``s expanded
    (the order ``bp.probes.network.flatten`` gives the ``from_torch`` copy)."""
    torch = import_torch()
    if type(module) is not torch.nn.Sequential:
        return [module]
    return [m for child in module for m in _flatten_torch(child)]


class ActivationHooks:
    """Forward hooks recording each stage's activation of a torch network (see the module
    docstring). Use it as a context manager, or call ``register()`` / ``remove()`` yourself.

    ``outputs``: ``{stage index: ndarray}``, the activations of the last forward pass run while
    the hooks were registered (detached copies, never graph tensors).
    """

    def __init__(self, module):
        torch = import_torch()
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module must be a torch.nn.Module (e.g. bp.interop.to_torch(net)); "
                            f"got {type(module).__name__}.")
        self.module = module
        self._bp_layers = network.flatten(from_torch(module))      # structure only: the stages
        torch_layers = _flatten_torch(module)
        if len(torch_layers) != len(self._bp_layers):              # pragma: no cover - from_torch mirrors it
            raise ValueError("the torch network and its bp copy do not have the same layers.")
        self.stages = network.stages(self._bp_layers)
        self.positions = [st.activation if st.activation is not None else st.start for st in self.stages]
        self.modules = [torch_layers[k] for k in self.positions]
        if len({id(m) for m in self.modules}) != len(self.modules):
            raise ValueError(
                "the same module object ends two stages of this network (one activation module used "
                "twice?), so its hook cannot tell them apart; give each layer its own module."
            )
        self.outputs: dict[int, np.ndarray] = {}
        self._handles = []

    def _hook(self, stage: int):
        def hook(module, inputs, output):
            self.outputs[stage] = output.detach().cpu().numpy().copy()   # a copy, not the graph tensor
        return hook

    def register(self) -> ActivationHooks:
        """Register the forward hooks (once; a second call changes nothing)."""
        if not self._handles:
            self.outputs = {}
            self._handles = [m.register_forward_hook(self._hook(i)) for i, m in enumerate(self.modules)]
        return self

    def remove(self) -> None:
        """Remove the hooks (the recorded outputs stay)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self):
        return self.register()

    def __exit__(self, *exc):
        self.remove()
        return False

    def record(self, *, bins: int = 30, label: str | None = None) -> ActivationRecord:
        """The recorded activations as a ``bp.probes.ActivationRecord`` (per stage: mean, std and
        RMS over every element, saturated fraction, histogram), as ``bp.probes.activation_stats``."""
        bins = check_positive_int(bins, "bins")
        missing = [i + 1 for i in range(len(self.stages)) if i not in self.outputs]
        if missing:
            raise ValueError(
                f"no activation recorded for stage(s) {missing}: run the network forward while the hooks "
                "are registered (inside the `with ActivationHooks(net) as hooks:` block)."
            )
        cols = {k: [] for k in ("mean", "std", "rms", "sat", "counts", "edges")}
        with np.errstate(all="ignore"):
            for i, st in enumerate(self.stages):
                a = self.outputs[i]
                m, s = mean_std(a)
                counts, edges = histogram(a, bins)
                for key, value in zip(cols, (m, s, rms(a), saturated_fraction(a, st.saturation), counts,
                                             edges), strict=True):
                    cols[key].append(value)
        batch = next(iter(self.outputs.values())).shape[0]
        setting = label or network.describe_setting(self._bp_layers, self.stages, batch) + ", torch hooks"
        return ActivationRecord(
            labels=[st.label for st in self.stages], act_mean=np.array(cols["mean"]),
            act_std=np.array(cols["std"]), act_rms=np.array(cols["rms"]), saturated=np.array(cols["sat"]),
            saturation_kind=[st.saturation for st in self.stages], hist_counts=cols["counts"],
            hist_edges=cols["edges"], setting=setting,
        )


def activation_stats(module, x, *, bins: int = 30, label: str | None = None) -> ActivationRecord:
    """Run ``x: (batch, in)`` (a NumPy array or a tensor) through the torch network ``module`` with
    ``ActivationHooks`` registered, without recording a graph, and return the ``ActivationRecord``.
    A NumPy ``x`` is converted to the dtype of the module's parameters."""
    torch = import_torch()
    hooks = ActivationHooks(module)
    if not isinstance(x, torch.Tensor):
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"x must be a batch shaped (batch, features); got shape {x.shape}.")
        params = list(module.parameters())
        dtype = params[0].dtype if params else torch.float64
        x = torch.as_tensor(x, dtype=dtype)
    with hooks, torch.no_grad():
        module(x)
    return hooks.record(bins=bins, label=label)
