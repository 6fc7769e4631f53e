"""Application data layouts of the PUS-style services Tessera uses, with the
ECSS-E-ST-70-41C service and subtype numbering.

Field sizes where the standard leaves them to the mission: request ID 32 bits
(6.1.4.2: the TC's packet ID and sequence control), failure code 16 bits,
step ID 8 bits, N (repeat counts) 16 bits, parameter / event / structure IDs
16 bits, function ID 8 bits (the software bus function code), release time
CUC 4+2 without P-field. Every decoder checks that the data is consumed
exactly and raises PacketError otherwise.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from fsw.protocol.cuc import CucTime
from fsw.protocol.errors import PacketError, Reason
from fsw.protocol.pus import PusTc

# service types
ST_VERIFICATION = 1
ST_HOUSEKEEPING = 3
ST_EVENTS = 5
ST_FUNCTION = 8
ST_SCHEDULING = 11
ST_TEST = 17
ST_PARAMETERS = 20

# ST1 subtypes (6.1)
ACCEPT_OK, ACCEPT_FAIL, START_OK, START_FAIL = 1, 2, 3, 4
PROGRESS_OK, PROGRESS_FAIL, COMPLETE_OK, COMPLETE_FAIL, ROUTING_FAIL = 5, 6, 7, 8, 10
# ST3 (6.3)
HK_CREATE, HK_DELETE, HK_ENABLE, HK_DISABLE, HK_REPORT, HK_ONE_SHOT = 1, 3, 5, 6, 25, 27
# ST5 (6.5)
EV_INFO, EV_LOW, EV_MEDIUM, EV_HIGH, EV_ENABLE, EV_DISABLE = 1, 2, 3, 4, 5, 6
# ST8 (6.8)
PERFORM_FUNCTION = 1
# ST11 (6.11)
SCHED_ENABLE, SCHED_DISABLE, SCHED_RESET, SCHED_INSERT, SCHED_DELETE = 1, 2, 3, 4, 5
SCHED_SUMMARY_REPORT, SCHED_SUMMARY_REQ = 13, 17
# ST17 (6.17)
PING, PONG, CONNECTION_TEST, CONNECTION_REPORT = 1, 2, 3, 4
# ST20 (6.20)
PARAM_REPORT_REQ, PARAM_REPORT, PARAM_SET = 1, 2, 3

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class _Reader:
    """Bounded reader: every read checks the remaining length first."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise PacketError(Reason.BAD_APP_DATA, "application data too short")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return _U16.unpack(self.take(2))[0]

    def u32(self) -> int:
        return _U32.unpack(self.take(4))[0]

    def count(self, item_min: int) -> int:
        """A 16-bit repeat count N, bounded by what the remaining data can hold."""
        n = self.u16()
        if n * item_min > len(self.data) - self.pos:
            raise PacketError(Reason.BAD_APP_DATA, f"N = {n} does not fit the data")
        return n

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)

    def end(self) -> None:
        if self.pos != len(self.data):
            raise PacketError(Reason.BAD_APP_DATA,
                              f"{len(self.data) - self.pos} unexpected trailing octets")


def _ids(ids: list[int]) -> bytes:
    for i in ids:
        if not 0 <= i <= 0xFFFF:
            raise PacketError(Reason.FIELD_RANGE, f"ID {i}")
    if len(ids) > 0xFFFF:
        raise PacketError(Reason.TOO_LONG, "too many IDs")
    return _U16.pack(len(ids)) + b"".join(_U16.pack(i) for i in ids)


def encode_ids(ids: list[int]) -> bytes:
    """N (16) followed by N 16-bit IDs (ST3 structure IDs, ST5 event IDs, ST20 IDs)."""
    return _ids(list(ids))


def decode_ids(data: bytes) -> list[int]:
    r = _Reader(data)
    out = [r.u16() for _ in range(r.count(2))]
    r.end()
    return out


# --- ST1 verification -----------------------------------------------------------

@dataclass(frozen=True)
class VerificationReport:
    """TM[1,x] source data: request ID [step ID] [failure code, failure data]."""

    subtype: int
    request_id: int
    step: int | None = None
    code: int | None = None
    data: bytes = b""

    @property
    def success(self) -> bool:
        return self.subtype % 2 == 1

    def encode(self) -> bytes:
        if self.subtype not in (1, 2, 3, 4, 5, 6, 7, 8, 10):
            raise PacketError(Reason.UNKNOWN_SUBTYPE, f"TM[1,{self.subtype}]")
        out = _U32.pack(self.request_id)
        if self.subtype in (PROGRESS_OK, PROGRESS_FAIL):
            out += bytes((self.step or 0,))
        if not self.success:
            out += _U16.pack(self.code or 0) + self.data
        return out

    @classmethod
    def decode(cls, subtype: int, data: bytes) -> VerificationReport:
        if subtype not in (1, 2, 3, 4, 5, 6, 7, 8, 10):
            raise PacketError(Reason.UNKNOWN_SUBTYPE, f"TM[1,{subtype}]")
        r = _Reader(data)
        rid = r.u32()
        step = r.u8() if subtype in (PROGRESS_OK, PROGRESS_FAIL) else None
        if subtype % 2 == 1:
            r.end()
            return cls(subtype, rid, step)
        return cls(subtype, rid, step, r.u16(), r.rest())


# --- ST3 housekeeping -----------------------------------------------------------

@dataclass(frozen=True)
class HkStructure:
    """TC[3,1] create a housekeeping report structure."""

    sid: int
    interval_ms: int
    params: list[int] = field(default_factory=list)

    def encode(self) -> bytes:
        if not 0 <= self.sid <= 0xFFFF or not 0 <= self.interval_ms <= 0xFFFFFFFF:
            raise PacketError(Reason.FIELD_RANGE, "SID or interval")
        return _U16.pack(self.sid) + _U32.pack(self.interval_ms) + _ids(self.params)

    @classmethod
    def decode(cls, data: bytes) -> HkStructure:
        r = _Reader(data)
        sid, interval = r.u16(), r.u32()
        params = [r.u16() for _ in range(r.count(2))]
        r.end()
        return cls(sid, interval, params)


@dataclass(frozen=True)
class HkReport:
    """TM[3,25]: structure ID then the values, in the structure's layout."""

    sid: int
    values: bytes

    def encode(self) -> bytes:
        return encode_hk_report(self.sid, self.values)

    @classmethod
    def decode(cls, data: bytes) -> HkReport:
        r = _Reader(data)
        return cls(r.u16(), r.rest())


def encode_hk_report(sid: int, values: bytes) -> bytes:
    """The octets of ``HkReport(sid, values).encode()``, without making the report
    (the downlink sends one for every housekeeping packet)."""
    return _U16.pack(sid) + values


# --- ST5 events -----------------------------------------------------------------

@dataclass(frozen=True)
class EventReport:
    """TM[5,1..4]: event definition ID then auxiliary data. Subtype = severity."""

    subtype: int
    event_id: int
    aux: bytes = b""

    def encode(self) -> bytes:
        if self.subtype not in (EV_INFO, EV_LOW, EV_MEDIUM, EV_HIGH):
            raise PacketError(Reason.UNKNOWN_SUBTYPE, f"TM[5,{self.subtype}]")
        return _U16.pack(self.event_id) + self.aux

    @classmethod
    def decode(cls, subtype: int, data: bytes) -> EventReport:
        if subtype not in (EV_INFO, EV_LOW, EV_MEDIUM, EV_HIGH):
            raise PacketError(Reason.UNKNOWN_SUBTYPE, f"TM[5,{subtype}]")
        r = _Reader(data)
        return cls(subtype, r.u16(), r.rest())


# --- ST8 function management --------------------------------------------------

@dataclass(frozen=True)
class PerformFunction:
    """TC[8,1]: function ID (the target app's bus function code) and arguments."""

    function_id: int
    args: bytes = b""

    def encode(self) -> bytes:
        if not 0 <= self.function_id <= 255:
            raise PacketError(Reason.FIELD_RANGE, "function ID")
        return bytes((self.function_id,)) + self.args

    @classmethod
    def decode(cls, data: bytes) -> PerformFunction:
        r = _Reader(data)
        return cls(r.u8(), r.rest())


# --- ST11 time-based scheduling -----------------------------------------------

@dataclass(frozen=True)
class ScheduledTc:
    """One activity of TC[11,4]: release time and the TC to release."""

    release: CucTime
    tc: PusTc


def encode_insert(activities: list[ScheduledTc]) -> bytes:
    """TC[11,4] app data: N, then N x (release time CUC 4+2, TC packet)."""
    out = _U16.pack(len(activities))
    for a in activities:
        if a.release.coarse_octets != 4 or a.release.fine_octets != 2:
            raise PacketError(Reason.BAD_TIME, "release time is CUC 4+2")
        out += a.release.encode(False) + a.tc.encode()
    return out


def decode_insert(data: bytes) -> list[ScheduledTc]:
    r = _Reader(data)
    out = []
    for _ in range(r.count(6 + 13)):  # release time + the shortest PUS TC
        t = CucTime.decode(r.take(6), coarse_octets=4, fine_octets=2)
        hdr = r.take(6)
        body = r.take(_U16.unpack_from(hdr, 4)[0] + 1)
        out.append(ScheduledTc(t, PusTc.decode(hdr + body)))
    r.end()
    return out


@dataclass(frozen=True, order=True)
class ActivityId:
    """An activity's request ID as ST11 names it: source ID, APID, sequence count."""

    source_id: int
    apid: int
    seq_count: int

    @classmethod
    def of(cls, tc: PusTc) -> ActivityId:
        return cls(tc.source_id, tc.apid, tc.seq_count)


def encode_delete(ids: list[ActivityId]) -> bytes:
    """TC[11,5] app data: N, then N x (source ID, APID, sequence count), 16 bits each."""
    return _U16.pack(len(ids)) + b"".join(
        struct.pack(">HHH", i.source_id, i.apid, i.seq_count) for i in ids)


def decode_delete(data: bytes) -> list[ActivityId]:
    r = _Reader(data)
    out = [ActivityId(r.u16(), r.u16(), r.u16()) for _ in range(r.count(6))]
    r.end()
    return out


def encode_summary(entries: list[tuple[CucTime, ActivityId]]) -> bytes:
    """TM[11,13] summary report: N, then N x (release time CUC 4+2, source ID,
    APID, sequence count)."""
    out = _U16.pack(len(entries))
    for release, i in entries:
        if release.coarse_octets != 4 or release.fine_octets != 2:
            raise PacketError(Reason.BAD_TIME, "release time is CUC 4+2")
        out += release.encode(False) + struct.pack(">HHH", i.source_id, i.apid, i.seq_count)
    return out


def decode_summary(data: bytes) -> list[tuple[CucTime, ActivityId]]:
    r = _Reader(data)
    out = []
    for _ in range(r.count(12)):
        t = CucTime.decode(r.take(6), coarse_octets=4, fine_octets=2)
        out.append((t, ActivityId(r.u16(), r.u16(), r.u16())))
    r.end()
    return out


# --- ST20 parameters ------------------------------------------------------------

# value type tags (mission-defined, loosely after ECSS-E-ST-70-41C PTC codes)
T_BOOL, T_UINT, T_INT, T_REAL, T_OCTETS = 1, 3, 4, 5, 7
_VAL = {T_UINT: struct.Struct(">Q"), T_INT: struct.Struct(">q"), T_REAL: struct.Struct(">d")}

Value = bool | int | float | bytes


def _encode_value(v: Value) -> bytes:
    if isinstance(v, bool):
        return bytes((T_BOOL, int(v)))
    if isinstance(v, int):
        if 0 <= v < 1 << 64:
            return bytes((T_UINT,)) + _VAL[T_UINT].pack(v)
        if -(1 << 63) <= v < 0:
            return bytes((T_INT,)) + _VAL[T_INT].pack(v)
        raise PacketError(Reason.FIELD_RANGE, "integer parameter out of 64-bit range")
    if isinstance(v, float):
        return bytes((T_REAL,)) + _VAL[T_REAL].pack(v)
    if isinstance(v, (bytes, bytearray)):
        if len(v) > 255:
            raise PacketError(Reason.TOO_LONG, "octet-string parameter over 255 octets")
        return bytes((T_OCTETS, len(v))) + bytes(v)
    raise PacketError(Reason.FIELD_RANGE, f"unsupported parameter type {type(v).__name__}")


def _decode_value(r: _Reader) -> Value:
    tag = r.u8()
    if tag == T_BOOL:
        b = r.u8()
        if b > 1:
            raise PacketError(Reason.BAD_APP_DATA, "boolean not 0 or 1")
        return bool(b)
    if tag in _VAL:
        return _VAL[tag].unpack(r.take(8))[0]
    if tag == T_OCTETS:
        return r.take(r.u8())
    raise PacketError(Reason.BAD_APP_DATA, f"unknown parameter type {tag}")


def encode_values(values: list[tuple[int, Value]]) -> bytes:
    """TM[20,2] / TC[20,3] app data: N, then N x (parameter ID, type, value)."""
    out = _U16.pack(len(values))
    for pid, v in values:
        if not 0 <= pid <= 0xFFFF:
            raise PacketError(Reason.FIELD_RANGE, f"parameter ID {pid}")
        out += _U16.pack(pid) + _encode_value(v)
    return out


def decode_values(data: bytes) -> list[tuple[int, Value]]:
    r = _Reader(data)
    out = [(r.u16(), _decode_value(r)) for _ in range(r.count(4))]
    r.end()
    return out


# --- ST17 test ------------------------------------------------------------------

def encode_connection_test(apid: int) -> bytes:
    """TC[17,3] / TM[17,4] app data: the APID of the application process to test."""
    if not 0 <= apid < 0x7FF:
        raise PacketError(Reason.FIELD_RANGE, f"APID {apid}")
    return _U16.pack(apid)


def decode_connection_test(data: bytes) -> int:
    r = _Reader(data)
    apid = r.u16()
    r.end()
    if apid >= 0x7FF:
        raise PacketError(Reason.FIELD_RANGE, f"APID {apid}")
    return apid


# --- the TC types this mission implements: declared once ------------------------

# How authorisation reads a TC of the type (fsw.apps.comms.routing):
SCOPE_APID = "apid"          # the key holder may command the TC's APID
SCOPE_STRUCTURES = "sids"    # ... and every housekeeping structure ID it names
SCOPE_SCHEDULE = "schedule"  # ST11 rules: own activities, or the whole schedule


def _no_data(data: bytes) -> None:
    if data:
        raise PacketError(Reason.BAD_APP_DATA, "this TC takes no application data")


@dataclass(frozen=True)
class TcType:
    """One TC type: its (service, subtype), its name, the decoder of its
    application data and the scope its authorisation checks. Everything that
    decodes, authorises or routes a TC reads `TC_TABLE`."""

    service: int
    subtype: int
    name: str
    decode: Callable[[bytes], object]
    scope: str = SCOPE_APID


TC_TYPES: tuple[TcType, ...] = (
    TcType(ST_HOUSEKEEPING, HK_CREATE, "HK_CREATE", HkStructure.decode, SCOPE_STRUCTURES),
    TcType(ST_HOUSEKEEPING, HK_DELETE, "HK_DELETE", decode_ids, SCOPE_STRUCTURES),
    TcType(ST_HOUSEKEEPING, HK_ENABLE, "HK_ENABLE", decode_ids, SCOPE_STRUCTURES),
    TcType(ST_HOUSEKEEPING, HK_DISABLE, "HK_DISABLE", decode_ids, SCOPE_STRUCTURES),
    TcType(ST_HOUSEKEEPING, HK_ONE_SHOT, "HK_ONE_SHOT", decode_ids, SCOPE_STRUCTURES),
    TcType(ST_EVENTS, EV_ENABLE, "EVENTS_ENABLE", decode_ids),
    TcType(ST_EVENTS, EV_DISABLE, "EVENTS_DISABLE", decode_ids),
    TcType(ST_FUNCTION, PERFORM_FUNCTION, "PERFORM_FUNCTION", PerformFunction.decode),
    TcType(ST_SCHEDULING, SCHED_ENABLE, "SCHEDULE_ENABLE", _no_data, SCOPE_SCHEDULE),
    TcType(ST_SCHEDULING, SCHED_DISABLE, "SCHEDULE_DISABLE", _no_data, SCOPE_SCHEDULE),
    TcType(ST_SCHEDULING, SCHED_RESET, "SCHEDULE_RESET", _no_data, SCOPE_SCHEDULE),
    TcType(ST_SCHEDULING, SCHED_INSERT, "SCHEDULE_INSERT", decode_insert, SCOPE_SCHEDULE),
    TcType(ST_SCHEDULING, SCHED_DELETE, "SCHEDULE_DELETE", decode_delete, SCOPE_SCHEDULE),
    TcType(ST_SCHEDULING, SCHED_SUMMARY_REQ, "SCHEDULE_SUMMARY", _no_data, SCOPE_SCHEDULE),
    TcType(ST_TEST, PING, "ARE_YOU_ALIVE", _no_data),
    TcType(ST_TEST, CONNECTION_TEST, "CONNECTION_TEST", decode_connection_test),
    TcType(ST_PARAMETERS, PARAM_REPORT_REQ, "REPORT_PARAMETERS", decode_ids),
    TcType(ST_PARAMETERS, PARAM_SET, "SET_PARAMETERS", decode_values),
)


def _index(types: tuple[TcType, ...]) -> dict[tuple[int, int], TcType]:
    table: dict[tuple[int, int], TcType] = {}
    for t in types:
        if (t.service, t.subtype) in table or t.name in {u.name for u in table.values()}:
            raise ValueError(f"TC[{t.service},{t.subtype}] {t.name} is declared twice")
        table[(t.service, t.subtype)] = t
    return table


TC_TABLE: dict[tuple[int, int], TcType] = _index(TC_TYPES)
TC_SUBTYPES: dict[int, frozenset[int]] = {
    s: frozenset(t for (s2, t) in TC_TABLE if s2 == s) for s in {s for s, _ in TC_TABLE}}


def tc_type(service: int, subtype: int) -> TcType:
    """The declared type of TC[service, subtype]; PacketError if there is none."""
    t = TC_TABLE.get((service, subtype))
    if t is None:
        if service not in TC_SUBTYPES:
            raise PacketError(Reason.UNKNOWN_SERVICE, f"service {service}")
        raise PacketError(Reason.UNKNOWN_SUBTYPE, f"TC[{service},{subtype}]")
    return t


def check_tc_type(service: int, subtype: int) -> None:
    """Raise unless (service, subtype) is a TC this mission implements."""
    tc_type(service, subtype)


def decode_tc_app_data(tc: PusTc) -> object:
    """Decode and check a TC's application data according to its type."""
    return tc_type(tc.service, tc.subtype).decode(tc.app_data)
