"""Checkers for notebook 03 (loss functions).

* ``03.softmax_ce_grad``: the gradient of the mean softmax cross-entropy with respect to the
  logits, (softmax(z) − onehot(y)) / B, finite for logits of size 1000;
* ``03.bce_with_logits``: the mean binary cross-entropy computed from logits without ever
  taking log(σ(z)) (which is −inf once σ(z) underflows, e.g. at z = −800);
* ``03.loss_for_task``: which loss for which task (a dict task → loss name).
"""

from __future__ import annotations

import warnings

import numpy as np

from .core import Incorrect, NotAttempted, exercise, require, require_callable, require_close


def _call_strict(fn, args, what, hint):
    """Call the learner's function with overflow / invalid / divide-by-zero raising."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            try:
                return fn(*(np.array(a, copy=True) for a in args))
            except (FloatingPointError, RuntimeWarning) as err:
                raise Incorrect(f"{what} triggers a floating-point warning ({err}).", hint) from err


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))    # shift by the row max: e ≤ 1, no overflow
    return e / e.sum(axis=1, keepdims=True)


def _onehot(labels, classes):
    return np.eye(classes)[labels]


# -- 03.softmax_ce_grad ----------------------------------------------------------------

def _ce_grad_ref(logits, labels):
    p = _softmax(logits)
    p[np.arange(len(labels)), labels] -= 1.0        # p − onehot(y)
    return p / len(labels)                          # mean over the batch


def _ce_grad_onehot(logits, labels):
    B, C = logits.shape
    return (_softmax(logits) - np.eye(C)[labels]) / B


def _wrong_no_mean(logits, labels):
    return _ce_grad_ref(logits, labels) * len(labels)


def _wrong_labels_not_onehot(logits, labels):
    return (_softmax(logits) - labels[:, None]) / len(labels)


def _wrong_naive_softmax(logits, labels):
    e = np.exp(logits)                              # overflows at 1000
    p = e / e.sum(axis=1, keepdims=True)
    return (p - np.eye(logits.shape[1])[labels]) / len(labels)


def _wrong_sign(logits, labels):
    return -_ce_grad_ref(logits, labels)


_STABLE_HINT = ("np.exp(1000) overflows. Softmax does not change when you subtract the same number "
                "from every logit of a row: use z - z.max(axis=1, keepdims=True) before np.exp.")


@exercise(
    "03.softmax_ce_grad", "Gradient of softmax + cross-entropy",
    right=[_ce_grad_ref, _ce_grad_onehot],
    wrong={
        "missing /B": _wrong_no_mean,
        "labels not one-hot": _wrong_labels_not_onehot,
        "naive softmax (overflow at 1000)": _wrong_naive_softmax,
        "sign flipped (y − p)": _wrong_sign,
    },
    success="dL/dz = (p − y)/B: the prediction minus the truth, averaged over the batch.",
)
def _check_softmax_ce_grad(answer):
    require_callable(answer, "softmax_ce_grad")
    rng = np.random.default_rng(3)
    logits = rng.normal(0.0, 2.0, (5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    got = _call_strict(answer, (logits, labels), "softmax_ce_grad", _STABLE_HINT)
    expected = _ce_grad_ref(logits, labels)
    if got is None:
        raise Incorrect("softmax_ce_grad returned None.", "Did you forget a `return`?")
    got = np.asarray(got, dtype=float)
    require(got.shape == expected.shape,
            f"the gradient has the shape of the logits, {expected.shape}; got {got.shape}.",
            "One entry per logit: p has shape (B, C), and so has the one-hot matrix of the labels.")
    B = len(labels)
    if np.allclose(got, B * expected):
        raise Incorrect("your gradient is B times too large: it is the gradient of the summed loss.",
                        "The loss is the mean over the batch, L = (1/B) Σ ℓ_b, so divide p − y by B.")
    if np.allclose(got, -expected):
        raise Incorrect("your gradient has the wrong sign.",
                        "dℓ/dz = p − y: raising the logit of the true class lowers the loss, so its "
                        "entry is negative (p_y − 1 < 0).")
    p = _softmax(logits)
    if np.allclose(got, (p - labels[:, None]) / B) or np.allclose(got, p - labels[:, None]):
        raise Incorrect("you subtracted the integer labels from every column of p.",
                        "y in p − y is the one-hot matrix: row b has a 1 in column labels[b] and 0 "
                        "elsewhere (np.eye(C)[labels]).")
    require_close(got, expected, "softmax_ce_grad(logits, labels)", rtol=1e-7, atol=1e-12,
                  hint="Compute p = softmax(z) row by row, subtract 1 at each row's true class, "
                       "and divide by the batch size B.")
    big = np.array([[1000.0, 999.0, -1000.0], [0.0, 1000.0, 500.0]])
    big_labels = np.array([1, 1])
    got = _call_strict(answer, (big, big_labels), "softmax_ce_grad with logits of size 1000",
                       _STABLE_HINT)
    got = np.asarray(got, dtype=float)
    require(np.all(np.isfinite(got)), "softmax_ce_grad returns NaN or inf for logits of size 1000.",
            _STABLE_HINT)
    require_close(got, _ce_grad_ref(big, big_labels), "softmax_ce_grad for logits of size 1000",
                  rtol=1e-7, atol=1e-12, hint=_STABLE_HINT)


# -- 03.bce_with_logits ----------------------------------------------------------------

def _bce_ref(z, y):
    # ℓ = max(z, 0) − z·y + log(1 + e^(−|z|))
    return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def _bce_logaddexp(z, y):
    # −log σ(z) = log(1 + e^(−z)) = logaddexp(0, −z),  −log(1 − σ(z)) = logaddexp(0, z)
    return float(np.mean(y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)))


def _stable_sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _wrong_log_sigmoid(z, y):
    s = _stable_sigmoid(z)                           # σ(−800) = 0 exactly, so log gives −inf
    return float(-np.mean(y * np.log(s) + (1.0 - y) * np.log(1.0 - s)))


def _wrong_sum(z, y):
    return _bce_ref(z, y) * np.size(z)


def _wrong_sign_bce(z, y):
    return -_bce_ref(z, y)


_LOG_HINT = ("σ(-800) is 0 in float64, so log σ(z) becomes log 0 = -inf. Never form σ(z) first: "
             "-log σ(z) = log(1 + e^(-z)), and ℓ = max(z, 0) - z·y + log(1 + e^(-|z|)) "
             "(np.log1p, np.exp of -|z| only).")


@exercise(
    "03.bce_with_logits", "Binary cross-entropy from logits",
    right=[_bce_ref, _bce_logaddexp],
    wrong={"log(sigmoid(z))": _wrong_log_sigmoid, "sum instead of mean": _wrong_sum,
           "sign flipped": _wrong_sign_bce},
    success="ℓ = max(z, 0) − z·y + log(1 + e^(−|z|)): finite for every logit, as BCEWithLogitsLoss.",
)
def _check_bce_with_logits(answer):
    require_callable(answer, "bce_with_logits")
    z = np.array([[-2.0, -0.5], [0.0, 0.7], [1.5, 3.0]])
    y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.25]])
    got = _call_strict(answer, (z, y), "bce_with_logits", _LOG_HINT)
    expected = _bce_ref(z, y)
    if got is None:
        raise Incorrect("bce_with_logits returned None.", "Did you forget a `return`?")
    require(np.size(got) == 1,
            f"bce_with_logits should return one number (the mean loss); got shape {np.shape(got)}.",
            "Average the per-element losses with np.mean.")
    got = float(np.asarray(got, dtype=float).reshape(()))
    if np.isclose(got, -expected):
        raise Incorrect("your loss is negative; cross-entropy is never negative.",
                        "ℓ = -[y log σ(z) + (1 - y) log(1 - σ(z))]: mind the leading minus sign.")
    if np.isclose(got, expected * z.size):
        raise Incorrect(f"your loss is {z.size} times too large: it sums over the elements.",
                        "reduction='mean' (the default, as PyTorch) averages over all elements.")
    require_close(got, expected, "bce_with_logits on moderate logits", rtol=1e-9, atol=1e-12,
                  hint="ℓ = -[y log σ(z) + (1 - y) log(1 - σ(z))], averaged over all elements.")
    z_big = np.array([-800.0, -40.0, 40.0, 800.0])
    y_big = np.array([1.0, 0.0, 0.0, 1.0])
    got = _call_strict(answer, (z_big, y_big), "bce_with_logits at z = -800", _LOG_HINT)
    got = float(np.asarray(got, dtype=float).reshape(()))
    require(np.isfinite(got), f"bce_with_logits returns {got} for logits of size 800.", _LOG_HINT)
    require_close(got, _bce_ref(z_big, y_big), "bce_with_logits for logits of size 800",
                  rtol=1e-9, atol=1e-12, hint=_LOG_HINT)


# -- 03.loss_for_task ------------------------------------------------------------------

LOSSES = ("MSELoss", "BCEWithLogitsLoss", "CrossEntropyLoss")

#: task → the accepted losses (the first is the usual choice).
TASKS = {
    "the price of a house, in euros": ("MSELoss",),
    "is this e-mail spam or not": ("BCEWithLogitsLoss", "CrossEntropyLoss"),
    "which of the 10 digits is in the image": ("CrossEntropyLoss",),
    "which tags fit a photo (several may)": ("BCEWithLogitsLoss",),
    "tomorrow's temperature": ("MSELoss",),
}

_KIND = {
    "the price of a house, in euros": "regression",
    "is this e-mail spam or not": "binary",
    "which of the 10 digits is in the image": "multiclass",
    "which tags fit a photo (several may)": "multilabel",
    "tomorrow's temperature": "regression",
}

_HINTS = {
    ("regression", "BCEWithLogitsLoss"): "BCE needs targets in [0, 1]; a price or a temperature is an "
        "unbounded real number. Squared error measures how far off a number is.",
    ("regression", "CrossEntropyLoss"): "Cross-entropy picks one of a fixed set of classes; a real "
        "number is not a class. Squared error measures how far off a number is.",
    ("binary", "MSELoss"): "MSE on a class label treats the classes as numbers, and through a "
        "sigmoid its gradient vanishes when the model is confidently wrong (see the claim above). "
        "Use a cross-entropy.",
    ("multiclass", "MSELoss"): "MSE treats the labels 0-9 as numbers (as if 7 were 'closer' to 8 than "
        "to 1). One label out of C classes is softmax + cross-entropy.",
    ("multiclass", "BCEWithLogitsLoss"): "BCE scores each output on its own, so nothing makes the 10 "
        "probabilities sum to 1; exactly one digit is right, which is what softmax + cross-entropy "
        "models.",
    ("multilabel", "MSELoss"): "Each tag is a yes/no question: a binary cross-entropy per output.",
    ("multilabel", "CrossEntropyLoss"): "Softmax makes the tags compete (their probabilities sum to 1), "
        "but several tags can be right at once: use one sigmoid + BCE per tag.",
}

_ALIASES = {
    "mse": "MSELoss", "mseloss": "MSELoss", "meansquarederror": "MSELoss", "l2": "MSELoss",
    "bce": "BCEWithLogitsLoss", "bcewithlogits": "BCEWithLogitsLoss",
    "bcewithlogitsloss": "BCEWithLogitsLoss", "bceloss": "BCEWithLogitsLoss",
    "binarycrossentropy": "BCEWithLogitsLoss",
    "ce": "CrossEntropyLoss", "crossentropy": "CrossEntropyLoss", "crossentropyloss": "CrossEntropyLoss",
    "softmaxcrossentropy": "CrossEntropyLoss", "categoricalcrossentropy": "CrossEntropyLoss",
}


def _loss_name(value):
    """A loss name from a string ("MSELoss", "mse", "bp.nn.MSELoss()"), a loss class or instance."""
    if isinstance(value, type):
        value = value.__name__
    elif not isinstance(value, str) and value is not None and value is not Ellipsis:
        value = type(value).__name__
    if not isinstance(value, str):
        return None
    key = value.strip().lower().removesuffix("()")
    for prefix in ("bp.nn.", "torch.nn.", "nn."):
        key = key.removeprefix(prefix)
    key = key.replace("_", "").replace("-", "").replace(" ", "")
    return _ALIASES.get(key)


def _right_answer():
    return {task: ok[0] for task, ok in TASKS.items()}


def _wrong_mse_for_classes():
    return {**_right_answer(), "is this e-mail spam or not": "MSELoss",
            "which of the 10 digits is in the image": "MSELoss"}


def _wrong_ce_for_tags():
    return {**_right_answer(), "which tags fit a photo (several may)": "CrossEntropyLoss"}


def _wrong_bce_for_price():
    return {**_right_answer(), "the price of a house, in euros": "BCEWithLogitsLoss"}


@exercise(
    "03.loss_for_task", "Which loss for which task",
    right=[_right_answer(), {**_right_answer(), "is this e-mail spam or not": "CrossEntropyLoss"},
           {"the price of a house, in euros": "mse", "is this e-mail spam or not": "bce",
            "which of the 10 digits is in the image": "CrossEntropyLoss",
            "which tags fit a photo (several may)": "BCEWithLogitsLoss",
            "tomorrow's temperature": "MSELoss"}],
    wrong={"MSE for classes": _wrong_mse_for_classes(), "softmax CE for several tags": _wrong_ce_for_tags(),
           "BCE for a price": _wrong_bce_for_price()},
    success="Numbers → MSE; one yes/no → BCE with logits; one class of C → cross-entropy; "
            "several yes/no at once → one BCE per output.",
)
def _check_loss_for_task(answer):
    require(isinstance(answer, dict), f"answer with a dict task → loss name; got {type(answer).__name__}.",
            "Fill in the values of the dict given in the exercise cell.")
    if all(v is Ellipsis or v is None for v in answer.values()):
        raise NotAttempted
    missing = [t for t in TASKS if t not in answer]
    require(not missing, f"the dict misses the task(s) {missing}.",
            "Keep the keys exactly as given; only replace the ... values.")
    for task, accepted in TASKS.items():
        value = answer[task]
        if value is Ellipsis or value is None:
            raise Incorrect(f"no loss chosen yet for {task!r}.", f"Pick one of {', '.join(LOSSES)}.")
        name = _loss_name(value)
        require(name is not None, f"{value!r} (for {task!r}) is not one of the course's losses.",
                f"Use one of the names {', '.join(LOSSES)}.")
        if name not in accepted:
            raise Incorrect(f"{name} is not the loss for {task!r}.", _HINTS[(_KIND[task], name)])
