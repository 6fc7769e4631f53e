"""The byte-stream link's framing against the CCSDS values, written out here
rather than read from the module, and resynchronisation after noise that
looks like a start sequence."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.apps.comms.link import TcStreamDecoder, encode_tc_stream
from fsw.protocol.tc import TcFrame

# CCSDS 231.0-B-4 5.2.2: the CLTU start sequence is 1110 1011 1001 0000.
CLTU_START_SEQUENCE = bytes([0b11101011, 0b10010000])
SCID = 0x2AB


def tc_frame(data: bytes, vcid: int = 0, seq: int = 0) -> bytes:
    return TcFrame(SCID, vcid, seq, data, map_id=0).encode()


def decode_all(stream: bytes, chunk: int = 7) -> list[bytes]:
    dec = TcStreamDecoder()
    out = []
    for i in range(0, len(stream), chunk):
        out += dec.feed(stream[i:i + chunk])
    return out


def test_uplink_frames_follow_the_ccsds_start_sequence():
    frame = tc_frame(b"\x01\x02\x03")
    assert encode_tc_stream(frame) == CLTU_START_SEQUENCE + frame
    assert decode_all(b"\x00\x11" + CLTU_START_SEQUENCE + frame) == [frame]
    # one bit off in the start sequence and the frame is not taken
    assert decode_all(b"\xeb\x91" + frame) == []
    assert decode_all(b"\xea\x90" + frame) == []


def test_false_start_sequence_then_a_real_frame():
    frame = tc_frame(b"payload bytes")
    # noise reading 0xEB90 immediately before the real start sequence
    assert decode_all(CLTU_START_SEQUENCE + CLTU_START_SEQUENCE + frame) == [frame]
    # noise reading 0xEB90 then a few octets: its "length field" takes in the
    # real frame, the FECF check fails, and the hunt resumes and finds it
    noise = CLTU_START_SEQUENCE + b"\x20\x03\x10"
    assert decode_all(noise + CLTU_START_SEQUENCE + frame) == [frame]
    # a corrupted frame costs only itself
    bad = bytearray(tc_frame(b"corrupted"))
    bad[8] ^= 0x40
    assert decode_all(encode_tc_stream(bytes(bad)) + encode_tc_stream(frame)) == [frame]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=40), st.binary(min_size=1, max_size=200),
                          st.booleans()), min_size=1, max_size=6),
       st.integers(1, 64))
def test_every_frame_found_whatever_noise_precedes_it(items, chunk):
    stream, frames = b"", []
    for noise, data, false_start in items:
        frames.append(tc_frame(data))
        # the noise may itself hold start sequences
        stream += (CLTU_START_SEQUENCE if false_start else b"") + noise
        stream += CLTU_START_SEQUENCE + frames[-1]
    assert decode_all(stream, chunk) == frames


def test_the_longest_frame_and_every_spacecraft_id_get_through():
    # CCSDS 232.0-B-4 4.1.2: a TC frame is at most 1024 octets (10-bit length
    # field holding the length minus one); the SCID is 10 bits, its top two
    # bits sharing the first octet with the version and the spare bits.
    longest = TcFrame(SCID, 0, 0, bytes(1024 - 5 - 1 - 2), map_id=0).encode()  # segment header
    assert len(longest) == 1024
    top_scid = TcFrame(0x3FF, 1, 0, b"\x01", map_id=0).encode()
    stream = encode_tc_stream(longest) + encode_tc_stream(top_scid)
    assert decode_all(stream, chunk=100) == [longest, top_scid]
    # a length field claiming more than 1024 octets is no frame: the hunt goes on
    too_long = bytearray(encode_tc_stream(top_scid))
    too_long[4] |= 0x03
    too_long[5] = 0xFF  # a length field of 0x3FF: 1024 octets, more than follow
    assert decode_all(bytes(too_long) + encode_tc_stream(top_scid)) == [top_scid]


def test_a_frame_behind_two_false_starts_comes_out_without_waiting():
    """A false start claiming a long frame must not hold back a real frame that
    is already complete behind it, even with a second false start (a damaged
    frame) between them and the next frame's first octets after it."""
    real = tc_frame(b"real command")
    damaged = bytearray(tc_frame(b"damaged on the way"))
    damaged[7] ^= 0x01  # its FECF no longer matches (CCSDS 232.0-B 4.1.4)
    long_claim = CLTU_START_SEQUENCE + bytes([0x00, 0x00, 0x03, 0xE7, 0x00])  # 1000 octets
    next_frame_start = CLTU_START_SEQUENCE + tc_frame(b"next")[:3]
    stream = (long_claim + b"\x55" * 10 + CLTU_START_SEQUENCE + bytes(damaged)
              + CLTU_START_SEQUENCE + real + next_frame_start)
    dec = TcStreamDecoder()
    assert dec.feed(stream) == [real]


def test_a_link_without_the_optional_fecf_delimits_frames_by_their_length():
    # CCSDS 232.0-B-4 4.1.4: the FECF is optional per mission; without it the
    # frame ends where its length field says.
    frames = [TcFrame(SCID, 0, n, bytes([n]) * (n + 1), map_id=0).encode(fecf=False)
              for n in range(3)]
    dec = TcStreamDecoder(fecf=False)
    assert dec.feed(b"".join(CLTU_START_SEQUENCE + f for f in frames)) == frames
    # the same octets read by a link that expects an FECF are no frames at all
    assert TcStreamDecoder().feed(b"".join(CLTU_START_SEQUENCE + f for f in frames)) == []
