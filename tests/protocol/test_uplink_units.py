"""The TC uplink between its frame checks and its packets (CCSDS 232.0-B-4
with the bounds docs/space-link.md states): frames built here octet by octet
on a VC without authentication, the segment header and MAP, the bounded
unit (at most 16 packets, 4,096 octets), what an accepted frame reports as
problems, and the ground's frame builder's limits."""

from __future__ import annotations

import pytest

from fsw.protocol import FrameError, ProtocolError, Reason, SecurityError
from fsw.protocol.crc import crc16
from fsw.protocol.pus import PusTc
from fsw.protocol.tc import UNLOCK, set_vr
from fsw.protocol.uplink import (
    MAX_PACKETS_PER_UNIT,
    MAX_UNIT_LEN,
    Delivery,
    TcReceiver,
    TcSender,
    VcConfig,
    split_unit,
)

SCID = 0x2AB
# sequence flags as 232.0-B-4 4.1.3.2.2 codes them (like the packet's, 133.0-B-2)
SEQ_CONTINUATION, SEQ_FIRST, SEQ_LAST, SEQ_UNSEGMENTED = 0b00, 0b01, 0b10, 0b11
PING = bytes.fromhex("1801c01600062f11010000ab62")  # TC(17,1), APID 1, seq 22


def frame(vcid, ns, data, *, seg=None, bypass=False, control=False, scid=SCID,
          fecf=True) -> bytes:
    """232.0-B-4 4.1: TFVN 00 | bypass | control | spare 00 | SCID | VCID | length - 1 |
    N(S) | [segment header] | data | FECF."""
    body = (bytes((seg,)) if seg is not None else b"") + data
    total = 5 + len(body) + (2 if fecf else 0)
    w0 = (bypass << 13) | (control << 12) | scid
    raw = w0.to_bytes(2, "big") + ((vcid << 10) | (total - 1)).to_bytes(2, "big") + \
        bytes((ns,)) + body
    return raw + (crc16(raw).to_bytes(2, "big") if fecf else b"")


def plain_rx(**cfg) -> TcReceiver:
    return TcReceiver(SCID, {0: VcConfig(0, authenticated=False, **cfg),
                             4: VcConfig(4, authenticated=False, segment_header=False)})


def reason(rx, raw) -> Reason:
    with pytest.raises(ProtocolError) as err:
        rx.receive(raw)
    return err.value.reason


def test_frames_on_a_plain_vc_deliver_their_packets():
    rx = plain_rx()
    out = rx.receive(frame(0, 0, PING, seg=(3 << 6) | 5))
    assert [(d.vcid, d.map_id, d.sa, d.packet, d.kind) for d in out] == [
        (0, 5, None, PING, "packet")]
    assert out.problems == [] and rx.accepted == 1 and rx.farms[0].vr == 1
    # two packets in one frame; a VC without segment header has no MAP
    out = rx.receive(frame(4, 0, PING + PING))
    assert [(d.map_id, d.packet) for d in out] == [(None, PING), (None, PING)]
    # a BD frame goes past FARM-1 and counts in its FARM-B counter
    out = rx.receive(frame(0, 77, PING, seg=0xC0, bypass=True))
    assert [d.packet for d in out] == [PING] and rx.farms[0].farm_b_counter == 1
    assert rx.farms[0].vr == 1


def test_a_packet_cut_into_segments_is_rebuilt_per_map():
    rx = plain_rx()
    a, b = PusTc(0x10, 20, 3, bytes(range(40))).encode(), PusTc(0x11, 17, 1).encode()
    assert list(rx.receive(frame(0, 0, a[:10], seg=(SEQ_FIRST << 6) | 1))) == []
    # another MAP's packet between the segments does not disturb them
    assert [d.packet for d in rx.receive(frame(0, 1, b, seg=(SEQ_UNSEGMENTED << 6) | 2))] == [b]
    assert list(rx.receive(frame(0, 2, a[10:30], seg=(SEQ_CONTINUATION << 6) | 1))) == []
    out = rx.receive(frame(0, 3, a[30:], seg=(SEQ_LAST << 6) | 1))
    assert [(d.map_id, d.packet) for d in out] == [(1, a)]
    # a last segment without its first is a problem of an accepted frame
    out = rx.receive(frame(0, 4, a[30:], seg=(SEQ_LAST << 6) | 1))
    assert list(out) == [] and [p.reason for p in out.problems] == [Reason.SEGMENT_SEQUENCE]
    assert rx.farms[0].vr == 5


def test_control_commands_act_on_farm_1_and_restart_unfinished_packets():
    rx = plain_rx()
    a = PusTc(0x10, 20, 3, bytes(40)).encode()
    rx.receive(frame(0, 0, a[:10], seg=(SEQ_FIRST << 6) | 1))
    out = rx.receive(frame(0, 0, set_vr(9), bypass=True, control=True))
    assert [(d.kind, d.packet, d.map_id) for d in out] == [("control", set_vr(9), None)]
    assert rx.farms[0].vr == 9 and rx.clcw(0).report_value == 9
    # the cut packet restarted with the FOP: its last segment finds no first
    out = rx.receive(frame(0, 9, a[10:], seg=(SEQ_LAST << 6) | 1))
    assert [p.reason for p in out.problems] == [Reason.SEGMENT_SEQUENCE]
    assert rx.receive(frame(0, 0, UNLOCK, bypass=True, control=True))[0].kind == "control"


@pytest.mark.parametrize("raw, why", [
    (frame(0, 0, PING, seg=0xC0, scid=SCID + 1), Reason.WRONG_SCID),
    (frame(5, 0, PING, seg=0xC0), Reason.UNKNOWN_VCID),
    (frame(0, 0, PING, seg=0xC0, control=True), Reason.ILLEGAL_FRAME_TYPE),
    (frame(0, 0, b"", seg=None), Reason.TRUNCATED),  # not even a segment header
    (frame(0, 0, b"", seg=0xC0), Reason.TRUNCATED),  # a segment header and nothing else
    (frame(0, 3, PING, seg=0xC0), Reason.FARM_OUT_OF_WINDOW),
])
def test_frames_refused_before_anything_is_delivered(raw, why):
    rx = plain_rx(maps=frozenset({0, 5}))
    assert reason(rx, raw) == why
    assert rx.rejected[why] == 1 and rx.accepted == 0


def test_a_map_not_configured_on_the_vc_is_refused():
    rx = plain_rx(maps=frozenset({0, 5}))
    with pytest.raises(FrameError) as err:
        rx.receive(frame(0, 0, PING, seg=0xC0 | 6))
    assert err.value.reason == Reason.UNKNOWN_MAP and str(err.value).endswith("MAP 6 on VC 0")


def test_key_management_needs_an_authenticated_unsegmented_frame():
    rx = plain_rx()
    out = rx.receive(frame(0, 0, b"\x01" * 47, seg=0xC0 | 63))
    assert list(out) == [] and [p.reason for p in out.problems] == [Reason.NOT_AUTHENTICATED]
    out = rx.receive(frame(0, 1, b"\x01" * 47, seg=(SEQ_FIRST << 6) | 63))
    assert [p.reason for p in out.problems] == [Reason.SEGMENT_SEQUENCE]


def test_an_authenticated_vc_needs_security_associations():
    with pytest.raises(SecurityError) as err:
        TcReceiver(SCID, {3: VcConfig(3)})
    assert err.value.reason == Reason.KEY_FILE
    assert str(err.value).endswith("VC 3 is authenticated but no SAs")
    # and the screen of a plain VC has no key holder to name
    assert plain_rx().screen(frame(0, 0, PING, seg=0xC0)) is None


def test_a_unit_holds_at_most_16_packets_and_nothing_after_them():
    def deliver(p: bytes) -> Delivery:
        return Delivery(0, 0, None, p)

    out = split_unit(PING * MAX_PACKETS_PER_UNIT, deliver)
    assert len(out) == 16 == MAX_PACKETS_PER_UNIT and out.problems == []
    out = split_unit(PING * 18, deliver)
    assert len(out) == 16 and [p.reason for p in out.problems] == [Reason.TOO_LONG]
    assert str(out.problems[0]) == (
        "too_long: more than 16 packets in one unit: 26 octets not processed")
    out = split_unit(PING * 2 + b"\x18\x01", deliver)
    assert [d.packet for d in out] == [PING, PING]
    assert [p.reason for p in out.problems] == [Reason.TRUNCATED]
    assert str(out.problems[0]).startswith("truncated: 2 octets after 2 packets: ")
    assert list(split_unit(b"", deliver)) == []


def test_a_unit_is_bounded_at_4096_octets():
    rx = plain_rx()
    assert MAX_UNIT_LEN == 4096 and rx.vcs[0].max_unit_len == 4096
    rx.receive(frame(0, 0, bytes(1000), seg=(SEQ_FIRST << 6)))
    for ns in range(1, 4):
        out = rx.receive(frame(0, ns, bytes(1000), seg=(SEQ_CONTINUATION << 6)))
        assert out.problems == []
    out = rx.receive(frame(0, 4, bytes(97), seg=(SEQ_CONTINUATION << 6)))
    assert [p.reason for p in out.problems] == [Reason.TOO_LONG]


def test_the_ground_builds_the_frame_octet_by_octet():
    tx = TcSender(SCID, {0: VcConfig(0, authenticated=False),
                         4: VcConfig(4, authenticated=False, segment_header=False)})
    assert tx.frame(0, 7, PING, map_id=5) == frame(0, 7, PING, seg=(3 << 6) | 5)
    assert tx.frame(0, 7, PING, map_id=5, seq_flags=SEQ_FIRST) == frame(0, 7, PING, seg=0x45)
    assert tx.frame(4, 1, PING, bypass=True) == frame(4, 1, PING, bypass=True)
    assert tx.frame(0, 0, UNLOCK, bypass=True, control=True) == frame(
        0, 0, UNLOCK, bypass=True, control=True)
    assert TcSender(SCID, tx.vcs, fecf=False).frame(4, 1, PING) == frame(4, 1, PING, fecf=False)
    # capacity: 1024 less header (5), segment header (1) and FECF (2)
    assert tx.capacity(0, None) == 1016 and tx.capacity(4, None) == 1017
    assert TcSender(SCID, tx.vcs, max_frame_len=100, fecf=False).capacity(0, None) == 94
    tx.frame(0, 0, bytes(1016))
    with pytest.raises(FrameError) as err:
        tx.frame(0, 0, bytes(1017))
    assert str(err.value) == "too_long: frame of 1025 octets"


def test_the_ground_cuts_packets_that_do_not_fit_into_segments():
    tx = TcSender(SCID, {0: VcConfig(0, authenticated=False),
                         4: VcConfig(4, authenticated=False, segment_header=False)},
                  max_frame_len=20)  # 12 octets of data a frame
    assert tx.segments(0, bytes(12), None) == [(SEQ_UNSEGMENTED, bytes(12))]
    assert tx.segments(0, bytes(range(13)), None) == [(SEQ_FIRST, bytes(range(12))),
                                                      (SEQ_LAST, bytes((12,)))]
    pieces = tx.segments(0, bytes(range(30)), None)
    assert [f for f, _ in pieces] == [SEQ_FIRST, SEQ_CONTINUATION, SEQ_LAST]
    assert b"".join(p for _, p in pieces) == bytes(range(30))
    with pytest.raises(FrameError) as err:
        tx.segments(4, bytes(14), None)
    assert str(err.value).endswith("packet does not fit and VC has no segment header")
    with pytest.raises(SecurityError) as err:
        TcSender(SCID, {1: VcConfig(1)}).frame(1, 0, PING)
    assert err.value.reason == Reason.NOT_AUTHENTICATED and str(err.value).endswith(
        "VC 1 needs an SPI")


def test_a_fop_built_by_the_ground_numbers_its_ad_frames():
    tx = TcSender(SCID, {0: VcConfig(0, authenticated=False)})
    fop = tx.fop(0, None, map_id=3, t1_s=1.0)
    assert tx.fops[0] is fop and fop.t1_s == 1.0
    fop.initiate()
    sent = fop.transmit(PING) + fop.transmit((SEQ_FIRST, PING[:4]))
    assert sent == [frame(0, 0, PING, seg=(3 << 6) | 3), frame(0, 1, PING[:4], seg=0x43)]
    rx = plain_rx()
    assert [d.packet for d in rx.receive(sent[0])] == [PING]
    # the flight's CLCW for VC 0 (report value 1) acknowledges the first frame
    assert fop.on_clcw(rx.farms[0].clcw()) == [] and [s.frame for s in fop.sent] == [sent[1]]


def test_a_burst_is_made_durable_in_one_commit(link):
    from spacelink_kit import OPERATOR_SPI

    frames = [link.tx.frame(0, i, PING, spi=OPERATOR_SPI) for i in range(4)]

    def one_at_a_time(spi, value):
        raise AssertionError("a frame of the burst was committed on its own")

    link.flight_store.set_arsn = one_at_a_time
    results = link.rx.receive_many(frames)
    assert all(not isinstance(r, ProtocolError) for r in results)
    assert link.flight_store.get(OPERATOR_SPI)[0] == 4


def test_screening_names_the_key_holder_and_refuses_what_would_be_refused(link):
    from spacelink_kit import OPERATOR_SPI, PARTNER_A_SPI

    ok = link.tx.frame(1, 0, PING, spi=PARTNER_A_SPI)
    assert link.rx.screen(ok) == PARTNER_A_SPI
    assert link.rx.farms[1].vr == 0 and link.flight_store.get(PARTNER_A_SPI)[0] == 0
    link.rx.receive(ok)
    with pytest.raises(ProtocolError) as err:
        link.rx.screen(ok)  # the same frame again: a COP-1 duplicate, not worth a queue slot
    assert str(err.value) == "farm_duplicate: N(S) 0 already accepted (a COP-1 retransmission)"
    link.rx.farms[1].vr = 100
    with pytest.raises(ProtocolError) as err:
        link.rx.screen(ok)
    assert str(err.value) == f"replay: SPI {PARTNER_A_SPI}: ARSN 1 already used"
    on_a_vc_of_b = link.tx.frame(2, 0, PING, spi=PARTNER_A_SPI)
    with pytest.raises(ProtocolError) as err:
        link.rx.screen(on_a_vc_of_b)
    assert err.value.reason == Reason.SA_WRONG_VC
    unlock_b = link.tx.frame(2, 0, UNLOCK, bypass=True, control=True, spi=OPERATOR_SPI)
    assert link.rx.screen(unlock_b) == OPERATOR_SPI
    a_map = link.tx.frame(1, 1, PING, map_id=1, spi=PARTNER_A_SPI)
    with pytest.raises(SecurityError) as err:
        link.rx.screen(a_map)
    assert str(err.value) == "not_authorised: uni-a may not send on VC 1 MAP 1"


def test_a_fop_on_an_authenticated_vc_protects_its_frames(link):
    from spacelink_kit import PARTNER_A_SPI

    fop = link.tx.fop(1, PARTNER_A_SPI)
    fop.initiate()
    frames = fop.transmit(PING)
    assert [d.packet for d in link.rx.receive(frames[0])] == [PING]


def test_e3_discarded_frames_are_committed_by_the_next_directive_newest_arsn_kept(link):
    from spacelink_kit import OPERATOR_SPI

    frames = [link.tx.frame(0, ns, PING, spi=OPERATOR_SPI) for ns in range(4)]  # ARSN 1..4
    for raw in (frames[3], frames[2]):  # ahead of V(R) 0: discarded asking to retransmit (E3)
        with pytest.raises(ProtocolError) as err:
            link.rx.receive(raw)
        assert err.value.reason == Reason.FARM_OUT_OF_WINDOW
    assert link.flight_store.get(OPERATOR_SPI)[0] == 0  # neither committed yet
    link.rx.receive(link.tx.frame(0, 0, UNLOCK, bypass=True, control=True, spi=OPERATOR_SPI))
    # the directive committed the newest discarded ARSN (4): both copies are replays now
    for raw in (frames[3], frames[2]):
        with pytest.raises(ProtocolError) as err:
            link.rx.receive(raw)
        assert err.value.reason == Reason.REPLAY


def test_farm_control_needs_the_right_to_it(tmp_path):
    from fsw.protocol.rights import Rights
    from fsw.protocol.sdls import SecurityAssociation, SecurityEngine, SecuritySender
    from fsw.protocol.store import ArsnStore

    no_farm = Rights(apids={1}, vcids={0}, maps={0}, farm_control=frozenset())
    sa = SecurityAssociation(5, "guest", bytes(range(32)), no_farm)
    vcs = {0: VcConfig(0)}
    rx = TcReceiver(SCID, vcs, SecurityEngine([sa], ArsnStore(":memory:")))
    tx = TcSender(SCID, vcs, {5: SecuritySender(
        SecurityAssociation(5, "guest", bytes(range(32)), no_farm), ArsnStore(":memory:"))})
    assert [d.packet for d in rx.receive(tx.frame(0, 0, PING, spi=5))] == [PING]
    with pytest.raises(SecurityError) as err:
        rx.receive(tx.frame(0, 0, UNLOCK, bypass=True, control=True, spi=5))
    assert str(err.value) == "not_authorised: guest may not control the FARM of VC 0"


def test_another_holders_directive_commits_the_newest_arsn_farm_1_discarded(link):
    from spacelink_kit import OPERATOR_SPI, PARTNER_A_SPI

    ahead2 = link.tx.frame(1, 2, PING, spi=PARTNER_A_SPI)  # ARSN 1
    ahead3 = link.tx.frame(1, 3, PING, spi=PARTNER_A_SPI)  # ARSN 2
    for raw in (ahead3, ahead2):  # the newer ARSN arrives first; both are E3 discards
        with pytest.raises(ProtocolError) as err:
            link.rx.receive(raw)
        assert err.value.reason == Reason.FARM_OUT_OF_WINDOW
    assert link.flight_store.get(PARTNER_A_SPI)[0] == 0
    # the bus operator unlocks VC 1: uni-a's FOP restarts, its discarded frames are void
    link.rx.receive(link.tx.frame(1, 0, UNLOCK, bypass=True, control=True, spi=OPERATOR_SPI))
    assert link.flight_store.get(PARTNER_A_SPI)[0] == 2
    for raw in (ahead3, ahead2):
        with pytest.raises(ProtocolError) as err:
            link.rx.receive(raw)
        assert err.value.reason == Reason.REPLAY


def test_a_burst_whose_commit_fails_is_refused_whole_and_counted(link):
    """If the burst's one ARSN commit fails (here: the store full), no frame
    of the burst is acted on: each is reported with the store's failure, and
    the receiver's counters say so."""
    from spacelink_kit import OPERATOR_SPI

    frames = [link.tx.frame(0, i, PING, spi=OPERATOR_SPI) for i in range(3)]

    def disk_full(values):
        raise SecurityError(Reason.STORE_FAILURE, "database or disk is full")

    link.flight_store.set_many = disk_full
    results = link.rx.receive_many(frames)
    assert [(type(r), r.reason) for r in results] == [(SecurityError, Reason.STORE_FAILURE)] * 3
    assert link.rx.rejected[Reason.STORE_FAILURE] == 3 and link.rx.accepted == 0


def test_a_frame_after_a_burst_is_durable_on_its_own(link, tmp_path):
    """Group commit holds for the burst only: a frame received on its own
    afterwards is on disk when `receive` returns (what a reboot would read)."""
    from spacelink_kit import OPERATOR_SPI

    from fsw.protocol.store import ArsnStore

    link.rx.receive_many([link.tx.frame(0, 0, PING, spi=OPERATOR_SPI)])
    link.rx.receive(link.tx.frame(0, 1, PING, spi=OPERATOR_SPI))  # ARSN 2
    assert ArsnStore(tmp_path / "flight.db").get(OPERATOR_SPI)[0] == 2


def test_a_replayed_type_b_frame_is_screened_out_as_a_replay(link):
    """A Type-B (bypass) frame is outside FARM-1's sequence (232.1-B-2 6.2):
    a copy of one is a replay whatever N(S) it carries, never taken for a
    COP-1 retransmission of an AD frame."""
    from spacelink_kit import OPERATOR_SPI

    link.rx.receive(link.tx.frame(0, 0, PING, spi=OPERATOR_SPI))  # AD: V(R) 0 -> 1
    bd = link.tx.frame(0, 0, PING, bypass=True, spi=OPERATOR_SPI)  # N(S) 0, behind V(R)
    link.rx.receive(bd)
    for check in (link.rx.screen, link.rx.receive):
        with pytest.raises(ProtocolError) as err:
            check(bd)
        assert err.value.reason == Reason.REPLAY


def test_the_ground_capacity_ignores_an_spi_on_a_plain_vc():
    """On a VC without authentication no security header is sent, so an SPI
    given anyway costs no room: 1024 less header (5), segment header (1) and
    FECF (2), as the frame builder itself fits it."""
    from spacelink_kit import KEY_DOC

    from fsw.protocol.keyfile import parse_key_document
    from fsw.protocol.sdls import SecuritySender
    from fsw.protocol.store import ArsnStore

    sa = parse_key_document(KEY_DOC).sas[0]
    tx = TcSender(SCID, {0: VcConfig(0, authenticated=False)},
                  {sa.spi: SecuritySender(sa, ArsnStore(":memory:"))})
    assert tx.capacity(0, sa.spi) == tx.capacity(0, None) == 1016
    assert len(tx.frame(0, 0, bytes(1016), spi=sa.spi)) == 1024


def test_a_directive_after_a_discarded_frame_landed_on_retransmission(link):
    """uni-a's frame 1 arrives before frame 0 and is discarded (E3); FOP-1
    resends it and it is accepted. The bus operator's Unlock on the VC then
    finds nothing left to commit for uni-a and is accepted itself."""
    from spacelink_kit import OPERATOR_SPI, PARTNER_A_SPI

    first, second = (link.tx.frame(1, ns, PING, spi=PARTNER_A_SPI) for ns in (0, 1))
    with pytest.raises(ProtocolError):
        link.rx.receive(second)
    link.rx.receive(first)
    link.rx.receive(second)  # the byte-for-byte retransmission
    assert link.flight_store.get(PARTNER_A_SPI)[0] == 2
    unlock = link.rx.receive(link.tx.frame(1, 0, UNLOCK, bypass=True, control=True,
                                           spi=OPERATOR_SPI))
    assert [d.kind for d in unlock] == ["control"]
    assert link.flight_store.get(PARTNER_A_SPI)[0] == 2
