"""Per-layer activation and gradient statistics: what a network does to the signal going
forward and to the gradient coming back.

    flow = bp.probes.gradient_flow(net, loss_fn, x, y, lr=0.1)
    flow.delta_rms                 # RMS of ∂L/∂z per layer (z = each Linear's output)
    bp.probes.measured_factor(flow)  # per-layer growth (> 1) or decay (< 1) of the gradient
    bp.viz.plot_gradient_flow(flow)

During training, ``GradientFlowProbe``, ``UpdateRatioProbe`` and ``ActivationProbe`` record
the same statistics every few steps (``bp.train.fit(..., probes=[...])``).
"""

from .dead import DeadUnits, dead_units
from .factors import DeltaTrace, layer_factors, predicted_factors, trace_deltas
from .flow import activation_stats, gradient_flow, measured_factor
from .recorders import ActivationProbe, GradientFlowProbe, UpdateRatioProbe, optimizer_lr
from .records import ActivationRecord, FlowRecord, UpdateRecord, saturation_caption
from .stats import histogram, rms, saturated_fraction

__all__ = [
    "gradient_flow", "activation_stats", "measured_factor",
    "FlowRecord", "ActivationRecord", "UpdateRecord", "saturation_caption",
    "GradientFlowProbe", "UpdateRatioProbe", "ActivationProbe", "optimizer_lr",
    "rms", "saturated_fraction", "histogram",
    "trace_deltas", "DeltaTrace", "layer_factors", "predicted_factors",
]
__all__ += ["dead_units", "DeadUnits"]
