"""The boot record: how many times the flight software has started, and why.

At every boot the executive counts the boot and works out the reset cause
from the store, in one transaction (`fsw.core.store`: it survives a power
loss whole or not at all). A `running` flag is set at boot and cleared by an
orderly shutdown, so a boot that finds it still set follows a reset nobody
asked for: power loss, or a watchdog, which an app that can read the
watchdog's own counter (the mode manager reads the EPS's) refines.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from fsw.core.store import Store

_NS = "boot"
_COUNT = struct.Struct(">I")


class ResetCause(IntEnum):
    """Why the flight software started."""

    FIRST_BOOT = 0      # nothing in the store yet
    ORDERLY = 1         # the previous run shut down in order (commanded)
    UNEXPECTED = 2      # the previous run stopped without a shutdown: power loss or reset
    WATCHDOG = 3        # a hardware watchdog reset (known from the watchdog's own counter)


@dataclass(frozen=True)
class BootRecord:
    count: int
    cause: ResetCause


def record_boot(store: Store | None) -> BootRecord:
    """Count this boot and find why it happened; without a store, a first boot."""
    if store is None:
        return BootRecord(1, ResetCause.FIRST_BOOT)
    with store.transaction():
        raw = store.get(_NS, "count")
        count = 0 if raw is None else _COUNT.unpack(raw)[0]
        if raw is None:
            cause = ResetCause.FIRST_BOOT
        elif store.get(_NS, "running") == b"\x01":
            cause = ResetCause.UNEXPECTED
        else:
            cause = ResetCause.ORDERLY
        store.put(_NS, "count", _COUNT.pack(count + 1))
        store.put(_NS, "running", b"\x01")
    return BootRecord(count + 1, cause)


def record_shutdown(store: Store | None) -> None:
    """Mark an orderly shutdown: the next boot is not a reset."""
    if store is not None:
        store.put(_NS, "running", b"\x00")
