"""Claim checks: the course states a claim, measures it, and says visibly whether it held.

    bp.claims.check("σ′(z) never exceeds 1/4", measured=slope_max, criterion="≤ 0.25",
                    holds=slope_max <= 0.25)

prints ``CLAIM σ′(z) never exceeds 1/4 | measured 0.25 | criterion ≤ 0.25 | HOLDS`` and
raises ``AssertionError`` when the claim fails, so running the notebook (nbval) tests it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClaimResult:
    statement: str
    measured: str
    criterion: str
    holds: bool

    def __str__(self):
        verdict = "HOLDS" if self.holds else "FAILS"
        return f"CLAIM {self.statement} | measured {self.measured} | criterion {self.criterion} | {verdict}"


def _fmt(value) -> str:
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.ndim == 0 and np.issubdtype(arr.dtype, np.number):
        return f"{float(arr):.4g}"
    return np.array2string(arr, precision=4, threshold=8)


def check(statement: str, *, measured, criterion: str, holds, raise_on_fail: bool = True) -> ClaimResult:
    """Print the claim, what was measured, the pass criterion and the verdict.

    ``holds`` is the outcome of comparing the measurement with the criterion (a bool);
    a failing claim raises ``AssertionError`` unless ``raise_on_fail=False``.
    """
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(f"holds must be a bool (the result of the comparison); got {type(holds).__name__}.")
    result = ClaimResult(statement, _fmt(measured), criterion, bool(holds))
    print(result)
    if raise_on_fail and not result.holds:
        raise AssertionError(str(result))
    return result
