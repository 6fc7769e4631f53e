"""Every decoder of outside bytes, fed random and mutated input: it returns a
value or raises ProtocolError (or a subclass) with a reason; nothing else.

Mutations follow the classic bad inputs of space-link decoders: truncation at
any offset, bit flips, length fields that lie (with the CRC fixed up so the
lie reaches the parser), wrong CRC, wrong MAC, replays, oversize frames.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacelink_kit import OPERATOR_SPI, PARTNER_A_SPI, Link

from fsw.protocol import ProtocolError, Reason
from fsw.protocol.crc import crc16
from fsw.protocol.cuc import CucTime
from fsw.protocol.keyfile import parse_key_document
from fsw.protocol.pus import PusTc, PusTm
from fsw.protocol.sdls import MANAGEMENT_MAP, build_rekey, parse_rekey
from fsw.protocol.services import (
    EventReport,
    HkStructure,
    ScheduledTc,
    VerificationReport,
    decode_connection_test,
    decode_delete,
    decode_insert,
    decode_summary,
    decode_tc_app_data,
    decode_values,
    encode_insert,
    encode_values,
)
from fsw.protocol.spp import SpacePacket, decode_bulk, iter_packets, split_timed, timed_packet
from fsw.protocol.tc import TcFrame, parse_control_command
from fsw.protocol.tm import Clcw, TmFrame, TmMasterChannel, TmReceiver

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def survives(fn, data) -> object:
    """Call fn(data): a value or a ProtocolError with a reason is fine."""
    try:
        return fn(data)
    except ProtocolError as e:
        assert isinstance(e.reason, Reason) and str(e)
        return None


@st.composite
def mutated(draw, seeds: list[bytes], crc_fix: bool = False):
    """A valid input, then some of: truncation, bit flips, inserted or deleted
    octets, an overwritten 16-bit field; optionally with the trailing CRC fixed."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["trunc", "flip", "insert", "delete", "field", "extend"]))
        if op == "trunc":
            data = data[:draw(st.integers(0, len(data)))]
        elif op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data.insert(draw(st.integers(0, len(data))), draw(st.integers(0, 255)))
        elif op == "delete" and data:
            del data[draw(st.integers(0, len(data) - 1))]
        elif op == "field" and len(data) >= 2:
            i = draw(st.integers(0, len(data) - 2))
            data[i:i + 2] = draw(st.sampled_from([0, 1, 0x7FF, 0x3FF, 0xFFFF,
                                                  draw(st.integers(0, 0xFFFF))])).to_bytes(2,
                                                                                          "big")
        elif op == "extend":
            data += draw(st.binary(max_size=40))
    if crc_fix and len(data) >= 3 and draw(st.booleans()):
        data[-2:] = crc16(bytes(data[:-2])).to_bytes(2, "big")
    return bytes(data)


def inputs(seeds: list[bytes], crc_fix: bool = False):
    return st.one_of(st.binary(max_size=300), mutated(seeds, crc_fix))


# --- seeds ------------------------------------------------------------------------

PKTS = [SpacePacket(0x123, 0, False, 3, 5, bytes.fromhex("deadbeef")).encode(),
        timed_packet(5, CucTime(1000, 7), b"user").encode(),
        SpacePacket(0x7FF, 1, True, 1, 0x3FFF, bytes(40)).encode()]
TCS = [PusTc(1, 17, 1, seq_count=22).encode(),
       PusTc(0x42, 11, 4, encode_insert([ScheduledTc(CucTime(5), PusTc(7, 17, 1))])).encode(),
       PusTc(0x42, 20, 3, encode_values([(1, 2.5), (2, b"ab")])).encode()]
TMS = [PusTm(1, 1, 1, b"\x18\x01\xc0\x16").encode(), PusTm(2, 3, 25, bytes(30)).encode()]
TC_FRAMES = [TcFrame(0x2AB, 1, 7, TCS[0], map_id=5).encode(),
             bytes.fromhex("32ab04090082002a08ab"), bytes.fromhex("32ab040700002326")]


def _tm_frames() -> list[bytes]:
    mc = TmMasterChannel(0x2AB, 64, vcids=(0, 1))
    for p in PKTS + TMS:
        mc.add_packet(0, p)
    return [*mc.drain(), mc.frame()]


TM_FRAMES = _tm_frames()


# --- packet layer -----------------------------------------------------------------

@FUZZ
@given(inputs(PKTS))
def test_space_packet_decoders(data):
    p = survives(SpacePacket.decode, data)
    if p is not None:
        assert p.encode() == data
        survives(split_timed, p)
    survives(lambda d: list(iter_packets(d)), data)
    survives(decode_bulk, data)
    survives(lambda d: SpacePacket.decode_from(d, 3), data)


@FUZZ
@given(inputs([CucTime(5, 6).encode(), CucTime(1, 0, 1, 0).encode()]))
def test_cuc_decoder(data):
    survives(CucTime.decode, data)
    survives(lambda d: CucTime.decode(d, coarse_octets=4, fine_octets=2), data)


@FUZZ
@given(inputs(TCS, crc_fix=True))
def test_pus_tc_decoder(data):
    tc = survives(PusTc.decode, data)
    if tc is not None:
        assert tc.encode() == data
        survives(decode_tc_app_data, tc)


@FUZZ
@given(inputs(TMS, crc_fix=True))
def test_pus_tm_decoder(data):
    tm = survives(PusTm.decode, data)
    if tm is not None:
        assert tm.encode() == data


@FUZZ
@given(st.integers(0, 12), st.binary(max_size=60))
def test_service_decoders(subtype, data):
    survives(lambda d: VerificationReport.decode(subtype, d), data)
    survives(lambda d: EventReport.decode(subtype, d), data)
    for fn in (HkStructure.decode, decode_values, decode_insert, decode_delete,
               decode_summary, decode_connection_test, parse_rekey):
        survives(fn, data)
    survives(lambda d: decode_tc_app_data(PusTc(1, 11 if subtype % 2 else 20, subtype, d)), data)


# --- frame layer ------------------------------------------------------------------

@FUZZ
@given(inputs(TC_FRAMES, crc_fix=True))
def test_tc_frame_decoder(data):
    for seg in (True, False):
        f = survives(lambda d, s=seg: TcFrame.decode(d, segment_header=s), data)
        if f is not None and f.control_command:
            survives(parse_control_command, f.data)


@FUZZ
@given(inputs(TM_FRAMES, crc_fix=True))
def test_tm_frame_decoders(data):
    survives(lambda d: TmFrame.decode(d, frame_len=64), data)
    survives(lambda d: TmFrame.decode(d, frame_len=len(d), fecf=False), data)
    survives(lambda d: Clcw.decode(d[:4]), data)


@FUZZ
@given(st.lists(inputs(TM_FRAMES, crc_fix=True), max_size=12))
def test_tm_receiver_stream(frames):
    rx = TmReceiver(0x2AB, 64)
    for f in frames:
        out = survives(rx.add, f)
        for _vc, pkt in out or []:
            assert len(pkt) >= 7


# --- the authenticated uplink ---------------------------------------------------------

@FUZZ
@given(st.data())
def test_uplink_receiver(key_file, data):
    """Mutated authenticated frames, replays, old and far-future ARSNs, oversize
    frames: every rejection is a ProtocolError, and only frames that were really
    built by the ground are ever accepted."""
    link = Link(key_file, ":memory:", ":memory:")
    genuine = []
    for i in range(3):
        genuine.append(link.tx.frame(0, i, TCS[i % 3], spi=OPERATOR_SPI))
    genuine.append(link.tx.frame(1, 0, TCS[0], spi=PARTNER_A_SPI))
    genuine.append(link.tx.frame(0, 0, b"\x00", bypass=True, control=True, spi=OPERATOR_SPI))
    genuine.append(link.tx.frame(0, 4, build_rekey(bytes(range(32)), PARTNER_A_SPI, 9,
                                                   bytes(32)),
                                 map_id=MANAGEMENT_MAP, spi=OPERATOR_SPI))
    frames = data.draw(st.lists(st.one_of(st.sampled_from(genuine), mutated(genuine, True),
                                          st.binary(min_size=1025, max_size=1100)),
                                max_size=10))
    for f in frames:
        out = survives(link.rx.receive, f)
        if out is not None:
            assert f in genuine
    assert sum(link.rx.rejected.values()) + link.rx.accepted == len(frames)


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c,
                                                                         max_size=4),
                    max_leaves=10), st.data())
def test_key_document_parser(doc, data):
    survives(parse_key_document, doc if isinstance(doc, dict) else {"version": 2,
                                                                    "key_holders": doc})
    base = {"version": 2, "key_holders": [
        {"name": "o", "spi": 1, "key": "11" * 32, "quotas": {},
         "rights": {"apids": "all", "vcids": [0], "maps": "all", "farm_control": "all",
                    "whole_schedule": True, "key_management": True}}]}
    where = data.draw(st.sampled_from(["holder", "rights", "quotas"]))
    target = base["key_holders"][0] if where == "holder" else base["key_holders"][0][where]
    key = data.draw(st.sampled_from({
        "holder": ["spi", "name", "key", "mac_len", "arsn_len", "arsn_window", "rights"],
        "rights": ["apids", "vcids", "maps", "farm_control", "whole_schedule", "key_management"],
        "quotas": ["schedule_slots", "event_table_entries", "tcs_per_s", "tm_bytes_per_cycle"],
    }[where]))
    target[key] = doc
    survives(parse_key_document, json.loads(json.dumps(base)))
