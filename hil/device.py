"""A part playing "real hardware" for a mixed bench: its own process, its own pty.

`serve_gps` runs the reference GPS receiver's emulator (NMEA at its own
baud rate, paced by the emulator) on a new pty linked at a path, with the
scenario's orbit as its truth on the wall clock. The flight computer opens
that path with the `linux` UART backend while its other devices are
tunnelled to the bench: the same as a real receiver on a serial port.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable
from pathlib import Path

from hil.scenario import Scenario
from hil.server import linked_pty

__all__ = ["serve_gps"]


def serve_gps(scenario: Scenario, link: str | Path, *, duration_s: float | None = None,
              rate_hz: float = 1.0, on_event: Callable[[str], None] | None = None) -> int:
    """Serve until `duration_s` (wall) passes or SIGTERM/SIGINT, logging a position
    `rate_hz` times a second; returns 0."""
    from hil.world import BenchWorld

    say = on_event or (lambda text: None)
    world = BenchWorld(scenario)  # its simulator gives the receiver its orbit each second
    gps = world.emulators.gps
    gps.period_s = 1.0 / rate_hz
    world.scenario.duration_s = float("inf")  # a part runs until it is switched off
    link = Path(link)
    master, slave = linked_pty(link)
    os.set_blocking(master, False)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    say(f"gps: NMEA at {gps.baudrate} baud, {rate_hz:g} Hz, on {link} -> {os.ttyname(slave)}")
    start = time.monotonic()
    sent = 0
    try:
        while not stop:
            now = time.monotonic() - start
            if duration_s is not None and now >= duration_s:
                break
            ready, _, _ = select.select([master], [], [], 0.01)
            if ready:
                gps.receive(os.read(master, 4096))
            world.follow_wall(now)
            gps.advance(now)
            out = gps.take(4096)
            if out:
                try:
                    sent += os.write(master, out)
                except BlockingIOError:
                    pass  # nobody reading: a real UART's bytes are lost the same way
    except KeyboardInterrupt:
        pass
    finally:
        for fd in (master, slave):
            os.close(fd)
        if link.is_symlink():
            link.unlink()
    say(f"gps: sent {sent} bytes of NMEA")
    return 0
