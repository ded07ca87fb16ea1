"""ParallelExplorer: its numbers are those of bp.train (Amdahl, GPipe, stale GD), set() redraws,
bad settings are refused from code and shown as a message from a control."""

from fractions import Fraction

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.widgets.parallel_explorer import ParallelSettings, compute_parallel


def test_compute_matches_the_library():
    s = ParallelSettings(p=0.95, workers=16, stages=4, micro_batches=8, tau=1, lr_times_l=0.9)
    r = compute_parallel(s)
    assert r.speedup == pytest.approx(1 / (0.05 + 0.95 / 16), rel=1e-12)
    assert r.ceiling == pytest.approx(20.0)
    assert np.all(r.speedup_curve <= np.minimum(r.n_grid, r.ceiling) + 1e-9)
    assert r.bubble == Fraction(3, 11) and len(r.schedule.ops) == 2 * 4 * 8
    assert r.threshold == pytest.approx(1.0) and r.stable                  # ηL = 0.9 < 1 at τ = 1
    assert abs(r.stale_path[-1]) < 1e-3 and r.stale_path[2] == pytest.approx(1 - 0.9 - 0.9)


def test_staleness_can_break_a_step_size_that_is_fine_without_it():
    r = compute_parallel(ParallelSettings(tau=4, lr_times_l=0.5))
    assert not r.stable and r.threshold == pytest.approx(2 * np.sin(np.pi / 18))
    assert np.max(np.abs(r.stale_path[-20:])) > 10 and abs(r.fresh_path[-1]) < 1e-12


def test_p_equal_one_has_no_ceiling():
    r = compute_parallel(ParallelSettings(p=1.0, workers=64))
    assert r.ceiling == np.inf and r.speedup == pytest.approx(64)


def test_set_changes_the_figure():
    ex = bp.widgets.ParallelExplorer()
    before = ex.render_png()
    ex.set(stages=6, micro_batches=2)
    assert ex.render_png() != before
    assert "idle 5/7" in ex.ax_gantt.get_title() and len(ex.boxes.get_paths()) == 2 * 6 * 2
    ex.set(p=0.5, workers=4)
    assert ex.mark_n.get_ydata()[0] == pytest.approx(1.6)
    ex.set(tau=8, lr_times_l=0.3)
    assert "diverges" in ex.ax_stale.get_title()
    ex.set(micro_batches=32, stages=8)                                     # no numbers on 512 boxes
    assert ex.box_labels == []


@pytest.mark.parametrize(("changes", "match"), [
    ({"p": 1.5}, "p must lie"),
    ({"workers": 0}, "workers"),
    ({"stages": 9}, "stages must be at most 8"),
    ({"tau": -1}, "tau must be a whole number"),
    ({"tau": 2.5}, "tau must be a whole number"),
    ({"lr_times_l": 0.0}, "lr_times_l"),
    ({"speed": 3}, "unknown setting"),
])
def test_bad_settings_are_refused_from_code(changes, match):
    with pytest.raises((ValueError, TypeError), match=match):
        bp.widgets.ParallelExplorer().set(**changes)


def test_a_bad_control_value_becomes_a_message():
    ex = bp.widgets.ParallelExplorer()
    ex.show()
    ex._on_control("stages", {"new": 12})
    assert ex._message.get_visible() and "stages must be at most" in ex._message.get_text()
    ex._on_control("stages", {"new": 3})
    assert not ex._message.get_visible() and ex.settings.stages == 3


def test_controls_follow_set():
    ex = bp.widgets.ParallelExplorer()
    ex.show()
    ex.set(tau=5, p=0.99)
    assert ex._widgets["tau"].value == 5 and ex._widgets["p"].value == pytest.approx(0.99)


def test_presentation_theme_makes_a_bigger_figure():
    small = bp.widgets.ParallelExplorer().fig.get_size_inches()
    big = bp.widgets.ParallelExplorer(theme="presentation").fig.get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]
