"""Loss scalers (backprop_lib/train/loss_scaling.py) against torch.amp.GradScaler."""

import numpy as np
import pytest

import backprop_lib as bp
from backprop_lib.nn.module import Parameter
from backprop_lib.train.loss_scaling import (
    DynamicLossScaler,
    StaticLossScaler,
    cast_gradients,
    has_inf_or_nan,
    scale_update,
)

torch = pytest.importorskip("torch")

# a scripted run: True = this step's gradients overflow
SCRIPT = [False] * 7 + [True] + [False] * 3 + [True, True] + [False] * 10 + [True] + [False] * 5


def test_defaults_are_torch_gradscaler_defaults():
    ours, ref = DynamicLossScaler(), torch.amp.GradScaler("cpu")
    assert ours.get_scale() == ref.get_scale() == 65536.0
    assert ours.get_growth_factor() == ref.get_growth_factor() == 2.0
    assert ours.get_backoff_factor() == ref.get_backoff_factor() == 0.5
    assert ours.get_growth_interval() == ref.get_growth_interval() == 2000


X = [0.3, -0.2, 0.7]


def _torch_run(script, init_scale, growth_interval, lr=0.1, x=X):
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    x = torch.tensor(x)
    opt = torch.optim.SGD([w], lr=lr)
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=growth_interval)
    scales, weights = [], []
    for overflow in script:
        opt.zero_grad()
        loss = (w * x).sum() ** 2
        scaler.scale(loss).backward()
        if overflow:
            with torch.no_grad():
                w.grad[1] = float("inf")
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
        weights.append(w.detach().numpy().copy())
    return scales, np.array(weights)


def _bp_run(script, init_scale, growth_interval, lr=0.1, x=X):
    w = Parameter(np.array([1.0, -2.0, 0.5], dtype=np.float32))
    x = np.array(x, dtype=np.float32)
    opt = bp.optim.SGD([w], lr=lr)
    scaler = DynamicLossScaler(init_scale=init_scale, growth_interval=growth_interval)
    scales, weights, taken = [], [], []
    for overflow in script:
        opt.zero_grad()
        z = np.float32(w.data @ x)
        w.grad = np.float32(scaler.scale(2 * z)) * x       # d(s·(w·x)²)/dw
        if overflow:
            w.grad[1] = np.inf
        taken.append(scaler.step(opt))
        scaler.update()
        scales.append(scaler.get_scale())
        weights.append(w.data.copy())
    return scales, np.array(weights), taken


@pytest.mark.parametrize("init_scale, interval", [(2.0 ** 16, 3), (1024.0, 1), (8.0, 5)])
def test_same_schedule_and_weights_as_torch(init_scale, interval):
    t_scales, t_w = _torch_run(SCRIPT, init_scale, interval)
    b_scales, b_w, taken = _bp_run(SCRIPT, init_scale, interval)
    assert b_scales == t_scales
    np.testing.assert_allclose(b_w, t_w, rtol=1e-5, atol=1e-6)
    assert taken == [not o for o in SCRIPT]                # overflow steps are skipped


def test_growth_stops_where_float32_overflows_like_torch():
    script, tiny_x = [False] * 4, [1e-3, 2e-3, -1e-3]       # keep s·g finite near float32's max
    t_scales, _ = _torch_run(script, 2.0 ** 125, 1, lr=1e-30, x=tiny_x)
    b_scales, _, _ = _bp_run(script, 2.0 ** 125, 1, lr=1e-30, x=tiny_x)
    assert b_scales == t_scales == [2.0 ** 126, 2.0 ** 127, 2.0 ** 127, 2.0 ** 127]


def test_scale_update_rules():
    assert scale_update(1024.0, 5, True) == (512.0, 0)                  # backoff, reset
    assert scale_update(1024.0, 1998, False) == (1024.0, 1999)          # count
    assert scale_update(1024.0, 1999, False) == (2048.0, 0)             # grow after 2000 clean steps
    assert scale_update(8.0, 0, False, growth_interval=1, growth_factor=4.0) == (32.0, 0)


def test_update_without_a_check_is_an_error():
    with pytest.raises(ValueError, match="found_inf"):
        DynamicLossScaler().update()
    s = DynamicLossScaler(growth_interval=1)
    s.update(found_inf=False)
    assert s.get_scale() == 2.0 ** 17


def test_unscale_divides_and_detects():
    p = Parameter(np.ones(3, dtype=np.float32))
    p.grad = np.array([1024.0, 2048.0, -512.0], dtype=np.float32)
    s = StaticLossScaler(1024.0)
    assert s.unscale_([p]) is False
    np.testing.assert_array_equal(p.grad, [1.0, 2.0, -0.5])
    assert p.grad.dtype == np.float32
    with pytest.raises(RuntimeError, match="already"):
        s.unscale_([p])
    s.update()
    p.grad[0] = np.nan
    assert s.unscale_([p]) is True


def test_static_scaler_skips_but_keeps_its_scale():
    p = Parameter(np.ones(2))
    opt = bp.optim.SGD([p], lr=1.0)
    s = StaticLossScaler(4.0)
    p.grad = np.array([np.inf, 4.0])
    assert s.step(opt) is False
    s.update()
    np.testing.assert_array_equal(p.data, [1.0, 1.0])
    p.grad = np.array([4.0, 8.0])
    assert s.step(opt) is True
    s.update()
    np.testing.assert_array_equal(p.data, [0.0, -1.0])
    assert s.get_scale() == 4.0 and s.steps_skipped == 1


def test_bad_settings():
    with pytest.raises(ValueError, match="backoff_factor"):
        DynamicLossScaler(backoff_factor=1.5)
    with pytest.raises(ValueError, match="init_scale"):
        StaticLossScaler(0.0)
    with pytest.raises(TypeError, match="optimizer"):
        StaticLossScaler().unscale_([np.ones(2)])


def test_has_inf_or_nan():
    assert not has_inf_or_nan([np.ones(2), None])
    assert has_inf_or_nan([np.ones(2), np.array([np.nan])])


def test_cast_gradients_underflow_and_scaling():
    rng = np.random.default_rng(0)
    g = 10.0 ** rng.uniform(-10, -2, 20_000)
    plain = cast_gradients(g, "float16")
    expected_zero = np.mean(g < 2.0 ** -25)                # below half the smallest subnormal
    assert abs(plain.zero_fraction - expected_zero) < 2e-3
    scaled = cast_gradients(g, "float16", scale=2.0 ** 16)
    assert scaled.zero_fraction == 0 and scaled.inf_fraction == 0
    assert scaled.median_rel_error <= 2.0 ** -11
    over = cast_gradients(g, "float16", scale=2.0 ** 24)
    assert over.inf_fraction == pytest.approx(np.mean(g * 2.0 ** 24 >= 65520), abs=1e-12)
    assert cast_gradients(g, "bfloat16").zero_fraction == 0


def test_cast_gradients_refuses_zeros():
    with pytest.raises(ValueError, match="nonzero"):
        cast_gradients(np.array([0.0, 1.0]))
