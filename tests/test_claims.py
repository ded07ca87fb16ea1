import numpy as np
import pytest

import backprop_lib as bp


def test_holding_claim_prints_holds(capsys):
    r = bp.claims.check("1 + 1 is 2", measured=2.0, criterion="== 2 ± 1e-12", holds=abs(2.0 - 2) < 1e-12)
    out = capsys.readouterr().out
    assert r.holds and out.startswith("CLAIM 1 + 1 is 2 | measured 2 |") and out.strip().endswith("HOLDS")


def test_failing_claim_raises_and_says_fails(capsys):
    with pytest.raises(AssertionError, match="FAILS"):
        bp.claims.check("pi is 3", measured=np.pi, criterion="|x - 3| < 0.01", holds=abs(np.pi - 3) < 0.01)
    assert "FAILS" in capsys.readouterr().out


def test_failing_claim_can_be_shown_without_raising():
    r = bp.claims.check("x", measured=[1, 2], criterion="c", holds=False, raise_on_fail=False)
    assert not r.holds and "[1 2]" in str(r)


def test_holds_must_be_a_bool():
    with pytest.raises(TypeError, match="holds must be a bool"):
        bp.claims.check("x", measured=1, criterion="c", holds=1.0)
