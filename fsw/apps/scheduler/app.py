"""Time-based scheduling, ECSS-E-ST-70-41C service 11, on board, for many
key holders.

The comms app turns TC[11,x] into commands for this app (`ST11_FUNCTION`).
Each command's arguments start with the `Owner` header the comms app
stamps: the SPI of the key holder that sent the TC, whether it may act on
the whole schedule, and its schedule-slot quota. Every activity is stored
with its owner. When the schedule (and the owner's own sub-schedule) is
enabled and an activity's time has come, the TC goes back to the comms app
on the released-TC message with its owner's SPI, and the comms app
authorises it against that key holder's rights before it is dispatched.
So a TC never runs with more authority than the key holder that scheduled
it, whether it waited one cycle or across a reboot.

A key holder without `whole_schedule` sees, deletes, enables and disables
only its own activities: TC[11,1]/[11,2] switch its own sub-schedule, TC[11,3]
deletes its own activities. The bus operator's TC[11,1..3] act on the whole
schedule. Partners draw from a shared pool of MAX_ACTIVITIES slots, each
within its own quota; the operator's activities do not count against the
pool, so partners can never fill the schedule against the operator.

The schedule is kept in the core store when one is configured, so it
survives a reboot, owners included.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from fsw.core import CommandError, Field, Reason, Severity, command
from fsw.core.app import App
from fsw.core.events import EventDef
from fsw.core.ids import RELEASED_TC_APID, SCHEDULE_REPORT_APID, SCHEDULER_APID
from fsw.core.message import tm_msg_id
from fsw.protocol import ProtocolError
from fsw.protocol import services as sv
from fsw.protocol.cuc import CucTime

MAX_ACTIVITIES = 256  # the pool every key holder without whole_schedule shares
MAX_OPERATOR_ACTIVITIES = 256
RELEASES_PER_CYCLE = 16  # bounded work per cycle; the rest follow in the next cycles
# The scheduler's function code for each ST11 request, declared once.
ST11_FUNCTION: dict[int, int] = {sv.SCHED_ENABLE: 10, sv.SCHED_DISABLE: 11,
                                 sv.SCHED_RESET: 12, sv.SCHED_INSERT: 13, sv.SCHED_DELETE: 14,
                                 sv.SCHED_SUMMARY_REQ: 15}
# The released-TC message: [owner SPI: u16][the TC packet].
RELEASED_TC_MSG_ID = tm_msg_id(RELEASED_TC_APID)
RELEASED_TC_HEADER = struct.Struct(">H")
RELEASED_TC_MAX = 1008
# The summary report: [request ID (the comms app's token): u32][TM[11,13] data], as
# many messages as it takes (at most SUMMARY_PER_MESSAGE activities each).
SCHEDULE_REPORT_MSG_ID = tm_msg_id(SCHEDULE_REPORT_APID)
SCHEDULE_REPORT_HEADER = struct.Struct(">I")
SUMMARY_PER_MESSAGE = 64
_NS = "scheduler"
_RELEASE = struct.Struct(">d")

EV_RELEASED = EventDef(10, "RELEASED", Severity.INFO, "released TC {activity}",
                       burst=20, rate_hz=2.0)
EV_RELEASE_FAILED = EventDef(11, "RELEASE_FAILED", Severity.MEDIUM,
                             "release of {activity} failed: {why}", burst=20, rate_hz=2.0)
EV_OWNERLESS_DROPPED = EventDef(12, "OWNERLESS_DROPPED", Severity.MEDIUM,
                                "stored activity {key} has no readable owner: dropped",
                                burst=10, rate_hz=0.0)


@dataclass(frozen=True)
class Owner:
    """Who sent an ST11 request, stamped by the comms app: the key holder's
    SPI, whether it may act on the whole schedule, its schedule-slot quota."""

    spi: int
    whole_schedule: bool
    slots: int

    HEADER = struct.Struct(">HBH")

    def encode(self) -> bytes:
        return self.HEADER.pack(self.spi, int(self.whole_schedule), min(self.slots, 0xFFFF))

    @classmethod
    def split(cls, body: bytes) -> tuple[Owner, bytes]:
        """The owner header and the ST11 application data after it."""
        if len(body) < cls.HEADER.size:
            raise ValueError("no owner header")
        spi, flags, slots = cls.HEADER.unpack_from(body)
        if flags > 1:
            raise ValueError("owner flags")
        return cls(spi, bool(flags), slots), body[cls.HEADER.size:]


@dataclass(frozen=True, order=True)
class ActivityKey:
    """An activity as the scheduler keeps it: its owner's SPI and its ST11 ID."""

    owner: int
    aid: sv.ActivityId

    def store_key(self) -> str:
        a = self.aid
        return f"act:{self.owner}:{a.source_id}:{a.apid}:{a.seq_count}"

    def __str__(self) -> str:
        a = self.aid
        return f"SPI {self.owner} {a.source_id}:{a.apid}:{a.seq_count}"


def _st11_request(decode: Callable[[bytes], Any] | None, body: bytes) -> dict[str, Any]:
    """Owner header, then the ST11 data (`decode` None: the request takes none),
    or ValueError (a refusal at acceptance). Each request binds its decoder
    with `partial`."""
    owner, data = Owner.split(body)
    if decode is None:
        if data:
            raise ValueError("ST11 data: this request takes none")
        return {"owner": owner}
    try:
        return {"owner": owner, "items": decode(data)}
    except ProtocolError as exc:
        raise ValueError(f"ST11 data: {exc}") from None


class SchedulerApp(App):
    NAME = "scheduler"
    APID = SCHEDULER_APID
    HK_FIELDS = (
        Field("enabled", "?"),
        Field("activities", "H"),
        Field("released", "I"),
    )
    EVENTS = (EV_RELEASED, EV_RELEASE_FAILED, EV_OWNERLESS_DROPPED)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        self.enabled = bool(self.config.get("enabled", True))
        self.owners_disabled: set[int] = set()
        self.privileged: set[int] = set()  # owners with whole_schedule: outside the pool
        self.activities: dict[ActivityKey, tuple[float, bytes]] = {}
        self.released = 0
        self.bus.register_variable(RELEASED_TC_MSG_ID, "released TCs", RELEASED_TC_MAX)
        self.bus.register_variable(SCHEDULE_REPORT_MSG_ID, "schedule summaries", RELEASED_TC_MAX)

    def init(self) -> None:
        store = self.ctx.store
        if store is None:
            return
        for key, value in store.items(_NS):
            if key == "enabled":
                self.enabled = value == b"\x01"
            elif key.startswith("off:"):
                self.owners_disabled.add(int(key[4:]))
            elif key.startswith("priv:"):
                self.privileged.add(int(key[5:]))
            elif key.startswith("act:") and len(value) > _RELEASE.size:
                try:
                    owner, src, apid, seq = (int(v) for v in key[4:].split(":"))
                except ValueError:
                    self._drop_stored(key)
                    continue
                release = _RELEASE.unpack_from(value)[0]
                ak = ActivityKey(owner, sv.ActivityId(src, apid, seq))
                self.activities[ak] = (release, value[_RELEASE.size:])
            else:  # written before activities had owners: no authority to run it with
                self._drop_stored(key)

    def _drop_stored(self, key: str) -> None:
        assert self.ctx.store is not None
        self.ctx.store.delete(_NS, key)
        self.event(EV_OWNERLESS_DROPPED, key=key)

    def run_cycle(self) -> None:
        """This cycle's requests and releases, written to the store in one
        durable commit (one fsync per cycle, however many requests came)."""
        store = self.ctx.store
        if store is None:
            super().run_cycle()
            return
        with store.transaction():
            super().run_cycle()

    def execute(self) -> None:
        if not self.enabled or not self.activities:
            return
        now = self.now()
        # in order of release time, then owner and activity ID
        due = sorted((t, ak) for ak, (t, _) in self.activities.items()
                     if t <= now and ak.owner not in self.owners_disabled)
        for _t, ak in due[:RELEASES_PER_CYCLE]:
            _release, raw = self.activities[ak]
            self._forget(ak)
            try:
                self.bus.publish(RELEASED_TC_MSG_ID, RELEASED_TC_HEADER.pack(ak.owner) + raw)
            except Exception as exc:  # a bus fault must not stop later releases
                self.event(EV_RELEASE_FAILED, activity=str(ak), why=exc)
                continue
            self.released += 1
            self.event(EV_RELEASED, activity=str(ak))

    def housekeeping_values(self) -> Mapping[str, Any]:
        return {"enabled": self.enabled, "activities": len(self.activities),
                "released": self.released}

    def owned_by(self, spi: int) -> list[ActivityKey]:
        return [ak for ak in self.activities if ak.owner == spi]

    # -- ST11 requests -------------------------------------------------------------
    @command(ST11_FUNCTION[sv.SCHED_ENABLE], parse=partial(_st11_request, None))
    def enable_schedule(self, owner: Owner) -> None:
        """TC[11,1]: start releasing (the whole schedule, or the sender's own activities)."""
        self._switch(owner, True)

    @command(ST11_FUNCTION[sv.SCHED_DISABLE], parse=partial(_st11_request, None), critical=True)
    def disable_schedule(self, owner: Owner) -> None:
        """TC[11,2]: stop releasing (activities are kept)."""
        self._switch(owner, False)

    @command(ST11_FUNCTION[sv.SCHED_RESET], parse=partial(_st11_request, None), critical=True)
    def reset_schedule(self, owner: Owner) -> None:
        """TC[11,3]: delete every activity (of the sender) and disable."""
        for ak in list(self.activities) if owner.whole_schedule else self.owned_by(owner.spi):
            self._forget(ak)
        self._switch(owner, False)

    @command(ST11_FUNCTION[sv.SCHED_INSERT], parse=partial(_st11_request, sv.decode_insert))
    def insert_activities(self, owner: Owner, items: list[sv.ScheduledTc]) -> None:
        """TC[11,4]: schedule time-tagged TCs, all or none, owned by the sender."""
        new = {ActivityKey(owner.spi, sv.ActivityId.of(a.tc)): a for a in items}
        if len(new) != len(items):
            raise CommandError(Reason.BAD_ARGUMENT, "the same activity twice in one request")
        again = [ak for ak in new if ak in self.activities]
        if again:
            raise CommandError(Reason.BAD_ARGUMENT, f"activity {again[0]} is already "
                               "scheduled; delete it first")
        too_long = [ak for ak, a in new.items()
                    if RELEASED_TC_HEADER.size + len(a.tc.encode()) > RELEASED_TC_MAX]
        if too_long:
            raise CommandError(Reason.BAD_ARGUMENT, f"activity {too_long[0]} is too long to "
                               "release")
        held = len(self.owned_by(owner.spi))
        if held + len(new) > owner.slots:
            raise CommandError(Reason.NOT_ALLOWED_NOW,
                               f"schedule quota of {owner.slots} activities reached")
        if owner.whole_schedule:
            in_pool, limit = held, MAX_OPERATOR_ACTIVITIES
        else:
            in_pool = sum(ak.owner not in self.privileged for ak in self.activities)
            limit = MAX_ACTIVITIES
        if in_pool + len(new) > limit:
            raise CommandError(Reason.NOT_ALLOWED_NOW, "schedule full")
        rows = {ak: (a.release.seconds, a.tc.encode()) for ak, a in new.items()}
        store = self.ctx.store
        if store is not None:  # all or nothing: one transaction (the cycle's)
            with store.transaction():
                for ak, (release, raw) in rows.items():
                    store.put(_NS, ak.store_key(), _RELEASE.pack(release) + raw)
                if owner.whole_schedule and owner.spi not in self.privileged:
                    store.put(_NS, f"priv:{owner.spi}", b"\x01")
        if owner.whole_schedule:
            self.privileged.add(owner.spi)
        self.activities.update(rows)

    @command(ST11_FUNCTION[sv.SCHED_DELETE], parse=partial(_st11_request, sv.decode_delete),
             critical=True)
    def delete_activities(self, owner: Owner, items: list[sv.ActivityId]) -> None:
        """TC[11,5]: delete activities by request ID, all or none: the sender's
        own, or (whole schedule) any key holder's with that ID."""
        found: list[ActivityKey] = []
        for aid in items:
            if owner.whole_schedule:
                hits = [ak for ak in self.activities if ak.aid == aid]
            else:
                hits = [ak for ak in (ActivityKey(owner.spi, aid),) if ak in self.activities]
            if not hits:
                raise CommandError(Reason.BAD_ARGUMENT,
                                   f"no activity {aid.source_id}:{aid.apid}:{aid.seq_count}")
            found += hits
        for ak in found:
            self._forget(ak)

    @command(ST11_FUNCTION[sv.SCHED_SUMMARY_REQ], parse=partial(_st11_request, None))
    def summary_report(self, owner: Owner) -> None:
        """TC[11,17]: report the sender's activities (every one, with the whole
        schedule right), in order of release time, as TM[11,13]."""
        keys = list(self.activities) if owner.whole_schedule else self.owned_by(owner.spi)
        rows = sorted((self.activities[ak][0], ak) for ak in keys)
        entries = [(CucTime.from_seconds(t), ak.aid) for t, ak in rows]
        token = self._request_id  # the request that asked: the dispatch set it
        for i in range(0, max(len(entries), 1), SUMMARY_PER_MESSAGE):
            self.bus.publish(SCHEDULE_REPORT_MSG_ID, SCHEDULE_REPORT_HEADER.pack(token)
                             + sv.encode_summary(entries[i:i + SUMMARY_PER_MESSAGE]))

    # -- state ---------------------------------------------------------------------
    def _forget(self, ak: ActivityKey) -> None:
        self.activities.pop(ak, None)
        if self.ctx.store is not None:
            self.ctx.store.delete(_NS, ak.store_key())

    def _switch(self, owner: Owner, on: bool) -> None:
        store = self.ctx.store
        if owner.whole_schedule:
            self.enabled = on
            if store is not None:
                store.put(_NS, "enabled", b"\x01" if on else b"\x00")
            return
        if on:
            self.owners_disabled.discard(owner.spi)
            if store is not None:
                store.delete(_NS, f"off:{owner.spi}")
        else:
            self.owners_disabled.add(owner.spi)
            if store is not None:
                store.put(_NS, f"off:{owner.spi}", b"\x00")
