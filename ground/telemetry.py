"""Telemetry on the ground: PUS TM packets to parameters, with the dictionary only.

`TelemetryDecoder.decode(packet)` checks the packet (CCSDS 133.0-B-2 primary
header, ECSS-E-ST-70-41C TM secondary header, CRC-16 packet error control)
and returns a `DecodedPacket`: for a housekeeping report (TM[3,25]) the
values of every parameter, raw and engineering (polynomial calibration, or
the enumeration label); for an event report (TM[5,1..4]) the dictionary's
event with its text and the severity its flight app declares; for
verification (TM[1,x]) and parameter reports (TM[20,2]) their content.
Anything malformed raises `TelemetryError` with a one-line reason and
changes no state.

Alongside it keeps, per APID, the last source sequence count (a jump is a
gap: `DecodedPacket.gap` packets were lost) and, per parameter, its limit
state: a change of state (to or from warning or critical, CCSDS/XTCE static
alarm ranges) is returned as a `LimitTransition`, once, not every sample.
Packet time is the CUC time of the secondary header, seconds of mission time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from fsw.protocol.crc import crc16
from fsw.protocol.errors import ProtocolError
from fsw.protocol.pus import PUS_VERSION
from fsw.protocol.services import VerificationReport, decode_values
from ground.dictionary import Dictionary, FieldDef, PacketDef

_PH = struct.Struct(">HHH")
_TM_SH = struct.Struct(">BBBHHBIH")  # version/time-ref, service, subtype, counter, dest, CUC
_SID = struct.Struct(">H")
HEADER_LEN = 6 + _TM_SH.size
SEQ_MODULO = 1 << 14


class TelemetryError(ValueError):
    """A packet the ground cannot use; str() is a one-line reason."""


class Limit(IntEnum):
    """Limit state of a parameter's engineering value."""

    OK = 0
    WARNING = 1
    CRITICAL = 2


@dataclass(frozen=True, slots=True)
class LimitTransition:
    name: str
    time_s: float
    value: float
    old: Limit
    new: Limit

    def __str__(self) -> str:
        return (f"{self.name} = {self.value:g}: {self.old.name} -> {self.new.name}")


@dataclass(slots=True)
class DecodedPacket:
    apid: int
    service: int
    subtype: int
    seq_count: int
    time_s: float
    name: str = ""
    """Packet name for housekeeping, ``event``, ``verification``, ``parameters``, ``other``."""
    names: tuple[str, ...] = ()
    raw: tuple[Any, ...] = ()
    eng: list[Any] = field(default_factory=list)
    gap: int = 0
    limits: list[LimitTransition] = field(default_factory=list)
    event: dict[str, Any] | None = None
    verification: VerificationReport | None = None
    parameters: list[tuple[str, Any]] = field(default_factory=list)

    def values(self) -> dict[str, Any]:
        """Parameter name -> engineering value."""
        return dict(zip(self.names, self.eng, strict=True))


def _calibrator(f: FieldDef) -> Callable[[Any], Any] | None:
    if f.enum:
        labels = dict(f.enum)
        return lambda x: labels.get(int(x), f"?{x}")
    if f.poly:
        coeffs = tuple(reversed(f.poly))

        def poly(x: float) -> float:
            y = 0.0
            for c in coeffs:  # Horner
                y = y * x + c
            return y
        return poly
    return None


def _limit(v: float, f: FieldDef) -> Limit:
    def outside(rng: tuple[float | None, float | None] | None) -> bool:
        return rng is not None and ((rng[0] is not None and v < rng[0]) or
                                    (rng[1] is not None and v > rng[1]))
    if outside(f.crit):
        return Limit.CRITICAL
    if outside(f.warn):
        return Limit.WARNING
    return Limit.OK


@dataclass
class _Layout:
    packet: PacketDef
    struct: struct.Struct
    names: tuple[str, ...]
    calibrate: tuple[tuple[int, Callable[[Any], Any]], ...]
    limited: tuple[tuple[int, str, FieldDef], ...]


def _compile(pkt: PacketDef) -> _Layout:
    cal, lim = [], []
    i = 0
    for name, f in pkt.parameters:
        fn = _calibrator(f)
        if fn is not None:
            cal.append((i, fn))
        if (f.warn or f.crit) and not f.enum:
            lim.append((i, name, f))
        i += 1
    return _Layout(pkt, struct.Struct(pkt.struct_format), tuple(n for n, _ in pkt.parameters),
                   tuple(cal), tuple(lim))


class TelemetryDecoder:
    """Decodes one spacecraft's TM packets; `visible_apids` (None: all) filters by APID."""

    def __init__(self, dictionary: Dictionary, visible_apids: Iterable[int] | None = None,
                 ) -> None:
        self.dictionary = dictionary
        self.visible = None if visible_apids is None else frozenset(visible_apids)
        self._layouts = {sid: _compile(p) for sid, p in dictionary.packets.items()}
        self.last_seq: dict[int, int] = {}
        self.limit_state: dict[str, Limit] = {}
        self.lost_packets = 0
        self.rejected = 0

    def decode(self, packet: bytes) -> DecodedPacket:
        """One TM packet; raises TelemetryError (state unchanged) when it is unusable."""
        try:
            out = self._decode(packet)
        except TelemetryError:
            self.rejected += 1
            raise
        except (struct.error, ProtocolError, ValueError) as exc:
            self.rejected += 1
            raise TelemetryError(f"malformed TM packet: {exc}") from None
        self._track(out)
        return out

    def _decode(self, raw: bytes) -> DecodedPacket:
        n = len(raw)
        if n < HEADER_LEN + 2:
            raise TelemetryError(f"TM packet of {n} octets is shorter than its headers")
        w0, w1, length = _PH.unpack_from(raw)
        if w0 >> 13 or w0 & 0x1000 or not w0 & 0x0800:
            raise TelemetryError(f"not a PUS TM packet (first word {w0:#06x})")
        if length + 7 != n:
            raise TelemetryError(f"packet length field says {length + 7} octets, got {n}")
        if crc16(raw) != 0:
            raise TelemetryError("packet error control (CRC) does not match")
        apid = w0 & 0x7FF
        if self.visible is not None and apid not in self.visible:
            raise TelemetryError(f"APID {apid:#05x} is not visible to this session")
        vs, service, subtype, _counter, _dest, _pfield, coarse, fine = _TM_SH.unpack_from(raw, 6)
        if vs >> 4 != PUS_VERSION:
            raise TelemetryError(f"PUS version {vs >> 4}, expected {PUS_VERSION}")
        out = DecodedPacket(apid, service, subtype, w1 & 0x3FFF, coarse + fine / 65536.0)
        data = raw[HEADER_LEN:-2]
        if service == 3 and subtype == 25:
            self._housekeeping(out, data)
        elif service == 5 and 1 <= subtype <= 4:
            if len(data) < 2:
                raise TelemetryError("event report without an event ID")
            eid = _SID.unpack_from(data)[0]
            ev = self.dictionary.event(apid, eid)
            text = data[2:].decode("utf-8", "replace")
            out.name = "event"
            out.event = {"app": self.dictionary.app_name(apid), "id": eid,
                         "name": ev.name if ev else f"EVENT_{eid}",
                         # the flight declaration's, which the subtype should repeat
                         "severity": ev.severity if ev else subtype,
                         "text": text}
        elif service == 1:
            out.name = "verification"
            out.verification = VerificationReport.decode(subtype, data)
        elif service == 20 and subtype == 2:
            out.name = "parameters"
            app = self.dictionary.apps_by_apid.get(apid)
            by_index = {p.index: n for n, p in app.parameters.items()} if app else {}
            out.parameters = [(f"{self.dictionary.app_name(apid)}.{by_index.get(i, i)}", v)
                              for i, v in decode_values(data)]
        else:
            out.name = "other"
        return out

    def _housekeeping(self, out: DecodedPacket, data: bytes) -> None:
        if len(data) < 2:
            raise TelemetryError("housekeeping report without a structure ID")
        sid = _SID.unpack_from(data)[0]
        layout = self._layouts.get(sid)
        if layout is None:
            raise TelemetryError(f"no structure {sid:#05x} in the dictionary")
        if len(data) - 2 != layout.struct.size:
            raise TelemetryError(f"structure {layout.packet.name} takes {layout.struct.size} "
                                 f"octets, got {len(data) - 2}")
        raw = layout.struct.unpack_from(data, 2)
        eng = list(raw)
        for i, fn in layout.calibrate:
            eng[i] = fn(raw[i])
        out.name = layout.packet.name
        out.names = layout.names
        out.raw = raw
        out.eng = eng
        if layout.limited:
            state = self.limit_state
            for i, name, f in layout.limited:
                v = eng[i]
                new = _limit(v, f)
                old = state.get(name, Limit.OK)
                if new != old:
                    state[name] = new
                    out.limits.append(LimitTransition(name, out.time_s, v, old, new))

    def _track(self, out: DecodedPacket) -> None:
        last = self.last_seq.get(out.apid)
        if last is not None:
            out.gap = (out.seq_count - last - 1) % SEQ_MODULO
            self.lost_packets += out.gap
        self.last_seq[out.apid] = out.seq_count
