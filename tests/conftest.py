"""Shared test fixtures. Tests mirror the package layout (tests/nn/test_layers.py tests
backprop_lib/nn/layers.py). PyTorch is the oracle wherever it has the concept."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
