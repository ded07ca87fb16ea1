"""backprop_lib/_validate.py: the argument checks every layer and explorer shares."""

import numpy as np
import pytest

from backprop_lib._validate import check_bool


@pytest.mark.parametrize("value", [True, False, np.bool_(True), np.bool_(False)])
def test_check_bool_accepts_booleans_and_returns_a_python_bool(value):
    got = check_bool(value, "flag")
    assert type(got) is bool and got == bool(value)


@pytest.mark.parametrize("value", [1, 0, "yes", None, 1.0])
def test_check_bool_refuses_look_alikes_by_name(value):
    with pytest.raises(TypeError, match=r"flag must be True or False; got .* \("):
        check_bool(value, "flag")
