"""Seeded random expressions, to test one autodiff engine against another.

    expr = random_expression(seed=3)                       # n_ops operations on n_inputs inputs
    print(expr)                                            # the program, one line per operation
    out = expr(*[Value(x) for x in expr.inputs])           # the same program on Values ...
    out_t = expr(*[torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in expr.inputs])

Each operation reads earlier results (inputs included) chosen at random, so results get reused:
fan-out, the case where the gradients arriving along different paths must add up. The output
is the sum of every result that no later operation reads, so every operation contributes to it
and every input reaches it. The operations are written with methods that ``Value`` and torch
tensors share (``+ - * / **``, ``tanh``, ``sigmoid``, ``exp``, ``log``, ``relu``) and are
defined on the whole real line: a division is by ``1 + b²`` and a logarithm of ``1 + a²``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

# name: (number of operands, the operation, how it is printed)
OPS = {
    "add": (2, lambda a, b: a + b, "{a} + {b}"),
    "sub": (2, lambda a, b: a - b, "{a} - {b}"),
    "mul": (2, lambda a, b: a * b, "{a} * {b}"),
    "div": (2, lambda a, b: a / (1.0 + b * b), "{a} / (1 + {b}**2)"),
    "square": (1, lambda a, b: a ** 2, "{a}**2"),
    "tanh": (1, lambda a, b: a.tanh(), "tanh({a})"),
    "sigmoid": (1, lambda a, b: a.sigmoid(), "sigmoid({a})"),
    "gauss": (1, lambda a, b: (-(a * a)).exp(), "exp(-{a}**2)"),
    "softlog": (1, lambda a, b: (1.0 + a * a).log(), "log(1 + {a}**2)"),
    "relu": (1, lambda a, b: a.relu(), "relu({a})"),
}


@dataclass(frozen=True)
class Expression:
    """A program of operations on ``len(inputs)`` inputs; node k < n_inputs is input k, node
    n_inputs + t is the result of ``program[t] = (op, i, j)`` applied to nodes i (and j, for
    binary ops; i, j < its own index). ``inputs``: the seeded input values."""

    inputs: tuple
    program: tuple

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def n_ops(self) -> int:
        return len(self.program)

    def operands(self, t: int) -> tuple:
        """The node indices operation ``t`` reads (one or two)."""
        op, i, j = self.program[t]
        return (i, j) if OPS[op][0] == 2 else (i,)

    @property
    def sinks(self) -> tuple:
        """Indices of the nodes no operation reads: the output is their sum."""
        read = {k for t in range(self.n_ops) for k in self.operands(t)}
        return tuple(k for k in range(self.n_inputs + self.n_ops) if k not in read)

    @property
    def reads(self) -> np.ndarray:
        """How often each node is read, the output's sum included: > 1 means fan-out."""
        counts = np.zeros(self.n_inputs + self.n_ops, dtype=int)
        for t in range(self.n_ops):
            for k in self.operands(t):
                counts[k] += 1
        counts[list(self.sinks)] += 1
        return counts

    def evaluate(self, *leaves) -> list:
        """Every node, in order: the ``leaves`` you pass (Values, tensors, ...), each
        operation's result, and last the output (the sum of the sinks)."""
        if len(leaves) != self.n_inputs:
            raise ValueError(f"this expression has {self.n_inputs} inputs; got {len(leaves)} leaves. "
                             f"Pass one per input, e.g. expr(*[Value(x) for x in expr.inputs]).")
        nodes = list(leaves)
        for op, i, j in self.program:
            nodes.append(OPS[op][1](nodes[i], nodes[j]))
        sinks = self.sinks
        out = nodes[sinks[0]]
        for k in sinks[1:]:
            out = out + nodes[k]
        nodes.append(out)
        return nodes

    def __call__(self, *leaves):
        """The output, computed from ``leaves`` with their own operations."""
        return self.evaluate(*leaves)[-1]

    def __str__(self) -> str:
        name = [f"x{k}" for k in range(self.n_inputs)] + [f"v{t}" for t in range(self.n_ops)]
        lines = [", ".join(f"x{k} = {x:.4g}" for k, x in enumerate(self.inputs))]
        for t, (op, i, j) in enumerate(self.program):
            lines.append(f"v{t} = " + OPS[op][2].format(a=name[i], b=name[j]))
        lines.append("out = " + " + ".join(name[k] for k in self.sinks))
        return "\n".join(lines)


def _check_count(value, arg: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"{arg} must be an integer ≥ {least}; got {value!r}.")
    return int(value)


def random_expression(seed: int, *, n_inputs: int = 3, n_ops: int = 12, low: float = -2.0,
                      high: float = 2.0) -> Expression:
    """A random ``Expression`` of ``n_ops`` operations (drawn uniformly from ``OPS``) on
    ``n_inputs`` inputs drawn uniformly from [low, high). Each operand is, with probability 1/2,
    a node no operation has read yet, else any earlier node. The same ``seed`` gives the same
    expression."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}.")
    n_inputs = _check_count(n_inputs, "n_inputs", 1)
    n_ops = _check_count(n_ops, "n_ops", 1)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"need finite low < high for the inputs' range; got low={low!r}, high={high!r}.")
    rng = np.random.default_rng(seed)
    inputs = tuple(float(x) for x in rng.uniform(low, high, n_inputs))
    names = list(OPS)
    program, unread = [], list(range(n_inputs))
    for t in range(n_ops):
        op = names[int(rng.integers(len(names)))]
        operands = []
        for _ in range(OPS[op][0]):
            if unread and rng.random() < 0.5:            # half the time a node nobody has read yet
                k = unread[int(rng.integers(len(unread)))]      # (fewer sinks, a deeper graph),
            else:                                        # else any earlier node (reuse: fan-out)
                k = int(rng.integers(n_inputs + t))
            operands.append(k)
        for k in operands:
            if k in unread:
                unread.remove(k)
        unread.append(n_inputs + t)
        program.append((op, operands[0], operands[-1]))
    return Expression(inputs=inputs, program=tuple(program))
