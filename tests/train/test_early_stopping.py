"""bp.train.fit_early_stopping.

Oracles: one long ``bp.train.fit`` call with the same seed (the epochs before the stop must be
exactly its epochs: weights, losses, learning rates, probe records), and ``bp.train.evaluate``
on the restored weights (the best epoch's recorded validation loss).
"""

import numpy as np
import pytest

import backprop_lib as bp


def setup(seed=0, dropout=True):
    x, y = bp.data.blobs(n=120, noise=1.5, seed=seed, centers=3)
    train, val = bp.data.train_val_split(x, y, val_fraction=0.3, seed=seed)
    net = bp.nn.mlp([2, 16, 3], activation="relu", init="he", seed=seed)
    if dropout:
        net = bp.train.with_dropout(net, p=0.2, seed=seed)
    opt = bp.optim.AdamW(net.parameters(), lr=0.02)
    sched = bp.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12)
    return net, opt, sched, train, val


def flat(net):
    return np.concatenate([p.data.ravel() for p in net.parameters()])


def test_without_a_stop_it_is_one_long_fit():
    epochs = 12
    net_a, opt_a, sched_a, train, val = setup()
    probes_a = [bp.probes.UpdateRatioProbe(), bp.probes.GradientFlowProbe(every=3)]
    run = bp.train.fit_early_stopping(net_a, bp.nn.CrossEntropyLoss(), train, opt_a, val_data=val,
                                      max_epochs=epochs, patience=epochs, scheduler=sched_a, clip=1.0,
                                      probes=probes_a, batch_size=16, seed=4, restore_best=False)
    net_b, opt_b, sched_b, _, _ = setup()
    probes_b = [bp.probes.UpdateRatioProbe(), bp.probes.GradientFlowProbe(every=3)]
    hist = bp.train.fit(net_b, bp.nn.CrossEntropyLoss(), train, opt_b, epochs=epochs, batch_size=16,
                        scheduler=sched_b, clip=1.0, val_data=val, probes=probes_b, seed=4, progress=False)
    assert run.epochs == epochs and not run.stopped_early
    np.testing.assert_array_equal(flat(net_a), flat(net_b))
    for name in ("loss", "lr", "train_loss", "train_acc", "val_loss", "val_acc"):
        np.testing.assert_array_equal(getattr(run.history, name), getattr(hist, name), err_msg=name)
    for name in ("update_ratio", "gradient_flow"):
        steps_a = [s for s, _ in run.history.probes[name]]
        steps_b = [s for s, _ in hist.probes[name]]
        assert steps_a == steps_b, name
    # 84 training samples in batches of 16: 6 steps per epoch, so every=3 is not tied to epochs
    assert [s for s, _ in run.history.probes["gradient_flow"]] == list(range(0, 6 * epochs, 3))
    ratio_a = np.array([r.ratio for _, r in run.history.probes["update_ratio"]])
    ratio_b = np.array([r.ratio for _, r in hist.probes["update_ratio"]])
    np.testing.assert_array_equal(ratio_a, ratio_b)           # nan only at step 0, in both
    assert np.isnan(ratio_a[0]).all() and np.isfinite(ratio_a[1:]).all()


def test_stops_after_patience_and_restores_the_best_epoch():
    net, opt, sched, train, val = setup(dropout=False)
    opt = bp.optim.Adam(net.parameters(), lr=0.05)               # no decay: it overfits the val loss
    loss_fn = bp.nn.CrossEntropyLoss()
    run = bp.train.fit_early_stopping(net, loss_fn, train, opt, val_data=val, max_epochs=200, patience=4,
                                      batch_size=8)
    val_loss = run.history.val_loss
    best = int(np.argmin(val_loss)) + 1
    assert run.stopped_early
    assert run.best_epoch == best
    assert run.epochs == best + 4                                 # 4 epochs without improvement
    assert run.best_value == pytest.approx(val_loss[best - 1], rel=0, abs=0)
    loss, _ = bp.train.evaluate(net, loss_fn, val)
    assert loss == pytest.approx(val_loss[best - 1], rel=1e-12)   # the best epoch's weights are back
    assert "stopped at epoch" in run.history.message and f"epoch {best}" in run.history.message


def test_monitor_val_acc_and_min_delta():
    net, opt, sched, train, val = setup(dropout=False)
    run = bp.train.fit_early_stopping(net, bp.nn.CrossEntropyLoss(), train, opt, val_data=val,
                                      max_epochs=40, patience=3, monitor="val_acc", min_delta=0.0)
    acc = np.array(run.history.val_acc)
    assert run.best_epoch == int(np.argmax(acc)) + 1                # first epoch reaching the maximum
    assert run.best_value == acc.max()
    net2, opt2, _, _, _ = setup(dropout=False)
    strict = bp.train.fit_early_stopping(net2, bp.nn.CrossEntropyLoss(), train, opt2, val_data=val,
                                         max_epochs=40, patience=3, monitor="val_acc", min_delta=0.5)
    assert strict.best_epoch == 1 and strict.epochs == 4             # nothing beats epoch 1 by 0.5


def test_divergence_is_reported_with_its_global_step():
    net, _, _, train, val = setup(dropout=False)
    loss_fn = bp.nn.CrossEntropyLoss()
    opt = bp.optim.SGD(net.parameters(), lr=0.01)
    sched = bp.optim.lr_scheduler.ExponentialLR(opt, gamma=1e150)     # epoch 2 runs at lr 1e148
    run = bp.train.fit_early_stopping(net, loss_fn, train, opt, val_data=val, max_epochs=10, patience=10,
                                      batch_size=21, scheduler=sched)    # 4 steps per epoch
    assert run.history.diverged and run.best_epoch == 1
    assert run.history.diverged_at == len(run.history.loss) - 1 >= 4
    assert f"global step {run.history.diverged_at}" in run.history.message
    loss, _ = bp.train.evaluate(net, loss_fn, val)
    assert loss == pytest.approx(run.history.val_loss[0], rel=1e-12)  # epoch 1's weights are back


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"val_data": None}, "val_data"),
    ({"max_epochs": 0}, "max_epochs"),
    ({"patience": 0}, "patience"),
    ({"monitor": "train_loss"}, "monitor"),
    ({"min_delta": -1.0}, "min_delta"),
])
def test_bad_arguments_are_named(kwargs, match):
    net, opt, _, train, val = setup()
    args = {"val_data": val, "max_epochs": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        bp.train.fit_early_stopping(net, bp.nn.CrossEntropyLoss(), train, opt, **args)
