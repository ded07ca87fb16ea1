"""Pipeline parallelism (inter-layer model parallelism) and its bubble, simulated.

The layers are cut into S consecutive stages, one per device. A batch is cut into M micro-batches
that flow through the stages: stage s runs the forward pass of micro-batch m as soon as stage s − 1
has handed it over, and after the last forward pass the backward passes flow back (the GPipe
schedule: all forwards, then all backwards, the gradients of the M micro-batches summed before one
optimizer step). Filling and draining the pipeline leaves every device idle for part of the step:
with forward and backward times t_f, t_b per stage and micro-batch, a step takes
(M + S − 1)(t_f + t_b) of which each device works M(t_f + t_b), so the idle "bubble" is

    bubble = (S − 1) / (M + S − 1).

``gpipe_schedule`` builds the schedule by list scheduling (each operation starts when its device is
free and its input is ready) in exact rational arithmetic, so the bubble it measures can be compared
with the formula exactly.

    sched = bp.train.pipeline.gpipe_schedule(stages=4, micro_batches=8)
    sched.bubble_fraction, sched.makespan, sched.ops[0]
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .._validate import check_positive_int

__all__ = ["PipelineOp", "PipelineSchedule", "gpipe_schedule", "bubble_formula"]


@dataclass(frozen=True)
class PipelineOp:
    """One box of the Gantt chart: ``kind`` "F" or "B" of ``micro_batch`` on ``stage`` (0-based)."""

    stage: int
    micro_batch: int
    kind: str
    start: Fraction
    end: Fraction


@dataclass(frozen=True)
class PipelineSchedule:
    stages: int
    micro_batches: int
    ops: tuple[PipelineOp, ...]

    @property
    def makespan(self) -> Fraction:
        """Time from the first forward to the last backward."""
        return max(op.end for op in self.ops)

    def busy(self, stage: int) -> Fraction:
        return sum((op.end - op.start for op in self.ops if op.stage == stage), Fraction(0))

    @property
    def bubble_fraction(self) -> Fraction:
        """Idle device-time / total device-time over the step (exact)."""
        total = self.stages * self.makespan
        return (total - sum((self.busy(s) for s in range(self.stages)), Fraction(0))) / total


def _time(value, name) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, Fraction)) or value <= 0:
        raise ValueError(f"{name} must be a positive int or Fraction (exact time units); got {value!r}.")
    return Fraction(value)


def gpipe_schedule(stages: int, micro_batches: int, forward_time=1, backward_time=2) -> PipelineSchedule:
    """List-schedule a GPipe step: on each stage, forwards of micro-batches 0 … M−1, then backwards
    M−1 … 0. F(s, m) needs F(s−1, m); B(S−1, m) needs F(S−1, m); B(s, m) needs B(s+1, m).
    Times are exact (int or Fraction); the default t_b = 2 t_f is the FLOP ratio of notebook 16."""
    S = check_positive_int(stages, "stages")
    M = check_positive_int(micro_batches, "micro_batches")
    tf, tb = _time(forward_time, "forward_time"), _time(backward_time, "backward_time")
    free = [Fraction(0)] * S                      # when each device is next free
    fwd_end: dict[tuple[int, int], Fraction] = {}
    bwd_end: dict[tuple[int, int], Fraction] = {}
    ops = []
    for m in range(M):                            # forward wave: stage by stage, in micro-batch order
        for s in range(S):
            ready = fwd_end[(s - 1, m)] if s > 0 else Fraction(0)
            start = max(free[s], ready)
            fwd_end[(s, m)] = free[s] = start + tf
            ops.append(PipelineOp(s, m, "F", start, start + tf))
    for m in reversed(range(M)):                  # backward wave: from the last stage back
        for s in reversed(range(S)):
            ready = bwd_end[(s + 1, m)] if s < S - 1 else fwd_end[(s, m)]
            start = max(free[s], ready)
            bwd_end[(s, m)] = free[s] = start + tb
            ops.append(PipelineOp(s, m, "B", start, start + tb))
    return PipelineSchedule(S, M, tuple(sorted(ops, key=lambda o: (o.start, o.stage))))


def bubble_formula(stages: int, micro_batches: int) -> Fraction:
    """(S − 1) / (M + S − 1), exact."""
    S = check_positive_int(stages, "stages")
    M = check_positive_int(micro_batches, "micro_batches")
    return Fraction(S - 1, M + S - 1)
