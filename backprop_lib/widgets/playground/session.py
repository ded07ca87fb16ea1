"""``PlaygroundSession``: the training playground without widgets, a state machine you step.

    session = PlaygroundSession(PlaygroundSettings(dataset="xor", hidden=(8,)))
    session.step(100)            # 100 mini-batch steps of  forward → loss → backward → optimizer
    session.update(lr=0.003)     # live: the weights stay (see below)
    session.history.test_acc[-1], session.message

One step is the loop of ``bp.train.fit`` (``fit`` runs whole epochs; here the step is the
unit, so the playground can pause after any of them):

    B = next mini-batch (bp.train.minibatches: a new permutation each epoch)
    zero the gradients;  out = net(φ(x_B));  L = loss(out, t_B);  net.backward(∂L/∂out)
    optimizer.step()     (weight decay λ on the weights: g ← g + λW, the gradient of (λ/2)‖W‖²)

with φ the input features. A loss that becomes inf/NaN stops the session with a message
(``diverged_at``, ``message``), never an exception.

**Live changes** (``update``): a new lr or L2 is written into the optimizer's parameter
groups, so its state (momentum, Adam's moments) carries on; a new dropout probability retunes,
inserts or removes the Dropout layers around the same weights; a new optimizer is built on the
same parameters, so the weights carry on but its state starts from zero; a new batch size
starts a new epoch. Any other change rebuilds the data and the network (``reset``).

**Threads.** Every matrix here is tiny (batch 10 × 8 units); multi-threaded BLAS only adds
overhead for those, and on a loaded machine a lot of it, so ``step``, the records and ``maps``
run with BLAS limited to one thread (``threadpoolctl``, which scikit-learn brings; the
controller is built once, so entering the limit costs microseconds).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from threadpoolctl import ThreadpoolController

from ... import nn, optim
from ...nn.attention import softmax
from ...probes import UpdateRatioProbe, gradient_flow
from ...train import accuracy, minibatches, predict
from ...train.metrics import is_nonfinite_error
from .data import make_features, make_points, split
from .history import PlaygroundHistory
from .settings import LIVE, PlaygroundSettings

_OPTIMIZERS = {
    "sgd": lambda groups, lr: optim.SGD(groups, lr=lr),
    "momentum": lambda groups, lr: optim.SGD(groups, lr=lr, momentum=0.9),
    "adam": lambda groups, lr: optim.Adam(groups, lr=lr),
    "rmsprop": lambda groups, lr: optim.RMSprop(groups, lr=lr),
    "adagrad": lambda groups, lr: optim.Adagrad(groups, lr=lr),
}
_ARGMAX = nn.CrossEntropyLoss()   # accuracy() reads its outputs as class = argmax over the K outputs


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def _one_blas_thread():
    """A context in which BLAS uses one thread (restored on exit)."""
    return _controller().limit(limits=1, user_api="blas")


def build_network(s: PlaygroundSettings) -> nn.Sequential:
    """``bp.nn.mlp([features, *hidden, K], activation, init, seed)``, with a ``Dropout`` after
    each hidden activation when ``s.dropout > 0``."""
    net = nn.mlp([len(s.features), *s.hidden, s.classes], activation=s.activation, init=s.init,
                 seed=s.seed, init_std=s.init_std if s.init == "normal" else None)
    return with_dropout(net, s.dropout, s.seed)


def with_dropout(net: nn.Sequential, p: float, seed: int) -> nn.Sequential:
    """``net`` with a ``Dropout(p)`` after each hidden activation (none when p = 0), sharing
    its Linear and activation layers, so the weights (and an optimizer holding them) carry on.
    Dropout layers already there are retuned to ``p``; new ones draw masks from ``seed``."""
    core = [layer for layer in net if not isinstance(layer, nn.Dropout)]
    old = [layer for layer in net if isinstance(layer, nn.Dropout)]
    if p == 0:
        return net if not old else nn.Sequential(*core)
    if old:
        for layer in old:
            layer.p = p
        return net
    layers = []
    for i, layer in enumerate(core):
        layers.append(layer)
        if not isinstance(layer, nn.Linear):                     # a hidden activation
            layers.append(nn.Dropout(p, seed=seed + 1000 + i))
    return nn.Sequential(*layers)


class PlaygroundSession:
    """Data, network, optimizer and history of one playground run (see the module docstring).

    ``PlaygroundSession(settings)`` or ``PlaygroundSession(**changes)`` (from the defaults).
    """

    def __init__(self, settings: PlaygroundSettings | None = None, **changes):
        settings = settings if settings is not None else PlaygroundSettings()
        self.settings = dataclasses.replace(settings, **changes) if changes else settings
        self.reset()

    # -- state -----------------------------------------------------------------------------
    def reset(self) -> None:
        """New data, new initial weights (from ``seed``), empty history, step 0."""
        s = self.settings
        x, y = make_points(s.dataset, s.n, s.noise, s.seed, s.data)
        (self.x_train, self.y_train), (self.x_test, self.y_test) = split(x, y, s.train_fraction, s.seed)
        self.f_train, self.f_test = self.features(self.x_train), self.features(self.x_test)
        self.t_train, self.t_test = self._targets(self.y_train), self._targets(self.y_test)
        self.net = build_network(s)
        self.loss_fn = nn.MSELoss() if s.loss == "mse" else nn.CrossEntropyLoss()
        self._eval_loss = nn.MSELoss() if s.loss == "mse" else nn.CrossEntropyLoss()
        self._build_optimizer()
        self._rng = np.random.default_rng([s.seed, 1])
        self._batches = []
        self._ratio = UpdateRatioProbe(every=s.record_every)
        self.history = PlaygroundHistory()
        self.step_count = 0
        self.diverged_at = None
        self.message = ""
        self.stopped = False
        self._record()

    def _build_optimizer(self) -> None:
        weights = [m.weight for m in self.net if isinstance(m, nn.Linear)]
        biases = [m.bias for m in self.net if isinstance(m, nn.Linear)]
        groups = [{"params": weights, "weight_decay": self.settings.l2},
                  {"params": biases, "weight_decay": 0.0}]
        self.optimizer = _OPTIMIZERS[self.settings.optimizer](groups, self.settings.lr)

    def update(self, **changes) -> bool:
        """Change settings. Returns True when that needed a reset (see the module docstring)."""
        old, new = self.settings, dataclasses.replace(self.settings, **changes)
        changed = {f.name for f in dataclasses.fields(new) if getattr(old, f.name) is not getattr(new, f.name)
                   and not _same(getattr(old, f.name), getattr(new, f.name))}
        self.settings = new
        if not changed:
            return False
        if not changed <= LIVE:
            self.reset()
            return True
        if "dropout" in changed:
            training = self.net.training
            self.net = with_dropout(self.net, new.dropout, new.seed).train(training)   # same weights
        if "optimizer" in changed:
            self._build_optimizer()              # same Parameter objects: weights kept, state reset
        else:
            self.optimizer.lr = new.lr
            self.optimizer.param_groups[0]["weight_decay"] = new.l2
        if "batch_size" in changed:
            self._batches = []
        if changed & {"max_steps", "target_loss"} and not self.diverged:
            self.stopped = False
            self.message = ""
            self._check_stop()
        return False

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def done(self) -> bool:
        """True once the run diverged or met its stop condition (``step`` then does nothing)."""
        return self.diverged or self.stopped

    # -- training ------------------------------------------------------------------------
    def step(self, n: int = 1) -> int:
        """Run up to ``n`` mini-batch steps; return how many were made (fewer if the run stops)."""
        made = 0
        with _one_blas_thread(), np.errstate(all="ignore"):
            while made < n and not self.done:
                self._one_step()
                made += 1
        return made

    def _next_batch(self) -> np.ndarray:
        if not self._batches:
            self._batches = minibatches(len(self.f_train), self.settings.batch_size, self._rng)[::-1]
        return self._batches.pop()

    def _one_step(self) -> None:
        idx = self._next_batch()
        for p in self.net.parameters():
            p.grad = None
        try:
            loss = float(self.loss_fn(self.net(self.f_train[idx]), self.t_train[idx]))
            if math.isfinite(loss):
                self.net.backward(self.loss_fn.backward())
        except ValueError as err:                # a layer refused inf/NaN: the run overflowed
            if not is_nonfinite_error(err, self.net):
                raise
            loss = math.nan
        self.history.batch_loss.append(loss)
        self.history.lr.append(self.settings.lr)
        if not math.isfinite(loss):
            self._diverge(loss)
            return
        self.optimizer.step()
        self.step_count += 1
        if self.step_count % self.settings.record_every == 0:
            self._record()
        self._check_stop()

    def _diverge(self, loss) -> None:
        self.diverged_at = self.step_count
        self.message = (f"Diverged: the loss became {loss} at step {self.step_count} "
                        f"(lr {self.settings.lr:g}); training stopped. Lower the learning rate and reset.")

    def _check_stop(self) -> None:
        s, h = self.settings, self.history
        if self.done:
            return
        if s.target_loss is not None and h.steps and h.steps[-1] == self.step_count:
            loss = h.test_loss[-1] if len(self.f_test) else h.train_loss[-1]
            if loss <= s.target_loss:
                which = "test" if len(self.f_test) else "training"
                self.stopped = True
                self.message = (f"Reached the target: {which} loss {loss:.3g} ≤ {s.target_loss:g} "
                                f"at step {self.step_count}.")
                return
        if s.max_steps is not None and self.step_count >= s.max_steps:
            if not h.steps or h.steps[-1] != self.step_count:
                self._record()                   # the curves end at the last step
            if not self.diverged:
                self.stopped = True
                self.message = f"Stopped at max_steps = {s.max_steps}."

    # -- measuring -------------------------------------------------------------------------
    def _record(self) -> None:
        """Append one record of the curves and the per-layer statistics (see PlaygroundHistory)."""
        h = self.history
        with _one_blas_thread(), np.errstate(all="ignore"):
            train_loss, train_acc = self.evaluate("train")
            test_loss, test_acc = self.evaluate("test")
            if not math.isfinite(train_loss):
                self._diverge(train_loss)
                return
            flow = gradient_flow(self.net, self.loss_fn, self.f_train, self.t_train)
            ratio = self._ratio(model=self.net, optimizer=self.optimizer, step=self.step_count)
        h.steps.append(self.step_count)
        h.train_loss.append(train_loss)
        h.train_acc.append(train_acc)
        h.test_loss.append(test_loss)
        h.test_acc.append(test_acc)
        h.grad_rms.append(flow.grad_rms)
        h.delta_rms.append(flow.delta_rms)
        h.saturated.append(flow.saturated)
        h.update_ratio.append(ratio.ratio)

    def evaluate(self, which: str = "test") -> tuple[float, float]:
        """``(loss, accuracy)`` on the ``"train"`` or ``"test"`` points (nan, nan without test points).

        The network runs in eval mode (no dropout); the class is the argmax of the K outputs
        (``bp.train.accuracy``), for both losses."""
        f, t, y = ((self.f_train, self.t_train, self.y_train) if which == "train"
                   else (self.f_test, self.t_test, self.y_test))
        if not len(f):
            return math.nan, math.nan
        try:
            out = predict(self.net, f)
            loss = float(self._eval_loss(out, t))
        except ValueError as err:
            if not is_nonfinite_error(err, self.net):
                raise
            return math.nan, math.nan
        return loss, accuracy(out, y, _ARGMAX)

    def features(self, points) -> np.ndarray:
        """The network's inputs φ(points): (m, 2) raw points → (m, len(features))."""
        return make_features(points, self.settings.features)

    def _targets(self, y):
        if self.settings.loss == "mse":                 # MSE regresses the one-hot vector
            return np.eye(self.settings.classes)[y]
        return y

    def extent(self, margin: float = 0.3) -> tuple[float, float, float, float]:
        """``(x1_min, x1_max, x2_min, x2_max)`` of the plane shown: every point plus a margin."""
        x = np.concatenate([self.x_train, self.x_test])
        lo, hi = x.min(axis=0), x.max(axis=0)
        pad = margin * np.maximum(hi - lo, 1e-6)
        return (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])

    def grid(self, resolution: int = 60) -> np.ndarray:
        """``(resolution², 2)`` points covering ``extent()``, row-major from the bottom row."""
        x1_min, x1_max, x2_min, x2_max = self.extent()
        g1, g2 = np.meshgrid(np.linspace(x1_min, x1_max, resolution), np.linspace(x2_min, x2_max, resolution))
        return np.column_stack([g1.ravel(), g2.ravel()])

    def maps(self, resolution: int = 60):
        """What the view draws over the plane, as ``(class_scores, neurons)``:

        ``class_scores: (res, res, K)``: softmax of the outputs (cross-entropy) or, for MSE, the
        outputs clipped to [0, 1] (two classes: p₁ = clip((out₁ − out₀ + 1)/2), so p₁ = ½ on the
        argmax boundary); ``neurons``: per hidden layer ``(res, res, width)``, each
        neuron's activation. The network runs in eval mode on the grid's features.
        """
        h = self.features(self.grid(resolution))
        neurons = []
        was_training = self.net.training
        self.net.eval()
        try:
            with _one_blas_thread(), np.errstate(all="ignore"):
                for layer in self.net:
                    if not np.all(np.isfinite(h)):
                        h = np.full((len(h), getattr(layer, "out_features", h.shape[1])), np.nan)
                    else:
                        h = layer(h)
                    if isinstance(layer, nn.Module) and not isinstance(layer, (nn.Linear, nn.Dropout)):
                        neurons.append(h.reshape(resolution, resolution, -1))
                scores = softmax(h) if self.settings.loss == "cross_entropy" else _mse_scores(h)
        finally:
            self.net.train(was_training)
        return scores.reshape(resolution, resolution, -1), neurons

    def export_torch(self):
        """The trained network as a ``torch.nn.Module`` (``bp.interop.to_torch``); its inputs are
        the features: ``tnet(torch.from_numpy(session.features(points)))``."""
        from ...interop import to_torch

        return to_torch(self.net)


def _mse_scores(out):
    if out.shape[1] == 2:
        p1 = np.clip((out[:, 1] - out[:, 0] + 1.0) / 2.0, 0.0, 1.0)
        return np.column_stack([1.0 - p1, p1])
    return np.clip(out, 0.0, 1.0)


def _same(a, b) -> bool:
    if isinstance(a, tuple) and a and isinstance(a[0], np.ndarray):   # own data arrays
        return isinstance(b, tuple) and all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    try:
        return bool(a == b)
    except ValueError:
        return False
