"""CFDP PDUs written out octet by octet from CCSDS 727.0-B-5 5.1 and 5.2
(header bits, directive codes, field widths), the modular checksum by its
definition, and every refusal of the decoder and the encoder with its text."""

from __future__ import annotations

import pytest

from fsw.protocol import Reason
from fsw.protocol.cfdp import (
    Ack,
    CfdpError,
    ChecksumType,
    Condition,
    DeliveryCode,
    Directive,
    Eof,
    FileData,
    FileStatus,
    Finished,
    Header,
    KeepAlive,
    Metadata,
    Nak,
    Prompt,
    TransactionStatus,
    decode_header,
    decode_pdu,
    encode_pdu,
    modular_checksum,
)
from fsw.protocol.crc import crc16

H = bytes.fromhex
# source 0x12, sequence number 0x56, destination 0x34; one octet each
SMALL = Header(0x12, 0x34, 0x56, entity_id_len=1, seq_num_len=1)


@pytest.mark.parametrize("pdu, octets", [
    # octet 0: version 001 | type (1 file data) | direction | mode (1 unacknowledged) |
    # CRC flag | large file; then data length, then lengths - 1, then the IDs
    (Prompt(SMALL, keep_alive=True), "20" "0002" "00" "12" "56" "34" "09" "80"),
    (Prompt(SMALL), "20" "0002" "00" "125634" "09" "00"),
    (Prompt(SMALL.replace(toward_sender=True)), "28" "0002" "00" "125634" "0900"),
    (Prompt(SMALL.replace(acknowledged=False)), "24" "0002" "00" "125634" "0900"),
    (KeepAlive(SMALL.replace(large_file=True), 0x0102030405060708),
     "21" "0009" "00" "125634" "0c" "0102030405060708"),
    (KeepAlive(SMALL, 0x01020304), "20" "0005" "00" "125634" "0c" "01020304"),
    (Ack(SMALL, Directive.EOF, Condition.NO_ERROR, TransactionStatus.ACTIVE),
     "20" "0003" "00" "125634" "06" "40" "01"),
    (Ack(SMALL, Directive.FINISHED, Condition.NO_ERROR, TransactionStatus.TERMINATED),
     "20" "0003" "00" "125634" "06" "51" "02"),
    (Eof(SMALL, 0xAABBCCDD, 0x100), "20" "000a" "00" "125634" "04" "00" "aabbccdd" "00000100"),
    (Eof(SMALL, 0, 7, Condition.FILE_CHECKSUM_FAILURE, H("0601")),
     "20" "000c" "00" "125634" "04" "50" "00000000" "00000007" "0601"),
    (Finished(SMALL, Condition.FILESTORE_REJECTION, DeliveryCode.INCOMPLETE,
              FileStatus.DISCARDED_FILESTORE_REJECTION),
     "20" "0002" "00" "125634" "05" "45"),
    (Finished(SMALL), "20" "0002" "00" "125634" "05" "02"),
    (Metadata(SMALL, 0x10, b"ab", b"c", closure_requested=True),
     "20" "000b" "00" "125634" "07" "40" "00000010" "026162" "0163"),
    (Metadata(SMALL, 1, b"", b"", checksum_type=ChecksumType.NULL, options=H("0102")),
     "20" "000a" "00" "125634" "07" "0f" "00000001" "00" "00" "0102"),
    (Nak(SMALL, 0, 0x200, ((0, 0), (0x10, 0x20))),
     "20" "0019" "00" "125634" "08" "00000000" "00000200" "00000000" "00000000"
     "00000010" "00000020"),
    (FileData(SMALL, 0x0A0B0C0D, b"xyz"), "30" "0007" "00" "125634" "0a0b0c0d" "78797a"),
    (FileData(Header(0x0102, 0x0304, 0x05060708), 1, b""),
     "30" "0004" "13" "0102" "05060708" "0304" "00000001"),
])
def test_pdus_octet_by_octet(pdu, octets):
    assert encode_pdu(pdu).hex() == octets
    assert decode_pdu(H(octets)) == pdu


def test_a_crc_is_added_and_checked_over_the_whole_pdu():
    h = SMALL.replace(crc=True)
    raw = encode_pdu(Prompt(h, True))
    body = H("22" "0004" "00" "125634" "0980")
    assert raw == body + crc16(body).to_bytes(2, "big")
    assert decode_pdu(raw) == Prompt(h, True)
    assert decode_header(raw)[2:] == (7, 9)  # data field from 7 to 9, the CRC left out
    with pytest.raises(CfdpError) as err:
        decode_pdu(raw[:-1] + bytes((raw[-1] ^ 1,)))
    assert err.value.reason == Reason.BAD_PEC
    assert str(err.value) == "bad_pec: CFDP: PDU CRC mismatch"
    with pytest.raises(CfdpError) as err:
        decode_pdu(H("22" "0001" "00" "125634" "09"))
    assert str(err.value) == "field_range: CFDP: no room for the CRC"


def test_segment_metadata_before_file_data_is_passed_over():
    raw = H("30" "0009" "08" "125634" "03" "aabbcc" "00000005" "7a")
    pdu = decode_pdu(raw)
    assert pdu.header.segment_metadata and (pdu.offset, pdu.data) == (5, b"z")
    # the flag is only written on file data
    assert encode_pdu(Prompt(SMALL.replace(segment_metadata=True)))[3] == 0x00


@pytest.mark.parametrize("octets, reason, words", [
    ("200002", Reason.TRUNCATED, "3 octets, the fixed header needs at least 4"),
    ("00" "0002" "00" "125634" "0980", Reason.BAD_VERSION, "version 0, expected 1"),
    ("40" "0002" "00" "125634" "0980", Reason.BAD_VERSION, "version 2, expected 1"),
    ("20" "0003" "00" "125634" "0980", Reason.LENGTH_MISMATCH, "9 octets, the header says 10"),
    ("20" "0001" "00" "125634" "0a", Reason.FIELD_RANGE,
     "directive code 0x0a is not one this entity handles"),
    ("20" "0000" "00" "125634", Reason.TRUNCATED, "PDU ends inside directive code"),
    ("20" "0003" "00" "125634" "07" "0300", Reason.TRUNCATED, "PDU ends inside file size"),
    ("20" "0008" "00" "125634" "07" "03" "00000001" "00" "00", Reason.FIELD_RANGE,
     "checksum type 3 is not supported (modular 0 or null 15)"),
    ("20" "0008" "00" "125634" "07" "00" "00000001" "05" "61", Reason.TRUNCATED,
     "PDU ends inside source name"),
    ("20" "0007" "00" "125634" "07" "00" "00000001" "00", Reason.TRUNCATED,
     "PDU ends inside destination name length"),
    ("20" "000a" "00" "125634" "04" "30" "00000000" "00000000", Reason.FIELD_RANGE,
     "condition code 3 is not defined"),
    ("20" "0005" "00" "125634" "04" "00" "000000", Reason.TRUNCATED, "PDU ends inside checksum"),
    ("20" "0007" "00" "125634" "04" "00" "00000000" "00", Reason.TRUNCATED,
     "PDU ends inside file size"),
    ("20" "0002" "00" "125634" "05" "32", Reason.FIELD_RANGE, "condition code 3 is not defined"),
    ("20" "0003" "00" "125634" "06" "70" "00", Reason.FIELD_RANGE,
     "ACK of METADATA: only EOF and Finished are acknowledged"),
    ("20" "0003" "00" "125634" "06" "30" "00", Reason.FIELD_RANGE,
     "acknowledged directive 3 is not defined"),
    ("20" "0004" "00" "125634" "06" "40" "00" "00", Reason.FIELD_RANGE,
     "ACK longer than 3 octets"),
    ("20" "0003" "00" "125634" "06" "40" "20", Reason.FIELD_RANGE,
     "condition code 2 is not defined"),
    ("20" "0002" "00" "125634" "06" "40", Reason.TRUNCATED, "PDU ends inside ack condition"),
    ("20" "000d" "00" "125634" "08" "00000000" "00000010" "00000001", Reason.FIELD_RANGE,
     "NAK segment requests are not whole pairs"),
    ("20" "0005" "00" "125634" "08" "00000000", Reason.TRUNCATED, "PDU ends inside scope end"),
    ("20" "0001" "00" "125634" "09", Reason.TRUNCATED, "PDU ends inside prompt flags"),
    ("20" "0001" "00" "125634" "05", Reason.TRUNCATED, "PDU ends inside finished flags"),
    ("20" "0001" "00" "125634" "06", Reason.TRUNCATED, "PDU ends inside acknowledged directive"),
    ("20" "0001" "00" "125634" "04", Reason.TRUNCATED, "PDU ends inside condition"),
    ("20" "0001" "00" "125634" "07", Reason.TRUNCATED, "PDU ends inside metadata flags"),
    ("20" "0003" "00" "125634" "0c" "0000", Reason.TRUNCATED, "PDU ends inside progress"),
    ("30" "0002" "00" "125634" "0000", Reason.TRUNCATED, "PDU ends inside offset"),
    ("30" "0001" "08" "125634" "05", Reason.TRUNCATED, "PDU ends inside segment metadata"),
])
def test_malformed_pdus_are_refused_with_what_is_wrong(octets, reason, words):
    with pytest.raises(CfdpError) as err:
        decode_pdu(H(octets))
    assert err.value.reason == reason
    assert str(err.value) == f"{reason.name.lower()}: CFDP: {words}"


def test_header_lengths_of_up_to_8_octets_are_read():
    h = Header(2**64 - 1, 1, 2**56, entity_id_len=8, seq_num_len=8)
    raw = encode_pdu(Prompt(h))
    assert raw[3] == 0x77 and len(raw) == 4 + 8 + 8 + 8 + 2
    assert decode_pdu(raw) == Prompt(h)


@pytest.mark.parametrize("make, words", [
    (lambda: Prompt(Header(256, 1, 1, entity_id_len=1, seq_num_len=1)),
     "source entity id 256 does not fit 1 octets"),
    (lambda: Prompt(Header(1, 256, 1, entity_id_len=1, seq_num_len=1)),
     "destination entity id 256 does not fit 1 octets"),
    (lambda: Prompt(Header(1, 1, 1 << 16, seq_num_len=2)),
     "transaction sequence number 65536 does not fit 2 octets"),
    (lambda: Prompt(Header(1, 1, 1, entity_id_len=9)),
     "entity id and sequence number lengths are 1..8 octets"),
    (lambda: Prompt(Header(1, 1, 1, seq_num_len=0)),
     "entity id and sequence number lengths are 1..8 octets"),
    (lambda: FileData(SMALL, 0, bytes(65532)), "PDU data field of 65536 octets is over 65535"),
    (lambda: Metadata(SMALL, 1, bytes(256), b""), "LV value of 256 octets is over 255"),
    (lambda: FileData(SMALL, 1 << 32, b""), "offset 4294967296 does not fit 4 octets"),
    (lambda: Eof(SMALL, 0, -1), "file size -1 does not fit 4 octets"),
    (lambda: Nak(SMALL, 0, 1, ((2, 1 << 32),)), "segment end 4294967296 does not fit 4 octets"),
    (lambda: Nak(SMALL, 0, 1, ((-1, 2),)), "segment start -1 does not fit 4 octets"),
    (lambda: Nak(SMALL, -1, 1), "scope start -1 does not fit 4 octets"),
    (lambda: Nak(SMALL, 0, 1 << 32), "scope end 4294967296 does not fit 4 octets"),
    (lambda: Metadata(SMALL, 1 << 32, b"", b""), "file size 4294967296 does not fit 4 octets"),
    (lambda: KeepAlive(SMALL, 1 << 32), "progress 4294967296 does not fit 4 octets"),
])
def test_what_cannot_be_encoded_is_refused_with_the_field(make, words):
    with pytest.raises(ValueError) as err:
        encode_pdu(make())
    assert str(err.value) == words
    FileData(SMALL, 0, bytes(65531))  # the largest data field fits
    assert len(encode_pdu(FileData(SMALL, 0, bytes(65531)))) == 7 + 65535


def test_only_pdus_are_encoded():
    other = type("Other", (), {"header": SMALL})()
    with pytest.raises(TypeError, match=r"^not a PDU: Other$"):
        encode_pdu(other)


def test_the_modular_checksum_by_its_definition():
    # 727.0-B-5 4.2.2: 32-bit words aligned to file offset 0, summed modulo 2^32
    assert modular_checksum(b"") == 0
    assert modular_checksum(H("01020304" "05060708")) == 0x01020304 + 0x05060708
    assert modular_checksum(H("0102")) == 0x01020000  # the last word padded with zeros
    assert modular_checksum(H("ff"), offset=3) == 0x000000FF  # the 4th octet of word 0
    assert modular_checksum(H("01"), offset=1) == 0x00010000
    assert modular_checksum(H("0102"), offset=6) == 0x00000102
    assert modular_checksum(H("ffffffff" "00000002")) == 1  # modulo 2^32
    whole = bytes(range(1, 40))
    assert (modular_checksum(whole[:7]) + modular_checksum(whole[7:], 7)) & 0xFFFFFFFF == \
        modular_checksum(whole)


def test_header_replace_keeps_every_other_field():
    h = Header(1, 2, 3, True, False, True, True, 3, 5, True)
    r = h.replace(seq_num=9)
    assert r == Header(1, 2, 9, True, False, True, True, 3, 5, True)
    assert h.fss == 8 and SMALL.fss == 4
