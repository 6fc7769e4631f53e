"""SDLS-style authentication (CCSDS 355.0-B-2): MAC, anti-replay that
survives a restart, authorisation data, rekey; and the TC uplink chain."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacelink_kit import KEK, KEY_DOC, OPERATOR_SPI, PARTNER_A_SPI, SCID, Link

from fsw.protocol import ProtocolError, Reason, SecurityError
from fsw.protocol.keyfile import load_key_file, parse_key_document
from fsw.protocol.pus import PusTc
from fsw.protocol.rights import Rights
from fsw.protocol.sdls import (
    MANAGEMENT_MAP,
    SecurityAssociation,
    build_rekey,
    compute_mac,
)
from fsw.protocol.store import ArsnStore
from fsw.protocol.tc import UNLOCK
from fsw.protocol.uplink import TcReceiver


def ping(apid: int = 256, seq: int = 0) -> bytes:
    return PusTc(apid, 17, 1, seq_count=seq).encode()


def reason_of(fn) -> Reason:
    with pytest.raises(ProtocolError) as e:
        fn()
    return e.value.reason


def test_hmac_sha256_truncated_rfc4231_case5():
    key = b"\x0c" * 20
    tag = hmac.new(key, b"Test With Truncation", hashlib.sha256).digest()[:16]
    assert tag.hex() == "a3b6167473100ee06e0c796c2955552b"
    sa = SecurityAssociation(1, "op", key, Rights.operator(), abm=bytes(6))
    # with an all-zero ABM over an empty header the MAC is plain HMAC of the rest
    assert compute_mac(sa, b"Test With Truncation", 0).hex() == tag.hex()


def test_authenticated_frame_accepted_once(link: Link):
    raw = link.tx.frame(1, 0, ping(), spi=PARTNER_A_SPI)
    out = link.rx.receive(raw)
    assert [d.packet for d in out] == [ping()]
    assert out[0].sa.owner == "uni-a"
    # sent again at once it is what a FOP-1 retransmission looks like: a
    # FARM-1 duplicate, discarded without alarm and without moving the FARM
    assert reason_of(lambda: link.rx.receive(raw)) == Reason.FARM_DUPLICATE
    assert link.rx.farms[1].vr == 1
    # once the FARM moved on past its window it is plainly a replay
    link.rx.farms[1].vr = 100
    assert reason_of(lambda: link.rx.receive(raw)) == Reason.REPLAY
    assert link.rx.farms[1].vr == 100 and link.rx.farms[1].state == "open"
    assert link.rx.accepted == 1


def test_layout_is_spi_arsn_data_mac_fecf(link: Link):
    raw = link.tx.frame(1, 0, ping(), spi=PARTNER_A_SPI)
    assert raw[6:8] == PARTNER_A_SPI.to_bytes(2, "big")
    assert raw[8:12] == (1).to_bytes(4, "big")
    assert raw[12:12 + len(ping())] == ping()
    assert len(raw) == 6 + 2 + 4 + len(ping()) + 16 + 2
    sa = link.engine.sas[PARTNER_A_SPI]
    mac = hmac.new(sa.key, raw[:-18], hashlib.sha256).digest()[:16]
    assert raw[-18:-2] == mac


def test_bad_mac_wrong_key_unknown_spi_wrong_vc(link: Link, key_file):
    good = link.tx.frame(1, 0, ping(), spi=PARTNER_A_SPI)
    from fsw.protocol.crc import crc16

    def refecf(b: bytes) -> bytes:
        return b[:-2] + crc16(b[:-2]).to_bytes(2, "big")

    flipped = bytearray(good)
    flipped[14] ^= 0x01  # payload bit: FECF fixed, MAC now wrong
    assert reason_of(lambda: link.rx.receive(refecf(bytes(flipped)))) == Reason.BAD_MAC
    bad_spi = bytearray(good)
    bad_spi[6:8] = (999).to_bytes(2, "big")
    assert reason_of(lambda: link.rx.receive(refecf(bytes(bad_spi)))) == Reason.UNKNOWN_SPI
    # a partner's SA is allocated VC 1 only
    on_vc0 = link.tx.frame(0, 0, ping(), spi=PARTNER_A_SPI)
    assert reason_of(lambda: link.rx.receive(on_vc0)) == Reason.SA_WRONG_VC
    # a frame protected with another partner's key under A's SPI
    doc = json.loads(json.dumps(KEY_DOC))
    doc["key_holders"][1]["key"] = "44" * 32
    sas = parse_key_document(doc).sas
    forger = Link.__new__(Link)
    from spacelink_kit import vc_table

    from fsw.protocol.sdls import SecuritySender
    from fsw.protocol.uplink import TcSender
    forger.tx = TcSender(SCID, vc_table(),
                         {s.spi: SecuritySender(s, ArsnStore(":memory:")) for s in sas})
    forged = forger.tx.frame(1, 0, ping(), spi=PARTNER_A_SPI)
    assert reason_of(lambda: link.rx.receive(forged)) == Reason.BAD_MAC
    # nothing moved the FARM or the stored ARSN
    assert link.rx.farms[1].vr == 0 and link.flight_store.get(PARTNER_A_SPI) == (0, 0)
    assert link.rx.receive(good)


def test_arsn_window_old_and_far_future(link: Link):
    sa = link.tx.senders[OPERATOR_SPI]
    frames = [link.tx.frame(0, i, ping(seq=i), spi=OPERATOR_SPI) for i in range(20)]
    link.rx.receive(frames[0])
    # ARSN 18 is beyond the window of 16 after 1
    assert reason_of(lambda: link.rx.receive(frames[18])) == Reason.ARSN_OUT_OF_WINDOW
    assert link.rx.farms[0].vr == 1  # rejected before FARM
    link.rx.receive(frames[1])
    # an accepted frame again: a COP-1 duplicate, not accepted twice
    assert reason_of(lambda: link.rx.receive(frames[0])) == Reason.FARM_DUPLICATE
    assert sa.sa.arsn_window == 16


def test_key_file_default_window_is_64(link: Link):
    # docs/space-link.md: "arsn_window defaults to 64"; partner A's SA in the
    # key file names no window. ARSN last + 64 passes the check, last + 65 not.
    frames = [link.tx.frame(1, 0, ping(seq=i), spi=PARTNER_A_SPI) for i in range(66)]
    link.rx.receive(frames[0])
    edge = reason_of(lambda: link.rx.receive(frames[65]))
    assert edge == Reason.ARSN_OUT_OF_WINDOW
    try:
        link.rx.receive(frames[64])
    except ProtocolError as exc:
        assert exc.reason != Reason.ARSN_OUT_OF_WINDOW
    assert link.engine.sas[PARTNER_A_SPI].arsn_window == 64


def test_unauthenticated_frames_cannot_lock_out_the_farm(link: Link):
    """Classic attack: a burst of out-of-window N(S) forces FARM Lockout. Here
    forged frames never reach FARM-1."""
    from fsw.protocol.tc import TcFrame

    for ns in range(0, 256, 17):
        raw = TcFrame(SCID, 0, ns, bytes(2) + bytes(40), map_id=0).encode()
        with pytest.raises(SecurityError):
            link.rx.receive(raw)
    assert link.rx.farms[0].state == "open"
    assert link.rx.receive(link.tx.frame(0, 0, ping(), spi=OPERATOR_SPI))


def test_farm_retransmission_request_keeps_arsn_usable(link: Link):
    """A frame FARM-1 discards (out of order) is not recorded for anti-replay,
    so FOP-1 can retransmit the very same bytes."""
    f0 = link.tx.frame(0, 0, ping(seq=0), spi=OPERATOR_SPI)
    f1 = link.tx.frame(0, 1, ping(seq=1), spi=OPERATOR_SPI)
    assert reason_of(lambda: link.rx.receive(f1)) == Reason.FARM_OUT_OF_WINDOW
    assert link.rx.clcw(0).retransmit
    link.rx.receive(f0)
    link.rx.receive(f1)  # retransmitted unchanged
    assert link.rx.clcw(0).report_value == 2


def test_authenticated_unlock(link: Link):
    link.rx.farms[0].state = "lockout"
    raw = link.tx.frame(0, 0, UNLOCK, bypass=True, control=True, spi=OPERATOR_SPI)
    out = link.rx.receive(raw)
    assert out[0].kind == "control" and link.rx.farms[0].state == "open"


def test_anti_replay_survives_restart(link: Link, key_file, tmp_path):
    frames = [link.tx.frame(1, i, ping(seq=i), spi=PARTNER_A_SPI) for i in range(3)]
    for f in frames:
        link.rx.receive(f)
    link.flight_store.close()
    store = ArsnStore(tmp_path / "flight.db")
    rx = TcReceiver(SCID, link.rx.vcs, load_key_file(key_file).engine(store))
    rx.farms[1].vr = 0  # a reboot resets FARM-1; a replay must still fail
    for f in frames:
        assert reason_of(lambda f=f: rx.receive(f)) == Reason.REPLAY
    # the ground's counter also survived: its next frame is accepted
    link.ground_store.close()
    link2 = Link(key_file, tmp_path / "flight.db", tmp_path / "ground.db")
    link2.rx.farms[1].vr = 3
    assert link2.rx.receive(link2.tx.frame(1, 3, ping(seq=3), spi=PARTNER_A_SPI))


def test_rekey_on_management_sa_only(link: Link, key_file, tmp_path):
    new_key = bytes(range(100, 132))
    pdu = build_rekey(KEK, PARTNER_A_SPI, 1, new_key)
    # a partner may not rekey, not even itself
    raw = link.tx.frame(1, 0, pdu, map_id=MANAGEMENT_MAP, spi=PARTNER_A_SPI)
    assert reason_of(lambda: link.rx.receive(raw)) == Reason.NOT_AUTHORISED
    raw = link.tx.frame(0, 0, pdu, map_id=MANAGEMENT_MAP, spi=OPERATOR_SPI)
    out = link.rx.receive(raw)
    assert out[0].kind == "rekey"
    assert (out[0].vcid, out[0].map_id, out[0].sa.owner, out[0].packet) == (
        0, MANAGEMENT_MAP, "operator", pdu)
    old = link.tx.frame(1, 0, ping(seq=2), spi=PARTNER_A_SPI)
    assert reason_of(lambda: link.rx.receive(old)) == Reason.BAD_MAC
    link.tx.senders[PARTNER_A_SPI].rekeyed(new_key, 1)
    assert link.rx.receive(link.tx.frame(1, 0, ping(seq=2), spi=PARTNER_A_SPI))
    # rollback to an older generation is refused
    raw = link.tx.frame(0, 1, build_rekey(KEK, PARTNER_A_SPI, 1, bytes(32)),
                        map_id=MANAGEMENT_MAP, spi=OPERATOR_SPI)
    assert [p.reason for p in link.rx.receive(raw).problems] == [Reason.BAD_KEY]
    # the new key survives a restart
    link.flight_store.close()
    engine = load_key_file(key_file).engine(ArsnStore(tmp_path / "flight.db"))
    assert engine.sas[PARTNER_A_SPI].key == new_key
    assert engine.sas[PARTNER_A_SPI].key_generation == 1


def test_rekey_with_garbage_wrapped_key(link: Link):
    pdu = build_rekey(KEK, PARTNER_A_SPI, 5, bytes(32))
    pdu = pdu[:-1] + bytes([pdu[-1] ^ 1])
    raw = link.tx.frame(0, 0, pdu, map_id=MANAGEMENT_MAP, spi=OPERATOR_SPI)
    assert [p.reason for p in link.rx.receive(raw).problems] == [Reason.BAD_KEY]


def _holder(**over) -> dict:
    e = {"name": "x", "spi": 1, "key": "11" * 32,
         "rights": {"apids": "all", "vcids": [0], "maps": "all", "farm_control": "all",
                    "whole_schedule": True, "key_management": True}}
    e.update(over)
    return e


def test_key_file_errors(tmp_path):
    p = tmp_path / "k.json"
    partial_rights = {"apids": "all", "vcids": [0]}  # the rest must be stated
    for doc in [{"version": 2, "key_holders": []},
                {"version": 1, "security_associations": [_holder()]},
                {"version": 2},
                {"version": 2, "key_holders": [_holder(spi=0)]},
                {"version": 2, "key_holders": [_holder(key="11" * 8)]},
                {"version": 2, "key_holders": [_holder(key="zz")]},
                {"version": 2, "key_holders": [_holder(mac_len=33)]},
                {"version": 2, "key_holders": [_holder(rights=partial_rights)]},
                {"version": 2, "key_holders": [_holder(quotas={"schedule_slots": -1})]},
                {"version": 2, "key_holders": [_holder(quotas={"no_such_quota": 1})]},
                # one name or SPI twice; one data VC for two key holders
                {"version": 2, "key_holders": [_holder(), _holder(spi=2)]},
                {"version": 2, "key_holders": [_holder(), _holder(name="y")]},
                {"version": 2, "key_holders": [_holder(), _holder(name="y", spi=2)]}]:
        p.write_text(json.dumps(doc))
        with pytest.raises(SecurityError) as e:
            load_key_file(p)
        assert e.value.reason == Reason.KEY_FILE, doc
    p.write_text("{not json")
    with pytest.raises(SecurityError):
        load_key_file(p)


def test_key_file_apid_ranges_and_round_trip(tmp_path):
    doc = {"version": 2, "key_holders": [
        _holder(), _holder(name="uni-a", spi=10, rights={
            "apids": ["0x100-0x10F", 0x120, [0x130, 0x131]], "vcids": [1], "maps": [0],
            "farm_control": [1], "whole_schedule": False, "key_management": False})]}
    kf = parse_key_document(doc)
    rights = kf.by_name("uni-a").rights
    assert rights.apids == frozenset(range(0x100, 0x110)) | {0x120, 0x130, 0x131}
    assert rights.may_command(0x10F) and not rights.may_command(0x110)
    assert not rights.may_send_data(1, MANAGEMENT_MAP) and not rights.may_control_farm(0)
    assert kf.by_name("x").rights.may_control_farm(5)
    again = parse_key_document(json.loads(json.dumps(kf.to_document())))
    assert [(s.owner, s.spi, s.key, s.rights) for s in again.sas] == \
        [(s.owner, s.spi, s.key, s.rights) for s in kf.sas]


def test_segmented_packet_over_several_frames(link: Link):
    big = PusTc(256, 20, 3, bytes(2500), seq_count=9).encode()
    pieces = link.tx.segments(1, big, PARTNER_A_SPI)
    assert len(pieces) == 3
    got = []
    for ns, (flags, seg) in enumerate(pieces):
        got += link.rx.receive(link.tx.frame(1, ns, seg, seq_flags=flags, spi=PARTNER_A_SPI))
    assert [d.packet for d in got] == [big]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.just(("send", 0)), st.just(("lose", 0)),
                          st.tuples(st.just("replay"), st.integers(0, 1000))), max_size=40))
def test_anti_replay_model(key_file, ops):
    """Against a model of the rules: a frame is accepted exactly when its ARSN
    is in (last, last + window] and FARM-1 takes its N(S); a replay never is."""
    link = Link(key_file, ":memory:", ":memory:")
    window = link.engine.sas[OPERATOR_SPI].arsn_window
    last, vr = 0, 0
    sent: list[tuple[int, int, bytes]] = []
    for op, k in ops:
        if op == "replay" and sent:
            arsn, ns, raw = sent[k % len(sent)]
        else:
            arsn = link.ground_store.get(OPERATOR_SPI)[0] + 1
            ns = vr
            raw = link.tx.frame(0, ns, ping(seq=ns), spi=OPERATOR_SPI)
            sent.append((arsn, ns, raw))
            if op == "lose":
                continue
        expect = last < arsn <= last + window and ns == vr
        try:
            link.rx.receive(raw)
            got = True
        except ProtocolError as e:
            got = False
            if arsn <= last:  # used: a FOP-1 retransmission if FARM-1 sees a duplicate
                nw = link.rx.farms[0].nw
                dup = 0 < (vr - ns) & 0xFF <= nw
                assert e.reason == (Reason.FARM_DUPLICATE if dup else Reason.REPLAY)
        assert got == expect
        assert link.rx.farms[0].state == "open"
        if got:
            last, vr = arsn, (vr + 1) & 0xFF
        assert link.flight_store.get(OPERATOR_SPI)[0] == last


def test_burst_with_group_commit(link: Link, key_file, tmp_path):
    """A burst is committed once; replays inside the burst are still caught,
    and after a restart every frame of the burst is a replay."""
    frames = [link.tx.frame(0, i, ping(seq=i), spi=OPERATOR_SPI) for i in range(5)]
    results = link.rx.receive_many([frames[0], frames[1], frames[1], frames[2], b"junk",
                                    frames[3], frames[4]])
    kinds = [r.reason if isinstance(r, ProtocolError) else "ok" for r in results]
    assert kinds == ["ok", "ok", Reason.FARM_DUPLICATE, "ok", Reason.TRUNCATED, "ok", "ok"]
    assert link.rx.accepted == 5 and sum(link.rx.rejected.values()) == 2
    link.flight_store.close()
    store = ArsnStore(tmp_path / "flight.db")
    assert store.get(OPERATOR_SPI)[0] == 5
    rx = TcReceiver(SCID, link.rx.vcs, load_key_file(key_file).engine(store))
    assert all(isinstance(r, SecurityError) and r.reason == Reason.REPLAY
               for r in rx.receive_many(frames))
