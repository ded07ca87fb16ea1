"""AttentionExplorer: what √d_k does to attention and its gradient, and what stochastic depth does
to the gradient of a deep residual stack.

Top: one sequence of ``length`` tokens (unit-variance features, ``D_MODEL`` of them) through a
``SelfAttention(D_MODEL, d_k)`` head whose queries and keys have unit-variance entries (LeCun init,
no biases). Left the attention weights P, right the score gradient dS = P ⊙ (dP − rowsum(P ⊙ dP))
for a random dO. Without the 1/√d_k the scores have standard deviation √d_k, each row of P is
nearly one-hot, and dS, which is proportional to P(1 − P), nearly vanishes.

Bottom: the RMS of δ at the input of every block of ``stochastic_depth_mlp(WIDTH, blocks, p_survive)``
(ReLU branches at He's init, which make the full stack explode), over ``DRAWS`` mask draws in
training, in eval mode, and with every block kept (p = 1).

    ex = bp.widgets.AttentionExplorer()
    ex.set(d_k=256, scale=False)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import MaxNLocator

from .._validate import check_bool, check_choice, check_number, check_positive_int
from ..nn.attention import SelfAttention, softmax_jacobian
from ..nn.stochastic_depth import block_gradient_rms, stochastic_depth_mlp, survival_probabilities
from ..viz import style
from .base import Explorer

D_MODEL = 32       # features per token of the attention input
WIDTH = 32         # features of the stochastic-depth stack
BATCH = 64         # examples for the stochastic-depth stack
DRAWS = 64         # mask draws averaged over
RULES = ("linear", "uniform")


@dataclass(frozen=True)
class AttentionSettings:
    """length: tokens T (2..128); d_k: query/key/value features (1..1024); scale: divide the scores by
    √d_k; p_survive: survival probability of the last block (0, 1]; rule: "linear" (Huang et al.'s
    decay from 1 to p_survive) or "uniform"; blocks: residual blocks (1..50); seed: int ≥ 0."""

    length: int = 16
    d_k: int = 64
    scale: bool = True
    p_survive: float = 0.5
    rule: str = "linear"
    blocks: int = 12
    seed: int = 0

    def __post_init__(self):
        put = object.__setattr__
        for name, high in (("length", 128), ("d_k", 1024), ("blocks", 50)):
            value = check_positive_int(getattr(self, name), name)
            if value > high or (name == "length" and value < 2):
                low = 2 if name == "length" else 1
                raise ValueError(f"{name} must lie in [{low}, {high}]; got {value}.")
            put(self, name, value)
        put(self, "scale", check_bool(self.scale, "scale"))
        put(self, "p_survive", check_number(self.p_survive, "p_survive", low=0.0, high=1.0, low_open=True))
        put(self, "rule", check_choice(self.rule, "rule", RULES))
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be an integer ≥ 0; got {self.seed!r}.")


@dataclass(frozen=True)
class AttentionResult:
    """P, dS, dP (= dO Vᵀ): (length, length); probs: the blocks' survival probabilities; rms_train,
    rms_eval, rms_full: (blocks + 1,) RMS of δ at the input of each block and of the read-out (train:
    over the draws)."""

    settings: AttentionSettings
    P: np.ndarray
    dS: np.ndarray
    dP: np.ndarray
    probs: np.ndarray
    rms_train: np.ndarray
    rms_eval: np.ndarray
    rms_full: np.ndarray
    message: str | None = None

    @property
    def mean_max_weight(self) -> float:
        """The largest attention weight of each query, averaged over the queries."""
        return float(self.P.max(axis=1).mean())

    @property
    def rms_dS(self) -> float:
        return float(np.sqrt(np.mean(self.dS ** 2)))

    @property
    def softmax_gain(self) -> float:
        """Median over the rows of ‖diag(p) − ppᵀ‖₂: the most a row's softmax passes on from dP to dS."""
        return float(np.median(np.linalg.norm(softmax_jacobian(self.P), ord=2, axis=(-2, -1))))

    @property
    def max_rowsum_dS(self) -> float:
        """max |Σ_j dS_ij|: 0 up to rounding, since every row of P sums to 1."""
        return float(np.abs(self.dS.sum(axis=1)).max())


def compute_attention(settings: AttentionSettings) -> AttentionResult:
    """One attention forward/backward, and the stochastic-depth stack's δ profile."""
    if not isinstance(settings, AttentionSettings):
        raise TypeError(f"settings must be an AttentionSettings; got {type(settings).__name__}.")
    s = settings
    rng = np.random.default_rng(s.seed)
    x = rng.standard_normal((s.length, D_MODEL))
    head = SelfAttention(D_MODEL, s.d_k, scale=s.scale, bias=False, init="lecun", seed=s.seed)
    out = head(x)
    dO = rng.standard_normal(out.shape)                     # a random dL/dO
    head.backward(dO)
    xs, g = rng.standard_normal((BATCH, WIDTH)), rng.standard_normal((BATCH, 10))
    net = stochastic_depth_mlp(WIDTH, s.blocks, s.p_survive, rule=s.rule, seed=s.seed)
    train, evaluated = block_gradient_rms(net, xs, g, draws=DRAWS)
    full = stochastic_depth_mlp(WIDTH, s.blocks, 1.0, seed=s.seed)
    _, kept = block_gradient_rms(full, xs, g, draws=1)
    return AttentionResult(settings=s, P=head.P[0], dS=head.dS[0], dP=dO @ head.V[0].T,
                           probs=survival_probabilities(s.blocks, s.p_survive, s.rule),
                           rms_train=train, rms_eval=evaluated, rms_full=kept)


class AttentionExplorer(Explorer):
    """Length, d_k and scaling → attention weights P and score gradient dS; survival probability →
    RMS of δ per block of a stochastic-depth stack.

    ``AttentionExplorer().set(d_k=256, scale=False)``
    """

    Settings = AttentionSettings
    title = "Attention's √d_k and stochastic depth in the backward pass"
    compute = staticmethod(compute_attention)

    def make_figure(self, fig):
        fig.set_size_inches((14.0, 10.0) if self.theme == "presentation" else (9.5, 7.2))
        axes = fig.subplot_mosaic([["P", "dS"], ["rms", "rms"]], height_ratios=[1.15, 1])
        self.ax_P, self.ax_dS, self.ax_rms = axes["P"], axes["dS"], axes["rms"]
        blank = np.zeros((2, 2))
        self.im_P = self.ax_P.imshow(blank, cmap=style.SEQUENTIAL_CMAP, vmin=0.0, vmax=1.0,
                                     interpolation="nearest")
        self.im_dS = self.ax_dS.imshow(blank, cmap=style.DIVERGING_CMAP, vmin=-1.0, vmax=1.0,
                                       interpolation="nearest")
        fig.colorbar(self.im_P, ax=self.ax_P, shrink=0.85)
        fig.colorbar(self.im_dS, ax=self.ax_dS, shrink=0.85)
        for ax in (self.ax_P, self.ax_dS):
            ax.set(xlabel="key j", ylabel="query i")
            ax.grid(False)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        (self.line_train,) = self.ax_rms.plot([], [], "o-", markersize=3, color=style.color(0),
                                              label="training (RMS over mask draws)")
        (self.line_eval,) = self.ax_rms.plot([], [], "s-", markersize=3, color=style.color(1),
                                             label="eval: x + p·F(x)")
        (self.line_full,) = self.ax_rms.plot([], [], "--", color="0.5", label="every block kept (p = 1)")
        self.ax_rms.set(yscale="log", xlabel="block l (δ at its input; last point: the read-out's input)",
                        ylabel="RMS δ")
        self.ax_rms.legend(loc="upper right", fontsize="small")

    def draw(self, r: AttentionResult):
        s, T = r.settings, r.settings.length
        extent = (-0.5, T - 0.5, T - 0.5, -0.5)
        self.im_P.set_data(r.P)
        self.im_P.set_extent(extent)
        bound = float(np.abs(r.dS).max()) or 1.0
        self.im_dS.set_data(r.dS)
        self.im_dS.set_extent(extent)
        self.im_dS.set_clim(-bound, bound)
        scaling = "S = QKᵀ/√d_k" if s.scale else "S = QKᵀ (unscaled)"
        self.ax_P.set_title(f"P, {scaling}, d_k = {s.d_k}\nmean max weight {r.mean_max_weight:.2f}",
                            fontsize="medium")
        self.ax_dS.set_title(f"dS = P ⊙ (dP − rowsum(P ⊙ dP))\nmedian ‖∂p/∂s‖ {r.softmax_gain:.2g}, "
                             f"max |row sum| {r.max_rowsum_dS:.0e}", fontsize="medium")
        blocks = np.arange(1, s.blocks + 2)
        self.line_train.set_data(blocks, r.rms_train)
        self.line_eval.set_data(blocks, r.rms_eval)
        self.line_full.set_data(blocks, r.rms_full)
        values = np.concatenate([r.rms_train, r.rms_eval, r.rms_full])
        self.ax_rms.set_xlim(0.5, s.blocks + 1.5)
        self.ax_rms.set_ylim(values.min() / 1.5, values.max() * 1.5)
        p = f"p_l from 1 down to {s.p_survive:g}" if s.rule == "linear" else f"p_l = {s.p_survive:g}"
        self.ax_rms.set_title(f"{s.blocks} ReLU residual blocks with stochastic depth ({p}): "
                              f"δ₁/δ_out {r.rms_train[0] / r.rms_train[-1]:.3g} in training, "
                              f"{r.rms_full[0] / r.rms_full[-1]:.3g} with every block", fontsize="medium")

    def controls(self):
        import ipywidgets as W

        s = self.settings
        label = {"description_width": "90px"}
        return {
            "length": W.IntSlider(value=s.length, min=2, max=64, description="length T",
                                  continuous_update=False, style=label),
            "d_k": W.IntSlider(value=s.d_k, min=1, max=512, description="d_k", continuous_update=False,
                               style=label),
            "scale": W.Checkbox(value=s.scale, description="divide by √d_k"),
            "p_survive": W.FloatSlider(value=s.p_survive, min=0.05, max=1.0, step=0.05,
                                       description="survival p", continuous_update=False, style=label),
            "rule": W.ToggleButtons(options=RULES, value=s.rule, description="rule", style=label),
            "blocks": W.IntSlider(value=s.blocks, min=1, max=30, description="blocks",
                                  continuous_update=False, style=label),
        }
