"""``fit``: the one training loop of the course.

Per optimizer step (``accumulate = k`` mini-batches B₁ … B_k, N = Σ|B_j| samples):

    zero the gradients
    for each B_j:   out = model(x[B_j]);  L_j = loss_fn(out, y[B_j])
                    model.backward(w_j · ∂L_j/∂out)          w_j = |B_j| / N
    L = Σ_j w_j L_j                                          the loss of the union of the B_j
    [probes]  [clip_grad_norm_(params, clip)]  optimizer.step()  [scheduler.step()]

Because the losses average over their batch (``reduction="mean"``), Σ_j w_j L_j is the
mean over all N samples, so its gradient, summed in ``p.grad`` by the k backward passes,
is exactly the gradient of one batch of N samples: accumulation trades memory for time
without changing the update (with equal batches, w_j = 1/k).
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import as_rng, check_choice, check_number
from ..nn.module import Sequential
from .batches import minibatches
from .checks import (
    check_count,
    check_data,
    check_loss_fn,
    check_model,
    check_optimizer,
    check_probes,
    check_scheduler,
    is_plateau,
)
from .history import History
from .metrics import evaluate, is_nonfinite_error


def fit(model, loss_fn, data, optimizer, epochs: int = 1, batch_size: int = 32, scheduler=None,
        clip: float | None = None, accumulate: int = 1, val_data=None, probes=None, seed=0,
        progress: bool = True, scheduler_interval: str = "epoch") -> History:
    """Train ``model`` on ``data = (x, y)`` with mini-batch gradient descent; return a ``History``.

    Args:
        model: a ``bp.nn`` Module; it is in ``train()`` mode while training and ``eval()``
            mode for the end-of-epoch evaluation (its mode is restored at the end).
        loss_fn: a ``bp.nn`` loss (``MSELoss``, ``CrossEntropyLoss``, ``BCEWithLogitsLoss``).
        data: ``(x, y)``, x shaped (n, features). x is cast to the model's dtype.
        optimizer: a ``bp.optim`` optimizer built on ``model.parameters()``.
        epochs: passes over the data (>= 0).
        batch_size: samples per mini-batch (the last one of an epoch may be smaller).
        scheduler: a learning-rate scheduler, stepped once per epoch after the epoch's
            evaluation (``scheduler_interval="step"``: after every optimizer step instead).
            ``ReduceLROnPlateau`` is stepped per epoch with the validation loss (the
            training loss without ``val_data``).
        clip: if set, ``clip_grad_norm_(params, clip)`` before each step.
        accumulate: mini-batches whose gradients are summed into one optimizer step (the
            update equals one step on their union; see the module docstring).
        val_data: optional ``(x_val, y_val)`` evaluated at the end of each epoch.
        probes: objects with ``.name``, ``.every`` and ``__call__(model=, loss_fn=,
            optimizer=, x=, y=, step=)``; called when ``step % every == 0``, after the
            backward pass (gradients filled, before clipping and ``optimizer.step()``) with
            the step's samples; ``(step, record)`` goes to ``history.probes[name]``.
        seed: seeds the shuffling (a new permutation each epoch, drawn from one Generator).
        progress: show a ``tqdm.auto`` bar over the optimizer steps with the running loss.

    A loss that becomes NaN or inf stops training without an exception:
    ``history.diverged_at`` is the step and ``history.message`` says why. (Layers refuse
    non-finite inputs; when that refusal comes from overflowing activations of a diverging
    run, it counts as a NaN loss, and any other error is raised as usual.)

    Example::

        x, y = bp.data.moons(n=200, noise=0.1)
        net = bp.nn.mlp([2, 16, 16, 2], activation="tanh", seed=0)
        opt = bp.optim.Adam(net.parameters(), lr=1e-2)
        hist = bp.train.fit(net, bp.nn.CrossEntropyLoss(), (x, y), opt, epochs=50)
        print(hist.summary())
    """
    params = check_model(model)
    check_loss_fn(loss_fn)
    dtype = params[0].data.dtype
    x, y = check_data(data, "data", dtype)
    val = None if val_data is None else check_data(val_data, "val_data", dtype)
    epochs = check_count(epochs, "epochs", 0, "epochs=10")
    batch_size = check_count(batch_size, "batch_size", 1, "batch_size=32")
    accumulate = check_count(accumulate, "accumulate", 1, "accumulate=1 (no accumulation) or 4")
    if clip is not None:
        clip = check_number(clip, "clip", low=0.0, low_open=True)
    check_optimizer(optimizer, params)
    interval = check_choice(scheduler_interval, "scheduler_interval", ("epoch", "step"))
    check_scheduler(scheduler, interval)
    probes = check_probes(probes)
    rng = as_rng(seed, "seed")
    if clip is not None:
        from ..optim.clip import clip_grad_norm_

    history = History(probes={p.name: [] for p in probes})
    n_batches = math.ceil(len(x) / batch_size)
    steps_per_epoch = math.ceil(n_batches / accumulate)
    bar = _progress_bar(epochs * steps_per_epoch) if progress and epochs > 0 else None
    was_training = model.training
    step, epoch_text = 0, ""
    try:
        # Overflow in a diverging run is reported through History, not as RuntimeWarnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(epochs):
                model.train()
                batches = minibatches(len(x), batch_size, rng)
                for start in range(0, n_batches, accumulate):
                    group = batches[start:start + accumulate]
                    lr = _current_lr(optimizer)
                    for p in params:                    # model.zero_grad(), without re-listing
                        p.grad = None
                    try:
                        loss = _forward_backward(model, loss_fn, x, y, group)
                        inside = ""
                    except ValueError as err:
                        if not is_nonfinite_error(err, model):
                            raise
                        loss, inside = math.nan, "non-finite values inside the network"
                    history.loss.append(loss)
                    history.lr.append(lr)
                    if not math.isfinite(loss):
                        _stop(history, step, loss, lr, clip, inside, bar)
                        return history
                    for probe in probes:
                        if step % probe.every == 0:
                            idx = group[0] if len(group) == 1 else np.concatenate(group)
                            record = probe(model=model, loss_fn=loss_fn, optimizer=optimizer,
                                           x=x[idx], y=y[idx], step=step)
                            history.probes[probe.name].append((step, record))
                    if clip is not None:
                        clip_grad_norm_(params, clip)
                    optimizer.step()
                    step += 1
                    if interval == "step" and scheduler is not None:
                        scheduler.step()
                    if bar is not None:
                        bar.set_postfix_str(f"loss={loss:.4g}{epoch_text}", refresh=False)
                        bar.update(1)

                train_loss, train_acc = evaluate(model, loss_fn, (x, y))
                history.train_loss.append(train_loss)
                history.train_acc.append(train_acc)
                if val is not None:
                    val_loss, val_acc = evaluate(model, loss_fn, val)
                    history.val_loss.append(val_loss)
                    history.val_acc.append(val_acc)
                history.epochs = epoch + 1
                if not math.isfinite(train_loss):
                    # the last update blew up: the loss at the parameters step `step` would use
                    _stop(history, step, train_loss, _current_lr(optimizer), clip,
                          "at the end-of-epoch evaluation", bar)
                    return history
                if interval == "epoch" and scheduler is not None:
                    if is_plateau(scheduler):
                        scheduler.step(val_loss if val is not None else train_loss)
                    else:
                        scheduler.step()
                epoch_text = _epoch_postfix(history)
                if bar is not None:
                    bar.set_postfix_str(f"loss={loss:.4g}{epoch_text}", refresh=False)
        history.message = (f"completed {history.epochs} epoch(s), {step} optimizer step(s)"
                           if epochs > 0 else "epochs=0: nothing was trained")
        return history
    finally:
        model.train(was_training)
        if bar is not None:
            bar.close()


def _forward_backward(model, loss_fn, x, y, group) -> float:
    """Fill ``p.grad`` with ∂L/∂p for L = Σ_j w_j L_j over the batches of ``group``; return L."""
    total = sum(len(idx) for idx in group)
    loss = 0.0
    for idx in group:
        w = len(idx) / total                            # w_j = |B_j| / N
        out = model(x[idx])
        batch_loss = float(loss_fn(out, y[idx]))        # L_j
        grad_out = loss_fn.backward()                   # ∂L_j/∂out
        _backward(model, grad_out if w == 1.0 else w * grad_out)   # p.grad += w_j ∂L_j/∂p
        loss += w * batch_loss
    return loss


def _backward(model, grad_out) -> None:
    """``model.backward``, without dL/dx of the data where the model can skip it (as PyTorch)."""
    if isinstance(model, Sequential):
        model.backward(grad_out, input_grad=False)
    else:
        model.backward(grad_out)


def _current_lr(optimizer) -> float:
    lr = getattr(optimizer, "lr", None)
    if lr is None:
        lr = optimizer.param_groups[0]["lr"]
    return float(lr)


def _stop(history: History, step: int, loss: float, lr: float, clip, where: str, bar) -> None:
    history.diverged_at = step
    if bar is not None:
        bar.set_postfix_str(f"diverged: loss={loss} at step {step}", refresh=False)
    hint = "lower the learning rate" + (" or clip the gradients (clip=1.0)" if clip is None else "")
    detail = f"; {where}" if where else ""
    history.message = (f"loss became {loss} at step {step} (lr={float(f'{lr:.6g}')!r}{detail}); "
                       f"training stopped. To avoid it, {hint}.")


def _progress_bar(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="fit", unit="step", leave=True)


def _epoch_postfix(history: History) -> str:
    text = f" | epoch {history.epochs}: train_loss={history.train_loss[-1]:.4g}"
    if not math.isnan(history.train_acc[-1]):
        text += f" train_acc={history.train_acc[-1]:.3f}"
    if history.val_loss:
        text += f" val_loss={history.val_loss[-1]:.4g}"
        if not math.isnan(history.val_acc[-1]):
            text += f" val_acc={history.val_acc[-1]:.3f}"
    return text
