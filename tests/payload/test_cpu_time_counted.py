"""The host counts every kind of CPU time an app spends, whatever its process is called.

docs/payload.md (Supervision): every second the host measures each app's CPU time
from `/proc/<pid>/stat` and throttles an app over its manifest's `cpu_percent`. The
time an app spends in the kernel on its behalf counts as much as its own (proc(5):
utime and stime, fields 14 and 15), and the process's name (field 2, `comm`: the
interpreter's file name, which a process may change when no seccomp filter stops
it) may hold spaces and parentheses, so the fields are counted from the last `)`.
Outside a simulation (flight: no lockstep) START does not wait for the app's READY,
so the host supervises an app that is still starting: that must cost no cycle.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

IN_THE_KERNEL = """
import os
from fsw.payload import PayloadApp

class App(PayloadApp):
    def execute(self):
        # 0.4 s of CPU a cycle, nearly all of it the kernel's (getrandom(2) filling
        # 64 KiB a call): four times its 10 % share
        started = os.times().system
        while os.times().system - started < 0.4:
            os.urandom(1 << 16)
"""

SPINNER = """
import time
from fsw.payload import PayloadApp

class App(PayloadApp):
    def execute(self):
        started = time.process_time()
        while time.process_time() - started < 0.4:  # four times its 10 % share
            pass
"""

SLOW_TO_START = """
import time
from fsw.payload import PayloadApp, on_command

class App(PayloadApp):
    def init(self):
        time.sleep(1.0)  # a table to load, say: READY comes a while after the start
        self.count = 0

    def execute(self):
        self.count += 1
        self.publish(TM, count=self.count, value=0.0)
"""


def _throttled_for_cpu(sim: PartnerSim, app: str) -> bool:
    return any(e.text.startswith(f"{app} throttled: CPU ") for e in sim.events_of())


def test_cpu_time_spent_in_the_kernel_counts_against_the_share(tmp_path):
    with PartnerSim(make_project(tmp_path, "syscaller", body=IN_THE_KERNEL)) as sim:
        sim.executive.run(30.0, until=lambda: _throttled_for_cpu(sim, "syscaller"))
        assert _throttled_for_cpu(sim, "syscaller")


def _interpreter_named(folder: Path, name: str) -> str:
    """The running interpreter under another file name (a symbolic link), in a copy of
    its virtual environment's layout when it runs in one, so that it finds its packages."""
    folder.mkdir(mode=0o755)
    (folder / "bin").mkdir(mode=0o755)
    if sys.prefix != sys.base_prefix:  # pyvenv.cfg beside bin/ makes `folder` the venv
        shutil.copy(Path(sys.prefix) / "pyvenv.cfg", folder / "pyvenv.cfg")
        os.symlink(Path(sys.prefix) / "lib", folder / "lib")
    link = folder / "bin" / name
    os.symlink(sys.executable, link)
    return str(link)


def test_an_app_whose_process_name_holds_parentheses_is_still_throttled(tmp_path,
                                                                         monkeypatch):
    # the name as /proc shows it (15 characters at most): ") 1 2 3" looks like the
    # end of the name and more fields
    name = "py) 1 2 3 4 5 6"
    sim = PartnerSim(make_project(tmp_path, "spinner", body=SPINNER))
    # the apps' user ids pass through the run's folder (0711) to the interpreter
    monkeypatch.setattr(sys, "executable", _interpreter_named(sim.workdir / "python", name))
    with sim:
        pid = sim.host.running["spinner"].pid
        with open(f"/proc/{pid}/stat", "rb") as fh:
            assert f"({name})".encode() in fh.read()
        sim.executive.run(30.0, until=lambda: _throttled_for_cpu(sim, "spinner"))
        assert _throttled_for_cpu(sim, "spinner")


def test_supervising_an_app_that_is_still_starting_costs_no_cycle(tmp_path):
    # flight's host: START does not wait for READY, and the host's cycles (with their
    # supervision, the first at once) run on while the app starts
    with PartnerSim(make_project(tmp_path, "slow", body=SLOW_TO_START),
                    lockstep=False) as sim:
        sim.run(2.0)  # at virtual speed: over before the app is READY
        assert "slow" in sim.host.running
        deadline = time.monotonic() + 60.0
        while not sim.telemetry("SlowStatus") and time.monotonic() < deadline:
            sim.run(0.1)  # READY, then a tick, then its packet
            time.sleep(0.02)
        failed = [e.text for e in sim.events_of() if "'payload_host' cycle failed" in e.text]
        packets = sim.telemetry("SlowStatus")
    assert packets
    assert failed == [], failed
