"""The probes inside bp.train.fit: recorded at the right steps, without changing training, and
the update ratio measured from the weights' actual change (checked for SGD and Adam)."""

import copy

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.probes import (
    ActivationProbe,
    ActivationRecord,
    FlowRecord,
    GradientFlowProbe,
    UpdateRatioProbe,
    UpdateRecord,
    gradient_flow,
)


def _data(rng, n=40):
    x = rng.normal(size=(n, 3))
    y = (x[:, :1] * x[:, 1:2] > 0).astype(float)
    return x, y


def _net(seed=0):
    return bp.nn.Sequential(bp.nn.Linear(3, 8, seed=seed), bp.nn.BatchNorm1d(8), bp.nn.Tanh(),
                            bp.nn.Dropout(0.2, seed=seed), bp.nn.Linear(8, 8, seed=seed + 1), bp.nn.Tanh(),
                            bp.nn.Linear(8, 1, seed=seed + 2))


def _fit(net, data, opt, probes=(), **kw):
    kw = {"epochs": 3, "batch_size": 10, "seed": 1, "progress": False} | kw
    return bp.train.fit(net, bp.nn.BCEWithLogitsLoss(), data, opt, probes=list(probes), **kw)


def test_probes_record_at_their_steps(rng):
    data = _data(rng)                                   # 40 samples / 10 = 4 steps per epoch
    net = _net()
    probes = [GradientFlowProbe(every=5), UpdateRatioProbe(), ActivationProbe(every=4)]
    hist = _fit(net, data, bp.optim.SGD(net.parameters(), lr=0.1), probes)
    assert len(hist.loss) == 12
    steps = {name: [s for s, _ in recs] for name, recs in hist.probes.items()}
    assert steps == {"gradient_flow": [0, 5, 10], "update_ratio": list(range(12)), "activations": [0, 4, 8]}
    assert all(isinstance(r, FlowRecord) for _, r in hist.probes["gradient_flow"])
    assert all(isinstance(r, UpdateRecord) for _, r in hist.probes["update_ratio"])
    assert all(type(r) is ActivationRecord for _, r in hist.probes["activations"])
    assert all(r.n_layers == 3 for recs in hist.probes.values() for _, r in recs)


def test_probes_do_not_change_training(rng):
    data = _data(rng)
    a, b = _net(), _net()
    plain = _fit(a, data, bp.optim.Adam(a.parameters(), lr=0.01))
    probed = _fit(b, data, bp.optim.Adam(b.parameters(), lr=0.01),
                  [GradientFlowProbe(every=1), UpdateRatioProbe(), ActivationProbe(every=1)])
    np.testing.assert_allclose(probed.loss, plain.loss, rtol=1e-13)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-13)


def test_gradient_flow_probe_measures_the_current_batch_and_lr(rng):
    x, y = _data(rng)
    net = bp.nn.mlp([3, 6, 6, 1], activation="tanh", seed=2)
    start = copy.deepcopy(net)
    hist = _fit(net, (x, y), bp.optim.SGD(net.parameters(), lr=0.3), [GradientFlowProbe(every=2)],
                epochs=1, batch_size=40)                # one full-batch step
    step, rec = hist.probes["gradient_flow"][0]
    expected = gradient_flow(start, bp.nn.BCEWithLogitsLoss(), x, y, lr=0.3)
    assert step == 0 and rec.lr == pytest.approx(0.3)
    for attr in ("delta_rms", "grad_rms", "weight_rms", "update_ratio", "act_std"):
        np.testing.assert_allclose(getattr(rec, attr), getattr(expected, attr), rtol=1e-10)


def test_update_ratio_is_the_actual_sgd_update(rng):
    """Plain SGD moves W by lr·g, so the ratio measured at step s from the weights equals
    lr·RMS(g)/RMS(W) computed from the gradient at step s − 1."""
    data = _data(rng)
    net = bp.nn.mlp([3, 8, 8, 1], activation="tanh", seed=4)
    recs = [r for _, r in _fit(net, data, bp.optim.SGD(net.parameters(), lr=0.05),
                               [UpdateRatioProbe()]).probes["update_ratio"]]
    assert np.isnan(recs[0].ratio).all() and recs[0].steps == 0
    for before, now in zip(recs[:-1], recs[1:], strict=True):
        assert now.steps == 1
        np.testing.assert_allclose(now.ratio, before.sgd_ratio, rtol=1e-9)


def test_update_ratio_sees_adams_normalised_step(rng):
    """Adam's first step is lr·ĝ/(√v̂ + ε) = lr·g/(|g| + ε) ≈ lr·sign(g): RMS(update) ≈ lr,
    whatever the gradient's size, unlike lr·RMS(g)."""
    data = _data(rng)
    net = bp.nn.mlp([3, 8, 8, 1], activation="tanh", seed=4)
    w0 = [np.sqrt(np.mean(lin.weight.data ** 2)) for lin in net.layers[::2]]
    lr = 1e-3
    recs = [r for _, r in _fit(net, data, bp.optim.Adam(net.parameters(), lr=lr),
                               [UpdateRatioProbe()], epochs=1).probes["update_ratio"]]
    np.testing.assert_allclose(recs[1].ratio, lr / np.array(w0), rtol=1e-3)
    assert not np.allclose(recs[0].sgd_ratio, recs[1].ratio, rtol=0.1)


def test_update_ratio_every_two_steps_is_the_mean_per_step(rng):
    x, y = _data(rng)
    net = bp.nn.mlp([3, 5, 1], activation="tanh", seed=6)
    twin = copy.deepcopy(net)
    w0 = [lin.weight.data.copy() for lin in net.layers[::2]]
    recs = _fit(net, (x, y), bp.optim.SGD(net.parameters(), lr=0.5), [UpdateRatioProbe(every=2)],
                epochs=3, batch_size=40).probes["update_ratio"]
    assert [s for s, _ in recs] == [0, 2]
    _fit(twin, (x, y), bp.optim.SGD(twin.parameters(), lr=0.5), epochs=2, batch_size=40)
    w2 = [lin.weight.data for lin in twin.layers[::2]]
    expected = [np.sqrt(np.mean((b - a) ** 2)) / np.sqrt(np.mean(a ** 2)) / 2
                for a, b in zip(w0, w2, strict=True)]
    assert recs[1][1].steps == 2
    np.testing.assert_allclose(recs[1][1].ratio, expected, rtol=1e-9)


def test_update_ratio_probe_starts_afresh_for_a_new_run(rng):
    data = _data(rng)
    probe = UpdateRatioProbe()
    for seed in (0, 1):
        net = bp.nn.mlp([3, 4, 1], seed=seed)
        recs = _fit(net, data, bp.optim.SGD(net.parameters(), lr=0.1), [probe], epochs=1).probes
        assert np.isnan(recs["update_ratio"][0][1].ratio).all()
        assert np.isfinite(recs["update_ratio"][1][1].ratio).all()


def test_probe_arguments_are_checked():
    with pytest.raises(ValueError, match="every"):
        GradientFlowProbe(every=0)
    with pytest.raises(TypeError, match="every"):
        UpdateRatioProbe(every=1.5)
    with pytest.raises(TypeError, match="name"):
        ActivationProbe(name=3)
    assert GradientFlowProbe(name="gf").name == "gf"
    assert repr(UpdateRatioProbe()) == "UpdateRatioProbe(every=1, name='update_ratio')"
