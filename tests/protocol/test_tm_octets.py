"""The downlink's way to a TM packet's octets (`encode_seconds`, `encode_tm`,
no objects made) gives the octets of the packet object's way
(`CucTime.from_seconds(...).encode()`, `PusTm(...).encode()`) and refuses
what it refuses, with the same typed error."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsw.protocol import PacketError, Reason
from fsw.protocol.cuc import TAI_1958, CucTime, encode_seconds
from fsw.protocol.pus import PusTm, encode_tm

SECONDS = st.floats(min_value=0.0, max_value=2.0**32 - 1, allow_nan=False)


def _outcome(make):
    try:
        return make()
    except PacketError as exc:
        return (exc.reason, str(exc))


def test_a_time_field_octet_by_octet():
    # CCSDS 301.0-B-4 3.2.2: P-field 0 010 11 10 (agency epoch, 4 coarse, 2 fine
    # octets) = 0x2E, then 1234 s and half a second (0x8000 / 2**16).
    assert encode_seconds(1234.5) == bytes.fromhex("2e000004d28000")
    assert encode_seconds(1.0, 1, 0, TAI_1958) == bytes.fromhex("1001")


@given(SECONDS, st.sampled_from([(4, 2), (4, 3), (2, 1), (1, 0)]))
def test_time_octets_are_those_of_the_time_object(seconds, octets):
    coarse, fine = octets
    assert _outcome(lambda: encode_seconds(seconds, coarse, fine)) == \
        _outcome(lambda: CucTime.from_seconds(seconds, coarse, fine).encode())


@pytest.mark.parametrize("seconds, octets, epoch", [
    (-1.0, (4, 2), 0b010), (math.nan, (4, 2), 0b010), (2.0**32, (4, 2), 0b010),
    (300.0, (1, 2), 0b010), (1.0, (5, 2), 0b010), (1.0, (4, 4), 0b010), (1.0, (4, 2), 0b011)])
def test_bad_times_are_refused_alike(seconds, octets, epoch):
    fast = _outcome(lambda: encode_seconds(seconds, *octets, epoch))
    assert isinstance(fast, tuple)
    assert fast == _outcome(lambda: CucTime.from_seconds(seconds, *octets, epoch).encode())


PACKETS = st.fixed_dictionaries({
    "apid": st.integers(-1, 0x7FF), "service": st.integers(-1, 256),
    "subtype": st.integers(-1, 256), "data": st.binary(max_size=64),
    "seq_count": st.integers(-1, 0x4000), "msg_counter": st.integers(-1, 0x10000),
    "dest_id": st.integers(-1, 0x10000), "seconds": SECONDS})


@given(PACKETS)
def test_packet_octets_are_those_of_the_packet_object(p):
    fast = _outcome(lambda: encode_tm(
        p["apid"], p["service"], p["subtype"], p["data"], seq_count=p["seq_count"],
        msg_counter=p["msg_counter"], dest_id=p["dest_id"],
        time_field=encode_seconds(p["seconds"])))
    slow = _outcome(lambda: PusTm(
        p["apid"], p["service"], p["subtype"], p["data"], seq_count=p["seq_count"],
        msg_counter=p["msg_counter"], dest_id=p["dest_id"],
        time=CucTime.from_seconds(p["seconds"])).encode())
    assert fast == slow
    if isinstance(fast, bytes):
        assert PusTm.decode(fast).source_data == p["data"]


def test_a_time_field_not_cuc_4_2_is_refused():
    for field in (encode_seconds(1.0, 4, 3), encode_seconds(1.0, 3, 2), b""):
        with pytest.raises(PacketError) as err:
            encode_tm(1, 3, 25, b"", seq_count=0, msg_counter=0, dest_id=0, time_field=field)
        assert err.value.reason == Reason.FIELD_RANGE
