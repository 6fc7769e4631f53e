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
from fsw.core.ids import EXECUTIVE_APID, SAMPLE_APID
from fsw.core.wiring import Wiring
from fsw.protocol import services as sv
from fsw.protocol.tm import Clcw
from tests.apps.test_comms_integration import FRAME_LEN, KEYS, OPERATOR, SCID, Ground

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
