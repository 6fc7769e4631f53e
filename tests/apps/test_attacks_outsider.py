"""An outsider with no key but a radio: it can record, replay and forge
frames. Nothing it sends may move a FARM, run a command, drown the
downlink in events or push a key holder's frame out of the uplink queue;
and the ground's own COP-1 retransmissions must keep working through SDLS."""

from __future__ import annotations

import os

import pytest
from uplink_kit import OPERATOR, UNI_A, UNI_A_APID, Link

from fsw.core.ids import COMMS_APID, SAMPLE_APID
from fsw.protocol import Reason
from fsw.protocol.crc import crc16
from fsw.protocol.tc import UNLOCK, TcFrame, set_vr


@pytest.fixture
def link(tmp_path) -> Link:
    return Link(tmp_path)


def forged(n: int) -> list[bytes]:
    """Frames that look right up to the MAC: the operator's SPI, random MAC."""
    out = []
    for i in range(n):
        body = TcFrame(0x2AB, 0, i & 0xFF, b"\x00\x01" + i.to_bytes(4, "big") + os.urandom(40),
                       map_id=0).encode()
        out.append(body)
    return out


def test_a_frame_that_forced_lockout_cannot_do_it_again(link: Link):
    g = link.ground
    farm = link.comms.rx.farms[0]
    # the operator's ground is out of step (say, after a reboot on board):
    # its authentic frame lands in FARM-1's lockout area
    stray = g.tx.frame(0, 100, g.set_input(SAMPLE_APID, 1.0).encode(), spi=OPERATOR)
    link.send([stray])
    assert farm.lockout
    link.send([g.control(UNLOCK, OPERATOR, vc=0)])
    assert not farm.lockout
    for _ in range(3):  # recorded and replayed
        link.send([stray])
    assert not farm.lockout and link.app("sample").inputs == []
    assert link.comms.rejected_by_reason[Reason.REPLAY] == 3
    link.operator_still_commands()


def test_a_frame_discarded_for_retransmission_cannot_move_a_reset_farm(link: Link):
    g = link.ground
    farm = link.comms.rx.farms[0]
    # frame 0 is lost in the air; frame 1 arrives, is authentic, and FARM-1
    # discards it asking for a retransmission (E3): the outsider records it
    g.frame(g.set_input(SAMPLE_APID, 1.0).encode(), OPERATOR)
    recorded = g.frame(g.set_input(SAMPLE_APID, 2.0).encode(), OPERATOR)
    link.send([recorded])
    assert farm.retransmit and not farm.lockout and farm.vr == 0
    # the operator restarts COP-1 on the VC with Set V(R): the recorded frame's
    # N(S) now lies in the lockout area
    link.send([g.control(set_vr(100), OPERATOR, vc=0)])
    assert farm.vr == 100
    for _ in range(3):
        link.send([recorded])
    assert not farm.lockout and farm.vr == 100
    assert link.app("sample").inputs == []
    assert link.comms.rejected_by_reason[Reason.REPLAY] == 3
    g.ns[0] = 100
    link.operator_still_commands()


def test_replays_of_accepted_frames_run_nothing(link: Link):
    g = link.ground
    tcs = [g.set_input(UNI_A_APID, float(i)) for i in range(12)]
    frames = [g.frame(tc.encode(), UNI_A) for tc in tcs]
    link.send(frames)
    assert link.app("uni_a").inputs == [float(i) for i in range(12)]
    state = link.comms.rx.farms[1].to_dict()
    link.send(frames + frames[::-1])
    assert link.app("uni_a").inputs == [float(i) for i in range(12)]
    assert link.comms.rx.farms[1].to_dict() == state
    link.operator_still_commands()


def test_a_flood_cannot_drown_the_downlink_in_rejection_events(link: Link):
    for _ in range(20):  # two seconds of 200 bad frames per cycle
        for f in forged(200) + [os.urandom(60) for _ in range(50)]:
            link.comms.receive_frame(f)
        link.exe.step()
    tms = link.ground.downlink(link.comms.take_frames())
    assert link.comms.frames_rejected == 20 * 250
    summaries = [t for t in tms if t.service == 5 and t.apid == COMMS_APID]
    assert 1 <= len(summaries) <= 8  # squelched summaries, not one event per frame
    assert link.comms.state.name == "RUNNING"
    link.operator_still_commands()


def test_outsider_frames_never_push_out_a_queued_operator_frame(link: Link):
    g = link.ground
    first = g.set_input(SAMPLE_APID, 1.0)
    last = g.set_input(SAMPLE_APID, 2.0)
    link.comms.receive_frame(g.frame(first.encode(), OPERATOR))
    for f in forged(1000):
        link.comms.receive_frame(f)
    link.comms.receive_frame(g.frame(last.encode(), OPERATOR))
    link.exe.step()
    assert link.app("sample").inputs == [1.0, 2.0]


def test_fop_retransmissions_work_through_sdls(link: Link):
    """FOP-1 sends three frames; the second is lost on the way up and the
    CLCWs are lost on the way down, so after T1 the FOP sends all three again
    (byte for byte). The one already accepted is a COP-1 duplicate, not an
    attack; the lost one and the one after it get through; each TC runs once."""
    g = link.ground
    fop = g.tx.fop(vcid=1, spi=UNI_A, t1_s=2.0)
    fop.initiate()
    tcs = [g.set_input(UNI_A_APID, float(i)) for i in range(3)]
    now = link.exe.clock.now()
    sent = [f for tc in tcs for f in fop.transmit(tc.encode(), now)]
    link.send([sent[0], sent[2]])
    assert link.app("uni_a").inputs == [0.0]
    assert link.comms.rx.farms[1].retransmit
    resent = fop.on_timer(link.exe.clock.now() + 2.5)
    assert resent == sent
    link.send(resent)
    assert link.app("uni_a").inputs == [0.0, 1.0, 2.0]
    by = link.comms.rejected_by_reason
    assert by[Reason.REPLAY] == 0 and by[Reason.FARM_DUPLICATE] == 1
    # the CLCW that comes down now acknowledges everything
    tm_frames = link.comms.take_frames() or [link.comms.idle_frame()]
    for f in tm_frames:
        link.ground.rx.add(f)
    clcw = link.comms.rx.clcw(1)
    assert fop.on_clcw(clcw, link.exe.clock.now()) == [] and not fop.sent


def test_frame_with_a_bad_crc_or_header_is_only_counted(link: Link):
    g = link.ground
    good = bytearray(g.frame(g.set_input(SAMPLE_APID, 3.0).encode(), OPERATOR))
    bad_mac = bytearray(good)
    bad_mac[12] ^= 1
    bad_mac[-2:] = crc16(bytes(bad_mac[:-2])).to_bytes(2, "big")
    link.send([bytes(bad_mac), bytes(good[:-1]) + bytes([good[-1] ^ 0xFF])])  # FECF wrong
    assert link.app("sample").inputs == []
    assert link.comms.rejected_by_reason[Reason.BAD_MAC] == 1
    assert link.comms.rejected_by_reason[Reason.BAD_FECF] == 1
    link.send([bytes(good)])
    assert link.app("sample").inputs == [3.0]
