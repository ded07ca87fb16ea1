"""One training loop that records a ``History``.

    hist = bp.train.fit(net, loss_fn, (x, y), opt, epochs=20, batch_size=32, val_data=(xv, yv))
    hist.loss, hist.val_acc, hist.diverged_at, print(hist.summary())
    loss, acc = bp.train.evaluate(net, loss_fn, (x_test, y_test))
    logits = bp.train.predict(net, x_test)
"""

from . import alternatives, async_sgd, ddp_worker, parallel, pipeline  # 25: FA, DFA, FGSM; 24: scaling out
from .batches import minibatches
from .early_stopping import EarlyStopResult, fit_early_stopping
from .history import History
from .loop import fit
from .loss_scaling import DynamicLossScaler, GradientCast, StaticLossScaler, cast_gradients, scale_update
from .metrics import accuracy, evaluate, predict
from .noise import GradientNoise, flat_gradient, gradient_noise
from .random_features import RandomReLUFeatures, double_descent, gd_limit, min_norm_fit, ridge_fit
from .regularization import add_l2_grad_, l2_penalty, with_dropout

__all__ = ["fit", "History", "evaluate", "predict", "accuracy", "minibatches"]
__all__ += ["gradient_noise", "GradientNoise", "flat_gradient"]
__all__ += ["l2_penalty", "add_l2_grad_", "with_dropout"]
__all__ += ["StaticLossScaler", "DynamicLossScaler", "scale_update", "cast_gradients", "GradientCast"]
__all__ += ["RandomReLUFeatures", "min_norm_fit", "ridge_fit", "gd_limit", "double_descent"]
__all__ += ["fit_early_stopping", "EarlyStopResult"]
__all__ += ["alternatives"]
__all__ += ["parallel", "async_sgd", "pipeline", "ddp_worker"]
