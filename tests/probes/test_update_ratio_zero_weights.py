"""UpdateRatioProbe on a network whose weights are all zero (init="zeros", the symmetry
counter-example of notebook 12): the ratio change/RMS(W) has a zero denominator, which must
give nan/inf in the record, never a ZeroDivisionError."""

import numpy as np

import backprop_lib as bp
from backprop_lib.probes import UpdateRatioProbe


def test_zero_weights_give_nan_not_an_error():
    net = bp.nn.mlp([2, 4, 4, 2], activation="tanh", init="zeros", seed=0)
    x = np.random.default_rng(0).normal(size=(8, 2))
    y = np.array([0, 1] * 4)
    opt = bp.optim.SGD(net.parameters(), lr=0.1)
    probe = UpdateRatioProbe(every=1)
    history = bp.train.fit(net, bp.nn.CrossEntropyLoss(), (x, y), opt, epochs=3, batch_size=8,
                           probes=[probe], progress=False)
    records = [rec for _, rec in history.probes[probe.name]]
    assert len(records) == 3
    # every weight stays exactly 0 (no gradient reaches them), so 0 / 0 in each layer
    assert all(np.all(np.isnan(rec.ratio)) for rec in records[1:])
    assert all(np.all(rec.weight_rms == 0) for rec in records)


def test_playground_trains_from_zeros():
    session = bp.widgets.PlaygroundSession(init="zeros", hidden=(4, 4), record_every=1)
    assert session.step(5) == 5
    assert len(session.history.update_ratio) == 6
    assert np.all(np.isnan(session.history.update_ratio[-1]))
