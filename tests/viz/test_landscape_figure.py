"""bp.viz.plot_loss_landscape: contour levels, trajectories with start/end markers, legend,
a diverged trajectory's message, and input checks."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.contour import ContourSet

import backprop_lib as bp
from backprop_lib.viz.landscape import surface


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def quadratic(xy):
    return 0.5 * (xy[:, 0] ** 2 + 10 * xy[:, 1] ** 2)


def gd_path(lr, steps=30, start=(-1.5, 1.0)):
    """Gradient descent on the quadratic, by hand: θ ← θ − lr·(θ₁, 10·θ₂)."""
    theta, path = np.array(start), [np.array(start)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            theta = theta - lr * np.array([theta[0], 10 * theta[1]])
            path.append(theta)
    return np.array(path)


def contour_set(ax):
    sets = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(sets) == 1
    return sets[0]


def test_surface_is_f_on_the_grid():
    gx, gy, z = surface(quadratic, (-1, 2), (0, 3), 7)
    assert gx.shape == z.shape == (7, 7)
    np.testing.assert_allclose(z, 0.5 * (gx ** 2 + 10 * gy ** 2))


def test_contours_trajectories_markers_and_legend():
    paths = {"SGD lr 0.05": gd_path(0.05), "SGD lr 0.15": gd_path(0.15)}
    fig = bp.viz.plot_loss_landscape(quadratic, paths, xlim=(-2, 2), ylim=(-1.5, 1.5), levels=12)
    ax = fig.axes[0]
    lv = contour_set(ax).levels
    assert len(lv) == 12
    np.testing.assert_allclose(lv[1:] / lv[:-1], (lv[-1] / lv[0]) ** (1 / 11), rtol=1e-9)  # log-spaced
    np.testing.assert_allclose(lv[0] / lv[-1], 1e-4, rtol=1e-9)
    lines = ax.get_lines()
    assert len(lines) == 3 * len(paths)                  # path, start marker, end marker
    for k, path in enumerate(paths.values()):
        trail, start, end = lines[3 * k:3 * k + 3]
        np.testing.assert_allclose(np.c_[trail.get_xdata(), trail.get_ydata()], path)
        np.testing.assert_allclose([start.get_xdata()[0], start.get_ydata()[0]], path[0])
        np.testing.assert_allclose([end.get_xdata()[0], end.get_ydata()[0]], path[-1])
        assert start.get_marker() == "o" and end.get_marker() == "*"
        assert trail.get_color() == start.get_color() == end.get_color()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    final = quadratic(paths["SGD lr 0.05"][-1:])[0]
    assert legend == [f"SGD lr 0.05 (final f = {final:.3g})", legend[1], "start", "end"]
    assert ax.get_xlim() == (-2, 2) and ax.get_ylim() == (-1.5, 1.5)
    assert len(fig.axes) == 2 and "log" in fig.axes[1].get_ylabel()      # colour bar
    assert ax.get_xlabel() and ax.get_ylabel() and "2 trajectories" in ax.get_title()


def test_linear_levels_existing_axes_and_presentation_theme():
    fig, ax = plt.subplots()
    out = bp.viz.plot_loss_landscape(quadratic, None, log_levels=False, levels=8, ax=ax, theme="presentation",
                                     title="a bowl")
    assert out is fig and ax.get_title() == "a bowl"
    lv = contour_set(ax).levels
    np.testing.assert_allclose(np.diff(lv), np.diff(lv)[0])                # evenly spaced
    assert not ax.get_lines() and ax.get_legend() is None


def test_diverged_trajectory_is_cut_and_named():
    path = gd_path(1.0, steps=400)                     # lr > 2/L = 0.2: θ₂ grows ×9 per step
    assert not np.all(np.isfinite(path))
    fig = bp.viz.plot_loss_landscape(quadratic, {"too large lr": path})
    ax = fig.axes[0]
    cut = int(np.argmin(np.all(np.isfinite(path), axis=1)))
    assert len(ax.get_lines()[0].get_xdata()) == cut
    texts = [t.get_text() for t in ax.texts]
    assert texts == [f"Diverged (left the finite range): too large lr (step {cut})"]


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match=r"shape \(m,\)"):
        bp.viz.plot_loss_landscape(lambda xy: xy, None)
    with pytest.raises(TypeError, match="callable"):
        bp.viz.plot_loss_landscape(np.ones(3), None)
    with pytest.raises(ValueError, match="xlim"):
        bp.viz.plot_loss_landscape(quadratic, None, xlim=(1, -1))
    with pytest.raises(ValueError, match=r"\(steps, 2\)"):
        bp.viz.plot_loss_landscape(quadratic, {"a": np.ones((4, 3))})
    with pytest.raises(TypeError, match="dict"):
        bp.viz.plot_loss_landscape(quadratic, [np.ones((4, 2))])
