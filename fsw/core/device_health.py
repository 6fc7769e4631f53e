"""Device health as a software-bus message.

Drivers (hal/) know nothing of the bus, and the HAL does not import the flight
framework, so this lives here; the app that owns them publishes one
`DEVICE_HEALTH` message per device per housekeeping cycle:

    msg = device_health_message(apid)             # once, at app init
    bus.publish(msg.msg_id, pack_device_health(msg, index, driver.health))

`index` identifies the device within the app (its position in the app's
device list). The APID is the owning app's choice (see fsw/core/ids.py).
"""

from __future__ import annotations

from typing import Any, Final

from fsw.core.message import Field, MessageType, tm_msg_id
from hal.health import ERROR_KINDS, Health

__all__ = ["LAST_ERROR_BYTES", "device_health_message", "pack_device_health"]

LAST_ERROR_BYTES: Final = 48
_ERROR_KINDS: Final[tuple[str, ...]] = ERROR_KINDS


def device_health_message(apid: int) -> MessageType:
    """The `fsw.core.message.MessageType` of a device health report."""
    fields = [Field("device", "B", doc="device index within the owning app"),
              Field("transactions", "I", doc="bus transactions attempted since boot"),
              Field("retries", "I", doc="transactions repeated after a transient fault"),
              Field("failures", "I", doc="operations that gave up and raised"),
              Field("recoveries", "I", doc="part found reset and reconfigured")]
    fields += [Field(f"err_{kind}", "I", doc=f"attempts that failed with kind {kind!r}")
               for kind in ERROR_KINDS]
    fields.append(Field("last_error", f"{LAST_ERROR_BYTES}s",
                        doc="text of the most recent error, truncated, NUL-padded"))
    return MessageType("DEVICE_HEALTH", tm_msg_id(apid), fields,
                       doc="Health counters of one device driver")


def pack_device_health(msg: MessageType, index: int, health: Health) -> bytes:
    """Payload of `msg` (from `device_health_message`) for one driver's health.
    Counters saturate at the field limits rather than wrapping."""
    cap = 0xFFFFFFFF
    errors = health.errors
    # Positional, in the field order `device_health_message` declares, built in
    # one list: every owning app packs one of these per driver each
    # housekeeping cycle, and compiled, each `*` of a comprehension is a list
    # more, and a global tuple is fetched and checked on every call (the kinds
    # are `Final` here for that).
    values: list[Any] = [index & 0xFF, min(health.transactions, cap), min(health.retries, cap),
                         min(health.failures, cap), min(health.recoveries, cap)]
    for kind in _ERROR_KINDS:
        values.append(min(errors.get(kind, 0), cap))
    values.append(health.last_error.encode("utf-8", "replace")[:LAST_ERROR_BYTES])
    return msg.struct.pack(*values)
