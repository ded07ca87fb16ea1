"""bp.train.pipeline: the GPipe schedule is a valid schedule and its bubble is (S − 1)/(M + S − 1)."""

from fractions import Fraction

import pytest

from backprop_lib.train import pipeline as pl

TIMES = [(1, 2), (1, 1), (Fraction(1, 3), 1), (3, 2)]


@pytest.mark.parametrize(("tf", "tb"), TIMES)
def test_bubble_is_exactly_the_formula(tf, tb):
    for S in range(1, 9):
        for M in range(1, 17):
            sched = pl.gpipe_schedule(S, M, tf, tb)
            assert sched.bubble_fraction == pl.bubble_formula(S, M) == Fraction(S - 1, M + S - 1)
            assert sched.makespan == (M + S - 1) * (Fraction(tf) + Fraction(tb))


@pytest.mark.parametrize(("S", "M"), [(1, 1), (1, 5), (4, 1), (4, 8), (7, 3)])
def test_schedule_is_valid(S, M):
    sched = pl.gpipe_schedule(S, M)
    ops = {(o.kind, o.stage, o.micro_batch): o for o in sched.ops}
    assert len(ops) == len(sched.ops) == 2 * S * M
    for (kind, s, m), op in ops.items():
        assert op.end - op.start == (1 if kind == "F" else 2)
        if kind == "F" and s > 0:
            assert op.start >= ops[("F", s - 1, m)].end        # the activation has arrived
        if kind == "B":
            before = ops[("B", s + 1, m)] if s < S - 1 else ops[("F", s, m)]
            assert op.start >= before.end                      # the gradient has arrived
            assert op.start >= max(ops[("F", s, k)].end for k in range(M))   # GPipe: flush first
    for s in range(S):                                         # one thing at a time per device
        boxes = sorted((o.start, o.end) for o in sched.ops if o.stage == s)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(boxes, boxes[1:], strict=False))
        assert sched.busy(s) == 3 * M


def test_one_stage_has_no_bubble_and_one_micro_batch_idles_most():
    assert pl.gpipe_schedule(1, 4).bubble_fraction == 0
    assert pl.gpipe_schedule(4, 1).bubble_fraction == Fraction(3, 4)   # naive model parallelism


@pytest.mark.parametrize(("args", "match"), [((0, 4), "stages"), ((2, 0), "micro_batches"),
                                              ((2, 2, 0.5), "forward_time"),
                                              ((2, 2, 1, -1), "backward_time")])
def test_bad_input_is_refused(args, match):
    with pytest.raises((ValueError, TypeError), match=match):
        pl.gpipe_schedule(*args)
