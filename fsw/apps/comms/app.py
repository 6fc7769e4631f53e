"""The flight comms app: the on-board end of the space link, for the bus
operator and every partner at once.

The app is the wiring of four parts, each in its own module:

    link --frames--> uplink.UplinkIntake (screen on arrival, queue per key holder)
         --frames--> fsw.protocol.uplink.TcReceiver (frame checks, SDLS, rights on
                     VC/MAP, FARM-1, ARSN commit, reassembly per SA)
         --packets + the SA that sent them-->
    routing.authorise (against that key holder, at dispatch) --> services.PusServices
         --bus commands--> apps --CommandResult--> ST1 reports
    scheduler --released TC + owner's SPI--> routing.authorise again --> services
    everything on board --TM--> downlink.Downlink (per-holder TM budget) --> frames

Every TC travels with the security association (the key holder) that sent
it: off the frame, through segmentation, into the scheduler and back out of
it after any number of cycles or reboots, and it is authorised against that
key holder when it is dispatched (see `routing`). No input stops the app:
whatever goes wrong with one TC becomes an ST1 failure report for that TC
(reason HANDLER_FAILED for the unforeseen) and the next TC is handled.

Costs are bounded: frames per cycle and per key holder (`uplink`), bytes of
a reassembled unit and packets in it (`fsw.protocol.uplink`), TCs per
second and TM bytes per cycle per key holder (the key file's quotas).
Frame rejections are summarised in one event per cycle (squelched).

ST1 failure codes: the core's command Reason values (below 0x100) as the
apps report them, and LINK_FAILURE_BASE + fsw.protocol.Reason for
rejections by the link and the comms app itself.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsw.apps.comms.downlink import LINK_FAILURE_BASE, Downlink
from fsw.apps.comms.farmstate import FarmState
from fsw.apps.comms.routing import TcRateLimiter, authorise
from fsw.apps.comms.services import PusServices
from fsw.apps.comms.uplink import FRAMES_PER_CYCLE, FRAMES_PER_HOLDER, UplinkIntake
from fsw.apps.scheduler import (
    RELEASED_TC_HEADER,
    RELEASED_TC_MAX,
    RELEASED_TC_MSG_ID,
    SCHEDULE_REPORT_HEADER,
    SCHEDULE_REPORT_MSG_ID,
)
from fsw.core import (
    COMMAND_RESULT_MSG,
    EVENT_MSG,
    PARAMETER_REPORT_MSG,
    App,
    BusError,
    Field,
    Severity,
    cmd_msg_id,
)
from fsw.core.app import COMMAND_HEADER
from fsw.core.events import EventDef
from fsw.core.ids import COMMS_APID
from fsw.core.tmqueue import TmQueue
from fsw.protocol import ProtocolError
from fsw.protocol import Reason as Why
from fsw.protocol import services as sv
from fsw.protocol.keyfile import load_key_file
from fsw.protocol.pus import PusTc
from fsw.protocol.sdls import SecurityAssociation
from fsw.protocol.store import ArsnStore
from fsw.protocol.uplink import Accepted, Delivery, TcReceiver, VcConfig

# Rejections come at the uplink's pace, which a sender controls: summarised
# once per cycle and squelched.
EV_FRAMES_REJECTED = EventDef(100, "FRAMES_REJECTED", Severity.LOW,
                              "{count} TC frames rejected ({reasons}); last: {why}",
                              burst=5, rate_hz=0.5)
EV_TC_REJECTED = EventDef(101, "TC_REJECTED", Severity.LOW, "TC rejected: {why}",
                          burst=20, rate_hz=2.0)
EV_DOWNLINK_OVERFLOW = EventDef(102, "DOWNLINK_OVERFLOW", Severity.MEDIUM,
                                "downlink queue full: {count} oldest frames dropped",
                                burst=5, rate_hz=0.1)
EV_REKEYED = EventDef(103, "REKEYED", Severity.MEDIUM, "SA rekeyed via SPI {spi}")
EV_CONTROL_COMMAND = EventDef(104, "CONTROL_COMMAND", Severity.INFO,
                              "COP-1 control by {owner} on VC {vcid}", burst=10, rate_hz=1.0)
EV_TM_WITHHELD = EventDef(105, "TM_WITHHELD", Severity.LOW,
                          "{count} TM packets over {owner}'s per-cycle quota withheld",
                          burst=5, rate_hz=0.5)
EV_NOT_WIRED = EventDef(107, "NOT_WIRED", Severity.MEDIUM,
                        "wired housekeeping {name} has no sender: not downlinked")
EV_HANDLER_FAILED = EventDef(106, "HANDLER_FAILED", Severity.HIGH,
                             "handling TC[{service},{subtype}] failed: {why}",
                             burst=5, rate_hz=0.5)

_PENDING_MAX = 256


@dataclass
class _Pending:
    """A TC routed to apps, waiting for their CommandResults."""

    tc: PusTc
    sender: SecurityAssociation
    expected: int  # bus commands sent for it
    apid: int  # the app it went to: only that app's results verify it
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
        Field("tm_withheld", "I", doc="TM packets withheld by key holders' quotas"),
        Field("farm_vr", "B", doc="FARM-1 V(R) of the lowest TC VC"),
        Field("farm_lockout", "?"),
    )
    EVENTS = (EV_FRAMES_REJECTED, EV_TC_REJECTED, EV_DOWNLINK_OVERFLOW, EV_REKEYED,
              EV_CONTROL_COMMAND, EV_TM_WITHHELD, EV_HANDLER_FAILED, EV_NOT_WIRED)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        cfg = self.config
        self.scid = int(cfg.get("scid", 0x2AB))
        self.vcs: dict[int, VcConfig] = {}
        self.rx: TcReceiver | None = None
        self.intake: UplinkIntake | None = None
        self.downlink = Downlink(self.scid, int(cfg.get("tm_frame_len", 256)),
                                 int(cfg.get("downlink_queue_frames", 1024)),
                                 self._clcws, self.now)
        self.services = PusServices(self)
        self.limiter = TcRateLimiter(self.now)
        self.pending: OrderedDict[int, _Pending] = OrderedDict()
        self._next_token = 0
        self.rejected_by_reason: Counter[Why] = Counter()
        self.frames_accepted = 0
        self.frames_rejected = 0
        self.last_reject_reason = 0
        self.tcs_routed = 0
        self.tcs_rejected = 0
        self.tm_withheld = 0
        self._hk_names: dict[int, str] = {}
        self.bus.register_variable(RELEASED_TC_MSG_ID, "released TCs", RELEASED_TC_MAX)
        self.bus.register_variable(SCHEDULE_REPORT_MSG_ID, "schedule summaries", RELEASED_TC_MAX)

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
        self.intake = UplinkIntake(
            self.rx, int(self.config.get("uplink_frames_per_holder", FRAMES_PER_HOLDER)),
            int(self.config.get("uplink_frames_per_cycle", FRAMES_PER_CYCLE)))
        self.results = self.bus.create_pipe("comms.results", 256)
        self.bus.subscribe(self.results, COMMAND_RESULT_MSG.msg_id)
        self.params_in = self.bus.create_pipe("comms.parameters", 256)
        self.bus.subscribe(self.params_in, PARAMETER_REPORT_MSG.msg_id)
        self.events_in = self.bus.create_pipe("comms.events", 256)
        self.bus.subscribe(self.events_in, EVENT_MSG.msg_id)
        self.hk_in = self.bus.create_pipe("comms.housekeeping", 256)
        self.released_in = self.bus.create_pipe("comms.released", 64)
        wiring = self.ctx.wiring
        if wiring.scheduler_releases_to == self.NAME:
            self.bus.subscribe(self.released_in, RELEASED_TC_MSG_ID)
        if self.config.get("store_and_forward") and self.ctx.store is not None:
            self.downlink.queue = TmQueue(self.ctx.store,
                                          int(self.config.get("store_and_forward_packets",
                                                              20000)))
            self.downlink.priority = self._priority
        self.farm_state = FarmState(self.ctx.store)
        self.farm_state.restore(self.rx.farms)
        self.summaries_in = self.bus.create_pipe("comms.schedule_reports", 64)
        self.bus.subscribe(self.summaries_in, SCHEDULE_REPORT_MSG_ID)

    def start(self) -> None:
        # What the wiring names is downlinked as housekeeping (structure ID = its APID),
        # enabled; a named app that is not running has nothing to send.
        wiring = self.ctx.wiring
        found, missing = wiring.housekeeping_msg_ids(self.ctx.apps, self.bus.registered(),
                                                     self.bus.names())
        for msg_id in found.values():
            self.bus.subscribe(self.hk_in, msg_id)
            self.services.hk_enabled.setdefault(msg_id & 0x7FF, True)
        for name in missing:
            self.event(EV_NOT_WIRED, name=name)
        self._hk_names = {msg_id & 0x7FF: name for name, msg_id in found.items()}
        self.app_names = {app.APID: name for name, app in self.ctx.apps.items()}
        self._partner_ids: set[int] = set()
        self._registered_count = -1
        self._wire_partner_apps()

    def _wire_partner_apps(self) -> None:
        """Downlink partner apps' telemetry registered since the last look (the payload
        host registers an app's ids when it installs it), if the wiring says so."""
        if self.bus.registered_count() == self._registered_count:
            return
        registered = self.bus.registered()
        self._registered_count = len(registered)
        for msg_id in self.ctx.wiring.partner_msg_ids(registered):
            if msg_id not in self._partner_ids:
                self._partner_ids.add(msg_id)
                self.bus.subscribe(self.hk_in, msg_id)
                self.services.hk_enabled.setdefault(msg_id & 0x7FF, True)
                self._hk_names.setdefault(msg_id & 0x7FF, "partner_apps")

    def _priority(self, apid: int, service: int, subtype: int) -> int:
        """Store-and-forward rank of a TM packet, from the wiring's priorities."""
        wiring = self.ctx.wiring
        if service == sv.ST_EVENTS:
            return wiring.priority_of("events_high" if subtype >= 3 else "events")
        if service == sv.ST_HOUSEKEEPING:
            return wiring.priority_of(self._hk_names.get(apid, "housekeeping"))
        return wiring.priority_of("verification")

    # -- link side -------------------------------------------------------------
    def receive_frame(self, raw: bytes) -> None:
        """Take one TC frame from a link; it is processed in a coming cycle.

        Safe to call from a link thread. The frame is screened now: one that
        cannot be accepted is only counted (and summarised by the next
        cycle); an authentic one waits in its key holder's queue.
        """
        assert self.intake is not None
        self.intake.offer(raw)

    def process_frame(self, raw: bytes) -> None:
        """Process one TC frame now."""
        self.process_frames([raw])

    def process_frames(self, frames: list[bytes]) -> None:
        """Process a burst of TC frames now, with one durable anti-replay commit
        before any of them is acted on."""
        assert self.rx is not None
        rejected: Counter[Why] = Counter()
        last = ""
        results = self.rx.receive_many(frames)
        self.farm_state.save(self.rx.farms)  # before any frame's contents are acted on
        for result in results:
            if isinstance(result, ProtocolError):
                rejected[result.reason] += 1
                last = str(result)
                continue
            self.frames_accepted += 1
            self._deliver(result)
        self._frames_rejected(rejected, last)

    def _deliver(self, accepted: Accepted) -> None:
        for d in accepted:
            self._guarded(lambda d=d: self._one_delivery(d))  # type: ignore[misc]
        for problem in accepted.problems:
            self._reject_tc(problem.reason, f"in an accepted frame: {problem}")

    def _one_delivery(self, d: Delivery) -> None:
        if d.kind == "rekey":
            self.event(EV_REKEYED, spi=d.sa.spi)  # type: ignore[union-attr]
        elif d.kind == "control":
            self.event(EV_CONTROL_COMMAND, owner=d.sa.owner if d.sa else "?", vcid=d.vcid)
        elif d.sa is None:
            self._reject_tc(Why.NOT_AUTHENTICATED, "TC did not arrive on an SA")
        else:
            self.route(d.packet, d.sa, released=False)

    def take_frames(self, max_frames: int | None = None) -> list[bytes]:
        """TM frames ready for the downlink, oldest first."""
        self._packetise()
        return self.downlink.take(max_frames)

    def idle_frame(self) -> bytes:
        """A frame to send when nothing is queued: idle data with a current CLCW."""
        assert self.rx is not None
        return self.downlink.idle_frame(self.rx.clcw(min(self.vcs)))

    # -- main loop ---------------------------------------------------------------
    def execute(self) -> None:
        assert self.intake is not None
        self.downlink.new_cycle()
        self._wire_partner_apps()
        screened, last = self.intake.rejections()
        self._frames_rejected(screened, last)
        burst = self.intake.take()
        if burst:
            self.process_frames(burst)
        # Most cycles most pipes are empty: asking costs less than draining nothing.
        if self.released_in:
            for _mid, payload in self.released_in.drain():
                self._guarded(lambda p=payload: self._released(p))  # type: ignore[misc]
        if self.summaries_in:
            for _mid, payload in self.summaries_in.drain():  # before their TC completes
                self._guarded(lambda p=payload: self._schedule_summary(p))  # type: ignore[misc]
        if self.params_in:
            for _mid, payload in self.params_in.drain():  # before their TC completes
                self._guarded(lambda p=payload: self._parameter_report(  # type: ignore[misc]
                    PARAMETER_REPORT_MSG.unpack(p)))
        if self.results:
            for _mid, payload in self.results.drain():
                self._guarded(lambda p=payload: self._command_result(  # type: ignore[misc]
                    COMMAND_RESULT_MSG.unpack(p)))
        if self.events_in:
            for _mid, payload in self.events_in.drain():
                v = EVENT_MSG.unpack(payload)
                if self.services.event_enabled(v["apid"], v["event_id"]) and \
                        self.ctx.wiring.forwards_event(v["apid"], v["severity"], self.app_names):
                    self.downlink.send(v["apid"], sv.ST_EVENTS, v["severity"], sv.EventReport(
                        v["severity"], v["event_id"], v["text"].rstrip(b"\0")).encode())
        if self.hk_in:
            downlink = self.downlink
            services = self.services
            for msg_id, payload in self.hk_in.drain():
                sid = msg_id & 0x7FF
                if services.hk_wanted(sid):
                    downlink.send(sid, sv.ST_HOUSEKEEPING, sv.HK_REPORT,
                                  sv.encode_hk_report(sid, payload))
        withheld = self.downlink.withheld
        if withheld:
            for owner, n in sorted(withheld.items()):
                self.event(EV_TM_WITHHELD, count=n, owner=owner)
                self.tm_withheld += n
            withheld.clear()
        self._packetise()

    def housekeeping_values(self) -> Mapping[str, Any]:
        farm = self.rx.farms[min(self.vcs)] if self.rx else None
        return {"frames_accepted": self.frames_accepted, "frames_rejected": self.frames_rejected,
                "last_reject_reason": self.last_reject_reason, "tcs_routed": self.tcs_routed,
                "tcs_rejected": self.tcs_rejected, "tm_packets": self.downlink.tm_packets,
                "frames_dropped": self.downlink.frames_dropped,
                "tm_withheld": self.tm_withheld,
                "farm_vr": farm.vr if farm else 0, "farm_lockout": bool(farm and farm.lockout)}

    # -- routing -----------------------------------------------------------------
    def _released(self, payload: bytes) -> None:
        """A TC the scheduler released: authorised against its owner, now."""
        assert self.rx is not None and self.rx.security is not None
        (spi,) = RELEASED_TC_HEADER.unpack_from(payload)
        packet = payload[RELEASED_TC_HEADER.size:]
        owner = self.rx.security.sas.get(spi)
        if owner is None or not owner.operational:
            self._fail_packet(packet, Why.NOT_AUTHORISED,
                              f"released TC of SPI {spi}, which is no longer an operational "
                              "key holder")
            return
        self.route(packet, owner, released=True)

    def route(self, packet: bytes, sender: SecurityAssociation, released: bool) -> None:
        """Decode, authorise against `sender` and carry out one TC; every
        failure becomes an ST1 report for it (and the TM is charged to `sender`)."""
        self.downlink.charge_to(sender)
        try:
            try:
                tc = PusTc.decode(packet)
            except ProtocolError as exc:
                self._fail_packet(packet, exc.reason, str(exc))
                return
            self._guarded(lambda: self._dispatch(tc, sender, released), tc)
        finally:
            self.downlink.charge_to(None)

    def _dispatch(self, tc: PusTc, sender: SecurityAssociation, released: bool) -> None:
        try:
            if not released:  # a released TC was counted when it was inserted
                self.limiter.take(sender)
            ttype = sv.tc_type(tc.service, tc.subtype)
            data = ttype.decode(tc.app_data)
            authorise(ttype, tc, data, sender)
            self.services.handle(ttype, tc, data, sender)
        except ProtocolError as exc:
            self._fail_tc(tc, sv.ACCEPT_FAIL, exc.reason, str(exc))
        except BusError as exc:
            self._fail_tc(tc, sv.ROUTING_FAIL, Why.NO_SUCH_TARGET, str(exc))

    def _guarded(self, work: Callable[[], None], tc: PusTc | None = None) -> None:
        """Run `work`; an unforeseen exception fails that one TC, never the app."""
        try:
            work()
        except Exception as exc:  # no input may stop comms: report it and go on
            self.event(EV_HANDLER_FAILED, service=tc.service if tc else 0,
                       subtype=tc.subtype if tc else 0, why=f"{type(exc).__name__}: {exc}")
            if tc is not None:
                self._fail_tc(tc, sv.ACCEPT_FAIL, Why.HANDLER_FAILED, type(exc).__name__)
            else:
                self._reject_tc(Why.HANDLER_FAILED, f"{type(exc).__name__}: {exc}")

    def direct(self, tc: PusTc, reply_subtype: int | None, reply: bytes) -> None:
        """A TC carried out here: acceptance, the reply, completion."""
        self.tcs_routed += 1
        self.downlink.verification(tc.apid, tc.request_id, sv.ACCEPT_OK, ack=tc.ack_flags,
                                   dest=tc.source_id)
        if reply_subtype is not None:
            self.downlink.send(tc.apid, tc.service, reply_subtype, reply, dest=tc.source_id)
        self.downlink.verification(tc.apid, tc.request_id, sv.COMPLETE_OK, ack=tc.ack_flags,
                                   dest=tc.source_id)

    def to_app(self, tc: PusTc, sender: SecurityAssociation, bodies: list[bytes],
               apid: int | None = None) -> None:
        """One bus command per body to the target app; ST1 follows its results.

        Each command carries a token of comms' own as its request ID, so no
        key holder's request ID can be mistaken for another's. A command a
        full pipe dropped fails the TC (routing failure, QUEUE_FULL).
        """
        target = cmd_msg_id(tc.apid if apid is None else apid)
        if target not in self.bus.registered():
            raise BusError(f"no application process {target & 0x7FF:#x}")
        self._next_token = (self._next_token + 1) & 0xFFFFFFFF
        token = self._next_token
        dropped_before = self._pipe_drops()
        for body in bodies:
            self.bus.publish(target, COMMAND_HEADER.pack(token, body[0]) + body[1:])
        if self._pipe_drops() != dropped_before:
            self._fail_tc(tc, sv.ROUTING_FAIL, Why.QUEUE_FULL,
                          f"the command pipe of {target & 0x7FF:#x} is full: command dropped")
            return
        self.pending[token] = _Pending(tc, sender, len(bodies), target & 0x7FF)
        while len(self.pending) > _PENDING_MAX:
            self.pending.popitem(last=False)
        self.tcs_routed += 1

    def _pipe_drops(self) -> int:
        return sum(p.dropped for p in self.bus.pipes.values())

    def _pending_from(self, token: int, apid: int) -> _Pending | None:
        """The ground's TC behind `token`, if the app at `apid` is the one it went to."""
        p = self.pending.get(token)
        return p if p is not None and p.apid == apid else None

    def _command_result(self, r: dict[str, Any]) -> None:
        p = self._pending_from(r["request_id"], r["apid"])
        if p is None:
            return  # a command that did not come from the ground, or not this app's
        stage, ok, tc = r["stage"], r["ok"], p.tc
        self.downlink.charge_to(p.sender)
        try:
            if not ok:
                if not p.failed:
                    p.failed = True
                    self._verify(tc, stage + 1, r["reason"], ack=0xF)
                if stage in (1, 7):
                    p.completed += 1
            elif stage == 1:
                p.accepted += 1
                if p.accepted == 1:
                    self._verify(tc, sv.ACCEPT_OK)
            elif stage in (3, 5):
                self._verify(tc, stage)
            elif stage == 7:
                p.completed += 1
                if p.completed == p.expected and not p.failed:
                    self._verify(tc, sv.COMPLETE_OK)
        finally:
            self.downlink.charge_to(None)
        if p.completed >= p.expected:
            self.pending.pop(r["request_id"], None)

    def _parameter_report(self, v: dict[str, Any]) -> None:
        """TM[20,2], charged to the sender of the TC[20,1] that asked for it (a report
        nobody on the ground asked for is on board's own)."""
        p = self._pending_from(v["request_id"], v["apid"]) if v["request_id"] else None
        self.downlink.charge_to(p.sender if p else None)
        try:
            self.downlink.send(v["apid"], sv.ST_PARAMETERS, sv.PARAM_REPORT,
                               sv.encode_values([(v["index"], float(v["value"]))]),
                               dest=p.tc.source_id if p else 0)
        finally:
            self.downlink.charge_to(None)

    def _schedule_summary(self, payload: bytes) -> None:
        """TM[11,13] in reply to the TC[11,17] whose command token it carries."""
        (token,) = SCHEDULE_REPORT_HEADER.unpack_from(payload)
        p = self.pending.get(token)
        if p is None:
            return
        self.downlink.charge_to(p.sender)
        try:
            self.downlink.send(p.tc.apid, sv.ST_SCHEDULING, sv.SCHED_SUMMARY_REPORT,
                               payload[SCHEDULE_REPORT_HEADER.size:], dest=p.tc.source_id)
        finally:
            self.downlink.charge_to(None)

    def _verify(self, tc: PusTc, subtype: int, reason: int | None = None,
                ack: int | None = None) -> None:
        self.downlink.verification(tc.apid, tc.request_id, subtype, reason,
                                   ack=tc.ack_flags if ack is None else ack, dest=tc.source_id)

    # -- rejections ------------------------------------------------------------------
    def _frames_rejected(self, by_reason: Counter[Why], last: str) -> None:
        n = sum(by_reason.values())
        if not n:
            return
        self.frames_rejected += n
        self.rejected_by_reason.update(by_reason)
        self.last_reject_reason = int(max(by_reason, key=lambda r: by_reason[r]))
        reasons = ", ".join(f"{r.name.lower()} {c}" for r, c in by_reason.most_common(4))
        self.event(EV_FRAMES_REJECTED, count=n, reasons=reasons, why=last)

    def _reject_tc(self, reason: Why, text: str) -> None:
        self.tcs_rejected += 1
        self.rejected_by_reason[reason] += 1
        self.event(EV_TC_REJECTED, why=text)

    def _fail_tc(self, tc: PusTc, subtype: int, reason: Why, text: str) -> None:
        self._verify(tc, subtype, reason, ack=0xF)
        self._reject_tc(reason, f"TC[{tc.service},{tc.subtype}] to {tc.apid:#x}: {text}")

    def _fail_packet(self, packet: bytes, reason: Why, text: str) -> None:
        """A packet that is not a valid TC: a failure report if its request ID
        can be read (a packet header with a real APID), an event in any case."""
        if len(packet) >= 6:
            rid = int.from_bytes(packet[:4], "big")
            apid = rid >> 16 & 0x7FF
            if apid < 0x7FF:
                self.downlink.verification(apid, rid, sv.ACCEPT_FAIL, reason, ack=0xF)
        self._reject_tc(reason, text)

    # -- telemetry out ---------------------------------------------------------------
    def _clcws(self):
        return [self.rx.clcw(v) for v in sorted(self.vcs)] if self.rx else []

    def _packetise(self) -> None:
        n = self.downlink.packetise()
        if n:
            self.event(EV_DOWNLINK_OVERFLOW, count=n)


__all__ = ["LINK_FAILURE_BASE", "CommsApp"]
