"""Optimizers, learning-rate schedules and gradient clipping, named as in ``torch.optim``.

    opt = bp.optim.Adam(net.parameters(), lr=1e-3)
    sched = bp.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    opt.zero_grad(); loss = loss_fn(net(x), y); net.backward(loss_fn.backward())
    bp.optim.clip_grad_norm_(net.parameters(), max_norm=1.0)
    opt.step(); sched.step()
"""

from backprop_lib.optim import curvature, landscape, lr_scheduler, second_order, surfaces
from backprop_lib.optim.adagrad import AdaGrad, Adagrad
from backprop_lib.optim.adam import Adam, AdamW
from backprop_lib.optim.clip import clip_grad_norm_, clip_grad_value_
from backprop_lib.optim.optimizer import Optimizer
from backprop_lib.optim.rmsprop import RMSprop
from backprop_lib.optim.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "AdaGrad", "Adagrad", "RMSprop", "Adam", "AdamW",
    "lr_scheduler", "clip_grad_norm_", "clip_grad_value_",
]
__all__ += ["surfaces", "curvature", "landscape"]
__all__ += ["second_order"]
