"""Edges of the space-link codecs that a user meets: the largest frame and
packet the standards allow and one octet more, the words of each refusal,
the default sequence count, and the idle fill of a frame left with exactly
the room of the smallest idle packet. Limits are written out here from the
standards (CCSDS 232.0-B-4, 133.0-B-2, 132.0-B-3), never read from the code.
"""

from __future__ import annotations

import pytest

from fsw.protocol import FrameError, PacketError, ProtocolError, Reason
from fsw.protocol.cuc import CucTime
from fsw.protocol.spp import SpacePacket, idle_packet, timed_packet
from fsw.protocol.tc import TcFrame
from fsw.protocol.tm import TmFrame, TmMasterChannel, TmVcReceiver, TmVirtualChannel


def refusal(make) -> Exception:
    with pytest.raises((FrameError, PacketError)) as info:
        make()
    return info.value


# --- TC transfer frames (CCSDS 232.0-B-4) ----------------------------------------

@pytest.mark.parametrize("field, bad, words", [
    ("scid", 0x400, "SCID 1024"),  # 4.1.2.2.3: 10 bits
    ("vcid", 0x40, "VCID 64"),  # 4.1.2.2.4: 6 bits
    ("seq_num", 0x100, "N(S) 256"),  # 4.1.2.4: 8 bits
    ("map_id", 0x40, "MAP ID 64"),  # 232.0-B-4 annex / 232.1: segment header MAP ID, 6 bits
])
def test_a_tc_frame_field_out_of_range_is_named_with_its_value(field, bad, words):
    args = {"scid": 0x2AB, "vcid": 1, "seq_num": 0, "data": b"x", "map_id": 0, field: bad}
    err = refusal(lambda: TcFrame(**args))
    assert err.reason == Reason.FIELD_RANGE
    assert str(err).endswith(": " + words)


def test_a_control_command_on_a_sequence_controlled_frame_says_so():
    # 232.0-B-4 4.1.2.3: control commands travel only as type-B (bypass) frames
    err = refusal(lambda: TcFrame(0x2AB, 0, 0, b"\x00", control_command=True))
    assert err.reason == Reason.ILLEGAL_FRAME_TYPE
    assert str(err).endswith(": control command without bypass")


def test_a_tc_frame_of_1024_octets_goes_and_one_of_1025_is_refused_by_size():
    # 232.0-B-4 4.1.2.7: the frame length field holds octets - 1 in 10 bits, so a
    # frame is at most 1024 octets: 5 header + 1 segment header + data + 2 FECF
    frame = TcFrame(0x2AB, 1, 0, bytes(1024 - 8), map_id=0).encode()
    assert len(frame) == 1024
    assert ((frame[2] & 0x03) << 8 | frame[3]) == 1023
    err = refusal(lambda: TcFrame(0x2AB, 1, 0, bytes(1024 - 7), map_id=0).encode())
    assert err.reason == Reason.TOO_LONG
    assert str(err).endswith(": frame of 1025 octets")
    # without the FECF two more data octets fit
    assert len(TcFrame(0x2AB, 1, 0, bytes(1024 - 6), map_id=0).encode(fecf=False)) == 1024


# --- Space Packets (CCSDS 133.0-B-2) ---------------------------------------------

def test_idle_packets_span_the_whole_length_range_of_the_standard():
    # 4.1.3.5: total length = data length field + 7, the field 16 bits: 7 .. 65 542
    for n in (7, 65542):
        raw = idle_packet(n).encode()
        assert len(raw) == n
        assert (raw[0] << 8 | raw[1]) == 0x07FF  # version 0, TM, no secondary header
    for n in (6, 65543):
        err = refusal(lambda n=n: idle_packet(n))
        assert err.reason == Reason.FIELD_RANGE
        assert str(err).endswith(f": idle packet of {n} octets")


def test_a_timed_packet_counts_from_zero_unless_told():
    raw = timed_packet(0x123, CucTime(7, 0), b"\x01").encode()
    # 4.1.3.4.3: the sequence count is the low 14 bits of octets 2 and 3
    assert (raw[2] << 8 | raw[3]) & 0x3FFF == 0
    assert (raw[2] >> 6) == 0b11  # unsegmented
    raw = timed_packet(0x123, CucTime(7, 0), b"\x01", seq_count=0x3FFF).encode()
    assert (raw[2] << 8 | raw[3]) & 0x3FFF == 0x3FFF


# --- TM virtual and master channels (CCSDS 132.0-B-3) ------------------------------

def packet(n: int) -> bytes:
    """A packet of `n` octets in all (APID 5, unsegmented)."""
    return SpacePacket(5, 0, False, 3, 0, bytes([5]) * (n - 6)).encode()


def test_room_for_exactly_the_smallest_idle_packet_fills_one_frame_not_two():
    # 133.0-B-2: the smallest packet is 7 octets, so 7 octets of room take an
    # idle packet of 7 octets, and the frame goes alone
    vc = TmVirtualChannel(0, 20)
    vc.add_packet(packet(13))
    vc.flush()
    assert vc.pending == 1
    _count, fhp, data = vc.next_data()
    assert fhp == 0 and data[:13] == packet(13)
    assert data[13:] == idle_packet(7).encode() and len(data) == 20


def test_a_packet_one_octet_longer_than_the_field_goes_whole_after_a_flush():
    # the octet left over must not stay behind: the flush completes its frame
    vc = TmVirtualChannel(2, 20)
    vc.add_packet(packet(21))
    assert vc.pending == 1
    vc.flush()
    assert vc.pending == 2
    rx = TmVcReceiver()
    got = []
    for mc in range(2):
        count, fhp, data = vc.next_data()
        got += rx.add(TmFrame(1, 2, mc, count, fhp, data))
    assert got == [packet(21)]


def test_a_master_channel_describes_itself():
    mc = TmMasterChannel(0x2AB, 64, vcids=(0, 3))
    assert mc.frame_len == 64
    assert {v: vc.vcid for v, vc in mc.vcs.items()} == {0: 0, 3: 3}
    assert mc.clcw is None  # no report yet: the OCF carries an empty CLCW


@pytest.mark.parametrize("field, value, words", [
    ("apid", 0x800, "APID 2048"),  # 4.1.3.3.4: 11 bits
    ("packet_type", 2, "packet type 2"),  # 4.1.3.3.2: 1 bit
    ("seq_flags", 4, "sequence flags 4"),  # 4.1.3.4.2: 2 bits
    ("seq_count", 0x4000, "sequence count 16384"),  # 4.1.3.4.3: 14 bits
    ("data", b"", "data field of 0 octets"),  # 4.1.4.1: at least one octet
    ("data", bytes(65537), "data field of 65537 octets"),  # 4.1.3.5: at most 65 536
])
def test_a_field_written_out_of_range_after_construction_is_refused_when_encoded(
        field, value, words):
    p = SpacePacket(0x123, data=b"\x01")
    setattr(p, field, value)
    err = refusal(p.encode)
    assert err.reason == Reason.FIELD_RANGE
    assert str(err).endswith(": " + words)


def test_every_packet_length_codes_right():
    from spacepackets.ccsds.spacepacket import PacketType, SequenceFlags, SpacePacketHeader

    for n in range(1, 1100):  # data field octets, short and long
        data = bytes((n & 0xFF,)) * n
        expected = SpacePacketHeader(PacketType.TC, 0x3A5, 0x1234, n - 1, sec_header_flag=True,
                                     seq_flags=SequenceFlags.FIRST_SEGMENT).pack() + data
        raw = SpacePacket(0x3A5, 1, True, 1, 0x1234, data).encode()
        assert raw == expected, n
        p = SpacePacket.decode(expected)
        assert (p.apid, p.packet_type, p.sec_hdr_flag, p.seq_flags, p.seq_count, p.data) == (
            0x3A5, 1, True, 1, 0x1234, data), n


def test_six_octets_are_too_short_for_a_packet():
    # 133.0-B-2 4.1.4.1: a packet has at least one octet of data, 7 in all
    err = refusal(lambda: SpacePacket.decode(bytes.fromhex("012300000000")))
    assert err.reason == Reason.TRUNCATED
    p = SpacePacket(0x123)
    p.data = b""
    assert refusal(p.encode).reason == Reason.FIELD_RANGE


# --- PUS TM (ECSS-E-ST-70-41C 7.4.3) and TM frames (CCSDS 132.0-B-3 4.1.2) ---------

# ECSS-E-ST-70-41C 7.4.3 (TM) and 7.4.4 (TC): service type and subtype 8 bits, sequence
# count 14, message counter, destination and source ID 16, acknowledgement flags 4;
# 133.0-B-2: 0x7FF is the idle APID, never a PUS packet's
@pytest.mark.parametrize("kind, field, value, words", [
    ("TM", "apid", 0x7FF, "APID 2047"),
    ("TM", "seq_count", 0x4000, "sequence count"),
    ("TM", "msg_counter", 0x10000, "message counter or destination"),
    ("TM", "dest_id", 0x10000, "message counter or destination"),
    ("TC", "apid", 0x7FF, "APID 2047"),
    ("TC", "service", 256, "service or subtype"),
    ("TC", "subtype", 256, "service or subtype"),
    ("TC", "seq_count", 0x4000, "sequence count or source ID"),
    ("TC", "source_id", 0x10000, "sequence count or source ID"),
    ("TC", "ack_flags", 0x10, "acknowledgement flags"),
])
def test_a_pus_field_out_of_range_is_named(kind, field, value, words):
    from fsw.protocol.pus import PusTc, PusTm

    make, subtype = (PusTm, 25) if kind == "TM" else (PusTc, 1)
    args = {"apid": 0x30, "service": 3, "subtype": subtype, field: value}
    err = refusal(lambda: make(args.pop("apid"), args.pop("service"), args.pop("subtype"),
                               **args))
    assert err.reason == Reason.FIELD_RANGE
    assert str(err).endswith(": " + words)


@pytest.mark.parametrize("change, words", [
    ({"mc_count": 256}, "frame count"),  # 4.1.2.3: 8 bits
    ({"vc_count": 256}, "frame count"),  # 4.1.2.4: 8 bits
    ({"fhp": 0x800}, "first header pointer"),  # 4.1.2.7.5: 11 bits
    ({"ocf": b"\x00" * 3}, "OCF is 4 octets"),  # 4.1.5: the OCF is 4 octets
])
def test_a_tm_frame_field_out_of_range_is_named_when_encoded(change, words):
    args = {"scid": 0x2AB, "vcid": 1, "mc_count": 0, "vc_count": 0, "fhp": 0,
            "data": bytes(10), "ocf": None, **change}
    err = refusal(lambda: TmFrame(**args).encode())
    assert err.reason == Reason.FIELD_RANGE
    assert str(err).endswith(": " + words)


# --- CFDP PDUs (CCSDS 727.0-B-5), octet by octet ----------------------------------

def cfdp(octet0: int, data: bytes, crc: bool = False) -> bytes:
    """A PDU from 727.0-B-5 5.1: octet 0, data field length (16 bits, the CRC
    included), lengths - 1 (one-octet IDs), source 0x12, sequence 0x56,
    destination 0x34, then the data field."""
    from fsw.protocol.crc import crc16

    n = len(data) + (2 if crc else 0)
    raw = bytes((octet0,)) + n.to_bytes(2, "big") + bytes.fromhex("00125634") + data
    return raw + (crc16(raw).to_bytes(2, "big") if crc else b"")


def test_a_finished_pdu_keeps_its_fault_location():
    from fsw.protocol.cfdp import Condition, Finished, decode_pdu

    # 5.2.3: condition 0100 (filestore rejection), delivery incomplete, status 01;
    # then the fault location, an entity ID TLV (5.4.6: type 0x06, length 1, ID 0x34)
    pdu = decode_pdu(cfdp(0x20, bytes.fromhex("05" "45" "060134")))
    assert isinstance(pdu, Finished) and pdu.condition == Condition.FILESTORE_REJECTION
    assert pdu.tlvs == bytes.fromhex("060134")


def test_a_prompt_reads_only_its_response_bit():
    from fsw.protocol.cfdp import Prompt, decode_pdu

    # 5.2.7: response required is the first bit, the seven after it are spare
    assert decode_pdu(cfdp(0x20, bytes.fromhex("09" "01"))) == Prompt(
        decode_pdu(cfdp(0x20, bytes.fromhex("09" "00"))).header, keep_alive=False)
    assert decode_pdu(cfdp(0x20, bytes.fromhex("09" "81"))).keep_alive is True


def test_a_data_field_of_only_the_crc_is_checked_then_found_empty():
    from fsw.protocol.cfdp import CfdpError, decode_pdu

    # 5.1.4: with the CRC flag (octet 0 bit 6) the data field length counts the
    # CRC, so two octets are exactly the CRC: it is checked, and then there is
    # no directive code
    good = cfdp(0x22, b"", crc=True)
    with pytest.raises(CfdpError) as info:
        decode_pdu(good)
    assert info.value.reason == Reason.TRUNCATED and "directive code" in str(info.value)
    with pytest.raises(CfdpError) as info:
        decode_pdu(good[:-1] + bytes((good[-1] ^ 1,)))
    assert info.value.reason == Reason.BAD_PEC


@pytest.mark.parametrize("args, words", [
    ({"fine": 0x10000, "fine_octets": 2}, "CUC fine time"),  # 301.0-B-4 3.2.2: 2 octets
    ({"epoch_code": 0b011}, "CUC time code id"),  # 3.2.1: 001 (1958 TAI) or 010 (agency)
])
def test_a_cuc_time_out_of_its_code_is_named(args, words):
    err = refusal(lambda: CucTime(**{"coarse": 1, "fine": 0, **args}))
    assert err.reason == Reason.FIELD_RANGE
    assert str(err).endswith(": " + words)


def test_a_packet_made_with_no_data_has_the_one_octet_the_standard_requires():
    # 133.0-B-2 4.1.4.1: at least one octet of data, so the length field reads 0
    assert SpacePacket(0x123).encode() == bytes.fromhex("0123c0000000" "00")


def test_a_packet_keeps_its_own_copy_of_data_given_as_a_buffer():
    buf = bytearray(b"\x01\x02")
    p = SpacePacket(0x123, data=buf)
    buf[0] = 0xFF  # the caller reuses its buffer: the packet must not change
    assert type(p.data) is bytes and p.data == b"\x01\x02"
    assert p.encode() == bytes.fromhex("0123c0000001" "0102")


# --- segments (CCSDS 232.0-B-4 4.3.4: MAP packet extraction) -----------------------

def test_a_segment_sequence_broken_by_an_unsegmented_frame_is_refused_and_forgotten():
    from fsw.protocol.tc import SegmentReassembler

    # 232.0-B-4 4.1.3.2.2: sequence flags 01 first, 00 continuation, 10 last, 11 unsegmented
    r = SegmentReassembler()
    assert r.add(0b01, b"ab") is None and r.in_progress
    err = refusal(lambda: r.add(0b11, b"whole"))
    assert err.reason == Reason.SEGMENT_SEQUENCE
    assert str(err).endswith(": unsegmented frame mid-packet")
    assert not r.in_progress  # the cut packet is dropped: the next one starts clean
    err = refusal(lambda: r.add(0b10, b"cd"))
    assert str(err).endswith(": continuation or last without first")
    assert r.add(0b01, b"ef") is None and r.add(0b10, b"gh") == b"efgh"


def test_a_reassembler_takes_the_largest_space_packet_and_no_more():
    from fsw.protocol.tc import SegmentReassembler

    # 133.0-B-2 4.1.3.5: a packet is at most 65 542 octets
    r = SegmentReassembler()
    r.add(0b01, bytes(65000))
    assert len(r.add(0b10, bytes(542))) == 65542
    r.add(0b01, bytes(65000))
    assert refusal(lambda: r.add(0b10, bytes(543))).reason == Reason.TOO_LONG


def test_another_holders_directive_leaves_a_partners_cut_packet_whole(link):
    from spacelink_kit import OPERATOR_SPI, PARTNER_A_SPI

    from fsw.protocol.pus import PusTc
    from fsw.protocol.tc import UNLOCK

    packet = PusTc(0x100, 20, 3, bytes(range(40))).encode()
    first = link.tx.frame(1, 0, packet[:20], seq_flags=0b01, spi=PARTNER_A_SPI)
    last = link.tx.frame(1, 1, packet[20:], seq_flags=0b10, spi=PARTNER_A_SPI)
    assert list(link.rx.receive(first)) == []
    # the bus operator unlocks VC 1: its own unfinished packets would restart, not uni-a's
    link.rx.receive(link.tx.frame(1, 0, UNLOCK, bypass=True, control=True, spi=OPERATOR_SPI))
    out = link.rx.receive(last)
    assert out.problems == [] and [d.packet for d in out] == [packet]
    assert [(d.vcid, d.sa.spi) for d in out] == [(1, PARTNER_A_SPI)]


def test_decoding_from_a_stream_starts_at_its_first_octet_and_says_what_is_missing():
    raw = bytes.fromhex("0123c0000001" "0102")
    assert SpacePacket.decode_from(raw + b"tail") == (SpacePacket(0x123, data=b"\x01\x02"), 8)
    assert SpacePacket.decode_from(b"xy" + raw, 2)[1] == 10
    # 133.0-B-2 4.1.3: the primary header is 6 octets; its length field says the rest
    err = refusal(lambda: SpacePacket.decode_from(b"xy" + raw[:5], 2))
    assert err.reason == Reason.TRUNCATED and str(err).endswith(": primary header incomplete")
    err = refusal(lambda: SpacePacket.decode_from(b"xy" + raw[:6], 2))
    assert err.reason == Reason.TRUNCATED and str(err).endswith(": packet needs 8 octets, 6 left")


# --- SDLS anti-replay (CCSDS 355.0-B-2 4.2.2: the ARSN only ever grows) ------------

def operator_frames(link, n: int) -> list:
    """`n` operator frames on VC 0 as verified on board (FECF removed; 5 octets of
    primary header and 1 of segment header before the security header)."""
    from spacelink_kit import OPERATOR_SPI

    raws = [link.tx.frame(0, i, b"\x00" * 8, spi=OPERATOR_SPI)[:-2] for i in range(n)]
    return [link.engine.verify(raw, 6, 0) for raw in raws]


def test_an_arsn_is_committed_once_and_never_backwards(link):
    from spacelink_kit import OPERATOR_SPI

    from fsw.protocol import SecurityError

    v1, v2 = operator_frames(link, 2)
    assert (v1.arsn, v2.arsn) == (1, 2)
    link.engine.commit(v2)
    for v in (v1, v2):  # an older ARSN after a newer one, or the same one again
        with pytest.raises(SecurityError) as err:
            link.engine.commit(v)
        assert err.value.reason == Reason.REPLAY
    assert link.flight_store.get(OPERATOR_SPI)[0] == 2


def test_a_durable_commit_supersedes_a_pending_one(link):
    from spacelink_kit import OPERATOR_SPI

    v1, v2 = operator_frames(link, 2)
    link.engine.commit(v1, durable=False)
    link.engine.commit(v2)
    link.engine.flush()  # the pending ARSN 1 must not overwrite the durable 2
    assert link.flight_store.get(OPERATOR_SPI)[0] == 2


def test_a_partner_may_control_the_farm_of_its_own_vc(link):
    from spacelink_kit import PARTNER_A_SPI

    from fsw.protocol.tc import UNLOCK

    out = link.rx.receive(link.tx.frame(1, 0, UNLOCK, bypass=True, control=True,
                                        spi=PARTNER_A_SPI))
    assert [(d.kind, d.vcid) for d in out] == [("control", 1)]


def sdls_pair(tmp_path, **sa_args):
    """The flight engine and the ground sender of one SA on VC 0."""
    from fsw.protocol.rights import Rights
    from fsw.protocol.sdls import SecurityAssociation, SecurityEngine, SecuritySender
    from fsw.protocol.store import ArsnStore

    def sa():
        return SecurityAssociation(owner="uni-x", key=bytes(range(32)),
                                   rights=Rights(apids=None, vcids=frozenset({0})),
                                   **{"spi": 7, **sa_args})
    return (SecurityEngine([sa()], ArsnStore(tmp_path / "flight.db")),
            SecuritySender(sa(), ArsnStore(tmp_path / "ground.db")))


HEADER = bytes.fromhex("22ab0010" "00" "c0")  # 232.0-B-4 primary header, segment header


def test_an_spi_uses_both_octets_of_its_field(tmp_path):
    # 355.0-B-2 4.1.1.2: the SPI is 16 bits; 0 and 0xFFFF are reserved
    engine, sender = sdls_pair(tmp_path, spi=0x1234)
    frame = sender.protect(HEADER, b"data")
    assert frame[6:8] == b"\x12\x34"
    v = engine.verify(frame, len(HEADER), 0)
    assert v.sa.spi == 0x1234 and v.data == b"data"


def test_header_octets_the_abm_masks_may_change_and_the_others_may_not(tmp_path):
    from fsw.protocol import SecurityError

    # 355.0-B-2 4.2.1.2: the authentication bit mask selects the header bits the MAC
    # covers; here the frame length and N(S) octets are left out
    engine, sender = sdls_pair(tmp_path, abm=bytes.fromhex("ffff0000" "00" "ff"))
    frame = sender.protect(HEADER, b"data")
    moved = frame[:4] + b"\x09" + frame[5:]  # another N(S): masked, still authentic
    assert engine.verify(moved, len(HEADER), 0).data == b"data"
    forged = frame[:5] + b"\xc1" + frame[6:]  # another MAP ID: covered
    with pytest.raises(SecurityError) as err:
        engine.verify(forged, len(HEADER), 0)
    assert err.value.reason == Reason.BAD_MAC


def test_an_authentic_frame_may_carry_no_data_and_a_shorter_one_is_refused(tmp_path):
    from fsw.protocol import SecurityError

    engine, sender = sdls_pair(tmp_path)
    frame = sender.protect(HEADER, b"")
    v = engine.verify(frame, len(HEADER), 0)
    assert v.data == b"" and v.fresh and v.arsn == 1
    with pytest.raises(SecurityError) as err:  # the SPI alone: no ARSN, no MAC
        engine.verify(frame[:len(HEADER) + 2], len(HEADER), 0)
    assert err.value.reason == Reason.TRUNCATED
    assert str(err.value).endswith(": frame shorter than security header + MAC")


def test_a_holder_with_farm_control_on_another_vc_may_use_that_vc():
    from fsw.protocol.rights import Rights

    r = Rights(apids=frozenset({0x100}), vcids=frozenset({1}), farm_control=frozenset({1, 2}))
    assert r.may_use_vc(2) and not r.may_send_data(2, 0)  # directives only
    assert not r.may_use_vc(3)


def test_a_directive_is_used_once_and_restarts_its_senders_cut_packet(link):
    from spacelink_kit import OPERATOR_SPI

    from fsw.protocol.pus import PusTc
    from fsw.protocol.tc import UNLOCK

    packet = PusTc(0x10, 20, 3, bytes(range(40))).encode()
    link.rx.receive(link.tx.frame(0, 0, packet[:20], seq_flags=0b01, spi=OPERATOR_SPI))
    unlock = link.tx.frame(0, 0, UNLOCK, bypass=True, control=True, spi=OPERATOR_SPI)
    out = link.rx.receive(unlock)
    assert [(d.kind, d.vcid, d.sa.spi) for d in out] == [("control", 0, OPERATOR_SPI)]
    with pytest.raises(ProtocolError) as err:  # the same directive again: a replay
        link.rx.receive(unlock)
    assert err.value.reason == Reason.REPLAY
    # the operator's own cut packet restarted with its FOP: its last segment has no first
    out = link.rx.receive(link.tx.frame(0, 1, packet[20:], seq_flags=0b10, spi=OPERATOR_SPI))
    assert [p.reason for p in out.problems] == [Reason.SEGMENT_SEQUENCE]


def test_a_frame_that_forced_lockout_cannot_force_it_again(link):
    from spacelink_kit import OPERATOR_SPI, PARTNER_A_SPI

    from fsw.protocol.pus import PusTc
    from fsw.protocol.tc import UNLOCK

    packet = PusTc(0x100, 17, 1).encode()
    # 232.1-B-2 FARM-1: an N(S) outside both windows puts the FARM in Lockout
    far = link.tx.frame(1, 200, packet, spi=PARTNER_A_SPI)
    with pytest.raises(ProtocolError) as err:
        link.rx.receive(far)
    assert link.rx.farms[1].state == "lockout"
    nxt = link.tx.frame(1, 0, packet, spi=PARTNER_A_SPI)  # in sequence, but in Lockout
    with pytest.raises(ProtocolError) as err:
        link.rx.receive(nxt)
    assert err.value.reason == Reason.FARM_LOCKOUT
    link.rx.receive(link.tx.frame(1, 0, UNLOCK, bypass=True, control=True, spi=OPERATOR_SPI))
    assert link.rx.farms[1].state == "open"
    with pytest.raises(ProtocolError) as err:  # recorded off the air and sent again
        link.rx.receive(far)
    assert err.value.reason == Reason.REPLAY and link.rx.farms[1].state == "open"
    # the frame discarded in Lockout was never accepted: resent as it was, it goes
    assert [d.packet for d in link.rx.receive(nxt)] == [packet]


def test_key_management_problems_say_what_is_missing():
    from test_uplink_units import frame, plain_rx

    # MAP 63 carries the security PDUs (355.1-B-1); they need an SA and one frame each
    rx = plain_rx()
    out = rx.receive(frame(0, 0, b"\x01" * 47, seg=0xC0 | 63))
    assert [str(p) for p in out.problems] == ["not_authenticated: key management needs an SA"]
    out = rx.receive(frame(0, 1, b"\x01" * 47, seg=0x40 | 63))
    assert [str(p) for p in out.problems] == [
        "segment_sequence: security PDUs are not segmented"]


# --- the key file (docs/space-link.md) ------------------------------------------------

def key_doc(**changes) -> dict:
    import copy

    from spacelink_kit import KEY_DOC

    return {**copy.deepcopy(KEY_DOC), **changes}


@pytest.mark.parametrize("octets", [16, 24, 32])
def test_the_kek_is_an_aes_key_of_any_of_its_three_sizes(octets):
    from fsw.protocol.keyfile import parse_key_document

    # FIPS 197: AES keys are 128, 192 or 256 bits
    assert parse_key_document(key_doc(kek=bytes(range(octets)).hex())).kek == bytes(range(octets))
    with pytest.raises(ProtocolError) as err:
        parse_key_document(key_doc(kek=bytes(range(octets + 1)).hex()))
    assert str(err.value).endswith(": KEK must be an AES key")


def test_key_file_refusals_say_what_is_wrong():
    from fsw.protocol.keyfile import parse_key_document

    with pytest.raises(ProtocolError) as err:
        parse_key_document(key_doc(key_holders=[]))
    assert err.value.reason == Reason.KEY_FILE
    assert str(err.value).endswith(": key_holders must be a non-empty list")
    doc = key_doc()
    doc["key_holders"][2]["rights"]["vcids"] = [1]  # uni-b on uni-a's data VC
    with pytest.raises(ProtocolError) as err:
        parse_key_document(doc)
    assert err.value.reason == Reason.KEY_FILE
    assert str(err.value).endswith(
        ": VC 1 is a data VC of both uni-a and uni-b: each key holder sends data on its own VCs")


def test_function_rights_take_hex_apids_in_either_case():
    from fsw.protocol.rights import parse_functions

    assert parse_functions(["0x01A:11", "0x01b:3", "300:2"], "functions") == frozenset(
        {(0x1A, 11), (0x1B, 3), (300, 2)})


# --- the TC receiver's frame checks (CCSDS 232.0-B-4 4.1.2, 4.1.4) -----------------

def test_the_frame_check_reads_the_fecf_unless_told_not_to():
    from test_uplink_units import frame

    from fsw.protocol.tc import check_tc_frame

    good = frame(0, 0, b"\x01", seg=0xC0)
    assert check_tc_frame(good) == (0x2AB, len(good) - 1, 0)
    bad = good[:-1] + bytes((good[-1] ^ 1,))
    err = refusal(lambda: check_tc_frame(bad))
    assert err.reason == Reason.BAD_FECF
    assert str(err).endswith(": frame error control field does not match")
    # 4.1.2.2.2: version 00; 4.1.2.2.5: two spare bits, 00; 4.1.2.5: length - 1
    for octet0, words in ((0x62, "TFVN 1"), (0x26, "spare bits in TC primary header")):
        err = refusal(lambda octet0=octet0: check_tc_frame(bytes((octet0,)) + good[1:]))
        assert str(err).endswith(": " + words)
    err = refusal(lambda: check_tc_frame(good + b"\x00"))
    assert err.reason == Reason.LENGTH_MISMATCH
    assert str(err).endswith(f": frame length field says {len(good)}, received {len(good) + 1}")
    # without an FECF the smallest frame is the 5-octet header and one octet of data
    bare = frame(0, 0, b"\x01", fecf=False)
    assert len(bare) == 6 and check_tc_frame(bare, fecf=False)[1] == 5
    err = refusal(lambda: check_tc_frame(bare[:5], fecf=False))
    assert err.reason == Reason.TRUNCATED and str(err).endswith(
        ": 5 octets, a frame has at least 6")
    err = refusal(lambda: check_tc_frame(bytes(1025)))
    assert err.reason == Reason.TOO_LONG and str(err).endswith(
        ": 1025 octets, the limit is 1024")


def test_a_receiver_without_fecf_takes_the_whole_frame_as_data():
    from test_uplink_units import PING, frame

    from fsw.protocol.uplink import TcReceiver, VcConfig

    rx = TcReceiver(0x2AB, {0: VcConfig(0, authenticated=False)}, fecf=False)
    out = rx.receive(frame(0, 0, PING, seg=0xC0, fecf=False))
    assert [d.packet for d in out] == [PING]


def _ccitt_false(data: bytes) -> bytes:
    """The FECF as 232.0-B-4 4.1.4.2 defines it (CRC-16/CCITT-FALSE), from crcmod."""
    import crcmod.predefined

    return crcmod.predefined.mkCrcFun("crc-ccitt-false")(data).to_bytes(2, "big")


def test_with_an_fecf_the_smallest_frame_is_eight_octets():
    """232.0-B-4 4.1.3: the data field holds at least one octet, so a frame
    with its 2-octet FECF has at least 5 + 1 + 2 octets; a header and an FECF
    alone (7 octets, length field 6, the CRC right) is refused as truncated."""
    from fsw.protocol.tc import check_tc_frame

    header = bytes.fromhex("02ab000600")  # SCID 0x2AB, VC 0, length - 1 = 6, N(S) 0
    err = refusal(lambda: check_tc_frame(header + _ccitt_false(header)))
    assert err.reason == Reason.TRUNCATED and str(err).endswith(
        ": 7 octets, a frame has at least 8")
    smallest = bytes.fromhex("02ab00070041")  # length - 1 = 7: one octet of data
    assert check_tc_frame(smallest + _ccitt_false(smallest)) == (0x2AB, 7, 0)


def test_the_receiver_refuses_a_frame_whose_fecf_does_not_match():
    """A receiver configured with FECFs checks each frame's CRC: one bit
    flipped in the FECF is a BAD_FECF rejection that delivers nothing and
    leaves FARM-1 where it was; the same frame with its CRC right is taken."""
    from test_uplink_units import PING

    from fsw.protocol.uplink import TcReceiver, VcConfig

    rx = TcReceiver(0x2AB, {0: VcConfig(0, authenticated=False)})
    body = bytes.fromhex("02ab00") + bytes((5 + 1 + len(PING) + 2 - 1, 0, 0xC0)) + PING
    good = body + _ccitt_false(body)
    with pytest.raises(ProtocolError) as err:
        rx.receive(good[:-1] + bytes((good[-1] ^ 1,)))
    assert err.value.reason == Reason.BAD_FECF
    assert rx.rejected[Reason.BAD_FECF] == 1 and rx.accepted == 0 and rx.farms[0].vr == 0
    assert [d.packet for d in rx.receive(good)] == [PING] and rx.farms[0].vr == 1


def test_each_vc_runs_farm_1_with_its_own_window():
    """232.1-B-2 6.3 (FARM-1): with window width W the positive window is
    W/2, so an AD frame N(S) = V(R) + 9 is "ahead, retransmit" (E3) under
    W = 20 but in the Lockout area (E5) under W = 10, the default
    docs/space-link.md states for a VC."""
    from test_uplink_units import PING, frame

    from fsw.protocol.uplink import TcReceiver, VcConfig

    rx = TcReceiver(0x2AB, {0: VcConfig(0, authenticated=False, farm_window=20),
                            1: VcConfig(1, authenticated=False)})
    for vcid, expected in ((0, Reason.FARM_OUT_OF_WINDOW), (1, Reason.FARM_LOCKOUT)):
        with pytest.raises(ProtocolError) as err:
            rx.receive(frame(vcid, 9, PING, seg=0xC0))
        assert err.value.reason == expected
    assert not rx.farms[0].lockout and rx.farms[1].lockout


@pytest.mark.parametrize("kw, words", [
    ({"scid": 0x2AC}, "SCID 684"),
    ({"vcid": 5}, "VC 5"),
    ({"control": True}, "bypass 0 with control command 1"),
])
def test_the_receiver_names_what_it_refused_in_a_header(kw, words):
    from test_uplink_units import PING, frame, plain_rx

    kw = dict(kw)  # the parameter is shared by every run of the test
    raw = frame(kw.pop("vcid", 0), 0, PING, seg=0xC0, **kw)
    with pytest.raises(ProtocolError) as err:
        plain_rx().receive(raw)
    assert str(err.value).endswith(": " + words)


def test_a_frame_with_a_segment_header_and_nothing_after_it_has_no_frame_data():
    from test_uplink_units import frame, plain_rx

    with pytest.raises(ProtocolError) as err:
        plain_rx().receive(frame(0, 0, b"", seg=0xC0))
    assert err.value.reason == Reason.TRUNCATED and str(err.value).endswith(": no frame data")


def test_a_key_file_of_another_version_is_refused_with_what_changed():
    from fsw.protocol.keyfile import parse_key_document

    with pytest.raises(ProtocolError) as err:
        parse_key_document(key_doc(version=1))
    assert err.value.reason == Reason.KEY_FILE
    assert str(err.value).endswith(
        ": key file version must be 2 (one entry per key holder with explicit rights)")
