"""Lockstep read-ahead: the bench does, with each TICK, the transactions the
flight software is about to ask for, and the answers ride back on the TICK's
reply.

In lockstep the bench's time stands still during a minor frame, so a part
answers a transaction done at the start of the frame exactly as it would
have later in the same frame. Frames repeat: the drivers read the same
registers in the same order each frame. The flight side records the
transactions of every frame per part (bus and address); at the TICK that
ends a frame, for each part, the transactions that were the same, byte for
byte and in the same order, in the last two frames (up to the first that
differed) are sent along with the TICK, and the bench does them once it has
moved to the new time. When a driver then asks for the next transaction
the part is expected to see, the answer is taken from here, with no round
trip; when it asks for anything else (a retry after a fault, a changed
command), the rest of that part's answers are dropped and the request goes
over the link. Parts are independent of each other at one instant, so only
the order per part matters.

What differs from stop and wait, and only after such a difference: the
transactions done ahead for a part and not asked for stay done on the bench
(a register read once more, or a write that the one asked for overrides at
the same instant). Transactions that consume a stream (UART reads and
writes, CAN receives) are never done ahead, so no byte or frame is lost.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from hal.tunnel.messages import BATCH_ITEM
from hal.tunnel.protocol import MsgType, Status

__all__ = ["READ_AHEAD_ROOM", "ReadAhead", "Target"]

# Bytes the planned requests may add to a TICK's frame at most.
READ_AHEAD_ROOM: Final = 1536

Target = tuple[str, int | None]
Transaction = tuple[int, bytes]

# Requests that are answered from a part's state without consuming a stream.
_REPEATABLE: Final = frozenset({MsgType.I2C, MsgType.I2C_PROBE, MsgType.SPI, MsgType.CAN_SEND})


class ReadAhead:
    """The flight side's read-ahead table for one bench link.

    `record` every transaction a driver makes; `plan()` at each TICK gives
    the transactions to do ahead; `fill(planned, replies)` stores the
    bench's answers; `take` returns the stored answer to a transaction, or
    None when it must go over the link. `room` bounds the bytes the planned
    requests add to the TICK's frame.
    """

    def __init__(self, room: int = READ_AHEAD_ROOM) -> None:
        self.room = room
        self._frame: list[tuple[int, bytes, Target]] = []
        self._last: dict[Target, list[Transaction]] = {}
        self._ahead: dict[Target, deque[tuple[int, bytes, bytes]]] = {}
        self._targets: list[Target] = []  # of the transactions last planned
        self._last_frame: list[tuple[int, bytes, Target]] = []
        self._steady: list[tuple[int, bytes]] | None = None  # the plan while frames repeat
        self.planned = 0     # transactions done ahead
        self.used = 0        # of which the answer was taken
        self.dropped = 0     # of which the answer was dropped (not asked, or asked otherwise)

    def record(self, type_: int, payload: bytes, target: Target) -> None:
        """A transaction the flight software made in this frame."""
        self._frame.append((type_, payload, target))

    def take(self, type_: int, payload: bytes, target: Target) -> bytes | None:
        """The bench's answer to this transaction if it was done ahead, else None."""
        queue = self._ahead.get(target)
        if not queue:
            return None
        want_type, want_payload, reply = queue[0]
        if want_type == type_ and want_payload == payload and reply[:1] not in _NOT_DONE:
            queue.popleft()
            self.used += 1
            return reply
        # The driver went another way: the rest of this part's answers are not its.
        self.dropped += len(queue)
        del self._ahead[target]
        return None

    def plan(self) -> list[tuple[int, bytes]]:
        """The end of a frame: the transactions to do ahead for the next one,
        in the order the drivers made them."""
        for queue in self._ahead.values():
            self.dropped += len(queue)
        self._ahead.clear()
        if self._steady is not None and self._frame == self._last_frame:
            # The common case: this frame repeated the last one, whose plan stands.
            self._frame = []
            return self._steady
        this: dict[Target, list[Transaction]] = {}
        for type_, payload, target in self._frame:
            this.setdefault(target, []).append((type_, payload))
        same: dict[Target, int] = {}
        for target, seq in this.items():
            before = self._last.get(target, [])
            n = 0
            for mine, theirs in zip(seq, before, strict=False):
                if mine != theirs or mine[0] not in _REPEATABLE:
                    break
                n += 1
            same[target] = n
        planned: list[tuple[int, bytes]] = []
        self._targets = []
        seen: dict[Target, int] = {}
        used = 0
        for type_, payload, target in self._frame:
            k = seen.get(target, 0)
            seen[target] = k + 1
            if k >= same[target]:
                continue
            used += BATCH_ITEM.size + len(payload)
            if used > self.room:
                break
            planned.append((type_, payload))
            self._targets.append(target)
        self._last = this
        self._steady = planned if self._frame == self._last_frame else None
        self._last_frame, self._frame = self._frame, []
        return planned

    def fill(self, planned: list[tuple[int, bytes]], replies: list[bytes]) -> None:
        """The bench's answers to `plan()`'s transactions, in order."""
        for (type_, payload), target, reply in zip(planned, self._targets, replies,
                                                   strict=True):
            self._ahead.setdefault(target, deque()).append((type_, payload, reply))
        self.planned += len(planned)

    def forget(self) -> None:
        """Start over (the flight software rebooted, or the bench changed)."""
        for queue in self._ahead.values():
            self.dropped += len(queue)
        self._ahead.clear()
        self._frame = []
        self._last = {}
        self._last_frame = []
        self._steady = None


# Replies that are no answer of the part's: the transaction goes over the link itself.
_NOT_DONE: Final = (bytes([Status.SKIPPED]), bytes([Status.BAD_REQUEST]))
