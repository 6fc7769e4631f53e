"""CCSDS File Delivery Protocol PDUs (CCSDS 727.0-B-5, sec. 5), both ends.

Encodes and decodes the fixed PDU header and the PDUs a class 2
(acknowledged) transfer uses: Metadata, File Data, EOF, Finished, ACK, NAK,
Prompt and Keep Alive. Entity ids and transaction sequence numbers are 1 to
8 octets; the large-file flag selects 32- or 64-bit file sizes and offsets
(FSS). A PDU may carry a CRC-16/CCITT-FALSE over the whole PDU (727.0-B-5
4.1.3.3; the same polynomial as the TC frame FECF). Options TLVs of
Metadata and the fault location TLVs are kept as raw bytes and ignored by
the entity.

`decode_pdu` returns one of the PDU dataclasses or raises `CfdpError`
(a ProtocolError: TRUNCATED, LENGTH_MISMATCH, BAD_VERSION, BAD_PEC for the CRC,
or FIELD_RANGE) naming what is wrong; it never
reads past the bytes it is given.

The file checksum is the modular checksum (checksum type 0, 727.0-B-5
4.2.2): the sum modulo 2^32 of the file as big-endian 32-bit words aligned
to file offset 0, the last word padded with zeros.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

from fsw.protocol.crc import crc16
from fsw.protocol.errors import ProtocolError, Reason

VERSION = 1  # '001', 727.0-B-5 5.1.1
MAX_FILE_NAME = 255


class Directive(IntEnum):
    """File directive codes (727.0-B-5 table 5-4)."""

    EOF = 0x04
    FINISHED = 0x05
    ACK = 0x06
    METADATA = 0x07
    NAK = 0x08
    PROMPT = 0x09
    KEEP_ALIVE = 0x0C


class Condition(IntEnum):
    """Condition codes (727.0-B-5 table 5-5), the ones this entity raises."""

    NO_ERROR = 0
    ACK_LIMIT_REACHED = 1
    FILESTORE_REJECTION = 4
    FILE_CHECKSUM_FAILURE = 5
    FILE_SIZE_ERROR = 6
    NAK_LIMIT_REACHED = 7
    INACTIVITY_DETECTED = 8
    CANCEL_REQUEST_RECEIVED = 15


class DeliveryCode(IntEnum):
    COMPLETE = 0
    INCOMPLETE = 1


class FileStatus(IntEnum):
    DISCARDED_DELIBERATELY = 0
    DISCARDED_FILESTORE_REJECTION = 1
    RETAINED = 2
    UNREPORTED = 3


class TransactionStatus(IntEnum):
    UNDEFINED = 0
    ACTIVE = 1
    TERMINATED = 2
    UNRECOGNIZED = 3


class ChecksumType(IntEnum):
    MODULAR = 0
    NULL = 15


class CfdpError(ProtocolError):
    """A PDU that cannot be decoded."""

    def __init__(self, text: str, reason: Reason = Reason.FIELD_RANGE) -> None:
        super().__init__(reason, f"CFDP: {text}")


@dataclass(frozen=True)
class Header:
    """The fixed PDU header fields a transaction needs (727.0-B-5 5.1)."""

    source_id: int
    dest_id: int
    seq_num: int
    toward_sender: bool = False  # direction bit
    acknowledged: bool = True  # transmission mode: class 2
    crc: bool = False
    large_file: bool = False
    entity_id_len: int = 2
    seq_num_len: int = 4
    segment_metadata: bool = False

    def replace(self, **kw: object) -> Header:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d.update(kw)
        return Header(**d)  # type: ignore[arg-type]

    @property
    def fss(self) -> int:
        """File-size-sensitive field width, octets."""
        return 8 if self.large_file else 4


@dataclass(frozen=True)
class Metadata:
    header: Header
    file_size: int
    source_name: bytes
    dest_name: bytes
    closure_requested: bool = False
    checksum_type: ChecksumType = ChecksumType.MODULAR
    options: bytes = b""


@dataclass(frozen=True)
class FileData:
    header: Header
    offset: int
    data: bytes


@dataclass(frozen=True)
class Eof:
    header: Header
    checksum: int
    file_size: int
    condition: Condition = Condition.NO_ERROR
    fault_location: bytes = b""


@dataclass(frozen=True)
class Finished:
    header: Header
    condition: Condition = Condition.NO_ERROR
    delivery: DeliveryCode = DeliveryCode.COMPLETE
    status: FileStatus = FileStatus.RETAINED
    tlvs: bytes = b""


@dataclass(frozen=True)
class Ack:
    header: Header
    acked: Directive  # EOF or FINISHED
    condition: Condition = Condition.NO_ERROR
    status: TransactionStatus = TransactionStatus.ACTIVE


@dataclass(frozen=True)
class Nak:
    header: Header
    start: int
    end: int
    segments: tuple[tuple[int, int], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Prompt:
    header: Header
    keep_alive: bool = False  # response required: False NAK, True Keep Alive


@dataclass(frozen=True)
class KeepAlive:
    header: Header
    progress: int


Pdu = Metadata | FileData | Eof | Finished | Ack | Nak | Prompt | KeepAlive


# -- encoding ----------------------------------------------------------------------
def _uint(value: int, width: int, what: str) -> bytes:
    if not 0 <= value < 1 << (8 * width):
        raise ValueError(f"{what} {value} does not fit {width} octets")
    return value.to_bytes(width, "big")


def _encode_header(h: Header, is_file_data: bool, data_len: int) -> bytes:
    if not 1 <= h.entity_id_len <= 8 or not 1 <= h.seq_num_len <= 8:
        raise ValueError("entity id and sequence number lengths are 1..8 octets")
    if data_len > 0xFFFF:
        raise ValueError(f"PDU data field of {data_len} octets is over 65535")
    b0 = (VERSION << 5) | (int(is_file_data) << 4) | (int(h.toward_sender) << 3) \
        | (int(not h.acknowledged) << 2) | (int(h.crc) << 1) | int(h.large_file)
    b3 = ((h.entity_id_len - 1) << 4) | (int(h.segment_metadata and is_file_data) << 3) \
        | (h.seq_num_len - 1)
    return bytes((b0,)) + data_len.to_bytes(2, "big") + bytes((b3,)) \
        + _uint(h.source_id, h.entity_id_len, "source entity id") \
        + _uint(h.seq_num, h.seq_num_len, "transaction sequence number") \
        + _uint(h.dest_id, h.entity_id_len, "destination entity id")


def _lv(value: bytes) -> bytes:
    if len(value) > MAX_FILE_NAME:
        raise ValueError(f"LV value of {len(value)} octets is over 255")
    return bytes((len(value),)) + value


def encode_pdu(pdu: Pdu) -> bytes:
    """The PDU's octets (with the CRC when the header asks for one)."""
    h = pdu.header
    fss = h.fss
    if isinstance(pdu, FileData):
        # with the segment metadata flag, one octet before the offset: record
        # continuation state 00 and no metadata (727.0-B-5 5.3), as decoded below
        seg = b"\x00" if h.segment_metadata else b""
        body = seg + _uint(pdu.offset, fss, "offset") + pdu.data
        is_fd = True
    else:
        is_fd = False
        if isinstance(pdu, Metadata):
            body = bytes((Directive.METADATA, (int(pdu.closure_requested) << 6)
                          | (pdu.checksum_type & 0x0F))) \
                + _uint(pdu.file_size, fss, "file size") + _lv(pdu.source_name) \
                + _lv(pdu.dest_name) + pdu.options
        elif isinstance(pdu, Eof):
            body = bytes((Directive.EOF, pdu.condition << 4)) \
                + pdu.checksum.to_bytes(4, "big") + _uint(pdu.file_size, fss, "file size")
            if pdu.condition != Condition.NO_ERROR:
                body += pdu.fault_location
        elif isinstance(pdu, Finished):
            body = bytes((Directive.FINISHED, (pdu.condition << 4) | (pdu.delivery << 2)
                          | pdu.status)) + pdu.tlvs
        elif isinstance(pdu, Ack):
            subtype = 1 if pdu.acked == Directive.FINISHED else 0
            body = bytes((Directive.ACK, (pdu.acked << 4) | subtype,
                          (pdu.condition << 4) | pdu.status))
        elif isinstance(pdu, Nak):
            body = bytes((Directive.NAK,)) + _uint(pdu.start, fss, "scope start") \
                + _uint(pdu.end, fss, "scope end") \
                + b"".join(_uint(a, fss, "segment start") + _uint(b, fss, "segment end")
                           for a, b in pdu.segments)
        elif isinstance(pdu, Prompt):
            body = bytes((Directive.PROMPT, int(pdu.keep_alive) << 7))
        elif isinstance(pdu, KeepAlive):
            body = bytes((Directive.KEEP_ALIVE,)) + _uint(pdu.progress, fss, "progress")
        else:
            raise TypeError(f"not a PDU: {type(pdu).__name__}")
    crc_len = 2 if h.crc else 0
    raw = _encode_header(h, is_fd, len(body) + crc_len) + body
    if h.crc:
        raw += crc16(raw).to_bytes(2, "big")
    return raw


# -- decoding ----------------------------------------------------------------------
def decode_header(raw: bytes) -> tuple[Header, bool, int, int]:
    """(header, is_file_data, data field start, data field end excluding any CRC)."""
    if len(raw) < 4:
        raise CfdpError(f"{len(raw)} octets, the fixed header needs at least 4", Reason.TRUNCATED)
    b0, data_len, b3 = raw[0], int.from_bytes(raw[1:3], "big"), raw[3]
    if b0 >> 5 != VERSION:
        raise CfdpError(f"version {b0 >> 5}, expected {VERSION}", Reason.BAD_VERSION)
    eid_len = ((b3 >> 4) & 0x07) + 1
    seq_len = (b3 & 0x07) + 1
    start = 4 + 2 * eid_len + seq_len
    end = start + data_len
    if len(raw) != end:
        raise CfdpError(f"{len(raw)} octets, the header says {end}", Reason.LENGTH_MISMATCH)
    crc = bool(b0 & 0x02)
    if crc:
        if data_len < 2:
            raise CfdpError("no room for the CRC")
        if crc16(raw[:-2]) != int.from_bytes(raw[-2:], "big"):
            raise CfdpError("PDU CRC mismatch", Reason.BAD_PEC)
        end -= 2
    h = Header(source_id=int.from_bytes(raw[4:4 + eid_len], "big"),
               seq_num=int.from_bytes(raw[4 + eid_len:4 + eid_len + seq_len], "big"),
               dest_id=int.from_bytes(raw[4 + eid_len + seq_len:start], "big"),
               toward_sender=bool(b0 & 0x08), acknowledged=not b0 & 0x04, crc=crc,
               large_file=bool(b0 & 0x01), entity_id_len=eid_len, seq_num_len=seq_len,
               segment_metadata=bool(b3 & 0x08))
    return h, bool(b0 & 0x10), start, end


class _Reader:
    __slots__ = ("end", "pos", "raw")

    def __init__(self, raw: bytes, pos: int, end: int) -> None:
        self.raw, self.pos, self.end = raw, pos, end

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > self.end:
            raise CfdpError(f"PDU ends inside {what}", Reason.TRUNCATED)
        out = self.raw[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, n: int, what: str) -> int:
        return int.from_bytes(self.take(n, what), "big")

    def rest(self) -> bytes:
        out = self.raw[self.pos:self.end]
        self.pos = self.end
        return out


def _enum(cls: type[IntEnum], value: int, what: str) -> IntEnum:
    try:
        return cls(value)
    except ValueError:
        raise CfdpError(f"{what} {value} is not defined") from None


def decode_pdu(raw: bytes) -> Pdu:
    """One PDU from its octets; CfdpError for anything malformed."""
    raw = bytes(raw)
    h, is_fd, start, end = decode_header(raw)
    r = _Reader(raw, start, end)
    fss = h.fss
    if is_fd:
        if h.segment_metadata:
            flags = r.uint(1, "segment metadata")
            r.take(flags & 0x3F, "segment metadata")
        return FileData(h, r.uint(fss, "offset"), r.rest())
    code = r.uint(1, "directive code")
    if code == Directive.METADATA:
        b = r.uint(1, "metadata flags")
        size = r.uint(fss, "file size")
        src = r.take(r.uint(1, "source name length"), "source name")
        dst = r.take(r.uint(1, "destination name length"), "destination name")
        return Metadata(h, size, src, dst, bool(b & 0x40), _checksum_type(b & 0x0F),
                        r.rest())
    if code == Directive.EOF:
        cond = _enum(Condition, r.uint(1, "condition") >> 4, "condition code")
        checksum = r.uint(4, "checksum")
        size = r.uint(fss, "file size")
        return Eof(h, checksum, size, cond, r.rest())
    if code == Directive.FINISHED:
        b = r.uint(1, "finished flags")
        return Finished(h, _enum(Condition, b >> 4, "condition code"),
                        DeliveryCode((b >> 2) & 1), FileStatus(b & 3), r.rest())
    if code == Directive.ACK:
        b = r.uint(1, "acknowledged directive")
        c = r.uint(1, "ack condition")
        acked = _enum(Directive, b >> 4, "acknowledged directive")
        if acked not in (Directive.EOF, Directive.FINISHED):
            raise CfdpError(f"ACK of {acked.name}: only EOF and Finished are acknowledged")
        if r.pos != r.end:
            raise CfdpError("ACK longer than 3 octets")
        return Ack(h, acked, _enum(Condition, c >> 4, "condition code"),
                   TransactionStatus(c & 3))
    if code == Directive.NAK:
        start_s = r.uint(fss, "scope start")
        end_s = r.uint(fss, "scope end")
        rest = r.rest()
        if len(rest) % (2 * fss):
            raise CfdpError("NAK segment requests are not whole pairs")
        segs = tuple((int.from_bytes(rest[i:i + fss], "big"),
                      int.from_bytes(rest[i + fss:i + 2 * fss], "big"))
                     for i in range(0, len(rest), 2 * fss))
        return Nak(h, start_s, end_s, segs)
    if code == Directive.PROMPT:
        return Prompt(h, bool(r.uint(1, "prompt flags") & 0x80))
    if code == Directive.KEEP_ALIVE:
        return KeepAlive(h, r.uint(fss, "progress"))
    raise CfdpError(f"directive code {code:#04x} is not one this entity handles")


def _checksum_type(value: int) -> ChecksumType:
    try:
        return ChecksumType(value)
    except ValueError:
        raise CfdpError(f"checksum type {value} is not supported (modular 0 or null 15)") \
            from None


def modular_checksum(data: bytes, offset: int = 0) -> int:
    """727.0-B-5 4.2.2 modular checksum of `data` placed at file `offset`, mod 2^32."""
    pad_front = offset % 4
    buf = b"\0" * pad_front + data
    buf += b"\0" * (-len(buf) % 4)
    total = sum(struct.unpack(f">{len(buf) // 4}I", buf)) if buf else 0
    return total & 0xFFFFFFFF
