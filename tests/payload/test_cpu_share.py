"""An app's CPU share is its appetite once running, not the cost of starting it.

The host measures each sandboxed app's CPU time per supervision period (1 s) and
throttles an app over its manifest's `cpu_percent`. Starting the interpreter and the
app's `init` (loading a table, warming a model) happen once: an app that is quiet
afterwards must not be throttled for them, while one that spins once running is.
"""

from __future__ import annotations

import signal
import sys
import time

import pytest

from fsw.core import Severity
from ground.payload import PartnerSim
from tests.payload.kit import audit_records, make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

SLOW_START = """
import time
from fsw.payload import PayloadApp, on_command

class App(PayloadApp):
    def init(self):
        started = time.process_time()
        while time.process_time() - started < 0.4:  # 0.4 s of CPU: four times its share
            pass

    @on_command("SET_VALUE")
    def set_value(self, value):
        self.value = value
"""

SPINNER = """
import time
from fsw.payload import PayloadApp

class App(PayloadApp):
    def execute(self):
        started = time.process_time()
        while time.process_time() - started < 0.4:
            pass
"""


def _throttles(sim: PartnerSim) -> list[str]:
    return [e.text for e in sim.events_of() if "throttled: CPU" in e.text]


def test_a_slow_start_is_not_charged_to_the_apps_share(tmp_path):
    with PartnerSim(make_project(tmp_path, "slowstart", body=SLOW_START)) as sim:
        sim.run(3.0)
        assert sim.command("SET_VALUE", value=1.0)
        assert _throttles(sim) == []


def _state(pid: int) -> str:
    """The process's state letter (proc(5), /proc/<pid>/stat field 3): T when stopped."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        return fh.read().rsplit(b")", 1)[1].split()[0].decode()


def test_an_app_that_spins_once_running_is_still_throttled(tmp_path):
    with PartnerSim(make_project(tmp_path, "spinner", body=SPINNER, rate_hz=1)) as sim:
        for _ in range(30):  # three seconds of mission time, a host cycle at a time
            sim.run(0.1)
            if _throttles(sim):
                break
        assert any(t.startswith("spinner throttled: CPU") for t in _throttles(sim))
        # paused (SIGSTOP) for the period after the one it overran: no tick, no CPU
        # (the host does not run meanwhile, so nothing resumes it; a loaded machine may
        # take a moment to deliver the signal)
        pid = sim.host.running["spinner"].pid
        deadline = time.monotonic() + 30.0
        while _state(pid) != "T" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _state(pid) == "T"

        def throttles_logged() -> list[str]:
            records = audit_records(sim)
            return [r.detail for r in records
                    if (r.actor, r.action, r.app) == ("onboard", "throttle", "spinner")]

        # and an audit record says why (the audit app writes once a second: wait for it)
        sim.executive.run(60.0, until=lambda: bool(throttles_logged()))
        assert throttles_logged()[0].startswith("CPU ")
        # three periods over in a row: killed (SIGKILL, a high-severity event), and it
        # stays stopped (not enabled: no start at the next boot)
        process = sim.host.running["spinner"].launched.process
        sim.executive.run(60.0, until=lambda: "spinner" not in sim.host.running)
        stops = [e for e in sim.events_of() if e.text.startswith("spinner stopped:")]
        registry = sim.host.registry["apps"]["spinner"]
        deadline = time.monotonic() + 60.0
        while process.poll() is None and time.monotonic() < deadline:
            sim.run(0.1)
    assert [e.severity for e in stops] == [Severity.HIGH]
    assert stops[0].text.startswith("spinner stopped: quota: CPU ")
    assert stops[0].text.endswith("% share for 3 s")
    assert registry["enabled"] is False
    assert process.returncode == -signal.SIGKILL


MODEST = """
import time
from fsw.payload import PayloadApp

class App(PayloadApp):
    def execute(self):
        started = time.process_time()
        while time.process_time() - started < 0.03:  # 0.03 s of CPU a second: 3 %
            pass
"""


def test_an_app_within_its_share_is_never_throttled(tmp_path):
    with PartnerSim(make_project(tmp_path, "modest", body=MODEST, rate_hz=1,
                                 cpu_percent=20)) as sim:
        sim.run(4.0)
        assert "modest" in sim.host.running
        assert _throttles(sim) == []


def test_a_paused_app_stopped_by_command_is_resumed_to_hear_it(tmp_path):
    with PartnerSim(make_project(tmp_path, "spinner", body=SPINNER, rate_hz=1)) as sim:
        for _ in range(30):
            sim.run(0.1)
            if _throttles(sim):
                break
        process = sim.host.running["spinner"].launched.process
        assert sim.app_command(13, "spinner")  # STOP, while paused
        deadline = time.monotonic() + 60.0
        while sim.host.stopping and time.monotonic() < deadline:
            sim.run(0.1)
        assert process.poll() is not None
        assert "spinner stopped: commanded" in [e.text for e in sim.events_of()]
