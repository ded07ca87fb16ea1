"""PrecisionExplorer: the read-out against NumPy's float16, the histogram classes against the
format's thresholds, loss scaling moving gradients out of underflow, set() redraws, bad settings."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.widgets.precision_explorer import (
    BINS,
    CLASSES,
    N_GRADS,
    PrecisionSettings,
    compute_precision,
)


def pr(**changes):
    return compute_precision(PrecisionSettings(**changes))


@pytest.mark.parametrize("log10_value", [-9.0, -6.0, -4.0, 0.0, 0.04, 3.3, 4.9])
def test_value_readout_is_numpys_float16(log10_value):
    r = pr(log10_value=log10_value)
    x = 10.0 ** log10_value
    with np.errstate(over="ignore"):
        expected = float(np.float16(x))
    assert r.value.value == expected
    assert np.isinf(expected) or r.value.ulp == float(np.spacing(np.float16(expected)))
    assert r.value.abs_error == pytest.approx(abs(expected - x)) or np.isinf(expected)


def test_value_kinds_by_dtype():
    assert pr(log10_value=5.0).value.kind == "overflow"
    assert pr(log10_value=5.0, dtype="bfloat16").value.kind == "normal"
    assert pr(log10_value=-9.0).value.kind == "underflow"
    assert pr(log10_value=-6.0).value.kind == "subnormal"


def test_histogram_counts_every_gradient_once():
    r = pr(log2_scale=8)
    total = sum(r.counts[c] for c in CLASSES)
    inside = np.sum((np.log10(r.grads * r.scale) >= BINS[0]) & (np.log10(r.grads * r.scale) <= BINS[-1]))
    assert total.sum() == inside == N_GRADS


def test_histogram_classes_follow_float16_thresholds():
    r = pr(log2_scale=4)
    stored = (r.grads * 16).astype(np.float16)                          # NumPy's float16 as the oracle
    assert r.counts["zero"].sum() == np.sum(stored == 0) > 0
    assert r.counts["subnormal"].sum() == np.sum((stored > 0) & (stored < 2.0 ** -14)) > 0
    assert r.counts["normal"].sum() == np.sum(stored >= 2.0 ** -14)
    assert r.counts["inf"].sum() == 0
    assert r.cast.zero_fraction == pytest.approx(np.mean(stored == 0))


def test_loss_scale_moves_gradients_out_of_underflow_and_too_far_into_overflow():
    plain, scaled, huge = pr(log2_scale=0), pr(log2_scale=16), pr(log2_scale=32)
    assert plain.cast.zero_fraction > 0.2
    assert scaled.cast.zero_fraction == 0 and scaled.cast.inf_fraction == 0
    assert scaled.cast.median_rel_error < plain.cast.median_rel_error
    assert huge.cast.inf_fraction > 0.1
    assert pr(dtype="bfloat16").cast.zero_fraction == 0                # bf16 has float32's range


def test_spacing_curves_stay_between_eps_over_2_and_eps_for_normal_numbers():
    r = pr()
    from backprop_lib.widgets.precision_explorer import SPACING_X
    for name in ("float16", "bfloat16", "float32"):
        fmt = bp.autodiff.finfo(name)
        normal = (SPACING_X >= fmt.tiny) & (SPACING_X <= fmt.max)
        rel = r.spacing[name][normal]
        assert np.all(rel <= fmt.eps) and np.all(rel > fmt.eps / 2)
        assert np.all(np.isnan(r.spacing[name][SPACING_X > fmt.max * 1.001]))


def test_set_redraws_and_syncs():
    ex = bp.widgets.PrecisionExplorer()
    before = ex.render_png()
    ex.set(log2_scale=16)
    assert ex.result.cast.zero_fraction == 0
    assert ex.render_png() != before
    assert ex.message() is None


def test_controls_match_settings():
    ex = bp.widgets.PrecisionExplorer(dtype="bfloat16", log2_scale=3)
    controls = ex.controls()
    assert set(controls) == {"dtype", "log10_value", "log2_scale", "grad_low", "grad_high"}
    assert controls["dtype"].value == "bfloat16" and controls["log2_scale"].value == 3


def test_bad_setting_from_a_control_is_a_message_not_a_traceback():
    ex = bp.widgets.PrecisionExplorer()
    ex.show()
    ex._on_control("grad_low", {"new": 0.0})      # above grad_high = -2
    assert "grad_low" in ex.message()


@pytest.mark.parametrize("bad", [dict(dtype="float8"), dict(log2_scale=2.5), dict(log2_scale=40),
                                 dict(grad_low=-1.0, grad_high=-3.0), dict(log10_value=100.0)])
def test_bad_settings_raise(bad):
    with pytest.raises(ValueError):
        PrecisionSettings(**bad)


def test_presentation_theme_is_larger():
    small = bp.widgets.PrecisionExplorer()
    big = bp.widgets.PrecisionExplorer(theme="presentation")
    assert big.fig.get_size_inches()[0] > small.fig.get_size_inches()[0]
