"""Ground end of file transfer: send a file (a payload bundle) up by CFDP class 2 over passes.

`FileUplink` is the ground's sending entity (fsw.protocol.cfdp_entity.Sender)
with the framing the spacecraft expects: each PDU travels as command 10 PDU
to the file transfer app (APID 0x016), so it is authenticated and authorised
like every other command. The spacecraft's answers (ACK, NAK, Finished)
come down on the FILE_PDU telemetry id and go to `FileUplink.receive`.

`upload_file` is what operators use: it sends a file through a ground
`Session` (the space link: TC frames with SDLS up, TM frames down) and
carries on across passes until the spacecraft reports the file delivered
(`tessera ground upload`, and ``upload_file`` in procedures).

`fly_passes` runs a transfer over a radio that is open only in passes, with
a given bit rate and frame loss in both directions: the same procedure the
`tessera` tools use, and what the three-pass test and benchmark measure.
"""

from __future__ import annotations

import queue
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsw.core.app import COMMAND_HEADER
from fsw.core.ids import FILE_PDU_APID, FILE_TRANSFER_APID
from fsw.protocol import services as sv
from fsw.protocol.cfdp import CfdpError
from fsw.protocol.cfdp_entity import EntityConfig, Sender
from fsw.protocol.errors import ProtocolError
from fsw.protocol.pus import PusTm

FC_PDU = 10
# Octets a PDU costs on the uplink besides itself: TC frame header 5, segment
# header 1, SDLS security header 6 and MAC 16, FECF 2 (CCSDS 232.0-B, 355.0-B),
# Space Packet primary header 6, PUS-C TC secondary header 5, packet error
# control 2, bus command header 5 (request id, function code).
UPLINK_OVERHEAD = 5 + 1 + 6 + 16 + 2 + 6 + 5 + 2 + 5
# Downlink: TM frame of the comms app (fixed 256 octets, several packets per
# frame): a PDU costs its own octets plus its packet headers, PUS-C TM
# secondary header 11 (with time), about 30 in all.
DOWNLINK_OVERHEAD = 30


class FileUplink:
    """The ground's CFDP sender for one file."""

    def __init__(self, data: bytes, dest_name: str, *, ground_id: int = 2,
                 spacecraft_id: int = 1, seq_num: int = 1, segment_bytes: int = 800,
                 ack_timer_s: float = 8.0) -> None:
        cfg = EntityConfig(ground_id, segment_bytes=segment_bytes, ack_timer_s=ack_timer_s)
        self.sender = Sender(cfg, spacecraft_id, seq_num, data, dest_name, dest_name)

    def commands(self, now: float, budget_octets: int, request_id: int = 0) -> list[bytes]:
        """Bus command payloads (for APID 0x016) carrying the PDUs due now."""
        return [COMMAND_HEADER.pack(request_id, FC_PDU) + pdu
                for pdu in self.sender.poll(now, budget_octets)]

    def receive(self, pdu: bytes, now: float) -> None:
        self.sender.receive(pdu, now)

    @property
    def done(self) -> bool:
        return self.sender.done


@dataclass
class PassPlan:
    """Contact windows: `count` passes of `duration_s`, one every `period_s`."""

    duration_s: float = 90.0
    period_s: float = 5400.0
    count: int = 3
    bit_rate: float = 9600.0
    frame_loss: float = 0.10
    step_s: float = 0.5

    def window(self, t_s: float) -> int | None:
        """Index of the pass open at `t_s`, or None."""
        k = int(t_s // self.period_s)
        return k if k < self.count and t_s - k * self.period_s < self.duration_s else None


@dataclass
class PassReport:
    completed_in_pass: int | None = None
    pdus_up: int = 0
    pdus_up_lost: int = 0
    pdus_down: int = 0
    pdus_down_lost: int = 0
    octets_up: int = 0
    per_pass_octets: list[int] = field(default_factory=list)


def fly_passes(uplink: FileUplink, deliver_up: Callable[[bytes, float], None],
               collect_down: Callable[[float, int], list[bytes]], plan: PassPlan,
               *, seed: int = 1, between_passes: Callable[[int], None] | None = None,
               on_step: Callable[[float], None] | None = None) -> PassReport:
    """Run the transfer over the planned passes.

    `deliver_up(command_payload, t)` hands one uplinked command to the
    spacecraft; `collect_down(t, budget)` returns the PDUs the spacecraft
    sends within a downlink budget. Every frame is lost with probability
    `frame_loss`, independently, in both directions. `between_passes(k)`
    runs after pass k closes (a reboot of the spacecraft, say).
    """
    rng = random.Random(seed)
    rep = PassReport(per_pass_octets=[0] * plan.count)
    per_step = plan.bit_rate / 8 * plan.step_s
    for k in range(plan.count):
        t = k * plan.period_s
        end = t + plan.duration_s
        credit = 0.0  # octets the radio may still send; a PDU waits until it fits
        while t < end:
            credit = min(credit + per_step, 2 * per_step + 1100)
            for cmd in uplink.commands(t, int(credit)):
                cost = len(cmd) - COMMAND_HEADER.size + UPLINK_OVERHEAD
                credit -= cost
                rep.pdus_up += 1
                rep.octets_up += cost
                rep.per_pass_octets[k] += cost
                if rng.random() < plan.frame_loss:
                    rep.pdus_up_lost += 1
                    continue
                deliver_up(cmd, t)
            for pdu in collect_down(t, int(per_step)):
                rep.pdus_down += 1
                if rng.random() < plan.frame_loss:
                    rep.pdus_down_lost += 1
                    continue
                uplink.receive(pdu, t)
            if on_step is not None:
                on_step(t)
            if uplink.done and rep.completed_in_pass is None:
                rep.completed_in_pass = k
                return rep
            t += plan.step_s
        if between_passes is not None:
            between_passes(k)
    return rep


# -- operators' uploads through a ground session --------------------------------------

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$")
"""File names the spacecraft's file transfer app accepts (a plain name, no path)."""
CONTACT_TIMEOUT_S = 2.0
"""In a pass the radio sends a frame at least every poll; this long without one ends it."""


class UploadError(RuntimeError):
    """An upload that cannot go on (refused, no contact in time, not delivered); one line."""


@dataclass
class UploadResult:
    """How an upload went: `delivered` is the spacecraft's Finished (checksum matched)."""

    name: str
    octets: int
    delivered: bool
    condition: str
    passes: int
    pdus_sent: int
    octets_sent: int
    seconds: float


class Upload:
    """One file going up through a ground session's spacecraft link, step by step.

    `step(now)` does what is due at `now` (s, any steady clock): takes the
    spacecraft's answers, and while the spacecraft is heard sends the PDUs the
    pacing allows. `upload_file` runs it on the wall clock; a simulation on
    virtual time calls `step` itself.
    """

    def __init__(self, session: Any, data: bytes, name: str, *,
                 spacecraft: str | None = None, bit_rate: float = 9600.0,
                 segment_bytes: int = 800, ack_timer_s: float = 8.0,
                 seq_num: int | None = None,
                 log: Callable[[str], None] = lambda text: None) -> None:
        if not SAFE_NAME.match(name):
            raise UploadError(f"{name!r}: on-board names are 1-48 of A-Z a-z 0-9 . _ - "
                              "(no path)")
        self.sc = sc = session.spacecraft(spacecraft)
        if not sc.holder.may_command(FILE_TRANSFER_APID):
            raise UploadError(f"role {sc.holder.name} may not command file_transfer "
                              f"(APID {FILE_TRANSFER_APID:#05x})")
        seq = seq_num if seq_num is not None else int(time.time()) & 0xFFFFFFFF
        self.name = name
        self.data = data
        self.uplink = FileUplink(data, name, seq_num=seq, segment_bytes=segment_bytes,
                                 ack_timer_s=ack_timer_s)
        self.bit_rate = bit_rate
        self.log = log
        self.passes = 0
        self.in_contact = False
        self._answers: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._frames_seen = sc.frames_in
        self._heard_at: float | None = None
        self._credit = 0.0
        self._last: float | None = None
        sc.packet_listeners[FILE_PDU_APID] = lambda pkt: _file_pdu(pkt, self._answers)

    @property
    def done(self) -> bool:
        return self.uplink.done

    def step(self, now: float) -> bool:
        """Do what is due at `now`; True once the spacecraft reported Finished."""
        sc, sender = self.sc, self.uplink.sender
        if sc.frames_in != self._frames_seen:
            self._frames_seen, self._heard_at = sc.frames_in, now
        contact = sc.ready and self._heard_at is not None and \
            now - self._heard_at < CONTACT_TIMEOUT_S
        if contact != self.in_contact:
            self.in_contact = contact
            if contact:
                self.passes += 1
                self.log(f"{self.name}: pass {self.passes}: sending ({sender.octets_sent} of "
                         f"{len(self.data)} octets sent so far)")
            else:
                self.log(f"{self.name}: contact lost; waiting for the next pass")
        while True:
            try:
                self.uplink.receive(self._answers.get_nowait(), now)
            except queue.Empty:
                break
            except (CfdpError, ProtocolError):
                continue  # a damaged answer: the timers ask again
        elapsed = 0.0 if self._last is None else now - self._last
        self._last = now
        self._credit = min(self._credit + elapsed * self.bit_rate / 8.0,
                           self.bit_rate / 8.0 + 1100)
        if contact:
            for cmd in self.uplink.commands(now, int(self._credit)):
                self._credit -= len(cmd) - COMMAND_HEADER.size + UPLINK_OVERHEAD
                tc = sc.build(sv.ST_FUNCTION, sv.PERFORM_FUNCTION, FILE_TRANSFER_APID,
                              sv.PerformFunction(FC_PDU, cmd[COMMAND_HEADER.size:]).encode())
                tc.ack_flags = 0  # PUS: failures only; CFDP answers for success
                try:
                    sc.send_bypass(tc)
                except ValueError:  # the pass ended between two PDUs
                    break
        return self.uplink.done

    def close(self) -> None:
        self.sc.packet_listeners.pop(FILE_PDU_APID, None)

    def result(self, seconds: float) -> UploadResult:
        sender = self.uplink.sender
        fin = sender.finished
        return UploadResult(self.name, len(self.data), sender.delivered,
                            fin.condition.name if fin else "NONE", self.passes,
                            sender.pdus_sent, sender.octets_sent, seconds)


def upload_file(session: Any, source: str | Path | bytes, name: str | None = None, *,
                spacecraft: str | None = None, bit_rate: float = 9600.0,
                segment_bytes: int = 800, ack_timer_s: float = 8.0,
                timeout_s: float = 3600.0, seq_num: int | None = None,
                log: Callable[[str], None] = lambda text: None) -> UploadResult:
    """Send a file to the spacecraft's ``incoming/`` by CFDP class 2 through `session`.

    Each PDU is a TC[8,1] PDU to the file transfer app (APID 0x016) in a Type-BD
    frame with SDLS (only key holders that may command 0x016 can send files);
    the spacecraft's ACK, NAK and Finished come down as its FilePdu reports
    (APID 0x019). The uplink is paced at `bit_rate` (bit/s, frame overheads
    counted). Outside passes nothing is sent; when the next pass begins the
    transfer carries on where it stopped (the spacecraft keeps the partial
    file), for at most `timeout_s` seconds in all. Returns when the spacecraft
    reports Finished; raises UploadError when it cannot go on.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if name is None:
        if isinstance(source, bytes):
            raise UploadError("give the file a name on board")
        name = Path(source).name
    upload = Upload(session, data, name, spacecraft=spacecraft, bit_rate=bit_rate,
                    segment_bytes=segment_bytes, ack_timer_s=ack_timer_s, seq_num=seq_num,
                    log=log)
    t0 = time.monotonic()
    try:
        while not upload.step(time.monotonic()):
            if time.monotonic() - t0 > timeout_s:
                raise UploadError(f"{name}: not delivered within {timeout_s:g} s "
                                  f"({upload.uplink.sender.octets_sent} octets sent in "
                                  f"{upload.passes} passes)")
            time.sleep(0.02)
    finally:
        upload.close()
    result = upload.result(time.monotonic() - t0)
    if not result.delivered:
        raise UploadError(f"{name}: the spacecraft did not keep it ({result.condition})")
    log(f"{name}: delivered ({len(data)} octets, checksum matched on board) in "
        f"{result.passes} pass(es), {result.seconds:.0f} s")
    return result


def _file_pdu(pkt: bytes, answers: queue.SimpleQueue[bytes]) -> None:
    """The CFDP PDU inside a FilePdu housekeeping report (TM[3,25], SID 0x019)."""
    try:
        tm = PusTm.decode(pkt)
        if (tm.service, tm.subtype) == (sv.ST_HOUSEKEEPING, sv.HK_REPORT):
            report = sv.HkReport.decode(tm.source_data)
            if report.sid == FILE_PDU_APID:
                answers.put(report.values)
    except ProtocolError:
        pass  # a damaged packet; the CFDP timers recover
