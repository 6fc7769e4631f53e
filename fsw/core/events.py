"""Events: short, typed reports of what happened on board.

Every event carries the APID of the app that raised it, an event id unique
within that app, a severity, and up to 120 bytes of UTF-8 text. Severities follow
the PUS service 5 report subtypes (ECSS-E-ST-70-41C, sec. 6.5): 1
informative, 2 low, 3 medium, 4 high. Events are published on the bus (and
so reach the ground), logged, and the newest are kept in a bounded ring for
the console and for tests. With a store, each event is also journalled there
before it is published, so the event log survives a power loss.

Events are declared, like commands: an `EventDef` names the id, severity,
text format and squelch limits of one event, in the app that raises it, and
the app raises it with the values its format needs. The ground dictionary
is generated from these declarations.

Squelch (as cFE EVS does per app, here per declared event): an event with a
`burst` passes at most `burst` times back to back, then at most `rate_hz`
times a second on average (a token bucket on the executive clock). Events
held back are counted, and the next one that passes says how many were
squelched before it.
"""

from __future__ import annotations

import logging
import string
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from fsw.core.bus import SoftwareBus
from fsw.core.ids import EVENT_APID
from fsw.core.message import Field, MessageType, tm_msg_id
from fsw.core.store import Store

TEXT_BYTES = 120
EVENT_JOURNAL = "events"  # the store namespace of the event log

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
class EventDef:
    """One declared event of an app.

    `text` is a `str.format` template with named fields (``"mode {old} ->
    {new}"``); the app passes those names when it raises the event. With
    `burst` set, at most `burst` of these events pass back to back and
    then at most `rate_hz` per second (0: none until the app restarts).
    """

    id: int
    name: str
    severity: Severity
    text: str
    burst: int | None = None
    rate_hz: float = 0.0
    doc: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.id <= 0xFFFF:
            raise ValueError(f"event {self.name}: id {self.id} does not fit 16 bits")
        if self.burst is not None and self.burst < 1:
            raise ValueError(f"event {self.name}: burst must be at least 1")
        if self.rate_hz < 0:
            raise ValueError(f"event {self.name}: rate_hz must not be negative")
        object.__setattr__(self, "severity", Severity(self.severity))

    @property
    def arguments(self) -> tuple[str, ...]:
        """The names the text format needs, in order of first use."""
        names: list[str] = []
        for _, name, _, _ in string.Formatter().parse(self.text):
            if name is not None and name not in names:
                names.append(name)
        return tuple(names)

    def format(self, values: dict[str, Any]) -> str:
        """The event text with `values` filled in; a missing name is a TypeError."""
        try:
            return self.text.format(**values)
        except (KeyError, IndexError) as exc:
            raise TypeError(f"event {self.name} needs {', '.join(self.arguments)}") from exc


def check_unique(owner: str, events: Iterable[EventDef]) -> dict[int, EventDef]:
    """Index `events` by id; TypeError when two declarations share an id or a name."""
    by_id: dict[int, EventDef] = {}
    names: set[str] = set()
    for ev in events:
        other = by_id.get(ev.id)
        if other is not None and other != ev:
            raise TypeError(f"{owner}: event id {ev.id} is declared by both "
                            f"{other.name} and {ev.name}")
        if other is None and ev.name in names:
            raise TypeError(f"{owner}: two events are named {ev.name}")
        by_id[ev.id] = ev
        names.add(ev.name)
    return by_id


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


@dataclass
class _Bucket:
    tokens: float
    last_s: float
    squelched: int = 0


@dataclass
class EventLog:
    """Raises events: squelches, publishes, logs them and keeps the newest `keep`."""

    bus: SoftwareBus
    now: Callable[[], float]
    keep: int = 256
    store: Store | None = None
    """When set, every event that passes its squelch is also journalled there (durable)."""
    store_keep: int = 4096
    recent: deque[Event] = field(init=False)
    squelched: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.recent = deque(maxlen=self.keep)
        self._buckets: dict[tuple[int, int], _Bucket] = {}
        self._log = logging.getLogger("tessera.events")
        self.bus.register(EVENT_MSG)

    def emit(self, apid: int, event: EventDef, **values: Any) -> Event | None:
        """Raise declared `event` of app `apid` with its format `values`.

        Returns the event, or None when its squelch held it back (counted,
        and reported with the next one of its kind that passes).
        """
        text = event.format(values)
        if event.burst is not None:
            key = (apid, event.id)
            t = self.now()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(event.burst), t)
            bucket.tokens = min(float(event.burst),
                                bucket.tokens + max(0.0, t - bucket.last_s) * event.rate_hz)
            bucket.last_s = t
            if bucket.tokens < 1.0:
                bucket.squelched += 1
                self.squelched += 1
                return None
            bucket.tokens -= 1.0
            if bucket.squelched:
                text = f"{text} [{bucket.squelched} squelched]"
                bucket.squelched = 0
        return self.raise_event(apid, event.id, event.severity, text)

    def raise_event(self, apid: int, event_id: int, severity: Severity, text: str) -> Event:
        """Publish one event unsquelched; text beyond 120 UTF-8 bytes is cut at a character
        boundary. Apps raise their declared events with `emit` (through `App.event`)."""
        raw = text.encode("utf-8")[:TEXT_BYTES].decode("utf-8", "ignore")
        event = Event(apid, event_id, Severity(severity), self.now(), raw)
        self.recent.append(event)
        self._log.log(_LOG_LEVEL[event.severity], "[%#05x:%d] %s", apid, event_id, raw)
        packed = EVENT_MSG.pack(apid=apid, event_id=event_id, severity=int(severity),
                                time_s=event.time_s, text=raw.encode("utf-8"))
        if self.store is not None:
            self.store.append(EVENT_JOURNAL, packed, self.store_keep)
        self.bus.publish(EVENT_MSG.msg_id, packed)
        return event

    def journal(self) -> list[Event]:
        """The events kept in the store, oldest first (empty without a store)."""
        if self.store is None:
            return []
        return [Event.decode(raw) for _, raw in self.store.journal(EVENT_JOURNAL)]
