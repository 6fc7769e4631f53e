"""The bench link codec: known vectors, round trips, and every malformed input
ending in one `FrameError` while the stream decoder keeps its place."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal import DataError
from hal.tunnel import messages as m
from hal.tunnel.protocol import (
    MAX_ENCODED,
    MAX_PAYLOAD,
    VERSION,
    FrameDecoder,
    FrameError,
    MsgType,
    crc32c,
    decode_frame,
    encode_frame,
)


def crc32c_bitwise(data: bytes) -> int:
    """CRC-32C straight from its definition (reflected polynomial 0x82F63B78,
    init and final XOR 0xFFFFFFFF; RFC 3720 sec. 12.1): an oracle independent
    of the table-driven crcmod."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def cobs_reference(data: bytes) -> bytes:
    """COBS encoding as Cheshire and Baker (1999) define it, for short inputs."""
    out, block = bytearray(), bytearray()
    for byte in data:
        if byte == 0:
            out += bytes([len(block) + 1]) + block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out += b"\xff" + block
                block.clear()
    return bytes(out + bytes([len(block) + 1]) + block)


def test_crc32c_check_value_from_rfc3720() -> None:
    # RFC 3720 B.4 and the CRC catalogue: CRC-32C("123456789") = 0xE3069283.
    assert crc32c(b"123456789") == 0xE3069283
    # RFC 3720 B.4: 32 bytes of zeros -> aa 36 91 8a on the wire (little-endian).
    assert crc32c(bytes(32)) == 0x8A9136AA


@given(st.binary(max_size=300))
def test_crc32c_matches_the_bitwise_definition(data: bytes) -> None:
    assert crc32c(data) == crc32c_bitwise(data)


def test_frame_layout_is_the_documented_one() -> None:
    wire = encode_frame(MsgType.I2C, 0x1234, b"\x00\xab", ack=0x0102)
    raw = struct.pack(">BBHH", VERSION, 0x10, 0x1234, 0x0102) + b"\x00\xab"
    raw += struct.pack(">I", crc32c_bitwise(raw))
    assert wire == cobs_reference(raw) + b"\x00"
    assert b"\x00" not in wire[:-1]


@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF),
       st.binary(max_size=MAX_PAYLOAD))
def test_round_trip(type_: int, seq: int, ack: int, payload: bytes) -> None:
    wire = encode_frame(type_, seq, payload, ack=ack)
    assert wire[-1] == 0 and b"\x00" not in wire[:-1]
    assert len(wire) - 1 <= MAX_ENCODED
    frame = decode_frame(wire[:-1])
    assert (frame.type, frame.seq, frame.ack, frame.payload) == (type_, seq, ack, payload)


@given(st.binary(max_size=200), st.integers(0, 10_000))
def test_any_single_bit_error_is_detected(payload: bytes, where: int) -> None:
    wire = bytearray(encode_frame(MsgType.SPI, 7, payload)[:-1])
    bit = where % (len(wire) * 8)
    wire[bit >> 3] ^= 1 << (bit & 7)
    with pytest.raises(FrameError):
        decode_frame(bytes(wire))


@given(st.binary(max_size=100), st.data())
def test_every_truncation_is_detected(payload: bytes, data: st.DataObject) -> None:
    wire = encode_frame(MsgType.UART_READ, 3, payload)[:-1]
    cut = data.draw(st.integers(0, len(wire) - 1))
    with pytest.raises(FrameError):
        decode_frame(wire[:cut] if cut else b"\x01")


def test_other_versions_decode_for_the_peer_to_refuse() -> None:
    frame = decode_frame(encode_frame(MsgType.HELLO, 1, b"{}", version=2)[:-1])
    assert frame.version == 2


frames_st = st.lists(st.tuples(st.integers(0, 0x7F), st.integers(0, 0xFFFF),
                               st.binary(max_size=64)), max_size=8)


@given(frames_st, st.lists(st.binary(min_size=1, max_size=40), max_size=8), st.data())
def test_stream_resynchronises_after_garbage(frames, garbage, data) -> None:
    """Garbage between frames costs at most itself: every frame after a
    delimiter comes through, in order, however the stream is chunked."""
    stream = bytearray()
    for i, (type_, seq, payload) in enumerate(frames):
        if i < len(garbage):
            stream += garbage[i] + b"\x00"
        stream += encode_frame(type_, seq, payload)
    decoder = FrameDecoder()
    got = []
    i = 0
    while i < len(stream):
        n = data.draw(st.integers(1, 64))
        got += decoder.feed(bytes(stream[i:i + n]))
        i += n
    assert [(f.type, f.seq, f.payload) for f in got] == [tuple(f) for f in frames]
    # each zero-delimited piece of garbage is at most one bad frame
    assert decoder.error_count <= sum(g.count(0) + 1 for g in garbage[:len(frames)])


@settings(max_examples=300)
@given(st.binary(max_size=3 * MAX_ENCODED))
def test_fuzz_decoders_raise_only_frame_error(blob: bytes) -> None:
    try:
        decode_frame(blob)
    except FrameError as exc:
        assert isinstance(exc, DataError) and exc.reason
    decoder = FrameDecoder()
    decoder.feed(blob)
    decoder.feed(blob)
    assert len(decoder._buf) <= MAX_ENCODED  # memory stays bounded
    for unpack in (m.unpack_reply, m.unpack_can_frames, m.unpack_telemetry, m.unpack_tick,
                   m.unpack_stamp, m.unpack_time_reply, m.unpack_json):
        try:
            unpack(blob)
        except FrameError:
            pass
    for shape in ("i2c", "i2c_probe", "spi", "uart_write", "uart_read", "can_send",
                  "can_recv"):
        try:
            m.unpack_bus_request(shape, blob)
        except FrameError:
            pass
    for decode in (m.unpack_batch, lambda b: m.unpack_batch_reply(b, 3),
                   *(lambda b, t=t: m.request_target(t, b) for t in range(0x10, 0x17))):
        try:
            decode(blob)
        except FrameError:
            pass


def test_an_endless_run_without_delimiter_is_cut_and_the_next_frame_survives() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x01" * (MAX_ENCODED + 10)) == []
    assert decoder.errors == {"oversize": 1}
    good = encode_frame(MsgType.TICK, 9, b"x")
    assert decoder.feed(b"\x02\x03\x00" + good) == [decode_frame(good[:-1])]


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
               max_size=20), st.integers(0, 127), st.integers(0, 0xFFFF), st.binary(max_size=64))
def test_bus_request_round_trip(bus: str, address: int, n_in: int, out: bytes) -> None:
    name, fields, data = m.unpack_bus_request(
        "i2c", m.pack_bus_request("i2c", bus, address, n_in, data=out))
    assert (name, fields, data) == (bus, (address, n_in), out)


@given(st.lists(st.tuples(st.integers(0, 0x7FF), st.binary(max_size=8)), max_size=10))
def test_can_frames_round_trip(frames) -> None:
    from hal.busio import CanMessage

    msgs = [CanMessage(i, d) for i, d in frames]
    assert m.unpack_can_frames(m.pack_can_frames(msgs)) == msgs


def test_tick_must_go_forward() -> None:
    with pytest.raises(FrameError):
        m.unpack_tick(m.pack_tick(2.0, 1.0))
    with pytest.raises(FrameError):
        m.unpack_tick(m.pack_tick(float("nan"), 1.0))
    assert m.unpack_tick(m.pack_tick(1.0, 1.1, m.pack_telemetry([(0x801, b"ab")]))) == (
        1.0, 1.1, [(0x801, b"ab")])


# -- BATCH (protocol version 2) ---------------------------------------------------

batch_items = st.lists(st.tuples(st.sampled_from([*range(0x10, 0x17), 0x20, 0x21]),
                                 st.binary(max_size=40)), min_size=1, max_size=12)


def test_batch_layout_is_the_documented_one() -> None:
    # docs/hil.md: per item type u8, length u16 big-endian, payload; replies length u16
    assert m.pack_batch([(0x10, b"ab"), (0x20, b"")]) == b"\x10\x00\x02ab\x20\x00\x00"
    assert m.pack_batch_reply([b"\x00", b"\x01no"]) == b"\x00\x01\x00\x00\x03\x01no"


@given(batch_items)
def test_batch_round_trip(items) -> None:
    assert m.unpack_batch(m.pack_batch(items)) == items
    replies = [p for _, p in items]
    assert m.unpack_batch_reply(m.pack_batch_reply(replies), len(replies)) == replies


@given(batch_items, st.data())
def test_every_truncated_batch_is_refused(items, data) -> None:
    raw = m.pack_batch(items)
    cut = data.draw(st.integers(0, len(raw) - 1))
    try:
        got = m.unpack_batch(raw[:cut])
    except FrameError as exc:
        assert exc.reason
    else:  # a cut that falls between two items leaves a shorter, whole batch
        assert got == items[:len(got)] and len(got) < len(items)
    replies = [p for _, p in items]
    with pytest.raises(FrameError):
        m.unpack_batch_reply(m.pack_batch_reply(replies)[:-1] if replies[-1] else
                             m.pack_batch_reply(replies[:-1]), len(replies))


@pytest.mark.parametrize("type_", [MsgType.HELLO, MsgType.CONTROL, MsgType.DAMAGED,
                                   MsgType.BATCH, 0x7F, 0x90])
def test_a_batch_carries_only_transactions_and_time(type_) -> None:
    with pytest.raises(FrameError, match="cannot ride in a batch"):
        m.unpack_batch(m.pack_batch([(0x10, b"x"), (type_, b"")]))
    with pytest.raises(FrameError, match="empty batch"):
        m.unpack_batch(b"")


def test_request_target_names_the_part() -> None:
    assert m.request_target(0x10, m.pack_bus_request("i2c", "i2c0", 0x48, 2, data=b"\x01")
                            ) == ("i2c0", 0x48)
    assert m.request_target(0x12, m.pack_bus_request("spi", "spi0", 1, data=b"ab")
                            ) == ("spi0", 1)
    assert m.request_target(0x15, m.pack_bus_request("can_send", "can0", 0x201, data=b"")
                            ) == ("can0", 0x201)
    assert m.request_target(0x14, m.pack_bus_request("uart_read", "gps", 64)) == ("gps", None)
    assert m.request_target(0x20, b"") is None
