"""Clock sources for the executive.

The executive never reads the system time itself: it asks a clock. A
`MonotonicClock` follows real time (flight, real-time bench). A
`VirtualClock` jumps straight to the next deadline, so a simulation runs as
fast as the CPU allows and gives the same result every run; whatever must
happen between two instants (the simulator integrating the dynamics) is
attached as a listener and runs before the clock reaches the new time.

Mission time for packets is the clock's time plus `epoch_tai_s`, seconds of
TAI since the CCSDS epoch 1958-01-01 (CCSDS 301.0-B-4, sec. 3.2).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

# 2026-01-01T00:00:00 TAI in seconds since 1958-01-01 TAI: an arbitrary but
# fixed default epoch so simulated packets carry plausible CUC times.
DEFAULT_EPOCH_TAI_S = 2145916800.0


class Clock(Protocol):
    """What the executive needs from a time source."""

    epoch_tai_s: float

    def now(self) -> float:
        """Seconds since the clock started."""
        ...

    def sleep_until(self, t_s: float) -> None:
        """Return once now() >= t_s."""
        ...


class MonotonicClock:
    """Real time from the host's monotonic clock."""

    def __init__(self, epoch_tai_s: float = DEFAULT_EPOCH_TAI_S) -> None:
        self.epoch_tai_s = epoch_tai_s
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start

    def sleep_until(self, t_s: float) -> None:
        delay = t_s - self.now()
        if delay > 0:
            time.sleep(delay)


class VirtualClock:
    """Simulated time that advances only when the executive waits.

    Listeners are called as ``listener(t_from_s, t_to_s)`` before the clock
    moves, in the order they were added.
    """

    def __init__(self, start_s: float = 0.0, epoch_tai_s: float = DEFAULT_EPOCH_TAI_S) -> None:
        self.epoch_tai_s = epoch_tai_s
        self._t = float(start_s)
        self._listeners: list[Callable[[float, float], None]] = []

    def now(self) -> float:
        return self._t

    def add_listener(self, listener: Callable[[float, float], None]) -> None:
        self._listeners.append(listener)

    def sleep_until(self, t_s: float) -> None:
        if t_s <= self._t:
            return
        for listener in self._listeners:
            listener(self._t, t_s)
        self._t = t_s
