"""Clock sources for the executive.

The executive never reads the system time itself: it asks a clock. A
`MonotonicClock` follows real time (flight, real-time bench). A
`VirtualClock` jumps straight to the next deadline, so a simulation runs as
fast as the CPU allows and gives the same result every run; whatever must
happen between two instants (the simulator integrating the dynamics) is
attached as a listener and runs before the clock reaches the new time. A
`LockstepClock` moves only when another party (a HIL bench) grants the step.

Mission time for packets is the clock's time plus `epoch_tai_s`, seconds of
TAI since the CCSDS epoch 1958-01-01 (CCSDS 301.0-B-4, sec. 3.2).

A clock may also say how the executive measures the work of a rate group
against its period (`work_time`, seconds from any origin): the wall clock by
default; on a `LockstepClock` and a `VirtualClock` the process's CPU time,
because there the wall time of a frame includes waiting for the other party
to grant the next step, or the time the machine gave other processes while
the simulation ran, which is not work and which a flight computer on its own
clock never spends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

# 2026-01-01T00:00:00 UTC (37 s of leap seconds behind TAI) in TAI seconds
# since 1958-01-01: a fixed default epoch so simulations are reproducible and
# packets carry plausible CUC times.
DEFAULT_EPOCH_TAI_S = 2145916800.0 + 37.0


class Clock(Protocol):
    """What the executive needs from a time source."""

    epoch_tai_s: float

    def now(self) -> float:
        """Seconds since the clock started."""
        ...

    def sleep_until(self, t_s: float) -> None:
        """Return once now() >= t_s."""
        ...


def work_timer(clock: object) -> Callable[[], float]:
    """The clock's `work_time` if it has one, else the wall clock (perf_counter)."""
    return getattr(clock, "work_time", time.perf_counter)


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
    moves, in the order they were added. Work is measured in the process's
    CPU time (`work_time`), so an overrun says the flight software's work
    exceeded its period on this processor, however loaded the machine is.
    """

    work_time = staticmethod(time.process_time)

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


class LockstepClock:
    """Time granted by someone else, one step at a time (a HIL bench in lockstep).

    `advance(t_from_s, t_to_s)` is called when the executive waits and must
    return once the other side has reached `t_to_s`; the time it returns
    becomes this clock's time (the bench's word on what time it is). Work is
    measured in the process's CPU time (`work_time`): an overrun in lockstep
    is CPU time beyond the period, whatever the other side's speed.
    """

    work_time = staticmethod(time.process_time)

    def __init__(self, advance: Callable[[float, float], float], start_s: float = 0.0,
                 epoch_tai_s: float = DEFAULT_EPOCH_TAI_S) -> None:
        self.epoch_tai_s = epoch_tai_s
        self._t = float(start_s)
        self._advance = advance

    def now(self) -> float:
        return self._t

    def sleep_until(self, t_s: float) -> None:
        if t_s <= self._t:
            return
        self._t = max(self._t, float(self._advance(self._t, t_s)))


# -- mission time scales -------------------------------------------------------
# TAI seconds since 1958-01-01T00:00:00 TAI (the CCSDS epoch, CCSDS 301.0-B-4)
# to the Julian dates the GNC models take.
JD_CCSDS_EPOCH = 2436204.5        # 1958-01-01T00:00:00 as a Julian date
TT_MINUS_TAI_S = 32.184           # exact, by definition of TT
TAI_MINUS_UTC_S = 37.0            # leap seconds since 2017-01-01 (IERS Bulletin C)
JD_J2000 = 2451545.0
DAYS_PER_JULIAN_YEAR = 365.25


def jd_tt(tai_s: float) -> float:
    """Julian date in TT for a TAI time (seconds since 1958)."""
    return JD_CCSDS_EPOCH + (tai_s + TT_MINUS_TAI_S) / 86400.0


def jd_utc_split(tai_s: float) -> tuple[float, float]:
    """UTC Julian date as (whole, fraction), keeping full precision in the fraction."""
    days, seconds = divmod(tai_s - TAI_MINUS_UTC_S, 86400.0)
    return JD_CCSDS_EPOCH + days, seconds / 86400.0


def decimal_year(tai_s: float) -> float:
    """Year with fraction (Julian years from J2000), as field models take it."""
    return 2000.0 + (jd_tt(tai_s) - JD_J2000) / DAYS_PER_JULIAN_YEAR
