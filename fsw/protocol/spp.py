"""CCSDS Space Packet Protocol, CCSDS 133.0-B-2.

Primary header (6 octets, big-endian), section 4.1.3:
version (3) = 000 | packet type (1: 0 TM, 1 TC) | secondary header flag (1) |
APID (11; 0x7FF = idle) | sequence flags (2) | sequence count (14) |
packet data length (16) = octets in the data field - 1.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MethodType

import numpy as np

from fsw.protocol.cuc import CucTime
from fsw.protocol.errors import PacketError, Reason

TM = 0
TC = 1
SEQ_CONTINUATION = 0b00
SEQ_FIRST = 0b01
SEQ_LAST = 0b10
SEQ_UNSEGMENTED = 0b11
IDLE_APID = 0x7FF
PRIMARY_HEADER_LEN = 6
MAX_PACKET_LEN = PRIMARY_HEADER_LEN + 65536  # 65 542 octets (133.0-B-2 4.1.3.5)
IDLE_FILL = 0x55  # idle data pattern is mission-defined (133.0-B-2 4.1.4.2.4)

_HDR = struct.Struct(">HHH")
_unpack_hdr = _HDR.unpack_from
_pack_hdr = _HDR.pack
_unpack_octets = struct.Struct(">BBBBH").unpack_from

# Tables that replace bit arithmetic on the hot path: CPython 3.11 runs `&`,
# `>>` and `*` on ints through generic code and allocates most results over
# 256, while a tuple lookup hands back an existing object. The header is
# decoded octet by octet (struct hands out octets as CPython's cached small
# ints) and each octet split by lookup.
# _ROWS[high][low] is the number high * 256 + low: a count or APID from its
# bits above the low octet and its low octet (64 rows of 256 existing ints,
# all 16,384 counts; about 0.65 MB).
_ROWS = tuple(tuple(range(h << 8, (h + 1) << 8)) for h in range(0x40))
# Octet 0 of a version-0 header (0..0x1F) -> (packet type, secondary header
# flag, row of the APIDs whose bits 10-8 it holds).
_OCTET0 = tuple((b >> 4, (b & 8) != 0, _ROWS[b & 7]) for b in range(0x20))
# Octet 2 -> (sequence flags, row of the counts whose bits 13-8 it holds).
_OCTET2 = tuple((b >> 6, _ROWS[b & 0x3F]) for b in range(0x100))
# The packet type and sequence flags in their header words.
_TYPE_BITS = (0, 0x1000)
_FLAGS_BITS = (0, 0x4000, 0x8000, 0xC000)

# One pair of struct.Structs per packet length up to _SHAPED_MAX octets,
# built on first use: `encode` packs the three header words and the data
# field in one call, `decode` unpacks the header octets and the data field in
# one call (no separate header, slice or concatenation). The tables hold the
# Structs' bound `pack` and `unpack`. A Struct is about 300 octets; longer
# packets take the two-step path (header Struct, then concatenation or
# slice), whose cost is small beside their data.
_SHAPED_MAX = 1024
_packers: list[Callable[..., bytes] | None] = (
    [None] * (_SHAPED_MAX - PRIMARY_HEADER_LEN + 1))  # by data field length
_unpackers: list[Callable[[bytes | bytearray | memoryview], tuple] | None] = (
    [None] * (_SHAPED_MAX + 1))  # by packet length


def _shape(length: int) -> Callable[..., bytes] | None:
    """Build the packer and unpacker of packets of `length` octets and return
    the packer; None for a length with none (outside 7.._SHAPED_MAX)."""
    if length <= PRIMARY_HEADER_LEN or length > _SHAPED_MAX:
        return None
    n = length - PRIMARY_HEADER_LEN
    _unpackers[length] = struct.Struct(f">BBBBH{n}s").unpack
    packer = _packers[n] = struct.Struct(f">HHH{n}s").pack
    return packer


def _decode(unpackers: list, data: bytes | bytearray | memoryview,
            _octet0: tuple = _OCTET0, _octet2: tuple = _OCTET2) -> SpacePacket:
    """Decode exactly one packet; the length field must match len(data).

    The packet returned is a SpacePacket made without running the
    constructor (every field decoded from a version-0 header is in range).
    """
    n = len(data)
    try:
        unpack = unpackers[n]
    except IndexError:  # longer than _SHAPED_MAX
        return _decode_unshaped(data)
    if unpack is None:
        if _shape(n) is None:  # shorter than a packet
            return _decode_unshaped(data)
        unpack = unpackers[n]
    b0, b1, b2, b3, length, body = unpack(data)
    # one test for a good packet; a version other than 0 makes octet 0 > 0x1F
    if b0 > 0x1F or length + 7 != n:
        _decode_error(data, b0, length)
    pkt = _Decoded()
    pkt.packet_type, pkt.sec_hdr_flag, row = _octet0[b0]
    pkt.apid = row[b1]
    pkt.seq_flags, row = _octet2[b2]
    pkt.seq_count = row[b3]
    pkt.data = body
    return pkt


class SpacePacket:
    """One Space Packet. `data` is the whole packet data field (secondary
    header included, when `sec_hdr_flag` is set).

    The six fields are plain attributes. The constructor refuses a field out
    of its range (PacketError, FIELD_RANGE), and so does `encode`, so a bad
    value written to a field after construction is refused when the packet
    is built into bytes and never spills into a neighbouring field of the
    header. Packets compare equal when their fields and data are equal, and
    are not hashable (they are mutable).

    Speed (CPython 3.11, where receivers read every field of every packet):
    each field is a slot, which reads and writes in a few nanoseconds where a
    derived property costs about 50 ns; `encode` and `decode` pack and unpack
    header and data field with one Struct per packet length (up to 1,024
    octets); `decode` splits the header octets by table lookup and skips the
    constructor (every field decoded from a version-0 header is in range):
    the packet it returns is a private subclass that is a SpacePacket in
    every respect but `type()`. The tables cost about 0.7 MB per process.
    """

    __slots__ = ("apid", "data", "packet_type", "sec_hdr_flag", "seq_count", "seq_flags")
    __match_args__ = ("apid", "packet_type", "sec_hdr_flag", "seq_flags", "seq_count", "data")
    __hash__ = None  # mutable and compared by value

    def __init__(self, apid: int, packet_type: int = TM, sec_hdr_flag: bool = False,
                 seq_flags: int = SEQ_UNSEGMENTED, seq_count: int = 0,
                 data: bytes = b"\x00") -> None:
        # one combined check keeps construction cheap on the hot path; each
        # bound is a comparison of its own, which CPython 3.11 runs in fewer
        # steps than a chained comparison (`0 <= x <= m`)
        if not (apid >= 0 and apid <= 0x7FF and (packet_type == 0 or packet_type == 1)
                and seq_flags >= 0 and seq_flags <= 3 and seq_count >= 0
                and seq_count <= 0x3FFF and 0 < len(data) <= 65536):
            _range_error(apid, packet_type, seq_flags, seq_count, data)
        self.apid = apid
        self.packet_type = packet_type
        self.sec_hdr_flag = True if sec_hdr_flag else False
        self.seq_flags = seq_flags
        self.seq_count = seq_count
        self.data = data if data.__class__ is bytes else bytes(data)

    @property
    def is_idle(self) -> bool:
        return self.apid == IDLE_APID

    @property
    def packet_id(self) -> int:
        """First 16 bits of the header; the software bus message id (cFS convention)."""
        return self.packet_type * 0x1000 + (0x800 if self.sec_hdr_flag else 0) + self.apid

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpacePacket):
            return NotImplemented
        return (self.apid == other.apid  # type: ignore[attr-defined]
                and self.seq_count == other.seq_count  # type: ignore[attr-defined]
                and self.packet_type == other.packet_type  # type: ignore[attr-defined]
                and self.sec_hdr_flag == other.sec_hdr_flag  # type: ignore[attr-defined]
                and self.seq_flags == other.seq_flags  # type: ignore[attr-defined]
                and self.data == other.data)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return (f"SpacePacket(apid={self.apid}, "
                f"packet_type={self.packet_type}, sec_hdr_flag={self.sec_hdr_flag}, "
                f"seq_flags={self.seq_flags}, seq_count={self.seq_count}, data={self.data!r})")

    def __reduce__(self) -> tuple[type[SpacePacket], tuple]:
        # copies and pickles are rebuilt through the constructor and its checks
        return SpacePacket, (self.apid, self.packet_type, self.sec_hdr_flag, self.seq_flags,
                             self.seq_count, self.data)

    # --- wire format ---

    def encode(self, _packers=_packers, _type_bits=_TYPE_BITS,
               _flags_bits=_FLAGS_BITS) -> bytes:
        """The packet as transmitted: primary header + data field.

        Raises PacketError (FIELD_RANGE) if a field was set out of its range.
        """
        apid = self.apid
        packet_type = self.packet_type
        seq_flags = self.seq_flags
        seq_count = self.seq_count
        data = self.data
        n = len(data)
        if not (apid >= 0 and apid <= 0x7FF and (packet_type == 0 or packet_type == 1)
                and seq_flags >= 0 and seq_flags <= 3 and seq_count >= 0
                and seq_count <= 0x3FFF):
            _range_error(apid, packet_type, seq_flags, seq_count, data)
        # the fields are in range, so they occupy disjoint bits and + is |
        w0 = (_type_bits[packet_type] + 0x800 + apid if self.sec_hdr_flag
              else _type_bits[packet_type] + apid)
        try:  # a packer exists only for data fields of 1 to _SHAPED_MAX - 6 octets
            pack = _packers[n]
        except IndexError:
            pack = None
        if pack is None:
            pack = _shape(n + PRIMARY_HEADER_LEN)
            if pack is None:
                if n == 0 or n > 65536:
                    _range_error(apid, packet_type, seq_flags, seq_count, data)
                return _pack_hdr(w0, _flags_bits[seq_flags] + seq_count, n - 1) + data
        return pack(w0, _flags_bits[seq_flags] + seq_count, n - 1, data)

    # A method bound once to the unpackers' table rather than a staticmethod:
    # CPython 3.11 specialises a call through the class (`SpacePacket.decode`)
    # for a bound method but not for a staticmethod (about 10 ns a call).
    decode = MethodType(_decode, _unpackers)

    @classmethod
    def decode_from(cls, buf: bytes | bytearray | memoryview,
                    offset: int = 0) -> tuple[SpacePacket, int]:
        """Decode the packet starting at `offset`; return it and the offset after it."""
        if offset < 0 or len(buf) - offset < PRIMARY_HEADER_LEN:
            raise PacketError(Reason.TRUNCATED, "primary header incomplete")
        end = offset + _unpack_hdr(buf, offset)[2] + 7
        if end > len(buf):
            raise PacketError(Reason.TRUNCATED, f"packet needs {end - offset} octets, "
                              f"{len(buf) - offset} left")
        return cls.decode(memoryview(buf)[offset:end]), end


class _Decoded(SpacePacket):
    """A SpacePacket made by `decode`, whose fields it sets itself.

    Creating it runs no Python constructor (`object.__init__` is C), which in
    CPython 3.11 costs half of `object.__new__(SpacePacket)`. It is a
    SpacePacket in every respect (isinstance, equality, repr, match, copy and
    pickle, which rebuild a SpacePacket).
    """

    __slots__ = ()
    __init__ = object.__init__


def _decode_unshaped(data: bytes | bytearray | memoryview) -> SpacePacket:
    """`SpacePacket.decode` for a length with no Struct of its own, or malformed input."""
    try:
        b0, b1, b2, b3, length = _unpack_octets(data)
    except struct.error:  # under 6 octets
        raise PacketError(Reason.TRUNCATED, f"{len(data)} octets, a packet has at "
                          "least 7") from None
    if b0 > 0x1F or length + 7 != len(data):
        _decode_error(data, b0, length)
    return SpacePacket((b0 & 7) << 8 | b1, b0 >> 4, (b0 & 8) != 0, b2 >> 6,
                       (b2 & 0x3F) << 8 | b3, bytes(data[6:]))


def _decode_error(data: bytes | bytearray | memoryview, octet0: int, length: int) -> None:
    n = len(data)
    if n < 7:
        raise PacketError(Reason.TRUNCATED, f"{n} octets, a packet has at least 7")
    if octet0 > 0x1F:
        raise PacketError(Reason.BAD_VERSION, f"packet version {octet0 >> 5}")
    raise PacketError(Reason.LENGTH_MISMATCH, f"length field says {length + 7} octets, got {n}")


def _range_error(apid: int, packet_type: int, seq_flags: int, seq_count: int,
                 data: bytes) -> None:
    if not 0 <= apid <= 0x7FF:
        raise PacketError(Reason.FIELD_RANGE, f"APID {apid}")
    if packet_type not in (TM, TC):
        raise PacketError(Reason.FIELD_RANGE, f"packet type {packet_type}")
    if not 0 <= seq_flags <= 3:
        raise PacketError(Reason.FIELD_RANGE, f"sequence flags {seq_flags}")
    if not 0 <= seq_count <= 0x3FFF:
        raise PacketError(Reason.FIELD_RANGE, f"sequence count {seq_count}")
    raise PacketError(Reason.FIELD_RANGE, f"data field of {len(data)} octets")


def packet_length(header: bytes | bytearray | memoryview, offset: int = 0) -> int:
    """Total packet length from a primary header (at least 6 octets at `offset`)."""
    if len(header) - offset < PRIMARY_HEADER_LEN:
        raise PacketError(Reason.TRUNCATED, "primary header incomplete")
    return _unpack_hdr(header, offset)[2] + 7


def iter_packets(buf: bytes | bytearray | memoryview) -> Iterator[SpacePacket]:
    """Decode back-to-back packets filling `buf` exactly."""
    offset = 0
    while offset < len(buf):
        pkt, offset = SpacePacket.decode_from(buf, offset)
        yield pkt


def idle_packet(length: int, seq_count: int = 0) -> SpacePacket:
    """An idle packet (APID 0x7FF, 133.0-B-2 4.1.3.3.4.4) of `length` total octets (>= 7)."""
    if not 7 <= length <= MAX_PACKET_LEN:
        raise PacketError(Reason.FIELD_RANGE, f"idle packet of {length} octets")
    return SpacePacket(IDLE_APID, TM, False, SEQ_UNSEGMENTED, seq_count,
                       bytes((IDLE_FILL,)) * (length - 6))


class SequenceCounter:
    """Source sequence count per APID, 14 bits, wrapping (133.0-B-2 4.1.3.4.3)."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}

    def next(self, apid: int) -> int:
        """The count to put in the next packet of `apid`."""
        n = self._next.get(apid, 0)
        self._next[apid] = (n + 1) & 0x3FFF
        return n

    def peek(self, apid: int) -> int:
        return self._next.get(apid, 0)


# --- secondary header with CUC time --------------------------------------------

def timed_packet(apid: int, time: CucTime, user_data: bytes, *, packet_type: int = TM,
                 seq_count: int = 0, seq_flags: int = SEQ_UNSEGMENTED,
                 with_p_field: bool = True) -> SpacePacket:
    """A packet whose secondary header is a CUC time code (133.0-B-2 4.1.4.2.1)."""
    return SpacePacket(apid, packet_type, True, seq_flags, seq_count,
                       time.encode(with_p_field) + bytes(user_data))


def split_timed(packet: SpacePacket, *, coarse_octets: int | None = None,
                fine_octets: int = 2) -> tuple[CucTime, bytes]:
    """Split a packet made by `timed_packet` into its time and user data.

    With `coarse_octets=None` the secondary header starts with a P-field.
    """
    if not packet.sec_hdr_flag:
        raise PacketError(Reason.FIELD_RANGE, "packet has no secondary header")
    data = packet.data
    if coarse_octets is None:
        if not data:
            raise PacketError(Reason.TRUNCATED, "no P-field")
        n = 1 + ((data[0] >> 2) & 3) + 1 + (data[0] & 3)
    else:
        n = coarse_octets + fine_octets
    if len(data) < n:
        raise PacketError(Reason.TRUNCATED, "secondary header shorter than its time code")
    t = CucTime.decode(data[:n], coarse_octets=coarse_octets, fine_octets=fine_octets)
    return t, data[n:]


# --- bulk decode ---------------------------------------------------------------

@dataclass
class PacketTable:
    """Header fields of many packets as numpy arrays, plus where each packet sits."""

    buffer: np.ndarray  # uint8 view of the whole input
    offset: np.ndarray  # int64, start of each packet in `buffer`
    length: np.ndarray  # int64, total octets of each packet
    apid: np.ndarray
    packet_type: np.ndarray
    sec_hdr_flag: np.ndarray
    seq_flags: np.ndarray
    seq_count: np.ndarray
    stride: int = 0  # packet length when every packet has the same length

    def __len__(self) -> int:
        return len(self.offset)

    def field(self, byte_offset: int, dtype: str | np.dtype) -> np.ndarray:
        """A big-endian user field at `byte_offset` from each packet start, as an array.

        `dtype` gives the field's type as on the wire: big-endian unless a
        type string says otherwise (``"<u2"``); the array returned holds the
        values in the machine's byte order, one per packet. Every packet
        must be long enough to hold the field.
        """
        dt = np.dtype(dtype)
        # numpy reports the machine's own order as "=" even when the string
        # named it ("<u2" on a little-endian machine), so read the string
        little = isinstance(dtype, str) and dtype.startswith("<")
        if dt.byteorder == "=" and dt.itemsize > 1 and not little:
            dt = dt.newbyteorder(">")
        if byte_offset < 0 or (len(self) and int(self.length.min()) < byte_offset + dt.itemsize):
            raise PacketError(Reason.TRUNCATED, "field past the end of a packet")
        if self.stride:
            # a strided view of the field in every packet, converted in one pass
            column = np.ndarray((len(self),), dt, self.buffer, byte_offset, (self.stride,))
            return column.astype(dt.newbyteorder("="))
        idx = self.offset[:, None] + (byte_offset + np.arange(dt.itemsize))
        return self.buffer[idx].copy().view(dt).reshape(-1).astype(dt.newbyteorder("="))


def decode_bulk(buf: bytes | bytearray | memoryview | np.ndarray) -> PacketTable:
    """Decode the primary headers of back-to-back packets filling `buf` exactly.

    Fixed-length streams are decoded with vectorised numpy; mixed lengths fall
    back to a scan of the length fields. Raises PacketError on a version other
    than 0 or when the packets do not fill the buffer exactly.
    """
    raw = np.frombuffer(buf, dtype=np.uint8)
    n = raw.size
    if n >= 7:
        size = (int(raw[4]) << 8 | int(raw[5])) + 7
        if n % size == 0:
            count = n // size
            # the three header words of every packet as strided big-endian views
            words = [np.ndarray((count,), ">u2", raw, 2 * k, (size,)) for k in range(3)]
            if (words[2] == size - 7).all():
                w0 = words[0].astype(np.uint16)
                if w0.max() > 0x1FFF:
                    raise PacketError(Reason.BAD_VERSION, "packet version not 0")
                w1 = words[1].astype(np.uint16)
                return PacketTable(raw, np.arange(0, n, size, dtype=np.int64),
                                   np.full(count, size, dtype=np.int64), w0 & 0x7FF,
                                   w0 >> 12, (w0 >> 11) & 1, w1 >> 14, w1 & 0x3FFF,
                                   stride=size)
    if n == 0:
        offsets = np.zeros(0, dtype=np.int64)
    else:
        if n < 7:
            raise PacketError(Reason.TRUNCATED, "buffer shorter than one packet")
        out = []
        mv = buf if isinstance(buf, (bytes, bytearray)) else memoryview(raw)
        off = 0
        while off < n:
            if n - off < PRIMARY_HEADER_LEN:
                raise PacketError(Reason.TRUNCATED, f"trailing {n - off} octets")
            out.append(off)
            off += ((mv[off + 4] << 8) | mv[off + 5]) + 7
        if off != n:
            raise PacketError(Reason.TRUNCATED, "last packet runs past the buffer")
        offsets = np.asarray(out, dtype=np.int64)
    w0 = (raw[offsets].astype(np.uint16) << 8) | raw[offsets + 1]
    w1 = (raw[offsets + 2].astype(np.uint16) << 8) | raw[offsets + 3]
    ln = ((raw[offsets + 4].astype(np.int64) << 8) | raw[offsets + 5]) + 7
    if np.any(w0 & 0xE000):
        raise PacketError(Reason.BAD_VERSION, "packet version not 0")
    return PacketTable(raw, offsets, ln, w0 & 0x7FF, (w0 >> 12) & 1, (w0 >> 11) & 1,
                       w1 >> 14, w1 & 0x3FFF)


@dataclass(frozen=True)
class SequenceReport:
    """What `check_sequence` found in a table of packets.

    `gaps` are the indices of packets that follow lost packets of their APID
    and `lost` how many were lost before each; `backwards` are the indices of
    packets whose count repeats or steps back (a duplicate or a reordering).
    """

    apids: np.ndarray  # distinct APIDs, ascending
    gaps: np.ndarray  # int64 indices into the table
    lost: np.ndarray  # int64, packets missing before each gap
    backwards: np.ndarray  # int64 indices into the table

    @property
    def missing(self) -> int:
        """Packets missing in all (the sum of `lost`)."""
        return int(self.lost.sum())

    @property
    def ok(self) -> bool:
        """True when every APID's counts run on by one with nothing lost or repeated."""
        return len(self.gaps) == 0 and len(self.backwards) == 0


_HALF_COUNT = 0x2000  # steps of half the 14-bit count or more are read as backwards


def check_sequence(table: PacketTable, apid: int | None = None) -> SequenceReport:
    """Check the source sequence counts of each APID in `table` (vectorised).

    The count of an APID goes up by one per packet modulo 2^14
    (133.0-B-2 4.1.3.4.3.4). Between consecutive packets of one APID a step
    of 2 to 2^13 - 1 means packets were lost; a step of 0 or of 2^13 and more
    (modulo 2^14) means a duplicate or packets out of order. With `apid`
    given, a packet of another APID raises PacketError (FIELD_RANGE).
    """
    if len(table) and table.apid.min() == table.apid.max():
        apids = table.apid[:1].copy()  # one APID, found without sorting
    else:
        apids = np.unique(table.apid)
    if apid is not None and (len(apids) > 1 or (len(apids) and int(apids[0]) != apid)):
        raise PacketError(Reason.FIELD_RANGE, f"APIDs {apids.tolist()} where {apid} expected")
    if len(apids) <= 1:
        index = None
        counts = table.seq_count
    else:  # group each APID's packets, keeping their order
        index = np.argsort(table.apid, kind="stable")
        counts = table.seq_count[index]
    step = (counts[1:].astype(np.int32) - counts[:-1]) & 0x3FFF
    if index is not None:  # the first packet of each APID has no predecessor
        same = table.apid[index[1:]] == table.apid[index[:-1]]
        step = np.where(same, step, 1)
    gap_at = np.flatnonzero(step > 1)
    back_at = np.flatnonzero(step >= _HALF_COUNT) + 1
    back = np.flatnonzero(step == 0) + 1
    if len(back):
        back_at = np.union1d(back_at, back)
    gap_at = gap_at[step[gap_at] < _HALF_COUNT]
    lost = step[gap_at].astype(np.int64) - 1
    gaps = gap_at + 1
    if index is not None:
        gaps, back_at = index[gaps], index[back_at]
        order = np.argsort(gaps, kind="stable")
        gaps, lost = gaps[order], lost[order]
        back_at = np.sort(back_at)
    return SequenceReport(apids, gaps.astype(np.int64), lost, back_at.astype(np.int64))
