"""Figures of what the probes measure: gradient flow, activation histograms, update ratios.

    flow = bp.probes.gradient_flow(net, loss_fn, x, y)
    bp.viz.plot_gradient_flow({"sigmoid": flow_sig, "relu + He": flow_relu})
    bp.viz.plot_activation_stats(flow)
    bp.viz.plot_update_ratio(history)      # fit(..., probes=[bp.probes.UpdateRatioProbe()])
"""

from __future__ import annotations

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ._scales import positive, set_log_y
from ._sources import flow_records, update_series
from .style import PALETTE, SEQUENTIAL_CMAP, color, new_axes, show_message, themed

_QUANTITY = {
    "delta": [("delta_rms", "-", "δ = ∂L/∂z (backpropagated error)")],
    "grad": [("grad_rms", "--", "∂L/∂W (weight gradient)")],
}
_QUANTITY["both"] = _QUANTITY["delta"] + _QUANTITY["grad"]


def plot_gradient_flow(records, ax=None, *, quantity: str = "both", theme: str = "default",
                       title: str | None = None):
    """RMS of the backpropagated error δ = ∂L/∂z (solid) and of the weight gradient ∂L/∂W
    (dashed) per layer, log scale, one colour per setting.

    records: a ``FlowRecord``, a list of them, ``{label: FlowRecord}``, or
        ``history.probes["gradient_flow"]`` (one line per recorded step).
    quantity: ``"both"`` (default), ``"delta"`` or ``"grad"``.
    The legend gives each setting's measured per-layer factor of δ (``measured_factor``:
    < 1 vanishing, > 1 exploding). An overflowing setting is named in a message.
    """
    from ..probes.flow import measured_factor

    if quantity not in _QUANTITY:
        raise ValueError(f"unknown quantity {quantity!r}; expected 'both', 'delta' or 'grad'.")
    items = flow_records(records)
    with themed(theme):
        fig, ax = new_axes(ax, theme=theme)
        for k, (label, rec) in enumerate(items.items()):
            layers = np.arange(1, rec.n_layers + 1)
            factor = measured_factor(rec)
            text = f"{label} (×{factor:.3g} per layer)" if np.isfinite(factor) else label
            for j, (attr, style, _) in enumerate(_QUANTITY[quantity]):
                ax.plot(layers, positive(getattr(rec, attr)), linestyle=style, marker="o", markersize=3,
                        color=color(k), label=text if j == 0 else None)
        shown = np.concatenate([positive(getattr(rec, attr)) for rec in items.values()
                                for attr, _, _ in _QUANTITY[quantity]])
        set_log_y(ax, shown)
        ax.set_xlabel("layer (1 = nearest the input)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))      # layers are whole numbers
        ax.set_ylabel("RMS = ‖·‖/√size (log scale)")
        if title is None:
            title = ("Gradient flow: " + next(iter(items.values())).setting if len(items) == 1
                     else f"Gradient flow per layer, {len(items)} settings")
        ax.set_title(title)
        handles, labels = ax.get_legend_handles_labels()
        for _, style, meaning in _QUANTITY[quantity]:     # the line-style encoding
            handles.append(Line2D([], [], color="0.3", linestyle=style))
            labels.append(meaning)
        ax.legend(handles, labels, fontsize="small", loc="best")
        ax.set_xlim(0.5, max(rec.n_layers for rec in items.values()) + 0.5)
        bad = [label for label, rec in items.items() if not rec.finite]
        if bad:
            where = "" if len(items) == 1 else " in " + ", ".join(bad)
            show_message(ax, f"Overflow (exploding): values became inf/NaN{where}")
    return fig


def plot_activation_stats(record, ax=None, *, theme: str = "default", title: str | None = None):
    """Per-layer histograms of the activations (layer 1 at the top), each annotated with
    its std and its % saturated units (|tanh| > 0.99, sigmoid within 0.01 of 0 or 1, or dead
    ReLU units: 0 on the whole batch).

    record: a ``FlowRecord`` or ``ActivationRecord`` (``bp.probes.gradient_flow`` /
    ``activation_stats``). Each histogram is scaled to its own peak.
    """
    from ..probes.records import ActivationRecord, saturation_caption

    if not isinstance(record, ActivationRecord):
        raise TypeError(
            "record must be a FlowRecord or ActivationRecord (from bp.probes.gradient_flow or "
            f"bp.probes.activation_stats); got {type(record).__name__}."
        )
    n = record.n_layers
    if len(record.hist_counts) != n:
        raise ValueError("this record holds no histograms (it was recorded with bins=None); record it "
                         "again with bins=30, e.g. bp.probes.gradient_flow(net, loss_fn, x, y).")
    with themed(theme):
        if ax is None:
            fig, ax = new_axes(theme=theme, figsize=_rows_figsize(theme, n))
        else:
            fig = ax.figure
        size = max(5.0, min(9.0, 220.0 / n)) * (1.4 if theme == "presentation" else 1.0)
        overflow = False
        for i in range(n):
            base = n - 1 - i                    # layer 1 on top
            counts = np.asarray(record.hist_counts[i], dtype=float)
            edges = np.asarray(record.hist_edges[i], dtype=float)
            peak = counts.max() if counts.size else 0.0
            heights = 0.85 * counts / peak if peak > 0 else np.zeros_like(counts)
            x = np.repeat(edges, 2)[1:-1]        # a step outline through the bins
            y = base + np.repeat(heights, 2)
            ax.fill_between(x, base, y, color=PALETTE[0], alpha=0.55, linewidth=0.8, edgecolor=PALETTE[0])
            sat, kind = record.saturated[i], record.saturation_kind[i]
            if not np.isfinite(record.act_rms[i]):
                overflow = True
                note = "overflow (inf/NaN)"
            else:
                note = f"std {record.act_std[i]:.2g}"
                if kind is None and i == n - 1:
                    note += " (output z)"
                if kind is not None and np.isfinite(sat):
                    note += f" · {sat:.0%} {'dead' if kind == 'relu' else 'saturated'}"
            ax.text(0.99, base + 0.35, note, transform=ax.get_yaxis_transform(), ha="right", va="center",
                    fontsize=size, bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                                         "edgecolor": "none", "alpha": 0.7})
        ax.set_ylim(-0.2, n)
        ax.set_yticks(np.arange(n) + 0.3)
        tick_labels = record.labels[::-1] if n <= 12 else [str(n - j) for j in range(n)]
        ax.set_yticklabels(tick_labels, fontsize=size)
        ax.set_ylabel("layer")
        kinds = [k for k in dict.fromkeys(record.saturation_kind) if k is not None]
        caption = ("; ".join(saturation_caption(k) for k in kinds)
                   or "no saturation measure for these activations")
        ax.set_xlabel("activation value (each layer's histogram scaled to its peak)\n" + caption)
        ax.set_title(title or "Activations per layer: " + record.setting)
        ax.grid(axis="y", visible=False)
        if overflow:
            show_message(ax, "Overflow (exploding): some activations became inf/NaN")
    return fig


def _rows_figsize(theme, n):
    w, h = (10.0, 6.2) if theme == "presentation" else (6.4, 4.0)
    return (w, max(h, min(0.28 * n + 1.5, 14.0)))


def plot_update_ratio(source, ax=None, *, guide: float = 1e-3, theme: str = "default",
                      title: str | None = None):
    """log10(update / weight) per layer over training, with the ``guide`` line (1e-3, the
    rule of thumb: much lower learns slowly, much higher is unstable).

    source: a ``History`` from ``bp.train.fit(..., probes=[bp.probes.UpdateRatioProbe()])``
        (or with a ``GradientFlowProbe``: then lr·RMS(∂L/∂W)/RMS(W)), ``history.probes``, a
        list of ``(step, record)`` pairs or a list of records.
    Up to 8 layers get palette colours and a legend; more get a sequential colour scale with
    a colour bar. A diverged History shows its message.
    """
    steps, ratios, labels, kind, setting, diverged_at, message = update_series(source)
    if not (isinstance(guide, (int, float)) and guide > 0):
        raise ValueError(f"guide must be a positive number (the reference ratio, e.g. 1e-3); got {guide!r}.")
    n = ratios.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(positive(ratios.ravel())).reshape(ratios.shape)
    with themed(theme):
        fig, ax = new_axes(ax, theme=theme)
        cmap = None if n <= len(PALETTE) else _cmap()
        for i in range(n):
            col = color(i) if cmap is None else cmap(i / max(n - 1, 1))
            ax.plot(steps, logs[:, i], color=col, marker="." if len(steps) < 30 else None,
                    label=f"layer {i + 1}" if cmap is None else None)
        ax.axhline(np.log10(guide), color="black", linestyle="--", linewidth=1.2,
                   label=f"guide: update/weight = {guide:g}")
        if cmap is not None:
            bar = fig.colorbar(ScalarMappable(Normalize(1, n), cmap=cmap), ax=ax)
            bar.set_label("layer (1 = nearest the input)")
        what = "measured update" if kind == "measured" else "lr·grad (SGD step)"
        ax.set_xlabel("step")
        ax.set_ylabel(f"log10({what} / weight)")
        ax.set_title(title or "Update/weight ratio per layer: " + setting)
        ax.legend(fontsize="small", loc="best")
        if diverged_at is not None:
            ax.axvline(diverged_at, color=PALETTE[5], linestyle=":")
            show_message(ax, message or f"Diverged at step {diverged_at}")
        elif not np.any(np.isfinite(logs)):
            show_message(ax, "No finite update ratio recorded yet (the first call of the probe has "
                             "nothing to compare with)", kind="info")
    return fig


def _cmap():
    import matplotlib

    return matplotlib.colormaps[SEQUENTIAL_CMAP]
