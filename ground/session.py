"""A ground session: one key holder (role) talking to one or more spacecraft.

This is the ground core that any front end uses (the terminal console,
procedures, a web console): no printing, no prompts. A `Session` holds the
role, its key, the dictionary and the archive, and one `SpacecraftLink` per
spacecraft. Each `SpacecraftLink`:

- uplinks TCs in authenticated TC frames (CCSDS 355.0-B-2 SDLS, the role's
  SA, ARSN kept in a file so a ground restart never reuses one) under COP-1:
  a FOP-1 (CCSDS 232.1-B-2) per virtual channel, started from the CLCW the
  spacecraft reports (V(S) := N(R)), unlocking a FARM in Lockout first,
  retransmitting the unacknowledged frames when T1 expires or the CLCW asks;
  a retransmission is the same frame, ARSN included, which the spacecraft
  treats as a COP-1 duplicate, never as a replay of a new command;
- checks every TC before anything is sent: the command exists, its
  arguments have the declared types and ranges, and the role may command
  the target (the key file's rights); a refusal is a `CommandRefusedError`;
- downlinks TM frames -> packets -> parameters (`ground.telemetry`), keeps
  the latest value of every parameter, tracks every TC through its
  verification stages (`ground.verification`), and archives frames,
  packets, samples, events and command history under the spacecraft's SCID;
- for a partner role, drops every packet outside the role's APIDs before it
  is decoded or stored.

`notify(kind, text, severity)` (kinds: ``event``, ``limit``, ``gap``,
``verification``, ``link``, ``error``, ``parameter``) tells the front end
what happened, one line each, with a severity on the PUS ST[5] scale
(ECSS-E-ST-70-41C 6.5: 1 informative, 2 low, 3 medium, 4 high): a flight
event's is the one its app declares (carried by the dictionary); the
ground's own notifications take theirs from `SEVERITY`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsw.protocol import services as sv
from fsw.protocol.cop1 import Fop1, FopState
from fsw.protocol.cuc import CucTime
from fsw.protocol.errors import ProtocolError
from fsw.protocol.pus import PusTc
from fsw.protocol.sdls import SecuritySender
from fsw.protocol.store import ArsnStore
from fsw.protocol.tm import TmReceiver
from fsw.protocol.uplink import TcSender, VcConfig
from ground.archive import Archive, CommandRecord, EventRecord
from ground.dictionary import CommandDef, Dictionary, FieldDef
from ground.keys import KeyHolder, load_holder
from ground.link import Link, LinkError
from ground.telemetry import DecodedPacket, Limit, TelemetryDecoder, TelemetryError
from ground.verification import TcRecord, VerificationTracker

Notify = Callable[[str, str, int], None]
INFO, LOW, MEDIUM, HIGH = 1, 2, 3, 4
SEVERITY_NAME = {INFO: "INFO", LOW: "LOW", MEDIUM: "MEDIUM", HIGH: "HIGH"}
LIMIT_SEVERITY = {Limit.OK: INFO, Limit.WARNING: MEDIUM, Limit.CRITICAL: HIGH}
# The ground's own notifications, by what happened.
SEVERITY = {"link up": INFO, "link down": MEDIUM, "cop1 alert": MEDIUM, "gap": LOW,
            "frame refused": LOW, "packet refused": LOW, "receiver error": HIGH,
            "completed": INFO, "failed": MEDIUM, "timeout": MEDIUM, "parameter": INFO}
GROUND_EVENT_LIMIT = 1
GROUND_EVENT_GAP = 2


class CommandRefusedError(ValueError):
    """A TC the ground will not send (unknown, bad argument, not allowed); one line."""


@dataclass(frozen=True)
class SpacecraftConfig:
    """One spacecraft the session talks to."""

    name: str
    scid: int
    url: str
    frame_len: int = 256
    key_file: str | None = None
    """This spacecraft's key file (a fleet has one per spacecraft); None: the session's."""


@dataclass
class Latest:
    time_s: float
    raw: Any
    eng: Any


@dataclass
class SpacecraftLink:
    """The session's connection to one spacecraft; see the module docstring."""

    config: SpacecraftConfig
    dictionary: Dictionary
    holder: KeyHolder
    archive: Archive
    arsn_path: Path
    notify: Notify
    tc_timeout_s: float = 30.0
    t1_s: float = 6.0
    latest: dict[str, Latest] = field(default_factory=dict)
    onboard_time_s: float | None = None
    packet_listeners: dict[int, Callable[[bytes], None]] = field(default_factory=dict)
    """APID -> a function given each packet of that APID instead of the decoder (the
    CFDP PDUs of `ground.file_transfer`, which no dictionary structure describes)."""

    def __post_init__(self) -> None:
        cfg = self.config
        self.link = Link(cfg.url, cfg.frame_len)
        self.tm = TmReceiver(cfg.scid, cfg.frame_len)
        sa = self.holder.sa
        self.vcid = self.holder.tc_vcid
        self.sender = TcSender(cfg.scid, {self.vcid: VcConfig(self.vcid)},
                               {sa.spi: SecuritySender(sa, ArsnStore(self.arsn_path))})
        self.fop: Fop1 = self.sender.fop(self.vcid, sa.spi, t1_s=self.t1_s)
        self.decoder = TelemetryDecoder(self.dictionary)
        self.tracker = VerificationTracker(self.dictionary.failure_codes, self._verified)
        self.lock = threading.RLock()
        self.frames_in = 0
        self.frames_bad = 0
        self.packets_hidden = 0
        self._seq: dict[int, int] = {}
        self._seq_base = len(self.archive.commands(cfg.scid)) & 0x3FFF
        self._fop_started = False
        self._was_up = False
        self._last_error = ""

    @property
    def ready(self) -> bool:
        """True once a CLCW has started COP-1: the spacecraft is in a pass and listening."""
        return self._fop_started

    # -- uplink ----------------------------------------------------------------
    def _next_tc(self, apid: int, service: int, subtype: int, data: bytes) -> PusTc:
        seq = self._seq.get(apid, self._seq_base)
        self._seq[apid] = (seq + 1) & 0x3FFF
        return PusTc(apid, service, subtype, data, seq_count=seq,
                     source_id=self.holder.sa.spi)

    def _check_role(self, apid: int) -> None:
        if not self.holder.may_command(apid):
            raise CommandRefusedError(f"role {self.holder.name} may not command "
                                 f"{self.dictionary.app_name(apid)} (APID {apid:#05x})")

    def build(self, service: int, subtype: int, apid: int, data: bytes = b"") -> PusTc:
        """A checked TC for `apid` (role check included), not yet sent."""
        self._check_role(apid)
        return self._next_tc(apid, service, subtype, data)

    def send_tc(self, tc: PusTc, text: str, *, release_s: float | None = None) -> TcRecord:
        """Uplink one TC under COP-1 and start tracking its verification."""
        with self.lock:
            if not self._fop_started:
                raise CommandRefusedError(f"{self.config.name}: no CLCW from the spacecraft yet "
                                     "(not in a pass, or the link is down)")
            frames = self.fop.transmit(tc.encode(), time.monotonic())
            rec = self.tracker.sent(TcRecord(tc.request_id, text, time.time(),
                                             self.tc_timeout_s, release_s))
            self.archive.add_command(CommandRecord(self.config.scid, rec.sent_time,
                                                   self.holder.name, rec.request_id, text,
                                                   rec.status, {}))
            self._send_frames(frames)
            return rec

    def send_bypass(self, tc: PusTc) -> None:
        """Uplink one TC in an authenticated Type-BD frame (CCSDS 232.0-B sec. 2.2.2):
        no COP-1 retransmission and no verification tracking, for a sender that
        recovers losses itself (CFDP class 2 PDUs: a lost frame costs one PDU, not a
        go-back of the FOP-1 window)."""
        with self.lock:
            if not self._fop_started:
                raise CommandRefusedError(f"{self.config.name}: no CLCW from the spacecraft "
                                          "yet (not in a pass, or the link is down)")
            self._send_frames([self.sender.frame(self.vcid, 0, tc.encode(), bypass=True,
                                                 spi=self.holder.sa.spi)])

    def _send_frames(self, frames: Iterable[bytes]) -> None:
        for f in frames:
            try:
                self.link.send(f)
            except LinkError as exc:
                self._link_down(exc)
                return

    # -- downlink ----------------------------------------------------------------
    def poll(self, timeout_s: float = 0.1) -> int:
        """Receive and process what the link has; retransmit on T1; returns frames taken."""
        try:
            frames = self.link.receive(timeout_s)
        except LinkError as exc:
            self._link_down(exc)
            time.sleep(min(timeout_s, 0.05))
            return 0
        if not self._was_up:
            self._was_up = True
            self.notify("link", f"{self.config.name}: link up ({self.config.url})",
                        SEVERITY["link up"])
        with self.lock:
            if self.holder.sees_all and frames:
                self.archive.add_frames(self.config.scid, frames)
            for raw in frames:
                self.process_frame(raw)
            self._send_frames(self.fop.on_timer(time.monotonic()))
            for rec in self.tracker.check_timeouts(onboard_s=self.onboard_time_s):
                self.archive.update_command(self.config.scid, rec.request_id, rec.status,
                                            rec.stages)
            if self.fop.alert:
                self.notify("link", f"{self.config.name}: COP-1 alert ({self.fop.alert}); "
                            "restarting from the next CLCW", SEVERITY["cop1 alert"])
                self.fop.alert = None
                self._fop_started = False
        return len(frames)

    def _link_down(self, exc: LinkError) -> None:
        if self._was_up or str(exc) != self._last_error:
            self.notify("link", f"{self.config.name}: {exc}", SEVERITY["link down"])
        self._was_up = False
        self._last_error = str(exc)
        self._fop_started = False

    def process_frame(self, raw: bytes) -> None:
        """One TM frame: packets to the decoder, the CLCW to FOP-1."""
        self.frames_in += 1
        try:
            packets = self.tm.add(raw)
        except ProtocolError as exc:
            self.frames_bad += 1
            self.notify("error", f"{self.config.name}: frame refused: {exc}",
                        SEVERITY["frame refused"])
            return
        clcw = self.tm.last_clcw
        if clcw is not None and clcw.vcid == self.vcid:
            self._on_clcw(clcw)
        for _vc, pkt in packets:
            self.process_packet(pkt)

    def _on_clcw(self, clcw: Any) -> None:
        now = time.monotonic()
        if not self._fop_started or self.fop.state == FopState.INITIAL:
            if clcw.lockout:
                self._send_frames([self.sender.frame(self.vcid, 0, Fop1.unlock_frame_data(),
                                                     bypass=True, control=True,
                                                     spi=self.holder.sa.spi)])
                return
            self.fop.vs = self.fop.nnr = clcw.report_value
            self.fop.sent.clear()
            self.fop.initiate(None, now)
            self._fop_started = True
            return
        self._send_frames(self.fop.on_clcw(clcw, now))

    def process_packet(self, pkt: bytes) -> DecodedPacket | None:
        if not self.holder.sees_all and not self._visible(pkt):
            self.packets_hidden += 1
            return None
        listener = self.packet_listeners.get((pkt[0] << 8 | pkt[1]) & 0x7FF) \
            if len(pkt) > 1 else None
        if listener is not None:
            listener(pkt)
            return None
        try:
            out = self.decoder.decode(pkt)
        except TelemetryError as exc:
            self.notify("error", f"{self.config.name}: packet refused: {exc}",
                        SEVERITY["packet refused"])
            return None
        scid = self.config.scid
        self.onboard_time_s = out.time_s
        self.archive.add_packet(scid, out.time_s, out.apid, out.service, out.subtype,
                                out.seq_count, pkt)
        if out.gap:
            text = f"{out.gap} packet(s) lost on APID {out.apid:#05x} (sequence count)"
            self._ground_event(out.time_s, GROUND_EVENT_GAP, "GAP", SEVERITY["gap"], text)
            self.notify("gap", f"{self.config.name}: {text}", SEVERITY["gap"])
        if out.names:
            self.archive.add_samples(scid, out.time_s, out.names, out.raw, out.eng)
            latest = self.latest
            for name, r, e in zip(out.names, out.raw, out.eng, strict=True):
                # stored telemetry played back later is history: it goes to the archive
                # and never replaces a newer value
                held = latest.get(name)
                if held is None or held.time_s <= out.time_s:
                    latest[name] = Latest(out.time_s, r, e)
            for lt in out.limits:
                sev = LIMIT_SEVERITY[lt.new]
                self._ground_event(out.time_s, GROUND_EVENT_LIMIT, f"LIMIT_{lt.new.name}", sev,
                                   str(lt))
                self.notify("limit", f"{self.config.name}: {lt}", sev)
        elif out.event is not None:
            ev = out.event
            self.archive.add_event(EventRecord(scid, out.time_s, "flight", ev["app"], ev["id"],
                                               ev["name"], ev["severity"], ev["text"]))
            self.notify("event", f"{self.config.name}: {ev['app']} {ev['name']} "
                        f"[{SEVERITY_NAME.get(ev['severity'], ev['severity'])}] {ev['text']}",
                        ev["severity"])
        elif out.verification is not None:
            v = out.verification
            rec = self.tracker.report(out.subtype, v.request_id, v.code)
            if rec is not None:
                self.archive.update_command(scid, rec.request_id, rec.status, rec.stages)
        elif out.parameters:
            for name, value in out.parameters:
                self.latest[name] = Latest(out.time_s, value, value)
                self.notify("parameter", f"{self.config.name}: {name} = {value}",
                            SEVERITY["parameter"])
        return out

    def _visible(self, pkt: bytes) -> bool:
        """A partner sees its own APIDs, and the verification of its own TCs wherever they
        went (the scheduler's, say): PUS TM[1,x] addressed to its source ID."""
        if len(pkt) < 13:
            return False
        apid = (pkt[0] << 8 | pkt[1]) & 0x7FF
        if apid in (self.holder.apids or ()):
            return True
        return pkt[7] == sv.ST_VERIFICATION and (pkt[11] << 8 | pkt[12]) == self.holder.sa.spi

    def _ground_event(self, t: float, eid: int, name: str, severity: int, text: str) -> None:
        self.archive.add_event(EventRecord(self.config.scid, t, "ground", "ground", eid, name,
                                           severity, text))

    def _verified(self, rec: TcRecord) -> None:
        self.notify("verification", f"{self.config.name}: {rec.summary()}",
                    SEVERITY.get(rec.status, INFO))

    def close(self) -> None:
        self.link.close()


class Session:
    """One role, its key, the dictionary, the archive and every spacecraft link.

    `start()` runs one receiver thread per spacecraft; `command`, `ping`,
    `set_parameter`, `get_parameter` and `schedule` check and send TCs.
    """

    def __init__(self, dictionary: Dictionary, holder: KeyHolder, archive: Archive,
                 spacecraft: Iterable[SpacecraftConfig], state_dir: str | Path,
                 notify: Notify | None = None, tc_timeout_s: float = 30.0) -> None:
        self.dictionary = dictionary
        self.holder = holder
        self.archive = archive
        self.notify: Notify = notify or (lambda kind, text, severity: None)
        state = Path(state_dir)
        state.mkdir(parents=True, exist_ok=True)
        self.links: dict[str, SpacecraftLink] = {}
        for cfg in spacecraft:
            if cfg.name in self.links:
                raise ValueError(f"two spacecraft are named {cfg.name!r}")
            own = load_holder(cfg.key_file, holder.name) if cfg.key_file else holder
            self.links[cfg.name] = SpacecraftLink(
                cfg, dictionary, own, archive,
                state / f"arsn-{cfg.scid:#05x}-{holder.name}.db", self._notify,
                tc_timeout_s=tc_timeout_s)
        if not self.links:
            raise ValueError("a session needs at least one spacecraft")
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.on_received: Callable[[str], None] | None = None
        """Called from a receiver thread with the spacecraft's name once the frames it took
        are decoded and stored: a front end pushes the new values then, not on a timer."""

    def _notify(self, kind: str, text: str, severity: int) -> None:
        self.notify(kind, text, severity)

    def spacecraft(self, name: str | None = None) -> SpacecraftLink:
        if name is None:
            return next(iter(self.links.values()))
        try:
            return self.links[name]
        except KeyError:
            raise CommandRefusedError(f"no spacecraft named {name!r} "
                                 f"(have {', '.join(self.links)})") from None

    # -- running -----------------------------------------------------------------
    def start(self) -> None:
        for sc in self.links.values():
            t = threading.Thread(target=self._run, args=(sc,), name=f"rx-{sc.config.name}",
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def _run(self, sc: SpacecraftLink) -> None:
        while not self._stop.is_set():
            try:
                if sc.poll(0.1) and self.on_received is not None:
                    self.on_received(sc.config.name)
            except Exception as exc:  # a receiver bug must not end the session silently
                self.notify("error", f"{sc.config.name}: receiver error: "
                            f"{type(exc).__name__}: {exc}", SEVERITY["receiver error"])
                time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2.0)
        for sc in self.links.values():
            sc.close()
        self.archive.flush()

    def wait_ready(self, timeout_s: float, spacecraft: str | None = None) -> bool:
        """Wait until the spacecraft is in a pass (COP-1 started from its CLCW)."""
        sc = self.spacecraft(spacecraft)
        deadline = time.monotonic() + timeout_s
        while not sc.ready:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    # -- commanding --------------------------------------------------------------
    def resolve(self, dotted: str) -> CommandDef:
        app, _, name = dotted.partition(".")
        if not name:
            raise CommandRefusedError(f"{dotted!r}: commands are written APP.COMMAND")
        try:
            return self.dictionary.command(app, name)
        except ValueError as exc:
            raise CommandRefusedError(str(exc)) from None

    def check_args(self, cmd: CommandDef, values: Mapping[str, Any]) -> bytes:
        """The argument bytes of `cmd`, or CommandRefusedError saying what is wrong."""
        if cmd.variable:
            raise CommandRefusedError(f"{cmd.app}.{cmd.name} takes variable arguments; "
                                 "send it from a procedure with raw bytes")
        names = [a.name for a in cmd.args]
        extra = set(values) - set(names)
        if extra:
            raise CommandRefusedError(f"{cmd.app}.{cmd.name} has no argument {sorted(extra)[0]}")
        for a in cmd.args:
            if a.name not in values:
                raise CommandRefusedError(f"{cmd.app}.{cmd.name} needs {a.name}")
            why = a.check(values[a.name])
            if why:
                raise CommandRefusedError(f"{cmd.app}.{cmd.name}: {why}")
        return cmd.encode_args(values)

    def command_tc(self, sc: SpacecraftLink, dotted: str, values: Mapping[str, Any]
                   ) -> tuple[PusTc, str]:
        cmd = self.resolve(dotted)
        args = self.check_args(cmd, values)
        tc = sc.build(sv.ST_FUNCTION, sv.PERFORM_FUNCTION, cmd.apid,
                      sv.PerformFunction(cmd.code, args).encode())
        shown = " ".join(f"{k}={v}" for k, v in values.items())
        return tc, f"{cmd.app}.{cmd.name} {shown}".strip()

    def check_command(self, dotted: str, values: Mapping[str, Any],
                      spacecraft: str | None = None) -> CommandDef:
        """Every check the ground makes before sending ``APP.COMMAND`` (the role's, the
        arguments'), without building a TC; CommandRefusedError says what is wrong."""
        cmd = self.resolve(dotted)
        self.spacecraft(spacecraft)._check_role(cmd.apid)
        self.check_args(cmd, values)
        return cmd

    def command(self, dotted: str, values: Mapping[str, Any] | None = None,
                spacecraft: str | None = None) -> TcRecord:
        """PUS TC[8,1] perform function ``APP.COMMAND`` with checked arguments."""
        sc = self.spacecraft(spacecraft)
        tc, text = self.command_tc(sc, dotted, dict(values or {}))
        return sc.send_tc(tc, text)

    def _app(self, name: str) -> Any:
        try:
            return self.dictionary.apps[name]
        except KeyError:
            raise CommandRefusedError(f"no app named {name!r}") from None

    def ping(self, app: str, spacecraft: str | None = None) -> TcRecord:
        """PUS TC[17,1] are-you-alive, addressed to `app`'s APID."""
        sc = self.spacecraft(spacecraft)
        tc = sc.build(sv.ST_TEST, sv.PING, self._app(app).apid)
        return sc.send_tc(tc, f"ping {app}")

    def _parameter(self, dotted: str) -> tuple[Any, Any]:
        app_name, _, pname = dotted.partition(".")
        app = self._app(app_name)
        p = app.parameters.get(pname)
        if p is None:
            raise CommandRefusedError(f"app {app_name} has no parameter {pname!r}")
        return app, p

    def set_parameter(self, dotted: str, value: float, spacecraft: str | None = None
                      ) -> TcRecord:
        """PUS TC[20,3] set ``APP.PARAMETER`` to `value` (range-checked first)."""
        app, p = self._parameter(dotted)
        why = p.field.check(value)
        if why:
            raise CommandRefusedError(f"{dotted}: {why}")
        sc = self.spacecraft(spacecraft)
        tc = sc.build(sv.ST_PARAMETERS, sv.PARAM_SET, app.apid,
                      sv.encode_values([(p.index, float(value))]))
        return sc.send_tc(tc, f"set {dotted} {value}")

    def get_parameter(self, dotted: str, spacecraft: str | None = None) -> TcRecord:
        """PUS TC[20,1] report ``APP.PARAMETER``; the value arrives as TM[20,2]."""
        app, p = self._parameter(dotted)
        sc = self.spacecraft(spacecraft)
        tc = sc.build(sv.ST_PARAMETERS, sv.PARAM_REPORT_REQ, app.apid, sv.encode_ids([p.index]))
        return sc.send_tc(tc, f"get {dotted}")

    def schedule(self, release_s: float, dotted: str, values: Mapping[str, Any] | None = None,
                 spacecraft: str | None = None) -> tuple[TcRecord, TcRecord]:
        """PUS TC[11,4]: release ``APP.COMMAND`` at on-board time `release_s` (s).

        Returns the records of the insert request and of the time-tagged TC,
        whose verification arrives when it executes.
        """
        sc = self.spacecraft(spacecraft)
        if sc.onboard_time_s is not None and release_s <= sc.onboard_time_s:
            raise CommandRefusedError(f"release time {release_s:g} s has passed on board "
                                 f"(now about {sc.onboard_time_s:g} s)")
        inner, text = self.command_tc(sc, dotted, dict(values or {}))
        data = sv.encode_insert([sv.ScheduledTc(CucTime.from_seconds(release_s), inner)])
        # ST11 requests go to the scheduler; the spacecraft authorises the TC inside
        # against the sender (checked here already by command_tc).
        outer = sc._next_tc(self._app("scheduler").apid, sv.ST_SCHEDULING, sv.SCHED_INSERT,
                            data)
        with sc.lock:
            timed = sc.tracker.sent(TcRecord(inner.request_id, f"{text} @ {release_s:g} s",
                                             time.time(), sc.tc_timeout_s, release_s))
            sc.archive.add_command(CommandRecord(sc.config.scid, timed.sent_time,
                                                 self.holder.name, timed.request_id,
                                                 timed.text, timed.status, {}))
            insert = sc.send_tc(outer, f"schedule {text} at {release_s:g} s")
        return insert, timed

    def value(self, name: str, spacecraft: str | None = None) -> Latest | None:
        return self.spacecraft(spacecraft).latest.get(name)


def parse_value(text: str, f: FieldDef) -> Any:
    """A console word as the value of field `f` (enumeration labels accepted)."""
    if f.enum:
        for v, label in f.enum.items():
            if label.lower() == text.lower():
                return v
    if f.type == "bytes":
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise CommandRefusedError(f"{f.name} takes hex bytes, not {text!r}") from None
    if f.count > 1:
        parts = text.split(",")
        return [parse_value(p, FieldDef(f.name, f.type)) for p in parts]
    try:
        return int(text, 0) if f.type[0] in "uib" else float(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise CommandRefusedError(f"{f.name} takes a number, not {text!r}") from None
