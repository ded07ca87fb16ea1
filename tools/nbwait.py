"""Waits on a kernel's channels that survive a missed wake-up.

nbclient waits for a cell's reply with one long poll of the kernel client's shell channel (the
cell's timeout, e.g. 600 s) and for its output with an unbounded poll of the iopub channel. pyzmq's
asyncio poll wakes on an edge-triggered file descriptor, and now and then that wake-up is missed:
the message is already there, the kernel sits idle, and the poll sleeps until its timeout, when a
last level-triggered check finds the message (pyzmq ``_AsyncPoller.poll``). Seen here: one cell of
notebook 22 waited 600 s in the Binder test, then went on as if nothing had happened.

``guard_missed_wakeups(kc)`` makes every such wait a series of short polls, each ending in that
check, so a missed wake-up costs at most ``slice_s`` seconds. Timeouts keep their meaning.
"""

from __future__ import annotations

import queue
import time

SLICE_S = 1.0


def sliced(get_msg, slice_s: float = SLICE_S):
    """``get_msg(timeout=None)`` (an async channel's) as a loop of polls of at most ``slice_s``;
    raises ``queue.Empty`` when ``timeout`` seconds pass without a message, as the original does."""

    async def get_msg_sliced(timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = slice_s if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await get_msg(timeout=min(slice_s, left))
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_sliced


def guard_missed_wakeups(kc, slice_s: float = SLICE_S):
    """Wrap ``kc``'s shell and iopub ``get_msg`` with ``sliced`` (idempotent); returns ``kc``."""
    for channel in (kc.shell_channel, kc.iopub_channel):
        if not getattr(channel.get_msg, "_sliced", False):
            channel.get_msg = sliced(channel.get_msg, slice_s)
            channel.get_msg._sliced = True
    return kc
