"""AlternativesExplorer: its runs are train_rule's runs, its adversarial digit and accuracies are FGSM's,
DFA = FA with one hidden layer, runs and attack curves are memoised (a slider move reuses them), set()
redraws, bad settings are refused from code and shown as a message from a control."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.train import alternatives as alt
from backprop_lib.widgets.alternatives_explorer import (
    EPS_GRID,
    AlternativesSettings,
    cached_attack_curves,
    cached_runs,
    compute_alternatives,
    digits_task,
)


def test_the_runs_are_train_rule_runs():
    r = compute_alternatives(AlternativesSettings(rule="fa"))
    train, test = digits_task()
    fresh = alt.train_rule("fa", train, test, sizes=(64, 128, 10), lr=0.1, epochs=30, batch_size=16, seed=0)
    np.testing.assert_allclose(r.run.test_acc, fresh.test_acc)
    np.testing.assert_allclose(r.run.angle, fresh.angle, rtol=1e-9)
    assert set(r.runs) == {"bp", "fa", "dfa", "fg"}
    assert r.runs["fg"].test_acc[-1] < r.runs["bp"].test_acc[-1] - 0.1     # forward gradients lag far behind


def test_dfa_equals_fa_with_one_hidden_layer():
    runs = cached_runs(1)
    np.testing.assert_allclose(runs["dfa"].test_acc, runs["fa"].test_acc)
    np.testing.assert_allclose(runs["dfa"].angle, runs["fa"].angle)


def test_the_digit_and_accuracies_are_fgsm():
    s = AlternativesSettings(rule="bp", epsilon=0.15, digit=7)
    r = compute_alternatives(s)
    _, (x, y) = digits_task()
    net, loss_fn = r.run.net, bp.nn.CrossEntropyLoss()
    x_adv = alt.fgsm(net, loss_fn, x[7:8], y[7:8], 0.15)
    np.testing.assert_allclose(r.adversarial, x_adv[0], atol=1e-15)
    np.testing.assert_allclose(r.image, x[7])
    assert r.label == y[7] and r.pred_adv == int(net(x_adv).argmax())
    assert r.pred_clean == int(net(x[7:8]).argmax())
    assert r.acc_at_epsilon == pytest.approx(alt.attack_accuracy(net, loss_fn, x, y, [0.15])[0])
    clean = np.mean(net(x).argmax(1) == y)
    assert r.fgsm_acc[0] == pytest.approx(clean) and r.random_acc[0] == pytest.approx(clean)
    i = int(np.flatnonzero(EPS_GRID == 0.1)[0])
    assert r.fgsm_acc[i] <= r.random_acc[i] - 0.2


def test_epsilon_and_digit_moves_reuse_the_memoised_runs():
    a = compute_alternatives(AlternativesSettings(rule="fa", epsilon=0.05))
    b = compute_alternatives(AlternativesSettings(rule="fa", epsilon=0.25, digit=11))
    assert all(a.runs[k] is b.runs[k] for k in a.runs)
    assert cached_attack_curves("fa", 1)[0] is b.fgsm_acc


def test_set_changes_the_figure_and_its_lines():
    ex = bp.widgets.AlternativesExplorer(rule="bp", epsilon=0.0)
    before = ex.render_png()
    ex.set(rule="fa", epsilon=0.2, digit=3)
    assert ex.render_png() != before
    np.testing.assert_allclose(ex.angle_lines[0].get_ydata(), ex.result.runs["fa"].angle[:, 0])
    assert ex.acc_lines["fa"].get_linewidth() > ex.acc_lines["bp"].get_linewidth()
    assert list(ex.eps_mark.get_xdata()) == [0.2] and not ex.angle_lines[1].get_visible()
    assert ex.message() is None


def test_bad_settings_are_refused_from_code_and_shown_from_a_control():
    ex = bp.widgets.AlternativesExplorer()
    for bad in ({"rule": "hebb"}, {"epsilon": 0.5}, {"digit": 10_000}, {"hidden_layers": 3}, {"digit": 1.5}):
        with pytest.raises(ValueError):
            ex.set(**bad)
    ex._on_control("epsilon", {"new": -1.0})
    assert "epsilon" in ex.message()
