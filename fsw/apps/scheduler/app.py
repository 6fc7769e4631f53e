"""Time-based scheduling, ECSS-E-ST-70-41C service 11, on board.

The comms app turns TC[11,x] into commands for this app (function codes
10 enable, 11 disable, 12 reset, 13 insert, 14 delete by ID; insert and
delete carry the ST11 application data unchanged). Each activity is a whole
PUS TC with a release time (CUC, seconds of mission time on the executive
clock). When the schedule is enabled and an activity's time has come, the
TC goes back to the comms app (function code 20) and through the same
routing as an uplinked TC; it was authorised when it was inserted.

The schedule is kept in the core store when one is configured, so it
survives a reboot. At most MAX_ACTIVITIES activities are held.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

from fsw.core import CommandError, Field, Reason, Severity, cmd_msg_id, command
from fsw.core.app import COMMAND_HEADER, App
from fsw.core.events import EventDef
from fsw.core.ids import COMMS_APID, SCHEDULER_APID
from fsw.protocol import ProtocolError
from fsw.protocol import services as sv
from fsw.protocol.pus import PusTc

MAX_ACTIVITIES = 256
FC_INSERT = 13
FC_DELETE = 14
FC_EXECUTE_TC = 20  # the comms app's function code for a released TC
_NS = "scheduler"
_RELEASE = struct.Struct(">d")
EV_RELEASED = EventDef(10, "RELEASED", Severity.INFO, "released TC {activity}",
                       burst=20, rate_hz=2.0)
EV_RELEASE_FAILED = EventDef(11, "RELEASE_FAILED", Severity.MEDIUM,
                             "release of {activity} failed: {why}", burst=20, rate_hz=2.0)


def _key(a: sv.ActivityId) -> str:
    return f"{a.source_id}:{a.apid}:{a.seq_count}"


class SchedulerApp(App):
    NAME = "scheduler"
    APID = SCHEDULER_APID
    HK_FIELDS = (
        Field("enabled", "?"),
        Field("activities", "H"),
        Field("released", "I"),
    )
    EVENTS = (EV_RELEASED, EV_RELEASE_FAILED)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        self.enabled = bool(self.config.get("enabled", True))
        self.activities: dict[sv.ActivityId, tuple[float, bytes]] = {}
        self.released = 0
        self.comms_cmd = cmd_msg_id(int(self.config.get("comms_apid", COMMS_APID)))

    def init(self) -> None:
        store = self.ctx.store
        if store is None:
            return
        for key, value in store.items(_NS):
            if key == "enabled":
                self.enabled = value == b"\x01"
                continue
            release = _RELEASE.unpack_from(value)[0]
            tc = PusTc.decode(value[_RELEASE.size:])
            self.activities[sv.ActivityId.of(tc)] = (release, value[_RELEASE.size:])

    def execute(self) -> None:
        if not self.enabled or not self.activities:
            return
        now = self.now()
        # in order of release time, then activity ID
        due = sorted((t, aid) for aid, (t, _) in self.activities.items() if t <= now)
        for _t, aid in due:
            _release, raw = self.activities[aid]
            self._forget(aid)
            tc = PusTc.decode(raw)
            try:
                self.bus.publish(self.comms_cmd,
                                 COMMAND_HEADER.pack(tc.request_id, FC_EXECUTE_TC) + raw)
            except Exception as exc:  # a bus fault must not stop later releases
                self.event(EV_RELEASE_FAILED, activity=_key(aid), why=exc)
                continue
            self.released += 1
            self.event(EV_RELEASED, activity=_key(aid))

    def housekeeping_values(self) -> Mapping[str, Any]:
        return {"enabled": self.enabled, "activities": len(self.activities),
                "released": self.released}

    # -- ST11 requests -------------------------------------------------------------
    @command(10)
    def enable_schedule(self) -> None:
        """TC[11,1]: start releasing activities."""
        self._set_enabled(True)

    @command(11)
    def disable_schedule(self) -> None:
        """TC[11,2]: stop releasing (activities are kept)."""
        self._set_enabled(False)

    @command(12)
    def reset_schedule(self) -> None:
        """TC[11,3]: delete every activity and disable the schedule."""
        for aid in list(self.activities):
            self._forget(aid)
        self._set_enabled(False)

    @command(FC_INSERT, parse=lambda body: {"items": _decoded(sv.decode_insert, body)})
    def insert_activities(self, items: list[sv.ScheduledTc]) -> None:
        """TC[11,4]: schedule time-tagged TCs, all or none."""
        self._insert(items)

    @command(FC_DELETE, parse=lambda body: {"ids": _decoded(sv.decode_delete, body)})
    def delete_activities(self, ids: list[sv.ActivityId]) -> None:
        """TC[11,5]: delete activities by request ID, all or none."""
        self._delete(ids)

    def _insert(self, items: list[sv.ScheduledTc]) -> None:
        new = {sv.ActivityId.of(a.tc): a for a in items}
        if len(set(self.activities) | set(new)) > MAX_ACTIVITIES:
            raise CommandError(Reason.NOT_ALLOWED_NOW, "schedule full")
        if len(new) != len(items):
            raise CommandError(Reason.BAD_ARGUMENT, "the same activity twice in one request")
        again = [aid for aid in new if aid in self.activities]
        if again:
            raise CommandError(Reason.BAD_ARGUMENT, f"activity {_key(again[0])} is already "
                               "scheduled; delete it first")
        # all or nothing: write them in one transaction
        store = self.ctx.store
        if store is not None:
            with store.transaction():
                for aid, a in new.items():
                    store.put(_NS, _key(aid), _RELEASE.pack(a.release.seconds) + a.tc.encode())
        for aid, a in new.items():
            self.activities[aid] = (a.release.seconds, a.tc.encode())

    def _delete(self, ids: list[sv.ActivityId]) -> None:
        missing = [i for i in ids if i not in self.activities]
        if missing:
            raise CommandError(Reason.BAD_ARGUMENT, f"no activity {_key(missing[0])}")
        for aid in ids:
            self._forget(aid)

    def _forget(self, aid: sv.ActivityId) -> None:
        self.activities.pop(aid, None)
        if self.ctx.store is not None:
            self.ctx.store.delete(_NS, _key(aid))

    def _set_enabled(self, on: bool) -> None:
        self.enabled = on
        if self.ctx.store is not None:
            self.ctx.store.put(_NS, "enabled", b"\x01" if on else b"\x00")


def _decoded(decode: Callable[[bytes], Any], body: bytes) -> Any:
    """ST11 request data, or ValueError (a refusal at acceptance) naming what is wrong."""
    try:
        return decode(body)
    except ProtocolError as exc:
        raise ValueError(f"ST11 data: {exc}") from None
