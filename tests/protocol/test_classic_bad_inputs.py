"""The classic malformed inputs that broke other space-link decoders (the list
in the shared space-link reference), one by one, each with its reason."""

from __future__ import annotations

import pytest
from spacelink_kit import OPERATOR_SPI, PARTNER_A_SPI, SCID, Link

from fsw.protocol import PacketError, ProtocolError, Reason
from fsw.protocol.crc import crc16
from fsw.protocol.pus import PusTc
from fsw.protocol.sdls import MANAGEMENT_MAP
from fsw.protocol.spp import SpacePacket
from fsw.protocol.tc import TcFrame


def with_fecf(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "big")


def reason(link: Link, frame: bytes) -> Reason:
    with pytest.raises(ProtocolError) as e:
        link.rx.receive(frame)
    return e.value.reason


def problem(link: Link, frame: bytes) -> Reason:
    """The reason an accepted frame's content was refused (FARM-1 took the frame)."""
    out = link.rx.receive(frame)
    assert not out and len(out.problems) == 1
    return out.problems[0].reason


PING = PusTc(256, 17, 1).encode()


def test_truncation_at_every_offset(link: Link):
    good = link.tx.frame(1, 0, PING, spi=PARTNER_A_SPI)
    for n in range(len(good)):
        assert reason(link, good[:n]) in (Reason.TRUNCATED, Reason.LENGTH_MISMATCH)
    assert link.rx.receive(good)
    assert sum(link.rx.rejected.values()) == len(good)


def test_frame_length_field_lies(link: Link):
    good = bytearray(link.tx.frame(1, 0, PING, spi=PARTNER_A_SPI))
    for fl in (0, 3, 4, len(good) - 2, len(good), 1023):
        bad = bytearray(good[:-2])
        bad[2] = (bad[2] & 0xFC) | (fl >> 8)
        bad[3] = fl & 0xFF
        assert reason(link, with_fecf(bytes(bad))) == Reason.LENGTH_MISMATCH
    # a consistent frame too short for SPI + ARSN + MAC
    short = TcFrame(SCID, 0, 0, b"\x00\x01\x00", map_id=0).encode()
    assert reason(link, short) == Reason.TRUNCATED
    assert reason(link, bytes(1025)) == Reason.TOO_LONG


def test_header_fields_not_ours(link: Link):
    assert reason(link, TcFrame(SCID + 1, 0, 0, PING, map_id=0).encode()) == Reason.WRONG_SCID
    assert reason(link, TcFrame(SCID, 5, 0, PING, map_id=0).encode()) == Reason.UNKNOWN_VCID
    link.rx.vcs[1].maps = frozenset({0})
    raw = link.tx.frame(1, 0, PING, map_id=7, spi=PARTNER_A_SPI)
    assert reason(link, raw) == Reason.UNKNOWN_MAP


def test_security_association_states(link: Link):
    link.engine.sas[PARTNER_A_SPI].operational = False
    raw = link.tx.frame(1, 0, PING, spi=PARTNER_A_SPI)
    assert reason(link, raw) == Reason.SA_NOT_OPERATIONAL
    for spi in (0, 0xFFFF, 2):
        body = bytearray(raw[:-2])
        body[6:8] = spi.to_bytes(2, "big")
        assert reason(link, with_fecf(bytes(body))) == Reason.UNKNOWN_SPI


def test_arsn_edge_values(link: Link):
    link.ground_store.set_arsn(OPERATOR_SPI, -1)
    zero = link.tx.frame(0, 0, PING, spi=OPERATOR_SPI)  # properly signed, ARSN 0
    assert zero[8:12] == bytes(4)
    assert reason(link, zero) == Reason.REPLAY
    window = link.engine.sas[OPERATOR_SPI].arsn_window
    sender = link.tx.senders[OPERATOR_SPI]
    link.ground_store.set_arsn(OPERATOR_SPI, window + 1)
    far = link.tx.frame(0, 0, PING, spi=OPERATOR_SPI)  # ARSN window + 2 > 0 + window
    assert reason(link, far) == Reason.ARSN_OUT_OF_WINDOW
    link.ground_store.set_arsn(OPERATOR_SPI, sender.sa.arsn_max)
    with pytest.raises(ProtocolError) as e:
        link.tx.frame(0, 0, PING, spi=OPERATOR_SPI)  # exhausted: the ground must rekey
    assert e.value.reason == Reason.ARSN_OUT_OF_WINDOW


def test_key_management_pdu_lies(link: Link):
    raw = link.tx.frame(0, 0, b"\x01\x00\x0a\x00\x00\x00\x02" + bytes(10),
                        map_id=MANAGEMENT_MAP, spi=OPERATOR_SPI)
    assert problem(link, raw) == Reason.LENGTH_MISMATCH
    raw = link.tx.frame(0, 1, b"\x02" + bytes(46), map_id=MANAGEMENT_MAP, spi=OPERATOR_SPI)
    assert problem(link, raw) == Reason.BAD_DIRECTIVE


@pytest.mark.parametrize("raw,why", [
    (SpacePacket(0x7FF, 1, True, 3, 0, bytes(7)).encode(), Reason.FIELD_RANGE),  # idle APID
    (SpacePacket(0x42, 1, True, 3, 0, b"\x2f\x11").encode(), Reason.TRUNCATED),  # short sec hdr
    (SpacePacket(0x42, 1, False, 3, 0, bytes(7)).encode(), Reason.FIELD_RANGE),  # no sec hdr
    (b"\x18\x42\xc0\x00\xff\xff" + bytes(20), Reason.LENGTH_MISMATCH),  # length 0xFFFF
])
def test_space_packet_lies_in_pus(raw, why):
    with pytest.raises(PacketError) as e:
        PusTc.decode(raw)
    assert e.value.reason == why
