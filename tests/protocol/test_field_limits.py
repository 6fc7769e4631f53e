"""Every encoder takes each field up to the width the standard gives it and
refuses one past it, with a typed error: the limits are written out here from
the standards, not read from the encoders."""

from __future__ import annotations

import pytest

from fsw.protocol import FrameError, PacketError, Reason
from fsw.protocol.cuc import CucTime
from fsw.protocol.pus import PusTc, PusTm
from fsw.protocol.tc import TcFrame
from fsw.protocol.tm import TmFrame

# CCSDS 133.0-B-2 4.1.3: APID 11 bits, 0x7FF is the idle packet;
# sequence count 14 bits. ECSS-E-ST-70-41C 7.4.3: service type and subtype
# 8 bits, source/destination ID 16 bits, acknowledgement flags 4 bits,
# message type counter 16 bits.
PUS_TC_LIMITS = [("apid", 0x7FE), ("service", 0xFF), ("subtype", 0xFF),
                 ("seq_count", 0x3FFF), ("source_id", 0xFFFF), ("ack_flags", 0xF)]
PUS_TM_LIMITS = [("apid", 0x7FE), ("service", 0xFF), ("subtype", 0xFF),
                 ("seq_count", 0x3FFF), ("msg_counter", 0xFFFF), ("dest_id", 0xFFFF)]


def pus_tc(**kw) -> PusTc:
    args = {"apid": 0x30, "service": 17, "subtype": 1, **kw}
    return PusTc(args.pop("apid"), args.pop("service"), args.pop("subtype"), **args)


def pus_tm(**kw) -> PusTm:
    args = {"apid": 0x30, "service": 17, "subtype": 2, **kw}
    return PusTm(args.pop("apid"), args.pop("service"), args.pop("subtype"), **args)


@pytest.mark.parametrize("make, field, top", [(pus_tc, f, t) for f, t in PUS_TC_LIMITS]
                         + [(pus_tm, f, t) for f, t in PUS_TM_LIMITS])
def test_pus_fields_to_their_width_and_no_further(make, field, top):
    for ok in (0, top):
        make(**{field: ok}).encode()
    for bad in (-1, top + 1):
        with pytest.raises(PacketError) as info:
            make(**{field: bad})
        assert info.value.reason == Reason.FIELD_RANGE


def test_pus_data_fills_a_packet_and_no_more():
    # a space packet's data field is at most 65536 octets (length field 16 bits,
    # value = octets - 1); PUS-C TC: 5 octets of secondary header, 2 of PEC.
    top_tc = 65536 - 5 - 2
    assert len(pus_tc(app_data=bytes(top_tc)).encode()) == 6 + 65536
    with pytest.raises(PacketError) as info:
        pus_tc(app_data=bytes(top_tc + 1))
    assert info.value.reason == Reason.TOO_LONG
    # PUS-C TM: 14 octets of secondary header (version and time status 1,
    # service 1, subtype 1, counter 2, destination 2, CUC P-field 1 + 4 + 2), PEC 2
    top_tm = 65536 - 14 - 2
    assert len(pus_tm(source_data=bytes(top_tm)).encode()) == 6 + 65536
    with pytest.raises(PacketError) as info:
        pus_tm(source_data=bytes(top_tm + 1))
    assert info.value.reason == Reason.TOO_LONG


def test_pus_tm_time_is_cuc_4_plus_2():
    pus_tm(time=CucTime(5, 0, 4, 2)).encode()
    for octets in ((3, 2), (4, 1)):
        with pytest.raises(PacketError):
            pus_tm(time=CucTime(5, 0, *octets))


# CCSDS 232.0-B-4 4.1.2: spacecraft ID 10 bits, VCID 6 bits, N(S) 8 bits;
# segment header: MAP ID 6 bits, sequence flags 2 bits.
TC_FRAME_LIMITS = [("scid", 0x3FF), ("vcid", 0x3F), ("seq_num", 0xFF), ("map_id", 0x3F),
                   ("seq_flags", 3)]


@pytest.mark.parametrize("field, top", TC_FRAME_LIMITS)
def test_tc_frame_fields_to_their_width_and_no_further(field, top):
    base = {"scid": 0x2AB, "vcid": 1, "seq_num": 0, "data": b"x", "map_id": 0}
    for ok in (0, top):
        TcFrame(**{**base, field: ok}).encode()
    for bad in (-1, top + 1):
        with pytest.raises(FrameError) as info:
            TcFrame(**{**base, field: bad})
        assert info.value.reason == Reason.FIELD_RANGE


def test_a_control_command_only_on_a_bypass_frame():
    TcFrame(0x2AB, 0, 0, b"\x00", bypass=True, control_command=True).encode()
    with pytest.raises(FrameError) as info:
        TcFrame(0x2AB, 0, 0, b"\x00", bypass=False, control_command=True)
    assert info.value.reason == Reason.ILLEGAL_FRAME_TYPE


# CCSDS 132.0-B-3 4.1.2: SCID 10 bits, VCID 3 bits, MC and VC frame counts
# 8 bits each, first header pointer 11 bits; the OCF is 4 octets.
TM_FRAME_LIMITS = [("scid", 0x3FF), ("vcid", 7), ("mc_count", 0xFF), ("vc_count", 0xFF),
                   ("fhp", 0x7FF)]


@pytest.mark.parametrize("field, top", TM_FRAME_LIMITS)
def test_tm_frame_fields_to_their_width_and_no_further(field, top):
    base = {"scid": 0x2AB, "vcid": 0, "mc_count": 0, "vc_count": 0, "fhp": 0, "data": bytes(8)}
    for ok in (0, top):
        TmFrame(**{**base, field: ok}).encode()
    for bad in (-1, top + 1):
        with pytest.raises(FrameError) as info:
            TmFrame(**{**base, field: bad}).encode()
        assert info.value.reason == Reason.FIELD_RANGE


def test_tm_ocf_is_four_octets():
    base = {"scid": 0x2AB, "vcid": 0, "mc_count": 0, "vc_count": 0, "fhp": 0, "data": bytes(8)}
    TmFrame(**base, ocf=bytes(4)).encode()
    for n in (3, 5):
        with pytest.raises(FrameError):
            TmFrame(**base, ocf=bytes(n)).encode()


# CCSDS 301.0-B-4 3.2.2: 1 to 4 octets of coarse time, 0 to 3 of fine time;
# time code ID 001 (1958 TAI epoch) or 010 (agency-defined epoch).
@pytest.mark.parametrize("coarse_octets, fine_octets", [(1, 0), (4, 3), (2, 1)])
def test_cuc_octet_counts_and_values_within_them(coarse_octets, fine_octets):
    top_coarse, top_fine = (1 << 8 * coarse_octets) - 1, (1 << 8 * fine_octets) - 1
    CucTime(top_coarse, top_fine, coarse_octets, fine_octets)
    with pytest.raises(PacketError):
        CucTime(top_coarse + 1, 0, coarse_octets, fine_octets)
    with pytest.raises(PacketError):
        CucTime(0, top_fine + 1, coarse_octets, fine_octets)
    with pytest.raises(PacketError):
        CucTime(-1, 0, coarse_octets, fine_octets)


@pytest.mark.parametrize("octets", [(0, 2), (5, 2), (4, 4), (4, -1)])
def test_cuc_octet_counts_beyond_the_standard_are_refused(octets):
    with pytest.raises(PacketError):
        CucTime(0, 0, *octets)


def test_cuc_time_code_ids():
    CucTime(0, epoch_code=0b001)
    CucTime(0, epoch_code=0b010)
    for code in (0b000, 0b011, 0b100):
        with pytest.raises(PacketError):
            CucTime(0, epoch_code=code)
    for bad in (-1.0, float("nan")):
        with pytest.raises(PacketError) as info:
            CucTime.from_seconds(bad)
        assert info.value.reason == Reason.BAD_TIME


# CCSDS 133.0-B-2 4.1.3: version 3 bits, type 1 bit, APID 11 bits, sequence
# flags 2 bits, count 14 bits; the data field holds 1 to 65536 octets.
@pytest.mark.parametrize("kw, names", [
    ({"apid": 0x800}, "APID 2048"),
    ({"apid": -1}, "APID -1"),
    ({"packet_type": 2}, "packet type 2"),
    ({"seq_flags": 4}, "sequence flags 4"),
    ({"seq_flags": -1}, "sequence flags -1"),
    ({"seq_count": 0x4000}, "sequence count 16384"),
    ({"seq_count": -1}, "sequence count -1"),
    ({"data": b""}, "data field of 0 octets"),
    ({"data": bytes(65537)}, "data field of 65537 octets"),
])
def test_space_packet_names_the_field_out_of_range(kw, names):
    from fsw.protocol.spp import SpacePacket

    with pytest.raises(PacketError) as info:
        SpacePacket(**{"apid": 0x10, **kw})
    assert info.value.reason == Reason.FIELD_RANGE
    assert str(info.value).endswith(names)


@pytest.mark.parametrize("kw", [{"apid": 0}, {"apid": 0x7FF}, {"packet_type": 1},
                                {"seq_flags": 0}, {"seq_flags": 3}, {"seq_count": 0},
                                {"seq_count": 0x3FFF}, {"data": bytes(65536)}])
def test_space_packet_fields_at_their_edges_are_taken(kw):
    from fsw.protocol.spp import SpacePacket

    p = SpacePacket(**{"apid": 0x10, **kw})
    assert len(p.encode()) == 6 + len(p.data)


def test_reassembly_stops_at_its_limit_and_not_before():
    from fsw.protocol.tc import SEQ_FIRST, SEQ_LAST, SegmentReassembler

    r = SegmentReassembler(max_len=10)
    assert r.add(SEQ_FIRST, bytes(6)) is None
    assert r.add(SEQ_LAST, bytes(4)) == bytes(10)  # exactly the limit
    r.add(SEQ_FIRST, bytes(6))
    with pytest.raises(FrameError) as info:
        r.add(SEQ_LAST, bytes(5))
    assert info.value.reason == Reason.TOO_LONG
    assert str(info.value).endswith("reassembled unit exceeds the maximum")
    assert not r.in_progress


def test_refusal_texts_say_what_was_wrong():
    from fsw.protocol.cop1 import Farm1
    from fsw.protocol.tc import set_vr

    def text(fn) -> str:
        with pytest.raises((PacketError, FrameError)) as info:
            fn()
        return str(info.value)

    assert text(lambda: CucTime.from_seconds(-1.0)).endswith("negative or NaN time")
    assert text(lambda: set_vr(256)).endswith("V(R) 256")
    assert text(lambda: set_vr(-1)).endswith("V(R) -1")
    saved = {"vcid": 0, "window": 10, "state": "shut", "vr": 0, "retransmit": False,
             "farm_b_counter": 0}
    assert text(lambda: Farm1.from_dict(saved)).endswith("saved FARM state: state 'shut'")
    assert text(lambda: Farm1.from_dict({})).endswith("saved FARM state: 'vcid'")


def test_set_vr_takes_every_eight_bit_value():
    from fsw.protocol.tc import set_vr

    # CCSDS 232.0-B-4 4.1.3.3: Set V(R) is 10000010 00000000 then V(R)
    assert set_vr(0) == bytes([0b10000010, 0, 0]) and set_vr(255) == bytes([0x82, 0, 255])


def test_cuc_from_seconds_defaults_to_4_plus_2_octets():
    t = CucTime.from_seconds(1.5)
    assert (t.coarse, t.fine, t.coarse_octets, t.fine_octets) == (1, 0x8000, 4, 2)
    t = CucTime.from_seconds(1.5, 2, 1, epoch_code=0b001)
    assert (t.coarse, t.fine, t.coarse_octets, t.fine_octets, t.epoch_code) == (1, 0x80, 2, 1, 1)


def test_packet_length_reads_the_length_field_at_an_offset():
    from fsw.protocol.spp import packet_length

    # CCSDS 133.0-B-2 4.1.3.5: packet data length = octets in the data field - 1
    header = bytes([0x08, 0x20, 0xC0, 0x00, 0x00, 0x09])
    assert packet_length(header) == 6 + 10
    assert packet_length(b"\xAA" + header, offset=1) == 16
    for short, offset in ((header[:5], 0), (header, 1)):
        with pytest.raises(PacketError) as info:
            packet_length(short, offset)
        assert info.value.reason == Reason.TRUNCATED
        assert str(info.value).endswith("primary header incomplete")


def test_sequence_counters_are_kept_per_apid():
    from fsw.protocol.spp import SequenceCounter

    c = SequenceCounter()
    assert c.peek(5) == 0
    assert [c.next(5), c.next(5), c.next(6)] == [0, 1, 0]
    assert (c.peek(5), c.peek(6), c.peek(7)) == (2, 1, 0)


def test_the_field_named_is_the_one_out_of_range_even_with_apid_0():
    from fsw.protocol.spp import SpacePacket

    for kw, words in (({"seq_count": 0x4000}, "sequence count 16384"),
                      ({"seq_flags": 4}, "sequence flags 4"),
                      ({"packet_type": 2}, "packet type 2"),
                      ({"data": b""}, "data field of 0 octets")):
        with pytest.raises(PacketError) as info:
            SpacePacket(0, **kw)
        assert str(info.value) == f"field_range: {words}"


def test_a_packet_that_cannot_be_read_says_why():
    from fsw.protocol.spp import SpacePacket

    good = bytes.fromhex("0123c0050003deadbeef")  # the reference vector: TM, APID 0x123
    assert SpacePacket.decode(good).apid == 0x123
    for raw, words in ((good[:5], "truncated: 5 octets, a packet has at least 7"),
                       (good[:6], "truncated: 6 octets, a packet has at least 7"),
                       (bytes((0x20,)) + good[1:], "bad_version: packet version 1"),
                       (bytes((0xE1,)) + good[1:], "bad_version: packet version 7"),
                       (good[:-1], "length_mismatch: length field says 10 octets, got 9"),
                       (good + b"\0", "length_mismatch: length field says 10 octets, got 11")):
        with pytest.raises(PacketError) as info:
            SpacePacket.decode(raw)
        assert str(info.value) == words


def test_more_refusal_texts_of_the_packet_codecs():
    from fsw.protocol.spp import SpacePacket
    from fsw.protocol.tc import SegmentReassembler

    for make, words in ((lambda: CucTime(0, 0, 5, 2), "field_range: CUC octet counts"),
                        (lambda: CucTime(1 << 32), "field_range: CUC coarse time"),
                        (lambda: CucTime.decode(b""), "truncated: CUC P-field missing"),
                        (lambda: PusTc(1, 17, 1, bytes(65536 - 7 + 1)),
                         "too_long: application data too long")):
        with pytest.raises(PacketError) as info:
            make()
        assert str(info.value) == words
    PusTc(1, 17, 1, bytes(65536 - 7))  # the largest application data is taken
    # the reference vector with every default: TM, no secondary header, unsegmented
    p = SpacePacket(0x123, seq_count=5, data=bytes.fromhex("deadbeef"))
    assert p.encode().hex() == "0123c0050003deadbeef"
    assert SpacePacket(0x123, data=bytes.fromhex("deadbeef")).encode().hex() == (
        "0123c0000003deadbeef")  # the count starts at 0
    p.seq_count = 0x4000  # fields set after construction are checked when encoded
    with pytest.raises(PacketError) as info:
        p.encode()
    assert str(info.value) == "field_range: sequence count 16384"
    r = SegmentReassembler()
    r.add(0b01, b"a")
    with pytest.raises(FrameError) as info:
        r.add(0b01, b"b")
    assert info.value.reason == Reason.SEGMENT_SEQUENCE
    assert str(info.value) == "segment_sequence: first segment mid-packet"


def test_an_error_without_detail_reads_as_its_reason_alone():
    e = PacketError(Reason.TRUNCATED)
    assert str(e) == "truncated" and e.detail == "" and e.reason is Reason.TRUNCATED
    assert str(FrameError(Reason.BAD_FHP, "FHP 9")) == "bad_fhp: FHP 9"
    assert PacketError(37).reason is Reason.BAD_FHP  # reasons are read as numbers too


def test_the_field_named_is_the_one_out_of_range_when_the_others_are_at_their_limits():
    """133.0-B-2 4.1.3: APID 11 bits (0..2047), sequence flags 2 bits,
    sequence count 14 bits (0..16383), data 1..65,536 octets. A field at its
    highest (or lowest) legal value is never the one named."""
    from fsw.protocol.spp import SpacePacket

    for kw, words in (({"apid": 0x7FF, "seq_count": 0x4000}, "sequence count 16384"),
                      ({"seq_flags": 0, "seq_count": 0x4000}, "sequence count 16384"),
                      ({"seq_flags": 3, "seq_count": -1}, "sequence count -1"),
                      ({"seq_count": 0x3FFF, "data": b""}, "data field of 0 octets"),
                      ({"apid": 0x800}, "APID 2048"),
                      ({"seq_flags": -1}, "sequence flags -1")):
        with pytest.raises(PacketError) as info:
            SpacePacket(**{"apid": 0, **kw})
        assert str(info.value) == f"field_range: {words}"


def test_a_bare_cuc_t_field_is_read_as_4_plus_2_octets_by_default():
    """Without a P-field the format is implicit (CCSDS 301.0-B-4): the caller names
    the coarse octets and the fine ones default to the 2 of the TM time code."""
    from fsw.protocol.cuc import CucTime

    t = CucTime.decode(bytes.fromhex("000004d2" "8000"), coarse_octets=4)
    assert (t.coarse, t.fine, t.coarse_octets, t.fine_octets) == (1234, 0x8000, 4, 2)


@pytest.mark.parametrize("raw, words", [
    # CCSDS 301.0-B-4 CUC P-field: extension (1) | time code id (3) | coarse - 1 (2) | fine (2)
    (b"", "truncated: CUC P-field missing"),
    (bytes.fromhex("ae000004d28000"), "field_range: CUC P-field extension not supported"),
    (bytes.fromhex("3e000004d28000"), "field_range: CUC time code id 3"),
    (bytes.fromhex("2e000004d280"), "truncated: CUC T-field is 5 octets, expected 6"),
    (bytes.fromhex("2e000004d2800000"), "length_mismatch: CUC T-field is 7 octets, expected 6"),
])
def test_cuc_refusals_say_why(raw, words):
    from fsw.protocol.cuc import CucTime

    assert CucTime.decode(bytes.fromhex("2e000004d28000")) == CucTime(1234, 0x8000)
    with pytest.raises(PacketError) as info:
        CucTime.decode(raw)
    assert str(info.value) == words
