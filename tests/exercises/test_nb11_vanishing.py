"""Notebook 11's checkers beyond their registered examples: the reference factor against what a
network measures, the 5 % band of relu_std, the three mystery plots really are what the key
says (and the log-axis trap is real), and answers of the wrong kind."""

import math

import numpy as np
import pytest

import backprop_lib as bp
import backprop_lib.exercises as ex
from backprop_lib.exercises import nb11_vanishing as nb11


def test_reference_factor_is_the_probes_prediction():
    rng = np.random.default_rng(0)
    net = bp.nn.mlp([64] * 6 + [4], activation="tanh", init="normal", init_std=1.3 / 8, seed=0)
    trace = bp.probes.trace_deltas(net, bp.nn.MSELoss(), rng.normal(size=(32, 64)), rng.normal(size=(32, 4)))
    s = [float(np.sqrt(np.mean(w ** 2) * w.shape[0])) for w in trace.weight[1:]]
    ours = [nb11._factor_ref("tanh", s[k], trace.z[k]) for k in range(5)]
    np.testing.assert_allclose(ours, bp.probes.predicted_factors(trace), rtol=1e-12)


@pytest.mark.parametrize(("scale", "ok"), [(1.0, True), (0.951, True), (1.049, True), (0.94, False),
                                         (1.06, False)])
def test_relu_std_band_is_five_percent(scale, ok):
    fb = ex.check("11.relu_std", lambda n: scale * math.sqrt(2.0 / n))
    assert fb.correct == ok, str(fb)


def test_relu_std_message_names_the_factor_per_layer():
    fb = ex.check("11.relu_std", lambda n: 3.0 / math.sqrt(n))
    assert fb.status == "wrong" and "2.12" in fb.message      # s·√(1/2) = 3/√2


@pytest.mark.parametrize("answer", [lambda n: None, lambda n: "0.1", lambda n: -math.sqrt(2 / n),
                                    lambda n: float("nan"), 0.125])
def test_relu_std_of_the_wrong_kind_is_wrong_not_an_error(answer):
    assert ex.check("11.relu_std", answer).status == "wrong"


def test_layer_factor_returning_an_array_is_reported():
    fb = ex.check("11.layer_factor", lambda activation, s, z: s * np.ones(3))
    assert fb.status == "wrong" and "one number" in fb.message


def test_mystery_plots_are_what_the_key_says_with_margin():
    ratio = {k: rec.delta_rms[0] / rec.delta_rms[-1] for k, rec in nb11.mystery_records().items()}
    assert ratio["A"] > 1e4                    # exploding: far past the 100× line
    assert 1.2 < ratio["B"] < 5                # stable (within 10×), yet rising toward the input …
    assert ratio["C"] < 3e-3                   # vanishing
    b = nb11.mystery_records()["B"].delta_rms
    # … monotonically enough over the last layers to look like A once each panel is zoomed
    assert np.all(np.diff(b[-6:]) < 0)
    assert np.log10(b.max() / b.min()) < 0.5   # less than half a decade in all
    assert all(rec.finite for rec in nb11.mystery_records().values())


@pytest.mark.parametrize(("value", "label"), [(1e-3, "vanishing"), (1e3, "exploding"), (0.1, "stable"),
                                              (10.0, "stable"), (0.05, None), (50.0, None)])
def test_classify(value, label):
    assert nb11.classify(value) == label


@pytest.mark.parametrize("answer", [["exploding", "stable", "vanishing"],
                                    {"A": "exploding", "B": "stable"},
                                    {"A": "exploding", "B": "flat", "C": "vanishing"},
                                    {"A": 1, "B": "stable", "C": "vanishing"}])
def test_label_plots_malformed_answers_are_wrong_with_a_message(answer):
    fb = ex.check("11.label_plots", answer)
    assert fb.status == "wrong" and fb.message


def test_label_plots_misread_axis_hint_points_at_the_tick_labels():
    fb = ex.check("11.label_plots", {"A": "exploding", "B": "exploding", "C": "vanishing"})
    assert "plot B" in fb.message and "tick labels" in fb.hint


def test_label_plots_template_is_not_attempted():
    assert ex.check("11.label_plots", {"A": None, "B": None, "C": None}).status == "not attempted"
    assert ex.check("11.label_plots", {"A": "exploding", "B": None, "C": None}).status == "wrong"
