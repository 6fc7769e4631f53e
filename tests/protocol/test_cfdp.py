"""CFDP PDUs against an independent implementation (spacepackets.cfdp, the PDU layer of
cfdp-py), both directions; the modular checksum against cfdppy. (Malformed input, which
needs neither, is in test_cfdp_malformed.py, so this module's skip cannot hide it.)"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

cfdppy = pytest.importorskip("cfdppy")
sp = pytest.importorskip("spacepackets.cfdp")
from cfdppy.crc import calc_modular_checksum  # noqa: E402
from spacepackets.cfdp import (  # noqa: E402
    ChecksumType as SpChecksum,
)
from spacepackets.cfdp import (  # noqa: E402
    ConditionCode,
    CrcFlag,
    DeliveryCode,
    Direction,
    FileStatus,
    LargeFileFlag,
    PduConfig,
    PduFactory,
    TransmissionMode,
)
from spacepackets.cfdp.pdu import (  # noqa: E402
    AckPdu,
    DirectiveType,
    EofPdu,
    FileDataPdu,
    FinishedPdu,
    KeepAlivePdu,
    MetadataPdu,
    NakPdu,
    PromptPdu,
)
from spacepackets.cfdp.pdu.ack import TransactionStatus as SpStatus  # noqa: E402
from spacepackets.cfdp.pdu.file_data import FileDataParams  # noqa: E402
from spacepackets.cfdp.pdu.finished import FinishedParams  # noqa: E402
from spacepackets.cfdp.pdu.metadata import MetadataParams  # noqa: E402
from spacepackets.cfdp.pdu.prompt import ResponseRequired  # noqa: E402
from spacepackets.util import UnsignedByteField  # noqa: E402
from test_cfdp_malformed import headers  # noqa: E402

from fsw.protocol import cfdp  # noqa: E402


def conf(h: cfdp.Header, toward_sender: bool = False) -> PduConfig:
    return PduConfig(
        source_entity_id=UnsignedByteField(h.source_id, h.entity_id_len),
        dest_entity_id=UnsignedByteField(h.dest_id, h.entity_id_len),
        transaction_seq_num=UnsignedByteField(h.seq_num, h.seq_num_len),
        trans_mode=TransmissionMode.ACKNOWLEDGED,
        file_flag=LargeFileFlag.LARGE if h.large_file else LargeFileFlag.NORMAL,
        crc_flag=CrcFlag.WITH_CRC if h.crc else CrcFlag.NO_CRC,
        direction=Direction.TOWARDS_SENDER if toward_sender else Direction.TOWARDS_RECEIVER)


def both_ways(ours: cfdp.Pdu, theirs) -> None:
    """Same octets from both encoders; each decoder reads the other's output."""
    mine = cfdp.encode_pdu(ours)
    other = bytes(theirs.pack())
    assert mine == other
    assert cfdp.decode_pdu(other) == ours
    assert bytes(PduFactory.from_raw(mine).pack()) == other


def sizes(h):
    return st.integers(0, 2**64 - 1 if h.large_file else 2**32 - 1)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_metadata(data):
    h = data.draw(headers)
    size = data.draw(sizes(h))
    src = data.draw(st.text("abcxyz/._-", max_size=40))
    dst = data.draw(st.text("abcxyz/._-", max_size=40))
    closure = data.draw(st.booleans())
    both_ways(cfdp.Metadata(h, size, src.encode(), dst.encode(), closure),
              MetadataPdu(conf(h), MetadataParams(closure, SpChecksum.MODULAR, size, src, dst)))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_file_data(data):
    h = data.draw(headers)
    offset = data.draw(sizes(h))
    payload = data.draw(st.binary(min_size=1, max_size=300))  # the peer refuses empty data
    both_ways(cfdp.FileData(h, offset, payload),
              FileDataPdu(conf(h), FileDataParams(file_data=payload, offset=offset)))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_eof(data):
    h = data.draw(headers)
    checksum = data.draw(st.integers(0, 2**32 - 1))
    size = data.draw(sizes(h))
    both_ways(cfdp.Eof(h, checksum, size), EofPdu(conf(h), checksum, size))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_finished(data):
    h = data.draw(headers).replace(toward_sender=True)
    cond = data.draw(st.sampled_from([cfdp.Condition.NO_ERROR,
                                      cfdp.Condition.FILE_CHECKSUM_FAILURE]))
    delivery = data.draw(st.sampled_from(list(cfdp.DeliveryCode)))
    status = data.draw(st.sampled_from(list(cfdp.FileStatus)))
    both_ways(cfdp.Finished(h, cond, delivery, status),
              FinishedPdu(conf(h, True), FinishedParams(ConditionCode(cond),
                                                        DeliveryCode(delivery),
                                                        FileStatus(status))))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_ack(data):
    acked = data.draw(st.sampled_from([cfdp.Directive.EOF, cfdp.Directive.FINISHED]))
    h = data.draw(headers).replace(toward_sender=acked == cfdp.Directive.EOF)
    status = data.draw(st.sampled_from(list(cfdp.TransactionStatus)))
    cond = data.draw(st.sampled_from([cfdp.Condition.NO_ERROR,
                                      cfdp.Condition.FILE_CHECKSUM_FAILURE]))
    both_ways(cfdp.Ack(h, acked, cond, status),
              AckPdu(conf(h, h.toward_sender), DirectiveType(acked), ConditionCode(cond),
                     SpStatus(status)))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_nak(data):
    h = data.draw(headers).replace(toward_sender=True)
    top = 2**64 - 1 if h.large_file else 2**32 - 1
    pairs = data.draw(st.lists(st.tuples(st.integers(0, top), st.integers(0, top)), max_size=20))
    start, end = data.draw(st.integers(0, top)), data.draw(st.integers(0, top))
    both_ways(cfdp.Nak(h, start, end, tuple(pairs)),
              NakPdu(conf(h, True), start, end, list(pairs)))


@settings(max_examples=30, deadline=None)
@given(headers, st.booleans())
def test_prompt(h, keep_alive):
    both_ways(cfdp.Prompt(h, keep_alive),
              PromptPdu(conf(h), ResponseRequired.KEEP_ALIVE if keep_alive
                        else ResponseRequired.NAK))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_keep_alive(data):
    h = data.draw(headers).replace(toward_sender=True)
    progress = data.draw(sizes(h))
    both_ways(cfdp.KeepAlive(h, progress), KeepAlivePdu(conf(h, True), progress))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=5000), st.integers(0, 4096))
def test_modular_checksum_matches_cfdppy(tmp_path_factory, data, split):
    path = tmp_path_factory.mktemp("ck") / "f"
    path.write_bytes(data)
    expected = int.from_bytes(calc_modular_checksum(path), "big")
    assert cfdp.modular_checksum(data) == expected
    split = min(split, len(data))
    # segments summed at their offsets give the whole file's checksum
    assert (cfdp.modular_checksum(data[:split]) +
            cfdp.modular_checksum(data[split:], split)) & 0xFFFFFFFF == expected
