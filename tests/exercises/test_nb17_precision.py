"""Notebook 17's checkers beyond their registered examples: each mistake gets its own message,
the references agree with NumPy, torch and the library, and odd answers are wrong, not errors."""

import numpy as np
import pytest

import backprop_lib.exercises as ex
from backprop_lib.autodiff import ulp
from backprop_lib.exercises import nb17_precision as nb17
from backprop_lib.train import DynamicLossScaler


@pytest.mark.parametrize(("mistake", "words"), [
    ("eps without the exponent", ("does not depend on x",)),
    ("eps·|x|", ("power of two",)),
    ("half the spacing", ("half the spacing",)),
    ("ceil instead of floor", ("twice the spacing",)),
])
def test_ulp_names_the_mistake(mistake, words):
    fb = ex.check("17.ulp", ex.REGISTRY["17.ulp"].wrong[mistake])
    assert fb.status == "wrong"
    for word in words:
        assert word in fb.message


def test_ulp_reference_agrees_with_numpy_and_the_library():
    for x, dtype in nb17._ULP_CASES:
        ref = nb17._ulp_ref(x, dtype)
        assert ref == float(np.spacing(dtype(abs(x)))) == ulp(x, dtype)


@pytest.mark.parametrize("answer", [lambda x, dtype: None, lambda x, dtype: "0.001",
                                    lambda x, dtype: [1.0, 2.0], lambda x, dtype: 1 / 0, 42])
def test_ulp_odd_answers_are_wrong(answer):
    assert ex.check("17.ulp", answer).status == "wrong"


@pytest.mark.parametrize(("mistake", "words"), [
    ("no skip on overflow", ("take_step=True", "skipped")),
    ("no growth", ("expected 131072",)),
    ("no backoff", ("backoff",)),
    ("count not reset after an overflow", ("count",)),
    ("count not reset after growing", ("after each growth",)),
    ("grows one step late", ("step 2",)),
])
def test_scale_update_names_the_mistake(mistake, words):
    fb = ex.check("17.scale_update", ex.REGISTRY["17.scale_update"].wrong[mistake])
    assert fb.status == "wrong"
    text = fb.message + " " + fb.hint
    for word in words:
        assert word in text


def test_scale_update_reference_is_the_library_scaler():
    scaler = DynamicLossScaler(growth_interval=3)
    scale, count = scaler.get_scale(), 0
    for overflow in nb17._SCRIPT:
        scale, count, take = nb17._update_ref(scale, count, overflow, growth_interval=3)
        scaler.update(found_inf=overflow)
        assert (scale, count, take) == (scaler.get_scale(), scaler.growth_tracker, not overflow)


def test_scale_update_needs_the_interval_argument():
    def fixed_interval(scale, good_steps, found_inf, growth_interval=2000):
        return nb17._update_ref(scale, good_steps, found_inf, growth_interval=3)

    fb = ex.check("17.scale_update", fixed_interval)
    assert fb.status == "wrong" and "2000" in fb.message


def test_scale_update_wrong_return_shape():
    fb = ex.check("17.scale_update", lambda scale, good_steps, found_inf, growth_interval=2000: scale)
    assert fb.status == "wrong" and "three" in fb.hint


@pytest.mark.parametrize("answer, words", [("float16", "65504"), ("float32", "16-bit"), ("fp8", "formats")])
def test_wide_range_messages(answer, words):
    fb = ex.check("17.wide_range_dtype", answer)
    assert fb.status == "wrong" and words in fb.message


def test_wide_range_accepts_torch_dtype():
    torch = pytest.importorskip("torch")
    assert ex.check("17.wide_range_dtype", torch.bfloat16).correct
