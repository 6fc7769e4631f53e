"""CCSDS Space Packet Protocol, CCSDS 133.0-B-2.

Primary header (6 octets, big-endian), section 4.1.3:
version (3) = 000 | packet type (1: 0 TM, 1 TC) | secondary header flag (1) |
APID (11; 0x7FF = idle) | sequence flags (2) | sequence count (14) |
packet data length (16) = octets in the data field - 1.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np

from fsw.protocol.cuc import CucTime
from fsw.protocol.errors import PacketError, Reason
from hal._compiled import mypyc_attr

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


# Compiled: a packet holds only ints, a bool and bytes, so it can be in no
# reference cycle and the garbage collector need not track it (acyclic);
# the last packet freed is kept for the next one made (free_list_len).
@mypyc_attr(acyclic=True, free_list_len=1)
class SpacePacket:
    """One Space Packet. `data` is the whole packet data field (secondary
    header included, when `sec_hdr_flag` is set).

    The six fields are plain attributes of the types declared below. The
    constructor refuses a field out of its range (PacketError, FIELD_RANGE),
    and so does `encode`, so a bad value written to a field after
    construction is refused when the packet is built into bytes and never
    spills into a neighbouring field of the header. Packets compare equal
    when their fields and data are equal, and are not hashable (they are
    mutable).

    Speed: the module is compiled with mypyc when the package is built
    (fsw/compiled_modules.txt; `hal._compiled` runs the Python source
    instead when the build is missing or older than it). Compiled, the
    packet is a native class: its fields are stored as C values, the range
    checks and bit arithmetic run as C, and `decode` builds its packet
    through the constructor without re-entering the interpreter. A field
    written with a value of another type (`p.apid = 1.5`, `p.sec_hdr_flag
    = 1`) is then refused with TypeError at the assignment; the source
    build takes it and `encode` refuses what does not fit.
    """

    __slots__ = ("apid", "data", "packet_type", "sec_hdr_flag", "seq_count", "seq_flags")
    __match_args__: Final = ("apid", "packet_type", "sec_hdr_flag", "seq_flags", "seq_count",
                             "data")

    apid: int  # 0..0x7FF (0x7FF: idle)
    packet_type: int  # TM (0) or TC (1)
    sec_hdr_flag: bool
    seq_flags: int  # SEQ_CONTINUATION, SEQ_FIRST, SEQ_LAST or SEQ_UNSEGMENTED
    seq_count: int  # 0..0x3FFF
    data: bytes  # 1..65,536 octets

    def __init__(self, apid: int, packet_type: int = TM, sec_hdr_flag: bool | int = False,
                 seq_flags: int = SEQ_UNSEGMENTED, seq_count: int = 0,
                 data: bytes | bytearray | memoryview = b"\x00") -> None:
        # one combined check keeps construction cheap on the hot path; each
        # bound is a comparison of its own, which the source build runs in
        # fewer steps than a chained comparison (`0 <= x <= m`)
        if not (apid >= 0 and apid <= 0x7FF and (packet_type == 0 or packet_type == 1)
                and seq_flags >= 0 and seq_flags <= 3 and seq_count >= 0
                and seq_count <= 0x3FFF and len(data) > 0 and len(data) <= 65536):
            _range_error(apid, packet_type, seq_flags, seq_count, data)
        self.apid = apid
        self.packet_type = packet_type
        self.sec_hdr_flag = True if sec_hdr_flag else False
        self.seq_flags = seq_flags
        self.seq_count = seq_count
        self.data = data if isinstance(data, bytes) else bytes(data)

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
        return (self.apid == other.apid and self.seq_count == other.seq_count
                and self.packet_type == other.packet_type
                and self.sec_hdr_flag == other.sec_hdr_flag
                and self.seq_flags == other.seq_flags and self.data == other.data)

    __hash__ = None  # type: ignore[assignment]  # mutable and compared by value

    def __repr__(self) -> str:
        return (f"SpacePacket(apid={self.apid}, "
                f"packet_type={self.packet_type}, sec_hdr_flag={self.sec_hdr_flag}, "
                f"seq_flags={self.seq_flags}, seq_count={self.seq_count}, data={self.data!r})")

    def __reduce__(self) -> tuple[type[SpacePacket], tuple]:
        # copies and pickles are rebuilt through the constructor and its checks
        return SpacePacket, (self.apid, self.packet_type, self.sec_hdr_flag, self.seq_flags,
                             self.seq_count, self.data)

    # --- wire format ---

    def encode(self) -> bytes:
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
                and seq_count <= 0x3FFF and n > 0 and n <= 65536):
            _range_error(apid, packet_type, seq_flags, seq_count, data)
        # the fields are in range, so they occupy disjoint bits and + is |
        w0 = packet_type * 0x1000 + apid
        if self.sec_hdr_flag:
            w0 += 0x800
        return _pack_hdr(w0, seq_flags * 0x4000 + seq_count, n - 1) + data

    @staticmethod
    def decode(data: bytes | bytearray | memoryview) -> SpacePacket:
        """Decode exactly one packet; the length field must match len(data).

        Raises PacketError: TRUNCATED under 7 octets, BAD_VERSION for a
        version other than 0, LENGTH_MISMATCH when the length field
        disagrees with the octets given.
        """
        raw = data if isinstance(data, bytes) else bytes(data)
        n = len(raw)
        if n < 7:
            raise PacketError(Reason.TRUNCATED, f"{n} octets, a packet has at least 7")
        # octet by octet: the compiled build indexes bytes as C octets
        octet0 = raw[0]
        length = raw[4] * 256 + raw[5]
        if octet0 > 0x1F or length + 7 != n:  # a version other than 0 makes octet 0 > 0x1F
            _decode_error(n, octet0, length)
        octet2 = raw[2]
        return SpacePacket((octet0 & 7) * 256 + raw[1], octet0 >> 4, (octet0 & 8) != 0,
                           octet2 >> 6, (octet2 & 0x3F) * 256 + raw[3], raw[6:])

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
        return SpacePacket.decode(memoryview(buf)[offset:end]), end


def _decode_error(n: int, octet0: int, length: int) -> None:
    if octet0 > 0x1F:
        raise PacketError(Reason.BAD_VERSION, f"packet version {octet0 >> 5}")
    raise PacketError(Reason.LENGTH_MISMATCH, f"length field says {length + 7} octets, got {n}")


def _range_error(apid: int, packet_type: int, seq_flags: int, seq_count: int,
                 data: bytes | bytearray | memoryview) -> None:
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
        mv = buf if isinstance(buf, (bytes, bytearray)) else raw.data
        off = 0
        while off < n:
            if n - off < PRIMARY_HEADER_LEN:
                raise PacketError(Reason.TRUNCATED, f"trailing {n - off} octets")
            out.append(off)
            off += ((mv[off + 4] << 8) | mv[off + 5]) + 7
        if off != n:
            raise PacketError(Reason.TRUNCATED, "last packet runs past the buffer")
        offsets = np.asarray(out, dtype=np.int64)
    word0: np.ndarray = (raw[offsets].astype(np.uint16) << 8) | raw[offsets + 1]
    word1: np.ndarray = (raw[offsets + 2].astype(np.uint16) << 8) | raw[offsets + 3]
    ln = ((raw[offsets + 4].astype(np.int64) << 8) | raw[offsets + 5]) + 7
    if np.any(word0 & 0xE000):
        raise PacketError(Reason.BAD_VERSION, "packet version not 0")
    return PacketTable(raw, offsets, ln, word0 & 0x7FF, (word0 >> 12) & 1, (word0 >> 11) & 1,
                       word1 >> 14, word1 & 0x3FFF)


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
