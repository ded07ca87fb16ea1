"""bp.viz.plot_history and plot_decision_boundary: panels and lines from a real History, the
message of a diverged run, a boundary where it is known by hand, features, several classes."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure

import backprop_lib as bp


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def xor_data(rng, n=60):
    x = rng.normal(size=(n, 2))
    return x, (x[:, 0] * x[:, 1] > 0).astype(float)[:, None]


def fit(net, loss_fn, data, lr=0.05, **kw):
    kw = {"epochs": 3, "batch_size": 20, "progress": False} | kw
    return bp.train.fit(net, loss_fn, data, bp.optim.SGD(net.parameters(), lr=lr), **kw)


def test_history_has_four_panels_with_their_lines(rng):
    x, y = xor_data(rng)
    net = bp.nn.mlp([2, 8, 1], activation="tanh", seed=0)
    hist = fit(net, bp.nn.BCEWithLogitsLoss(), (x, y), val_data=(x[:20], y[:20]))
    fig = bp.viz.plot_history(hist)
    assert isinstance(fig, Figure)
    step, epoch, acc, lr = fig.axes
    assert len(step.get_lines()) == 1 and len(epoch.get_lines()) == 2
    assert len(acc.get_lines()) == 2 and len(lr.get_lines()) == 1
    np.testing.assert_allclose(step.get_lines()[0].get_ydata(), hist.loss)
    np.testing.assert_allclose(epoch.get_lines()[1].get_ydata(), hist.val_loss)
    np.testing.assert_allclose(acc.get_lines()[0].get_ydata(), 100 * np.array(hist.train_acc))
    np.testing.assert_allclose(epoch.get_lines()[0].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(lr.get_lines()[0].get_ydata(), 0.05)
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() and ax.get_legend()
    assert fig.get_suptitle() == "Training: 3 epoch(s), 9 step(s)"


def test_history_single_axes_regression_and_bad_input(rng):
    x = rng.normal(size=(40, 2))
    net = bp.nn.mlp([2, 4, 1], seed=0)
    hist = fit(net, bp.nn.MSELoss(), (x, x[:, :1] - x[:, 1:]))
    fig, ax = plt.subplots()
    assert bp.viz.plot_history(hist, ax=ax) is fig
    assert len(fig.axes) == 1 and len(ax.get_lines()) == 1 and "Training" in ax.get_title()
    acc = bp.viz.plot_history(hist, theme="presentation").axes[2]
    assert not acc.get_lines() and "no accuracy" in acc.texts[0].get_text()
    with pytest.raises(TypeError, match="History"):
        bp.viz.plot_history({"loss": [1.0]})
    with pytest.raises(ValueError, match="4 Axes"):
        bp.viz.plot_history(hist, ax=plt.subplots(1, 2)[1])


def test_diverged_history_shows_its_message(rng):
    x = rng.normal(size=(40, 2))
    net = bp.nn.mlp([2, 16, 16, 1], activation="relu", seed=0)
    hist = fit(net, bp.nn.MSELoss(), (x, x @ np.array([[3.0], [-2.0]])), lr=5.0, epochs=20, batch_size=10)
    assert hist.diverged_at is not None
    fig = bp.viz.plot_history(hist)
    step = fig.axes[0]
    assert hist.message in [t.get_text() for t in step.texts]
    assert step.get_lines()[-1].get_xdata()[0] == hist.diverged_at      # the marker line
    assert f"diverged at step {hist.diverged_at}" in fig.get_suptitle()
    fig.canvas.draw()


def boundary_points(ax):
    """Vertices of the black decision-boundary contour."""
    sets = [c for c in ax.collections if isinstance(c, ContourSet) and len(c.levels) == 1]
    assert len(sets) == 1
    return np.concatenate([p.vertices for p in sets[0].get_paths() if len(p.vertices)])


def test_decision_boundary_of_a_known_linear_model(rng):
    """logit = 2·x₁ − x₂ + 0.5: the boundary is the line x₂ = 2·x₁ + 0.5."""
    lin = bp.nn.Linear(2, 1)
    lin.weight.data[...] = [[2.0, -1.0]]
    lin.bias.data[...] = 0.5
    x = rng.normal(size=(50, 2))
    y = (2 * x[:, 0] - x[:, 1] + 0.5 > 0).astype(int)
    y[:3] = 1 - y[:3]                                         # three points on the wrong side
    fig = bp.viz.plot_decision_boundary(lin, x, y, resolution=120)
    ax = fig.axes[0]
    pts = boundary_points(ax)
    np.testing.assert_allclose(pts[:, 1], 2 * pts[:, 0] + 0.5, atol=0.02)
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 2 and sum(len(s.get_offsets()) for s in scatters) == 50
    assert "47/50" not in ax.get_title() and "94%" in ax.get_title()
    assert len(fig.axes) == 2 and "P(class 1)" in fig.axes[1].get_ylabel()   # colour bar
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["class 0", "class 1", "decision boundary"]
    assert ax.get_xlabel() == "x₁" and ax.get_ylabel() == "x₂"


def test_decision_boundary_score_output_and_features(rng):
    """An MSE 'score' read against the midpoint of the labels, and a model on features:
    out = x₁² + x₂² − 1 on features (x₁², x₂²) is the unit circle at score 0 for labels ±1."""
    lin = bp.nn.Linear(2, 1)
    lin.weight.data[...] = [[1.0, 1.0]]
    lin.bias.data[...] = -1.0
    x = rng.uniform(-2, 2, size=(80, 2))
    y = np.where((x ** 2).sum(1) > 1, 1.0, -1.0)
    calls = []

    def squares(p):
        calls.append(len(p))
        return p ** 2

    fig, ax = plt.subplots()
    assert bp.viz.plot_decision_boundary(lin, x, y, ax=ax, resolution=150, features=squares,
                                         output="score") is fig
    pts = boundary_points(ax)
    np.testing.assert_allclose(np.hypot(pts[:, 0], pts[:, 1]), 1.0, atol=0.03)
    assert 150 * 150 in calls and 80 in calls
    assert "100%" in ax.get_title()


def test_decision_boundary_three_classes_and_bad_input(rng):
    x = rng.normal(size=(45, 2))
    y = np.repeat([0, 1, 2], 15)
    net = bp.nn.mlp([2, 8, 3], seed=1)
    fig = bp.viz.plot_decision_boundary(net, x, y, resolution=50, theme="presentation")
    ax = fig.axes[0]
    assert len([c for c in ax.collections if isinstance(c, PathCollection)]) == 3
    assert len(fig.axes) == 1                                 # class regions, no colour bar
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        bp.viz.plot_decision_boundary(net, rng.normal(size=(45, 3)), y)
    with pytest.raises(ValueError, match="one class label per point"):
        bp.viz.plot_decision_boundary(net, x, y[:10])
    with pytest.raises(TypeError, match="features"):
        bp.viz.plot_decision_boundary(net, x, y, features="squares")
    with pytest.raises(ValueError, match="output"):
        bp.viz.plot_decision_boundary(net, x, y, output="probability")


def test_decision_boundary_leaves_the_model_untouched(rng):
    net = bp.nn.Sequential(bp.nn.Linear(2, 6, seed=0), bp.nn.BatchNorm1d(6), bp.nn.ReLU(),
                           bp.nn.Dropout(0.5, seed=0), bp.nn.Linear(6, 1, seed=1))
    x, y = xor_data(rng)
    before = net.layers[1].running_mean.copy()
    bp.viz.plot_decision_boundary(net, x, y, resolution=30)
    assert net.training
    np.testing.assert_allclose(net.layers[1].running_mean, before)
