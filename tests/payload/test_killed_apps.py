"""An app killed at once costs the host no cycle, however long its process takes to die.

docs/payload.md: a stream that is no frames stops the app at once (SIGKILL, KILLED);
the host never blocks on an app, so it does not wait for the killed process either:
it closes it at a later cycle, once it has ended. A process with much memory takes
a while to end after SIGKILL (the kernel frees its pages first, and a sandboxed app
runs SCHED_IDLE), so the host's next cycles usually find it still there.
"""

from __future__ import annotations

import signal
import sys
import time

import pytest

from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

HEAVY_GARBLER = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.ballast = bytearray(72 << 20)  # 72 MiB, every page touched
        for i in range(0, len(self.ballast), 4096):
            self.ballast[i] = 1

    def execute(self):
        self._link.sock.sendall(b"\\xff\\xff\\xff\\xff\\x01")   # a length of 4 GiB
"""

ROUNDS = 5  # starts and kills: the host's next cycle finds most still there


def test_an_app_killed_at_once_is_closed_later_without_a_failed_cycle(tmp_path):
    projects = [make_project(tmp_path, "steady"),
                make_project(tmp_path, "garbler", apid=0x102, body=HEAVY_GARBLER)]
    with PartnerSim(projects) as sim:
        processes = []
        for round_ in range(ROUNDS):
            if round_:
                assert sim.app_command(12, "garbler")  # START again
            # its first tick is in START's cycle: killed there, or soon after
            sim.executive.run(30.0, until=lambda: "garbler" not in sim.host.running)
            assert "garbler" not in sim.host.running
            # no cycle has run since the kill: it is being stopped
            (run, _kill_at), = sim.host.stopping
            processes.append(run.launched.process)
            deadline = time.monotonic() + 60.0
            while sim.host.stopping and time.monotonic() < deadline:
                sim.run(0.1)
        sim.run(1.0)
        failed = [e.text for e in sim.events_of() if "'payload_host' cycle failed" in e.text]
        stops = [e.text for e in sim.events_of() if e.text.startswith("garbler stopped:")]
        steady = "steady" in sim.host.running
    assert failed == [], failed
    assert stops == ["garbler stopped: malformed bridge data "
                     "(frame length 4294967295 outside 3..4096)"] * ROUNDS
    assert [p.returncode for p in processes] == [-signal.SIGKILL] * ROUNDS
    assert steady
