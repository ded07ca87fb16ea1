"""Neural tangent kernels: the kernel backprop's own quantities define, its infinite-width
limit, and the training dynamics it predicts.

    theta = bp.ntk.empirical(net, x1, x2=None)            # finite width, from backprop
    k = bp.ntk.analytic(x1, depth=3, activation="relu")   # infinite width: k.nngp, k.ntk
    bp.ntk.linearized_dynamics(theta_train, theta_test_train, y_train, f0_train, f0_test, lr, t)
"""

from .analytic import Kernels, analytic
from .dynamics import LinearizedDynamics, linearized_dynamics
from .empirical import empirical, empirical_jacobian
from .experiments import (
    circle_data,
    convergence_vs_eigenvalue,
    kernel_change_during_training,
    kernel_convergence,
    predicted_vs_actual,
    train_gd,
)
from .layerwise import DenseLayerTerms, dense_layer_terms
from .linearized import LinearizedFlow, decay_rates, jacobian, kernel_alignment, linearized_flow

__all__ = ["Kernels", "LinearizedDynamics", "analytic", "empirical", "empirical_jacobian",
           "linearized_dynamics"]
__all__ += ["circle_data", "convergence_vs_eigenvalue", "kernel_change_during_training",
            "kernel_convergence", "predicted_vs_actual", "train_gd"]
__all__ += ["DenseLayerTerms", "dense_layer_terms"]
__all__ += ["LinearizedFlow", "decay_rates", "jacobian", "kernel_alignment", "linearized_flow"]
