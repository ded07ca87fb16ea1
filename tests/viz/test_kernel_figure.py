"""bp.viz.plot_kernel: colour map and range for signed and non-negative kernels, colour bar,
existing axes, input checks."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import AxesImage

import backprop_lib as bp


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def image(ax):
    imgs = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert len(imgs) == 1
    return imgs[0]


def test_signed_kernel_uses_a_symmetric_diverging_range(rng):
    a = rng.normal(size=(6, 3))
    K = a @ a.T - 1.0                                   # has negative entries
    fig = bp.viz.plot_kernel(K)
    ax = fig.axes[0]
    img = image(ax)
    m = np.abs(K).max()
    assert img.get_clim() == pytest.approx((-m, m))
    assert img.get_cmap().name == bp.viz.style.DIVERGING_CMAP
    np.testing.assert_allclose(img.get_array(), K)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "K[i, j]"
    assert ax.get_title() == "Kernel matrix (6×6)" and ax.get_xlabel() and ax.get_ylabel()


def test_non_negative_kernel_existing_axes_title_and_label(rng):
    x = rng.normal(size=(5, 2))
    K = np.exp(-((x[:, None] - x[None]) ** 2).sum(-1))
    fig, ax = plt.subplots()
    out = bp.viz.plot_kernel(K[:, :4], ax=ax, title="RBF", label="k(x, x')", theme="presentation")
    assert out is fig and ax.get_title() == "RBF"
    img = image(ax)
    assert img.get_clim() == pytest.approx((0.0, K[:, :4].max()))
    assert img.get_cmap().name == bp.viz.style.SEQUENTIAL_CMAP
    assert fig.axes[1].get_ylabel() == "k(x, x')"


def test_bad_kernels_are_rejected():
    with pytest.raises(ValueError, match="2-dimensional"):
        bp.viz.plot_kernel(np.ones(4))
    with pytest.raises(ValueError, match="NaN"):
        bp.viz.plot_kernel(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="dtype"):
        bp.viz.plot_kernel(np.eye(3, dtype=int))
