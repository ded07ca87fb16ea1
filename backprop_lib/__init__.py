"""backprop_lib: the library behind *Backprop, Interactively*.

    import backprop_lib as bp
    net = bp.nn.mlp([2, 16, 1], activation="tanh", seed=0)

Subpackages load on first use (``bp.widgets`` needs ipywidgets, ``bp.interop`` needs
PyTorch), so ``import backprop_lib`` stays light and works with only NumPy installed.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "autodiff", "nn", "optim", "train", "data", "gradcheck", "probes", "ntk",
    "viz", "widgets", "interop", "exercises", "claims",
)

__all__ = list(_SUBMODULES) + ["doctor", "__version__"]


def __getattr__(name):
    if name == "doctor":  # bp.doctor() checks the environment
        from ._doctor import doctor

        globals()["doctor"] = doctor
        return doctor
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'backprop_lib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
