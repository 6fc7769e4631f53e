"""The comms app's configuration as docs/space-link.md states it: the
defaults (SCID 0x2AB, 256-octet TM frames, the anti-replay numbers beside the
key file, a FARM-1 window of 10, 16 frames per key holder and per cycle) and
each key honoured when it is given. Expected values are the documented ones
and the standards' (CCSDS 232.0-B TC frames, 132.0-B TM frames, 232.1-B
FARM-1), never the app's own constants."""

from __future__ import annotations

from uplink_kit import OPERATOR, UNI_A, UNI_A_APID, UNI_B, UNI_B_APID, Link

from fsw.apps.comms import CommsApp
from fsw.core import AppSpec, Executive, VirtualClock
from fsw.core.ids import SAMPLE_APID
from fsw.protocol import Reason

DOC_SCID = 0x2AB  # docs/space-link.md, the comms app's default
DOC_TM_FRAME_LEN = 256
HOLDERS = ((OPERATOR, 0, SAMPLE_APID), (UNI_A, 1, UNI_A_APID), (UNI_B, 2, UNI_B_APID))


def scid_of(frame: bytes) -> int:
    """The spacecraft ID of a TM frame: bits 2-11 of its first octets (132.0-B 4.1.2)."""
    return int.from_bytes(frame[:2], "big") >> 4 & 0x3FF


def accepted(link: Link) -> tuple[int, ...]:
    """V(R) of TC VCs 0, 1 and 2 as the comms app's CLCWs report them (232.1-B:
    the number of the next frame expected, so the frames accepted from 0)."""
    return tuple(link.comms.rx.clcw(vc).report_value for vc in (0, 1, 2))


def offer(link: Link, spi: int, n: int) -> None:
    """`n` more AD frames of key holder `spi`, in sequence, each with one TC."""
    apid = {spi: apid for spi, _vc, apid in HOLDERS}[spi]
    for _ in range(n):
        link.comms.receive_frame(link.ground.frame(link.ground.tc(apid, 17, 1).encode(), spi))


def test_the_documented_defaults(tmp_path):
    link = Link(tmp_path, comms={})
    ground = link.ground  # expects SCID 0x2AB and 256-octet TM frames
    tc = ground.tc(SAMPLE_APID, 17, 1)
    tms = link.send([ground.frame(tc.encode(), OPERATOR)])
    assert (17, 2) in [(t.service, t.subtype) for t in tms if t.apid == SAMPLE_APID]
    frames = [*link.comms.take_frames(), link.comms.idle_frame()]
    assert {(len(raw), scid_of(raw)) for raw in frames} == {(DOC_TM_FRAME_LEN, DOC_SCID)}
    # the anti-replay numbers: beside the key file, under its name
    assert (tmp_path / "keys.arsn.db").is_file()
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["keys.arsn.db", "store.db"]


def test_a_fresh_comms_app_reports_nothing_done(tmp_path):
    # housekeeping before the first frame: every count and the last reason are 0
    link = Link(tmp_path, comms={})
    values = link.comms.housekeeping_values()
    assert {k: v for k, v in values.items() if v} == {}


def test_the_default_farm_window_is_10(tmp_path):
    # FARM-1 (CCSDS 232.1-B-2 3.6): with W = 10 the positive window is V(R) to
    # V(R) + 4; N(S) = V(R) + 9 falls in the lockout area
    link = Link(tmp_path, comms={})
    link.ground.ns[0] = 9
    offer(link, OPERATOR, 1)
    link.exe.step()
    assert link.comms.rx.clcw(0).lockout


def test_a_configured_farm_window(tmp_path):
    # with W = 20 the positive window reaches V(R) + 9: the frame is discarded
    # for retransmission (E3), and no Lockout
    link = Link(tmp_path, comms={"farm_window": 20})
    link.ground.ns[0] = 9
    offer(link, OPERATOR, 1)
    link.exe.step()
    clcw = link.comms.rx.clcw(0)
    assert not clcw.lockout and clcw.retransmit and clcw.report_value == 0


def test_configured_scid_frame_length_and_anti_replay_file(tmp_path):
    db = tmp_path / "elsewhere" / "replay.db"
    db.parent.mkdir()
    link = Link(tmp_path, comms={"scid": 0x123, "tm_frame_len": 512, "arsn_db": str(db)},
                scid=0x123, frame_len=512)
    tc = link.ground.tc(SAMPLE_APID, 17, 1)
    tms = link.send([link.ground.frame(tc.encode(), OPERATOR)])
    assert (17, 2) in [(t.service, t.subtype) for t in tms if t.apid == SAMPLE_APID]
    frames = [*link.comms.take_frames(), link.comms.idle_frame()]
    assert {(len(raw), scid_of(raw)) for raw in frames} == {(512, 0x123)}
    assert db.is_file() and not (tmp_path / "keys.arsn.db").exists()


def test_each_cycle_takes_16_frames_one_key_holder_after_another(tmp_path):
    # docs/space-link.md: 16 frames queued per key holder, 16 taken a cycle, in
    # turn; the holder that goes first moves on each cycle, so none is always last
    link = Link(tmp_path, comms={})
    sent = dict.fromkeys((OPERATOR, UNI_A, UNI_B), 0)
    taken = []
    before = accepted(link)
    for _ in range(4):
        for spi, vc, _apid in HOLDERS:
            queued = sent[spi] - accepted(link)[vc]
            offer(link, spi, 16 - queued)
            sent[spi] += 16 - queued
        link.exe.step()
        now = accepted(link)
        taken.append(tuple(b - a for a, b in zip(before, now, strict=True)))
        before = now
    # 16 a cycle: five rounds of three, and the 16th from the holder whose turn it is
    assert taken == [(6, 5, 5), (5, 6, 5), (5, 5, 6), (6, 5, 5)]


def test_configured_frames_per_key_holder_and_per_cycle(tmp_path):
    link = Link(tmp_path, comms={"uplink_frames_per_holder": 4, "uplink_frames_per_cycle": 6})
    for spi, _vc, _apid in HOLDERS:
        offer(link, spi, 10)  # 4 queued, the 6 newest dropped
    link.exe.step()
    assert accepted(link) == (2, 2, 2)
    for _ in range(3):
        link.exe.step()
    assert accepted(link) == (4, 4, 4)
    assert link.comms.rejected_by_reason[Reason.QUEUE_FULL] == 18


def test_without_a_key_file_the_app_does_not_start():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("comms", CommsApp, 10.0, {}))
    assert exe.boot() == ["comms"]
    texts = [e.text for e in exe.events.recent]
    assert "app 'comms' failed to initialise: comms: 'key_file' is not configured" in texts
