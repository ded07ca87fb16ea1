"""``PlaygroundSettings``: every knob of the training playground, validated.

Changing one of ``LIVE`` (lr, l2, dropout, optimizer, batch size, the stop condition) keeps the
network and its weights (``PlaygroundSession.update``); changing any other setting builds a
new network and data set (a reset).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..._validate import check_choice, check_number, check_positive_int
from ...nn.init import INIT_SCHEMES
from .data import DATASETS, OWN, check_features, check_own_data, is_int

ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu", "elu", "gelu", "softplus", "identity")
INITS = ("default", "xavier", "he", "lecun", "orthogonal", "normal", "zeros")
LOSSES = ("cross_entropy", "mse")
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop", "adagrad")
LIVE = frozenset({"lr", "l2", "dropout", "optimizer", "batch_size", "max_steps", "target_loss"})
MAX_LAYERS, MAX_WIDTH = 10, 128

assert set(INITS) <= set(INIT_SCHEMES)


def _check_hidden(hidden) -> tuple[int, ...]:
    if is_int(hidden):
        hidden = (hidden,)
    if not isinstance(hidden, (tuple, list)):
        raise TypeError(f"hidden must be a tuple of neuron counts, e.g. hidden=(4, 2), or () for no hidden "
                        f"layer; got {type(hidden).__name__}.")
    if len(hidden) > MAX_LAYERS:
        raise ValueError(f"hidden has {len(hidden)} layers; the playground allows at most {MAX_LAYERS}.")
    for i, width in enumerate(hidden):
        if not is_int(width) or not 1 <= width <= MAX_WIDTH:
            raise ValueError(f"hidden[{i}] must be a neuron count from 1 to {MAX_WIDTH}; got {width!r} "
                             f"in hidden={tuple(hidden)!r}.")
    return tuple(int(w) for w in hidden)


def _name(value, what, choices):
    key = value.replace("-", "_").replace(" ", "_") if isinstance(value, str) else value
    if key in ("ce", "crossentropy"):
        key = "cross_entropy"
    return check_choice(key, what, choices)


@dataclass(frozen=True)
class PlaygroundSettings:
    """Data, network and training of a playground run.

    dataset: ``"moons"``, ``"circles"``, ``"xor"``, ``"spiral"``, ``"gaussians"`` (2 classes),
        ``"blobs"`` (3 classes), or ``"own"`` with ``data=(x, y)`` (x: (n, 2), y: integer labels).
    noise: std of the Gaussian noise added to the points (the cluster std for gaussians/blobs).
    n: number of points (ignored for ``"own"``). train_fraction: share used for training, in
        (0, 1] (1: every point trains, no test set).
    features: the network's inputs, some of x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2).
    hidden: neurons per hidden layer, e.g. (4, 2); () is logistic (softmax) regression.
    activation, init (``init_std``: the std of ``init="normal"``): of the hidden layers.
    loss: ``"cross_entropy"`` (softmax over K logits) or ``"mse"`` (K outputs vs one-hot targets).
    optimizer: ``"sgd"``, ``"momentum"`` (SGD, momentum 0.9), ``"adam"``, ``"rmsprop"``, ``"adagrad"``.
    lr, batch_size; l2: weight decay λ on the weights (not the biases), the gradient of
        (λ/2)‖W‖²; dropout: drop probability after each hidden activation.
    seed: draws the data, the split, the initial weights, the batches and the dropout masks.
    max_steps / target_loss: stop after that many steps / once the test loss (the training
        loss without a test set) is at most target_loss; None: no limit.
    record_every: steps between two records of the curves (loss, accuracy, gradient flow).
    """

    dataset: str = "moons"
    noise: float = 0.1
    n: int = 200
    train_fraction: float = 0.5
    features: tuple = ("x1", "x2")
    hidden: tuple = (8, 8)
    activation: str = "tanh"
    init: str = "xavier"
    init_std: float = 1.0
    loss: str = "cross_entropy"
    optimizer: str = "adam"
    lr: float = 0.03
    batch_size: int = 10
    l2: float = 0.0
    dropout: float = 0.0
    seed: int = 0
    max_steps: int | None = 1000
    target_loss: float | None = None
    record_every: int = 5
    data: tuple | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        put = object.__setattr__
        if self.data is not None:
            put(self, "data", check_own_data(self.data))
            if self.dataset == "moons":               # the default: data=(x, y) means "own"
                put(self, "dataset", OWN)
        put(self, "dataset", check_choice(self.dataset, "dataset", (*DATASETS, OWN)))
        if self.dataset == OWN and self.data is None:
            raise ValueError("dataset='own' needs the arrays: pass data=(x, y) with x shaped (n, 2) "
                             "and integer labels y.")
        if self.dataset != OWN and self.data is not None:
            raise ValueError(f"data=(x, y) was given with dataset={self.dataset!r}; use dataset='own' "
                             "(or leave dataset out) to train on your arrays.")
        check_number(self.noise, "noise", low=0.0, high=5.0)
        check_positive_int(self.n, "n")
        if self.n < 8:
            raise ValueError(f"n must be at least 8 points (a few per class for training and testing); "
                             f"got {self.n}.")
        check_number(self.train_fraction, "train_fraction", low=0.0, high=1.0, low_open=True)
        put(self, "features", check_features(self.features))
        put(self, "hidden", _check_hidden(self.hidden))
        put(self, "activation", _name(self.activation, "activation", ACTIVATIONS))
        put(self, "init", _name(self.init, "init", INITS))
        check_number(self.init_std, "init_std", low=0.0, low_open=True)
        put(self, "loss", _name(self.loss, "loss", LOSSES))
        put(self, "optimizer", _name(self.optimizer, "optimizer", OPTIMIZERS))
        check_number(self.lr, "lr", low=0.0, low_open=True)
        check_positive_int(self.batch_size, "batch_size")
        check_number(self.l2, "l2", low=0.0)
        check_number(self.dropout, "dropout", low=0.0, high=1.0, high_open=True)
        if not is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0; got {self.seed!r}.")
        if self.max_steps is not None:
            check_positive_int(self.max_steps, "max_steps")
        if self.target_loss is not None:
            check_number(self.target_loss, "target_loss", low=0.0, low_open=True)
        check_positive_int(self.record_every, "record_every")

    @property
    def classes(self) -> int:
        """The number of classes K (the network has K outputs)."""
        if self.dataset == OWN:
            return int(self.data[1].max()) + 1
        return 3 if self.dataset == "blobs" else 2

    def describe(self) -> str:
        """A one-line summary for figure titles."""
        arch = "-".join(str(w) for w in (len(self.features), *self.hidden, self.classes))
        return (f"{self.dataset}, {arch} {self.activation}, {self.optimizer} lr {self.lr:g}, "
                f"batch {self.batch_size}" + (f", L2 {self.l2:g}" if self.l2 else "")
                + (f", dropout {self.dropout:g}" if self.dropout else ""))
