"""PUS-C telecommand and telemetry packets, ECSS-E-ST-70-41C section 7.4.

TC secondary header (7.4.3.1): TC packet PUS version (4) = 2 | acknowledgement
flags (4: acceptance, start, progress, completion) | service type (8) |
message subtype (8) | source ID (16). The packet ends with a 16-bit packet
error control field (CRC-16/CCITT-FALSE over the whole packet).

TM secondary header (7.4.3.2): TM packet PUS version (4) = 2 | spacecraft
time reference status (4) | service type (8) | message subtype (8) |
message type counter (16) | destination ID (16) | time. Tessera's time field
is CUC 4+2 with its P-field (CCSDS 301.0-B-4), 7 octets, agency epoch.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from fsw.protocol.crc import CRC16_INIT, CRC16_TABLE, crc16, crc16_table_driven
from fsw.protocol.cuc import CucTime
from fsw.protocol.errors import PacketError, Reason

PUS_VERSION = 2
TC_SEC_HDR_LEN = 5
TM_TIME_LEN = 7
TM_SEC_HDR_LEN = 7 + TM_TIME_LEN
PEC_LEN = 2
ACK_ACCEPTANCE = 0b0001
ACK_START = 0b0010
ACK_PROGRESS = 0b0100
ACK_COMPLETION = 0b1000
ACK_ALL = 0b1111

_PH = struct.Struct(">HHH")
_TC_SH = struct.Struct(">BBBH")
_TM_SH = struct.Struct(">BBBHH")
# A TM packet's primary header, secondary header and 7-octet time field at
# once, and its packet error control (compiled, each pack, call and
# concatenation costs more than the octets it makes).
_TM_HEAD = struct.Struct(">HHHBBBHH7s")
_PEC = struct.Struct(">H")


def _check_packet(raw: bytes, packet_type: int, min_data: int) -> tuple[int, int]:
    n = len(raw)
    if n < 6 + min_data:
        raise PacketError(Reason.TRUNCATED, f"{n} octets is too short for a PUS packet")
    w0, w1, length = _PH.unpack_from(raw)
    if w0 >> 13:
        raise PacketError(Reason.BAD_VERSION, f"packet version {w0 >> 13}")
    if length + 7 != n:
        raise PacketError(Reason.LENGTH_MISMATCH, f"length field {length + 7}, received {n}")
    if (w0 >> 12) & 1 != packet_type:
        raise PacketError(Reason.FIELD_RANGE, "wrong packet type (TC/TM)")
    if not w0 & 0x0800:
        raise PacketError(Reason.FIELD_RANGE, "PUS packets have a secondary header")
    if w0 & 0x7FF == 0x7FF:
        raise PacketError(Reason.FIELD_RANGE, "idle packets (APID 0x7FF) carry no PUS data")
    if w1 >> 14 != 3:
        raise PacketError(Reason.FIELD_RANGE, "PUS packets are unsegmented (flags 11)")
    if crc16(raw) != 0:
        raise PacketError(Reason.BAD_PEC, "packet error control does not match")
    return w0, w1


@dataclass(slots=True)
class PusTc:
    """A PUS telecommand."""

    apid: int
    service: int
    subtype: int
    app_data: bytes = b""
    seq_count: int = 0
    source_id: int = 0
    ack_flags: int = ACK_ALL

    def __post_init__(self) -> None:
        if not 0 <= self.apid < 0x7FF:
            raise PacketError(Reason.FIELD_RANGE, f"APID {self.apid}")
        if not (0 <= self.service <= 255 and 0 <= self.subtype <= 255):
            raise PacketError(Reason.FIELD_RANGE, "service or subtype")
        if not 0 <= self.seq_count <= 0x3FFF or not 0 <= self.source_id <= 0xFFFF:
            raise PacketError(Reason.FIELD_RANGE, "sequence count or source ID")
        if not 0 <= self.ack_flags <= 15:
            raise PacketError(Reason.FIELD_RANGE, "acknowledgement flags")
        if len(self.app_data) > 65536 - TC_SEC_HDR_LEN - PEC_LEN:
            raise PacketError(Reason.TOO_LONG, "application data too long")
        self.app_data = bytes(self.app_data)

    @property
    def request_id(self) -> int:
        """ECSS-E-ST-70-41C 5.4.11.2: the first 32 bits of the TC's primary header
        (version, type, secondary header flag, APID, sequence flags, count)."""
        return (0x1800 | self.apid) << 16 | 0xC000 | self.seq_count

    def encode(self) -> bytes:
        body = _PH.pack(0x1800 | self.apid, 0xC000 | self.seq_count,
                        TC_SEC_HDR_LEN + len(self.app_data) + PEC_LEN - 1) + \
            _TC_SH.pack(PUS_VERSION << 4 | self.ack_flags, self.service, self.subtype,
                        self.source_id) + self.app_data
        return body + crc16(body).to_bytes(2, "big")

    @classmethod
    def decode(cls, raw: bytes | bytearray | memoryview) -> PusTc:
        raw = bytes(raw)
        w0, w1 = _check_packet(raw, 1, TC_SEC_HDR_LEN + PEC_LEN)
        vflags, service, subtype, source = _TC_SH.unpack_from(raw, 6)
        if vflags >> 4 != PUS_VERSION:
            raise PacketError(Reason.BAD_VERSION, f"PUS version {vflags >> 4}")
        tc = cls.__new__(cls)
        tc.apid = w0 & 0x7FF
        tc.service = service
        tc.subtype = subtype
        tc.app_data = raw[6 + TC_SEC_HDR_LEN:-PEC_LEN]
        tc.seq_count = w1 & 0x3FFF
        tc.source_id = source
        tc.ack_flags = vflags & 0xF
        return tc


@dataclass(slots=True)
class PusTm:
    """A PUS telemetry packet."""

    apid: int
    service: int
    subtype: int
    source_data: bytes = b""
    seq_count: int = 0
    msg_counter: int = 0
    dest_id: int = 0
    time: CucTime = field(default_factory=lambda: CucTime(0))
    time_ref_status: int = 0

    def __post_init__(self) -> None:
        _check_tm(self.apid, self.service, self.subtype, self.seq_count, self.msg_counter,
                  self.dest_id, self.time.coarse_octets == 4 and self.time.fine_octets == 2,
                  len(self.source_data))
        self.source_data = bytes(self.source_data)

    def encode(self) -> bytes:
        return _encode_tm(self.apid, self.service, self.subtype, self.source_data,
                          self.seq_count, self.msg_counter, self.dest_id,
                          self.time.encode(True), self.time_ref_status)

    @classmethod
    def decode(cls, raw: bytes | bytearray | memoryview) -> PusTm:
        raw = bytes(raw)
        w0, w1 = _check_packet(raw, 0, TM_SEC_HDR_LEN + PEC_LEN)
        vs, service, subtype, counter, dest = _TM_SH.unpack_from(raw, 6)
        if vs >> 4 != PUS_VERSION:
            raise PacketError(Reason.BAD_VERSION, f"PUS version {vs >> 4}")
        t = CucTime.decode(raw[13:13 + TM_TIME_LEN])
        if t.coarse_octets != 4 or t.fine_octets != 2:
            raise PacketError(Reason.FIELD_RANGE, "TM time is CUC 4+2")
        tm = cls.__new__(cls)
        tm.apid = w0 & 0x7FF
        tm.service = service
        tm.subtype = subtype
        tm.source_data = raw[6 + TM_SEC_HDR_LEN:-PEC_LEN]
        tm.seq_count = w1 & 0x3FFF
        tm.msg_counter = counter
        tm.dest_id = dest
        tm.time = t
        tm.time_ref_status = vs & 0xF
        return tm


def encode_tm(apid: int, service: int, subtype: int, source_data: bytes, *, seq_count: int,
              msg_counter: int, dest_id: int, time_field: bytes,
              time_ref_status: int = 0) -> bytes:
    """The octets of ``PusTm(...).encode()``, with the same checks, without
    making the packet object (the downlink encodes every TM packet this way).
    `time_field` is the CUC 4+2 time with its P-field, 7 octets
    (`fsw.protocol.cuc.encode_seconds`)."""
    _check_tm(apid, service, subtype, seq_count, msg_counter, dest_id,
              len(time_field) == TM_TIME_LEN and time_field[0] & 0x0F == 0b1110,
              len(source_data))
    return _encode_tm(apid, service, subtype, bytes(source_data), seq_count, msg_counter,
                      dest_id, time_field, time_ref_status)


def _check_tm(apid: int, service: int, subtype: int, seq_count: int, msg_counter: int,
              dest_id: int, time_is_4_2: bool, source_len: int) -> None:
    if not 0 <= apid < 0x7FF:
        raise PacketError(Reason.FIELD_RANGE, f"APID {apid}")
    if not (0 <= service <= 255 and 0 <= subtype <= 255):
        raise PacketError(Reason.FIELD_RANGE, "service or subtype")
    if not 0 <= seq_count <= 0x3FFF:
        raise PacketError(Reason.FIELD_RANGE, "sequence count")
    if not (0 <= msg_counter <= 0xFFFF and 0 <= dest_id <= 0xFFFF):
        raise PacketError(Reason.FIELD_RANGE, "message counter or destination")
    if not time_is_4_2:
        raise PacketError(Reason.FIELD_RANGE, "TM time is CUC 4+2")
    if source_len > 65536 - TM_SEC_HDR_LEN - PEC_LEN:
        raise PacketError(Reason.TOO_LONG, "source data too long")


def _encode_tm(apid: int, service: int, subtype: int, source_data: bytes, seq_count: int,
               msg_counter: int, dest_id: int, time_field: bytes, time_ref_status: int) -> bytes:
    body = _TM_HEAD.pack(0x0800 | apid, 0xC000 | seq_count,
                         TM_SEC_HDR_LEN + len(source_data) + PEC_LEN - 1,
                         PUS_VERSION << 4 | time_ref_status, service, subtype, msg_counter,
                         dest_id, time_field) + source_data
    return body + _PEC.pack(crc16_table_driven(body, CRC16_INIT, CRC16_TABLE))
