"""One app's crash costs the other apps nothing.

docs/payload.md: each cycle, for each running app, its commands and topics go down
the bridge and it ticks at its rate; a crash restarts after 1, 2, 4... s. The cycle
in which the host finds a crashed app (and plans its restart) still serves every
other app: an app at 10 Hz is ticked in that very cycle.
"""

from __future__ import annotations

import sys

import pytest

from ground.payload import PartnerSim
from tests.payload.kit import CRASHES_ONCE, make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

TIMEKEEPER = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def execute(self):
        self.publish(TM, count=0, value=self.now())  # when its tick came
"""


def test_the_cycle_that_finds_a_crash_still_ticks_the_other_apps(tmp_path):
    # the crashed app comes first in the host's round of its apps (started first)
    projects = [make_project(tmp_path, "fragile", body=CRASHES_ONCE),
                make_project(tmp_path, "keeper", apid=0x102, body=TIMEKEEPER, rate_hz=10)]
    with PartnerSim(projects) as sim:

        def crash_found() -> list[float]:
            return [e.time_s for e in sim.events_of() if e.text.startswith("fragile crashed")]

        sim.executive.run(30.0, until=lambda: bool(crash_found()))
        sim.run(1.0)
        found_at, = crash_found()
        ticks = [row["value"] for row in sim.telemetry("KeeperStatus")]
    assert any(abs(t - found_at) < 1e-3 for t in ticks), (found_at, ticks)
