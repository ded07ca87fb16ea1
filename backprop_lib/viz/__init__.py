"""Matplotlib figures drawn from what the library computes. Each function takes an
optional ``ax`` and returns the figure. Each helper module adds its public names below.
"""

from . import style
from .flow import plot_activation_stats, plot_gradient_flow, plot_update_ratio
from .graph import draw_graph, graph_layout
from .kernels import plot_kernel
from .landscape import plot_loss_landscape
from .training import plot_decision_boundary, plot_history

__all__ = ["style", "draw_graph", "graph_layout"]
__all__ += ["plot_gradient_flow", "plot_activation_stats", "plot_update_ratio", "plot_history",
            "plot_decision_boundary", "plot_loss_landscape", "plot_kernel"]
