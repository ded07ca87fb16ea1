"""Checkers for notebook 17 (numerical precision).

* ``17.ulp``: ``ulp(x, dtype)``, the spacing of the floats of a NumPy dtype near x,
  2**floor(log2|x|)·eps; caught: eps alone (no exponent), eps·|x| (not a power of two),
  half the spacing (the rounding error bound), ceil instead of floor;
* ``17.scale_update``: ``dynamic_update(scale, good_steps, found_inf, growth_interval=2000)``
  → ``(new_scale, new_good_steps, take_step)``, the rule of ``DynamicLossScaler.update`` (as
  torch.amp.GradScaler); caught: no skip on overflow, no growth, no backoff, the count of
  clean steps not reset (after an overflow or after growing), growing one step late;
* ``17.wide_range_dtype``: float16 or bfloat16 for values from 1e-9 to 1e6 → bfloat16 (float16
  turns 1e-9 into 0 and 1e6 into inf).
"""

from __future__ import annotations

import math

import numpy as np

from ..autodiff.floats import float_format
from ..autodiff.floats import ulp as _ulp
from ..train.loss_scaling import scale_update
from .core import Incorrect, NotAttempted, as_number, exercise, require, require_callable

# -- 17.ulp -------------------------------------------------------------------------------

# normal numbers of each dtype, none within rounding distance of a power of two
_ULP_CASES = [(1.0, np.float16), (3.0, np.float16), (0.1, np.float16), (1000.0, np.float16),
              (-5.5, np.float16), (40000.0, np.float16), (1e-3, np.float16), (1.0, np.float32),
              (1e6, np.float32), (-1e-30, np.float32), (1 / 3, np.float32), (1e100, np.float64),
              (2.0 ** -10, np.float64), (12345.678, np.float64)]


def _ulp_ref(x, dtype):
    return 2.0 ** math.floor(math.log2(abs(x))) * float(np.finfo(dtype).eps)   # 2^e · eps


def _ulp_spacing(x, dtype):
    return float(np.spacing(dtype(abs(x))))


def _ulp_library(x, dtype):
    return _ulp(x, dtype)


def _wrong_eps(x, dtype):
    return float(np.finfo(dtype).eps)


def _wrong_eps_times_x(x, dtype):
    return float(np.finfo(dtype).eps) * abs(x)


def _wrong_half(x, dtype):
    return _ulp_ref(x, dtype) / 2


def _wrong_ceil(x, dtype):
    return 2.0 ** math.ceil(math.log2(abs(x))) * float(np.finfo(dtype).eps)


@exercise(
    "17.ulp", "ulp(x, dtype): the spacing of floats near x",
    right=[_ulp_ref, _ulp_spacing, _ulp_library],
    wrong={"eps without the exponent": _wrong_eps, "eps·|x|": _wrong_eps_times_x,
           "half the spacing": _wrong_half, "ceil instead of floor": _wrong_ceil},
    success="ulp(x) = 2^floor(log2|x|)·eps: the gap between floats doubles with every power of two.",
)
def _check_ulp(answer):
    require_callable(answer, "ulp")
    got = {}
    for x, dtype in _ULP_CASES:
        got[x, dtype] = as_number(answer(x, dtype), f"ulp({x}, np.{dtype.__name__})")
    eps16 = float(np.finfo(np.float16).eps)
    if got[1000.0, np.float16] == got[1.0, np.float16] == eps16:
        raise Incorrect(
            f"ulp(1000.0, np.float16) = ulp(1.0, np.float16) = {eps16:g}: your spacing does not depend on x. "
            "eps is the spacing at 1 only; near 1000 float16 numbers are 0.5 apart.",
            "Scale eps by the power of two of x: 2**floor(log2|x|) * np.finfo(dtype).eps.")
    for (x, dtype), value in got.items():
        ref = _ulp_ref(x, dtype)
        if value == ref:
            continue
        where = f"ulp({x}, np.{dtype.__name__}) = {value:.6g}; expected {ref:.6g}"
        if value > 0 and math.log2(value) != round(math.log2(value)):
            raise Incorrect(f"{where}. The spacing of binary floats is always a power of two "
                            "(eps·|x| is only its rough size).",
                            "All floats in [2^e, 2^(e+1)) are 2^e·eps apart: use floor(log2|x|).")
        if math.isclose(value, ref / 2):
            raise Incorrect(f"{where}: half the spacing, which is the largest rounding error, not the gap.",
                            "ulp is the distance between neighbouring floats; rounding moves x by at most "
                            "ulp/2.")
        if math.isclose(value, 2 * ref):
            raise Incorrect(f"{where}: twice the spacing. For x in [2^e, 2^(e+1)) the exponent is e, "
                            "the power of two below |x|.", "Round log2|x| down (floor), not up.")
        raise Incorrect(f"{where}.", "ulp(x) = 2**floor(log2|x|) * np.finfo(dtype).eps for normal x.")


# -- 17.scale_update -----------------------------------------------------------------------

_SCRIPT = [False] * 7 + [True] + [False] * 3 + [True, True] + [False] * 8   # True = overflow


def _update_ref(scale, good_steps, found_inf, growth_interval=2000):
    if found_inf:
        return scale * 0.5, 0, False                           # back off, start counting again, skip
    good_steps += 1
    if good_steps == growth_interval:
        return scale * 2.0, 0, True                            # grow after growth_interval clean steps
    return scale, good_steps, True


def _update_library(scale, good_steps, found_inf, growth_interval=2000):
    new_scale, count = scale_update(scale, good_steps, found_inf, growth_interval=growth_interval)
    return new_scale, count, not found_inf


def _wrong_no_skip(scale, good_steps, found_inf, growth_interval=2000):
    new_scale, count, _ = _update_ref(scale, good_steps, found_inf, growth_interval)
    return new_scale, count, True


def _wrong_no_growth(scale, good_steps, found_inf, growth_interval=2000):
    if found_inf:
        return scale * 0.5, 0, False
    return scale, good_steps + 1, True


def _wrong_no_backoff(scale, good_steps, found_inf, growth_interval=2000):
    new_scale, count, step = _update_ref(scale, good_steps, found_inf, growth_interval)
    return (scale if found_inf else new_scale), count, step


def _wrong_no_reset_on_inf(scale, good_steps, found_inf, growth_interval=2000):
    if found_inf:
        return scale * 0.5, good_steps, False
    return _update_ref(scale, good_steps, False, growth_interval)


def _wrong_no_reset_on_growth(scale, good_steps, found_inf, growth_interval=2000):
    if found_inf:
        return scale * 0.5, 0, False
    good_steps += 1
    return (scale * 2.0 if good_steps >= growth_interval else scale), good_steps, True


def _wrong_late(scale, good_steps, found_inf, growth_interval=2000):
    if found_inf:
        return scale * 0.5, 0, False
    if good_steps == growth_interval:
        return scale * 2.0, 0, True
    return scale, good_steps + 1, True


def _run(update, script, growth_interval, scale=2.0 ** 16):
    trace, count = [], 0
    for step, overflow in enumerate(script):
        got = update(scale, count, overflow, growth_interval=growth_interval)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise Incorrect("dynamic_update should return (new_scale, new_good_steps, take_step); "
                            f"got {got!r}.", "Return a tuple of three values.")
        scale, count, take = float(got[0]), int(got[1]), bool(got[2])
        trace.append((step, overflow, scale, count, take))
    return trace


@exercise(
    "17.scale_update", "DynamicLossScaler.update: the loss-scale schedule",
    right=[_update_ref, _update_library],
    wrong={"no skip on overflow": _wrong_no_skip, "no growth": _wrong_no_growth,
           "no backoff": _wrong_no_backoff, "count not reset after an overflow": _wrong_no_reset_on_inf,
           "count not reset after growing": _wrong_no_reset_on_growth, "grows one step late": _wrong_late},
    success="Overflow: skip the step and halve s; every growth_interval clean steps in a row: double s.",
)
def _check_scale_update(answer):
    require_callable(answer, "dynamic_update")
    mine, ref = _run(answer, _SCRIPT, 3), _run(_update_ref, _SCRIPT, 3)
    for (step, overflow, s, c, take), (_, _, s_ref, c_ref, take_ref) in zip(mine, ref, strict=True):
        what = f"with growth_interval=3, at step {step} ({'overflow' if overflow else 'clean'}) "
        if take != take_ref:
            raise Incorrect(what + f"you return take_step={take}.",
                            "A step whose gradients hold inf/NaN must be skipped: applying it would write "
                            "inf/NaN into the weights." if overflow else
                            "Clean steps are taken.")
        if s != s_ref:
            hint = ("On overflow the scale is multiplied by the backoff factor 0.5." if overflow else
                    "Count clean steps in a row; when the count reaches growth_interval, double the "
                    "scale and start counting from 0 (an overflow also resets the count).")
            raise Incorrect(what + f"your scale is {s:g}; expected {s_ref:g}.", hint)
        require(c == c_ref, what + f"your count of clean steps is {c}; expected {c_ref}.",
                "The count restarts at 0 after an overflow and after each growth.")
    # torch's default: 2000 clean steps before the first growth
    long = _run(answer, [False] * 4001, 2000)
    require(long[1998][2] == 2.0 ** 16 and long[1999][2] == 2.0 ** 17 and long[3999][2] == 2.0 ** 18,
            "with the default growth_interval=2000 the scale should double after the 2000th and the "
            "4000th clean step.", "Use the growth_interval argument, not a fixed number.")


# -- 17.wide_range_dtype -------------------------------------------------------------------

@exercise(
    "17.wide_range_dtype", "A 16-bit format for values from 1e-9 to 1e6",
    right=["bfloat16", "bf16", "BFloat16"],
    wrong={"float16": "float16", "fp16": "fp16", "not 16 bits": "float32", "not a format": "int8"},
    success="bfloat16 has float32's 8 exponent bits: range 1e-38…3e38, at 2–3 significant digits.",
)
def _check_wide_range(answer):
    if answer is None or answer is Ellipsis:
        raise NotAttempted
    try:
        fmt = float_format(answer)
    except ValueError as err:
        raise Incorrect(f"{answer!r} is not one of the formats; answer 'float16' or 'bfloat16'.") from err
    if fmt.name == "float16":
        raise Incorrect("in float16, 1e6 overflows to inf (max 65504) and 1e-9 rounds to 0 (below 3e-8).",
                        "Compare np.finfo-style ranges: float16 has 5 exponent bits, bfloat16 has 8.")
    require(fmt.name == "bfloat16",
            f"{fmt.name} is not a 16-bit format; the question is float16 or bfloat16.",
            "Which of the two 16-bit formats has the wider exponent range?")
