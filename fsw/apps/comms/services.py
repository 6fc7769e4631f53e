"""The PUS services the comms app carries out, one handler per declared TC
type (`fsw.protocol.services.TC_TABLE`; a test fails when a declared type
has no handler or a handler no type).

- ST3 housekeeping and ST5 events are handled here. A structure ID is the
  APID of the app whose housekeeping message it is; event IDs are those of
  the TC's APID. Only APIDs the sender may command are touched (see
  `routing`), and each key holder's entries in the table of disabled events
  count against its own `event_table_entries` quota.
- ST8 and ST20 become bus commands to the target app
  (`[request_id][function_code][args]`); its CommandResults become ST1.
- ST11 goes to the scheduler with the sender stamped as the owner.
- ST17 is answered here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from fsw.apps.scheduler import ST11_FUNCTION, Owner
from fsw.core import cmd_msg_id, tm_msg_id
from fsw.core.ids import SCHEDULER_APID
from fsw.protocol import ProtocolError
from fsw.protocol import Reason as Why
from fsw.protocol import services as sv
from fsw.protocol.pus import PusTc
from fsw.protocol.sdls import SecurityAssociation

# the core's standard app commands used by ST20 (fsw.core.app)
FC_SET_PARAMETER = 2
FC_REPORT_PARAMETER = 3
# bus commands one TC may become: bounds the work and the pipe space one TC takes
MAX_COMMANDS_PER_TC = 8

Handler = Callable[[PusTc, Any, SecurityAssociation], None]


class PusServices:
    """ST3/5/8/11/17/20 for the comms app `app` (bus, downlink, routing to apps)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.hk_enabled: dict[int, bool] = {}
        self.hk_one_shot: set[int] = set()
        self.disabled_events: dict[tuple[int, int], int] = {}  # (APID, event ID) -> SPI
        self.handlers: dict[str, Handler] = {
            "HK_CREATE": self.hk_create,
            "HK_DELETE": self.hk_change,
            "HK_ENABLE": self.hk_change,
            "HK_DISABLE": self.hk_change,
            "HK_ONE_SHOT": self.hk_change,
            "EVENTS_ENABLE": self.events_switch,
            "EVENTS_DISABLE": self.events_switch,
            "PERFORM_FUNCTION": self.perform_function,
            "SCHEDULE_ENABLE": self.schedule,
            "SCHEDULE_DISABLE": self.schedule,
            "SCHEDULE_RESET": self.schedule,
            "SCHEDULE_INSERT": self.schedule,
            "SCHEDULE_DELETE": self.schedule,
            "SCHEDULE_SUMMARY": self.schedule,
            "ARE_YOU_ALIVE": self.test,
            "CONNECTION_TEST": self.test,
            "REPORT_PARAMETERS": self.parameters,
            "SET_PARAMETERS": self.parameters,
        }

    def handle(self, ttype: sv.TcType, tc: PusTc, data: object, who: SecurityAssociation) -> None:
        self.handlers[ttype.name](tc, data, who)

    # -- ST3 -----------------------------------------------------------------------
    def hk_create(self, tc: PusTc, data: sv.HkStructure, who: SecurityAssociation) -> None:
        if data.params:
            raise ProtocolError(Why.BAD_ARGUMENT, "structures are whole app housekeeping messages")
        if tm_msg_id(data.sid) not in self.app.bus.registered():
            raise ProtocolError(Why.NO_SUCH_TARGET, f"no housekeeping from {data.sid:#x}")
        self.app.bus.subscribe(self.app.hk_in, tm_msg_id(data.sid))
        self.hk_enabled[data.sid] = False
        self.app.direct(tc, None, b"")

    def hk_change(self, tc: PusTc, data: list[int], who: SecurityAssociation) -> None:
        sids = list(dict.fromkeys(data))  # a structure named twice is acted on once
        unknown = [sid for sid in sids if sid not in self.hk_enabled]
        if unknown:
            raise ProtocolError(Why.BAD_ARGUMENT, f"no structure {unknown[0]}")
        for sid in sids:
            if tc.subtype == sv.HK_ENABLE:
                self.hk_enabled[sid] = True
            elif tc.subtype == sv.HK_DISABLE:
                self.hk_enabled[sid] = False
            elif tc.subtype == sv.HK_DELETE:
                del self.hk_enabled[sid]
                self.hk_one_shot.discard(sid)
                self.app.bus.unsubscribe(self.app.hk_in, tm_msg_id(sid))
            else:
                self.hk_one_shot.add(sid)
        self.app.direct(tc, None, b"")

    def hk_wanted(self, sid: int) -> bool:
        """Report this structure now? (enabled, or one shot pending)."""
        if sid in self.hk_one_shot:
            self.hk_one_shot.discard(sid)
            return True
        return bool(self.hk_enabled.get(sid))

    # -- ST5 -----------------------------------------------------------------------
    def events_switch(self, tc: PusTc, data: list[int], who: SecurityAssociation) -> None:
        keys = list(dict.fromkeys((tc.apid, e) for e in data))
        if tc.subtype == sv.EV_DISABLE:
            new = [k for k in keys if k not in self.disabled_events]
            mine = sum(spi == who.spi for spi in self.disabled_events.values())
            quota = who.rights.quotas.event_table_entries
            if mine + len(new) > quota:
                raise ProtocolError(Why.QUOTA_EXCEEDED,
                                    f"{who.owner}: more than {quota} disabled event IDs")
            for k in new:
                self.disabled_events[k] = who.spi
        else:
            for k in keys:
                self.disabled_events.pop(k, None)
        self.app.direct(tc, None, b"")

    def event_enabled(self, apid: int, event_id: int) -> bool:
        return (apid, event_id) not in self.disabled_events

    # -- ST8, ST20 -------------------------------------------------------------------
    def perform_function(self, tc: PusTc, data: sv.PerformFunction,
                         who: SecurityAssociation) -> None:
        self.app.to_app(tc, who, [bytes((data.function_id,)) + data.args])

    def parameters(self, tc: PusTc, data: list, who: SecurityAssociation) -> None:
        if tc.subtype == sv.PARAM_REPORT_REQ:
            cmds = [bytes((FC_REPORT_PARAMETER,)) + struct.pack(">H", i) for i in data]
        else:
            cmds = []
            for pid, value in data:
                if isinstance(value, bytes):
                    raise ProtocolError(Why.BAD_ARGUMENT, "parameters are numbers")
                cmds.append(bytes((FC_SET_PARAMETER,)) + struct.pack(">Hd", pid, float(value)))
        if not cmds:
            raise ProtocolError(Why.BAD_APP_DATA, "no parameters named")
        if len(cmds) > MAX_COMMANDS_PER_TC:
            raise ProtocolError(Why.BAD_ARGUMENT,
                                f"at most {MAX_COMMANDS_PER_TC} parameters in one TC")
        self.app.to_app(tc, who, cmds)

    # -- ST11 ------------------------------------------------------------------------
    def schedule(self, tc: PusTc, data: object, who: SecurityAssociation) -> None:
        if tc.subtype == sv.SCHED_INSERT:
            now = self.app.now()
            for act in data:  # type: ignore[attr-defined]
                if act.release.seconds < now:
                    raise ProtocolError(Why.BAD_TIME, "release time already passed")
        owner = Owner(who.spi, who.rights.whole_schedule, who.rights.quotas.schedule_slots)
        body = bytes((ST11_FUNCTION[tc.subtype],)) + owner.encode() + tc.app_data
        self.app.to_app(tc, who, [body], apid=SCHEDULER_APID)

    # -- ST17 ------------------------------------------------------------------------
    def test(self, tc: PusTc, data: object, who: SecurityAssociation) -> None:
        if tc.subtype == sv.PING:
            self.app.direct(tc, sv.PONG, b"")
            return
        assert isinstance(data, int)
        if cmd_msg_id(data) not in self.app.bus.registered():
            raise ProtocolError(Why.NO_SUCH_TARGET, f"no application process {data:#x}")
        self.app.direct(tc, sv.CONNECTION_REPORT, sv.encode_connection_test(data))
