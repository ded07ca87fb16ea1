"""TrainingPlayground: the session learns what it should (and fails where it should), live
changes keep the weights, one step equals PyTorch's, the figure follows ``set()``, play does
not block an event loop (nor a real Jupyter kernel), bad settings and arrays are refused."""

import asyncio
import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import backprop_lib as bp
from backprop_lib.widgets.playground import (
    FEATURES,
    PRESETS,
    PlaygroundSession,
    PlaygroundSettings,
    TrainingPlayground,
    make_features,
    preset_settings,
)

XOR4 = (np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]), np.array([0, 0, 1, 1]))


@pytest.fixture(scope="module")
def shared_playground():
    return TrainingPlayground()


def weights(session):
    return [p.data.copy() for p in session.net.parameters()]


# -- learning -----------------------------------------------------------------------------
def test_default_moons_reaches_95_percent_test_accuracy_within_a_few_hundred_steps():
    s = PlaygroundSession()
    assert s.settings.dataset == "moons" and s.history.test_acc[0] < 0.8      # not solved at step 0
    s.step(300)
    assert s.step_count == 300 and s.history.test_acc[-1] >= 0.95


def test_xor_needs_a_hidden_layer():
    linear = PlaygroundSession(data=XOR4, train_fraction=1.0, hidden=(), lr=0.05)
    linear.step(500)
    assert linear.history.train_acc[-1] <= 0.75          # a line separates at most 3 of the 4 corners
    hidden = PlaygroundSession(data=XOR4, train_fraction=1.0, hidden=(8,), activation="tanh", lr=0.05)
    hidden.step(500)
    assert hidden.history.train_acc[-1] == 1.0
    # the noiseless XOR dataset: a line stays near chance; the feature x1*x2 makes it linear
    line = PlaygroundSession(preset_settings("xor needs a hidden layer"))
    line.step(400)
    assert line.history.test_acc[-1] <= 0.75
    feature = PlaygroundSession(preset_settings("xor with the x1x2 feature"))
    feature.step(400)
    assert feature.history.test_acc[-1] >= 0.95         # (points next to an axis have x1*x2 ≈ 0)


def test_vanishing_sigmoid_first_layer_gradient_is_far_below_the_last():
    s = PlaygroundSession(preset_settings("vanishing sigmoid"))
    s.step(50)
    first, last = s.history.grad_rms[-1][0], s.history.grad_rms[-1][-1]
    assert first / last < 1e-3
    healthy = PlaygroundSession(hidden=(8,) * 6, activation="tanh", init="xavier")
    healthy.step(50)
    assert healthy.history.grad_rms[-1][0] / healthy.history.grad_rms[-1][-1] > 1e-2


def test_dead_relu_preset_kills_units():
    s = PlaygroundSession(preset_settings("dead ReLUs"))
    assert np.nanmax(s.history.saturated[0]) < 0.5
    s.step(300)
    assert np.nanmax(s.history.saturated[-1]) >= 0.5                   # a layer with half its units dead


def test_too_large_lr_diverges_with_a_message_and_no_exception():
    s = PlaygroundSession(preset_settings("too-large lr"))
    made = s.step(500)
    assert made < 500 and s.diverged and s.done and s.diverged_at == s.step_count
    assert "Diverged" in s.message and "lr 10" in s.message and "Lower the learning rate" in s.message
    assert s.step(10) == 0                                              # stays stopped until reset
    s.reset()
    assert not s.diverged and s.step_count == 0 and s.step(5) == 5


def test_diverged_run_is_a_message_in_the_figure():
    pg = TrainingPlayground.preset("too-large lr")
    pg.play(steps=300)
    assert pg.session.diverged and pg._message.get_visible()
    assert "Diverged" in pg._message.get_text()


# -- live changes ---------------------------------------------------------------------------
def test_changing_lr_mid_training_keeps_weights_and_optimizer_state():
    s = PlaygroundSession(optimizer="adam")
    s.step(50)
    before, params = weights(s), s.net.parameters()
    twin = copy.deepcopy(s)
    assert s.update(lr=0.001) is False                                  # no reset
    assert s.step_count == 50 and len(s.history.batch_loss) == 50
    for p, q, w in zip(s.net.parameters(), params, before, strict=True):
        assert p is q
        np.testing.assert_array_equal(p.data, w)
    assert s.optimizer.state[params[0]]["step"] == 50                   # Adam's moments carry on
    for group in twin.optimizer.param_groups:                           # the same edit by hand
        group["lr"] = 0.001
    s.step(5)
    twin.step(5)
    for p, q in zip(s.net.parameters(), twin.net.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=0, atol=1e-15)


def test_changing_dropout_mid_training_keeps_weights_and_masks_units():
    s = PlaygroundSession(hidden=(16, 16), optimizer="adam")
    s.step(40)
    params = s.net.parameters()
    assert s.update(dropout=0.5) is False                              # live: no reset
    drops = [m for m in s.net if isinstance(m, bp.nn.Dropout)]
    assert len(drops) == 2 and all(m.p == 0.5 for m in drops)           # after each hidden activation
    assert all(p is q for p, q in zip(s.net.parameters(), params, strict=True))
    assert s.optimizer.state[params[0]]["step"] == 40                   # the optimizer carries on
    s.net.train()
    h = s.net[:3](s.f_train)                                            # Linear, tanh, Dropout
    assert 0.3 < np.mean(h == 0) < 0.7                                  # about half the units dropped
    s.step(5)
    assert s.step_count == 45
    s.update(dropout=0.2)
    assert [m.p for m in s.net if isinstance(m, bp.nn.Dropout)] == [0.2, 0.2]
    s.update(dropout=0.0)
    assert not any(isinstance(m, bp.nn.Dropout) for m in s.net)
    assert all(p is q for p, q in zip(s.net.parameters(), params, strict=True))
    s.step(5)
    assert s.step_count == 50 and not s.diverged


def test_changing_optimizer_or_l2_keeps_weights_other_changes_reset():
    s = PlaygroundSession()
    s.step(30)
    before = weights(s)
    assert s.update(optimizer="momentum", l2=1e-3) is False
    assert isinstance(s.optimizer, bp.optim.SGD) and s.optimizer.param_groups[0]["momentum"] == 0.9
    assert s.optimizer.state == {}                                      # a new optimizer: fresh state
    assert s.optimizer.param_groups[0]["weight_decay"] == 1e-3          # weights
    assert s.optimizer.param_groups[1]["weight_decay"] == 0.0           # biases
    for p, w in zip(s.net.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, w)
    assert s.step(1) == 1 and s.step_count == 31
    assert s.update(hidden=(3,)) is True and s.step_count == 0 and len(s.net.parameters()) == 4


def test_one_step_with_l2_equals_pytorch():
    """A full-batch SGD step with weight decay λ on the weights only: torch computes the same
    update from L + (λ/2)Σ‖W‖² by autograd (float64, 1e-12)."""
    torch = pytest.importorskip("torch")
    lam, lr = 0.05, 0.3
    s = PlaygroundSession(optimizer="sgd", lr=lr, l2=lam, batch_size=1000, dropout=0.0)
    tnet = s.export_torch()
    s.step(1)
    x = torch.from_numpy(s.f_train)
    logits = tnet(x)
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(s.y_train))
    linears = [m for m in tnet if isinstance(m, torch.nn.Linear)]
    loss = loss + lam / 2 * sum((m.weight ** 2).sum() for m in linears)
    loss.backward()
    with torch.no_grad():
        for p in tnet.parameters():
            p -= lr * p.grad
    for (name, p), q in zip(tnet.named_parameters(), s.net.parameters(), strict=True):
        np.testing.assert_allclose(q.data, p.detach().numpy(), rtol=0, atol=1e-12, err_msg=name)


def test_export_torch_gives_the_same_logits():
    torch = pytest.importorskip("torch")
    s = PlaygroundSession(dataset="blobs", features=("x1", "x2", "sin(x1)"), hidden=(6, 5), dropout=0.2)
    s.step(40)
    tnet = s.export_torch().eval()
    points = np.random.default_rng(0).uniform(-3, 3, size=(50, 2))
    with torch.no_grad():
        out = tnet(torch.from_numpy(s.features(points))).numpy()
    np.testing.assert_allclose(out, bp.train.predict(s.net, s.features(points)), rtol=0, atol=1e-12)


# -- stop condition, records, maps --------------------------------------------------------
def test_stop_conditions():
    s = PlaygroundSession(max_steps=33)
    assert s.step(100) == 33 and s.stopped and "max_steps = 33" in s.message
    assert s.history.steps[-1] == 33                                    # a final record at the stop
    assert s.update(max_steps=40) is False and not s.done and s.step(100) == 7
    t = PlaygroundSession(target_loss=0.2, max_steps=None)
    t.step(2000)
    assert t.stopped and t.history.test_loss[-1] <= 0.2 < t.history.test_loss[0]
    assert "Reached the target" in t.message


def test_records_per_layer():
    s = PlaygroundSession(hidden=(5, 4), record_every=5)
    s.step(20)
    h = s.history
    assert h.steps == [0, 5, 10, 15, 20] and len(h.batch_loss) == 20
    assert h.layer_series("grad_rms").shape == (5, 3) and h.layer_series("delta_rms").shape == (5, 3)
    ratio = h.layer_series("update_ratio")
    assert np.all(np.isnan(ratio[0])) and np.all(np.isfinite(ratio[1:])) and np.all(ratio[1:] > 0)


def test_maps_are_the_network_on_the_grid():
    s = PlaygroundSession(hidden=(5, 3), features=("x1", "x2", "x1*x2"))
    s.step(10)
    scores, neurons = s.maps(resolution=7)
    grid = s.grid(7)
    assert scores.shape == (7, 7, 2) and [n.shape for n in neurons] == [(7, 7, 5), (7, 7, 3)]
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-12)
    first = s.net[0]
    expected = np.tanh(s.features(grid) @ first.weight.data.T + first.bias.data)   # a = tanh(W φ(x) + b)
    np.testing.assert_allclose(neurons[0].reshape(49, 5), expected, atol=1e-12)
    p1 = 1 / (1 + np.exp(-(np.diff(bp.train.predict(s.net, s.features(grid)), axis=1)[:, 0])))
    np.testing.assert_allclose(scores[..., 1].reshape(-1), p1, atol=1e-12)


# -- features and data ---------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 20), st.just(2)),
              elements=st.floats(-10, 10, allow_nan=False)))
def test_features_are_computed_correctly(points):
    got = make_features(points, tuple(FEATURES))
    x1, x2 = points[:, 0], points[:, 1]
    expected = np.column_stack([x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1), np.sin(x2)])
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)


def test_feature_names_are_normalised_and_unknown_ones_refused():
    s = PlaygroundSettings(features=["sin x2", "x1²", "X1 * X2", "x1"])
    assert s.features == ("x1", "x1^2", "x1*x2", "sin(x2)")           # canonical names and order
    with pytest.raises(ValueError, match="unknown feature 'cos\\(x1\\)'"):
        PlaygroundSettings(features=("x1", "cos(x1)"))
    with pytest.raises(ValueError, match="at least one"):
        PlaygroundSettings(features=())


def test_learners_own_arrays():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    x = x[np.abs(x[:, 0] + x[:, 1]) > 0.3]                              # a margin around the line
    y = np.where(x[:, 0] + x[:, 1] > 0, 1.0, -1.0)                     # float labels -1 / 1
    pg = TrainingPlayground(data=(x, y), hidden=(4,))
    assert pg.settings.dataset == "own" and pg.settings.classes == 2
    np.testing.assert_array_equal(np.sort(np.concatenate([pg.session.x_train, pg.session.x_test]), axis=0),
                                  np.sort(x, axis=0))
    pg.step(300)
    assert pg.session.history.test_acc[-1] >= 0.95
    labels = np.concatenate([pg.session.y_train, pg.session.y_test])
    assert set(labels) == {0, 1}                                        # renumbered 0 … K−1
    pg.set(dataset="circles")                                           # leave the arrays …
    assert pg.settings.data is None and len(pg.session.x_train) == 100
    pg.set(dataset="own")                                               # … and come back to them
    assert pg.settings.dataset == "own" and len(pg.session.x_train) + len(pg.session.x_test) == len(x)


@pytest.mark.parametrize(("data", "error", "match"), [
    ((np.zeros((10, 3)), np.zeros(10, int)), ValueError, r"shape \(n, 2\)"),
    ((np.zeros((10, 2)), np.zeros(9, int)), ValueError, r"one class label per point, shape \(10,\)"),
    ((np.full((10, 2), np.nan), np.arange(10) % 2), ValueError, "NaN"),
    ((np.zeros((10, 2)), np.linspace(0, 1, 10)), ValueError, "integer class labels"),
    ((np.zeros((10, 2)), np.zeros(10, int)), ValueError, "single class"),
    ((np.array([["a", "b"]] * 4), np.arange(4) % 2), TypeError, "must hold numbers"),
    ((np.zeros((2, 2)), np.array([0, 1])), ValueError, "at least 4"),
    (np.zeros((10, 2)), TypeError, r"pair \(x, y\)"),
])
def test_bad_arrays_are_refused_with_a_clear_message(data, error, match):
    with pytest.raises(error, match=match):
        TrainingPlayground(data=data)


@pytest.mark.parametrize(("changes", "match"), [
    ({"dataset": "swiss roll"}, "unknown dataset"),
    ({"hidden": (4, 0)}, r"hidden\[1\] must be a neuron count"),
    ({"hidden": (2,) * 11}, "at most 10"),
    ({"lr": 0.0}, "lr must lie in"),
    ({"loss": "hinge"}, "unknown loss"),
    ({"optimizer": "lbfgs"}, "unknown optimizer"),
    ({"dropout": 1.0}, "dropout must lie in"),
    ({"dataset": "own"}, "needs the arrays"),
    ({"train_fraction": 0.0}, "train_fraction"),
    ({"n": 3}, "at least 8"),
    ({"depth": 3}, "unknown setting"),
])
def test_bad_settings_are_refused_from_code(shared_playground, changes, match):
    before = shared_playground.settings
    with pytest.raises(ValueError, match=match):
        shared_playground.set(**changes)
    assert shared_playground.settings == before                        # nothing changed


def test_unknown_preset_is_refused_and_presets_explain_themselves():
    with pytest.raises(ValueError, match="unknown preset 'fast'.*'vanishing sigmoid'"):
        TrainingPlayground.preset("fast")
    for preset in PRESETS.values():
        assert PlaygroundSettings(**preset.settings) and preset.explanation.strip()
        assert "\n" not in preset.explanation                           # one line
    pg = TrainingPlayground.preset("Too_Large LR")
    assert pg.settings.lr == 10.0 and "overshoots" in pg.status()


# -- the widget ----------------------------------------------------------------------------
def test_set_changes_the_figure():
    pg = TrainingPlayground()
    pg.step(40)
    before = pg.render_png()
    pg.set(lr=0.001)                                                    # live: same weights
    assert pg.session.step_count == 40 and "lr 0.001" in pg.view.setting_text.get_text()
    assert pg.render_png() != before
    pg.set(hidden=(3,), dataset="circles")                              # reset: new architecture
    assert pg.session.step_count == 0 and len(pg.view.neuron_images) == 1
    assert pg.view.neuron_images[0].get_array().shape[1] == 50
    assert pg.render_png() != before


def test_controls_drive_the_settings_and_bad_input_becomes_a_message():
    pg = TrainingPlayground()
    pg.show()
    pg._widgets["hidden"].value = "4, 2"
    assert pg.settings.hidden == (4, 2)
    pg._widgets["max_steps"].value = 0
    assert pg.settings.max_steps is None
    pg._widgets["target_loss"].value = 0.1
    assert pg.settings.target_loss == 0.1
    pg._widgets["target_loss"].value = 0
    assert pg.settings.target_loss is None
    pg._widgets["hidden"].value = "4, x"
    assert pg._message.get_visible() and "neuron counts separated by commas" in pg._message.get_text()
    pg._widgets["hidden"].value = "5"
    assert pg.settings.hidden == (5,) and not pg._message.get_visible()
    pg.set(lr=0.01)
    assert pg._widgets["lr"].value == pytest.approx(0.01)
    shown = pg._output.outputs[0]["data"]["image/png"]          # the figure in the Output widget
    pg.step(5)
    assert pg._output.outputs[0]["data"]["image/png"] != shown and len(pg._output.outputs) == 1


def test_play_from_code_without_an_event_loop_runs_to_the_end():
    pg = TrainingPlayground(steps_per_frame=20)
    assert pg.play(steps=45) is pg and pg.session.step_count == 45 and not pg.playing
    pg.set(max_steps=None)
    with pytest.raises(ValueError, match="give steps="):
        pg.play()
    pg.set(max_steps=60)
    pg.play()
    assert pg.session.step_count == 60 and pg.session.stopped


def test_play_in_an_event_loop_trains_frame_by_frame_without_blocking_it():
    async def scenario():
        pg = TrainingPlayground(max_steps=None, steps_per_frame=5)
        task = pg.play()
        assert isinstance(task, asyncio.Task) and pg.playing and pg.session.step_count == 0
        seen = []
        for _ in range(4):                        # the loop gets control back after every frame
            await asyncio.sleep(0)
            seen.append(pg.session.step_count)
        pg.set(lr=0.001)                          # a control moved while playing: used at once
        await asyncio.sleep(0)
        pg.pause()
        await task
        return pg, seen

    pg, seen = asyncio.run(scenario())
    assert seen == [5, 10, 15, 20] and pg.session.step_count == 25 and not pg.playing
    assert pg.session.history.lr[-1] == 0.001 and pg.session.history.lr[-6] == 0.03


def test_play_in_a_jupyter_kernel_keeps_the_kernel_responsive():
    """A real ipykernel: play() returns at once and training advances between other cells."""
    manager = pytest.importorskip("jupyter_client.manager")
    km, kc = manager.start_new_kernel(kernel_name="python3")

    def run(code):
        """Execute a cell; return the words it printed."""
        outputs = []
        reply = kc.execute_interactive(code, timeout=120, output_hook=outputs.append)
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream").split()

    try:
        assert run("import matplotlib; matplotlib.use('Agg')\nimport backprop_lib as bp, asyncio\n"
                   "pg = bp.widgets.TrainingPlayground(max_steps=None, steps_per_frame=5)\n"
                   "task = pg.play()\nprint(type(task).__name__, pg.session.step_count)") == ["Task", "0"]
        counts = []
        for _ in range(3):                     # other cells run while it trains
            step, playing = run("await asyncio.sleep(0.05); print(pg.session.step_count, pg.playing)")
            counts.append(int(step))
            assert playing == "True"
        assert 0 < counts[0] < counts[1] < counts[2]
        printed = run("pg.pause(); await task; print(task.done(), pg.playing, pg.error)")
        assert printed == ["True", "False", "None"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_presentation_theme_makes_a_bigger_figure():
    small = TrainingPlayground().fig.get_size_inches()
    big = TrainingPlayground(theme="presentation").fig.get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]
