"""check_sequence against a packet-by-packet reading of CCSDS 133.0-B-2 4.1.3.4.3.4:
each APID's count goes up by one per packet, modulo 2^14."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsw.protocol.errors import PacketError, Reason
from fsw.protocol.spp import TM, SpacePacket, check_sequence, decode_bulk


def reference(stream: list[tuple[int, int]]) -> tuple[list[int], list[int], list[int]]:
    """Gaps (index, lost) and backward steps, one packet at a time, per APID."""
    last: dict[int, int] = {}
    gaps, lost, back = [], [], []
    for i, (apid, count) in enumerate(stream):
        if apid in last:
            step = (count - last[apid]) % 16384
            if step == 0 or step >= 8192:
                back.append(i)
            elif step > 1:
                gaps.append(i)
                lost.append(step - 1)
        last[apid] = count
    return gaps, lost, back


streams = st.lists(st.tuples(st.sampled_from([0x10, 0x11, 0x7FE]), st.integers(0, 3)),
                   min_size=1, max_size=60)


@given(streams, st.integers(0, 16383), st.booleans())
def test_gaps_and_reordering_found_as_one_packet_at_a_time_would(steps, start, fixed):
    # counts advance by 0..3 per packet of an APID from a start near the wrap
    counts: dict[int, int] = {}
    stream = []
    for apid, step in steps:
        counts[apid] = (counts.get(apid, start) + step) % 16384
        stream.append((apid, counts[apid]))
    if fixed:  # one length: the vectorised path
        data = [b"\x00\x01"] * len(stream)
    else:
        data = [bytes(1 + i % 3) for i in range(len(stream))]
    buf = b"".join(SpacePacket(a, TM, False, 3, c, d).encode()
                   for (a, c), d in zip(stream, data, strict=True))
    table = decode_bulk(buf)
    got = check_sequence(table)
    gaps, lost, back = reference(stream)
    assert got.gaps.tolist() == gaps
    assert got.lost.tolist() == lost
    assert got.backwards.tolist() == back
    # the indices pick those packets out of the table; whole numbers, as documented
    assert table.seq_count[got.gaps].tolist() == [stream[i][1] for i in gaps]
    assert table.seq_count[got.backwards].tolist() == [stream[i][1] for i in back]
    assert got.gaps.dtype == got.lost.dtype == got.backwards.dtype == np.int64
    assert got.apids.tolist() == sorted({a for a, _ in stream})
    assert got.missing == sum(lost)
    assert got.ok == (not gaps and not back)


def test_a_run_across_the_wrap_is_whole():
    buf = b"".join(SpacePacket(5, TM, False, 3, c & 0x3FFF, b"x").encode()
                   for c in range(16380, 16390))
    assert check_sequence(decode_bulk(buf), apid=5).ok


def test_an_unexpected_apid_is_refused():
    buf = b"".join(SpacePacket(a, TM, False, 3, 0, b"x").encode() for a in (5, 6))
    with pytest.raises(PacketError) as e:
        check_sequence(decode_bulk(buf), apid=5)
    assert e.value.reason == Reason.FIELD_RANGE


def test_bulk_fields_come_in_machine_order_whatever_the_stride():
    fixed = b"".join(SpacePacket(1, TM, False, 3, i, i.to_bytes(4, "big")).encode()
                     for i in range(5))
    mixed = b"".join(SpacePacket(1, TM, False, 3, i, i.to_bytes(4, "big") + bytes(i)).encode()
                     for i in range(5))
    for buf in (fixed, mixed):
        f = decode_bulk(buf).field(6, ">u4")
        assert f.tolist() == list(range(5)) and f.dtype == np.dtype("u4")


def _table(stream: list[tuple[int, int]]):
    return decode_bulk(b"".join(SpacePacket(a, TM, False, 3, c, b"x").encode() for a, c in stream))


def test_a_step_of_exactly_half_the_count_reads_as_backwards():
    # 2^13 is the first step the module's rule (and the reference above) reads as going back
    report = check_sequence(_table([(5, 0), (5, 0x2000)]))
    assert report.backwards.tolist() == [1] and report.gaps.tolist() == [] and not report.ok
    report = check_sequence(_table([(5, 0), (5, 0x1FFF)]))
    assert report.gaps.tolist() == [1] and report.lost.tolist() == [0x1FFE]
    assert report.backwards.tolist() == []


def test_a_table_of_other_apids_names_them():
    with pytest.raises(PacketError) as err:
        check_sequence(_table([(3, 0), (5, 0)]), apid=5)
    assert str(err.value) == "field_range: APIDs [3, 5] where 5 expected"
    with pytest.raises(PacketError) as err:
        check_sequence(_table([(3, 0)]), apid=5)
    assert str(err.value) == "field_range: APIDs [3] where 5 expected"
    assert check_sequence(_table([(5, 0), (5, 1)]), apid=5).ok


@pytest.mark.parametrize("raw", [
    # TC, secondary header, APID 0x7FF: first header word 0x1FFF, the highest of
    # version 0 (133.0-B-2 4.1.3); three packets of one length, then of three
    # lengths, one over 256 octets (a length field whose high octet is not 0)
    bytes.fromhex("1fffc0000000" "00") * 3,
    bytes.fromhex("1fffc0000000" "00" "0001c001012b") + bytes(300)
    + bytes.fromhex("0001c0020000" "00")])
def test_any_buffer_type_decodes_alike_up_to_the_highest_version_0_header(raw):
    want = decode_bulk(raw)
    assert want.apid.tolist()[0] == 0x7FF and want.packet_type.tolist()[0] == 1
    assert want.sec_hdr_flag.tolist()[0] == 1 and want.offset.tolist()[:2] == [0, 7]
    for same in (bytearray(raw), memoryview(raw), np.frombuffer(raw, np.uint8)):
        got = decode_bulk(same)
        for column in ("offset", "length", "apid", "packet_type", "sec_hdr_flag",
                       "seq_flags", "seq_count"):
            assert getattr(got, column).tolist() == getattr(want, column).tolist(), column


def test_a_long_interleaved_stream_keeps_each_apids_order():
    """Two APIDs taking turns for 4,000 packets, each counting up by one
    (133.0-B-2 4.1.3.4.3.4): nothing is lost or out of order."""
    rng = np.random.default_rng(5)
    turns = rng.integers(0, 2, 4000)
    counts = {0x10: 0, 0x20: 0}
    raw = bytearray()
    for turn in turns:
        apid = (0x10, 0x20)[turn]
        raw += bytes((apid >> 8, apid & 0xFF, 0xC0 | counts[apid] >> 8, counts[apid] & 0xFF,
                      0, 0, 0))
        counts[apid] = (counts[apid] + 1) & 0x3FFF
    report = check_sequence(decode_bulk(bytes(raw)))
    assert report.ok and report.apids.tolist() == [0x10, 0x20]
