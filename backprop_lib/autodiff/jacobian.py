"""The Jacobian of f: Rⁿ → Rᵐ by forward mode (``Dual``) or reverse mode (``Value``),
counting the passes each needs.

* Forward mode pushes one tangent direction through f per pass: seeding input j with
  tangent 1 gives column j, ∂f/∂x_j. The full Jacobian costs **n passes** (one per input).
* Reverse mode evaluates f once, then one backward sweep from output i gives row i,
  ∇f_i. The full Jacobian costs **m backward passes** (one per output).

Hence reverse mode (backpropagation) wins for a loss (m = 1, n huge) and forward mode
for functions with few inputs and many outputs.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .._validate import as_float_array, check_choice
from .dual import Dual
from .value import Value


@dataclass(frozen=True)
class JacobianResult:
    """``jacobian``: (m, n) array, J[i, j] = ∂f_i/∂x_j. ``passes``: derivative passes used
    (n tangent passes in forward mode, m backward sweeps in reverse mode).
    ``evaluations``: how often f itself ran (n forward, 1 reverse)."""

    jacobian: np.ndarray
    passes: int
    evaluations: int
    mode: str

    @property
    def n_inputs(self) -> int:
        return self.jacobian.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.jacobian.shape[0]


def _outputs(result, engine: type, mode: str) -> list:
    """f may return one scalar or a sequence of them; each must be an ``engine`` or a number."""
    outs = list(result) if isinstance(result, (list, tuple)) else [result]
    if not outs:
        raise ValueError("f returned an empty sequence; expected at least one output.")
    for i, o in enumerate(outs):
        if not isinstance(o, engine) and (isinstance(o, bool) or not isinstance(o, numbers.Real)):
            raise TypeError(
                f"f returned {type(o).__name__} as output {i}; in mode={mode!r} f receives a list of "
                f"{engine.__name__} and must return a {engine.__name__} (or a list of them). "
                "Write f with the engine's operations (x[0] * x[1], x[0].tanh(), ...), not NumPy."
            )
    return outs


def jacobian(f, x, mode: str = "forward") -> JacobianResult:
    """Jacobian of ``f`` at ``x`` and the number of passes it took.

    ``f``: takes a list of n scalars (``Dual`` in forward mode, ``Value`` in reverse mode)
    and returns one scalar or a list of m scalars, built with their operations.
    ``x``: n numbers (list or 1-d float array). ``mode``: ``"forward"`` or ``"reverse"``.
    """
    if not callable(f):
        raise TypeError(f"f must be a callable taking a list of scalars; got {type(f).__name__}.")
    mode = check_choice(mode, "mode", ("forward", "reverse"))
    x = as_float_array(x, "x", ndim=1)
    n = x.size
    if n == 0:
        raise ValueError("x must contain at least one number; got an empty array.")

    if mode == "forward":
        columns = []
        for j in range(n):  # one pass per input: seed tangent e_j, read column j
            xs = [Dual(float(x[i]), 1.0 if i == j else 0.0) for i in range(n)]
            outs = _outputs(f(xs), Dual, mode)
            columns.append([o.tangent if isinstance(o, Dual) else 0.0 for o in outs])
        if len({len(c) for c in columns}) != 1:
            raise ValueError("f returned a different number of outputs on different passes.")
        jac = np.array(columns, dtype=np.float64).T
        return JacobianResult(jacobian=jac, passes=n, evaluations=n, mode=mode)

    xs = [Value(float(xi), label=f"x{i}") for i, xi in enumerate(x)]
    outs = _outputs(f(xs), Value, mode)  # one evaluation builds the graph
    rows = []
    for out in outs:  # one backward sweep per output: read row i, ∇f_i
        if not isinstance(out, Value):
            rows.append([0.0] * n)  # a constant output
            continue
        for xi in xs:
            xi.grad = 0.0  # inputs accumulate across sweeps; reset them
        out.backward()
        rows.append([xi.grad for xi in xs])
    jac = np.array(rows, dtype=np.float64)
    return JacobianResult(jacobian=jac, passes=len(outs), evaluations=1, mode=mode)
