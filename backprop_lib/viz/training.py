"""Figures of a training run: the History (loss, accuracy, lr) and a 2-D decision boundary."""

from __future__ import annotations

import copy

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D

from .._validate import as_float_array, check_choice, check_positive_int
from ._scales import set_log_y
from .style import DIVERGING_CMAP, NEGATIVE, PALETTE, POSITIVE, color, new_axes, show_message, themed

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=float).copy()
    v[~np.isfinite(v)] = np.nan
    return v


def _history_axes(ax, theme):
    """A 2×2 grid (loss per step, loss per epoch, accuracy per epoch, lr per step), the caller's
    4 axes, or just the loss-per-step panel when the caller gives one axes."""
    if ax is None:
        fig, axes = new_axes(theme=theme, nrows=2, ncols=2)
        return fig, list(np.ravel(axes))
    if hasattr(ax, "plot"):
        return ax.figure, [ax, None, None, None]
    axes = list(np.ravel(ax))
    if len(axes) != 4:
        raise ValueError(f"ax must be one Axes (loss per step only) or 4 Axes; got {len(axes)} Axes.")
    return axes[0].figure, axes


def plot_history(history, ax=None, *, theme: str = "default", title: str | None = None):
    """The record of ``bp.train.fit``: loss per step, train/val loss per epoch, train/val
    accuracy per epoch, learning rate per step (a 2×2 figure).

    ax: None (new figure), a single Axes (the loss-per-step panel only) or 4 Axes.
    A diverged run is marked at its step and its message is written on the loss panel.
    """
    for attr in ("loss", "lr", "train_loss", "train_acc", "val_loss", "val_acc"):
        if not hasattr(history, attr):
            raise TypeError(
                "history must be a bp.train.History (returned by bp.train.fit); got "
                f"{type(history).__name__} without a .{attr} list."
            )
    diverged_at = getattr(history, "diverged_at", None)
    with themed(theme):
        fig, (ax_step, ax_epoch, ax_acc, ax_lr) = _history_axes(ax, theme)
        steps = np.arange(len(history.loss))
        loss = _finite(history.loss)
        ax_step.plot(steps, loss, color=color(0), linewidth=1.0, label="mini-batch loss")
        if np.nanmin(loss, initial=np.inf) > 0:
            set_log_y(ax_step, loss)
        ax_step.set_xlabel("step")
        ax_step.set_ylabel("loss")
        ax_step.set_title("Loss per step")
        if diverged_at is not None:
            ax_step.axvline(diverged_at, color=PALETTE[5], linestyle=":",
                            label=f"diverged (step {diverged_at})")
        ax_step.legend(fontsize="small")

        epochs = np.arange(1, len(history.train_loss) + 1)
        if ax_epoch is not None:
            ax_epoch.plot(epochs, _finite(history.train_loss), marker="o", color=color(0), label="train")
            if len(history.val_loss):
                ax_epoch.plot(np.arange(1, len(history.val_loss) + 1), _finite(history.val_loss), marker="s",
                              linestyle="--", color=color(1), label="validation")
            ax_epoch.set_xlabel("epoch")
            ax_epoch.set_ylabel("loss")
            ax_epoch.set_title("Loss per epoch")
            ax_epoch.legend(fontsize="small")
            if not len(epochs):
                show_message(ax_epoch, "no complete epoch", kind="info")
        if ax_acc is not None:
            has_acc = np.any(np.isfinite(np.asarray(history.train_acc, dtype=float)))
            if has_acc:
                ax_acc.plot(epochs, 100 * _finite(history.train_acc), marker="o", color=color(0),
                            label="train")
                if len(history.val_acc):
                    ax_acc.plot(np.arange(1, len(history.val_acc) + 1), 100 * _finite(history.val_acc),
                                marker="s", linestyle="--", color=color(1), label="validation")
                ax_acc.legend(fontsize="small")
            else:
                show_message(ax_acc, "no accuracy: a regression loss (or no complete epoch)", kind="info")
            ax_acc.set_xlabel("epoch")
            ax_acc.set_ylabel("accuracy (%)")
            ax_acc.set_title("Accuracy per epoch")
        if ax_lr is not None:
            ax_lr.plot(np.arange(len(history.lr)), history.lr, color=color(2), label="learning rate")
            ax_lr.set_xlabel("step")
            ax_lr.set_ylabel("learning rate")
            ax_lr.set_title("Learning rate per step")
            ax_lr.legend(fontsize="small")

        if diverged_at is not None:
            show_message(ax_step, getattr(history, "message", "") or f"Diverged at step {diverged_at}")
        heading = title or (f"Training: {getattr(history, 'epochs', len(epochs))} epoch(s), "
                            f"{len(history.loss)} step(s)"
                            + (f", diverged at step {diverged_at}" if diverged_at is not None else ""))
        if ax_epoch is None:
            ax_step.set_title(heading)
        else:
            fig.suptitle(heading)
    return fig


def _labels(y, n):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y must hold one class label per point, shape ({n},); got shape {np.shape(y)}.")
    classes = np.unique(y)
    if len(classes) > len(MARKERS):
        raise ValueError(
            f"y has {len(classes)} distinct values; plot_decision_boundary shows classification "
            f"labels (at most {len(MARKERS)} classes). For a regression target plot the output instead."
        )
    return y, classes


def plot_decision_boundary(model, x, y, ax=None, resolution: int = 200, features=None, *,
                           output: str = "logits", margin: float = 0.5, theme: str = "default",
                           title: str | None = None):
    """The model's prediction over the plane, with the labelled points.

    model: a bp.nn Module (evaluated on a copy in ``eval()`` mode, so the model is untouched).
    x: (n, 2) raw 2-D points; y: (n,) class labels.
    resolution: grid points per axis. margin: extra room around the points.
    features: optional callable mapping raw points (m, 2) to the model's inputs (m, k), e.g.
        ``lambda p: np.c_[p, p**2, np.sin(p)]``; applied to the grid and to ``x``.
    output: ``"logits"`` (one column: P(class 1) = σ(out), boundary at out = 0; several
        columns: class = argmax) or ``"score"`` (one column read as a regression score,
        boundary midway between the two label values, e.g. an MSE-trained net).
    Two classes: a filled map of P(class 1) (or the score) with a colour bar and the black
    boundary line; more classes: regions coloured by predicted class.
    """
    x = as_float_array(x, "x", ndim=2)
    if x.shape[1] != 2:
        raise ValueError(f"x must hold 2-D points, shape (n, 2); got shape {x.shape}. "
                         "Pass the raw 2-D inputs and map them to features with features=.")
    y, classes = _labels(y, len(x))
    resolution = check_positive_int(resolution, "resolution")
    output = check_choice(output, "output", ("logits", "score"))
    if features is not None and not callable(features):
        raise TypeError(f"features must be a callable mapping (m, 2) points to model inputs; "
                        f"got {type(features).__name__}.")
    net = copy.deepcopy(model)
    net.eval()
    params = net.parameters() if hasattr(net, "parameters") else []
    dtype = params[0].data.dtype if params else np.float64

    def predict(points):
        inputs = np.asarray(features(points) if features is not None else points, dtype=dtype)
        if inputs.shape[0] != points.shape[0]:
            raise ValueError(f"features returned {inputs.shape[0]} rows for {points.shape[0]} points; "
                             "it must map each point to one row.")
        with np.errstate(all="ignore"):
            out = np.asarray(net(inputs), dtype=float)
        return out.reshape(len(points), -1)

    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.c_[gx.ravel(), gy.ravel()]
    out, out_x = predict(grid), predict(x)
    binary = out.shape[1] == 1
    with themed(theme):
        fig, ax = new_axes(ax, theme=theme)
        if binary and output == "logits":
            with np.errstate(over="ignore"):
                z = 1.0 / (1.0 + np.exp(-out[:, 0]))
            cut, value_label = 0.5, "P(class 1) = σ(output)"
            pred = np.where(out_x[:, 0] > 0, classes[-1], classes[0])
            levels = np.linspace(0, 1, 11)
        elif binary:
            z, cut = out[:, 0], (float(classes[0]) + float(classes[-1])) / 2
            value_label = f"model output (boundary at {cut:g})"
            pred = np.where(out_x[:, 0] > cut, classes[-1], classes[0])
            levels = 11
        if binary:
            img = ax.contourf(gx, gy, z.reshape(gx.shape), levels=levels, cmap=DIVERGING_CMAP, alpha=0.55)
            ax.contour(gx, gy, z.reshape(gx.shape), levels=[cut], colors="black", linewidths=1.5)
            bar = fig.colorbar(img, ax=ax)
            bar.set_label(value_label)
            point_colors = [NEGATIVE, POSITIVE] if len(classes) == 2 else PALETTE
        else:
            k = out.shape[1]
            region = out.argmax(axis=1).reshape(gx.shape)
            ax.contourf(gx, gy, region, levels=np.arange(k + 1) - 0.5,
                        cmap=ListedColormap([color(i) for i in range(k)]), alpha=0.3)
            ax.contour(gx, gy, region, levels=np.arange(k) + 0.5, colors="black", linewidths=1.0)
            pred = out_x.argmax(axis=1)
            point_colors = PALETTE
        for i, c in enumerate(classes):
            mask = y == c
            ax.scatter(x[mask, 0], x[mask, 1], s=22, color=point_colors[i % len(point_colors)],
                       marker=MARKERS[i], edgecolors="white", linewidths=0.6, label=f"class {c:g}"
                       if isinstance(c, (float, np.floating)) else f"class {c}")
        acc = float(np.mean(pred == y))
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], color="black", linewidth=1.5))
        labels.append("decision boundary")
        ax.legend(handles, labels, fontsize="small", loc="upper right", frameon=True)
        ax.set_title(title or f"Decision boundary ({_n_params(model)} parameters): "
                              f"{acc:.0%} of the points right")
        if not np.all(np.isfinite(out)):
            show_message(ax, "The model's output is inf/NaN (a diverged network)")
    return fig


def _n_params(model) -> int:
    return int(sum(p.data.size for p in model.parameters())) if hasattr(model, "parameters") else 0
