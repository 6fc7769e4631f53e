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
from tests.payload.kit import audit_records, make_project

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


LAST_WORDS = """
import os, sys
from fsw.payload import PayloadApp

class App(PayloadApp):
    def execute(self):
        # its last line holds a byte that is no UTF-8 (the host reads it all the same)
        sys.stderr.write("a first line\\n")
        sys.stderr.flush()
        sys.stderr.buffer.write(b"the last line says why, \\xff " + b"x" * 60 + b"\\n")
        sys.stderr.buffer.flush()
        os._exit(3)
"""

QUITS = """
import os
from fsw.payload import PayloadApp

class App(PayloadApp):
    def execute(self):
        os._exit(0)  # ends by itself, saying nothing: a crash all the same
"""


def test_a_crash_is_reported_with_the_exit_status_and_the_last_line_of_its_errors(tmp_path):
    # docs/payload.md: a crash restarts the app after 1, 2, 4... s. The event and the
    # audit record say how it ended: its exit status and (the first 60 characters of)
    # the last line it wrote to its error output.
    crashy = make_project(tmp_path, "crashy", body=LAST_WORDS)
    quits = make_project(tmp_path, "quits", apid=0x108, body=QUITS)
    with PartnerSim([crashy, quits]) as sim:
        def crashed(app: str) -> list[str]:
            return [e.text for e in sim.events_of() if e.text.startswith(f"{app} crashed")]

        def disabled() -> bool:
            return any(e.text.startswith("quits disabled") for e in sim.events_of())

        # the one that ends at each start is a crash loop: disabled at the third
        sim.executive.run(60.0, until=lambda: bool(crashed("crashy") and disabled()))
        sim.run(1.5)  # the audit app writes once a second
        log = audit_records(sim)
        records = {r.app: r for r in reversed(log) if r.action == "crash"}  # the first
        disables = [(r.actor, r.app, r.detail) for r in log if r.action == "disable"]
        crashes = {app: crashed(app) for app in ("crashy", "quits")}
        # when each of the crash loop's events came, in mission time (s)
        quits = [(e.time_s, e.text) for e in sim.events_of()
                 if e.text.startswith(("quits crashed", "quits v1 started"))]
    how = "exit status 3: " + ("the last line says why, \ufffd " + "x" * 60)[:60]
    assert records["crashy"].actor == "onboard"
    assert records["crashy"].detail == f"{how}; restart in 1 s"
    assert crashes["crashy"][0].startswith("crashy crashed (exit status 3: the last line says ")
    assert crashes["quits"][:2] == ["quits crashed (exit status 0); restart in 1 s",
                                    "quits crashed (exit status 0); restart in 2 s"]
    assert ("onboard", "quits", "3 crashes in 60 s: crash loop") in disables
    # the restarts wait out their back-off: 1 s after the first crash, 2 s after the next
    crash_times = [t for t, text in quits if text.startswith("quits crashed")]
    restart_times = [t for t, text in quits if text.endswith("restart after crash)")]
    assert len(crash_times) == 3 and len(restart_times) == 2
    assert restart_times[0] - crash_times[0] >= 1.0 - 1e-6
    assert restart_times[1] - crash_times[1] >= 2.0 - 1e-6
