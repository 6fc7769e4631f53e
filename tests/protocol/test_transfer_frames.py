"""TC (232.0-B) and TM (132.0-B) transfer frames, the CLCW, segmentation and
packet spanning."""

from __future__ import annotations

import fastcrc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacepackets.ccsds import tm_frame as sp_tm

from fsw.protocol import FrameError, Reason
from fsw.protocol.crc import crc16
from fsw.protocol.spp import SEQ_CONTINUATION, SEQ_FIRST, SEQ_LAST, SEQ_UNSEGMENTED, SpacePacket
from fsw.protocol.tc import (
    AD,
    BC,
    BD,
    UNLOCK,
    SegmentReassembler,
    TcFrame,
    parse_control_command,
    set_vr,
)
from fsw.protocol.tm import (
    FHP_IDLE,
    FHP_NO_PACKET_START,
    IDLE_VCID,
    Clcw,
    TmFrame,
    TmMasterChannel,
    TmReceiver,
    TmVcReceiver,
    with_ocf,
)

PUS_PING = bytes.fromhex("1801c01600062f11010000ab62")


def test_crc_check_value():
    assert crc16(b"123456789") == 0x29B1


def test_tc_golden_vectors():
    assert TcFrame(0x2AB, 1, 0, UNLOCK, True, True).encode().hex() == "32ab040700002326"
    assert TcFrame(0x2AB, 1, 0, set_vr(42), True, True).encode().hex() == "32ab04090082002a08ab"
    ad = TcFrame(0x2AB, 1, 7, PUS_PING, map_id=5)
    assert ad.encode().hex() == "02ab041407c51801c01600062f11010000ab62b66d"
    back = TcFrame.decode(bytes.fromhex("02ab041407c51801c01600062f11010000ab62b66d"))
    assert back == ad and back.frame_type == AD
    bc = TcFrame.decode(bytes.fromhex("32ab04090082002a08ab"))
    assert bc.frame_type == BC and parse_control_command(bc.data) == ("set_vr", 42)


tc_frames = st.builds(
    TcFrame, scid=st.integers(0, 0x3FF), vcid=st.integers(0, 63), seq_num=st.integers(0, 255),
    data=st.binary(min_size=1, max_size=1000), bypass=st.booleans(),
    map_id=st.integers(0, 63), seq_flags=st.integers(0, 3))


@given(tc_frames)
def test_tc_round_trip(f):
    assert TcFrame.decode(f.encode()) == f
    assert f.frame_type in (AD, BD)


def test_tc_bad_inputs_have_reasons():
    good = bytearray(TcFrame(0x2AB, 1, 7, PUS_PING, map_id=5).encode())
    cases = {
        Reason.TRUNCATED: b"\x02\xab\x04",
        Reason.LENGTH_MISMATCH: bytes(good[:-1]),
        Reason.BAD_FECF: bytes(good[:-1]) + bytes([good[-1] ^ 1]),
        Reason.TOO_LONG: bytes(1025),
    }
    bad_version = bytearray(good)
    bad_version[0] |= 0x40
    spare = bytearray(good)
    spare[0] |= 0x04
    ac = bytearray(good)
    ac[0] |= 0x10  # control command without bypass
    for frame in (bad_version, spare, ac):
        frame[-2:] = crc16(bytes(frame[:-2])).to_bytes(2, "big")
    cases[Reason.BAD_VERSION] = bytes(bad_version)
    cases[Reason.SPARE_BITS_SET] = bytes(spare)
    cases[Reason.ILLEGAL_FRAME_TYPE] = bytes(ac)
    for reason, frame in cases.items():
        with pytest.raises(FrameError) as e:
            TcFrame.decode(frame)
        assert e.value.reason == reason, reason
    with pytest.raises(FrameError):
        TcFrame(0x2AB, 1, 0, bytes(1020), map_id=0).encode()  # over 1024 octets
    for bad in [b"\x01", b"\x82\x00", b"\x82\x01\x05", b"\x82\x00\x01\x02"]:
        with pytest.raises(FrameError) as e:
            parse_control_command(bad)
        assert e.value.reason == Reason.BAD_DIRECTIVE


def test_segment_reassembly():
    r = SegmentReassembler(max_len=100)
    assert r.add(SEQ_UNSEGMENTED, b"abc") == b"abc"
    assert r.add(SEQ_FIRST, b"ab") is None
    assert r.add(SEQ_CONTINUATION, b"cd") is None
    assert r.add(SEQ_LAST, b"ef") == b"abcdef"
    with pytest.raises(FrameError) as e:
        r.add(SEQ_LAST, b"x")  # last without first
    assert e.value.reason == Reason.SEGMENT_SEQUENCE
    r.add(SEQ_FIRST, bytes(60))
    with pytest.raises(FrameError) as e:
        r.add(SEQ_CONTINUATION, bytes(60))
    assert e.value.reason == Reason.TOO_LONG
    assert not r.in_progress  # dropped, not kept growing


def test_clcw_golden_and_round_trip():
    assert Clcw(1, 8, retransmit=True).encode().hex() == "01040808"
    c = Clcw.decode(bytes.fromhex("01040808"))
    assert (c.vcid, c.report_value, c.retransmit, c.lockout, c.wait) == (1, 8, True, False, False)
    with pytest.raises(FrameError):
        Clcw.decode(bytes.fromhex("81040808"))


@given(st.builds(Clcw, vcid=st.integers(0, 63), report_value=st.integers(0, 255),
                 lockout=st.booleans(), wait=st.booleans(), retransmit=st.booleans(),
                 farm_b_counter=st.integers(0, 3), no_rf_available=st.booleans(),
                 no_bit_lock=st.booleans(), status=st.integers(0, 7)))
def test_clcw_round_trip(c):
    assert Clcw.decode(c.encode()) == c


def test_tm_golden_header_and_trailer():
    raw = TmFrame(0x2AB, 2, 0x11, 0x03, 0, bytes(52), Clcw(1, 8).encode()).encode()
    assert len(raw) == 64
    assert raw[:6].hex() == "2ab511031800"
    assert raw[-6:-2].hex() == "01040008"
    ref = sp_tm.TmTransferFrame.unpack(raw, 64, True)
    h = ref.primary_header
    assert (h.master_channel_id.spacecraft_id, h.vc_id, h.ocf_flag) == (0x2AB, 2, True)
    assert (h.master_ch_frame_count, h.vc_frame_count) == (0x11, 3)
    assert ref.op_ctrl_field == Clcw(1, 8).encode()


@given(vcid=st.integers(0, 7), mc=st.integers(0, 255), vc=st.integers(0, 255),
       fhp=st.integers(0, 49), data=st.binary(min_size=50, max_size=50))
def test_spacepackets_frames_decode_here(vcid, mc, vc, fhp, data):
    status = sp_tm.TransferFrameDataFieldStatus(False, False, False, 3, fhp)
    hdr = sp_tm.TmFramePrimaryHeader(sp_tm.MasterChannelId(0, 0x2AB), vcid, True, mc, vc, status)
    body = sp_tm.TmTransferFrame(60, hdr, None, data, b"\x01\x04\x08\x08", None).pack()
    # the FECF from the CRC the peer library uses (fastcrc), not ours
    raw = body + fastcrc.crc16.ibm_3740(body).to_bytes(2, "big")
    f = TmFrame.decode(raw, frame_len=62)
    assert (f.scid, f.vcid, f.mc_count, f.vc_count, f.fhp, f.data) == (0x2AB, vcid, mc, vc,
                                                                        fhp, data)
    assert Clcw.decode(f.ocf).report_value == 8


@given(vcid=st.integers(0, 7), mc=st.integers(0, 255), data=st.binary(min_size=50, max_size=50),
       old=st.binary(min_size=4, max_size=4), new=st.binary(min_size=4, max_size=4))
def test_restamped_ocf_is_the_only_change_and_the_fecf_checks(vcid, mc, data, old, new):
    raw = TmFrame(0x2AB, vcid, mc, 0, 0, data, old).encode()
    out = with_ocf(raw, new)
    # FECF by the peer library's CRC-16/CCITT-FALSE (fastcrc), not ours
    assert fastcrc.crc16.ibm_3740(out[:-2]).to_bytes(2, "big") == out[-2:]
    assert out[:-6] == raw[:-6] and out[-6:-2] == new


def test_restamping_refuses_frames_without_an_ocf_and_bad_ocf_lengths():
    no_ocf = TmFrame(0x2AB, 0, 0, 0, 0, bytes(50)).encode()
    with pytest.raises(FrameError) as err:
        with_ocf(no_ocf, bytes(4))
    assert str(err.value) == "field_range: frame has no OCF"
    with pytest.raises(FrameError) as err:
        with_ocf(TmFrame(0x2AB, 0, 0, 0, 0, bytes(50), bytes(4)).encode(), bytes(3))
    assert str(err.value) == "field_range: OCF is 4 octets"
    # 132.0-B-3 4.1.2: header 6 | data | OCF 4 | FECF 2; the OCF flag is bit 15 of
    # the first two octets. A header with the flag set but no room for an OCF:
    header_only = bytes.fromhex("2AB1") + bytes(4)
    for short in (b"", header_only, header_only + bytes(5)):
        with pytest.raises(FrameError) as err:
            with_ocf(short, bytes(4))
        assert str(err.value) == "field_range: frame has no OCF"
    # just room for it: header, OCF, FECF; or header and OCF with no FECF
    assert with_ocf(header_only + bytes(6), b"CLCW")[6:10] == b"CLCW"
    assert with_ocf(header_only + bytes(4), b"CLCW", fecf=False) == header_only + b"CLCW"


@given(data=st.binary(min_size=50, max_size=50), new=st.binary(min_size=4, max_size=4))
def test_restamping_a_frame_without_an_fecf_changes_the_last_four_octets(data, new):
    raw = TmFrame(0x2AB, 1, 2, 3, 0, data, bytes(4)).encode(fecf=False)
    assert with_ocf(raw, new, fecf=False) == raw[:-4] + new


packet_lists = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 0x7FE), st.binary(min_size=1, max_size=400)),
    max_size=25)


@settings(max_examples=60)
@given(packet_lists, st.sampled_from([64, 128, 223, 1115]))
def test_tm_multiplex_spanning_round_trip(items, frame_len):
    """Packets of any size on three VCs come out of the frames, in order, per VC."""
    mc = TmMasterChannel(0x2AB, frame_len, vcids=(0, 1, 2))
    mc.clcw = Clcw(0, 5)
    sent: dict[int, list[bytes]] = {0: [], 1: [], 2: []}
    for i, (vc, apid, data) in enumerate(items):
        p = SpacePacket(apid, 0, False, 3, i, data).encode()
        sent[vc].append(p)
        mc.add_packet(vc, p)
    frames = mc.drain()
    frames.append(mc.frame())  # nothing pending: an idle frame
    rx = TmReceiver(0x2AB, frame_len)
    got: dict[int, list[bytes]] = {0: [], 1: [], 2: []}
    for f in frames:
        assert len(f) == frame_len
        for vc, pkt in rx.add(f):
            got[vc].append(pkt)
    assert got == sent
    assert rx.last_clcw == Clcw(0, 5)
    idle = TmFrame.decode(frames[-1], frame_len=frame_len)
    assert idle.vcid == IDLE_VCID and idle.fhp == FHP_IDLE
    # each VC counts its own frames from zero, the master channel counts all
    counts: dict[int, list[int]] = {}
    for f in frames[:-1]:
        d = TmFrame.decode(f, frame_len=frame_len)
        counts.setdefault(d.vcid, []).append(d.vc_count)
    for c in counts.values():
        assert c == list(range(len(c)))
    mcs = [TmFrame.decode(f, frame_len=frame_len).mc_count for f in frames]
    assert mcs == list(range(len(frames)))


def test_tm_lost_frame_drops_only_the_cut_packet():
    mc = TmMasterChannel(1, 64, vcids=(0,))
    ps = [SpacePacket(5, 0, False, 3, i, bytes([i]) * 30).encode() for i in range(12)]
    for p in ps:
        mc.add_packet(0, p)
    frames = mc.drain()
    rx = TmReceiver(1, 64)
    got = []
    for i, f in enumerate(frames):
        if i == 3:
            continue  # lost on the link
        got += [p for _, p in rx.add(f)]
    assert rx.vcs[0].frames_lost == 1
    assert set(got) < set(ps) and len(got) >= len(ps) - 3
    assert got == [p for p in ps if p in got]  # order kept


def test_tm_long_packet_spans_many_frames_with_no_header_pointer():
    mc = TmMasterChannel(1, 64, vcids=(0,))
    big = SpacePacket(9, 0, False, 3, 0, bytes(range(256)) * 4).encode()
    mc.add_packet(0, big)
    frames = mc.drain()
    fhps = [TmFrame.decode(f, frame_len=64).fhp for f in frames]
    assert fhps[0] == 0 and FHP_NO_PACKET_START in fhps[1:-1]
    rx = TmVcReceiver()
    out = []
    for f in frames:
        out += rx.add(TmFrame.decode(f, frame_len=64))
    assert out == [big]


def test_tm_bad_inputs():
    good = TmFrame(1, 0, 0, 0, 0, bytes(52), Clcw(0).encode()).encode()
    with pytest.raises(FrameError) as e:
        TmFrame.decode(good[:-1], frame_len=64)
    assert e.value.reason == Reason.TM_FRAME_LENGTH
    with pytest.raises(FrameError) as e:
        TmFrame.decode(good[:-1] + bytes([good[-1] ^ 0xFF]), frame_len=64)
    assert e.value.reason == Reason.BAD_FECF
    with pytest.raises(FrameError) as e:
        TmFrame.decode(TmFrame(1, 0, 0, 0, 60, bytes(52), None).encode()[:58] + b"\0" * 4 +
                       b"\0\0", frame_len=64, fecf=False)
    with pytest.raises(FrameError) as e:
        TmReceiver(2, 64).add(good)
    assert e.value.reason == Reason.WRONG_SCID


def test_tc_frames_without_fecf_or_with_nothing_after_the_segment_header():
    # 232.0-B-4 4.1: header 0x2AB / VC 1 / length 7 - 1, N(S) 3, segment header 0xC5
    raw = bytes.fromhex("02ab0406" "03" "c5" "aa")
    f = TcFrame.decode(raw, fecf=False)
    assert (f.vcid, f.seq_num, f.map_id, f.seq_flags, f.data) == (1, 3, 5, 3, b"\xaa")
    assert f.encode(fecf=False) == raw
    only_seg = bytes.fromhex("02ab0407" "03" "c5")
    only_seg += crc16(only_seg).to_bytes(2, "big")
    f = TcFrame.decode(only_seg)
    assert f.map_id == 5 and f.data == b""
    illegal = bytearray(bytes.fromhex("12ab0406" "03" "c5" "aa"))  # control 1, bypass 0
    with pytest.raises(FrameError) as e:
        TcFrame.decode(bytes(illegal), fecf=False)
    assert str(e.value) == "illegal_frame_type: type (bypass 0, control 1)"


def test_a_tc_frame_without_segment_header_is_unsegmented():
    raw = bytes.fromhex("02ab0406" "03" "c5" "aa")
    f = TcFrame.decode(raw, segment_header=False, fecf=False)
    assert (f.map_id, f.seq_flags, f.data) == (None, 0b11, bytes.fromhex("c5aa"))


def test_tc_frame_segment_flags_beyond_two_bits_are_refused():
    with pytest.raises(FrameError) as e:
        TcFrame(0x2AB, 1, 0, b"x", map_id=0, seq_flags=4)
    assert str(e.value) == "field_range: segment sequence flags"


def test_refusals_of_short_tm_frames_and_unknown_directives_say_why():
    # a TM frame needs its header (6), OCF (4), FECF (2) and one octet of data
    for frame_len, fecf in ((12, True), (10, False)):
        with pytest.raises(FrameError) as err:
            TmFrame.decode(bytes(frame_len), frame_len=frame_len, fecf=fecf)
        assert str(err.value) == "truncated: frame too short"
    # 232.0-B-4 control commands: Unlock is 0x00, Set V(R) 0x82 0x00 V(R); anything
    # else is named by its first four octets
    from fsw.protocol.tc import parse_control_command

    assert parse_control_command(bytes.fromhex("820005")) == ("set_vr", 5)
    for data, shown in ((bytes.fromhex("8200050007"), "82000500"), (b"\x01", "01")):
        with pytest.raises(FrameError) as err:
            parse_control_command(data)
        assert str(err.value) == f"bad_directive: unknown control command {shown}"
