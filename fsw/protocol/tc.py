"""TC Space Data Link Protocol, CCSDS 232.0-B-4.

Primary header (5 octets), section 4.1.2: TFVN (2) = 00 | bypass flag (1) |
control command flag (1) | spare (2) = 00 | SCID (10) | VCID (6) |
frame length (10) = total octets - 1 | frame sequence number N(S) (8).
Optional segment header (1 octet, MAP sublayer), 232.0-B 4.1.3.2.2 /
(historic 232.0-B-2 section 4.1.3.2): sequence flags (2) | MAP ID (6).
Frame Error Control Field (2 octets, CRC-16/CCITT-FALSE), 4.1.4.
Maximum frame length 1024 octets (4.1.2.7.2).

Frame types (bypass, control command): AD = (0, 0), BD = (1, 0), BC = (1, 1);
(0, 1) is illegal. Control commands (232.0-B 4.1.3.3, 232.1-B-2 5.3):
Unlock = 0x00, Set V(R) = 0x82 0x00 V(R).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from fsw.protocol.crc import crc16
from fsw.protocol.errors import FrameError, Reason
from fsw.protocol.spp import SEQ_CONTINUATION, SEQ_FIRST, SEQ_LAST, SEQ_UNSEGMENTED

MAX_FRAME_LEN = 1024
PRIMARY_HEADER_LEN = 5
FECF_LEN = 2

AD = "AD"
BD = "BD"
BC = "BC"

UNLOCK = b"\x00"


def set_vr(vr: int) -> bytes:
    """Data field of the Set V(R) control command."""
    if not 0 <= vr <= 255:
        raise FrameError(Reason.FIELD_RANGE, f"V(R) {vr}")
    return bytes((0x82, 0x00, vr))


_HDR = struct.Struct(">HHB")


@dataclass(slots=True)
class TcFrame:
    """One TC transfer frame. `data` is the frame data field after the segment
    header (security header, payload and trailer together, when SDLS is used)."""

    scid: int
    vcid: int
    seq_num: int = 0
    data: bytes = b""
    bypass: bool = False
    control_command: bool = False
    map_id: int | None = None  # None: no segment header on this VC
    seq_flags: int = SEQ_UNSEGMENTED

    def __post_init__(self) -> None:
        if not 0 <= self.scid <= 0x3FF:
            raise FrameError(Reason.FIELD_RANGE, f"SCID {self.scid}")
        if not 0 <= self.vcid <= 0x3F:
            raise FrameError(Reason.FIELD_RANGE, f"VCID {self.vcid}")
        if not 0 <= self.seq_num <= 0xFF:
            raise FrameError(Reason.FIELD_RANGE, f"N(S) {self.seq_num}")
        if self.control_command and not self.bypass:
            raise FrameError(Reason.ILLEGAL_FRAME_TYPE, "control command without bypass")
        if self.map_id is not None and not 0 <= self.map_id <= 0x3F:
            raise FrameError(Reason.FIELD_RANGE, f"MAP ID {self.map_id}")
        if not 0 <= self.seq_flags <= 3:
            raise FrameError(Reason.FIELD_RANGE, "segment sequence flags")
        self.data = bytes(self.data)

    @property
    def frame_type(self) -> str:
        if self.control_command:
            return BC
        return BD if self.bypass else AD

    def header_len(self) -> int:
        return PRIMARY_HEADER_LEN + (self.map_id is not None)

    def encode(self, fecf: bool = True) -> bytes:
        """The frame as transmitted, with the FECF unless `fecf` is False."""
        total = self.header_len() + len(self.data) + (FECF_LEN if fecf else 0)
        if total > MAX_FRAME_LEN:
            raise FrameError(Reason.TOO_LONG, f"frame of {total} octets")
        out = _HDR.pack((self.bypass << 13) | (self.control_command << 12) | self.scid,
                        (self.vcid << 10) | (total - 1), self.seq_num)
        if self.map_id is not None:
            out += bytes(((self.seq_flags << 6) | self.map_id,))
        out += self.data
        if fecf:
            out += crc16(out).to_bytes(2, "big")
        return out

    @classmethod
    def decode(cls, frame: bytes | bytearray | memoryview, *,
               segment_header: bool = True, fecf: bool = True) -> TcFrame:
        """Decode one frame, checking length field, version, spare bits and FECF."""
        frame = bytes(frame)
        hdr = check_tc_frame(frame, fecf=fecf)
        w0, w1, seq = hdr
        end = len(frame) - (FECF_LEN if fecf else 0)
        bypass = bool(w0 & 0x2000)
        cc = bool(w0 & 0x1000)
        if cc and not bypass:
            raise FrameError(Reason.ILLEGAL_FRAME_TYPE, "type (bypass 0, control 1)")
        pos = PRIMARY_HEADER_LEN
        map_id = None
        seq_flags = SEQ_UNSEGMENTED
        if segment_header and not cc:
            if end - pos < 1:
                raise FrameError(Reason.TRUNCATED, "no segment header")
            seg = frame[pos]
            seq_flags, map_id = seg >> 6, seg & 0x3F
            pos += 1
        f = object.__new__(cls)
        f.scid = w0 & 0x3FF
        f.vcid = w1 >> 10
        f.seq_num = seq
        f.data = frame[pos:end]
        f.bypass = bypass
        f.control_command = cc
        f.map_id = map_id
        f.seq_flags = seq_flags
        return f


def check_tc_frame(frame: bytes, *, fecf: bool = True) -> tuple[int, int, int]:
    """Check the primary header and the FECF; return the raw header words."""
    n = len(frame)
    if n > MAX_FRAME_LEN:
        raise FrameError(Reason.TOO_LONG, f"{n} octets, the limit is {MAX_FRAME_LEN}")
    minimum = PRIMARY_HEADER_LEN + (FECF_LEN if fecf else 0) + 1
    if n < minimum:
        raise FrameError(Reason.TRUNCATED, f"{n} octets, a frame has at least {minimum}")
    w0, w1, seq = _HDR.unpack_from(frame)
    if w0 >> 14:
        raise FrameError(Reason.BAD_VERSION, f"TFVN {w0 >> 14}")
    if w0 & 0x0C00:
        raise FrameError(Reason.SPARE_BITS_SET, "spare bits in TC primary header")
    if (w1 & 0x3FF) + 1 != n:
        raise FrameError(Reason.LENGTH_MISMATCH,
                         f"frame length field says {(w1 & 0x3FF) + 1}, received {n}")
    if fecf and crc16(frame) != 0:
        raise FrameError(Reason.BAD_FECF, "frame error control field does not match")
    return w0, w1, seq


def parse_control_command(data: bytes) -> tuple[str, int | None]:
    """Decode a BC frame data field: ("unlock", None) or ("set_vr", V(R))."""
    if data == UNLOCK:
        return "unlock", None
    if len(data) == 3 and data[0] == 0x82 and data[1] == 0x00:
        return "set_vr", data[2]
    raise FrameError(Reason.BAD_DIRECTIVE, f"unknown control command {data[:4].hex()}")


class SegmentReassembler:
    """Rebuilds packets cut into segments on one MAP channel (232.0-B 4.3.4 / MAP
    packet extraction). Segments of a packet carry flags first, continuation...,
    last; an unsegmented frame carries whole packets."""

    def __init__(self, max_len: int = 65542) -> None:
        self.max_len = max_len
        self._parts: bytearray | None = None

    @property
    def in_progress(self) -> bool:
        return self._parts is not None

    def reset(self) -> None:
        self._parts = None

    def add(self, seq_flags: int, data: bytes) -> bytes | None:
        """Add one segment; return the complete user data unit when it ends here."""
        if seq_flags == SEQ_UNSEGMENTED:
            if self._parts is not None:
                self._parts = None
                raise FrameError(Reason.SEGMENT_SEQUENCE, "unsegmented frame mid-packet")
            return bytes(data)
        if seq_flags == SEQ_FIRST:
            restarted = self._parts is not None
            self._parts = bytearray(data)
            if restarted:
                raise FrameError(Reason.SEGMENT_SEQUENCE, "first segment mid-packet")
            self._check_len()
            return None
        if self._parts is None:
            raise FrameError(Reason.SEGMENT_SEQUENCE, "continuation or last without first")
        self._parts += data
        self._check_len()
        if seq_flags == SEQ_LAST:
            out = bytes(self._parts)
            self._parts = None
            return out
        assert seq_flags == SEQ_CONTINUATION
        return None

    def _check_len(self) -> None:
        if self._parts is not None and len(self._parts) > self.max_len:
            self._parts = None
            raise FrameError(Reason.TOO_LONG, "reassembled unit exceeds the maximum")
