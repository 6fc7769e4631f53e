"""TM Space Data Link Protocol, CCSDS 132.0-B-3, and the CLCW (232.0-B / 232.1-B).

Primary header (6 octets), 132.0-B 4.1.2: TFVN (2) = 00 | SCID (10) |
VCID (3) | OCF flag (1) | master channel frame count (8) |
virtual channel frame count (8) | data field status (16): secondary header
flag (1) | synchronisation flag (1) | packet order flag (1) |
segment length id (2, 11 when sync = 0) | first header pointer (11).
FHP 0x7FF: no packet starts in this frame; 0x7FE: idle data only.
Frames are of one fixed length per physical channel. Trailer: OCF (4,
carrying the CLCW) when the OCF flag is set, then the FECF (2) when the
mission uses it (132.0-B 4.1.5, 4.1.6).
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

from fsw.protocol.crc import CRC16_INIT, CRC16_TABLE, crc16, crc16_table_driven
from fsw.protocol.errors import FrameError, PacketError, Reason
from fsw.protocol.spp import IDLE_APID, MAX_PACKET_LEN, PRIMARY_HEADER_LEN, idle_packet

HEADER_LEN = 6
OCF_LEN = 4
FECF_LEN = 2
FHP_NO_PACKET_START = 0x7FF
FHP_IDLE = 0x7FE
IDLE_VCID = 7
MAX_FRAME_LEN = 2048

_HDR = struct.Struct(">HBBH")
_FECF = struct.Struct(">H")


# --- CLCW ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Clcw:
    """Communications Link Control Word (232.0-B 4.2.1 / 232.1-B-2 4.2.1)."""

    vcid: int
    report_value: int = 0
    lockout: bool = False
    wait: bool = False
    retransmit: bool = False
    farm_b_counter: int = 0
    no_rf_available: bool = False
    no_bit_lock: bool = False
    status: int = 0
    cop_in_effect: int = 1

    def encode_int(self) -> int:
        return ((self.status & 7) << 26 | (self.cop_in_effect & 3) << 24
                | (self.vcid & 0x3F) << 18 | self.no_rf_available << 15
                | self.no_bit_lock << 14 | self.lockout << 13 | self.wait << 12
                | self.retransmit << 11 | (self.farm_b_counter & 3) << 9
                | (self.report_value & 0xFF))

    def encode(self) -> bytes:
        return self.encode_int().to_bytes(4, "big")

    @classmethod
    def decode(cls, word: bytes | int) -> Clcw:
        if not isinstance(word, int):
            if len(word) != 4:
                raise FrameError(Reason.LENGTH_MISMATCH, "a CLCW is 4 octets")
            word = int.from_bytes(word, "big")
        if word >> 31:
            raise FrameError(Reason.BAD_VERSION, "control word type 1 is not a CLCW")
        if (word >> 29) & 3:
            raise FrameError(Reason.BAD_VERSION, "CLCW version not 0")
        return cls(vcid=(word >> 18) & 0x3F, report_value=word & 0xFF,
                   lockout=bool(word >> 13 & 1), wait=bool(word >> 12 & 1),
                   retransmit=bool(word >> 11 & 1), farm_b_counter=(word >> 9) & 3,
                   no_rf_available=bool(word >> 15 & 1), no_bit_lock=bool(word >> 14 & 1),
                   status=(word >> 26) & 7, cop_in_effect=(word >> 24) & 3)


# The OCF of a frame built before any CLCW is set: VC 0, nothing to report.
_FIRST_OCF = Clcw(vcid=0).encode()


# --- frame codec ---------------------------------------------------------------

@dataclass(slots=True)
class TmFrame:
    """One TM transfer frame (no secondary header)."""

    scid: int
    vcid: int
    mc_count: int
    vc_count: int
    fhp: int
    data: bytes
    ocf: bytes | None = None
    sync_flag: bool = False
    packet_order: bool = False
    segment_length_id: int = 3

    def encode(self, fecf: bool = True) -> bytes:
        return _encode_frame(self.scid, self.vcid, self.mc_count, self.vc_count, self.fhp,
                             self.data, self.ocf, fecf, self.sync_flag, self.packet_order,
                             self.segment_length_id)

    @classmethod
    def decode(cls, frame: bytes | bytearray | memoryview, *, frame_len: int,
               fecf: bool = True) -> TmFrame:
        """Decode one frame of the physical channel's fixed length `frame_len`."""
        frame = bytes(frame)
        if len(frame) != frame_len:
            raise FrameError(Reason.TM_FRAME_LENGTH,
                             f"{len(frame)} octets on a {frame_len}-octet channel")
        trailer = FECF_LEN if fecf else 0
        if frame_len < HEADER_LEN + OCF_LEN + trailer + 1:
            raise FrameError(Reason.TRUNCATED, "frame too short")
        if fecf and crc16(frame) != 0:
            raise FrameError(Reason.BAD_FECF, "frame error control field does not match")
        w0, mc, vc, status = _HDR.unpack_from(frame)
        if w0 >> 14:
            raise FrameError(Reason.BAD_VERSION, f"TFVN {w0 >> 14}")
        if status & 0x8000:
            raise FrameError(Reason.FIELD_RANGE, "secondary headers are not used")
        has_ocf = bool(w0 & 1)
        end = frame_len - trailer - (OCF_LEN if has_ocf else 0)
        sync = bool(status & 0x4000)
        seg = (status >> 11) & 3
        if not sync and seg != 3:
            raise FrameError(Reason.FIELD_RANGE, "segment length id must be 11 when sync is 0")
        f = cls.__new__(cls)
        f.scid = w0 >> 4 & 0x3FF
        f.vcid = w0 >> 1 & 7
        f.mc_count = mc
        f.vc_count = vc
        f.fhp = status & 0x7FF
        f.data = frame[HEADER_LEN:end]
        f.ocf = frame[end:end + OCF_LEN] if has_ocf else None
        f.sync_flag = sync
        f.packet_order = bool(status & 0x2000)
        f.segment_length_id = seg
        if f.fhp < FHP_IDLE and f.fhp >= len(f.data):
            raise FrameError(Reason.BAD_FHP, f"FHP {f.fhp} past data field of {len(f.data)}")
        return f


def _encode_frame(scid: int, vcid: int, mc_count: int, vc_count: int, fhp: int, data: bytes,
                  ocf: bytes | None, fecf: bool, sync_flag: bool = False,
                  packet_order: bool = False, segment_length_id: int = 3) -> bytes:
    """The octets of a `TmFrame` with these fields; the master channel builds its
    frames here without the object (compiled, making one costs more than the
    frame's 256 octets and its FECF)."""
    if not 0 <= scid <= 0x3FF or not 0 <= vcid <= 7:
        raise FrameError(Reason.FIELD_RANGE, "SCID or VCID")
    if not 0 <= mc_count <= 255 or not 0 <= vc_count <= 255:
        raise FrameError(Reason.FIELD_RANGE, "frame count")
    if not 0 <= fhp <= 0x7FF:
        raise FrameError(Reason.FIELD_RANGE, "first header pointer")
    if ocf is not None and len(ocf) != OCF_LEN:
        raise FrameError(Reason.FIELD_RANGE, "OCF is 4 octets")
    out = _HDR.pack(
        (scid << 4) | (vcid << 1) | (ocf is not None), mc_count, vc_count,
        (sync_flag << 14) | (packet_order << 13) | (segment_length_id << 11) | fhp,
    ) + data
    if ocf is not None:
        out += ocf
    if fecf:
        out += _FECF.pack(crc16_table_driven(out, CRC16_INIT, CRC16_TABLE))
    return out


def with_ocf(frame: bytes, ocf: bytes, *, fecf: bool = True) -> bytes:
    """`frame` (an encoded TM frame carrying an OCF) with its OCF replaced by
    `ocf` and its FECF recomputed.

    The CLCW in a frame's OCF reports the FARM's state when the frame is
    *sent* (CCSDS 232.1-B, COP-1: the FOP acts on each CLCW it receives), so a
    frame built before a pass and sent during it gets the current CLCW here.
    """
    if len(ocf) != OCF_LEN:
        raise FrameError(Reason.FIELD_RANGE, "OCF is 4 octets")
    end = len(frame) - (FECF_LEN if fecf else 0)
    # the OCF flag (132.0-B-3 4.1.2.7.4) and room for the 4 octets after the header
    if end < HEADER_LEN + OCF_LEN or not frame[1] & 1:
        raise FrameError(Reason.FIELD_RANGE, "frame has no OCF")
    out = frame[:end - OCF_LEN] + ocf
    if fecf:
        out += _FECF.pack(crc16_table_driven(out, CRC16_INIT, CRC16_TABLE))
    return out


def data_field_len(frame_len: int, ocf: bool = True, fecf: bool = True) -> int:
    """Octets of packet zone in a frame of `frame_len` octets."""
    return frame_len - HEADER_LEN - (OCF_LEN if ocf else 0) - (FECF_LEN if fecf else 0)


# --- sending side: packets into frames ----------------------------------------

class TmVirtualChannel:
    """Packs Space Packets into the fixed-size data fields of one virtual channel.

    Packets span frames; the FHP points to the first packet header starting
    in each frame (132.0-B 4.1.2.7). `flush()` completes a partial frame with
    an idle packet. Each VC keeps its own frame counter.
    """

    def __init__(self, vcid: int, field_len: int) -> None:
        if not 0 <= vcid <= 7:
            raise FrameError(Reason.FIELD_RANGE, f"VCID {vcid}")
        if field_len < 8:
            raise FrameError(Reason.FIELD_RANGE, "data field too small")
        self.vcid = vcid
        self.field_len = field_len
        self.frame_count = 0
        self._buf = bytearray()
        self._starts: deque[int] = deque()  # packet start offsets in _buf
        self._ready: deque[tuple[int, bytes]] = deque()  # (fhp, data field)

    def add_packet(self, packet: bytes) -> None:
        self._starts.append(len(self._buf))
        self._buf += packet
        self._cut()

    def flush(self) -> None:
        """Fill the partly-filled frame with an idle packet so that it can go."""
        r = len(self._buf) % self.field_len
        if r == 0 and self._buf:
            return
        if not self._buf and not self._ready:
            return
        space = self.field_len - r if self._buf else 0
        if space:
            n = space if space >= 7 else space + self.field_len
            self.add_packet(idle_packet(n).encode())

    @property
    def pending(self) -> int:
        """Frames ready to send."""
        return len(self._ready)

    def next_data(self) -> tuple[int, int, bytes] | None:
        """(vc_count, fhp, data field) of the next full frame, or None."""
        if not self._ready:
            return None
        fhp, data = self._ready.popleft()
        count = self.frame_count
        self.frame_count = (count + 1) & 0xFF
        return count, fhp, data

    def _cut(self) -> None:
        L = self.field_len
        buf = self._buf
        starts = self._starts
        while len(buf) >= L:
            fhp = FHP_NO_PACKET_START
            while starts and starts[0] < L:
                s = starts.popleft()
                if fhp == FHP_NO_PACKET_START:
                    fhp = s
            self._ready.append((fhp, bytes(buf[:L])))
            del buf[:L]
            # the starts left are in the next frames: shift them in place (a new
            # deque from a generator cost more than the frame)
            for i in range(len(starts)):
                starts[i] -= L


class TmMasterChannel:
    """All virtual channels of one spacecraft on one physical channel: assigns
    the master channel frame count, adds the CLCW in the OCF and the FECF, and
    sends an idle frame (VC 7, FHP 0x7FE) when nothing is pending."""

    def __init__(self, scid: int, frame_len: int, vcids: tuple[int, ...] = (0,),
                 ocf: bool = True, fecf: bool = True) -> None:
        if not HEADER_LEN + 8 <= frame_len <= MAX_FRAME_LEN:
            raise FrameError(Reason.FIELD_RANGE, f"frame length {frame_len}")
        self.scid = scid
        self.frame_len = frame_len
        self.use_ocf = ocf
        self.use_fecf = fecf
        self.field_len = data_field_len(frame_len, ocf, fecf)
        self.vcs = {v: TmVirtualChannel(v, self.field_len) for v in vcids}
        self.mc_count = 0
        self._idle_vc_count = 0
        self.clcw: Clcw | None = None

    def add_packet(self, vcid: int, packet: bytes) -> None:
        self.vcs[vcid].add_packet(packet)

    def frame(self, vcid: int | None = None) -> bytes:
        """The next frame: from `vcid`, or from the first VC with a frame ready,
        or an idle frame."""
        order = [vcid] if vcid is not None else list(self.vcs)
        for v in order:
            nxt = self.vcs[v].next_data()
            if nxt is not None:
                count, fhp, data = nxt
                return self._build(v, count, fhp, data)
        count = self._idle_vc_count
        self._idle_vc_count = (count + 1) & 0xFF
        return self._build(IDLE_VCID, count, FHP_IDLE, bytes((0x55,)) * self.field_len)

    def drain(self, flush: bool = True) -> list[bytes]:
        """Every frame the queued packets fill (flushing partial frames first)."""
        if flush:
            for vc in self.vcs.values():
                vc.flush()
        out = []
        for v, vc in self.vcs.items():
            while vc.pending:
                out.append(self.frame(v))
        return out

    def _build(self, vcid: int, vc_count: int, fhp: int, data: bytes) -> bytes:
        mc = self.mc_count
        self.mc_count = (mc + 1) & 0xFF
        ocf = None
        if self.use_ocf:
            clcw = self.clcw
            ocf = _FIRST_OCF if clcw is None else clcw.encode()
        return _encode_frame(self.scid, vcid, mc, vc_count, fhp, data, ocf, self.use_fecf)


# --- receiving side: frames into packets --------------------------------------

class TmVcReceiver:
    """Extracts packets from the frames of one virtual channel.

    A gap in the VC frame count drops the partial packet and resynchronises on
    the next FHP. Idle packets are dropped unless `keep_idle`.
    """

    def __init__(self, keep_idle: bool = False) -> None:
        self.keep_idle = keep_idle
        self._buf = bytearray()
        self._synced = False
        self._expect: int | None = None
        self.frames_lost = 0
        self.packets_dropped = 0

    def add(self, frame: TmFrame) -> list[bytes]:
        out: list[bytes] = []
        if self._expect is not None and frame.vc_count != self._expect:
            self.frames_lost += (frame.vc_count - self._expect) & 0xFF
            if self._buf:
                self.packets_dropped += 1
            self._buf.clear()
            self._synced = False
        self._expect = (frame.vc_count + 1) & 0xFF
        if frame.fhp == FHP_IDLE:
            return out
        data = frame.data
        if frame.fhp == FHP_NO_PACKET_START:
            if self._synced:
                self._buf += data
                self._extract(out)
            return out
        # the FHP points at a packet's first octet within the data field
        # (132.0-B-3 4.1.2.7.5): one past its last octet points at none
        if frame.fhp >= len(data):
            raise FrameError(Reason.BAD_FHP, "first header pointer past the data field")
        if self._synced:
            self._buf += data[:frame.fhp]
            self._extract(out)
            if self._buf:
                # the FHP says a new packet starts here, so the old one was cut short
                self.packets_dropped += 1
                self._buf.clear()
        self._synced = True
        self._buf += data[frame.fhp:]
        self._extract(out)
        return out

    def _extract(self, out: list[bytes]) -> None:
        buf = self._buf
        pos = 0
        while len(buf) - pos >= PRIMARY_HEADER_LEN:
            n = ((buf[pos + 4] << 8) | buf[pos + 5]) + 7
            if buf[pos] >> 5:
                # not a version-0 packet: lose sync until the next FHP
                self.packets_dropped += 1
                self._synced = False
                del buf[:]
                return
            if len(buf) - pos < n:
                break
            pkt = bytes(buf[pos:pos + n])
            pos += n
            if self.keep_idle or ((pkt[0] << 8 | pkt[1]) & 0x7FF) != IDLE_APID:
                out.append(pkt)
        del buf[:pos]
        if len(buf) > MAX_PACKET_LEN:
            raise PacketError(Reason.TOO_LONG, "packet longer than the maximum")


class TmReceiver:
    """Ground side: one physical channel, frames in, (vcid, packet) out; keeps
    the last CLCW seen in an OCF."""

    def __init__(self, scid: int, frame_len: int, fecf: bool = True) -> None:
        self.scid = scid
        self.frame_len = frame_len
        self.fecf = fecf
        self.vcs: dict[int, TmVcReceiver] = {}
        self.last_clcw: Clcw | None = None

    def add(self, raw: bytes) -> list[tuple[int, bytes]]:
        frame = TmFrame.decode(raw, frame_len=self.frame_len, fecf=self.fecf)
        if frame.scid != self.scid:
            raise FrameError(Reason.WRONG_SCID, f"SCID {frame.scid}")
        if frame.ocf is not None:
            self.last_clcw = Clcw.decode(frame.ocf)
        if frame.vcid == IDLE_VCID and frame.fhp == FHP_IDLE:
            return []
        rx = self.vcs.setdefault(frame.vcid, TmVcReceiver())
        return [(frame.vcid, p) for p in rx.add(frame)]
