"""Interactive explorers: settings (frozen dataclass) + pure compute + a view that redraws
in place. Each can be driven from code: ``bp.widgets.ActivationExplorer().set(name="tanh")``.
Each explorer module adds its public names below.
"""

from ._race import race
from .activation import ActivationExplorer, ActivationSettings, compute_activation
from .alternatives_explorer import AlternativesExplorer, AlternativesSettings, compute_alternatives
from .attention_explorer import AttentionExplorer, AttentionSettings, compute_attention
from .autograd_graph import AutogradGraphExplorer, AutogradGraphSettings, compute_autograd_graph
from .backprop_stepper import BackpropStepper, BackpropStepperSettings, compute_stepper
from .base import Explorer
from .cost_explorer import CostExplorer, CostResult, CostSettings, compute_cost
from .double_descent import DoubleDescentExplorer, DoubleDescentSettings, compute_double_descent
from .finite_difference import FiniteDifferenceExplorer, FiniteDifferenceSettings, compute_finite_difference
from .gradient_flow import GradientFlowExplorer, GradientFlowSettings, compute_gradient_flow
from .learning_rate import LearningRateExplorer, LearningRateSettings, compute_learning_rate
from .ntk_explorer import NTKExplorer, NTKSettings, compute_ntk_explorer
from .optimizer_race import OptimizerRace, OptimizerRaceSettings, compute_optimizer_race
from .parallel_explorer import ParallelExplorer, ParallelSettings, compute_parallel
from .playground import PlaygroundSession, PlaygroundSettings, TrainingPlayground
from .precision_explorer import PrecisionExplorer, PrecisionSettings, compute_precision
from .schedule_viewer import ScheduleResult, ScheduleSettings, ScheduleViewer, compute_schedule

__all__ = ["Explorer", "ActivationExplorer", "ActivationSettings", "compute_activation"]
__all__ += ["GradientFlowExplorer", "GradientFlowSettings", "compute_gradient_flow"]
__all__ += ["TrainingPlayground", "PlaygroundSession", "PlaygroundSettings"]
__all__ += ["FiniteDifferenceExplorer", "FiniteDifferenceSettings", "compute_finite_difference"]
__all__ += ["LearningRateExplorer", "LearningRateSettings", "compute_learning_rate"]
__all__ += ["BackpropStepper", "BackpropStepperSettings", "compute_stepper"]
__all__ += ["OptimizerRace", "OptimizerRaceSettings", "compute_optimizer_race", "race"]
__all__ += ["NTKExplorer", "NTKSettings", "compute_ntk_explorer"]
__all__ += ["ScheduleViewer", "ScheduleSettings", "ScheduleResult", "compute_schedule"]
__all__ += ["PrecisionExplorer", "PrecisionSettings", "compute_precision"]
__all__ += ["AutogradGraphExplorer", "AutogradGraphSettings", "compute_autograd_graph"]
__all__ += ["DoubleDescentExplorer", "DoubleDescentSettings", "compute_double_descent"]
__all__ += ["CostExplorer", "CostSettings", "CostResult", "compute_cost"]
__all__ += ["AttentionExplorer", "AttentionSettings", "compute_attention"]
__all__ += ["ParallelExplorer", "ParallelSettings", "compute_parallel"]
__all__ += ["AlternativesExplorer", "AlternativesSettings", "compute_alternatives"]
