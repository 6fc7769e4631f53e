"""The comms app's downlink as the ground sees it: frame header fields, the
CLCW in the OCF taking turns over the TC virtual channels, the downlink queue
overflowing, and the configuration defaults docs/space-link.md states. Fields
are read at the bit positions the CCSDS books give, not with the project's own
decoders."""

from __future__ import annotations

import json
import re

from fsw.apps.comms import CommsApp
from fsw.apps.sample import SampleApp
from fsw.core import AppSpec, Executive, VirtualClock
from fsw.core.wiring import Wiring

KEYS = {
    "version": 2,
    "key_holders": [
        {"name": "operator", "spi": 1, "key": "a1" * 32,
         "rights": {"apids": "all", "vcids": [0, 1], "maps": "all", "farm_control": "all",
                    "whole_schedule": True, "key_management": True}},
        {"name": "uni-a", "spi": 10, "key": "b2" * 32,
         "rights": {"apids": [0x100], "vcids": [2], "maps": [0], "farm_control": [2],
                    "whole_schedule": False, "key_management": False}},
    ],
}


def boot(tmp_path, **config):
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps(KEYS))
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0),
                    wiring=Wiring(housekeeping=("comms", "sample")))
    exe.add_app(AppSpec("comms", CommsApp, 10.0, {"key_file": str(key_file), **config}))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    assert exe.boot() == []
    return exe


def header(frame: bytes) -> dict[str, int]:
    """TM primary header, CCSDS 132.0-B-3 4.1.2: version 2 bits, SCID 10,
    VCID 3, OCF flag 1; MC count; VC count; then the data field status."""
    w0 = int.from_bytes(frame[0:2], "big")
    return {"version": w0 >> 14, "scid": (w0 >> 4) & 0x3FF, "vcid": (w0 >> 1) & 7,
            "ocf": w0 & 1, "mc_count": frame[2], "vc_count": frame[3]}


def clcw_vcid(frame: bytes) -> int:
    """VCID of the CLCW in the OCF (the 4 octets before the FECF); CCSDS
    232.0-B-4 4.2.1: type 1 bit (0), version 2, status 3, COP 2, VCID 6."""
    word = int.from_bytes(frame[-6:-2], "big")
    assert word >> 31 == 0 and (word >> 24) & 3 == 1  # a CLCW, COP-1 in effect
    return (word >> 18) & 0x3F


def test_defaults_the_docs_state(tmp_path):
    exe = boot(tmp_path)
    comms = exe.apps["comms"]
    exe.run(6.05)
    frames = comms.take_frames()
    assert frames
    for f in frames:
        assert len(f) == 256  # tm_frame_len default
        assert header(f) == {**header(f), "version": 0, "scid": 0x2AB, "ocf": 1}
    # tc_vcids defaults to every VC of the key file: the CLCW takes turns over them
    assert {clcw_vcid(f) for f in frames} == {0, 1, 2}
    assert sorted(comms.rx.farms) == [0, 1, 2]
    assert all(farm.window == 10 for farm in comms.rx.farms.values())  # farm_window
    assert comms.downlink.queue_frames == 1024  # downlink_queue_frames


def test_clcw_cycles_over_every_tc_virtual_channel(tmp_path):
    exe = boot(tmp_path, tc_vcids=[0, 2])
    comms = exe.apps["comms"]
    exe.run(8.05)
    frames = comms.take_frames()
    assert len(frames) >= 6
    turns = [clcw_vcid(f) for f in frames]
    first = turns[0]
    assert turns == [[0, 2][(first // 2 + i) % 2] for i in range(len(turns))]
    # an idle frame reports the lowest VC
    assert clcw_vcid(comms.idle_frame()) == 0


def test_downlink_queue_overflow_keeps_the_newest_and_counts_the_rest(tmp_path):
    exe = boot(tmp_path, downlink_queue_frames=4)
    comms = exe.apps["comms"]
    exe.run(5.05)  # nobody takes frames for five seconds
    assert comms.downlink.frames_dropped > 0
    frames = comms.take_frames()
    assert len(frames) == 4
    counts = [header(f)["mc_count"] for f in frames]
    # the kept frames are the newest, in order; every frame before them was dropped
    assert counts == [(counts[0] + i) & 0xFF for i in range(4)]
    assert counts[0] == comms.downlink.frames_dropped & 0xFF
    overflows = [e.text for e in exe.events.recent if e.text.startswith("downlink queue full")]
    assert overflows and all(re.fullmatch(r"downlink queue full: [1-9]\d* oldest frames dropped", t)
                             for t in overflows), overflows
    # after the overflow the next frames follow on without a gap
    exe.run(1.0)
    later = comms.take_frames()
    assert later and header(later[0])["mc_count"] == (counts[-1] + 1) & 0xFF
