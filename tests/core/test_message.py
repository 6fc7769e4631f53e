"""Message ids and layouts: round trips, ranges, and malformed ids."""

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsw.core import Field, Layout, MalformedMessageIdError, MessageSizeError, MessageType
from fsw.core.message import apid_of, check_msg_id, cmd_msg_id, is_command, tm_msg_id


@given(st.integers(0, 0x7FE))
def test_msg_ids_carry_apid_and_type(apid):
    assert apid_of(tm_msg_id(apid)) == apid == apid_of(cmd_msg_id(apid))
    assert not is_command(tm_msg_id(apid))
    assert is_command(cmd_msg_id(apid))
    assert check_msg_id(tm_msg_id(apid)) == tm_msg_id(apid)


# 0x10800 has the secondary-header flag and a zero version field in its low
# 16 bits: only the width check refuses it (a CCSDS packet ID is 16 bits,
# CCSDS 133.0-B-2 4.1.3).
@pytest.mark.parametrize("bad", [-1, 0x10000, 0x10800, 0x2800, 0x0123, 0x0FFF, "0x0801", 1.5,
                                 True, None])
def test_malformed_msg_ids_are_named(bad):
    with pytest.raises(MalformedMessageIdError) as err:
        check_msg_id(bad)
    assert "message id" in str(err.value)


def test_idle_and_out_of_range_apids_rejected():
    with pytest.raises(MalformedMessageIdError):
        tm_msg_id(0x7FF)
    with pytest.raises(MalformedMessageIdError):
        cmd_msg_id(0x800)


LAYOUT = Layout([Field("count", "I"), Field("b_body_t", "3f", "T"), Field("flag", "?"),
                 Field("tag", "4s"), Field("temp_c", "h", "degC")])


@given(count=st.integers(0, 2**32 - 1),
       b=st.tuples(*[st.floats(width=32, allow_nan=False, allow_infinity=False)] * 3),
       flag=st.booleans(), tag=st.binary(min_size=4, max_size=4),
       temp=st.integers(-32768, 32767))
def test_layout_round_trip(count, b, flag, tag, temp):
    payload = LAYOUT.pack(count=count, b_body_t=b, flag=flag, tag=tag, temp_c=temp)
    assert len(payload) == LAYOUT.size == 4 + 12 + 1 + 4 + 2
    out = LAYOUT.unpack(payload)
    assert out == {"count": count, "b_body_t": b, "flag": flag, "tag": tag, "temp_c": temp}


@given(count=st.integers(0, 2**32 - 1),
       b=st.tuples(*[st.floats(width=32, allow_nan=False, allow_infinity=False)] * 3),
       flag=st.booleans(), tag=st.binary(min_size=4, max_size=4),
       temp=st.integers(-32768, 32767))
def test_a_mapping_packs_as_the_keywords_do_and_unpacks_in_declared_order(count, b, flag, tag,
                                                                         temp):
    # The octets as the layout declares them, written out here: big-endian,
    # no padding, the array's three floats in a row.
    expected = struct.pack(">I3f?4sh", count, *b, flag, tag, temp)
    values = {"temp_c": temp, "tag": tag, "flag": flag, "b_body_t": b, "count": count,
              "not_a_field": 7}  # any order; a key that names no field is left out
    assert LAYOUT.pack_mapping(values) == expected
    assert LAYOUT.pack(**values) == expected
    assert LAYOUT.unpack_tuple(expected) == (count, b, flag, tag, temp)
    flat = Layout([Field("count", "I"), Field("flag", "?"), Field("temp_c", "h")])
    raw = struct.pack(">I?h", count, flag, temp)
    assert flat.pack_mapping({"count": count, "flag": flag, "temp_c": temp}) == raw
    assert flat.unpack_tuple(raw) == (count, flag, temp)
    assert flat.unpack(raw) == {"count": count, "flag": flag, "temp_c": temp}


def test_a_mapping_without_a_field_is_refused_by_that_fields_name():
    with pytest.raises(KeyError, match="temp_c"):
        LAYOUT.pack_mapping({"count": 1, "b_body_t": (0.0, 0.0, 0.0), "flag": True,
                             "tag": b"abcd"})
    with pytest.raises(KeyError, match="flag"):
        Layout([Field("count", "I"), Field("flag", "?")]).pack_mapping({"count": 1})


def test_layout_is_big_endian_like_ccsds():
    assert Layout([Field("x", "H")]).pack(x=0x1234) == b"\x12\x34"


@given(st.binary(max_size=64))
def test_unpack_of_wrong_length_raises_size_error(data):
    if len(data) == LAYOUT.size:
        LAYOUT.unpack(data)
        LAYOUT.unpack_tuple(data)
    else:
        with pytest.raises(MessageSizeError):
            LAYOUT.unpack(data)
        with pytest.raises(MessageSizeError):
            LAYOUT.unpack_tuple(data)


def test_field_check_reports_ranges_and_types():
    f = Field("gain", "f", low=0.0, high=10.0)
    assert f.check(5.0) is None
    assert "above its maximum" in f.check(11.0)
    assert "below its minimum" in f.check(-1.0)
    assert "finite" in f.check(math.nan)
    assert "integer" in Field("n", "B").check(1.5)
    assert "does not fit" in Field("n", "B").check(300)
    assert "3 values" in Field("v", "3f").check((1.0, 2.0))


def test_message_type_rejects_malformed_id_and_duplicate_fields():
    with pytest.raises(MalformedMessageIdError):
        MessageType("Bad", 0x0123, [Field("x", "B")])
    with pytest.raises(ValueError, match="duplicate"):
        Layout([Field("x", "B"), Field("x", "H")])
    with pytest.raises(ValueError, match="unsupported format"):
        Field("x", "3z")


@pytest.mark.parametrize("msg_id,message", [
    # CCSDS 133.0-B-2 4.1.3: a 16-bit packet ID, version 000, the secondary
    # header flag set for every message on this bus, APID 0x7FF idle.
    (0x0000, "message id 0x0000 lacks the secondary-header flag"),
    (0xFFFF, "message id 0xffff has a non-zero version field"),
    (0x10000, "message id 0x10000 does not fit 16 bits"),
    (0x0FFF, "message id 0x0fff is the idle APID"),
])
def test_each_malformed_msg_id_is_named_for_its_fault(msg_id, message):
    with pytest.raises(MalformedMessageIdError) as err:
        check_msg_id(msg_id)
    assert str(err.value) == message


def test_refusals_of_sizes_and_apids_say_the_numbers():
    with pytest.raises(MessageSizeError) as err:
        Layout([Field("x", "I")]).unpack(b"abc")
    assert str(err.value) == "payload of 3 bytes, layout needs 4"
    with pytest.raises(MalformedMessageIdError) as err:
        tm_msg_id(0x7FF)
    assert str(err.value) == "APID 2047 is outside 0..0x7FE (0x7FF is idle)"
