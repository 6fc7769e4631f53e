"""The TC uplink end to end, for both ends of the link.

Flight side (`TcReceiver`), in this order for every received frame:
frame checks (length, version, spare bits, FECF; 232.0-B 4.2) -> SCID and
VC configuration -> authentication and anti-replay window (355.0-B-2) ->
the key holder's rights on this VC and MAP -> FARM-1 (232.1-B-2) -> durable
commit of the ARSN -> segment reassembly per VC, MAP and security
association -> Space Packets out.

Authentication comes before FARM-1 on purpose: an unauthenticated frame must
not be able to move the FARM (force Lockout or Wait). The ARSN of an AD
frame is committed when FARM-1 accepted the frame, or when the frame drove
FARM-1 into Lockout (so a replay of it cannot do that again); a frame that
FARM-1 asked to be retransmitted (E3) is not committed, so the FOP's
byte-identical retransmission gets through; the next FARM-1 directive on the
VC commits it, since the FOP purges its sent queue then. An authentic AD frame whose
ARSN was already used is a FOP retransmission when FARM-1 sees a duplicate
(E4, counted as such) and a replay otherwise; it never moves FARM-1.

Ground side (`TcSender`): packets -> segments -> frames with security header,
MAC and FECF, through FOP-1 when sequence-controlled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from fsw.protocol.cop1 import Farm1, Fop1
from fsw.protocol.crc import crc16
from fsw.protocol.errors import (
    CopError,
    FrameError,
    PacketError,
    ProtocolError,
    Reason,
    SecurityError,
)
from fsw.protocol.sdls import (
    MANAGEMENT_MAP,
    SecurityAssociation,
    SecurityEngine,
    SecuritySender,
    Verified,
)
from fsw.protocol.spp import SEQ_CONTINUATION, SEQ_FIRST, SEQ_LAST, SEQ_UNSEGMENTED, SpacePacket
from fsw.protocol.tc import (
    FECF_LEN,
    MAX_FRAME_LEN,
    PRIMARY_HEADER_LEN,
    SegmentReassembler,
    check_tc_frame,
)

# Bounds on the work one frame or one reassembled unit can cause on board.
MAX_UNIT_LEN = 4096  # octets of one reassembled MAP service data unit
MAX_PACKETS_PER_UNIT = 16


@dataclass
class VcConfig:
    """Managed parameters of one TC virtual channel."""

    vcid: int
    segment_header: bool = True
    authenticated: bool = True
    farm_window: int = 10
    maps: frozenset[int] = frozenset(range(64))
    max_unit_len: int = MAX_UNIT_LEN


@dataclass
class Delivery:
    """A packet (or a security management PDU) taken off an accepted frame."""

    vcid: int
    map_id: int | None
    sa: SecurityAssociation | None
    packet: bytes
    kind: str = "packet"  # "packet", "rekey", "control"


class Accepted(list):
    """What an accepted frame delivered (a list of `Delivery`), plus
    `problems`: errors found after FARM-1 accepted the frame (a broken
    segment sequence, trailing octets after the last packet, too many
    packets). The frame counts as accepted; each problem must be reported."""

    def __init__(self, deliveries: list[Delivery] | None = None,
                 problems: list[ProtocolError] | None = None) -> None:
        super().__init__(deliveries or [])
        self.problems: list[ProtocolError] = problems or []


@dataclass
class _Header:
    vcid: int
    cfg: VcConfig
    bypass: bool
    control: bool
    ns: int
    header_len: int
    end: int
    seq_flags: int
    map_id: int | None


@dataclass
class TcReceiver:
    """The flight side of the TC uplink for one spacecraft."""

    scid: int
    vcs: dict[int, VcConfig]
    security: SecurityEngine | None = None
    fecf: bool = True
    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    farms: dict[int, Farm1] = field(default_factory=dict)
    _reassembly: dict[tuple[int, int, int], SegmentReassembler] = field(default_factory=dict)
    _deferred: bool = False
    # per VC, per SPI: the newest authentic frame FARM-1 discarded with E3
    _discarded: dict[int, dict[int, Verified]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for v, cfg in self.vcs.items():
            self.farms.setdefault(v, Farm1(v, cfg.farm_window))
            if cfg.authenticated and self.security is None:
                raise SecurityError(Reason.KEY_FILE, f"VC {v} is authenticated but no SAs")

    def receive(self, raw: bytes | bytearray | memoryview) -> Accepted:
        """Process one received frame. Returns what it delivered; raises
        ProtocolError (after counting the reason) when the frame is rejected."""
        try:
            out = self._receive(bytes(raw))
        except ProtocolError as exc:
            self.rejected[exc.reason] += 1
            raise
        self.accepted += 1
        return out

    def receive_many(self, frames: list[bytes]) -> list[Accepted | ProtocolError]:
        """Process a burst of frames with one durable ARSN commit for all of
        them (group commit). The result for each frame is its deliveries or the
        ProtocolError that rejected it; nothing is returned, and so nothing can
        be acted on, before the commit. If the commit fails every frame of the
        burst is reported rejected."""
        out: list[Accepted | ProtocolError] = []
        self._deferred = True
        try:
            for raw in frames:
                try:
                    out.append(self._receive(bytes(raw)))
                except ProtocolError as exc:
                    out.append(exc)
        finally:
            self._deferred = False
        if self.security is not None:
            try:
                self.security.flush()
            except ProtocolError as exc:
                out = [exc] * len(out)
        for r in out:
            if isinstance(r, ProtocolError):
                self.rejected[r.reason] += 1
            else:
                self.accepted += 1
        return out

    def screen(self, raw: bytes | bytearray | memoryview) -> int | None:
        """The cheap checks of a frame on arrival, changing nothing: frame
        checks, configuration, MAC, ARSN freshness and the sender's rights.
        Returns the SPI of an authenticated frame worth queueing (None on an
        unauthenticated VC); raises the ProtocolError that will reject it
        otherwise, so that frames without a valid MAC never take queue space
        from key holders. Safe to call from a link thread."""
        frame = bytes(raw)
        h = self._header(frame)
        if not h.cfg.authenticated:
            return None
        assert self.security is not None
        v = self.security.verify(memoryview(frame)[:h.end], h.header_len, h.vcid,
                                 stale_ok=not (h.bypass or h.control))
        self._check_rights(h, v.sa)
        if not v.fresh:
            self._stale(h, v)
        return v.sa.spi

    def _header(self, frame: bytes) -> _Header:
        w0, w1, ns = check_tc_frame(frame, fecf=self.fecf)
        if w0 & 0x3FF != self.scid:
            raise FrameError(Reason.WRONG_SCID, f"SCID {w0 & 0x3FF}")
        vcid = w1 >> 10
        cfg = self.vcs.get(vcid)
        if cfg is None:
            raise FrameError(Reason.UNKNOWN_VCID, f"VC {vcid}")
        bypass, cc = bool(w0 & 0x2000), bool(w0 & 0x1000)
        if cc and not bypass:
            raise FrameError(Reason.ILLEGAL_FRAME_TYPE, "bypass 0 with control command 1")
        end = len(frame) - (FECF_LEN if self.fecf else 0)
        hlen = PRIMARY_HEADER_LEN + (cfg.segment_header and not cc)
        if end < hlen + 1:
            raise FrameError(Reason.TRUNCATED, "no frame data")
        seg_flags, map_id = SEQ_UNSEGMENTED, None
        if cfg.segment_header and not cc:
            seg = frame[PRIMARY_HEADER_LEN]
            seg_flags, map_id = seg >> 6, seg & 0x3F
            if map_id not in cfg.maps:
                raise FrameError(Reason.UNKNOWN_MAP, f"MAP {map_id} on VC {vcid}")
        return _Header(vcid, cfg, bypass, cc, ns, hlen, end, seg_flags, map_id)

    @staticmethod
    def _check_rights(h: _Header, sa: SecurityAssociation) -> None:
        if h.control:
            if not sa.rights.may_control_farm(h.vcid):
                raise SecurityError(Reason.NOT_AUTHORISED,
                                    f"{sa.owner} may not control the FARM of VC {h.vcid}")
        elif not sa.rights.may_send_data(h.vcid, h.map_id):
            raise SecurityError(Reason.NOT_AUTHORISED,
                                f"{sa.owner} may not send on VC {h.vcid} MAP {h.map_id}")

    def _stale(self, h: _Header, v: Verified) -> None:
        """An authentic AD frame with a used ARSN: never accepted, never moves FARM-1."""
        if self.farms[h.vcid].judge(h.ns) == "duplicate":
            raise CopError(Reason.FARM_DUPLICATE,
                           f"N(S) {h.ns} already accepted (a COP-1 retransmission)")
        raise SecurityError(Reason.REPLAY, f"SPI {v.sa.spi}: ARSN {v.arsn} already used")

    def _receive(self, frame: bytes) -> Accepted:
        h = self._header(frame)
        vcid = h.vcid
        sa = None
        verified = None
        if h.cfg.authenticated:
            assert self.security is not None
            verified = self.security.verify(memoryview(frame)[:h.end], h.header_len, vcid,
                                            stale_ok=not (h.bypass or h.control))
            sa, data = verified.sa, verified.data
            self._check_rights(h, sa)
            if not verified.fresh:
                self._stale(h, verified)
        else:
            data = frame[h.header_len:h.end]
        farm = self.farms[vcid]
        if h.control:
            farm.control_command(data)
            self._commit(verified)
            self._retire_discarded(vcid)
            # the sender's own unfinished packets on this VC restart with the FOP
            for key in [k for k in self._reassembly if k[0] == vcid and k[2] == _spi(sa)]:
                self._reassembly[key].reset()
            return Accepted([Delivery(vcid, None, sa, data, "control")])
        if h.bypass:
            farm.bd_frame()
        else:
            was_locked = farm.lockout
            try:
                farm.ad_frame(h.ns)
            except CopError:
                if farm.lockout and not was_locked:
                    self._commit(verified)  # a replay of it cannot force Lockout again
                elif verified is not None and farm.retransmit:
                    self._remember_discarded(vcid, verified)
                raise
        self._commit(verified)
        map_id = h.map_id
        if map_id == MANAGEMENT_MAP:
            if h.seq_flags != SEQ_UNSEGMENTED:
                return Accepted(problems=[FrameError(Reason.SEGMENT_SEQUENCE,
                                                     "security PDUs are not segmented")])
            if sa is None:
                return Accepted(problems=[SecurityError(Reason.NOT_AUTHENTICATED,
                                                        "key management needs an SA")])
            assert self.security is not None
            self.security.flush()  # this frame's ARSN is durable before the key changes
            try:
                self.security.rekey(data, sa)
            except ProtocolError as exc:
                return Accepted(problems=[exc])
            return Accepted([Delivery(vcid, map_id, sa, data, "rekey")])
        key = (vcid, map_id if map_id is not None else 0, _spi(sa))
        rs = self._reassembly.get(key)
        if rs is None:
            rs = self._reassembly[key] = SegmentReassembler(h.cfg.max_unit_len)
        try:
            unit = rs.add(h.seq_flags, data)
        except ProtocolError as exc:
            return Accepted(problems=[exc])
        if unit is None:
            return Accepted()
        return split_unit(unit, lambda p: Delivery(vcid, map_id, sa, p))

    def _remember_discarded(self, vcid: int, verified: Verified) -> None:
        """An authentic frame FARM-1 discarded asking for a retransmission (E3)
        stays uncommitted so FOP-1 can resend it byte for byte; keep the newest
        such ARSN per key holder until the next FARM-1 directive on the VC."""
        held = self._discarded.setdefault(vcid, {})
        known = held.get(verified.sa.spi)
        if known is None or verified.arsn > known.arsn:
            held[verified.sa.spi] = verified

    def _retire_discarded(self, vcid: int) -> None:
        """A directive (Unlock, Set V(R)) restarts COP-1 on the VC and the FOP
        purges its sent queue (232.1-B-2 5.1.6), so no genuine retransmission of
        an E3-discarded frame can follow: commit those ARSNs, and a recorded
        copy is a replay that can no longer land in a moved window."""
        for verified in self._discarded.pop(vcid, {}).values():
            assert self.security is not None
            if verified.arsn > self.security.last_accepted(verified.sa.spi):
                self._commit(verified)

    def _commit(self, verified: Verified | None) -> None:
        if verified is not None:
            assert self.security is not None
            self.security.commit(verified, durable=not self._deferred)

    def clcw(self, vcid: int):
        """The CLCW to put in the OCF of the downlink for `vcid`."""
        return self.farms[vcid].clcw()


def _spi(sa: SecurityAssociation | None) -> int:
    return sa.spi if sa is not None else 0


def split_unit(unit: bytes, deliver) -> Accepted:
    """The Space Packets filling a reassembled unit, at most
    MAX_PACKETS_PER_UNIT of them; a malformed or extra packet, or octets
    after the last packet, become problems of the accepted frame."""
    out = Accepted()
    offset = 0
    while offset < len(unit):
        if len(out) == MAX_PACKETS_PER_UNIT:
            out.problems.append(PacketError(
                Reason.TOO_LONG, f"more than {MAX_PACKETS_PER_UNIT} packets in one unit: "
                f"{len(unit) - offset} octets not processed"))
            break
        start = offset
        try:
            _pkt, offset = SpacePacket.decode_from(unit, offset)
        except ProtocolError as exc:
            out.problems.append(type(exc)(exc.reason, f"{len(unit) - offset} octets after "
                                          f"{len(out)} packets: {exc.detail}"))
            break
        out.append(deliver(unit[start:offset]))
    return out


class TcSender:
    """The ground side of the TC uplink: builds frames for one spacecraft.

    One `SecuritySender` per SA the ground may use (chosen per call by SPI).
    """

    def __init__(self, scid: int, vcs: dict[int, VcConfig],
                 senders: dict[int, SecuritySender] | None = None, fecf: bool = True,
                 max_frame_len: int = MAX_FRAME_LEN) -> None:
        self.scid = scid
        self.vcs = vcs
        self.senders = senders or {}
        self.fecf = fecf
        self.max_frame_len = max_frame_len
        self.fops: dict[int, Fop1] = {}

    def frame(self, vcid: int, ns: int, data: bytes, *, map_id: int = 0,
              seq_flags: int = SEQ_UNSEGMENTED, bypass: bool = False,
              control: bool = False, spi: int | None = None) -> bytes:
        """One complete frame around `data` (a packet, a segment, a directive)."""
        cfg = self.vcs[vcid]
        seg = (bytes(((seq_flags << 6) | map_id,))
               if cfg.segment_header and not control else b"")
        sec = None
        if cfg.authenticated:
            if spi is None:
                raise SecurityError(Reason.NOT_AUTHENTICATED, f"VC {vcid} needs an SPI")
            sec = self.senders[spi]
        total = PRIMARY_HEADER_LEN + len(seg) + len(data) + (FECF_LEN if self.fecf else 0)
        if sec is not None:
            total += sec.sa.overhead()
        if total > self.max_frame_len:
            raise FrameError(Reason.TOO_LONG, f"frame of {total} octets")
        hdr = ((bypass << 13) | (control << 12) | self.scid).to_bytes(2, "big") + \
            ((vcid << 10) | (total - 1)).to_bytes(2, "big") + bytes((ns,)) + seg
        body = sec.protect(hdr, data) if sec is not None else hdr + data
        if self.fecf:
            body += crc16(body).to_bytes(2, "big")
        return body

    def capacity(self, vcid: int, spi: int | None) -> int:
        """Octets of user data one frame can carry on `vcid`."""
        cfg = self.vcs[vcid]
        over = PRIMARY_HEADER_LEN + cfg.segment_header + (FECF_LEN if self.fecf else 0)
        if cfg.authenticated and spi is not None:
            over += self.senders[spi].sa.overhead()
        return self.max_frame_len - over

    def segments(self, vcid: int, packet: bytes, spi: int | None) -> list[tuple[int, bytes]]:
        """Cut a packet into (sequence flags, segment) pieces that fit a frame."""
        cap = self.capacity(vcid, spi)
        if len(packet) <= cap:
            return [(SEQ_UNSEGMENTED, packet)]
        if not self.vcs[vcid].segment_header:
            raise FrameError(Reason.TOO_LONG, "packet does not fit and VC has no segment header")
        pieces = [packet[i:i + cap] for i in range(0, len(packet), cap)]
        flags = [SEQ_FIRST] + [SEQ_CONTINUATION] * (len(pieces) - 2) + [SEQ_LAST]
        return list(zip(flags, pieces, strict=True))

    def fop(self, vcid: int, spi: int | None, map_id: int = 0, **kw) -> Fop1:
        """A FOP-1 for `vcid` that builds AD frames with this sender."""
        def build(ns: int, item: tuple[int, bytes] | bytes) -> bytes:
            flags, data = item if isinstance(item, tuple) else (SEQ_UNSEGMENTED, item)
            return self.frame(vcid, ns, data, map_id=map_id, seq_flags=flags, spi=spi)
        fop = self.fops[vcid] = Fop1(vcid, build, **kw)
        return fop
