"""bp.train.fit, History, evaluate, predict.

Oracles: a hand-written PyTorch loop with the same weights and batches, one big batch for
gradient accumulation, the optimizer's formula for what probes and clipping see.
"""

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch

import backprop_lib as bp


def moons_setup(seed=0, lr=1e-2, hidden=16):
    x, y = bp.data.moons(n=200, noise=0.1, seed=0)
    net = bp.nn.mlp([2, hidden, hidden, 2], activation="tanh", seed=seed)
    opt = bp.optim.Adam(net.parameters(), lr=lr)
    return net, bp.nn.CrossEntropyLoss(), (x, y), opt


def snapshot(net):
    return [p.data.copy() for p in net.parameters()]


def linears(net):
    return [layer for layer in net if isinstance(layer, bp.nn.Linear)]


def torch_copy(net, activation):
    """The same MLP in PyTorch, float64, with the weights copied."""
    layers = []
    for i, lin in enumerate(linears(net)):
        t = torch.nn.Linear(lin.in_features, lin.out_features, dtype=torch.float64)
        with torch.no_grad():
            t.weight.copy_(torch.from_numpy(lin.weight.data))
            t.bias.copy_(torch.from_numpy(lin.bias.data))
        layers.append(t)
        if i < len(linears(net)) - 1:
            layers.append(activation())
    return torch.nn.Sequential(*layers)


# -- it learns ---------------------------------------------------------------------------
def test_two_moons_reaches_97_percent_train_accuracy():
    net, loss_fn, data, opt = moons_setup()
    hist = bp.train.fit(net, loss_fn, data, opt, epochs=60, batch_size=32, progress=False)
    loss, acc = bp.train.evaluate(net, loss_fn, data)
    assert acc >= 0.97
    assert hist.train_acc[-1] == pytest.approx(acc)
    assert hist.train_loss[-1] == pytest.approx(loss)
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert hist.diverged_at is None and hist.epochs == 60
    assert len(hist.loss) == len(hist.lr) == 60 * 7  # ceil(200 / 32) steps per epoch


def test_digits_reaches_95_percent_held_out_accuracy():
    x, y = bp.data.digits()
    train, test = bp.data.train_val_split(x, y, val_fraction=0.25, seed=0)
    net = bp.nn.mlp([64, 64, 10], activation="relu", init="he", seed=0)
    opt = bp.optim.Adam(net.parameters(), lr=3e-3)
    loss_fn = bp.nn.CrossEntropyLoss()
    hist = bp.train.fit(net, loss_fn, train, opt, epochs=15, batch_size=32, val_data=test,
                        progress=False)
    test_loss, test_acc = bp.train.evaluate(net, loss_fn, test)
    assert test_acc >= 0.95
    assert hist.val_acc[-1] == pytest.approx(test_acc)
    assert hist.val_loss[-1] == pytest.approx(test_loss)
    assert len(hist.val_loss) == len(hist.train_loss) == 15


# -- it computes what a PyTorch loop computes ----------------------------------------------
def test_fit_matches_a_handwritten_pytorch_loop():
    x, y = bp.data.moons(n=90, noise=0.2, seed=1)
    net = bp.nn.mlp([2, 8, 8, 2], activation="tanh", seed=3)
    tnet = torch_copy(net, torch.nn.Tanh)
    opt = bp.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tnet.parameters(), lr=0.1, momentum=0.9)
    hist = bp.train.fit(net, bp.nn.CrossEntropyLoss(), (x, y), opt, epochs=3, batch_size=16,
                        seed=5, progress=False)

    rng = np.random.default_rng(5)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    losses = []
    for _ in range(3):
        for idx in bp.train.minibatches(len(x), 16, rng):
            topt.zero_grad()
            loss = torch.nn.functional.cross_entropy(tnet(xt[idx]), yt[idx])
            loss.backward()
            topt.step()
            losses.append(loss.item())
    np.testing.assert_allclose(hist.loss, losses, rtol=1e-10)
    tparams = [p.detach().numpy() for p in tnet.parameters()]
    for mine, theirs in zip(snapshot(net), tparams, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-13)


# -- gradient accumulation ---------------------------------------------------------------
@pytest.mark.parametrize("n,batch,k", [(48, 12, 4), (30, 10, 3), (50, 12, 5)])
def test_accumulation_equals_one_big_batch(n, batch, k):
    x, y = bp.data.blobs(n=n, noise=0.7, seed=2)
    nets = [bp.nn.mlp([2, 10, 3], activation="tanh", seed=4) for _ in range(2)]
    opts = [bp.optim.SGD(net.parameters(), lr=0.3) for net in nets]
    # k batches of `batch` (the last may be smaller: (50, 12, 5) has 12+12+12+12+2)
    h_acc = bp.train.fit(nets[0], bp.nn.CrossEntropyLoss(), (x, y), opts[0], batch_size=batch,
                         accumulate=k, progress=False)
    h_big = bp.train.fit(nets[1], bp.nn.CrossEntropyLoss(), (x, y), opts[1], batch_size=n,
                         progress=False)
    assert len(h_acc.loss) == len(h_big.loss) == 1
    np.testing.assert_allclose(h_acc.loss, h_big.loss, rtol=1e-12)
    for a, b in zip(snapshot(nets[0]), snapshot(nets[1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    # and a step was taken at all
    fresh = snapshot(bp.nn.mlp([2, 10, 3], activation="tanh", seed=4))
    assert max(np.abs(a - b).max() for a, b in zip(snapshot(nets[0]), fresh, strict=True)) > 1e-4


def test_accumulation_over_several_steps_with_adam_and_mse():
    x, y = bp.data.sine(n=64, noise=0.1, seed=0)
    nets = [bp.nn.mlp([1, 12, 1], activation="tanh", seed=1) for _ in range(2)]
    opts = [bp.optim.Adam(net.parameters(), lr=1e-2) for net in nets]
    h_acc = bp.train.fit(nets[0], bp.nn.MSELoss(), (x, y), opts[0], epochs=3, batch_size=8,
                         accumulate=4, seed=9, progress=False)
    h_big = bp.train.fit(nets[1], bp.nn.MSELoss(), (x, y), opts[1], epochs=3, batch_size=32,
                         seed=9, progress=False)
    assert len(h_acc.loss) == 6  # 2 steps per epoch
    np.testing.assert_allclose(h_acc.loss, h_big.loss, rtol=1e-12)
    for a, b in zip(snapshot(nets[0]), snapshot(nets[1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert all(math.isnan(v) for v in h_acc.train_acc)  # regression: no accuracy


# -- divergence is a result ----------------------------------------------------------------
def test_too_large_lr_is_reported_as_diverged_with_its_step():
    x, y = bp.data.sine(n=64, noise=0.1, seed=0)
    net = bp.nn.mlp([1, 32, 32, 1], activation="relu", init="he", seed=0)
    opt = bp.optim.SGD(net.parameters(), lr=5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may leak
        hist = bp.train.fit(net, bp.nn.MSELoss(), (x, y), opt, epochs=50, batch_size=4,
                            progress=False)
    s = hist.diverged_at
    assert isinstance(s, int) and s > 0
    assert len(hist.loss) == s + 1 and len(hist.lr) == s + 1
    assert all(math.isfinite(v) for v in hist.loss[:s])
    assert not math.isfinite(hist.loss[s])
    assert f"at step {s} (lr=5.0" in hist.message and "training stopped" in hist.message
    assert hist.epochs == s // 16  # 16 steps per epoch; the diverging epoch is not completed
    assert len(hist.train_loss) == hist.epochs
    assert "training stopped" in hist.summary()
    assert hist.steps == s


def test_blow_up_seen_at_the_end_of_an_epoch_is_reported():
    # full batch: one step per epoch; the step's own loss is finite, the evaluation after it not
    x, y = bp.data.sine(n=20, noise=0.0, seed=0)
    net = bp.nn.mlp([1, 8, 1], activation="relu", seed=0)
    opt = bp.optim.SGD(net.parameters(), lr=1e300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = bp.train.fit(net, bp.nn.MSELoss(), (x, y), opt, epochs=5, batch_size=20,
                            progress=False)
    assert hist.diverged_at == 1
    assert math.isfinite(hist.loss[0]) and len(hist.loss) == 1
    assert hist.epochs == 1 and not math.isfinite(hist.train_loss[0])
    assert "at step 1" in hist.message
    assert bp.train.evaluate(net, bp.nn.MSELoss(), (x, y))[0] != bp.train.evaluate(
        net, bp.nn.MSELoss(), (x, y))[0]  # nan != nan: evaluate reports nan, does not raise


def test_overflow_inside_the_network_counts_as_divergence():
    # the first layer's outputs overflow to inf; the next layer refuses them: a result, not a crash
    x, y = bp.data.moons(n=40, seed=0)
    net = bp.nn.mlp([2, 8, 8, 2], activation="relu", seed=0)
    net[0].weight.data[:] = 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = bp.train.fit(net, bp.nn.CrossEntropyLoss(), (x, y), bp.optim.SGD(net.parameters(), lr=0.1),
                            epochs=3, progress=False)
    assert hist.diverged_at == 0 and len(hist.loss) == 1 and math.isnan(hist.loss[0])
    assert "at step 0 (lr=0.1; non-finite values inside the network)" in hist.message
    assert hist.epochs == 0 and hist.steps == 0
    loss, acc = bp.train.evaluate(net, bp.nn.CrossEntropyLoss(), (x, y))
    assert math.isnan(loss) and math.isnan(acc)


def test_a_real_error_is_not_mistaken_for_divergence():
    net, loss_fn, _, opt = moons_setup()
    x3 = np.zeros((10, 3))
    with pytest.raises(ValueError, match="features"):
        bp.train.fit(net, loss_fn, (x3, np.zeros(10, dtype=np.int64)), opt, progress=False)


# -- reproducible, shuffled -----------------------------------------------------------------
def test_same_seed_gives_identical_histories_other_seed_other_batches():
    def run(seed):
        net, loss_fn, data, opt = moons_setup()
        return bp.train.fit(net, loss_fn, data, opt, epochs=3, seed=seed, progress=False), net

    (h1, n1), (h2, n2), (h3, _) = run(4), run(4), run(5)
    np.testing.assert_array_equal(h1.loss, h2.loss)
    np.testing.assert_array_equal(h1.train_loss, h2.train_loss)
    assert h1.lr == h2.lr
    for a, b in zip(snapshot(n1), snapshot(n2), strict=True):
        np.testing.assert_array_equal(a, b)
    assert h1.loss[0] != pytest.approx(h3.loss[0], rel=1e-6)


def test_every_sample_is_used_once_per_epoch_in_a_new_order():
    seen = []

    class Spy:
        name, every = "spy", 1

        def __call__(self, *, model, loss_fn, optimizer, x, y, step):
            seen.append(x[:, 0].copy())

    x = np.column_stack([np.arange(50.0), np.zeros(50)])
    y = (np.arange(50) % 2).astype(np.int64)
    net = bp.nn.mlp([2, 4, 2], seed=0)
    bp.train.fit(net, bp.nn.CrossEntropyLoss(), (x, y), bp.optim.SGD(net.parameters(), lr=1e-6),
                 epochs=2, batch_size=8, probes=[Spy()], progress=False)
    assert len(seen) == 14 and [len(s) for s in seen[:7]] == [8] * 6 + [2]
    epoch1, epoch2 = np.concatenate(seen[:7]), np.concatenate(seen[7:])
    np.testing.assert_array_equal(np.sort(epoch1), np.arange(50.0))
    np.testing.assert_array_equal(np.sort(epoch2), np.arange(50.0))
    assert not np.array_equal(epoch1, epoch2) and not np.array_equal(epoch1, np.arange(50.0))


# -- probes, clipping ---------------------------------------------------------------------
class GradRecorder:
    """Records parameters and gradients (copies) as fit hands them over."""

    def __init__(self, name="grads", every=1):
        self.name, self.every = name, every

    def __call__(self, *, model, loss_fn, optimizer, x, y, step):
        return {
            "params": snapshot(model),
            "grads": [p.grad.copy() for p in model.parameters()],
            "n": len(x), "ny": len(y), "training": model.training, "lr": optimizer.lr,
        }


def test_probes_are_called_at_their_steps_with_the_steps_batch():
    x, y = bp.data.moons(n=100, seed=0)
    net = bp.nn.mlp([2, 6, 2], seed=0)
    every3, every1 = GradRecorder("every3", 3), GradRecorder("every1", 1)
    hist = bp.train.fit(net, bp.nn.CrossEntropyLoss(), (x, y), bp.optim.SGD(net.parameters(), lr=0.1),
                        epochs=3, batch_size=10, accumulate=2, probes=[every3, every1], progress=False)
    assert len(hist.loss) == 15  # 10 batches / 2 per step = 5 steps per epoch
    assert [s for s, _ in hist.probes["every3"]] == [0, 3, 6, 9, 12]
    assert [s for s, _ in hist.probes["every1"]] == list(range(15))
    for _, rec in hist.probes["every1"]:
        assert rec["n"] == rec["ny"] == 20 and rec["training"] is True


def test_probes_see_gradients_before_the_step_and_before_clipping():
    x, y = bp.data.moons(n=64, seed=0)
    lr, clip = 0.5, 0.05
    net = bp.nn.mlp([2, 6, 2], seed=0)
    hist = bp.train.fit(net, bp.nn.CrossEntropyLoss(), (x, y), bp.optim.SGD(net.parameters(), lr=lr),
                        epochs=1, batch_size=16, clip=clip, probes=[GradRecorder()], progress=False)
    records = [r for _, r in hist.probes["grads"]]
    after = [r["params"] for r in records[1:]] + [snapshot(net)]
    for rec, nxt in zip(records, after, strict=True):
        g = np.concatenate([v.ravel() for v in rec["grads"]])
        step = np.concatenate([(a - b).ravel() for a, b in zip(rec["params"], nxt, strict=True)])
        norm = np.linalg.norm(g)
        assert norm > clip  # the probe saw the unclipped gradient...
        # ...and SGD applied the clipped one: θ' = θ − lr · g · clip / (‖g‖ + 1e-6)
        np.testing.assert_allclose(step, lr * g * clip / (norm + 1e-6), rtol=1e-10, atol=1e-15)


# -- schedulers ---------------------------------------------------------------------------
def test_epoch_scheduler_changes_lr_between_epochs():
    net, loss_fn, data, _ = moons_setup()
    opt = bp.optim.SGD(net.parameters(), lr=0.4)
    sched = bp.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    hist = bp.train.fit(net, loss_fn, data, opt, epochs=3, batch_size=50, scheduler=sched,
                        progress=False)
    np.testing.assert_allclose(hist.lr, [0.4] * 4 + [0.2] * 4 + [0.1] * 4)
    assert opt.lr == pytest.approx(0.05)


def test_step_scheduler_changes_lr_every_step():
    net, loss_fn, data, _ = moons_setup()
    opt = bp.optim.SGD(net.parameters(), lr=0.4)
    sched = bp.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    hist = bp.train.fit(net, loss_fn, data, opt, epochs=2, batch_size=50, scheduler=sched,
                        scheduler_interval="step", progress=False)
    np.testing.assert_allclose(hist.lr, 0.4 * 0.9 ** np.arange(8), rtol=1e-12)


def test_plateau_scheduler_gets_the_validation_loss():
    metrics = []

    class Spy(bp.optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics_value=None):
            metrics.append(metrics_value)
            super().step(metrics_value)

    x, y = bp.data.moons(n=200, seed=0)
    train, val = bp.data.train_val_split(x, y)
    net = bp.nn.mlp([2, 8, 2], seed=0)
    opt = bp.optim.SGD(net.parameters(), lr=0.1)
    hist = bp.train.fit(net, bp.nn.CrossEntropyLoss(), train, opt, epochs=4, val_data=val,
                        scheduler=Spy(opt), progress=False)
    np.testing.assert_allclose(metrics, hist.val_loss)
    hist = bp.train.fit(net, bp.nn.CrossEntropyLoss(), train, opt, epochs=2, scheduler=Spy(opt),
                        progress=False)
    np.testing.assert_allclose(metrics[-2:], hist.train_loss)


# -- modes, dtypes, accuracy kinds --------------------------------------------------------
def test_train_mode_while_training_eval_mode_for_evaluation_and_mode_restored():
    x, y = bp.data.moons(n=100, seed=0)
    net = bp.nn.Sequential(bp.nn.Linear(2, 32, seed=0), bp.nn.ReLU(), bp.nn.Dropout(0.5, seed=0),
                           bp.nn.Linear(32, 2, seed=1))
    net.eval()
    hist = bp.train.fit(net, bp.nn.CrossEntropyLoss(), (x, y), bp.optim.Adam(net.parameters()),
                        epochs=2, probes=[GradRecorder(every=1)], progress=False)
    assert all(rec["training"] for _, rec in hist.probes["grads"])
    assert net.training is False
    # end-of-epoch numbers are eval-mode (dropout off), hence reproducible
    loss, acc = bp.train.evaluate(net, bp.nn.CrossEntropyLoss(), (x, y))
    assert hist.train_loss[-1] == pytest.approx(loss, rel=1e-12)
    assert hist.train_acc[-1] == pytest.approx(acc)


def test_float32_model_trains_in_float32():
    x, y = bp.data.moons(n=100, seed=0)
    net = bp.nn.Sequential(bp.nn.Linear(2, 8, seed=0, dtype=np.float32), bp.nn.Tanh(),
                           bp.nn.Linear(8, 2, seed=1, dtype=np.float32))
    hist = bp.train.fit(net, bp.nn.CrossEntropyLoss(), (x, y), bp.optim.Adam(net.parameters(), lr=1e-2),
                        epochs=5, progress=False)
    assert all(p.data.dtype == np.float32 for p in net.parameters())
    assert hist.train_loss[-1] < hist.train_loss[0]


def test_binary_accuracy_with_bce_logits():
    x, y = bp.data.circles(n=200, noise=0.05, seed=0)
    target = y[:, None].astype(np.float64)
    net = bp.nn.mlp([2, 16, 1], activation="tanh", seed=0)
    hist = bp.train.fit(net, bp.nn.BCEWithLogitsLoss(), (x, target),
                        bp.optim.Adam(net.parameters(), lr=3e-2), epochs=40, progress=False)
    logits = bp.train.predict(net, x)
    assert logits.shape == (200, 1)
    assert hist.train_acc[-1] == pytest.approx(np.mean((logits[:, 0] > 0) == (y == 1)))
    assert hist.train_acc[-1] >= 0.95


def test_accuracy_rules():
    ce, bce, mse = bp.nn.CrossEntropyLoss(), bp.nn.BCEWithLogitsLoss(), bp.nn.MSELoss()
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [1.0, 0.0, 0.0]])
    assert bp.train.accuracy(logits, np.array([0, 1, 0, 2]), ce) == pytest.approx(0.5)
    probs = np.eye(3)[[0, 1, 2, 1]]
    assert bp.train.accuracy(logits, probs, ce) == pytest.approx(0.75)
    assert bp.train.accuracy(np.array([[0.3], [-1.0], [2.0]]), np.array([[1.0], [1.0], [0.0]]),
                             bce) == pytest.approx(1 / 3)
    assert math.isnan(bp.train.accuracy(logits, logits, mse))


def test_predict_in_chunks_equals_one_pass_and_restores_mode():
    x, _ = bp.data.blobs(n=103, seed=0)
    net = bp.nn.mlp([2, 7, 3], seed=0)
    full = bp.train.predict(net, x)
    np.testing.assert_allclose(bp.train.predict(net, x, batch_size=10), full, rtol=1e-14)
    assert full.shape == (103, 3) and net.training is True


# -- History --------------------------------------------------------------------------------
def test_history_has_exactly_the_documented_fields_and_a_summary():
    names = [f.name for f in dataclasses.fields(bp.train.History)]
    assert names == ["loss", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "diverged_at",
                     "message", "probes", "epochs"]
    x, y = bp.data.moons(n=100, seed=0)
    train, val = bp.data.train_val_split(x, y)
    net = bp.nn.mlp([2, 8, 2], seed=0)
    hist = bp.train.fit(net, bp.nn.CrossEntropyLoss(), train, bp.optim.Adam(net.parameters()),
                        epochs=14, val_data=val, progress=False)
    text = hist.summary()
    assert "14 epoch(s)" in text and "val acc" in text and "..." in text
    assert f"{hist.train_loss[-1]:.4g}" in text and f"{hist.train_loss[0]:.4g}" in text
    assert "completed 14 epoch(s)" in hist.message
    assert repr(hist).startswith("History(epochs=14")


def test_zero_epochs_trains_nothing():
    net, loss_fn, data, opt = moons_setup()
    before = snapshot(net)
    hist = bp.train.fit(net, loss_fn, data, opt, epochs=0)
    assert hist.epochs == 0 and hist.loss == [] and "nothing" in hist.message
    for a, b in zip(before, snapshot(net), strict=True):
        np.testing.assert_array_equal(a, b)


def test_progress_bar_shows_the_loss(capsys):
    net, loss_fn, data, opt = moons_setup()
    bp.train.fit(net, loss_fn, data, opt, epochs=2, progress=True)
    err = capsys.readouterr().err
    assert "fit" in err and "loss=" in err and "14/14" in err
    bp.train.fit(net, loss_fn, data, opt, epochs=2, progress=False)
    assert capsys.readouterr().err == ""


# -- bad input ------------------------------------------------------------------------------
def test_bad_arguments_name_the_argument_and_the_fix():
    net, loss_fn, (x, y), opt = moons_setup()

    def fit(**kw):
        args = dict(model=net, loss_fn=loss_fn, data=(x, y), optimizer=opt, progress=False)
        args.update(kw)
        return bp.train.fit(**args)

    with pytest.raises(ValueError, match=r"data: x has 200 samples but y has 199.*same length"):
        fit(data=(x, y[:-1]))
    with pytest.raises(ValueError, match=r"val_data: x has 10 samples but y has 9"):
        fit(val_data=(x[:10], y[:9]))
    with pytest.raises(TypeError, match=r"data must be a tuple \(x, y\)"):
        fit(data=x)
    with pytest.raises(TypeError, match="x must hold floats.*astype"):
        fit(data=(y[:, None], y))
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        fit(data=(x[:, 0], y))
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1; got 0"):
        fit(batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        fit(batch_size=2.5)
    with pytest.raises(ValueError, match="epochs must be an integer >= 0; got -1"):
        fit(epochs=-1)
    with pytest.raises(ValueError, match="accumulate must be an integer >= 1; got 0"):
        fit(accumulate=0)
    with pytest.raises(ValueError, match="clip"):
        fit(clip=-1.0)
    other = bp.nn.mlp([2, 16, 16, 2], seed=0)
    with pytest.raises(ValueError, match=r"optimizer:.*not one of the model.s parameters.*Build the"):
        fit(optimizer=bp.optim.Adam(other.parameters()))
    with pytest.raises(TypeError, match="model must be a bp.nn.Module"):
        fit(model=torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="loss_fn.*instance"):
        fit(loss_fn=bp.nn.CrossEntropyLoss)
    with pytest.raises(ValueError, match="scheduler_interval"):
        fit(scheduler_interval="batch")
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        fit(scheduler=bp.optim.lr_scheduler.ReduceLROnPlateau(opt), scheduler_interval="step")
    with pytest.raises(ValueError, match="every"):
        fit(probes=[GradRecorder(every=0)])
    with pytest.raises(ValueError, match="two probes are named"):
        fit(probes=[GradRecorder(), GradRecorder()])
    with pytest.raises(ValueError, match="y contains NaN"):
        fit(data=(x, np.full((200, 2), np.nan)))
