"""Floating-point formats: what a float16, bfloat16, float32 or float64 number can hold.

A normal binary float is $(-1)^s\\,1.f\\cdot2^{e-b}$: a sign bit, an exponent field $e$ with
bias $b = 2^{E-1}-1$ (E exponent bits) and $m$ stored fraction bits $f$. Hence

* machine epsilon ``eps = 2**-m`` (the gap between 1 and the next float), unit roundoff
  ``u = eps / 2`` (the largest relative error of rounding to nearest);
* largest finite ``max = (2 − 2**-m)·2**b``; smallest normal ``tiny = 2**(1−b)``; below it,
  subnormals with the fixed spacing ``2**(1−b−m)`` down to zero;
* the spacing (ulp) of the floats near x is ``2**(floor(log2|x|) − m)``: it grows with |x|,
  which is why ``1 + 1e-4 == 1`` in float16 while ``1e-4`` itself is representable.

NumPy has float16/32/64 but no bfloat16, so rounding is done here for any format directly
from float64 (round half to even, with overflow to ±inf and gradual underflow), and bfloat16
also the way hardware does it, on the bits of a float32.

    bp.autodiff.round_to(1 + 1e-4, "float16")       # 1.0
    bp.autodiff.ulp(1000.0, "bfloat16")             # 4.0
    bp.autodiff.describe(1e-9, "float16").kind      # 'underflow'
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format: ``exponent_bits`` E and stored ``mantissa_bits`` m."""

    name: str
    exponent_bits: int
    mantissa_bits: int

    @property
    def bits(self) -> int:
        return 1 + self.exponent_bits + self.mantissa_bits

    @property
    def bias(self) -> int:
        return 2 ** (self.exponent_bits - 1) - 1

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal number."""
        return 1 - self.bias

    @property
    def eps(self) -> float:
        """Gap between 1 and the next float: 2**-m."""
        return 2.0 ** -self.mantissa_bits

    @property
    def unit_roundoff(self) -> float:
        """u = eps/2: rounding to nearest changes a number by at most this relative amount."""
        return self.eps / 2

    @property
    def max(self) -> float:
        return (2.0 - self.eps) * 2.0 ** self.bias

    @property
    def tiny(self) -> float:
        """Smallest positive normal number."""
        return 2.0 ** self.emin

    @property
    def smallest_subnormal(self) -> float:
        return 2.0 ** (self.emin - self.mantissa_bits)


FORMATS = {
    "float16": FloatFormat("float16", 5, 10),
    "bfloat16": FloatFormat("bfloat16", 8, 7),
    "float32": FloatFormat("float32", 8, 23),
    "float64": FloatFormat("float64", 11, 52),
}
_ALIASES = {"fp16": "float16", "half": "float16", "bf16": "bfloat16", "fp32": "float32",
            "single": "float32", "float": "float32", "fp64": "float64", "double": "float64"}


def float_format(dtype) -> FloatFormat:
    """The ``FloatFormat`` of ``dtype``: a name ("float16", "bf16", ...), a NumPy dtype or type,
    a ``torch.dtype`` or a ``FloatFormat``."""
    if isinstance(dtype, FloatFormat):
        return dtype
    if dtype is float:
        dtype = "float64"
    if isinstance(dtype, str):
        name = dtype
    elif (isinstance(dtype, type) and issubclass(dtype, np.generic)) or isinstance(dtype, np.dtype):
        name = np.dtype(dtype).name
    else:
        name = str(dtype)                      # torch.bfloat16 -> "torch.bfloat16"
    name = name.lower().removeprefix("torch.")
    name = _ALIASES.get(name, name)
    if name not in FORMATS:
        raise ValueError(f"dtype must be one of {sorted(FORMATS)} (or an alias such as 'fp16', 'bf16'); "
                         f"got {dtype!r}.")
    return FORMATS[name]


def finfo(dtype) -> FloatFormat:
    """Like ``np.finfo``, for float16, bfloat16, float32 and float64 (``.eps``, ``.max``, ``.tiny``)."""
    return float_format(dtype)


def _as_float64(x, name: str = "x") -> np.ndarray:
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.ndarray, list, tuple, np.generic)):
        raise TypeError(f"{name} must be a real number or an array of them; got {type(x).__name__}.")
    return np.asarray(x, dtype=np.float64)


def _result(arr: np.ndarray, like):
    return float(arr) if np.ndim(like) == 0 else arr


def _floor_log2(x: np.ndarray) -> np.ndarray:
    """floor(log2|x|) exactly, from the exponent np.frexp returns (x = f·2^e, ½ ≤ |f| < 1)."""
    return np.frexp(x)[1] - 1


def round_to(x, dtype):
    """The float of format ``dtype`` nearest to ``x`` (round half to even), as float64.

    Beyond ``max`` (by half an ulp or more) the result is ±inf; below ``tiny`` the spacing
    stays at the subnormal step, so small values lose digits and finally round to 0.
    x: scalar or array; returns a float or an array of the same shape.
    """
    fmt = float_format(dtype)
    arr = _as_float64(x)
    if fmt.name == "float64":
        return _result(arr.copy(), x)
    with np.errstate(all="ignore"):
        exponent = np.maximum(_floor_log2(arr), fmt.emin)          # subnormals: fixed spacing
        q = np.ldexp(1.0, exponent - fmt.mantissa_bits)             # ulp at x (a power of 2)
        r = np.round(arr / q) * q                                   # exact scaling; np.round is half-even
        r = np.where(np.abs(r) > fmt.max, np.copysign(np.inf, arr), r)
        r = np.where(np.isfinite(arr), r, arr)
    return _result(r, x)


def ulp(x, dtype):
    """Spacing of the floats of ``dtype`` at ``x`` (after rounding x to dtype): the gap between
    neighbours in the binade of x, ``2**(max(floor(log2|x|), emin) − m)`` (as ``np.spacing``,
    except at ``max``, whose next neighbour is inf). Subnormals and 0: the smallest subnormal.
    NaN for inf/NaN."""
    fmt = float_format(dtype)
    r = np.asarray(round_to(x, fmt), dtype=np.float64)
    with np.errstate(all="ignore"):
        exponent = np.where(r == 0, fmt.emin, np.maximum(_floor_log2(r), fmt.emin))
        out = np.ldexp(1.0, exponent - fmt.mantissa_bits)
    out = np.where(np.isfinite(r), out, np.nan)
    return _result(out, x)


def bit_fields(x, dtype) -> tuple[int, int, int]:
    """``(sign, exponent field, fraction field)`` of the float of ``dtype`` nearest to scalar x."""
    fmt = float_format(dtype)
    r = float(round_to(float(_as_float64(x)), fmt))
    sign = int(math.copysign(1.0, r) < 0)
    top = 2 ** fmt.exponent_bits - 1
    if math.isnan(r):
        return sign, top, 1 << (fmt.mantissa_bits - 1)
    if math.isinf(r):
        return sign, top, 0
    a = abs(r)
    if a < fmt.tiny:                                                # zero or subnormal: field 0
        return sign, 0, int(a / fmt.smallest_subnormal)
    e = math.frexp(a)[1] - 1
    return sign, e + fmt.bias, int((a / 2.0 ** e - 1.0) * 2 ** fmt.mantissa_bits)


def bit_string(x, dtype) -> str:
    """The bits of the nearest float as ``"sign exponent fraction"``, e.g. ``"0 01111 0000000000"``."""
    fmt = float_format(dtype)
    s, e, f = bit_fields(x, fmt)
    return f"{s} {e:0{fmt.exponent_bits}b} {f:0{fmt.mantissa_bits}b}"


@dataclass(frozen=True)
class FloatValue:
    """What storing ``x`` in ``dtype`` does: ``value`` (the nearest float), ``ulp`` there,
    ``abs_error``/``rel_error`` (inf on overflow, rel_error 1 on underflow to zero, NaN for an
    infinite or NaN x), ``kind`` ("normal", "subnormal", "zero", "underflow" (a nonzero x became
    0), "overflow", "inf", "nan") and ``bits``."""

    x: float
    dtype: str
    value: float
    ulp: float
    abs_error: float
    rel_error: float
    kind: str
    bits: str


def describe(x, dtype) -> FloatValue:
    """Round the scalar ``x`` to ``dtype`` and report the result, its spacing, error and class."""
    fmt = float_format(dtype)
    x = float(_as_float64(x))
    v = float(round_to(x, fmt))
    if not math.isfinite(x):                                        # inf stays inf, NaN stays NaN
        kind, abs_error, rel_error = ("nan" if math.isnan(x) else "inf"), math.nan, math.nan
    elif math.isinf(v):
        kind, abs_error, rel_error = "overflow", math.inf, math.inf
    else:
        abs_error = abs(v - x)
        rel_error = abs_error / abs(x) if x != 0 else 0.0
        if v == 0:
            kind = "zero" if x == 0 else "underflow"
        else:
            kind = "subnormal" if abs(v) < fmt.tiny else "normal"
    return FloatValue(x, fmt.name, v, float(ulp(x, fmt)), abs_error, rel_error, kind, bit_string(x, fmt))


# -- bfloat16 on the bits of a float32 ---------------------------------------------------------

def bfloat16_bits(x, rounding: str = "nearest") -> np.ndarray:
    """The 16 bits of bfloat16(x) as uint16: the top half of the float32 bits of x.

    ``rounding="truncate"`` drops the low 16 bits (round toward zero); ``"nearest"`` first adds
    0x7FFF plus the lowest kept bit (round half to even, carrying into the exponent). NaN stays
    a (quiet) NaN. x: float32 scalar or array (float64 is rounded to float32 first).
    """
    if rounding not in ("nearest", "truncate"):
        raise ValueError(f"rounding must be 'nearest' or 'truncate'; got {rounding!r}.")
    x32 = np.asarray(x, dtype=np.float32)
    bits = x32.view(np.uint32).astype(np.uint64)
    if rounding == "nearest":
        bits = bits + 0x7FFF + ((bits >> 16) & 1)
    top = ((bits >> 16) & 0xFFFF).astype(np.uint16)
    nan_bits = ((x32.view(np.uint32) >> 16) & 0x8000).astype(np.uint16) | np.uint16(0x7FC0)
    return np.where(np.isnan(x32), nan_bits, top)


def from_bfloat16_bits(bits) -> np.ndarray:
    """float32 values of bfloat16 bit patterns (uint16): shift them into the top half."""
    b = np.asarray(bits, dtype=np.uint16)
    return (b.astype(np.uint32) << 16).view(np.float32)


def to_bfloat16(x, rounding: str = "nearest") -> np.ndarray:
    """x rounded to bfloat16 (by its float32 bits), returned as float32."""
    return from_bfloat16_bits(bfloat16_bits(x, rounding))


# -- sequential arithmetic, rounding after every operation --------------------------------------

_NUMPY = {"float16": np.float16, "float32": np.float32, "float64": np.float64}


def _round_scalar(v: float, fmt: FloatFormat) -> float:
    """round_to for one Python float (fast path for loops)."""
    if not math.isfinite(v) or v == 0:
        return v
    q = 2.0 ** (max(math.frexp(v)[1] - 1, fmt.emin) - fmt.mantissa_bits)
    r = round(v / q) * q                                            # round() is half-to-even
    return math.copysign(math.inf, v) if abs(r) > fmt.max else r


def running_sum(values, dtype) -> np.ndarray:
    """Partial sums s_k = fl(s_{k−1} + fl(v_k)), every value and partial sum rounded to
    ``dtype``, in order (no pairwise summation). values: (n,); returns (n,) float64."""
    fmt = float_format(dtype)
    v = _as_float64(values, "values").ravel()
    if fmt.name in _NUMPY:
        return np.add.accumulate(v.astype(_NUMPY[fmt.name])).astype(np.float64)
    out, s = np.empty(v.size), 0.0
    for i, term in enumerate(round_to(v, fmt)):
        s = _round_scalar(s + float(term), fmt)
        out[i] = s
    return out


def running_product(factors, dtype) -> np.ndarray:
    """Partial products along the last axis, each rounded to ``dtype`` (the factors too).
    factors: (..., L); returns (..., L) float64."""
    fmt = float_format(dtype)
    f = _as_float64(factors, "factors")
    if fmt.name in _NUMPY:
        return np.multiply.accumulate(f.astype(_NUMPY[fmt.name]), axis=-1).astype(np.float64)
    f = round_to(f, fmt)
    out = np.empty_like(f)
    out[..., 0] = f[..., 0]
    for k in range(1, f.shape[-1]):
        out[..., k] = round_to(out[..., k - 1] * f[..., k], fmt)
    return out
