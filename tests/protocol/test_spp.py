"""Space Packets (CCSDS 133.0-B-2) and CUC time (301.0-B-4)."""

from __future__ import annotations

import ccsdspy
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from spacepackets.ccsds.spacepacket import PacketType, SequenceFlags, SpacePacketHeader

from fsw.protocol import PacketError, Reason
from fsw.protocol.cuc import TAI_1958, CucTime
from fsw.protocol.spp import (
    IDLE_APID,
    TC,
    TM,
    SequenceCounter,
    SpacePacket,
    decode_bulk,
    idle_packet,
    iter_packets,
    split_timed,
    timed_packet,
)

packets = st.builds(
    SpacePacket,
    apid=st.integers(0, 0x7FF),
    packet_type=st.sampled_from([TM, TC]),
    sec_hdr_flag=st.booleans(),
    seq_flags=st.integers(0, 3),
    seq_count=st.integers(0, 0x3FFF),
    data=st.binary(min_size=1, max_size=300),
)


def test_decode_reads_the_octets_of_a_buffer_of_wider_items():
    """A recording held as 16-bit words (a memoryview cast to "H", as a
    word-oriented capture gives) decodes from its octets, as bytes of it
    would: the golden vector, not five items read as a 5-octet packet."""
    words = memoryview(bytes.fromhex("0123c0050003deadbeef")).cast("H")
    assert len(words) == 5
    assert SpacePacket.decode(words) == SpacePacket(0x123, TM, False, 3, 5,
                                                    bytes.fromhex("deadbeef"))


def test_golden_vector():
    p = SpacePacket(0x123, TM, False, 3, 5, bytes.fromhex("deadbeef"))
    assert p.encode().hex() == "0123c0050003deadbeef"
    assert SpacePacket.decode(bytes.fromhex("0123c0050003deadbeef")) == p


@given(packets)
def test_round_trip(p):
    assert SpacePacket.decode(p.encode()) == p


@given(packets)
def test_spacepackets_parses_ours(p):
    h = SpacePacketHeader.unpack(p.encode())
    assert (h.apid, h.seq_count, h.sec_header_flag) == (p.apid, p.seq_count, p.sec_hdr_flag)
    assert h.packet_type == PacketType(p.packet_type)
    assert h.seq_flags == SequenceFlags(p.seq_flags)
    assert h.packet_len == len(p.encode())


@given(apid=st.integers(0, 0x7FF), count=st.integers(0, 0x3FFF),
       ptype=st.sampled_from([TM, TC]), data=st.binary(min_size=1, max_size=100))
def test_ours_decodes_spacepackets(apid, count, ptype, data):
    from spacepackets.ccsds.spacepacket import SpacePacket as SpSpacePacket

    hdr = SpacePacketHeader(PacketType(ptype), apid, count, len(data) - 1)
    raw = SpSpacePacket(hdr, None, data).pack()
    p = SpacePacket.decode(raw)
    assert (p.apid, p.seq_count, p.packet_type, p.data) == (apid, count, ptype, data)


def test_lying_length_and_version_rejected():
    raw = bytearray(SpacePacket(5, data=b"abcd").encode())
    for bad, reason in [(raw[:-1], Reason.LENGTH_MISMATCH), (raw + b"x", Reason.LENGTH_MISMATCH),
                        (b"\x20" + raw[1:], Reason.BAD_VERSION), (raw[:6], Reason.TRUNCATED)]:
        with pytest.raises(PacketError) as e:
            SpacePacket.decode(bytes(bad))
        assert e.value.reason == reason


def test_out_of_range_fields_refused():
    for kw in [{"apid": 0x800}, {"apid": 1, "seq_count": 0x4000}, {"apid": 1, "data": b""},
               {"apid": 1, "seq_flags": 4}, {"apid": 1, "data": bytes(65537)}]:
        with pytest.raises(PacketError):
            SpacePacket(**kw)


def test_longest_packet():
    p = SpacePacket(7, data=bytes(65536))
    assert len(p.encode()) == 65542
    assert SpacePacket.decode(p.encode()) == p


def test_sequence_counter_per_apid_wraps():
    c = SequenceCounter()
    assert [c.next(1) for _ in range(3)] == [0, 1, 2]
    assert c.next(2) == 0
    for _ in range(0x3FFF - 2):
        c.next(1)
    assert c.next(1) == 0  # 14-bit wrap
    assert c.next(2) == 1


def test_idle_packet():
    smallest = idle_packet(7).encode()  # header and one octet of (mission-defined) fill
    assert len(smallest) == 7 and smallest[:6].hex() == "07ff" "c000" "0000"
    p = idle_packet(20)
    assert p.apid == IDLE_APID and p.is_idle and len(p.encode()) == 20
    with pytest.raises(PacketError):
        idle_packet(6)


@given(st.floats(0, 2**32 - 1, allow_nan=False), st.binary(max_size=50))
def test_timed_packet_round_trip(seconds, user):
    t = CucTime.from_seconds(seconds)
    p = timed_packet(42, t, user, seq_count=3)
    back = SpacePacket.decode(p.encode())
    t2, u2 = split_timed(back)
    assert t2 == t and u2 == user
    assert abs(t2.seconds - seconds) < 2 ** -16 + 1e-9 * seconds


def test_cuc_p_field_and_formats():
    t = CucTime(0x01020304, 0x8000)
    assert t.encode().hex() == "2e010203048000"  # 0 010 11 10: agency epoch, 4+2
    assert t.seconds == 0x01020304 + 0.5
    tai = CucTime(1, 0, 2, 1, TAI_1958)
    assert tai.encode()[0] == 0b0_001_01_01
    assert CucTime.decode(tai.encode()) == tai
    assert CucTime.decode(t.encode(False), coarse_octets=4, fine_octets=2) == t
    for bad in [b"", b"\xae" + bytes(6), b"\x5e" + bytes(6), t.encode()[:-1], t.encode() + b"\0"]:
        with pytest.raises(PacketError):
            CucTime.decode(bad)


@given(st.integers(1, 4), st.integers(0, 3), st.data())
def test_cuc_round_trip(coarse_n, fine_n, data):
    coarse = data.draw(st.integers(0, (1 << (8 * coarse_n)) - 1))
    fine = data.draw(st.integers(0, (1 << (8 * fine_n)) - 1))
    t = CucTime(coarse, fine, coarse_n, fine_n)
    assert CucTime.decode(t.encode()) == t


def test_iter_packets_and_bulk_mixed_lengths():
    ps = [SpacePacket(i % 7, TM, False, 3, i, bytes([i]) * (1 + i % 5)) for i in range(50)]
    raw = b"".join(p.encode() for p in ps)
    assert list(iter_packets(raw)) == ps
    t = decode_bulk(raw)
    assert t.apid.tolist() == [p.apid for p in ps]
    assert t.seq_count.tolist() == [p.seq_count for p in ps]
    assert t.length.tolist() == [len(p.encode()) for p in ps]
    assert t.field(6, "u1").tolist() == [p.data[0] for p in ps]
    with pytest.raises(PacketError):
        decode_bulk(raw[:-1])
    with pytest.raises(PacketError):
        t.field(7, ">u4")  # the shortest packets have 1 data octet


def test_bulk_decode_matches_ccsdspy(tmp_path):
    n = 500
    rng = np.random.default_rng(1)
    vals = rng.integers(0, 2**32, n, dtype=np.uint64)
    temps = rng.normal(size=n)
    raw = b"".join(
        SpacePacket(0x42, TM, False, 3, i % 16384,
                    int(vals[i]).to_bytes(4, "big") + np.float64(temps[i]).byteswap().tobytes()
                    + b"\x00\x01").encode()
        for i in range(n))
    f = tmp_path / "pk.bin"
    f.write_bytes(raw)
    pkt = ccsdspy.FixedLength([
        ccsdspy.PacketField(name="count", data_type="uint", bit_length=32),
        ccsdspy.PacketField(name="temp", data_type="float", bit_length=64),
        ccsdspy.PacketField(name="pad", data_type="uint", bit_length=16),
    ])
    ref = pkt.load(str(f), include_primary_header=True)
    t = decode_bulk(raw)
    assert np.array_equal(t.apid, ref["CCSDS_APID"])
    assert np.array_equal(t.seq_count, ref["CCSDS_SEQUENCE_COUNT"])
    assert np.array_equal(t.field(6, ">u4"), ref["count"])
    assert np.array_equal(t.field(10, ">f8"), ref["temp"])


def test_ccsdspy_reads_packets_we_write(tmp_path):
    ps = [SpacePacket(0x10 + i % 3, TM, False, 3, i, i.to_bytes(2, "big")) for i in range(30)]
    f = tmp_path / "mixed.bin"
    f.write_bytes(b"".join(p.encode() for p in ps))
    by_apid = ccsdspy.utils.split_by_apid(str(f))
    for apid, stream in by_apid.items():
        mine = [p for p in ps if p.apid == apid]
        ref = ccsdspy.FixedLength([ccsdspy.PacketField(name="v", data_type="uint",
                                                       bit_length=16)]).load(
            stream, include_primary_header=True)
        assert ref["v"].tolist() == [int.from_bytes(p.data, "big") for p in mine]
        assert ref["CCSDS_SEQUENCE_COUNT"].tolist() == [p.seq_count for p in mine]


# --- the header-word representation against the field-by-field definition ----

FIELDS = ("apid", "packet_type", "sec_hdr_flag", "seq_flags", "seq_count")


def fields_and_data(p: SpacePacket) -> tuple:
    return (*(getattr(p, f) for f in FIELDS), p.data)


def reference_encode(apid, packet_type, sec_hdr_flag, seq_flags, seq_count, data) -> bytes:
    """133.0-B-2 4.1.3 written out field by field."""
    return bytes([
        (packet_type << 4) | (int(sec_hdr_flag) << 3) | (apid >> 8), apid & 0xFF,
        (seq_flags << 6) | (seq_count >> 8), seq_count & 0xFF,
        (len(data) - 1) >> 8, (len(data) - 1) & 0xFF]) + data


def reference_decode(raw: bytes):
    """The fields of a well-formed packet, or the reason a decoder must give."""
    if len(raw) < 7:
        return Reason.TRUNCATED
    if raw[0] >> 5:
        return Reason.BAD_VERSION
    if ((raw[4] << 8) | raw[5]) + 7 != len(raw):
        return Reason.LENGTH_MISMATCH
    return ((raw[0] & 7) << 8 | raw[1], (raw[0] >> 4) & 1, bool(raw[0] & 8), raw[2] >> 6,
            (raw[2] & 0x3F) << 8 | raw[3], raw[6:])


@given(apid=st.integers(0, 0x7FF), ptype=st.sampled_from([TM, TC]), sec=st.booleans(),
       flags=st.integers(0, 3), count=st.integers(0, 0x3FFF),
       data=st.binary(min_size=1, max_size=300))
def test_fields_encode_and_repr_match_the_definition(apid, ptype, sec, flags, count, data):
    p = SpacePacket(apid, ptype, sec, flags, count, data)
    assert fields_and_data(p) == (apid, ptype, sec, flags, count, data)
    assert type(p.sec_hdr_flag) is bool
    assert p.encode() == reference_encode(apid, ptype, sec, flags, count, data)
    assert p.packet_id == (ptype << 12) | (sec << 11) | apid
    assert repr(p) == (f"SpacePacket(apid={apid}, packet_type={ptype}, sec_hdr_flag={sec}, "
                       f"seq_flags={flags}, seq_count={count}, data={data!r})")
    back = SpacePacket.decode(bytearray(p.encode()))
    assert back == p and type(back.data) is bytes
    assert not p != back


def _decodes_as_the_definition_says(decode, raw: bytes) -> SpacePacket | None:
    """Decode `raw` with `decode`: the reference's fields, or its reason as PacketError."""
    want = reference_decode(raw)
    if isinstance(want, Reason):
        with pytest.raises(PacketError) as e:
            decode(raw)
        assert e.value.reason == want
        return None
    p = decode(raw)
    assert fields_and_data(p) == want
    return p


@given(st.one_of(st.binary(max_size=40), packets.map(lambda p: p.encode()),
                 packets.map(lambda p: p.encode()).flatmap(
                     lambda raw: st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255))
                     .map(lambda iv: raw[:iv[0]] + bytes([iv[1]]) + raw[iv[0] + 1:]))))
def test_decode_agrees_with_the_definition_on_any_bytes(raw):
    p = _decodes_as_the_definition_says(SpacePacket.decode, raw)
    if p is not None:
        assert p.encode() == raw


@given(packets, st.sampled_from(FIELDS), st.integers(-2, 0x4001))
def test_setting_a_field_changes_only_that_field(p, field, value):
    limit = {"apid": 0x7FF, "packet_type": 1, "sec_hdr_flag": None, "seq_flags": 3,
             "seq_count": 0x3FFF}[field]
    before = {f: getattr(p, f) for f in FIELDS}
    if limit is None:
        value = bool(value)  # the flag is a bool (the compiled build refuses an int)
    setattr(p, field, value)
    if limit is not None and not 0 <= value <= limit:
        # a value past the field's width would spill into its neighbours on
        # the wire: building the packet refuses it
        with pytest.raises(PacketError) as e:
            p.encode()
        assert e.value.reason == Reason.FIELD_RANGE
        assert {f: getattr(p, f) for f in FIELDS} == dict(before, **{field: value})
        return
    want = dict(before, **{field: value})
    assert {f: getattr(p, f) for f in FIELDS} == want
    assert p.encode() == reference_encode(*want.values(), p.data)


def test_packets_are_values_not_keys():
    import copy
    import pickle

    p = SpacePacket(0x42, TC, True, 1, 9, b"abc")
    assert copy.copy(p) == p and pickle.loads(pickle.dumps(p)) == p
    assert p != SpacePacket(0x42, TC, True, 1, 10, b"abc")
    assert p != (0x42, TC, True, 1, 9, b"abc")
    with pytest.raises(TypeError):
        hash(p)
    match p:
        case SpacePacket(apid, ptype, sec, flags, count, data):
            assert (apid, ptype, sec, flags, count, data) == (0x42, TC, True, 1, 9, b"abc")


def _packets_with_a_field(lengths: list[int]) -> tuple[bytes, list[int], list[int]]:
    """Back-to-back space packets, each carrying a u16 and an i32 after its header,
    built octet by octet from CCSDS 133.0-B-2 4.1 (not with the codec under test)."""
    out, u16s, i32s = bytearray(), [], []
    for k, n in enumerate(lengths):
        u16, i32 = (0x1234 + 257 * k) & 0xFFFF, -70000 * (k + 1)
        body = u16.to_bytes(2, "big") + i32.to_bytes(4, "big", signed=True) + bytes(n - 6)
        w0 = 0x0800 | (0x20 + k)  # TM, secondary header flag, APID
        w1 = 0xC000 | k  # unsegmented, count k
        out += w0.to_bytes(2, "big") + w1.to_bytes(2, "big") + (len(body) - 1).to_bytes(2, "big")
        out += body
        u16s.append(u16)
        i32s.append(i32)
    return bytes(out), u16s, i32s


@pytest.mark.parametrize("lengths", [[10, 10, 10], [6, 20, 9, 6]])
def test_bulk_fields_are_read_big_endian_from_each_packet(lengths):
    from fsw.protocol.spp import decode_bulk

    raw, u16s, i32s = _packets_with_a_field(lengths)
    table = decode_bulk(raw)
    assert table.apid.tolist() == [0x20 + k for k in range(len(lengths))]
    assert table.seq_count.tolist() == list(range(len(lengths)))
    # native "=" and explicit ">" mean the same: the packet's big-endian order
    for dtype in ("u2", "=u2", ">u2", np.uint16):
        assert table.field(6, dtype).tolist() == u16s
    # a type that names its order keeps it (a payload writing its own fields
    # little-endian): the same two octets, read the other way round
    assert table.field(6, "<u2").tolist() == [int.from_bytes(u.to_bytes(2, "big"), "little")
                                              for u in u16s]
    assert table.field(8, "i4").tolist() == i32s
    assert table.field(6, "u1").tolist() == [u >> 8 for u in u16s]
    assert len(table.field(5 + min(lengths), "u1")) == len(lengths)  # the shortest's last octet
    with pytest.raises(PacketError) as info:
        table.field(6 + min(lengths), "u1")
    assert str(info.value).endswith("field past the end of a packet")
    with pytest.raises(PacketError):
        table.field(-1, "u1")
    assert table.field(0, "u1").tolist() == [0x08] * len(lengths)  # offset 0 is allowed


def _raw_packet(w0: int, w1: int, data: bytes) -> bytes:
    """One space packet octet by octet: packet ID, sequence control, data length - 1."""
    return w0.to_bytes(2, "big") + w1.to_bytes(2, "big") + (len(data) - 1).to_bytes(2, "big") \
        + data


# (type, secondary header flag, APID, sequence flags, count): every header field varied
HEADERS = [(1, 1, 0x7FE, 0b11, 0x3FFF), (0, 0, 0x000, 0b01, 0), (1, 0, 0x123, 0b00, 77),
           (0, 1, 0x400, 0b10, 0x2000)]


@pytest.mark.parametrize("sizes", [[1, 1, 1, 1], [10, 10, 10, 10], [1, 300, 2, 65]])
def test_bulk_headers_match_the_packets_built_by_hand(sizes):
    from fsw.protocol.spp import decode_bulk

    raw, starts = b"", []
    for (ptype, sh, apid, flags, count), size in zip(HEADERS, sizes, strict=True):
        starts.append(len(raw))
        raw += _raw_packet(ptype << 12 | sh << 11 | apid, flags << 14 | count,
                           bytes(i & 0xFF for i in range(size)))
    t = decode_bulk(raw)
    assert t.packet_type.tolist() == [h[0] for h in HEADERS]
    assert t.sec_hdr_flag.tolist() == [h[1] for h in HEADERS]
    assert t.apid.tolist() == [h[2] for h in HEADERS]
    assert t.seq_flags.tolist() == [h[3] for h in HEADERS]
    assert t.seq_count.tolist() == [h[4] for h in HEADERS]
    assert t.offset.tolist() == starts and t.length.tolist() == [6 + s for s in sizes]
    # a stream of equal packets is a table with a stride, mixed lengths are not
    assert t.stride == (6 + sizes[0] if len(set(sizes)) == 1 else 0)


def test_bulk_decoding_of_one_minimal_packet_and_of_bad_streams():
    from fsw.protocol.spp import decode_bulk

    one = _raw_packet(0x0801, 0xC000, b"\x5a")  # 7 octets: the smallest packet
    t = decode_bulk(one)
    assert (t.apid.tolist(), t.length.tolist(), t.stride) == ([1], [7], 7)
    assert len(decode_bulk(b"")) == 0
    for bad, reason, text in [
        (bytes([0x20]) + one[1:], Reason.BAD_VERSION, "packet version not 0"),
        (one + bytes([0x20]) + one[1:], Reason.BAD_VERSION, "packet version not 0"),
        (one + one[:5], Reason.TRUNCATED, "trailing 5 octets"),
        (one + one[:-1], Reason.TRUNCATED, "last packet runs past the buffer"),
    ]:
        with pytest.raises(PacketError) as info:
            decode_bulk(bad)
        assert info.value.reason == reason and str(info.value).endswith(text)


def test_bulk_decoding_refuses_other_versions_and_short_buffers_with_reasons():
    one = bytes.fromhex("2000c0000000" "00")  # version 1, every other field 0: 7 octets
    for stream in (one * 3, one + bytes.fromhex("0000c000000100" "00")):
        with pytest.raises(PacketError) as e:
            decode_bulk(stream)
        assert str(e.value) == "bad_version: packet version not 0"
    with pytest.raises(PacketError) as e:
        decode_bulk(bytes.fromhex("0000c0000001" "00"))  # says 8 octets, has 7
    assert str(e.value) == "truncated: last packet runs past the buffer"
    with pytest.raises(PacketError) as e:
        decode_bulk(bytes(6))
    assert str(e.value) == "truncated: buffer shorter than one packet"
    with pytest.raises(PacketError) as e:
        decode_bulk(bytes.fromhex("0000c0000000" "00" "0000c0000001" "0000" "00"))
    assert str(e.value) == "truncated: trailing 1 octets"


@given(packets, st.integers(1, 65536), st.binary(max_size=40))
# the highest first header word of version 0 (133.0-B-2 4.1.3: TC, secondary
# header, APID 0x7FF): 0x1FFF, the last value the version check lets through
@example(SpacePacket(0x7FF, TC, True, 3, 0x3FFF, b"\xff"), 1, b"")
@example(SpacePacket(0x7FF, TC, True, 3, 0x3FFF, b"\xff"), 65536, b"")  # the longest
def test_packets_of_any_length_encode_and_decode_from_any_buffer(p, size, junk):
    """Packets from the shortest data field (1 octet) to the longest (65,536)
    encode as the definition says and decode from bytes, bytearray and
    memoryview alike; junk and damaged packets are refused with their reason."""
    p.data = (p.data * size)[:size]
    raw = p.encode()
    assert raw == reference_encode(p.apid, p.packet_type, p.sec_hdr_flag, p.seq_flags,
                                   p.seq_count, p.data)
    for buffer in (raw, bytearray(raw), memoryview(raw)):
        assert _decodes_as_the_definition_says(SpacePacket.decode, buffer) == p
    for bad in (junk, raw[:-1], raw + b"x", b"\x20" + raw[1:], b"\x40" + raw[1:]):
        _decodes_as_the_definition_says(SpacePacket.decode, bad)


def test_a_decoded_packet_is_a_space_packet():
    import copy
    import pickle

    p = SpacePacket.decode(bytes.fromhex("0123c0050003deadbeef"))
    assert p.decode(p.encode()) == p  # decode is reached through a packet too
    assert isinstance(p, SpacePacket) and p == SpacePacket(0x123, TM, False, 3, 5,
                                                           bytes.fromhex("deadbeef"))
    assert repr(p).startswith("SpacePacket(apid=291, ")
    for twin in (copy.copy(p), pickle.loads(pickle.dumps(p))):
        assert type(twin) is SpacePacket and twin == p
    p.seq_count = 0x4000
    with pytest.raises(PacketError):
        p.encode()
