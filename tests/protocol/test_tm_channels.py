"""TM transfer frames on their channels (CCSDS 132.0-B-3): frames built
here octet by octet from the standard's layout, idle data and idle frames,
the frame counters' wrap, and the receiving side's resynchronisation after a
lost frame or a packet that is not a version-0 Space Packet."""

from __future__ import annotations

import pytest

from fsw.protocol import FrameError, Reason
from fsw.protocol.crc import crc16
from fsw.protocol.spp import SpacePacket
from fsw.protocol.tm import (
    Clcw,
    TmFrame,
    TmMasterChannel,
    TmReceiver,
    TmVcReceiver,
    TmVirtualChannel,
    data_field_len,
)


def frame_octets(scid, vcid, mc, vc, status, data, ocf=b"", fecf=True) -> bytes:
    """132.0-B-3 4.1.2: TFVN 00 | SCID (10) | VCID (3) | OCF flag | MC count | VC count |
    data field status (16); then data, OCF and the CRC-16/CCITT-FALSE FECF."""
    w0 = (scid << 4) | (vcid << 1) | (1 if ocf else 0)
    raw = w0.to_bytes(2, "big") + bytes((mc, vc)) + status.to_bytes(2, "big") + data + ocf
    return raw + (crc16(raw).to_bytes(2, "big") if fecf else b"")


def pkt(apid: int, n: int, count: int = 0) -> bytes:
    return SpacePacket(apid, 0, False, 3, count, bytes([apid & 0xFF]) * n).encode()


def test_data_field_length_per_trailer():
    assert data_field_len(64) == 64 - 6 - 4 - 2
    assert data_field_len(64, ocf=False) == 64 - 6 - 2
    assert data_field_len(64, fecf=False) == 64 - 6 - 4
    assert data_field_len(64, ocf=False, fecf=False) == 58


def test_decode_reads_each_header_field_where_the_standard_puts_it():
    # sync flag 1, packet order 1, segment length id 01, FHP 0x005
    status = (1 << 14) | (1 << 13) | (1 << 11) | 5
    raw = frame_octets(0x3FF, 7, 0xFE, 0x01, status, bytes(range(20)))
    f = TmFrame.decode(raw, frame_len=len(raw))
    assert (f.scid, f.vcid, f.mc_count, f.vc_count, f.fhp) == (0x3FF, 7, 0xFE, 1, 5)
    assert f.sync_flag and f.packet_order and f.segment_length_id == 1
    assert f.data == bytes(range(20)) and f.ocf is None
    # and writes them there too
    assert TmFrame(0x3FF, 7, 0xFE, 1, 5, bytes(range(20)), sync_flag=True,
                   packet_order=True, segment_length_id=1).encode() == raw
    raw = frame_octets(0, 0, 0, 0, 0x1800, bytes(10), ocf=bytes.fromhex("01040808"),
                       fecf=False)
    f = TmFrame.decode(raw, frame_len=len(raw), fecf=False)
    assert f.ocf == bytes.fromhex("01040808") and f.data == bytes(10)
    assert not f.sync_flag and not f.packet_order and f.segment_length_id == 3
    assert TmFrame(0, 0, 0, 0, 0, bytes(10), bytes.fromhex("01040808")).encode(False) == raw


@pytest.mark.parametrize("mutate, reason, words", [
    (lambda s: (s | 0x8000, 0), Reason.FIELD_RANGE, "secondary headers are not used"),
    (lambda s: (s & ~0x1800, 0), Reason.FIELD_RANGE,
     "segment length id must be 11 when sync is 0"),
    (lambda s: ((s & ~0x07FF) | 10, 0), Reason.BAD_FHP, "FHP 10 past data field of 10"),
    (lambda s: (s, 0x4000), Reason.BAD_VERSION, "TFVN 1"),
])
def test_decode_refuses_frames_against_the_standard(mutate, reason, words):
    status, version = mutate(0x1800)
    raw = bytearray(frame_octets(1, 0, 0, 0, status, bytes(10)))
    raw[0] |= version >> 8
    raw[-2:] = crc16(bytes(raw[:-2])).to_bytes(2, "big")
    with pytest.raises(FrameError) as err:
        TmFrame.decode(bytes(raw), frame_len=len(raw))
    assert err.value.reason == reason and str(err.value).endswith(words)


def test_decode_takes_the_idle_and_no_start_pointers_and_sync_frames():
    for fhp in (0x7FE, 0x7FF, 9, 1):
        raw = frame_octets(1, 0, 0, 0, 0x1800 | fhp, bytes(10))
        f = TmFrame.decode(raw, frame_len=len(raw))
        assert f.fhp == fhp and not f.sync_flag and not f.packet_order
    raw = frame_octets(1, 0, 0, 0, 0x4000 | 0x0800, bytes(10))  # sync 1: any segment id
    assert TmFrame.decode(raw, frame_len=len(raw)).segment_length_id == 1


def test_decode_refuses_frames_too_short_for_the_channel():
    with pytest.raises(FrameError) as err:
        TmFrame.decode(bytes(12), frame_len=12)  # header + OCF + FECF leave no data
    assert err.value.reason == Reason.TRUNCATED
    raw = frame_octets(1, 0, 0, 0, 0x1800, bytes(1), ocf=bytes(4))
    assert len(raw) == 13 and TmFrame.decode(raw, frame_len=13).data == bytes(1)
    with pytest.raises(FrameError) as err:
        TmFrame.decode(raw[:-1], frame_len=13)
    assert str(err.value) == "tm_frame_length: 12 octets on a 13-octet channel"


def test_clcw_decode_takes_bytes_or_an_integer_and_refuses_other_words():
    assert Clcw.decode(0x01040808) == Clcw.decode(bytes.fromhex("01040808"))
    c = Clcw.decode(bytes.fromhex("1fffeeff"))
    assert (c.status, c.cop_in_effect, c.vcid, c.no_rf_available, c.no_bit_lock) == (
        7, 3, 63, True, True)
    assert (c.lockout, c.wait, c.retransmit, c.farm_b_counter, c.report_value) == (
        True, False, True, 3, 0xFF)
    # the two spare bits after the VCID are read past and written as zero
    assert Clcw(63, 0xFF, True, False, True, 3, True, True, 7, 3).encode().hex() == "1ffceeff"
    for word, words in ((bytes(3), "a CLCW is 4 octets"), (bytes(5), "a CLCW is 4 octets"),
                        (0x80000000, "control word type 1 is not a CLCW"),
                        (0x20000000, "CLCW version not 0"), (0x40000000, "CLCW version not 0")):
        with pytest.raises(FrameError) as err:
            Clcw.decode(word)
        assert str(err.value).endswith(words)


def test_a_partial_frame_is_completed_with_an_idle_packet():
    vc = TmVirtualChannel(0, 20)
    vc.flush()
    assert vc.pending == 0  # nothing queued: nothing to complete
    vc.add_packet(pkt(5, 3))  # 9 octets
    assert vc.pending == 0 and vc.next_data() is None
    vc.flush()
    count, fhp, data = vc.next_data()
    assert (count, fhp) == (0, 0) and data[:9] == pkt(5, 3)
    idle = data[9:]  # 11 octets: an idle packet, APID 0x7FF, filling the frame exactly
    assert len(idle) == 11 and (idle[0] << 8 | idle[1]) & 0x7FF == 0x7FF
    assert int.from_bytes(idle[4:6], "big") == 11 - 7
    # a full frame needs no idle packet
    vc.add_packet(pkt(5, 14))  # 20 octets
    vc.flush()
    assert vc.pending == 1 and vc.next_data()[2] == pkt(5, 14) and vc.pending == 0


def test_an_idle_packet_too_short_to_fit_spills_into_a_second_frame():
    vc = TmVirtualChannel(1, 20)
    vc.add_packet(pkt(5, 9))  # 15 octets: 5 left, less than the 7 of the smallest packet
    vc.flush()
    assert vc.pending == 2
    (c0, f0, d0), (c1, f1, d1) = vc.next_data(), vc.next_data()
    assert (c0, f0, c1) == (0, 0, 1)
    assert f1 == 0x7FF  # the second frame holds only the idle packet's continuation
    rx = TmVcReceiver(keep_idle=True)
    out = rx.add(TmFrame(1, 1, 0, c0, f0, d0)) + rx.add(TmFrame(1, 1, 1, c1, f1, d1))
    assert out[0] == pkt(5, 9) and len(out[1]) == 25 and len(out) == 2
    assert TmVcReceiver().add(TmFrame(1, 1, 0, c0, f0, d0)) == [pkt(5, 9)]


def test_virtual_channel_limits():
    for vcid, field_len, words in ((8, 20, "VCID 8"), (-1, 20, "VCID -1"),
                                   (0, 7, "data field too small")):
        with pytest.raises(FrameError) as err:
            TmVirtualChannel(vcid, field_len)
        assert str(err.value).endswith(words)
    TmVirtualChannel(7, 8)
    for n in (13, 2049):
        with pytest.raises(FrameError) as err:
            TmMasterChannel(1, n)
        assert str(err.value).endswith(f"frame length {n}")
    assert TmMasterChannel(1, 14, ocf=False, fecf=False).field_len == 8
    assert TmMasterChannel(1, 2048).field_len == 2048 - 12


def test_frame_counters_wrap_at_256_per_vc_and_per_master_channel():
    mc = TmMasterChannel(0x2AB, 32, vcids=(0, 3), ocf=False)
    field = mc.field_len
    assert field == 32 - 6 - 2
    for _ in range(257):
        mc.add_packet(3, pkt(9, field - 6))
    frames = [TmFrame.decode(mc.frame(), frame_len=32, fecf=True) for _ in range(257)]
    assert [f.vc_count for f in frames] == [*range(256), 0]
    assert [f.mc_count for f in frames] == [*range(256), 0]
    assert all(f.vcid == 3 and f.ocf is None for f in frames)
    idle = [TmFrame.decode(mc.frame(), frame_len=32) for _ in range(2)]
    # idle frames: VC 7, FHP 0x7FE (132.0-B-3 4.1.2.7.4), their own VC count
    assert [(f.vcid, f.fhp, f.vc_count, f.mc_count) for f in idle] == [(7, 0x7FE, 0, 1),
                                                                      (7, 0x7FE, 1, 2)]


def test_a_master_channels_frames_octet_by_octet():
    # What the downlink sends: 132.0-B-3 4.1.2.7, a data field of packets is
    # "no secondary header, sync flag 0, packet order 0, segment length id 11"
    # (status 0x1800 | first header pointer); the OCF of the first frames is
    # the empty report 0x01000000, then the CLCW set; idle frames: VC 7,
    # pointer 0x7FE.
    mc = TmMasterChannel(0x2AB, 32, vcids=(0, 3))
    field = mc.field_len
    assert field == 32 - 6 - 4 - 2
    mc.add_packet(3, pkt(9, field - 6))
    mc.add_packet(0, pkt(4, 3))
    mc.vcs[0].flush()
    empty = bytes.fromhex("01000000")
    assert mc.frame() == frame_octets(0x2AB, 0, 0, 0, 0x1800, mc_data(pkt(4, 3), field), empty)
    assert mc.frame() == frame_octets(0x2AB, 3, 1, 0, 0x1800, pkt(9, field - 6), empty)
    mc.clcw = Clcw(1, 9)
    idle = mc.frame()  # its data is mission-defined (4.1.4.2): the header and OCF here
    expected = frame_octets(0x2AB, 7, 2, 0, 0x1800 | 0x7FE, idle[6:-6], Clcw(1, 9).encode())
    assert idle == expected and len(idle) == 32


def mc_data(packet: bytes, field: int) -> bytes:
    """`packet`, then the idle packet (APID 0x7FF, 133.0-B-2 4.1.3.3.4.4) that fills
    the data field: sequence flags 11, count 0, its length, then 0x55 octets."""
    n = field - len(packet)
    return packet + bytes.fromhex("07ffc000") + (n - 7).to_bytes(2, "big") + b"\x55" * (n - 6)


def test_the_ocf_carries_the_current_clcw_or_an_empty_report():
    mc = TmMasterChannel(1, 32)
    assert TmFrame.decode(mc.frame(), frame_len=32).ocf == Clcw(vcid=0).encode()
    assert Clcw(vcid=0).encode().hex() == "01000000"  # COP-1 in effect, all else zero
    mc.clcw = Clcw(3, 200, wait=True)
    assert TmFrame.decode(mc.frame(), frame_len=32).ocf == Clcw(3, 200, wait=True).encode()
    raw = TmMasterChannel(1, 32, fecf=False).frame()
    assert len(raw) == 32 and TmFrame.decode(raw, frame_len=32, fecf=False).vcid == 7


def test_frames_are_taken_from_the_vc_asked_for_or_the_first_with_one_ready():
    mc = TmMasterChannel(1, 32, vcids=(0, 1, 2))
    field = mc.field_len
    mc.add_packet(2, pkt(2, field - 6))
    mc.add_packet(1, pkt(1, field - 6))
    assert TmFrame.decode(mc.frame(2), frame_len=32).vcid == 2
    assert TmFrame.decode(mc.frame(2), frame_len=32).vcid == 7  # VC 2 has no more
    assert TmFrame.decode(mc.frame(), frame_len=32).vcid == 1
    mc.add_packet(0, pkt(0, 3))
    assert len(mc.drain(flush=False)) == 0 and len(mc.drain()) == 1


def test_a_lost_frame_is_counted_modulo_256_and_the_cut_packet_dropped():
    rx = TmVcReceiver()
    a, b = pkt(1, 30), pkt(2, 4)
    assert rx.add(TmFrame(1, 0, 0, 250, 0, a[:20])) == []
    # frame 251..254 lost; 255 starts with b's header at offset 0
    assert rx.add(TmFrame(1, 0, 0, 255, 0, b)) == [b]
    assert rx.frames_lost == 4 and rx.packets_dropped == 1
    rx.add(TmFrame(1, 0, 0, 1, 0x7FF, bytes(20)))  # 0 lost across the wrap: count 1 after 255
    assert rx.frames_lost == 5
    # a frame without a packet start cannot be used until the next pointer
    rx = TmVcReceiver()
    assert rx.add(TmFrame(1, 0, 0, 0, 0x7FF, a[6:26])) == []
    assert rx.add(TmFrame(1, 0, 0, 1, 0, b)) == [b]
    assert rx.frames_lost == 0 and rx.packets_dropped == 0


def test_a_pointer_into_a_packet_still_being_assembled_drops_it():
    rx = TmVcReceiver()
    a, b = pkt(1, 30), pkt(2, 4)
    rx.add(TmFrame(1, 0, 0, 0, 0, a[:20]))
    # the next frame says a new packet starts at 3, but a needed 16 more octets
    assert rx.add(TmFrame(1, 0, 0, 1, 3, a[20:23] + b)) == [b]
    assert rx.packets_dropped == 1
    for fhp in (5, 4):  # 4 octets of data: offsets 0..3 can start a packet
        with pytest.raises(FrameError) as err:
            rx.add(TmFrame(1, 0, 0, 2, fhp, bytes(4)))
        assert str(err.value) == "bad_fhp: first header pointer past the data field"


# 133.0-B-2 4.1: TM, no secondary header, unsegmented, count 0, 2 octets of data
APID_0FF = bytes.fromhex("00ff" "c000" "0001" "abcd")  # APID 0x0FF: second octet 0xFF
IDLE = bytes.fromhex("07ff" "c000" "0001" "0000")  # APID 0x7FF: an idle packet


def test_only_apid_0x7ff_is_idle():
    rx = TmVcReceiver()
    assert rx.add(TmFrame(1, 0, 0, 0, 0, APID_0FF + IDLE + APID_0FF)) == [APID_0FF, APID_0FF]
    assert TmVcReceiver(keep_idle=True).add(TmFrame(1, 0, 0, 0, 0, IDLE)) == [IDLE]


def test_every_packet_dropped_is_counted():
    rx = TmVcReceiver()
    for vc in (0, 2, 4):  # each frame starts a packet the next one, lost, would finish
        rx.add(TmFrame(1, 0, 0, vc, 0, APID_0FF[:5]))
    assert rx.frames_lost == 2 and rx.packets_dropped == 2
    rx = TmVcReceiver()
    bad = bytes((0x20,)) + APID_0FF[1:]  # version 1
    for vc in range(3):  # a header of another version, each time at a packet start
        assert rx.add(TmFrame(1, 0, 0, vc, 0, bad)) == []
    assert rx.packets_dropped == 3
    rx = TmVcReceiver()
    for vc in range(3):  # each pointer cuts short the packet the frame before began
        rx.add(TmFrame(1, 0, 0, vc, 1, APID_0FF[4:5] + APID_0FF[:4]))
    assert rx.frames_lost == 0 and rx.packets_dropped == 2
    # a bad header that ends the frame exactly is counted when the frame arrives
    rx = TmVcReceiver()
    assert rx.add(TmFrame(1, 0, 0, 0, 0, APID_0FF + bad[:6])) == [APID_0FF]
    assert rx.packets_dropped == 1


def test_after_a_lost_frame_a_continuation_is_not_taken_for_a_packet():
    """A frame with no packet start (FHP 0x7FF) continues a packet begun in an
    earlier frame; after a gap its octets are the middle of an unknown packet,
    even if they happen to read as one, until the next pointer."""
    rx = TmVcReceiver()
    assert rx.add(TmFrame(1, 0, 0, 0, 0, APID_0FF[:4])) == []
    assert rx.add(TmFrame(1, 0, 0, 2, 0x7FF, APID_0FF)) == []  # frame 1 lost
    assert rx.add(TmFrame(1, 0, 0, 3, 0, APID_0FF)) == [APID_0FF]


def test_frames_on_the_idle_vc_that_carry_packets_are_delivered():
    """Only frames that are idle data (FHP 0x7FE) on VC 7 are skipped whole."""
    mc = TmMasterChannel(0x2AB, 40, vcids=(7,))
    mc.add_packet(7, APID_0FF)
    rx = TmReceiver(0x2AB, 40)
    assert rx.add(mc.drain()[0]) == [(7, APID_0FF)]


def test_a_packet_that_is_not_version_0_loses_sync_until_the_next_pointer():
    rx = TmVcReceiver()
    bad = bytes([0x20]) + pkt(1, 3)[1:]  # version 001
    good = pkt(1, 3)
    assert rx.add(TmFrame(1, 0, 0, 0, 0, good + bad + good)) == [good]
    assert rx.packets_dropped == 1
    assert rx.add(TmFrame(1, 0, 0, 1, 0x7FF, good)) == []  # still out of sync
    assert rx.add(TmFrame(1, 0, 0, 2, 0, good)) == [good]


def test_the_receiver_keeps_the_last_clcw_and_skips_idle_frames():
    mc = TmMasterChannel(0x2AB, 40, vcids=(0,))
    rx = TmReceiver(0x2AB, 40)
    assert rx.last_clcw is None  # no frame yet: no CLCW to report
    other = TmMasterChannel(0x2AC, 40, vcids=(0,))
    with pytest.raises(FrameError) as err:
        rx.add(other.frame())  # another spacecraft's frame
    assert str(err.value) == "wrong_scid: SCID 684" and rx.last_clcw is None
    mc.clcw = Clcw(0, 9)
    assert rx.add(mc.frame()) == [] and rx.last_clcw == Clcw(0, 9)
    assert rx.vcs == {}  # an idle frame opens no VC
    mc.add_packet(0, pkt(4, 3))
    mc.clcw = Clcw(0, 10)
    assert rx.add(mc.drain()[0]) == [(0, pkt(4, 3))] and rx.last_clcw == Clcw(0, 10)
    # frames without an OCF leave the last CLCW as it was
    no_ocf = TmMasterChannel(0x2AB, 40, ocf=False)
    no_ocf.add_packet(0, pkt(4, 3))
    assert rx.add(no_ocf.drain()[0]) == [(0, pkt(4, 3))] and rx.last_clcw == Clcw(0, 10)


def test_a_channel_without_fecf_is_received_as_such():
    mc = TmMasterChannel(0x2AB, 40, fecf=False)
    mc.add_packet(0, pkt(4, 3))
    frame = mc.drain()[0]
    assert TmReceiver(0x2AB, 40, fecf=False).add(frame) == [(0, pkt(4, 3))]
    with pytest.raises(FrameError) as err:
        TmReceiver(0x2AB, 40).add(frame)  # read as if it ended in an FECF
    assert err.value.reason == Reason.BAD_FECF


def test_tm_frame_refusal_texts():
    with pytest.raises(FrameError) as err:
        TmFrame(0x400, 0, 0, 0, 0, bytes(8)).encode()
    assert str(err.value) == "field_range: SCID or VCID"
    raw = frame_octets(1, 0, 0, 0, 0x1800, bytes(10))
    with pytest.raises(FrameError) as err:
        TmFrame.decode(raw[:-1] + bytes((raw[-1] ^ 1,)), frame_len=len(raw))
    assert str(err.value) == "bad_fecf: frame error control field does not match"
