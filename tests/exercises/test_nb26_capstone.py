"""Notebook 26 checkers beyond their registered right / wrong answers (test_registered.py runs those).

Oracles: the digits set itself (the hidden test split is disjoint from what the learner gets),
bp.train.fit (the reference epoch equals torch's to float64 rounding), and answers built to fail
in one specific way each.
"""

import numpy as np

import backprop_lib as bp
from backprop_lib.exercises import nb26_capstone as nb26


def check(key, answer):
    return bp.exercises.check(key, answer)


# -- 26.build_and_train ------------------------------------------------------------------------

def test_the_learner_gets_grey_levels_and_never_the_test_split():
    (x, y), (xv, yv), (xt, yt) = nb26._digit_splits()
    x_all, y_all = bp.data.digits()
    parts = np.column_stack([np.concatenate([x, xv, xt]), np.concatenate([y, yv, yt])])
    whole = np.column_stack([16 * x_all, y_all])
    # the three parts are a partition of the 1797 samples (compared as sorted rows)
    np.testing.assert_array_equal(parts[np.lexsort(parts.T)], whole[np.lexsort(whole.T)])
    assert len(xt) == 359 and len(xv) == 360
    assert x.min() == 0 and x.max() == 16 and np.array_equal(x, np.rint(x))   # 17 grey levels
    assert sorted(np.unique(yt)) == list(range(10))


def test_the_learner_cannot_change_the_checkers_data():
    seen = {}

    def vandal(train, val):
        train[0][:] = 0.0                                       # overwrite what it was given
        seen["ok"] = True
        return nb26._right_adamw(*nb26._digit_splits()[:2])

    assert check("26.build_and_train", vandal).status == "correct"
    assert seen["ok"] and nb26._digit_splits()[0][0].max() == 16


def test_returning_a_model_instead_of_a_function_is_explained():
    fb = check("26.build_and_train", lambda train, val: bp.nn.mlp([64, 10]))
    # a Sequential is callable, so it is called on raw pixels: the accuracy says it is untrained
    assert fb.status == "wrong"
    fb = check("26.build_and_train", lambda train, val: 0.97)
    assert fb.status == "wrong" and "predict(x)" in fb.message


def test_wrong_output_shape_and_nan_are_caught():
    fb = check("26.build_and_train", lambda train, val: (lambda x: np.zeros((len(x), 3))))
    assert fb.status == "wrong" and "shape" in fb.message
    fb = check("26.build_and_train", lambda train, val: (lambda x: np.full(len(x), np.nan)))
    assert fb.status == "wrong" and "diverged" in fb.message


def test_logits_are_accepted_as_well_as_labels():
    def logits(train, val):
        predict = nb26._right_adamw(train, val)
        return lambda x: np.eye(10)[predict(x)]                 # one-hot "logits", shape (n, 10)

    assert check("26.build_and_train", logits).status == "correct"


# -- 26.reproduce_in_torch ---------------------------------------------------------------------

def test_reference_epoch_moves_the_weights_and_last_batch_is_short():
    net, data = nb26._sgd_setup()
    trained = nb26._bp_one_epoch(net, data)
    moved = max(float(np.max(np.abs(a.data - b.data)))
                for a, b in zip(net.parameters(), trained.parameters(), strict=True))
    assert moved > 1e-2                                         # an epoch of lr 0.1 is a real change
    assert len(data[0]) % nb26._SGD_CASE["batch_size"] != 0


def test_float32_converted_back_is_caught_as_rounding():
    def roundtrip(net, data, lr, batch_size, seed):
        return nb26._wrong_float32(net, data, lr, batch_size, seed).double()

    fb = check("26.reproduce_in_torch", roundtrip)
    assert fb.status == "wrong" and "float32" in fb.hint


def test_training_the_bp_net_in_place_is_caught():
    def in_place(net, data, lr, batch_size, seed):
        opt = bp.optim.SGD(net.parameters(), lr=lr)
        bp.train.fit(net, bp.nn.CrossEntropyLoss(), data, opt, batch_size=batch_size, seed=seed,
                     progress=False)
        return bp.interop.to_torch(net)

    fb = check("26.reproduce_in_torch", in_place)
    assert fb.status == "wrong" and "changed the weights" in fb.message


def test_momentum_or_a_second_epoch_is_caught():
    torch = bp.interop.import_torch()

    def momentum(net, data, lr, batch_size, seed):
        tnet = bp.interop.to_torch(net)
        opt = torch.optim.SGD(tnet.parameters(), lr=lr, momentum=0.9)
        x, y = torch.from_numpy(data[0]), torch.from_numpy(data[1])
        for idx in nb26._fit_batches(len(x), batch_size, seed):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(tnet(x[idx]), y[idx]).backward()
            opt.step()
        return tnet

    assert check("26.reproduce_in_torch", momentum).status == "wrong"
    assert check("26.reproduce_in_torch", lambda *a: "not a module").status == "wrong"
