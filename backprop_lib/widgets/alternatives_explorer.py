"""AlternativesExplorer: backprop, feedback alignment, direct feedback alignment and forward gradients
trained side by side on the digits, and FGSM adversarial digits against the chosen rule's net.

    ex = bp.widgets.AlternativesExplorer(rule="fa")
    ex.set(rule="dfa", hidden_layers=2, epsilon=0.1)

Panels: test accuracy per epoch (every rule, the chosen one bold); the angle between the chosen
rule's hidden-layer updates and backprop's (one line per hidden layer); one test digit moved by FGSM
with ε, with the net's prediction before and after; test accuracy against ε under FGSM and under
random signs of the same size.

The four runs of one architecture (30 epochs of SGD, batch 16, seed 0; lr 0.1, forward gradient
0.001) are trained once and memoised (``cached_runs``), as are the accuracy-against-ε curves of each
run: moving ε or the digit only attacks one image, so a slider move redraws at once.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from functools import lru_cache

import matplotlib
import numpy as np

from .._validate import check_choice, check_number
from ..data.digits import digits
from ..data.split import train_val_split
from ..nn.attention import softmax
from ..nn.losses import CrossEntropyLoss
from ..train.alternatives import ALL_RULES, RULE_NAMES, RuleRun, attack_accuracy, fgsm, train_rule
from ..viz import style
from .base import Explorer

ARCHITECTURES = {1: (64, 128, 10), 2: (64, 128, 64, 10)}      # hidden layers → sizes
LR = {"bp": 0.1, "fa": 0.1, "dfa": 0.1, "fg": 1e-3}            # forward gradients need a far smaller step
EPOCHS, BATCH_SIZE, SEED = 30, 16, 0
EPS_GRID = np.round(np.linspace(0.0, 0.3, 16), 3)
EPS_MAX = 0.3


@lru_cache(maxsize=1)
def digits_task():
    """``(x_train, y_train), (x_test, y_test)``: bp.data.digits(), 80/20 stratified split, seed 0."""
    x, y = digits()
    return train_val_split(x, y, val_fraction=0.2, seed=0)


@lru_cache(maxsize=8)
def cached_run(rule: str, hidden_layers: int) -> RuleRun:
    """The memoised training run of ``rule`` on ``ARCHITECTURES[hidden_layers]`` (tanh)."""
    train, test = digits_task()
    return train_rule(rule, train, test, sizes=ARCHITECTURES[hidden_layers], activation="tanh",
                      lr=LR[rule], epochs=EPOCHS, batch_size=BATCH_SIZE, seed=SEED)


def cached_runs(hidden_layers: int) -> dict[str, RuleRun]:
    """All four rules on one architecture (trained on first use, then memoised)."""
    return {rule: cached_run(rule, hidden_layers) for rule in ALL_RULES}


@lru_cache(maxsize=8)
def cached_attack_curves(rule: str, hidden_layers: int) -> tuple[np.ndarray, np.ndarray]:
    """Test accuracy over ``EPS_GRID`` under FGSM and under random signs, for one run's net."""
    net = cached_run(rule, hidden_layers).net
    _, (x, y) = digits_task()
    loss_fn = CrossEntropyLoss()
    return (attack_accuracy(net, loss_fn, x, y, EPS_GRID, attack="fgsm"),
            attack_accuracy(net, loss_fn, x, y, EPS_GRID, attack="random", seed=SEED))


@dataclass(frozen=True)
class AlternativesSettings:
    rule: str = "fa"              # "bp", "fa", "dfa" or "fg"
    epsilon: float = 0.1          # FGSM step per pixel (pixels in [0, 1])
    digit: int = 0                # index of the test digit that is attacked
    hidden_layers: int = 1        # 1: 64-128-10 (DFA = FA there), 2: 64-128-64-10

    def __post_init__(self):
        object.__setattr__(self, "rule", check_choice(self.rule, "rule", ALL_RULES))
        check_number(self.epsilon, "epsilon", low=0.0, high=EPS_MAX)
        n_test = len(digits_task()[1][1])
        if isinstance(self.digit, bool) or not isinstance(self.digit, numbers.Integral) \
                or not 0 <= self.digit < n_test:
            raise ValueError(f"digit must be an integer index into the {n_test} test digits, "
                             f"0 … {n_test - 1}; got {self.digit!r}.")
        if self.hidden_layers not in ARCHITECTURES:
            raise ValueError(f"hidden_layers must be 1 or 2; got {self.hidden_layers!r}.")


@dataclass(frozen=True)
class AlternativesResult:
    settings: AlternativesSettings
    runs: dict                    # rule → RuleRun (all four, same architecture)
    fgsm_acc: np.ndarray          # (len(EPS_GRID),) accuracy of the chosen rule's net under FGSM
    random_acc: np.ndarray        # (len(EPS_GRID),) ... under random signs
    acc_at_epsilon: float         # accuracy under FGSM at the chosen ε
    image: np.ndarray             # (64,) the chosen test digit
    adversarial: np.ndarray       # (64,) after FGSM with ε
    label: int
    pred_clean: int
    pred_adv: int
    prob_adv: float               # softmax probability of pred_adv

    @property
    def run(self) -> RuleRun:
        return self.runs[self.settings.rule]

    @property
    def message(self) -> str | None:
        return self.run.message


def compute_alternatives(settings: AlternativesSettings) -> AlternativesResult:
    """The four memoised runs, the chosen run's attack curves, and one FGSM digit. Pure: no figure."""
    if not isinstance(settings, AlternativesSettings):
        raise TypeError(f"settings must be an AlternativesSettings; got {type(settings).__name__}.")
    s = settings
    runs = cached_runs(s.hidden_layers)
    net = runs[s.rule].net
    fgsm_acc, random_acc = cached_attack_curves(s.rule, s.hidden_layers)
    _, (x_test, y_test) = digits_task()
    loss_fn = CrossEntropyLoss()
    acc = float(attack_accuracy(net, loss_fn, x_test, y_test, [s.epsilon])[0])
    x, label = x_test[s.digit:s.digit + 1], y_test[s.digit:s.digit + 1]
    with np.errstate(all="ignore"):
        x_adv = fgsm(net, loss_fn, x, label, s.epsilon)                  # clip(x + ε sign ∇ₓL, 0, 1)
        p_clean, p_adv = softmax(net(x)), softmax(net(x_adv))
    return AlternativesResult(s, runs, fgsm_acc, random_acc, acc, x[0], x_adv[0], int(label[0]),
                              int(p_clean.argmax()), int(p_adv.argmax()), float(p_adv.max()))


class AlternativesExplorer(Explorer):
    """Rule (BP / FA / DFA / forward gradient), hidden layers, FGSM ε and a test digit → accuracy
    curves, alignment angles, the adversarial digit and accuracy against ε.

    ``AlternativesExplorer().set(rule="dfa", epsilon=0.2)``
    """

    Settings = AlternativesSettings
    title = "Alternatives to backprop, and adversarial digits"
    compute = staticmethod(compute_alternatives)

    @staticmethod
    def clear_cache() -> None:
        """Forget the memoised runs and curves (benchmarks time a cold compute with it)."""
        cached_run.cache_clear()
        cached_attack_curves.cache_clear()

    def make_figure(self, fig):
        big = self.theme == "presentation"
        fig.set_size_inches((16.0, 10.0) if big else (11.0, 7.4))
        (self.ax_acc, self.ax_angle), (self.ax_img, self.ax_eps) = fig.subplots(2, 2)
        c = style.color
        self.acc_lines = {}
        for i, rule in enumerate(ALL_RULES):
            dashed = rule == "dfa"                      # FA stays visible under DFA (equal with 1 layer)
            (self.acc_lines[rule],) = self.ax_acc.plot([], [], color=c(i), label=RULE_NAMES[rule],
                                                       ls="--" if dashed else "-")
        self.ax_acc.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1.02), xlim=(0, EPOCHS))
        self.ax_acc.legend(loc="lower right", fontsize="small")
        self.angle_lines = [self.ax_angle.plot([], [], color=c(k), marker=".", label=f"hidden layer {k + 1}")
                            [0] for k in range(max(ARCHITECTURES))]
        self.ax_angle.axhline(90.0, color="0.5", ls=":", lw=1)
        self.ax_angle.set(xlabel="epoch", ylabel="∠(update, backprop's update) in degrees", ylim=(-3, 100),
                          xlim=(0, EPOCHS))
        cmap = matplotlib.colormaps["gray_r"].with_extremes(bad="white")
        self.image = self.ax_img.imshow(np.zeros((8, 17)), cmap=cmap, vmin=0.0, vmax=1.0)
        self.ax_img.set(xticks=[], yticks=[])
        self.ax_img.grid(False)
        for spine in self.ax_img.spines.values():
            spine.set_visible(False)
        (self.fgsm_line,) = self.ax_eps.plot(EPS_GRID, np.zeros_like(EPS_GRID), color=c(5), marker=".",
                                             label="FGSM: ε·sign ∇ₓL")
        (self.random_line,) = self.ax_eps.plot(EPS_GRID, np.zeros_like(EPS_GRID), color=c(2), marker=".",
                                               label="random signs, same ε")
        (self.eps_mark,) = self.ax_eps.plot([], [], "o", color="k", ms=8, zorder=5)
        self.eps_vline = self.ax_eps.axvline(0.0, color="0.4", ls="--", lw=1)
        self.ax_eps.set(xlabel="ε (per pixel; pixels in [0, 1])", ylabel="test accuracy", ylim=(0, 1.02),
                        xlim=(0, EPS_MAX))
        self.ax_eps.legend(loc="lower left", fontsize="small")

    def draw(self, r: AlternativesResult):
        s = r.settings
        for rule, line in self.acc_lines.items():
            run = r.runs[rule]
            line.set_data(run.epochs, run.test_acc)
            chosen = rule == s.rule
            line.set_linewidth(2.8 if chosen else 1.0)
            line.set_alpha(1.0 if chosen else 0.45)
        run = r.run
        sizes = "-".join(map(str, ARCHITECTURES[s.hidden_layers]))
        self.ax_acc.set_title(f"{RULE_NAMES[s.rule]}: test accuracy {run.test_acc[-1]:.3f} after "
                              f"{EPOCHS} epochs\n(sizes {sizes}, tanh, SGD lr {LR[s.rule]:g})")
        for k, line in enumerate(self.angle_lines):
            visible = k < run.angle.shape[1]
            line.set_visible(visible)
            line.set_data(*((run.epochs, run.angle[:, k]) if visible else ([], [])))
        self.ax_angle.legend(handles=[ln for ln in self.angle_lines if ln.get_visible()], loc="upper right",
                             fontsize="small")
        last = run.angle[-1]
        self.ax_angle.set_title("angle to backprop's update, end: "
                                + ", ".join(f"{a:.0f}°" for a in last)
                                + ("\n(backprop itself: 0° by definition)" if s.rule == "bp" else
                                   "\n(90° = unrelated, 0° = backprop's direction)"))
        gap = np.full((8, 1), np.nan)                                     # clean | adversarial
        self.image.set_data(np.hstack([r.image.reshape(8, 8), gap, r.adversarial.reshape(8, 8)]))
        verdict = "fooled" if r.pred_adv != r.label else "still right"
        self.ax_img.set_title(f"test digit {s.digit} (label {r.label}): clean → predicted {r.pred_clean}\n"
                              f"FGSM, ε = {s.epsilon:g} → predicted {r.pred_adv} "
                              f"(p = {r.prob_adv:.2f}, {verdict})")
        self.fgsm_line.set_ydata(r.fgsm_acc)
        self.random_line.set_ydata(r.random_acc)
        self.eps_mark.set_data([s.epsilon], [r.acc_at_epsilon])
        self.eps_vline.set_xdata([s.epsilon, s.epsilon])
        self.ax_eps.set_title(f"FGSM against the {RULE_NAMES[s.rule]} net:\n"
                              f"test accuracy {r.acc_at_epsilon:.2f} at ε = {s.epsilon:g}")

    def controls(self):
        import ipywidgets as W

        s = self.settings
        n_test = len(digits_task()[1][1])
        return {
            "rule": W.Dropdown(options=[(RULE_NAMES[k], k) for k in ALL_RULES], value=s.rule,
                               description="rule"),
            "hidden_layers": W.Dropdown(options=[("1 (64-128-10)", 1), ("2 (64-128-64-10)", 2)],
                                        value=s.hidden_layers, description="hidden"),
            "epsilon": W.FloatSlider(value=s.epsilon, min=0.0, max=EPS_MAX, step=0.01, description="FGSM ε",
                                     continuous_update=False),
            "digit": W.IntSlider(value=s.digit, min=0, max=n_test - 1, description="test digit",
                                 continuous_update=False),
        }
