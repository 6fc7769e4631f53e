"""The flight comms app: the on-board end of the space link.

Uplink, for every received TC frame (see fsw.protocol.uplink for the order
and why): frame checks -> SDLS authentication and anti-replay -> FARM-1 ->
durable ARSN commit -> segment reassembly -> PUS TC decode -> authorisation
(a partner's SA may command only the APIDs allocated to it in the key file;
the bus operator's SA may command all) -> routing:

- ST17 are-you-alive / connection test: answered here.
- ST8 perform function: bus command `[request_id][function_code][args]` on
  `cmd_msg_id(apid)`; the app's CommandResult messages become ST1 reports.
- ST20 report / set parameter values: the core's standard app commands
  3 REPORT_PARAMETER and 2 SET_PARAMETER (parameter ID = index in the app's
  PARAMETERS); ParameterReport messages become TM[20,2].
- ST11 scheduling: to the scheduler app (fsw.apps.scheduler), which later
  hands released TCs back here (function code 20) into the same routing.
- ST3 housekeeping and ST5 events: handled here; structure ID = APID of the
  app whose housekeeping message is reported; event reports carry the APID
  of the app that raised the event and its event ID.

Every rejected frame or packet is counted by reason, raised as an event and,
when a request ID can be recovered, answered with an ST1 failure report.
ST1 failure codes: the core's command Reason values (below 0x100) as the apps
report them, and LINK_FAILURE_BASE + fsw.protocol.Reason for rejections by
the link and the comms app itself.

Downlink: PUS TM packets on TM virtual channel 0, fixed-length frames with
the CLCW of the TC virtual channels (in turn) in the OCF, and a bounded
frame queue (`take_frames`); overflow drops the oldest frames, counted.
"""

from __future__ import annotations

import struct
from collections import Counter, OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsw.core import (
    COMMAND_RESULT_MSG,
    EVENT_MSG,
    PARAMETER_REPORT_MSG,
    App,
    BusError,
    Field,
    Severity,
    cmd_msg_id,
    tm_msg_id,
)
from fsw.core.app import COMMAND_HEADER
from fsw.core.events import EventDef
from fsw.core.ids import COMMS_APID, SCHEDULER_APID
from fsw.protocol import ProtocolError
from fsw.protocol import Reason as Why
from fsw.protocol import services as sv
from fsw.protocol.cuc import CucTime
from fsw.protocol.keyfile import load_key_file
from fsw.protocol.pus import ACK_ACCEPTANCE, ACK_COMPLETION, ACK_PROGRESS, ACK_START, PusTc, PusTm
from fsw.protocol.sdls import SecurityAssociation
from fsw.protocol.spp import SequenceCounter
from fsw.protocol.store import ArsnStore
from fsw.protocol.tm import TmMasterChannel
from fsw.protocol.uplink import TcReceiver, VcConfig

LINK_FAILURE_BASE = 0x100
# Rejections come at the uplink's pace, which a sender controls: squelched.
EV_FRAME_REJECTED = EventDef(100, "FRAME_REJECTED", Severity.LOW, "TC frame rejected: {why}",
                             burst=20, rate_hz=2.0)
EV_TC_REJECTED = EventDef(101, "TC_REJECTED", Severity.LOW, "TC rejected: {why}",
                          burst=20, rate_hz=2.0)
EV_DOWNLINK_OVERFLOW = EventDef(102, "DOWNLINK_OVERFLOW", Severity.MEDIUM,
                                "downlink queue full: {count} oldest frames dropped",
                                burst=5, rate_hz=0.1)
EV_REKEYED = EventDef(103, "REKEYED", Severity.MEDIUM, "SA rekeyed via SPI {spi}")
EV_CONTROL_COMMAND = EventDef(104, "CONTROL_COMMAND", Severity.INFO, "COP-1 control on VC {vcid}",
                              burst=10, rate_hz=1.0)

# comms function code for a TC released by the scheduler: [request_id][20][TC packet]
FC_EXECUTE_TC = 20
# scheduler function codes for the ST11 requests
SCHEDULER_CODES = {sv.SCHED_ENABLE: 10, sv.SCHED_DISABLE: 11, sv.SCHED_RESET: 12,
                   sv.SCHED_INSERT: 13, sv.SCHED_DELETE: 14}
_STAGE_ACK = {1: ACK_ACCEPTANCE, 3: ACK_START, 5: ACK_PROGRESS, 7: ACK_COMPLETION}
_PENDING_MAX = 256
_DISABLED_EVENTS_MAX = 1024


@dataclass
class _Pending:
    """A TC routed to apps, waiting for their CommandResults."""

    tc: PusTc
    expected: int  # bus commands sent for it
    accepted: int = 0
    completed: int = 0
    failed: bool = False


class CommsApp(App):
    """TC frames in, TM frames out, PUS services in between."""

    NAME = "comms"
    APID = COMMS_APID
    COMMAND_PIPE_DEPTH = 64
    HK_FIELDS = (
        Field("frames_accepted", "I"),
        Field("frames_rejected", "I"),
        Field("last_reject_reason", "H", doc="fsw.protocol.Reason of the last rejection"),
        Field("tcs_routed", "I"),
        Field("tcs_rejected", "I"),
        Field("tm_packets", "I"),
        Field("frames_dropped", "I", doc="downlink frames dropped, queue full"),
        Field("farm_vr", "B", doc="FARM-1 V(R) of TC VC 0"),
        Field("farm_lockout", "?"),
    )
    EVENTS = (EV_FRAME_REJECTED, EV_TC_REJECTED, EV_DOWNLINK_OVERFLOW, EV_REKEYED,
              EV_CONTROL_COMMAND)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        cfg = self.config
        self.scid = int(cfg.get("scid", 0x2AB))
        self.vcs: dict[int, VcConfig] = {}
        self.frame_len = int(cfg.get("tm_frame_len", 256))
        self.queue_frames = int(cfg.get("downlink_queue_frames", 1024))
        self.uplink_queue: deque[bytes] = deque(maxlen=int(cfg.get("uplink_queue_frames", 64)))
        self._uplink_overflow = 0
        self.rx: TcReceiver | None = None
        self.tm = TmMasterChannel(self.scid, self.frame_len, vcids=(0,))
        self.frames: deque[bytes] = deque()
        self.seq = SequenceCounter()
        self.msg_counters: Counter[tuple[int, int]] = Counter()
        self.pending: OrderedDict[int, _Pending] = OrderedDict()
        self.rejected_by_reason: Counter[Why] = Counter()
        self.frames_accepted = 0
        self.frames_rejected = 0
        self.last_reject_reason = 0
        self.tcs_routed = 0
        self.tcs_rejected = 0
        self.tm_packets = 0
        self.frames_dropped = 0
        self._clcw_turn = 0
        self.hk_enabled: dict[int, bool] = {}
        self.hk_one_shot: set[int] = set()
        self.disabled_events: set[tuple[int, int]] = set()

    # -- init ------------------------------------------------------------------
    def init(self) -> None:
        key_file = self.config.get("key_file")
        if not key_file:
            raise ValueError("comms: 'key_file' is not configured")
        db = self.config.get("arsn_db") or str(Path(key_file).with_suffix(".arsn.db"))
        keys = load_key_file(key_file)
        vcids = [int(v) for v in self.config.get("tc_vcids", sorted(keys.vcids))]
        self.vcs = {v: VcConfig(v, segment_header=True, authenticated=True,
                                farm_window=int(self.config.get("farm_window", 10)))
                    for v in vcids}
        self.rx = TcReceiver(self.scid, self.vcs, keys.engine(ArsnStore(db)))
        self.results = self.bus.create_pipe("comms.results", 256)
        self.bus.subscribe(self.results, COMMAND_RESULT_MSG.msg_id)
        self.params_in = self.bus.create_pipe("comms.parameters", 256)
        self.bus.subscribe(self.params_in, PARAMETER_REPORT_MSG.msg_id)
        self.events_in = self.bus.create_pipe("comms.events", 256)
        self.bus.subscribe(self.events_in, EVENT_MSG.msg_id)
        self.hk_in = self.bus.create_pipe("comms.housekeeping", 256)

    def start(self) -> None:
        # every app's housekeeping message is a structure, SID = APID, enabled
        for msg_id, mtype in self.bus.registered().items():
            if mtype is not None and mtype.name.endswith("Housekeeping") and not msg_id & 0x1000:
                self.bus.subscribe(self.hk_in, msg_id)
                self.hk_enabled.setdefault(msg_id & 0x7FF, True)

    # -- link side -------------------------------------------------------------
    def receive_frame(self, raw: bytes) -> None:
        """Queue one TC frame from a link; processed in the next cycle.

        Safe to call from a link thread: it only appends to the queue. When the
        queue is full the oldest frame is dropped; the drop is counted here and
        reported (counter, reason, event) by the next cycle.
        """
        if len(self.uplink_queue) == self.uplink_queue.maxlen:
            self._uplink_overflow += 1
        self.uplink_queue.append(bytes(raw))

    def process_frame(self, raw: bytes) -> None:
        """Process one TC frame now."""
        self.process_frames([raw])

    def process_frames(self, frames: list[bytes]) -> None:
        """Process a burst of TC frames now, with one durable anti-replay commit
        before any of them is acted on."""
        assert self.rx is not None
        for result in self.rx.receive_many(frames):
            if isinstance(result, ProtocolError):
                self._reject_frame(result.reason, str(result))
            else:
                self.frames_accepted += 1
                self._deliver(result)
                for problem in result.problems:
                    self._reject_tc(problem.reason, f"in an accepted frame: {problem}")

    def _deliver(self, deliveries: list) -> None:
        for d in deliveries:
            if d.kind == "rekey":
                self.event(EV_REKEYED, spi=d.sa.spi)
            elif d.kind == "control":
                self.event(EV_CONTROL_COMMAND, vcid=d.vcid)
            else:
                self._uplinked_packet(d.packet, d.sa)

    def take_frames(self, max_frames: int | None = None) -> list[bytes]:
        """TM frames ready for the downlink, oldest first."""
        self._packetise()
        n = len(self.frames) if max_frames is None else min(max_frames, len(self.frames))
        return [self.frames.popleft() for _ in range(n)]

    # -- main loop ---------------------------------------------------------------
    def execute(self) -> None:
        lost, self._uplink_overflow = self._uplink_overflow, 0
        for _ in range(lost):
            self._reject_frame(Why.QUEUE_FULL, "uplink queue full, oldest frame dropped")
        burst = []
        while self.uplink_queue:
            burst.append(self.uplink_queue.popleft())
        if burst:
            self.process_frames(burst)
        for _mid, payload in self.results.drain():
            self._command_result(COMMAND_RESULT_MSG.unpack(payload))
        for _mid, payload in self.params_in.drain():
            v = PARAMETER_REPORT_MSG.unpack(payload)
            self._send_tm(v["apid"], sv.ST_PARAMETERS, sv.PARAM_REPORT,
                          sv.encode_values([(v["index"], float(v["value"]))]))
        for _mid, payload in self.events_in.drain():
            self._event_report(payload)
        for msg_id, payload in self.hk_in.drain():
            sid = msg_id & 0x7FF
            if self.hk_enabled.get(sid) or sid in self.hk_one_shot:
                self.hk_one_shot.discard(sid)
                self._send_tm(sid, sv.ST_HOUSEKEEPING, sv.HK_REPORT,
                              sv.HkReport(sid, payload).encode())
        self._packetise()

    def housekeeping_values(self) -> Mapping[str, Any]:
        farm = self.rx.farms[min(self.vcs)] if self.rx else None
        return {"frames_accepted": self.frames_accepted, "frames_rejected": self.frames_rejected,
                "last_reject_reason": self.last_reject_reason, "tcs_routed": self.tcs_routed,
                "tcs_rejected": self.tcs_rejected, "tm_packets": self.tm_packets,
                "frames_dropped": self.frames_dropped,
                "farm_vr": farm.vr if farm else 0, "farm_lockout": bool(farm and farm.lockout)}

    # -- commands ------------------------------------------------------------------
    def handle_command(self, payload: bytes) -> None:
        """Function 20 carries a whole TC released by the scheduler; the rest
        are the standard commands."""
        if len(payload) > COMMAND_HEADER.size and payload[4] == FC_EXECUTE_TC:
            self._route(payload[COMMAND_HEADER.size:], None, scheduled=True)
            return
        super().handle_command(payload)

    # -- uplink routing --------------------------------------------------------------
    def _uplinked_packet(self, packet: bytes, sa: SecurityAssociation | None) -> None:
        self._route(packet, sa, scheduled=False)

    def _route(self, packet: bytes, sa: SecurityAssociation | None, scheduled: bool) -> None:
        try:
            tc = PusTc.decode(packet)
        except ProtocolError as exc:
            if len(packet) >= 6:
                rid = int.from_bytes(packet[:4], "big")
                apid = rid >> 16 & 0x7FF
                if apid < 0x7FF:
                    self._verify(apid, rid, sv.ACCEPT_FAIL, exc.reason, ack=0xF)
            self._reject_tc(exc.reason, str(exc))
            return
        try:
            if not scheduled:
                self._authorise(tc, sa)
            app_data = sv.decode_tc_app_data(tc)
            self._dispatch(tc, app_data, sa)
        except ProtocolError as exc:
            self._fail_tc(tc, sv.ACCEPT_FAIL, exc.reason, str(exc))
        except BusError as exc:
            self._fail_tc(tc, sv.ROUTING_FAIL, Why.NO_SUCH_TARGET, str(exc))

    def _authorise(self, tc: PusTc, sa: SecurityAssociation | None) -> None:
        if sa is None:
            raise ProtocolError(Why.NOT_AUTHENTICATED, "TC did not arrive on an SA")
        if sa.may_command(tc.apid):
            return
        if (tc.service, tc.subtype) == (sv.ST_SCHEDULING, sv.SCHED_INSERT):
            # a partner may schedule its own TCs: each inner TC is checked instead
            for act in sv.decode_insert(tc.app_data):
                if not sa.may_command(act.tc.apid):
                    raise ProtocolError(Why.NOT_AUTHORISED,
                                        f"{sa.owner} may not command APID {act.tc.apid:#x}")
            return
        raise ProtocolError(Why.NOT_AUTHORISED, f"{sa.owner} may not command APID {tc.apid:#x}")

    def _dispatch(self, tc: PusTc, data: object, sa: SecurityAssociation | None) -> None:
        s, t = tc.service, tc.subtype
        if s == sv.ST_TEST:
            if t == sv.CONNECTION_TEST and cmd_msg_id(data) not in self.bus.registered():
                raise ProtocolError(Why.NO_SUCH_TARGET, f"no application process {data:#x}")
            self._direct(tc, sv.PONG if t == sv.PING else sv.CONNECTION_REPORT,
                         b"" if t == sv.PING else sv.encode_connection_test(data))
        elif s == sv.ST_FUNCTION:
            self._to_app(tc, [bytes((data.function_id,)) + data.args])
        elif s == sv.ST_PARAMETERS:
            if t == sv.PARAM_REPORT_REQ:
                cmds = [bytes((3,)) + struct.pack(">H", i) for i in data]
            else:
                cmds = []
                for pid, value in data:
                    if isinstance(value, bytes):
                        raise ProtocolError(Why.BAD_ARGUMENT, "parameters are numbers")
                    cmds.append(bytes((2,)) + struct.pack(">Hd", pid, float(value)))
            if not cmds:
                raise ProtocolError(Why.BAD_APP_DATA, "no parameters named")
            self._to_app(tc, cmds)
        elif s == sv.ST_SCHEDULING:
            if t == sv.SCHED_INSERT:
                now = self.now()
                for act in data:
                    if act.release.seconds < now:
                        raise ProtocolError(Why.BAD_TIME, "release time already passed")
            code = SCHEDULER_CODES[t]
            self._to_app(tc, [bytes((code,)) + tc.app_data], apid=SCHEDULER_APID)
        elif s == sv.ST_HOUSEKEEPING:
            self._housekeeping_tc(tc, data)
        elif s == sv.ST_EVENTS:
            if t == sv.EV_DISABLE and len(self.disabled_events | {(tc.apid, e) for e in data}) \
                    > _DISABLED_EVENTS_MAX:
                raise ProtocolError(Why.BAD_ARGUMENT, "too many disabled event IDs")
            for eid in data:
                key = (tc.apid, eid)
                if t == sv.EV_DISABLE:
                    self.disabled_events.add(key)
                else:
                    self.disabled_events.discard(key)
            self._direct(tc, None, b"")

    def _housekeeping_tc(self, tc: PusTc, data: object) -> None:
        t = tc.subtype
        if t == sv.HK_CREATE:
            if data.params:
                raise ProtocolError(Why.BAD_ARGUMENT,
                                    "structures are whole app housekeeping messages")
            if tm_msg_id(data.sid) not in self.bus.registered():
                raise ProtocolError(Why.NO_SUCH_TARGET, f"no housekeeping from {data.sid:#x}")
            self.bus.subscribe(self.hk_in, tm_msg_id(data.sid))
            self.hk_enabled[data.sid] = False
        else:
            unknown = [sid for sid in data if sid not in self.hk_enabled]
            if unknown:
                raise ProtocolError(Why.BAD_ARGUMENT, f"no structure {unknown[0]}")
            for sid in data:
                if t == sv.HK_ENABLE:
                    self.hk_enabled[sid] = True
                elif t == sv.HK_DISABLE:
                    self.hk_enabled[sid] = False
                elif t == sv.HK_DELETE:
                    self.hk_enabled.pop(sid)
                    self.bus.unsubscribe(self.hk_in, tm_msg_id(sid))
                else:
                    self.hk_one_shot.add(sid)
        self._direct(tc, None, b"")

    def _direct(self, tc: PusTc, reply_subtype: int | None, reply: bytes) -> None:
        """A TC handled here: acceptance, the reply, completion."""
        self.tcs_routed += 1
        self._verify(tc.apid, tc.request_id, sv.ACCEPT_OK, ack=tc.ack_flags, dest=tc.source_id)
        if reply_subtype is not None:
            self._send_tm(tc.apid, tc.service, reply_subtype, reply, dest=tc.source_id)
        self._verify(tc.apid, tc.request_id, sv.COMPLETE_OK, ack=tc.ack_flags, dest=tc.source_id)

    def _to_app(self, tc: PusTc, bodies: list[bytes], apid: int | None = None) -> None:
        """Send one bus command per body to the target app; ST1 follows its results."""
        target = cmd_msg_id(tc.apid if apid is None else apid)
        if target not in self.bus.registered():
            raise BusError(f"no application process {target & 0x7FF:#x}")
        rid = tc.request_id
        self.pending[rid] = _Pending(tc, len(bodies))
        self.pending.move_to_end(rid)
        while len(self.pending) > _PENDING_MAX:
            self.pending.popitem(last=False)
        for body in bodies:
            self.bus.publish(target, COMMAND_HEADER.pack(rid, body[0]) + body[1:])
        self.tcs_routed += 1

    def _command_result(self, r: dict[str, Any]) -> None:
        p = self.pending.get(r["request_id"])
        if p is None:
            return  # a command that did not come from the ground
        stage, ok, tc = r["stage"], r["ok"], p.tc
        if not ok:
            if not p.failed:
                p.failed = True
                self._verify(tc.apid, tc.request_id, stage + 1, r["reason"], ack=0xF,
                             dest=tc.source_id)
            if stage in (1, 7):
                p.completed += 1
        elif stage == 1:
            p.accepted += 1
            if p.accepted == 1:
                self._verify(tc.apid, tc.request_id, sv.ACCEPT_OK, ack=tc.ack_flags,
                             dest=tc.source_id)
        elif stage in (3, 5):
            self._verify(tc.apid, tc.request_id, stage, ack=tc.ack_flags, dest=tc.source_id)
        elif stage == 7:
            p.completed += 1
            if p.completed == p.expected and not p.failed:
                self._verify(tc.apid, tc.request_id, sv.COMPLETE_OK, ack=tc.ack_flags,
                             dest=tc.source_id)
        if p.completed >= p.expected:
            self.pending.pop(tc.request_id, None)

    # -- rejections ------------------------------------------------------------------
    def _reject_frame(self, reason: Why, text: str) -> None:
        self.frames_rejected += 1
        self.last_reject_reason = int(reason)
        self.rejected_by_reason[reason] += 1
        self.event(EV_FRAME_REJECTED, why=text)

    def _reject_tc(self, reason: Why, text: str) -> None:
        self.tcs_rejected += 1
        self.rejected_by_reason[reason] += 1
        self.event(EV_TC_REJECTED, why=text)

    def _fail_tc(self, tc: PusTc, subtype: int, reason: Why, text: str) -> None:
        self._verify(tc.apid, tc.request_id, subtype, reason, ack=0xF, dest=tc.source_id)
        self._reject_tc(reason, f"TC[{tc.service},{tc.subtype}] to {tc.apid:#x}: {text}")

    # -- telemetry out ---------------------------------------------------------------
    def _verify(self, apid: int, rid: int, subtype: int, reason: int | None = None, *,
                ack: int, dest: int = 0) -> None:
        success = subtype % 2 == 1
        if success and not ack & _STAGE_ACK.get(subtype, 0):
            return
        code = None
        if not success:
            code = int(reason or 0)
            if isinstance(reason, Why):
                code += LINK_FAILURE_BASE
        self._send_tm(apid, sv.ST_VERIFICATION, subtype,
                      sv.VerificationReport(subtype, rid, None if subtype not in (5, 6) else 0,
                                            code).encode(), dest=dest)

    def _event_report(self, payload: bytes) -> None:
        v = EVENT_MSG.unpack(payload)
        if (v["apid"], v["event_id"]) in self.disabled_events:
            return
        text = v["text"].rstrip(b"\0")
        self._send_tm(v["apid"], sv.ST_EVENTS, v["severity"],
                      sv.EventReport(v["severity"], v["event_id"], text).encode())

    def _send_tm(self, apid: int, service: int, subtype: int, data: bytes, dest: int = 0) -> None:
        key = (apid, service)
        count = self.msg_counters[key] & 0xFFFF
        self.msg_counters[key] += 1
        tm = PusTm(apid, service, subtype, data, seq_count=self.seq.next(apid),
                   msg_counter=count, dest_id=dest, time=CucTime.from_seconds(max(self.now(), 0)))
        self.tm.add_packet(0, tm.encode())
        self.tm_packets += 1

    def _packetise(self) -> None:
        if self.rx is None:
            return
        vcids = sorted(self.vcs)
        self.tm.vcs[0].flush()
        while self.tm.vcs[0].pending:
            self.tm.clcw = self.rx.clcw(vcids[self._clcw_turn % len(vcids)])
            self._clcw_turn += 1
            self.frames.append(self.tm.frame(0))
        if len(self.frames) > self.queue_frames:
            n = len(self.frames) - self.queue_frames
            for _ in range(n):
                self.frames.popleft()
            self.frames_dropped += n
            self.event(EV_DOWNLINK_OVERFLOW, count=n)

    def idle_frame(self) -> bytes:
        """A frame to send when nothing is queued: idle data with a current CLCW."""
        assert self.rx is not None
        self.tm.clcw = self.rx.clcw(min(self.vcs))
        return self.tm.frame()
