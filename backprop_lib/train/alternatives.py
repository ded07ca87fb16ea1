"""Alternatives to backprop, side by side on one MLP: BP, FA, DFA and forward gradients.

    alt = bp.train.alternatives
    run = alt.train_rule("fa", train, test, sizes=(64, 128, 10), activation="tanh", lr=0.1, epochs=30)
    run.test_acc[-1], run.angle[:, 0]        # accuracy after each epoch; ∠(ΔW_FA, ΔW_BP) in degrees

Rules: ``"bp"`` (backprop), ``"fa"`` (feedback alignment), ``"dfa"`` (direct feedback alignment),
``"fg"`` (forward gradient, one random direction per step). Every rule feeds the same optimizer
(SGD) through ``p.grad``; only the way the update is computed differs. This module also gathers
the pieces (``bp.train.alternatives.fa_backward``, ``.jvp``, ``.fgsm``, …) from
``feedback_alignment``, ``forward_gradient`` and ``adversarial``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import NonFiniteError, check_choice, check_number, check_positive_int
from ..nn.builders import mlp
from ..nn.losses import CrossEntropyLoss
from ..optim.sgd import SGD
from .adversarial import attack_accuracy, fgsm, fgsm_step, input_gradient, random_sign
from .batches import minibatches
from .feedback_alignment import (
    alignment_angle,
    backward,
    dfa_backward,
    fa_backward,
    feedback_matrices,
    mlp_blocks,
)
from .forward_gradient import ForwardGradientStudy, forward_gradient, forward_gradient_study, jvp

ALL_RULES = ("bp", "fa", "dfa", "fg")
RULE_NAMES = {"bp": "backprop", "fa": "feedback alignment", "dfa": "direct feedback alignment",
              "fg": "forward gradient"}

__all__ = ["ALL_RULES", "RULE_NAMES", "RuleRun", "train_rule", "update_angles", "rule_gradients",
           "backward", "fa_backward", "dfa_backward", "feedback_matrices", "alignment_angle", "mlp_blocks",
           "jvp", "forward_gradient", "forward_gradient_study", "ForwardGradientStudy",
           "input_gradient", "fgsm", "fgsm_step", "random_sign", "attack_accuracy"]


def _fill_grads(net, loss_fn, x, y, rule, feedback, rng) -> None:
    net.zero_grad()
    if rule == "fg":
        grads = forward_gradient(net, loss_fn, x, y, rng=rng)[1]
        for p, g in zip(net.parameters(), grads, strict=True):
            p.grad = g
    else:
        loss_fn(net(x), y)
        backward(net, loss_fn.backward(), rule, feedback)


def rule_gradients(net, loss_fn, x, y, rule: str, feedback=None, rng=None) -> list[np.ndarray]:
    """The update ``rule`` computes on ``(x, y)``, one array per parameter; ``p.grad`` is left at it.

    ``"bp"``, ``"fa"``, ``"dfa"``: forward pass + :func:`backward`; ``"fg"``: one forward gradient
    (direction drawn from ``rng``).
    """
    _fill_grads(net, loss_fn, x, y, check_choice(rule, "rule", ALL_RULES), feedback, rng)
    return [p.grad.copy() for p in net.parameters()]


def update_angles(net, loss_fn, x, y, rule: str, feedback=None, rng=None) -> np.ndarray:
    """∠(ΔW_rule, ΔW_BP) in degrees for each hidden Linear's weight, at the current parameters.

    Returns ``(n_hidden_layers,)``. The output layer is left out: every rule updates it alike.
    """
    hidden = [lin for lin, _ in mlp_blocks(net)[:-1]]
    grads = dict(zip(map(id, net.parameters()), rule_gradients(net, loss_fn, x, y, rule, feedback, rng),
                     strict=True))
    exact = dict(zip(map(id, net.parameters()), rule_gradients(net, loss_fn, x, y, "bp"), strict=True))
    net.zero_grad()
    return np.array([alignment_angle(grads[id(lin.weight)], exact[id(lin.weight)]) for lin in hidden])


@dataclass
class RuleRun:
    """One training run of ``rule``; arrays are indexed by epoch, 0 = before training."""

    rule: str
    net: object
    feedback: list | None
    train_loss: np.ndarray          # (epochs+1,) mean loss on the training set
    test_acc: np.ndarray            # (epochs+1,) accuracy on the test set
    angle: np.ndarray               # (epochs+1, hidden layers) ∠(update, BP update), degrees
    diverged_at: int | None = None  # first epoch whose loss was not finite

    @property
    def epochs(self) -> np.ndarray:
        return np.arange(len(self.test_acc))

    @property
    def message(self) -> str | None:
        if self.diverged_at is None:
            return None
        return f"{RULE_NAMES[self.rule]} diverged in epoch {self.diverged_at}: lower the learning rate"


def train_rule(rule: str, train, test, *, sizes=(64, 128, 10), activation: str = "tanh", lr: float = 0.1,
               epochs: int = 30, batch_size: int = 16, seed: int = 0) -> RuleRun:
    """Train ``bp.nn.mlp(sizes, activation, seed=seed)`` with SGD(lr) and cross-entropy by ``rule``.

    ``train``, ``test``: ``(x, y)`` pairs. After every epoch the training loss, the test accuracy and
    the angles between this rule's and backprop's hidden-layer updates on the whole training set are
    recorded. Feedback matrices, mini-batch order and forward-gradient directions each come from
    their own generator derived from ``seed``, so two rules with one seed start from the same net
    and see the same batches.
    """
    rule = check_choice(rule, "rule", ALL_RULES)
    check_number(lr, "lr", low=0.0, low_open=True)
    epochs, batch_size = check_positive_int(epochs, "epochs"), check_positive_int(batch_size, "batch_size")
    (x, y), (x_test, y_test) = train, test
    net = mlp(list(sizes), activation=activation, seed=seed)
    feedback = feedback_matrices(net, rule, seed=np.random.default_rng([seed, 1])) if rule in ("fa", "dfa") \
        else None
    batch_rng, v_rng = np.random.default_rng([seed, 2]), np.random.default_rng([seed, 3])
    loss_fn = CrossEntropyLoss()
    opt = SGD(net.parameters(), lr=lr)
    losses, accs, angles, diverged = [], [], [], None

    def record() -> bool:
        try:
            with np.errstate(all="ignore"):
                loss = float(loss_fn(net(x), y))          # layers refuse NaN/inf: a diverged run
                if not np.isfinite(loss):
                    raise NonFiniteError(f"loss {loss}")
                acc = float(np.mean(net(x_test).argmax(axis=1) == y_test))
                angle = (update_angles(net, loss_fn, x, y, rule, feedback, v_rng) if rule != "bp"
                         else np.zeros(len(sizes) - 2))
        except NonFiniteError:
            loss, acc, angle = np.nan, np.nan, np.full(len(sizes) - 2, np.nan)
        losses.append(loss)
        accs.append(acc)
        angles.append(angle)
        return bool(np.isfinite(loss))

    record()
    for epoch in range(1, epochs + 1):
        try:
            with np.errstate(all="ignore"):
                for idx in minibatches(len(x), batch_size, batch_rng):
                    _fill_grads(net, loss_fn, x[idx], y[idx], rule, feedback, v_rng)
                    opt.step()
        except NonFiniteError:                      # a layer met a NaN/inf: the run diverged
            pass
        if not record():
            diverged = epoch
            break
    return RuleRun(rule, net, feedback, np.array(losses), np.array(accs), np.array(angles), diverged)
