"""tools/nbwait.py: a channel wait split into short polls, so a missed wake-up costs one slice."""

import asyncio
import queue
from types import SimpleNamespace

import pytest

from tools.nbwait import guard_missed_wakeups, sliced


class Channel:
    """An async get_msg that finds its message only on the ``ready_on``-th poll (each poll of a
    missed wake-up ends empty-handed until its timeout); records every timeout it was given."""

    def __init__(self, ready_on=None):
        self.ready_on, self.timeouts = ready_on, []

    async def get_msg(self, timeout=None):
        self.timeouts.append(timeout)
        await asyncio.sleep(0)
        if self.ready_on is not None and len(self.timeouts) >= self.ready_on:
            return {"msg_type": "execute_reply"}
        raise queue.Empty


def test_a_long_wait_becomes_short_polls_until_the_message_is_found():
    channel = Channel(ready_on=3)
    msg = asyncio.run(sliced(channel.get_msg, slice_s=0.25)(timeout=600))
    assert msg["msg_type"] == "execute_reply"
    assert len(channel.timeouts) == 3 and all(0 < t <= 0.25 for t in channel.timeouts)


def test_an_unbounded_wait_is_sliced_too():
    channel = Channel(ready_on=4)
    asyncio.run(sliced(channel.get_msg, slice_s=0.5)(timeout=None))
    assert channel.timeouts == [0.5] * 4


def test_the_timeout_still_ends_the_wait_with_empty():
    channel = Channel(ready_on=None)
    with pytest.raises(queue.Empty):
        asyncio.run(sliced(channel.get_msg, slice_s=0.01)(timeout=0.05))
    assert len(channel.timeouts) >= 2 and max(channel.timeouts) <= 0.01


def test_guard_wraps_shell_and_iopub_once():
    shell, iopub = Channel(ready_on=1), Channel(ready_on=1)
    kc = SimpleNamespace(shell_channel=shell, iopub_channel=iopub)
    guard_missed_wakeups(kc, slice_s=0.2)
    first = kc.shell_channel.get_msg
    guard_missed_wakeups(kc, slice_s=0.2)
    assert kc.shell_channel.get_msg is first
    asyncio.run(kc.shell_channel.get_msg(timeout=600))
    asyncio.run(kc.iopub_channel.get_msg())
    assert shell.timeouts == [0.2] and iopub.timeouts == [0.2]
