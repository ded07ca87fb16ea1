"""Checkers for notebook 26 (capstone: train, tune and verify a network on digits).

* ``26.build_and_train``: ``build_and_train(train, val)`` gets two ``(x, y)`` pairs of 8×8 digits
  as raw grey levels 0–16 (scikit-learn's ``load_digits().data``, not ``bp.data.digits``'s [0, 1])
  and returns ``predict(x)`` giving class labels ``(n,)`` or logits ``(n, 10)``. The checker scores
  it once on a test split the learner never sees: accuracy ≥ 0.95, and the same predictions on two
  calls. Caught: unscaled pixels with a large learning rate (AdamW, lr 0.1: about 0.2 accuracy),
  dropout left on at evaluation (predictions change from call to call);
* ``26.reproduce_in_torch``: ``reproduce_in_torch(net, data, lr, batch_size, seed)`` returns a
  ``torch.nn.Module`` holding ``net``'s weights after one epoch of plain SGD (cross-entropy) on the
  same mini-batches as ``bp.train.fit(..., epochs=1, batch_size=batch_size, seed=seed)``; weights
  within 1e-8 of bp's. Caught: a float32 torch model, another batch order (no shuffling, or
  ``torch.randperm``).
"""

from __future__ import annotations

import copy
import functools

import numpy as np

from .core import Incorrect, exercise, require, require_callable

TARGET_ACCURACY = 0.95
WEIGHT_TOL = 1e-8

# -- 26.build_and_train ----------------------------------------------------------------------


@functools.cache
def _digit_splits():
    """(train, val, test) of the digits as grey levels 0–16; the test part stays with the checker."""
    from ..data import digits, train_val_split

    x, y = digits()
    x = np.rint(16.0 * x)                                   # back to the scanner's 17 grey levels
    rest, test = train_val_split(x, y, val_fraction=0.2, seed=2026)
    train, val = train_val_split(*rest, val_fraction=0.25, seed=26)
    return train, val, test


def _copy_pair(pair):
    return np.array(pair[0], copy=True), np.array(pair[1], copy=True)


def _labels(out, n: int) -> np.ndarray:
    out = np.asarray(out)
    if out.ndim == 2 and out.shape == (n, 10):
        out = out.argmax(axis=1)
    require(out.shape == (n,),
            f"predict(x) for {n} images returned shape {out.shape}; expected ({n},) class labels or "
            f"({n}, 10) logits.", "Return net(x_scaled).argmax(axis=1), or the logits themselves.")
    require(np.all(np.isfinite(out.astype(float))),
            "predict(x) returned NaN or infinite values: the training diverged.",
            "Lower the learning rate, scale the inputs, or clip the gradients (clip=1.0).")
    return out.astype(np.int64)


def _predict_twice(predict, x):
    try:
        first = _labels(predict(np.array(x, copy=True)), len(x))
        second = _labels(predict(np.array(x, copy=True)), len(x))
    except ValueError as err:
        raise Incorrect(f"predict(x) raised ValueError: {err}",
                        "If the message mentions NaN or inf, the training diverged: scale the pixels "
                        "and lower the learning rate.") from err
    return first, second


def _scaled_solution(train, val, *, optimizer="adamw"):
    """The recipe: standardize, 64-256-10 ReLU + Dropout(0.5), AdamW + cosine + clipping, early stop."""
    from .. import nn, optim
    from .. import train as bp_train

    (x, y), (xv, yv) = train, val
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)                          # pixels that are always 0 stay 0

    def scale(a):
        return (a - mu) / sd

    net = bp_train.with_dropout(nn.mlp([64, 256, 10], activation="relu", init="he", seed=0), p=0.5)
    if optimizer == "adamw":
        opt = optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-2)
    else:
        opt = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30)
    bp_train.fit_early_stopping(net, nn.CrossEntropyLoss(), (scale(x), y), opt, val_data=(scale(xv), yv),
                                max_epochs=30, patience=6, scheduler=sched, clip=1.0)
    net.eval()
    return lambda a: net(scale(a)).argmax(axis=1)


def _right_adamw(train, val):
    return _scaled_solution(train, val)


def _right_sgd_momentum(train, val):
    return _scaled_solution(train, val, optimizer="sgd")


def _wrong_unscaled_large_lr(train, val):
    from .. import nn, optim
    from .. import train as bp_train

    net = nn.mlp([64, 256, 10], activation="relu", init="he", seed=0)
    opt = optim.AdamW(net.parameters(), lr=0.1)
    bp_train.fit(net, nn.CrossEntropyLoss(), train, opt, epochs=15, batch_size=32, progress=False)
    net.eval()
    return lambda a: bp_train.predict(net, a).argmax(axis=1)


def _wrong_dropout_on(train, val):
    from .. import nn, optim
    from .. import train as bp_train

    (x, y), _ = train, val
    mu, sd = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    net = bp_train.with_dropout(nn.mlp([64, 256, 10], activation="relu", init="he", seed=0), p=0.5)
    opt = optim.AdamW(net.parameters(), lr=3e-3)
    bp_train.fit(net, nn.CrossEntropyLoss(), ((x - mu) / sd, y), opt, epochs=15, batch_size=32,
                 progress=False)
    return lambda a: net((a - mu) / sd).argmax(axis=1)      # net is still in train() mode


@exercise(
    "26.build_and_train", "Build, tune and train a digits classifier",
    right=[_right_adamw, _right_sgd_momentum],
    wrong={"unscaled pixels with a large lr": _wrong_unscaled_large_lr,
           "dropout left on at evaluation": _wrong_dropout_on},
    success="Your network passed the held-out test: it generalizes to digits it never saw.",
)
def _check_build_and_train(answer):
    require_callable(answer, "build_and_train")
    train, val, test = _digit_splits()
    predict = answer(_copy_pair(train), _copy_pair(val))
    require(callable(predict),
            f"build_and_train returned {type(predict).__name__}; expected a function predict(x).",
            "Return a function that scales x as in training and runs the network in eval mode, "
            "e.g. `return lambda x: bp.train.predict(net, scale(x)).argmax(axis=1)`.")
    x_test, y_test = test
    first, second = _predict_twice(predict, x_test)
    changed = float(np.mean(first != second))
    require(changed == 0.0,
            f"predict(x) changed {changed:.1%} of its answers between two calls on the same images: the "
            "network is random at evaluation time.",
            "Dropout is still on. Call net.eval() after training (or use bp.train.predict, which "
            "evaluates in eval mode): in eval mode Dropout is the identity.")
    acc = float(np.mean(first == y_test))
    require(acc >= TARGET_ACCURACY,
            f"test accuracy {acc:.3f} on {len(y_test)} held-out digits; the target is ≥ {TARGET_ACCURACY}.",
            "The pixels are grey levels 0–16. Standardize each pixel with the training set's mean and "
            "std (inside predict too), then tune the learning rate on the validation set: a rate "
            "that works on scaled inputs (AdamW around 1e-3–1e-2) can wreck unscaled ones.")


# -- 26.reproduce_in_torch -------------------------------------------------------------------

_SGD_CASE = {"lr": 0.1, "batch_size": 32, "seed": 7, "n": 300}


def _sgd_setup():
    """A 64-32-10 ReLU network and 300 standardized digits (300 = 9 batches of 32 + one of 12)."""
    from .. import nn
    from ..data import digits

    x, y = digits(seed=5)
    x, y = x[:_SGD_CASE["n"]], y[:_SGD_CASE["n"]]
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    net = nn.mlp([64, 32, 10], activation="relu", init="he", seed=11)
    return net, (x, y)


def _bp_one_epoch(net, data):
    from .. import nn, optim
    from .. import train as bp_train

    net = copy.deepcopy(net)
    opt = optim.SGD(net.parameters(), lr=_SGD_CASE["lr"])
    bp_train.fit(net, nn.CrossEntropyLoss(), data, opt, epochs=1, batch_size=_SGD_CASE["batch_size"],
                 seed=_SGD_CASE["seed"], progress=False)
    return net


def _torch_epoch(net, data, lr, batch_size, batches, *, dtype=None):
    """One epoch of torch SGD on ``to_torch(net)`` over the index arrays ``batches``."""
    from ..interop import import_torch, to_torch

    torch = import_torch()
    tnet = to_torch(net)
    x, y = torch.from_numpy(np.asarray(data[0])), torch.from_numpy(np.asarray(data[1]))
    if dtype is not None:
        tnet, x = tnet.to(dtype), x.to(dtype)
    opt = torch.optim.SGD(tnet.parameters(), lr=lr)
    for idx in batches:
        idx = torch.as_tensor(np.asarray(idx))
        opt.zero_grad()
        torch.nn.functional.cross_entropy(tnet(x[idx]), y[idx]).backward()
        opt.step()
    return tnet


def _fit_batches(n, batch_size, seed):
    from ..train import minibatches

    return minibatches(n, batch_size, np.random.default_rng(seed))     # what fit draws for epoch 1


def _right_reproduce(net, data, lr, batch_size, seed):
    return _torch_epoch(net, data, lr, batch_size, _fit_batches(len(data[0]), batch_size, seed))


def _right_reproduce_permutation(net, data, lr, batch_size, seed):
    order = np.random.default_rng(seed).permutation(len(data[0]))      # the same permutation, by hand
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return _torch_epoch(net, data, lr, batch_size, batches)


def _wrong_float32(net, data, lr, batch_size, seed):
    from ..interop import import_torch

    return _torch_epoch(net, data, lr, batch_size, _fit_batches(len(data[0]), batch_size, seed),
                        dtype=import_torch().float32)


def _wrong_no_shuffle(net, data, lr, batch_size, seed):
    n = len(data[0])
    return _torch_epoch(net, data, lr, batch_size, [np.arange(i, min(i + batch_size, n))
                                                    for i in range(0, n, batch_size)])


def _wrong_torch_randperm(net, data, lr, batch_size, seed):
    from ..interop import import_torch

    torch = import_torch()
    torch.manual_seed(seed)
    order = torch.randperm(len(data[0])).numpy()
    return _torch_epoch(net, data, lr, batch_size, [order[i:i + batch_size]
                                                    for i in range(0, len(order), batch_size)])


@exercise(
    "26.reproduce_in_torch", "Reproduce one epoch of bp's SGD in PyTorch",
    right=[_right_reproduce, _right_reproduce_permutation],
    wrong={"float32 torch model": _wrong_float32, "batches in order (no shuffling)": _wrong_no_shuffle,
           "batches from torch.randperm": _wrong_torch_randperm},
    success="PyTorch and backprop_lib took the same steps: same weights to 1e-8 after a whole epoch.",
)
def _check_reproduce_in_torch(answer):
    from ..interop import import_torch

    require_callable(answer, "reproduce_in_torch")
    torch = import_torch()
    net, data = _sgd_setup()
    expected = _bp_one_epoch(net, data)
    before = [p.data.copy() for p in net.parameters()]
    tnet = answer(net, (data[0].copy(), data[1].copy()), _SGD_CASE["lr"], _SGD_CASE["batch_size"],
                  _SGD_CASE["seed"])
    require(all(np.array_equal(p.data, b) for p, b in zip(net.parameters(), before, strict=True)),
            "your function changed the weights of the bp network it was given.",
            "Train the PyTorch copy (bp.interop.to_torch(net)) and leave net as it is.")
    require(isinstance(tnet, torch.nn.Module),
            f"reproduce_in_torch returned {type(tnet).__name__}; expected the trained torch.nn.Module.",
            "Return the module you trained, e.g. `return tnet`.")
    got = dict(tnet.named_parameters())
    names = [name for name, _ in expected.named_parameters()]
    missing = [name for name in names if name not in got]
    require(not missing, f"the torch model has no parameter(s) {missing}; it has {list(got)}.",
            "Start from bp.interop.to_torch(net): it keeps the layer names (0.weight, 0.bias, ...).")
    dtypes = sorted({str(got[name].dtype) for name in names})
    require(dtypes == ["torch.float64"],
            f"the torch model's parameters are {', '.join(dtypes)}, not float64.",
            "bp trains in float64. torch's default is float32, whose rounding (about 6e-8 relative) "
            "alone puts the two runs apart; keep to_torch's float64 (no .float()) and float64 inputs.")
    worst = max(float(np.max(np.abs(got[name].detach().numpy() - p.data)))
                for name, p in expected.named_parameters())
    if WEIGHT_TOL < worst < 1e-5:
        raise Incorrect(
            f"after one epoch the weights differ from bp's by up to {worst:.2e} (tolerance {WEIGHT_TOL:g}): "
            "the same steps, but not the same arithmetic.",
            "A difference this small is rounding: did part of the computation run in float32 (a .float() "
            "model or float32 inputs, converted back at the end)? Keep everything in float64.")
    if worst > WEIGHT_TOL:
        raise Incorrect(
            f"after one epoch the weights differ from bp's by up to {worst:.2e} (tolerance {WEIGHT_TOL:g}).",
            "Use the batches fit uses: rng = np.random.default_rng(seed), then "
            "bp.train.minibatches(len(x), batch_size, rng): a random permutation cut into consecutive "
            "slices, the last one smaller. Plain SGD (no momentum), mean cross-entropy per batch.")
