"""Safe mode stops every partner app, including one waiting to restart after a crash.

docs/payload.md: a crash restarts the app after 1, 2, 4... s; STOP_ALL (what
the mode manager's SAFE entry sequence sends) stops every app, and stopped apps
stay stopped across reboots until commanded. An app in its back-off after a
crash is not running, but it is meant to run: safe mode must cancel that too.
"""

from __future__ import annotations

import signal
import sys
import time

import pytest

from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

START = 12

CRASHES_ONCE = """
import os
from fsw.payload import PayloadApp, on_command

class App(PayloadApp):
    def init(self):
        self.count = 0

    def execute(self):
        self.count += 1
        self.publish(TM, count=self.count, value=0.0)
        if not self.storage.exists("crashed"):   # the first run only
            self.storage.write_bytes("crashed", b"1")
            os.abort()

    @on_command("SET_VALUE")
    def set_value(self, value):
        self.value = value
"""


def _started(sim: PartnerSim) -> list[str]:
    return [e.text for e in sim.events_of() if e.text.startswith("fragile v1 started")]


def test_safe_mode_cancels_a_restart_after_a_crash_and_it_stays_stopped(tmp_path):
    with PartnerSim(make_project(tmp_path, "fragile", body=CRASHES_ONCE)) as sim:
        sim.executive.run(30.0, until=lambda: any(
            e.text.startswith("fragile crashed") for e in sim.events_of()))
        assert any("restart in 1 s" in e.text for e in sim.events_of())
        started_before = len(_started(sim))
        assert sim.host.stop_all("safe mode") == 0  # not running: in its back-off
        sim.run(4.0)  # well past the 1 s back-off
        assert "fragile" not in sim.host.running
        assert len(_started(sim)) == started_before
        sim.reboot()
        assert "fragile" not in sim.host.running  # stays stopped until commanded
        assert sim.app_command(START, "fragile")
        sim.run(2.0)
        assert "fragile" in sim.host.running  # the crash was once: it runs now


HANGS_IN_STOP = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def stop(self):
        # never returns while the host is there: it must kill it at the end of the grace
        # (and were the host gone, the bridge's end ends the wait)
        while self._link.sock.recv(65536):
            pass
"""


def test_safe_mode_ends_every_app_even_one_that_ignores_stop(tmp_path):
    # STOP_ALL stops the apps together: the one that ends at STOP is closed, and the
    # one that keeps running past its grace (STOP_GRACE_S) is killed, whatever the order.
    quiet = make_project(tmp_path, "quiet")
    stubborn = make_project(tmp_path, "stubborn", apid=0x108, body=HANGS_IN_STOP)
    with PartnerSim([quiet, stubborn]) as sim:
        sim.run(1.0)
        processes = {name: run.launched.process for name, run in sim.host.running.items()}
        try:
            assert sim.host_command(16)  # STOP_ALL
            deadline = time.monotonic() + 60.0
            while sim.host.stopping and time.monotonic() < deadline:
                sim.run(0.1)
            codes = {name: p.poll() for name, p in processes.items()}
        finally:
            for p in processes.values():  # nothing outlives the test, whatever it found
                if p.poll() is None:
                    p.kill()
    assert not sim.host.running
    assert codes == {"quiet": 0, "stubborn": -signal.SIGKILL}
