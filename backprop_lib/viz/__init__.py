"""Matplotlib figures drawn from what the library computes. Each function takes an
optional ``ax`` and returns the figure. Each helper module adds its public names below.
"""

from . import style
from .graph import draw_graph, graph_layout

__all__ = ["style", "draw_graph", "graph_layout"]
