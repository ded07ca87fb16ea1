"""Evaluation helpers: model outputs, loss and accuracy on a whole dataset."""

from __future__ import annotations

import math

import numpy as np

from .._validate import NonFiniteError, check_positive_int


def _loss_kind(loss_fn) -> str:
    """'multiclass' for CrossEntropyLoss, 'binary' for BCEWithLogitsLoss, else 'regression'."""
    names = {cls.__name__ for cls in type(loss_fn).__mro__}
    if "CrossEntropyLoss" in names:
        return "multiclass"
    if "BCEWithLogitsLoss" in names:
        return "binary"
    return "regression"


def accuracy(out, y, loss_fn) -> float:
    """Fraction of correct predictions, read from the outputs the way ``loss_fn`` reads them.

    * ``CrossEntropyLoss`` (logits with >= 2 columns): predicted class = argmax over columns,
      compared with the integer label (or with argmax of class-probability targets);
    * ``BCEWithLogitsLoss`` (one logit per sample): predicted class = [logit > 0], compared
      with [target > 0.5];
    * anything else (regression): NaN.
    """
    out, y = np.asarray(out), np.asarray(y)
    kind = _loss_kind(loss_fn)
    if kind == "multiclass" and out.ndim == 2 and out.shape[1] >= 2:
        target = y if y.ndim == 1 else y.argmax(axis=1)
        return float(np.mean(out.argmax(axis=1) == target))
    if kind == "binary" and (out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1)):
        return float(np.mean((out.reshape(-1) > 0) == (y.reshape(-1) > 0.5)))
    return float("nan")


def predict(model, x, batch_size: int | None = None):
    """The model's outputs on ``x``, computed in ``eval()`` mode.

    ``x: (n, …)`` → ``(n, …)`` outputs (logits for a classifier: take ``.argmax(1)`` for
    classes). ``batch_size`` splits the forward pass into chunks to bound memory (None: one
    pass). The model's train/eval mode is restored afterwards.
    """
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    x = np.asarray(x)
    was_training = model.training
    model.eval()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if batch_size is None or batch_size >= len(x):
                return model(x)
            return np.concatenate([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def is_nonfinite_error(err: Exception, model) -> bool:
    """Whether ``err`` (raised inside forward/loss/backward) is a symptom of divergence.

    Layers refuse NaN/inf inputs with ``NonFiniteError`` (from ``backprop_lib._validate``);
    in a training run that happens when the parameters, or the activations they produce,
    have overflowed.
    """
    if isinstance(err, NonFiniteError):
        return True
    return any(not np.all(np.isfinite(p.data)) for p in model.parameters())


def evaluate(model, loss_fn, data, batch_size: int | None = None) -> tuple[float, float]:
    """``(loss, accuracy)`` of ``model`` on ``data = (x, y)``, in ``eval()`` mode.

    The loss is ``loss_fn`` applied once to all outputs (so it equals the mean over the
    whole set); accuracy is NaN for regression (see ``accuracy``). A diverged model (one
    whose parameters or activations overflowed) gives ``(nan, nan)``.
    """
    from .checks import check_data

    x, y = check_data(data, "data")
    try:
        out = predict(model, x, batch_size)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss = float(loss_fn(out, y))
    except ValueError as err:
        if not is_nonfinite_error(err, model):
            raise
        return math.nan, math.nan
    return loss, accuracy(out, y, loss_fn)
