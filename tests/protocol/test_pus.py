"""PUS-C packets (ECSS-E-ST-70-41C 7.4) and the service layouts, checked
against spacepackets in both directions."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spacepackets.ecss import PusTc as SpTc
from spacepackets.ecss import PusTm as SpTm

from fsw.protocol import PacketError, Reason
from fsw.protocol import services as sv
from fsw.protocol.cuc import CucTime
from fsw.protocol.pus import PusTc, PusTm
from fsw.protocol.services import (
    ActivityId,
    EventReport,
    HkReport,
    HkStructure,
    PerformFunction,
    ScheduledTc,
    VerificationReport,
    decode_connection_test,
    decode_delete,
    decode_ids,
    decode_insert,
    decode_tc_app_data,
    decode_values,
    encode_connection_test,
    encode_delete,
    encode_ids,
    encode_insert,
    encode_values,
)

tcs = st.builds(PusTc, apid=st.integers(0, 0x7FE), service=st.integers(0, 255),
                subtype=st.integers(0, 255), app_data=st.binary(max_size=200),
                seq_count=st.integers(0, 0x3FFF), source_id=st.integers(0, 0xFFFF),
                ack_flags=st.integers(0, 15))
times = st.builds(CucTime, coarse=st.integers(0, 2**32 - 1), fine=st.integers(0, 0xFFFF))
tms = st.builds(PusTm, apid=st.integers(0, 0x7FE), service=st.integers(0, 255),
                subtype=st.integers(0, 255), source_data=st.binary(max_size=200),
                seq_count=st.integers(0, 0x3FFF), msg_counter=st.integers(0, 0xFFFF),
                dest_id=st.integers(0, 0xFFFF), time=times, time_ref_status=st.integers(0, 15))


def test_golden_ping():
    tc = PusTc(1, 17, 1, seq_count=22)
    assert tc.encode().hex() == "1801c01600062f11010000ab62"
    assert tc.request_id == 0x1801C016
    assert PusTc.decode(bytes.fromhex("1801c01600062f11010000ab62")) == tc


@given(tcs)
def test_tc_round_trip_and_spacepackets_agrees(tc):
    raw = tc.encode()
    assert PusTc.decode(raw) == tc
    ref = SpTc.unpack(raw)
    assert (ref.apid, ref.service, ref.message_subtype, ref.seq_count, ref.source_id,
            ref.app_data) == (tc.apid, tc.service, tc.subtype, tc.seq_count, tc.source_id,
                              tc.app_data)
    assert ref.pack() == raw


@given(tcs)
def test_spacepackets_tc_decodes_here(tc):
    raw = SpTc(service=tc.service, message_subtype=tc.subtype, apid=tc.apid, seq_count=tc.seq_count,
               source_id=tc.source_id, app_data=tc.app_data, ack_flags=tc.ack_flags).pack()
    assert PusTc.decode(raw) == tc


@given(tms)
def test_tm_round_trip_and_spacepackets_agrees(tm):
    raw = tm.encode()
    assert PusTm.decode(raw) == tm
    ref = SpTm.unpack(raw, timestamp_len=7)
    sh = ref.pus_tm_sec_header
    assert (ref.apid, ref.service, ref.message_subtype, ref.seq_count, sh.message_counter,
            sh.dest_id, sh.spacecraft_time_ref, ref.source_data, ref.timestamp) == (
        tm.apid, tm.service, tm.subtype, tm.seq_count, tm.msg_counter, tm.dest_id,
        tm.time_ref_status, tm.source_data, tm.time.encode())


@given(tms)
def test_spacepackets_tm_decodes_here(tm):
    raw = SpTm(service=tm.service, message_subtype=tm.subtype, timestamp=tm.time.encode(),
               source_data=tm.source_data, apid=tm.apid, seq_count=tm.seq_count,
               message_counter=tm.msg_counter, destination_id=tm.dest_id).pack()
    back = PusTm.decode(raw)
    assert (back.apid, back.service, back.subtype, back.source_data, back.time) == (
        tm.apid, tm.service, tm.subtype, tm.source_data, tm.time)


def test_bad_tc_reasons():
    raw = bytearray(PusTc(1, 17, 1, seq_count=22).encode())
    bad_pec = bytes(raw[:-1]) + bytes([raw[-1] ^ 1])
    assert _reason(lambda: PusTc.decode(bad_pec)) == Reason.BAD_PEC
    assert _reason(lambda: PusTc.decode(raw[:-1])) == Reason.TRUNCATED
    longer = PusTc(1, 20, 1, b"\x00\x01\x00\x05").encode()
    assert _reason(lambda: PusTc.decode(longer[:-1])) == Reason.LENGTH_MISMATCH
    assert _reason(lambda: PusTc.decode(longer + b"\0")) == Reason.LENGTH_MISMATCH
    v1 = SpTc(service=17, message_subtype=1, apid=1).pack()
    v1 = bytearray(v1)
    v1[6] = 0x1F  # PUS version 1
    from fsw.protocol.crc import crc16
    v1[-2:] = crc16(bytes(v1[:-2])).to_bytes(2, "big")
    assert _reason(lambda: PusTc.decode(bytes(v1))) == Reason.BAD_VERSION
    tm = PusTm(1, 1, 1).encode()
    assert _reason(lambda: PusTc.decode(tm)) == Reason.FIELD_RANGE  # a TM is not a TC
    assert _reason(lambda: PusTc.decode(raw[:8])) == Reason.TRUNCATED


def _reason(fn) -> Reason:
    with pytest.raises(PacketError) as e:
        fn()
    return e.value.reason


def test_verification_request_id_matches_spacepackets():
    tc = PusTc(0x42, 8, 1, b"\x01", seq_count=77)
    assert tc.request_id == int.from_bytes(SpTc.unpack(tc.encode()).pack()[:4], "big")


@given(st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 10]), st.integers(0, 2**32 - 1),
       st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=20))
def test_verification_round_trip(sub, rid, step, code, data):
    r = VerificationReport(sub, rid,
                           step if sub in (5, 6) else None,
                           None if sub % 2 else code,
                           b"" if sub % 2 else data)
    assert VerificationReport.decode(sub, r.encode()) == r


def test_service_layouts_round_trip():
    assert HkStructure.decode(HkStructure(7, 1000, [1, 2, 3]).encode()) == \
        HkStructure(7, 1000, [1, 2, 3])
    assert HkReport.decode(HkReport(7, b"\x01\x02").encode()) == HkReport(7, b"\x01\x02")
    assert EventReport.decode(3, EventReport(3, 99, b"aux").encode()) == EventReport(3, 99, b"aux")
    assert PerformFunction.decode(PerformFunction(4, b"xy").encode()) == PerformFunction(4, b"xy")
    assert decode_ids(encode_ids([5, 6])) == [5, 6]
    vals = [(1, True), (2, 7), (3, -7), (4, 1.5), (5, b"abc")]
    assert decode_values(encode_values(vals)) == vals
    assert decode_connection_test(encode_connection_test(0x42)) == 0x42
    acts = [ScheduledTc(CucTime(100, 5), PusTc(0x42, 17, 1, seq_count=3)),
            ScheduledTc(CucTime(200), PusTc(0x43, 8, 1, b"\x01abc", seq_count=4))]
    assert decode_insert(encode_insert(acts)) == acts
    shortest = [ScheduledTc(CucTime(1), PusTc(1, 17, 1))]  # a 13-octet TC
    assert decode_insert(encode_insert(shortest)) == shortest
    ids = [ActivityId.of(a.tc) for a in acts]
    assert decode_delete(encode_delete(ids)) == ids


def test_service_decoders_reject_lies():
    for fn, data in [
        (decode_ids, b"\x00\x03\x00\x01"),  # N = 3, one ID
        (decode_ids, b"\xff\xff"),  # huge N, nothing behind it
        (decode_ids, b"\x00\x01\x00\x01\x00"),  # trailing octet
        (decode_values, b"\x00\x01\x00\x01\x09"),  # unknown type
        (decode_values, b"\x00\x01\x00\x01\x01\x02"),  # boolean 2
        (decode_values, b"\x00\x01\x00\x01\x07\x05ab"),  # octet string longer than data
        (decode_insert, b"\x00\x01" + bytes(6) + b"\x18\x42\xc0\x00\xff\xff"),  # TC length lies
        (decode_connection_test, b"\x07\xff"),
    ]:
        with pytest.raises(PacketError) as e:
            fn(data)
        assert e.value.reason in (Reason.BAD_APP_DATA, Reason.FIELD_RANGE)


def test_tc_app_data_dispatch():
    assert decode_tc_app_data(PusTc(1, 17, 1)) is None
    assert decode_tc_app_data(PusTc(1, 20, 1, encode_ids([3]))) == [3]
    assert _reason(lambda: decode_tc_app_data(PusTc(1, 99, 1))) == Reason.UNKNOWN_SERVICE
    assert _reason(lambda: decode_tc_app_data(PusTc(1, 17, 9))) == Reason.UNKNOWN_SUBTYPE
    assert _reason(lambda: decode_tc_app_data(PusTc(1, 17, 1, b"x"))) == Reason.BAD_APP_DATA


ids16 = st.lists(st.integers(0, 0xFFFF), max_size=20)
values = st.lists(st.tuples(st.integers(0, 0xFFFF), st.one_of(
    st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False),
    st.binary(max_size=255))), max_size=10)


@given(st.integers(0, 0xFFFF), st.integers(0, 2**32 - 1), ids16)
def test_hk_structure_round_trip(sid, interval, params):
    s = HkStructure(sid, interval, params)
    assert HkStructure.decode(s.encode()) == s


@given(ids16)
def test_id_lists_round_trip(ids):
    assert decode_ids(encode_ids(ids)) == ids


def test_an_id_list_holds_at_most_65535_ids():
    """A PUS-C list of IDs (ECSS-E-ST-70-41C, e.g. ST[03] and ST[05]) starts with
    its count N as an unsigned 16-bit integer: 65,535 IDs is the most it can say."""
    most = encode_ids(list(range(0xFFFF)))
    assert most[:2] == b"\xff\xff" and len(most) == 2 + 2 * 0xFFFF
    with pytest.raises(PacketError) as e:
        encode_ids(list(range(0x10000)))
    assert str(e.value) == "too_long: too many IDs"


@given(values)
def test_parameter_values_round_trip(vals):
    back = decode_values(encode_values(vals))
    assert back == vals
    assert [type(v) for _, v in back] == [type(v) for _, v in vals]


@given(st.integers(1, 4), st.integers(0, 0xFFFF), st.binary(max_size=60))
def test_event_report_round_trip(sev, eid, aux):
    r = EventReport(sev, eid, aux)
    assert EventReport.decode(sev, r.encode()) == r


@given(st.lists(st.tuples(times, tcs), max_size=5))
def test_schedule_insert_and_delete_round_trip(items):
    acts = [ScheduledTc(t, tc) for t, tc in items]
    assert decode_insert(encode_insert(acts)) == acts
    ids = [ActivityId.of(tc) for _, tc in items]
    assert decode_delete(encode_delete(ids)) == ids
    summary = [(t, ActivityId.of(tc)) for t, tc in items]
    assert sv.decode_summary(sv.encode_summary(summary)) == summary


def test_ccsdspy_reads_pus_tm_we_write(tmp_path):
    """A file of TM[3,25] packets built here, read by ccsdspy with the PUS-C TM
    secondary header declared field by field."""
    import ccsdspy

    tms = [PusTm(0x30, 3, 25, HkReport(7, struct.pack(">f", i / 4)).encode(), seq_count=i,
                 msg_counter=100 + i, dest_id=9, time=CucTime(1000 + i, 0x8000))
           for i in range(40)]
    f = tmp_path / "hk.bin"
    f.write_bytes(b"".join(tm.encode() for tm in tms))
    u = "uint"
    ref = ccsdspy.FixedLength([
        ccsdspy.PacketField(name="pus_version", data_type=u, bit_length=4),
        ccsdspy.PacketField(name="time_ref", data_type=u, bit_length=4),
        ccsdspy.PacketField(name="service", data_type=u, bit_length=8),
        ccsdspy.PacketField(name="subtype", data_type=u, bit_length=8),
        ccsdspy.PacketField(name="counter", data_type=u, bit_length=16),
        ccsdspy.PacketField(name="dest", data_type=u, bit_length=16),
        ccsdspy.PacketField(name="p_field", data_type=u, bit_length=8),
        ccsdspy.PacketField(name="coarse", data_type=u, bit_length=32),
        ccsdspy.PacketField(name="fine", data_type=u, bit_length=16),
        ccsdspy.PacketField(name="sid", data_type=u, bit_length=16),
        ccsdspy.PacketField(name="value", data_type="float", bit_length=32),
        ccsdspy.PacketField(name="pec", data_type=u, bit_length=16),
    ]).load(str(f), include_primary_header=True)
    assert set(ref["pus_version"]) == {2} and set(ref["service"]) == {3}
    assert set(ref["subtype"]) == {25} and set(ref["dest"]) == {9}
    assert ref["counter"].tolist() == [100 + i for i in range(40)]
    assert ref["coarse"].tolist() == [1000 + i for i in range(40)]
    assert set(ref["p_field"]) == {0x2E} and set(ref["fine"]) == {0x8000}
    assert ref["value"].tolist() == [i / 4 for i in range(40)]
    assert ref["pec"].tolist() == [int.from_bytes(tm.encode()[-2:], "big") for tm in tms]
    assert ref["CCSDS_APID"].tolist() == [0x30] * 40


def _tm_octets(vs: int, pfield: int, time: bytes, data: bytes = b"") -> bytes:
    """A PUS TM built octet by octet (ECSS-E-ST-70-41C 7.4.3.2): primary header with
    the secondary header flag, version | time status, service 3, subtype 25, message
    counter 1, destination 2, the P-field and T-field of the time, data, PEC."""
    from fsw.protocol.crc import crc16
    sec = bytes((vs, 3, 25, 0, 1, 0, 2, pfield)) + time
    body = sec + data
    hdr = bytes((0x08, 0x05, 0xC0, 0x07)) + (len(body) + 2 - 1).to_bytes(2, "big")
    raw = hdr + body
    return raw + crc16(raw).to_bytes(2, "big")


def test_pus_tm_octet_by_octet_and_its_refusals():
    # P-field 0x2E: agency epoch (010), 4 coarse octets (11), 2 fine octets (10)
    raw = _tm_octets(0x25, 0x2E, bytes.fromhex("000004d2" "8000"), b"\xaa\xbb")
    tm = PusTm.decode(raw)
    assert (tm.apid, tm.service, tm.subtype, tm.seq_count) == (5, 3, 25, 7)
    assert (tm.msg_counter, tm.dest_id, tm.time_ref_status) == (1, 2, 5)
    assert tm.time == CucTime(1234, 0x8000) and tm.source_data == b"\xaa\xbb"
    assert tm.encode() == raw
    with pytest.raises(PacketError) as e:
        PusTm.decode(_tm_octets(0x15, 0x2E, bytes(6)))  # PUS version 1
    assert str(e.value) == "bad_version: PUS version 1"
    with pytest.raises(PacketError) as e:
        PusTm.decode(_tm_octets(0x20, 0x2B, bytes(6)))  # 3 + 3 octets of time
    assert str(e.value) == "field_range: TM time is CUC 4+2"
    with pytest.raises(PacketError) as e:
        PusTm(1, 3, 25, time=CucTime(1, 0, 4, 1))
    assert str(e.value) == "field_range: TM time is CUC 4+2"
    with pytest.raises(PacketError) as e:
        PusTm(1, 3, 25, time=CucTime(1, 0, 3, 2))
    assert e.value.reason == Reason.FIELD_RANGE
    # the smallest PUS TM: headers, time and PEC; one octet less is refused
    assert len(PusTm(1, 3, 25).encode()) == 6 + 7 + 7 + 2
    with pytest.raises(PacketError) as e:
        PusTm.decode(_tm_octets(0x20, 0x2E, bytes(6))[:-3])
    assert e.value.reason in (Reason.TRUNCATED, Reason.LENGTH_MISMATCH)
    # a whole packet whose length field agrees, one octet short of the
    # secondary header (7 + 7 of time) and PEC (2): TM, APID 1, 15 octets of data
    short = bytes.fromhex("0801" "c007" "000e") + bytes((0x20,)) + bytes(14)
    with pytest.raises(PacketError) as e:
        PusTm.decode(short)
    assert str(e.value) == "truncated: 21 octets is too short for a PUS packet"


def test_a_timed_packet_splits_at_its_time_code():
    from fsw.protocol.spp import SpacePacket, split_timed

    with_p = SpacePacket(5, 0, True, 3, 0, bytes.fromhex("2e" "000004d2" "8000") + b"user")
    assert split_timed(with_p) == (CucTime(1234, 0x8000), b"user")
    without = SpacePacket(5, 0, True, 3, 0, bytes.fromhex("000004d2" "8000") + b"user")
    assert split_timed(without, coarse_octets=4) == (CucTime(1234, 0x8000), b"user")
    one_fine = SpacePacket(5, 0, True, 3, 0, bytes.fromhex("0102" "03") + b"u")
    assert split_timed(one_fine, coarse_octets=2, fine_octets=1) == (
        CucTime(0x0102, 3, 2, 1), b"u")
    for packet, words in (
            (SpacePacket(5, 0, False, 3, 0, b"\x2e" + bytes(6)),
             "field_range: packet has no secondary header"),
            (SpacePacket(5, 0, True, 3, 0, bytes.fromhex("2e000004")),
             "truncated: secondary header shorter than its time code"),
            (SpacePacket(5, 0, True, 3, 0, bytes(5)),
             "truncated: secondary header shorter than its time code")):
        with pytest.raises(PacketError) as e:
            split_timed(packet, **({"coarse_octets": 4} if packet.data[:1] == b"\0" else {}))
        assert str(e.value) == words


def test_pus_tc_of_another_version_names_it():
    from fsw.protocol.crc import crc16
    body = bytearray(bytes.fromhex("1801c01600062f11010000"))
    for version in (1, 3, 15):
        body[6] = (version << 4) | 0xF
        raw = bytes(body) + crc16(bytes(body)).to_bytes(2, "big")
        with pytest.raises(PacketError) as e:
            PusTc.decode(raw)
        assert str(e.value) == f"bad_version: PUS version {version}"


def test_a_packet_of_another_ccsds_version_is_named():
    from fsw.protocol.crc import crc16
    for version in (1, 7):
        body = bytearray(bytes.fromhex("1801c01600062f11010000"))
        body[0] |= version << 5
        raw = bytes(body) + crc16(bytes(body)).to_bytes(2, "big")
        with pytest.raises(PacketError) as e:
            PusTc.decode(raw)
        assert str(e.value) == f"bad_version: packet version {version}"


@pytest.mark.parametrize("change, words", [
    (lambda b: b + b"\0", "length_mismatch: length field 13, received 14"),
    (lambda b: b[:-1] + bytes((b[-1] ^ 1,)), "bad_pec: packet error control does not match"),
    (lambda b: bytes((b[0] & ~0x10,)) + b[1:], "field_range: wrong packet type (TC/TM)"),
    (lambda b: bytes((b[0] & ~0x08,)) + b[1:], "field_range: PUS packets have a secondary header"),
    (lambda b: bytes((b[0] | 0x07, 0xFF)) + b[2:],
     "field_range: idle packets (APID 0x7FF) carry no PUS data"),
    (lambda b: b[:2] + bytes((0x40 | b[2] & 0x3F,)) + b[3:],
     "field_range: PUS packets are unsegmented (flags 11)"),
])
def test_pus_packet_refusals_say_what_is_wrong(change, words):
    ping = bytes.fromhex("1801c01600062f11010000ab62")  # TC(17,1), APID 1, seq 22
    with pytest.raises(PacketError) as e:
        PusTc.decode(change(ping))
    assert str(e.value) == words


def test_pus_tm_fields_out_of_range_are_named():
    for kw, words in (({"service": 256}, "field_range: service or subtype"),
                      ({"subtype": -1}, "field_range: service or subtype"),
                      ({"source_data": bytes(65536 - 14 - 2 + 1)},
                       "too_long: source data too long")):
        with pytest.raises(PacketError) as e:
            PusTm(**{"apid": 1, "service": 3, "subtype": 25, **kw})
        assert str(e.value) == words
    # the largest source data fills the 65,536-octet data field with both headers and PEC
    assert len(PusTm(1, 3, 25, bytes(65536 - 14 - 2)).encode()) == 6 + 65536
