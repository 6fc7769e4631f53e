"""The payload host from its boot: counters start at zero, supervision at once.

docs/payload.md: the host's housekeeping counts the messages the apps published
since boot, and every supervision period (1 s) the host measures each app;
storage over its quota stops the app at once. Apps that were running start again
at boot, so the first supervision is at the host's first cycle: an app whose
folder is over its quota when the spacecraft reboots is stopped there, not a
period later. The expected counts are what the test saw on the bus.
"""

from __future__ import annotations

import sys
import time

import pytest

from fsw.apps.payload_host import PayloadHostApp
from fsw.core import Executive, VirtualClock
from fsw.payload.manifest import load_manifest
from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")


def test_messages_in_counts_every_message_published_since_boot(tmp_path):
    project = make_project(tmp_path, "talker")
    m = load_manifest(project / "manifest.toml")
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    # one pipe, watching from before the boot, for the host's reports and all the app
    # puts on the bus, in bus order (the app's ids as the host declares them: variable)
    seen = exe.bus.create_pipe("test.from_boot", 512)
    exe.bus.register(PayloadHostApp.HK)
    for msg_id in (m.hk_id, *m.publish_ids):
        exe.bus.register_variable(msg_id, "talker telemetry")
    for msg_id in (PayloadHostApp.HK.msg_id, m.hk_id, *m.publish_ids):
        exe.bus.subscribe(seen, msg_id)
    published = 0
    reported: list[tuple[int, int]] = []  # (the host's count, the messages seen before)
    deadline = time.monotonic() + 120.0  # a loaded machine starts the app late

    def enough() -> bool:
        nonlocal published
        assert time.monotonic() < deadline
        for msg_id, payload in seen.drain():
            if msg_id == PayloadHostApp.HK.msg_id:
                reported.append((PayloadHostApp.HK.unpack(payload)["messages_in"], published))
            else:
                published += 1
        return published >= 3 and len(reported) >= 2 and reported[-1][1] >= 3

    with PartnerSim(project, executive=exe) as sim:
        sim.executive.run(3600.0, until=enough)
    assert all(count == seen_so_far for count, seen_so_far in reported), reported


def test_an_app_over_its_storage_quota_at_boot_is_stopped_at_the_first_cycle(tmp_path):
    with PartnerSim(make_project(tmp_path, "hoard", storage_files=2)) as sim:
        for name in ("a", "b", "c"):  # put there by hand, past its quota of 2 files
            (sim.workdir / "payload" / "data" / "hoard" / name).write_bytes(b"x")
        sim.reboot()  # at once: no supervision saw them before
        sim.run(1.5)
        stops = [e for e in sim.events_of() if e.text.startswith("hoard stopped: quota")]
        running = "hoard" in sim.host.running
    assert [e.text for e in stops] == ["hoard stopped: quota: storage 3 files over its quota "
                                       "of 2"]
    # the host runs at 10 Hz: its first cycle is before the clock reaches 0.1 s
    assert stops[0].time_s < 0.1
    assert not running
