"""Interactive explorers: settings (frozen dataclass) + pure compute + a view that redraws
in place. Each can be driven from code: ``bp.widgets.ActivationExplorer().set(name="tanh")``.
Each explorer module adds its public names below.
"""

from .activation import ActivationExplorer, ActivationSettings, compute_activation
from .base import Explorer
from .gradient_flow import GradientFlowExplorer, GradientFlowSettings, compute_gradient_flow
from .playground import PlaygroundSession, PlaygroundSettings, TrainingPlayground

__all__ = ["Explorer", "ActivationExplorer", "ActivationSettings", "compute_activation"]
__all__ += ["GradientFlowExplorer", "GradientFlowSettings", "compute_gradient_flow"]
__all__ += ["TrainingPlayground", "PlaygroundSession", "PlaygroundSettings"]
