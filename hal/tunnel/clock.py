"""Flight time on a bench: lockstep ticks granted by the bench, or the
computer's own clock with a stamp per minor frame sent to the bench.

Frame work is judged against the frame budget on each clock's `work_time`:
in lockstep the flight process's CPU time (its wall time includes waiting
for the bench, which a flight computer on its own clock never does), in real
time the wall clock.

`BenchTime.advance(t_from_s, t_to_s)` is what a lockstep clock calls each
time the executive waits for its next minor frame (see
`fsw.core.time.LockstepClock`): one TICK request, carrying the frame's
telemetry, answered once the bench has moved the simulated world to
`t_to_s`. `RealtimeBenchClock` keeps real time itself and sends a STAMP
(frame start, end of work, next deadline) so the bench can measure each
deadline; a STAMP that gets no answer in time is skipped, never waited for.
Both carry out the bench's directives (scenario stop, reset, fault notices).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hal import HalError
from hal.tunnel.link import BenchLink
from hal.tunnel.messages import (
    BATCH_ITEM,
    TELEMETRY_ROOM,
    pack_stamp,
    pack_telemetry,
    pack_tick,
    unpack_time_reply,
)
from hal.tunnel.protocol import MAX_PAYLOAD, MsgType
from hal.tunnel.readahead import READ_AHEAD_ROOM

__all__ = ["BenchTime", "RealtimeBenchClock"]

TelemetrySource = Callable[[], list[tuple[int, bytes]]]


class BenchTime:
    """The flight side of bench time and bench control on one link."""

    def __init__(self, link: BenchLink, *, telemetry: TelemetrySource | None = None,
                 on_event: Callable[[str], None] | None = None) -> None:
        self.link = link
        self.telemetry = telemetry or (lambda: [])
        self.on_event = on_event or link.on_event
        self.stop_requested = False
        self.reset_requested = False
        self.telemetry_dropped = 0
        self.directives: list[dict[str, Any]] = []

    def _telemetry_bytes(self, room: int) -> bytes:
        records = self.telemetry()
        out, used = [], 0
        for mid, payload in records:
            size = 4 + len(payload)
            if used + size > room:
                self.telemetry_dropped += 1
                continue
            out.append((mid, payload))
            used += size
        return pack_telemetry(out)

    def advance(self, t_from_s: float, t_to_s: float) -> float:
        """Lockstep: ask the bench to move to t_to_s; returns the bench's time.

        The TICK goes in one batch with the writes still posted and the
        transactions to read ahead for the next frame (`hal.tunnel.readahead`)."""
        payload = pack_tick(t_from_s, t_to_s, self._telemetry_bytes(TELEMETRY_ROOM - 16))
        ahead = self.link.read_ahead
        if ahead is not None:
            # what the TICK and the posted writes leave of one frame
            ahead.room = min(READ_AHEAD_ROOM, MAX_PAYLOAD - 2 * BATCH_ITEM.size - len(payload)
                             - self.link.posted_bytes)
        planned = ahead.plan() if ahead is not None else []
        replies = self.link.exchange([(MsgType.TICK, payload), *planned])
        if ahead is not None:
            ahead.fill(planned, replies[1:])
        t_s, directives = unpack_time_reply(replies[0])
        self._obey(directives)
        return t_s

    def stamp(self, frame: int, start_s: float, done_s: float, deadline_s: float) -> None:
        """Real time: report one minor frame; skipped if the bench does not answer soon."""
        payload = pack_stamp(frame, start_s, done_s, deadline_s,
                             self._telemetry_bytes(TELEMETRY_ROOM - 28))
        try:
            reply = self.link.exchange([(MsgType.STAMP, payload)], patient=False)[0]
        except HalError:
            return
        self._obey(unpack_time_reply(reply)[1])

    def read_ahead(self) -> None:
        """Real time, at the start of a frame: have the bench do the frame's
        repeated transactions now, in one round trip (`hal.tunnel.readahead`);
        skipped, and the drivers ask one by one, if the bench does not answer soon."""
        ahead = self.link.read_ahead
        if ahead is None:
            return
        planned = ahead.plan()
        if not planned:
            return
        try:
            replies = self.link.exchange(planned, patient=False)
        except HalError:
            return
        ahead.fill(planned, replies)

    def _obey(self, directives: list[dict[str, Any]]) -> None:
        for item in directives:
            self.directives.append(item)
            op = item.get("op")
            if op == "stop":
                self.stop_requested = True
                self.on_event(f"bench: scenario over ({item.get('why', 'stop')})")
            elif op == "reset":
                self.reset_requested = True
                if self.link.read_ahead is not None:
                    self.link.read_ahead.forget()
                self.on_event("bench: reset requested")
            else:
                self.on_event(f"bench: {op} {item.get('text', '')}".rstrip())


class RealtimeBenchClock:
    """The computer's monotonic clock, stamping every minor frame to the bench.

    Implements the executive's clock protocol (`now`, `sleep_until`,
    `epoch_tai_s`); times in seconds since the clock started.
    """

    def __init__(self, bench: BenchTime, *, epoch_tai_s: float) -> None:
        self.bench = bench
        self.epoch_tai_s = epoch_tai_s
        self._start = time.monotonic()
        self._frame = 0
        self._frame_start_s = 0.0

    def now(self) -> float:
        return time.monotonic() - self._start

    def sleep_until(self, t_s: float) -> None:
        done = self.now()
        self.bench.stamp(self._frame, self._frame_start_s, done, t_s)
        self._frame += 1
        delay = t_s - self.now()
        if delay > 0:
            time.sleep(delay)
        self._frame_start_s = self.now()
        self.bench.read_ahead()
