"""CFDP PDUs the decoder must refuse: a flipped bit under the CRC, any bytes,
truncated or extended PDUs. These need no independent implementation, so they
live apart from the interoperability tests, which skip without cfdp-py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.protocol import cfdp
from fsw.protocol.errors import ProtocolError

headers = st.builds(
    lambda eid_len, seq_len, crc, large, src, dst, seq: cfdp.Header(
        src % (1 << 8 * eid_len), dst % (1 << 8 * eid_len), seq % (1 << 8 * seq_len),
        crc=crc, large_file=large, entity_id_len=eid_len, seq_num_len=seq_len),
    st.sampled_from([1, 2, 4, 8]), st.sampled_from([1, 2, 4, 8]), st.booleans(), st.booleans(),
    st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))


def test_crc_protected_pdu_detects_a_flipped_bit():
    h = cfdp.Header(1, 2, 3, crc=True)
    raw = bytearray(cfdp.encode_pdu(cfdp.FileData(h, 0, b"hello")))
    raw[-3] ^= 0x01
    with pytest.raises(cfdp.CfdpError, match="CRC"):
        cfdp.decode_pdu(bytes(raw))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_decode_or_raise_one_error_type(raw):
    try:
        pdu = cfdp.decode_pdu(raw)
    except ProtocolError:
        return
    assert cfdp.decode_pdu(cfdp.encode_pdu(pdu)) == pdu


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_truncated_or_extended_pdus_are_refused(data):
    h = data.draw(headers)
    raw = cfdp.encode_pdu(cfdp.Eof(h, 7, 9))
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(ProtocolError):
        cfdp.decode_pdu(raw[:cut])
    with pytest.raises(ProtocolError):
        cfdp.decode_pdu(raw + b"\0")
