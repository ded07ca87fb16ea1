"""Float formats and rounding (backprop_lib/autodiff/floats.py) against NumPy and PyTorch."""

import math

import numpy as np
import pytest

from backprop_lib.autodiff import floats as F

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _wide(n, lo, hi):
    """n values log-uniform in [10^lo, 10^hi] with random signs."""
    return 10.0 ** RNG.uniform(lo, hi, n) * RNG.choice([-1.0, 1.0], n)


# -- formats ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_format_constants_match_numpy_finfo(name):
    fmt, ref = F.finfo(name), np.finfo(name)
    assert fmt.eps == float(ref.eps)
    assert fmt.max == float(ref.max)
    assert fmt.tiny == float(ref.tiny)
    assert fmt.smallest_subnormal == float(ref.smallest_subnormal)
    assert fmt.bits == ref.bits


def test_bfloat16_constants_match_torch_finfo():
    fmt, ref = F.finfo("bf16"), torch.finfo(torch.bfloat16)
    assert (fmt.eps, fmt.max, fmt.tiny) == (ref.eps, ref.max, ref.tiny)
    assert fmt.eps == 2.0 ** -7 and fmt.bits == 16


def test_float16_textbook_values():
    fmt = F.finfo(np.float16)
    assert fmt.eps == 2.0 ** -10 and fmt.max == 65504.0
    assert math.isclose(fmt.tiny, 6.1035e-5, rel_tol=1e-4)
    assert fmt.unit_roundoff == 2.0 ** -11


@pytest.mark.parametrize("alias, name", [("fp16", "float16"), ("half", "float16"), (np.float32, "float32"),
                                         (np.dtype("float64"), "float64"), ("torch.bfloat16", "bfloat16"),
                                         (float, "float64")])
def test_aliases(alias, name):
    assert F.float_format(alias).name == name


def test_torch_dtypes_are_understood():
    assert F.float_format(torch.bfloat16).name == "bfloat16"
    assert F.float_format(torch.float16).name == "float16"


def test_unknown_dtype_names_the_choices():
    with pytest.raises(ValueError, match="bfloat16"):
        F.float_format("float8")


# -- rounding -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, np_type", [("float16", np.float16), ("float32", np.float32)])
def test_round_to_matches_numpy_casts(name, np_type):
    fmt = F.finfo(name)
    x = np.concatenate([_wide(50_000, -50, 40), [0.0, -0.0, fmt.max, fmt.max * (1 + fmt.eps / 4),
                                                 fmt.max * (1 + fmt.eps / 2), fmt.smallest_subnormal / 2,
                                                 fmt.smallest_subnormal * 0.5000001, np.inf, -np.inf]])
    with np.errstate(over="ignore"):
        expected = x.astype(np_type).astype(np.float64)
    got = F.round_to(x, name)
    assert np.array_equal(got, expected)
    assert np.array_equal(np.signbit(got), np.signbit(expected))


def test_round_to_bfloat16_matches_torch_on_float32_inputs():
    x32 = np.concatenate([_wide(50_000, -45, 38.5), [3.39e38, 1e-40, 0.0, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8]])
    x32 = x32.astype(np.float32)
    expected = torch.from_numpy(x32).to(torch.bfloat16).float().numpy().astype(np.float64)
    assert np.array_equal(F.round_to(x32.astype(np.float64), "bfloat16"), expected)


def test_round_half_to_even():
    # 1 + eps/2 lies halfway between 1 and 1 + eps: ties go to the even neighbour (1)
    assert F.round_to(1 + 2.0 ** -11, "float16") == 1.0
    assert F.round_to(1 + 3 * 2.0 ** -11, "float16") == 1 + 2 * 2.0 ** -10


def test_round_to_keeps_nan_and_scalar_type():
    assert isinstance(F.round_to(0.1, "fp16"), float)
    assert math.isnan(F.round_to(float("nan"), "bf16"))
    assert F.round_to(np.array([[1.0]]), "fp16").shape == (1, 1)


def test_round_to_refuses_strings():
    with pytest.raises(TypeError, match="x must be"):
        F.round_to("1.0", "fp16")


# -- bfloat16 on the bits -----------------------------------------------------------------

def test_bfloat16_bits_match_torch():
    x32 = np.concatenate([_wide(50_000, -45, 38.5), [np.inf, -np.inf, 0.0, -0.0, 3.4e38]]).astype(np.float32)
    expected = torch.from_numpy(x32).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    assert np.array_equal(F.bfloat16_bits(x32), expected)


def test_bfloat16_truncation_rounds_toward_zero():
    x32 = _wide(10_000, -30, 30).astype(np.float32)
    t = F.to_bfloat16(x32, rounding="truncate")
    n = F.to_bfloat16(x32)
    assert np.all(np.abs(t) <= np.abs(x32))
    assert np.all(np.abs(n.astype(np.float64) - x32) <= np.abs(t.astype(np.float64) - x32))
    # truncation is sometimes worse than nearest (about half the time)
    assert 0.3 < np.mean(np.abs(t - x32) > np.abs(n - x32)) < 0.7


def test_bfloat16_nan_stays_nan():
    assert np.isnan(F.to_bfloat16(np.float32(np.nan)))
    with pytest.raises(ValueError, match="rounding"):
        F.bfloat16_bits(1.0, rounding="up")


# -- ulp, bits, describe ----------------------------------------------------------------------

@pytest.mark.parametrize("name, np_type", [("float16", np.float16), ("float32", np.float32),
                                           ("float64", np.float64)])
def test_ulp_matches_numpy_spacing(name, np_type):
    fmt = F.finfo(name)
    x = np.concatenate([_wide(5000, math.log10(fmt.smallest_subnormal) + 0.5, math.log10(fmt.max) - 0.5),
                        [0.0, 1.0, 2.0, fmt.tiny]])
    # of |x|: NumPy's float16 spacing of a negative power of two is the gap below it, not above
    ref = np.spacing(np.abs(x).astype(np_type)).astype(np.float64)
    assert np.array_equal(F.ulp(x, name), ref)
    assert np.array_equal(F.ulp(-x, name), ref)


def test_ulp_depends_on_the_exponent_not_only_eps():
    assert F.ulp(1.0, "fp16") == 2.0 ** -10
    assert F.ulp(1000.0, "fp16") == 0.5
    assert F.ulp(1000.0, "bf16") == 4.0
    assert F.ulp(1e-6, "fp16") == 2.0 ** -24            # subnormal: fixed spacing
    assert math.isnan(F.ulp(np.inf, "fp16"))


@pytest.mark.parametrize("value", [1.0, -2.5, 65504.0, 6.1e-5, 3e-7, 0.0, -0.0, 1e5, float("inf")])
def test_bit_fields_match_numpy_float16(value):
    with np.errstate(over="ignore"):
        raw = int(np.float16(value).view(np.uint16))
    expected = (raw >> 15, (raw >> 10) & 0x1F, raw & 0x3FF)
    assert F.bit_fields(value, "float16") == expected


def test_bit_string_of_bfloat16_matches_torch():
    for value in (1000.0, -3.1415926, 1e-39, 2.0 ** -130):
        t = torch.tensor(value, dtype=torch.float32).to(torch.bfloat16)
        raw = int(t.view(torch.int16).item()) & 0xFFFF
        assert F.bit_string(value, "bf16").replace(" ", "") == f"{raw:016b}"


def test_describe_classes():
    assert F.describe(1 + 1e-4, "fp16").value == 1.0
    assert F.describe(1e-9, "fp16").kind == "underflow"
    assert F.describe(1e-9, "fp16").rel_error == 1.0
    assert F.describe(1e-6, "fp16").kind == "subnormal"
    over = F.describe(7e4, "fp16")
    assert over.kind == "overflow" and over.rel_error == math.inf
    assert F.describe(7e4, "bf16").kind == "normal"
    assert F.describe(0.0, "fp32").kind == "zero"
    d = F.describe(0.1, "fp16")
    assert d.rel_error <= F.finfo("fp16").unit_roundoff
    assert d.abs_error <= d.ulp / 2


# -- sequential sums and products -----------------------------------------------------------

@pytest.mark.parametrize("name", ["float16", "float32"])
def test_generic_running_sum_matches_numpy(name, monkeypatch):
    values = RNG.uniform(0, 1e-2, 3000)
    native = F.running_sum(values, name)
    monkeypatch.setattr(F, "_NUMPY", {})                 # force the format-generic loop
    assert np.array_equal(F.running_sum(values, name), native)


def test_float16_running_sum_stalls():
    s = F.running_sum(np.full(10_000, 1e-4), "float16")
    assert s[-1] == 0.25                                   # ulp(0.25)/2 = 2^-13 > 1e-4: nothing adds any more
    assert abs(F.running_sum(np.full(10_000, 1e-4), "float32")[-1] - 1) < 1e-3


@pytest.mark.parametrize("name", ["float16", "float32"])
def test_generic_running_product_matches_numpy(name, monkeypatch):
    f = RNG.uniform(0.9, 1.1, (20, 200))
    native = F.running_product(f, name)
    monkeypatch.setattr(F, "_NUMPY", {})
    assert np.array_equal(F.running_product(f, name), native)


def test_running_product_error_within_the_standard_bound():
    f = np.exp(RNG.uniform(-0.1, 0.1, (200, 512))).astype(np.float32).astype(np.float64)
    exact = np.cumprod(f, axis=-1)
    rel = np.abs(F.running_product(f, "float32") / exact - 1)
    L = np.arange(1, 513)
    assert np.all(rel <= L * 2.0 ** -24)                 # L−1 roundings, each ≤ u
    assert rel[:, -1].max() > 0
