"""The comms app through a power cycle: FARM-1 state survives (the CLCW still
reports the V(R) the ground's FOP-1 knows, and the next frame in sequence is
accepted without re-initialising the link, CCSDS 232.1-B-2), and TM made
between passes waits in the store-and-forward queue and goes down at the next
pass, most important first."""

from __future__ import annotations

import json

from fsw.apps.comms import CommsApp
from fsw.apps.sample import SampleApp
from fsw.core import AppSpec, Executive, Severity, Store, VirtualClock
from fsw.core.ids import COMMS_APID, EXECUTIVE_APID, SAMPLE_APID
from fsw.core.wiring import Wiring
from fsw.protocol import services as sv
from fsw.protocol.tm import Clcw
from tests.apps.test_comms_integration import (
    FRAME_LEN,
    KEYS,
    OPERATOR,
    PARTNER_A,
    PARTNER_APID,
    SCID,
    Ground,
)

PRIORITY = {"events_high": 220, "events": 120, "verification": 200, "housekeeping": 50}


def boot(tmp_path, priority=PRIORITY, housekeeping=("sample",), **comms: object) -> Executive:
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,), store=Store(tmp_path / "store.db"),
                    wiring=Wiring(housekeeping=housekeeping, priority=priority))
    exe.add_app(AppSpec("comms", CommsApp, 10.0,
                        {"scid": SCID, "key_file": str(tmp_path / "keys.json"),
                         "arsn_db": str(tmp_path / "arsn.db"), "tm_frame_len": FRAME_LEN,
                         **comms}))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    assert exe.boot() == []
    return exe


def clcw_vr(exe: Executive) -> int:
    frame = exe.apps["comms"].idle_frame()
    return Clcw.decode(frame[-6:-2]).report_value


def test_farm_state_is_restored_after_a_power_cycle(tmp_path):
    (tmp_path / "keys.json").write_text(json.dumps(KEYS))
    exe = boot(tmp_path)
    ground = Ground(tmp_path / "keys.json")
    for _ in range(3):
        exe.apps["comms"].receive_frame(ground.frame(ground.tc(SAMPLE_APID, 17, 1), OPERATOR))
        exe.step()
    assert exe.apps["comms"].frames_accepted == 3 and clcw_vr(exe) == 3
    # power cycle: no shutdown, a new process on the same files
    exe = boot(tmp_path)
    assert clcw_vr(exe) == 3
    exe.apps["comms"].receive_frame(ground.frame(ground.tc(SAMPLE_APID, 17, 1), OPERATOR))
    exe.step()
    assert exe.apps["comms"].frames_accepted == 1 and clcw_vr(exe) == 4


def test_a_damaged_saved_state_is_ignored(tmp_path):
    (tmp_path / "keys.json").write_text(json.dumps(KEYS))
    store = Store(tmp_path / "store.db")
    store.put("farm", "0", b'{"vcid": 0, "window": 10, "state": "melted", "vr": 3}')
    store.close()
    exe = boot(tmp_path)
    assert clcw_vr(exe) == 0


def test_tm_made_between_passes_survives_a_power_cycle_and_goes_down_by_priority(tmp_path):
    (tmp_path / "keys.json").write_text(json.dumps(KEYS))
    exe = boot(tmp_path, store_and_forward=True)
    exe.run(3.0)  # housekeeping, no pass: nothing is taken
    exe.events.raise_event(SAMPLE_APID, 77, Severity.HIGH, "battery hot")
    exe.step()
    queued = len(exe.apps["comms"].downlink.queue)
    assert queued >= 3
    exe = boot(tmp_path, store_and_forward=True)  # power cycle before the pass
    assert len(exe.apps["comms"].downlink.queue) >= queued
    ground = Ground(tmp_path / "keys.json")
    tms = ground.downlink(exe.apps["comms"].take_frames())
    hot = next(i for i, t in enumerate(tms)
               if (t.service, t.subtype, t.apid) == (5, 4, SAMPLE_APID))
    # the HIGH event first: only events of its rank (an overrun a loaded machine may
    # cause is MEDIUM) may go down before it
    assert all((t.service, t.subtype) in ((5, 3), (5, 4)) for t in tms[:hot])
    hk = [t for t in tms if t.service == 3 and t.apid == SAMPLE_APID]
    assert len(hk) >= 3  # the housekeeping made before the power cycle
    assert len(exe.apps["comms"].downlink.queue) == 0
    assert ground.downlink(exe.apps["comms"].take_frames()) == []


def test_the_queue_ranks_tm_as_the_wiring_says(tmp_path):
    # fsw/core/wiring.py: events_high is MEDIUM and HIGH events (PUS ST[05]
    # subtypes 3 and 4), events the others (subtypes 1 and 2), verification
    # the ST[01] reports; a named housekeeping source may have its own rank,
    # the others take the housekeeping one (docs/autonomy.md)
    (tmp_path / "keys.json").write_text(json.dumps(KEYS))
    exe = boot(tmp_path, {**PRIORITY, "sample": 240}, ("sample", "executive"),
               store_and_forward=True)
    ground = Ground(tmp_path / "keys.json")
    exe.run(0.5)
    exe.apps["comms"].take_frames()  # what boot made: the queue starts empty
    exe.run(0.7)  # housekeeping at 1 s, queued by comms the cycle after
    for severity in (Severity.INFO, Severity.HIGH, Severity.LOW, Severity.MEDIUM):
        exe.events.raise_event(SAMPLE_APID, 77, severity, severity.name)
    exe.apps["comms"].receive_frame(ground.frame(ground.tc(SAMPLE_APID, 17, 1), OPERATOR))
    exe.run(0.3)
    kinds = []
    for tm in ground.downlink(exe.apps["comms"].take_frames()):
        if (tm.service, tm.subtype) == (3, 25):
            sid = sv.HkReport.decode(tm.source_data).sid
            kinds.append({SAMPLE_APID: "hk", EXECUTIVE_APID: "executive hk"}[sid])
        elif tm.apid == SAMPLE_APID and tm.service in (1, 5):
            kinds.append(f"{tm.service}.{tm.subtype}")
    assert kinds == ["hk", "5.4", "5.3", "1.1", "1.7", "5.1", "5.2", "executive hk"]


def test_frames_built_but_not_sent_when_the_power_fails_are_sent_after_the_reboot(tmp_path):
    # A pass that ends after one frame: the packets framed with it but still waiting
    # on board must not be forgotten by the store (at least once, never lost).
    (tmp_path / "keys.json").write_text(json.dumps(KEYS))
    exe = boot(tmp_path, store_and_forward=True)
    exe.run(6.0)  # housekeeping between passes
    queue = exe.apps["comms"].downlink.queue
    made = {raw for _, raw in queue.peek(len(queue))}
    assert len(made) >= 6
    ground = Ground(tmp_path / "keys.json")
    first = ground.downlink(exe.apps["comms"].take_frames(1))
    assert 0 < len(first) < len(made)
    exe = boot(tmp_path, store_and_forward=True)  # power cut: no shutdown
    rest = ground.downlink(exe.apps["comms"].take_frames())
    assert made <= {t.encode() for t in first + rest}


def raise_events(exe: Executive, n: int, severity: Severity = Severity.INFO,
                 first: int = 0) -> None:
    """`n` events of the sample app, "event <i>", forwarded by comms (at most 200
    a cycle: its event pipe takes 256)."""
    for start in range(first, first + n, 200):
        for i in range(start, min(start + 200, first + n)):
            exe.events.raise_event(SAMPLE_APID, 77, severity, f"event {i}")
        exe.step()
    exe.step()


def event_numbers(tms) -> list[int]:
    """The <i> of each "event <i>" of the sample app's, in the order they came down
    (TM[5,x]: a 16-bit event ID, then the text)."""
    return [int(t.source_data[2:].rstrip(b"\0").split()[1]) for t in tms
            if t.service == 5 and t.apid == SAMPLE_APID and t.source_data[2:8] == b"event "]


def quiet_store_and_forward(tmp_path, **comms: object) -> Executive:
    """A store-and-forward comms app whose queue starts empty, with nothing on
    board to report but what a test raises (no housekeeping wired)."""
    (tmp_path / "keys.json").write_text(json.dumps(KEYS))
    exe = boot(tmp_path, housekeeping=(), store_and_forward=True, **comms)
    exe.step()
    exe.apps["comms"].take_frames()
    return exe


def test_one_pass_takes_every_queued_packet_oldest_first_within_a_rank(tmp_path):
    exe = quiet_store_and_forward(tmp_path)
    raise_events(exe, 40)
    ground = Ground(tmp_path / "keys.json")
    assert event_numbers(ground.downlink(exe.apps["comms"].take_frames())) == list(range(40))
    # no frame was dropped to make room: the queue, not the frame buffer, bounds them
    texts = [e.text for e in exe.events.recent if e.apid == COMMS_APID]
    assert not any(t.startswith("downlink queue full") for t in texts), texts


def test_with_a_small_frame_buffer_the_queue_still_loses_nothing(tmp_path):
    # downlink_queue_frames bounds the frames built ahead; with store-and-forward
    # the packets wait in the queue instead, so a pass takes them all in turn
    exe = quiet_store_and_forward(tmp_path, downlink_queue_frames=2)
    raise_events(exe, 40)
    ground = Ground(tmp_path / "keys.json")
    got = []
    for _ in range(40):
        frames = exe.apps["comms"].take_frames()
        if not frames:
            break
        got += event_numbers(ground.downlink(frames))
    assert got == list(range(40))
    assert exe.apps["comms"].housekeeping_values()["frames_dropped"] == 0


def test_what_a_pass_sent_is_not_sent_again_after_a_reboot(tmp_path):
    exe = quiet_store_and_forward(tmp_path)
    raise_events(exe, 40)
    ground = Ground(tmp_path / "keys.json")
    assert event_numbers(ground.downlink(exe.apps["comms"].take_frames())) == list(range(40))
    exe = boot(tmp_path, housekeeping=(), store_and_forward=True)  # power cut: no shutdown
    assert event_numbers(ground.downlink(exe.apps["comms"].take_frames())) == []


def test_a_packet_made_during_a_pass_goes_ahead_of_less_important_ones_not_yet_framed(tmp_path):
    # frames are built from the queue when the link asks for them, most important
    # first: a HIGH event made during a pass does not wait behind the whole backlog
    exe = quiet_store_and_forward(tmp_path)
    raise_events(exe, 40)
    ground = Ground(tmp_path / "keys.json")
    first = event_numbers(ground.downlink(exe.apps["comms"].take_frames(1)))
    raise_events(exe, 1, Severity.HIGH, first=1000)
    rest = event_numbers(ground.downlink(exe.apps["comms"].take_frames()))
    assert sorted(first + rest) == [*range(40), 1000]
    assert rest.index(1000) < len(rest) - 1  # ahead of at least the last INFO event


def test_a_configured_queue_size_keeps_the_newest(tmp_path):
    # docs/autonomy.md: store_and_forward_packets; full, a new packet of the same
    # rank takes the place of the oldest
    exe = quiet_store_and_forward(tmp_path, store_and_forward_packets=10)
    raise_events(exe, 40)
    ground = Ground(tmp_path / "keys.json")
    assert event_numbers(ground.downlink(exe.apps["comms"].take_frames())) == list(range(30, 40))


def test_the_default_queue_holds_20000_packets(tmp_path):
    # docs/autonomy.md: 20000 packets unless store_and_forward_packets says otherwise;
    # 20001 between passes: the oldest is the one that gives way
    exe = quiet_store_and_forward(tmp_path)
    comms = exe.apps["comms"]
    for i in range(20001):
        comms.downlink.send(SAMPLE_APID, 5, 1, b"\0\x4d" + f"event {i}".encode())
    exe.step()
    ground = Ground(tmp_path / "keys.json")
    assert event_numbers(ground.downlink(comms.take_frames(1)))[:2] == [1, 2]


def farm_vr(exe: Executive, vc: int) -> int:
    """V(R) of TC VC `vc` as its CLCW reports it."""
    return exe.apps["comms"].rx.clcw(vc).report_value


def frames_on_both_vcs(tmp_path, **comms: object) -> Executive:
    """Three frames accepted on VC 0 (the operator's), two on VC 1 (uni-a's)."""
    (tmp_path / "keys.json").write_text(json.dumps(KEYS))
    exe = boot(tmp_path, **comms)
    ground = Ground(tmp_path / "keys.json")
    for spi, apid, n in ((OPERATOR, SAMPLE_APID, 3), (PARTNER_A, PARTNER_APID, 2)):
        for _ in range(n):
            exe.apps["comms"].receive_frame(ground.frame(ground.tc(apid, 17, 1), spi))
            exe.step()
    assert (farm_vr(exe, 0), farm_vr(exe, 1)) == (3, 2)
    return exe


def test_a_damaged_or_misfiled_state_of_one_vc_leaves_the_others_restored(tmp_path):
    exe = frames_on_both_vcs(tmp_path)
    store = exe.context.store
    vc1 = store.get("farm", "1")
    store.put("farm", "0", b"{not json")
    exe = boot(tmp_path)
    assert (farm_vr(exe, 0), farm_vr(exe, 1)) == (0, 2)
    store = exe.context.store
    store.put("farm", "0", vc1)  # VC 1's state under VC 0: not VC 0's
    exe = boot(tmp_path)
    assert (farm_vr(exe, 0), farm_vr(exe, 1)) == (0, 2)


def test_a_vc_added_to_the_configuration_starts_afresh_and_the_others_keep_theirs(tmp_path):
    (tmp_path / "keys.json").write_text(json.dumps(KEYS))
    exe = boot(tmp_path, tc_vcids=[1])
    ground = Ground(tmp_path / "keys.json")
    for _ in range(2):
        exe.apps["comms"].receive_frame(ground.frame(ground.tc(PARTNER_APID, 17, 1), PARTNER_A))
        exe.step()
    exe = boot(tmp_path)  # every VC of the key file: 0 and 1
    assert (farm_vr(exe, 0), farm_vr(exe, 1)) == (0, 2)


def test_a_vc_whose_farm_window_changed_starts_afresh(tmp_path):
    # a state saved under another window is not this channel's FARM-1 any more
    frames_on_both_vcs(tmp_path)
    exe = boot(tmp_path, farm_window=20)
    assert (farm_vr(exe, 0), farm_vr(exe, 1)) == (0, 0)
    exe = boot(tmp_path)  # the window it was saved under: nothing was overwritten
    assert (farm_vr(exe, 0), farm_vr(exe, 1)) == (3, 2)
