"""Teaching autodiff engines: how derivatives are computed.

* ``Value``: scalar reverse mode (backpropagation on a graph of scalars, micrograd-like);
* ``Dual``: forward mode with dual numbers;
* ``jacobian``: the Jacobian by either mode, with the number of passes each costs;
* ``numerical_derivative`` / ``step_size_study``: finite differences and their errors.
"""

from .dual import Dual
from .floats import FloatFormat, describe, finfo, round_to, running_product, running_sum, ulp
from .jacobian import JacobianResult, jacobian
from .numerical import StepSizeStudy, numerical_derivative, step_size_study
from .random_expr import Expression, random_expression
from .value import Value

__all__ = [
    "Value",
    "Dual",
    "jacobian",
    "JacobianResult",
    "numerical_derivative",
    "step_size_study",
    "StepSizeStudy",
]
__all__ += ["random_expression", "Expression"]
__all__ += ["FloatFormat", "finfo", "round_to", "ulp", "describe", "running_sum", "running_product"]
