"""Events: short, typed reports of what happened on board.

Every event carries the APID of the app that raised it, an event id unique
within that app, a severity, and up to 120 bytes of UTF-8 text. Severities follow
the PUS service 5 report subtypes (ECSS-E-ST-70-41C, sec. 6.5): 1
informative, 2 low, 3 medium, 4 high. Events are published on the bus (and
so reach the ground), logged, and the newest are kept in a bounded ring for
the console and for tests.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from fsw.core.bus import SoftwareBus
from fsw.core.ids import EVENT_APID
from fsw.core.message import Field, MessageType, tm_msg_id

TEXT_BYTES = 120

EVENT_MSG = MessageType("Event", tm_msg_id(EVENT_APID), [
    Field("apid", "H", doc="APID of the app that raised the event"),
    Field("event_id", "H"),
    Field("severity", "B", doc="PUS 5 subtype: 1 info, 2 low, 3 medium, 4 high"),
    Field("time_s", "d", "s", "executive clock time"),
    Field("text", f"{TEXT_BYTES}s", doc="UTF-8, NUL padded"),
], doc="An on-board event report")


class Severity(IntEnum):
    INFO = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4


_LOG_LEVEL = {Severity.INFO: logging.INFO, Severity.LOW: logging.WARNING,
              Severity.MEDIUM: logging.WARNING, Severity.HIGH: logging.ERROR}


@dataclass(frozen=True)
class Event:
    apid: int
    event_id: int
    severity: Severity
    time_s: float
    text: str

    @classmethod
    def decode(cls, payload: bytes) -> Event:
        v = EVENT_MSG.unpack(payload)
        text = v["text"].rstrip(b"\0").decode("utf-8", "replace")
        return cls(v["apid"], v["event_id"], Severity(v["severity"]), v["time_s"], text)


class EventLog:
    """Raises events: publishes them, logs them and keeps the newest `keep`."""

    def __init__(self, bus: SoftwareBus, now: Callable[[], float], keep: int = 256) -> None:
        self._bus = bus
        self._now = now
        self.recent: deque[Event] = deque(maxlen=keep)
        self.counts = {s: 0 for s in Severity}
        self._log = logging.getLogger("tessera.events")
        bus.register(EVENT_MSG)

    def raise_event(self, apid: int, event_id: int, severity: Severity, text: str) -> Event:
        """Publish one event; text beyond 120 UTF-8 bytes is cut at a character boundary."""
        raw = text.encode("utf-8")[:TEXT_BYTES].decode("utf-8", "ignore")
        event = Event(apid, event_id, Severity(severity), self._now(), raw)
        self.recent.append(event)
        self.counts[event.severity] += 1
        self._log.log(_LOG_LEVEL[event.severity], "[%#05x:%d] %s", apid, event_id, raw)
        self._bus.publish(EVENT_MSG.msg_id, EVENT_MSG.pack(
            apid=apid, event_id=event_id, severity=int(severity), time_s=event.time_s,
            text=raw.encode("utf-8")))
        return event
