"""Datasets, generated from a seed or shipped with a dependency (never downloaded).

    x, y = bp.data.moons(n=200, noise=0.1, seed=0)     # x: (200, 2) float64, y: (200,) int64
    train, val = bp.data.train_val_split(x, y, val_fraction=0.2)

Generators: ``moons``, ``circles``, ``spirals``, ``xor``, ``blobs`` (classification) and
``sine`` (1-D regression); ``digits`` is scikit-learn's bundled 8×8 handwritten digits.
"""

from .digits import digits
from .split import train_val_split
from .synthetic import blobs, circles, moons, sine, spirals, xor

__all__ = ["moons", "circles", "spirals", "xor", "blobs", "sine", "digits", "train_val_split"]
