"""PUS service application data octet by octet (ECSS-E-ST-70-41C, with the
field sizes docs/space-link.md and the services module fix where the
standard leaves them to the mission): every expected value is written out
here in hex, so a layout that is wrong on both the encoding and the decoding
side still fails (a round trip alone cannot see it)."""

from __future__ import annotations

import pytest

from fsw.protocol import PacketError, Reason
from fsw.protocol.cuc import CucTime
from fsw.protocol.pus import PusTc
from fsw.protocol.services import (
    SCOPE_APID,
    SCOPE_SCHEDULE,
    SCOPE_STRUCTURES,
    TC_SUBTYPES,
    TC_TABLE,
    ActivityId,
    EventReport,
    HkReport,
    HkStructure,
    PerformFunction,
    ScheduledTc,
    TcType,
    VerificationReport,
    _index,
    check_tc_type,
    decode_connection_test,
    decode_delete,
    decode_ids,
    decode_insert,
    decode_summary,
    decode_tc_app_data,
    decode_values,
    encode_connection_test,
    encode_delete,
    encode_ids,
    encode_insert,
    encode_summary,
    encode_values,
    tc_type,
)

H = bytes.fromhex
PING = H("1801c01600062f11010000ab62")  # TC(17,1), APID 1, seq 22 (reference vector)


def refused(reason: Reason, text: str, call, *args):
    with pytest.raises(PacketError) as err:
        call(*args)
    assert err.value.reason == reason
    assert str(err.value) == f"{reason.name.lower()}: {text}"


# --- ST1 ----------------------------------------------------------------------

@pytest.mark.parametrize("report, octets", [
    (VerificationReport(1, 0x1801C016), "1801c016"),
    (VerificationReport(7, 0x1801C016), "1801c016"),
    (VerificationReport(3, 0xFFFFFFFF), "ffffffff"),
    (VerificationReport(2, 0x1801C016, code=0x0102, data=H("aabb")), "1801c0160102aabb"),
    (VerificationReport(8, 1, code=89), "000000010059"),
    (VerificationReport(4, 1), "000000010000"),
    (VerificationReport(5, 2, step=9), "0000000209"),
    (VerificationReport(5, 2), "0000000200"),
    (VerificationReport(6, 2, step=9, code=3, data=b"x"), "00000002090003" + b"x".hex()),
    (VerificationReport(10, 2, code=84), "000000020054"),
])
def test_verification_reports_octet_by_octet(report, octets):
    assert report.encode().hex() == octets
    back = VerificationReport.decode(report.subtype, H(octets))
    assert back.request_id == report.request_id and back.subtype == report.subtype
    if report.subtype in (5, 6):
        assert back.step == (report.step or 0)
    else:
        assert back.step is None
    if report.subtype % 2:
        assert report.success and back.success and back.code is None and back.data == b""
    else:
        assert not report.success and not back.success
        assert back.code == (report.code or 0) and back.data == report.data


def test_verification_subtypes_outside_service_1_are_refused():
    for sub in (0, 9, 11):
        refused(Reason.UNKNOWN_SUBTYPE, f"TM[1,{sub}]", VerificationReport(sub, 1).encode)
        refused(Reason.UNKNOWN_SUBTYPE, f"TM[1,{sub}]", VerificationReport.decode, sub,
                bytes(6))
    refused(Reason.BAD_APP_DATA, "1 unexpected trailing octets",
            VerificationReport.decode, 1, bytes(5))
    refused(Reason.BAD_APP_DATA, "application data too short",
            VerificationReport.decode, 2, bytes(5))
    refused(Reason.BAD_APP_DATA, "application data too short",
            VerificationReport.decode, 5, bytes(4))


# --- ST3, ST5, ST8 ------------------------------------------------------------

def test_housekeeping_structure_octet_by_octet():
    s = HkStructure(0x0102, 1000, [0x0A0B, 0x0C0D])
    octets = "0102" "000003e8" "0002" "0a0b" "0c0d"
    assert s.encode().hex() == octets and HkStructure.decode(H(octets)) == s
    assert HkStructure(0xFFFF, 0xFFFFFFFF).encode().hex() == "ffff" "ffffffff" "0000"
    for bad in (HkStructure(0x10000, 1), HkStructure(-1, 1), HkStructure(1, 1 << 32),
                HkStructure(1, -1)):
        refused(Reason.FIELD_RANGE, "SID or interval", bad.encode)
    refused(Reason.FIELD_RANGE, "ID 65536", HkStructure(1, 1, [0x10000]).encode)
    refused(Reason.BAD_APP_DATA, "N = 2 does not fit the data", HkStructure.decode,
            H("0102000003e800020a0b"))
    refused(Reason.BAD_APP_DATA, "1 unexpected trailing octets", HkStructure.decode,
            H(octets + "00"))


def test_housekeeping_report_event_report_and_function_octets():
    assert HkReport(0x0102, H("aabbcc")).encode().hex() == "0102aabbcc"
    assert HkReport.decode(H("0102aabbcc")) == HkReport(0x0102, H("aabbcc"))
    for sev in (1, 2, 3, 4):
        assert EventReport(sev, 0x1234, H("01")).encode().hex() == "123401"
        assert EventReport.decode(sev, H("123401")) == EventReport(sev, 0x1234, H("01"))
    for sev in (0, 5, 6):
        refused(Reason.UNKNOWN_SUBTYPE, f"TM[5,{sev}]", EventReport(sev, 1).encode)
        refused(Reason.UNKNOWN_SUBTYPE, f"TM[5,{sev}]", EventReport.decode, sev, H("0001"))
    assert PerformFunction(11, H("02")).encode().hex() == "0b02"
    assert PerformFunction(255).encode().hex() == "ff"
    assert PerformFunction(0).encode().hex() == "00"
    assert PerformFunction.decode(H("0b0203")) == PerformFunction(11, H("0203"))
    for fid in (256, -1):
        refused(Reason.FIELD_RANGE, "function ID", PerformFunction(fid).encode)
    refused(Reason.BAD_APP_DATA, "application data too short", PerformFunction.decode, b"")


def test_id_lists_octet_by_octet():
    assert encode_ids([1, 0xFFFF, 0]).hex() == "0003" "0001" "ffff" "0000"
    assert encode_ids([]).hex() == "0000"
    assert decode_ids(H("00020001ffff")) == [1, 0xFFFF]
    refused(Reason.FIELD_RANGE, "ID -1", encode_ids, [-1])
    refused(Reason.TOO_LONG, "too many IDs", encode_ids, [0] * 0x10000)
    refused(Reason.BAD_APP_DATA, "N = 3 does not fit the data", decode_ids, H("000300010002"))
    refused(Reason.BAD_APP_DATA, "2 unexpected trailing octets", decode_ids, H("000000ff"))
    refused(Reason.BAD_APP_DATA, "application data too short", decode_ids, H("00"))


# --- ST11 ---------------------------------------------------------------------

def test_schedule_insert_octet_by_octet():
    # N = 2, each: release time CUC 4+2 without P-field, then the whole TC packet
    t1, t2 = CucTime(0x01020304, 0x8000), CucTime(7, 0)
    tc2 = PusTc(0x100, 8, 1, H("0b"), seq_count=3, source_id=9)
    data = encode_insert([ScheduledTc(t1, PusTc.decode(PING)), ScheduledTc(t2, tc2)])
    assert data[:2].hex() == "0002"
    assert data[2:8].hex() == "010203048000" and data[8:21] == PING
    assert data[21:27].hex() == "000000070000" and data[27:] == tc2.encode()
    back = decode_insert(data)
    assert [(a.release, a.tc) for a in back] == [(t1, PusTc.decode(PING)), (t2, tc2)]
    assert encode_insert([]).hex() == "0000" and decode_insert(H("0000")) == []
    refused(Reason.BAD_TIME, "release time is CUC 4+2", encode_insert,
            [ScheduledTc(CucTime(1, 0, 4, 1), tc2)])
    refused(Reason.BAD_TIME, "release time is CUC 4+2", encode_insert,
            [ScheduledTc(CucTime(1, 0, 3, 2), tc2)])
    one = H("0001") + t1.encode(False) + PING
    assert len(decode_insert(one)) == 1
    refused(Reason.BAD_APP_DATA, "N = 2 does not fit the data", decode_insert,
            H("0002") + one[2:])
    refused(Reason.BAD_APP_DATA, "1 unexpected trailing octets", decode_insert, one + b"\0")
    two = H("0001") + t2.encode(False) + tc2.encode()  # 20 octets after N: the count fits
    refused(Reason.BAD_APP_DATA, "application data too short", decode_insert, two[:-1])


def test_schedule_delete_and_summary_octet_by_octet():
    ids = [ActivityId(1, 0x100, 0x3FFF), ActivityId(0xFFFF, 2, 3)]
    octets = "0002" "0001" "0100" "3fff" "ffff" "0002" "0003"
    assert encode_delete(ids).hex() == octets and decode_delete(H(octets)) == ids
    refused(Reason.BAD_APP_DATA, "2 unexpected trailing octets", decode_delete,
            H(octets + "0000"))
    entries = [(CucTime(0x01020304, 5), ids[0]), (CucTime(9, 0xFFFF), ids[1])]
    summary = ("0002" "010203040005" "0001" "0100" "3fff" "00000009ffff" "ffff" "0002" "0003")
    assert encode_summary(entries).hex() == summary
    assert decode_summary(H(summary)) == entries
    refused(Reason.BAD_APP_DATA, "N = 3 does not fit the data", decode_summary,
            H("0003") + H(summary)[2:])
    refused(Reason.BAD_APP_DATA, "1 unexpected trailing octets", decode_summary,
            H(summary + "00"))
    refused(Reason.BAD_TIME, "release time is CUC 4+2", encode_summary,
            [(CucTime(1, 0, 4, 0), ids[0])])
    refused(Reason.BAD_TIME, "release time is CUC 4+2", encode_summary,
            [(CucTime(1, 0, 2, 2), ids[0])])
    # an activity is named by the request ID of its TC (ECSS-E-ST-70-41C 6.11)
    assert ActivityId.of(PusTc(0x123, 17, 1, seq_count=5, source_id=7)) == ActivityId(7, 0x123, 5)
    assert sorted([ActivityId(2, 0, 0), ActivityId(1, 9, 9)])[0] == ActivityId(1, 9, 9)


# --- ST20, ST17 ---------------------------------------------------------------

@pytest.mark.parametrize("value, octets", [
    (True, "0101"), (False, "0100"),
    (0, "030000000000000000"), (5, "030000000000000005"),
    ((1 << 64) - 1, "03ffffffffffffffff"),
    (-1, "04ffffffffffffffff"), (-(1 << 63), "048000000000000000"),
    (1.5, "053ff8000000000000"), (-2.0, "05c000000000000000"),
    (b"ab", "07026162"), (b"", "0700"), (bytearray(b"\x01"), "070101"),
    (b"\xee" * 255, "07ff" + "ee" * 255),
])
def test_parameter_values_octet_by_octet(value, octets):
    data = encode_values([(0x0102, value)])
    assert data.hex() == "0001" "0102" + octets
    assert decode_values(data) == [(0x0102, value)]


def test_parameter_values_that_cannot_be_carried_are_refused():
    refused(Reason.FIELD_RANGE, "integer parameter out of 64-bit range", encode_values,
            [(1, 1 << 64)])
    refused(Reason.FIELD_RANGE, "integer parameter out of 64-bit range", encode_values,
            [(1, -(1 << 63) - 1)])
    refused(Reason.TOO_LONG, "octet-string parameter over 255 octets", encode_values,
            [(1, bytes(256))])
    refused(Reason.FIELD_RANGE, "unsupported parameter type str", encode_values, [(1, "x")])
    refused(Reason.FIELD_RANGE, "parameter ID 65536", encode_values, [(0x10000, 1)])
    refused(Reason.FIELD_RANGE, "parameter ID -1", encode_values, [(-1, 1)])
    assert encode_values([(0xFFFF, True), (0, False)]).hex() == "0002ffff01010000" "0100"
    refused(Reason.BAD_APP_DATA, "boolean not 0 or 1", decode_values, H("000100010102"))
    refused(Reason.BAD_APP_DATA, "unknown parameter type 2", decode_values, H("000100010200"))
    refused(Reason.BAD_APP_DATA, "unknown parameter type 6", decode_values, H("000100010600"))
    refused(Reason.BAD_APP_DATA, "application data too short", decode_values,
            H("00010001030000000000"))
    refused(Reason.BAD_APP_DATA, "N = 2 does not fit the data", decode_values,
            H("000200010101"))
    refused(Reason.BAD_APP_DATA, "1 unexpected trailing octets", decode_values,
            H("00010001010100"))
    refused(Reason.BAD_APP_DATA, "application data too short", decode_values,
            H("0001000107036162"))


def test_connection_test_names_an_apid():
    assert encode_connection_test(0x7FE).hex() == "07fe"
    assert encode_connection_test(0).hex() == "0000"
    assert decode_connection_test(H("07fe")) == 0x7FE
    refused(Reason.FIELD_RANGE, "APID 2047", encode_connection_test, 0x7FF)
    refused(Reason.FIELD_RANGE, "APID -1", encode_connection_test, -1)
    refused(Reason.FIELD_RANGE, "APID 2047", decode_connection_test, H("07ff"))
    refused(Reason.BAD_APP_DATA, "1 unexpected trailing octets", decode_connection_test,
            H("000100"))


# --- the declared TC types ----------------------------------------------------

def test_declared_tc_types_are_the_standards_numbers():
    # (service, subtype) -> name, per ECSS-E-ST-70-41C (reference table)
    expected = {(3, 1): "HK_CREATE", (3, 3): "HK_DELETE", (3, 5): "HK_ENABLE",
                (3, 6): "HK_DISABLE", (3, 27): "HK_ONE_SHOT", (5, 5): "EVENTS_ENABLE",
                (5, 6): "EVENTS_DISABLE", (8, 1): "PERFORM_FUNCTION",
                (11, 1): "SCHEDULE_ENABLE", (11, 2): "SCHEDULE_DISABLE",
                (11, 3): "SCHEDULE_RESET", (11, 4): "SCHEDULE_INSERT",
                (11, 5): "SCHEDULE_DELETE", (11, 17): "SCHEDULE_SUMMARY",
                (17, 1): "ARE_YOU_ALIVE", (17, 3): "CONNECTION_TEST",
                (20, 1): "REPORT_PARAMETERS", (20, 3): "SET_PARAMETERS"}
    assert {k: t.name for k, t in TC_TABLE.items()} == expected
    assert TC_SUBTYPES == {3: {1, 3, 5, 6, 27}, 5: {5, 6}, 8: {1}, 11: {1, 2, 3, 4, 5, 17},
                           17: {1, 3}, 20: {1, 3}}
    scopes = {k: t.scope for k, t in TC_TABLE.items()}
    assert {k for k, s in scopes.items() if s == SCOPE_STRUCTURES} == {
        (3, 1), (3, 3), (3, 5), (3, 6), (3, 27)}
    assert {k for k, s in scopes.items() if s == SCOPE_SCHEDULE} == {
        (11, 1), (11, 2), (11, 3), (11, 4), (11, 5), (11, 17)}
    assert scopes[(8, 1)] == scopes[(20, 3)] == scopes[(17, 1)] == SCOPE_APID


def test_unknown_tcs_are_refused_by_service_then_subtype():
    refused(Reason.UNKNOWN_SERVICE, "service 2", tc_type, 2, 1)
    refused(Reason.UNKNOWN_SUBTYPE, "TC[3,2]", tc_type, 3, 2)
    refused(Reason.UNKNOWN_SUBTYPE, "TC[17,2]", check_tc_type, 17, 2)
    assert check_tc_type(17, 1) is None
    assert tc_type(8, 1).name == "PERFORM_FUNCTION"


def test_application_data_is_decoded_by_type():
    assert decode_tc_app_data(PusTc(1, 8, 1, H("0b02"))) == PerformFunction(11, H("02"))
    assert decode_tc_app_data(PusTc(1, 3, 5, H("00010007"))) == [7]
    assert decode_tc_app_data(PusTc(1, 17, 3, H("0100"))) == 0x100
    assert decode_tc_app_data(PusTc(1, 17, 1)) is None
    for no_data in ((11, 1), (11, 2), (11, 3), (11, 17), (17, 1)):
        refused(Reason.BAD_APP_DATA, "this TC takes no application data", decode_tc_app_data,
                PusTc(1, *no_data, b"\0"))
    refused(Reason.UNKNOWN_SERVICE, "service 99", decode_tc_app_data, PusTc(1, 99, 1))


def test_a_tc_type_declared_twice_is_refused():
    a = TcType(1, 1, "A", decode_ids)
    with pytest.raises(ValueError, match=r"^TC\[1,1\] B is declared twice$"):
        _index((a, TcType(1, 1, "B", decode_ids)))
    with pytest.raises(ValueError, match=r"^TC\[1,2\] A is declared twice$"):
        _index((a, TcType(1, 2, "A", decode_ids)))
    assert set(_index((a, TcType(1, 2, "B", decode_ids)))) == {(1, 1), (1, 2)}
