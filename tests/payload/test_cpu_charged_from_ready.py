"""An app's CPU time is charged from its READY, the first period included.

docs/payload.md (Supervision): every second the host measures each app's CPU time,
charged from the app's READY, so the interpreter's start and the app's `init` are
not counted against its share. The other side of that rule: what the app spends
once it is READY counts in the very first period, not from the second one on. An app
that spends 0.4 s of CPU on one command before its first supervision (40 % of a
1 s period, its share is 10 %) is throttled at that supervision.

The CPU time is the app's own (`time.process_time` in the app, /proc in the host),
so a loaded machine makes the burn slower, never cheaper: the test waits for the
command's completion without letting mission time pass (the host's `pump`), so
the burn lies wholly inside the first period whatever the machine's load.

The period is the host option `supervision_period_s` (1 s by default): an app's
share is judged over it, so the same burn that overruns a 1 s period fits in a
4 s one.
"""

from __future__ import annotations

import contextlib
import struct
import sys
import time

import pytest

from fsw.core import COMMAND_RESULT_MSG
from fsw.core.app import COMMAND_HEADER
from fsw.core.message import cmd_msg_id
from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

BURNER = """
import time
from fsw.payload import PayloadApp, on_command

class App(PayloadApp):
    @on_command("BURN")
    def burn(self, seconds):
        started = time.process_time()
        while time.process_time() - started < seconds:
            pass
"""


@contextlib.contextmanager
def _burnt_at_once(tmp_path, cpu_s: float, host_config: dict | None = None):
    """A PartnerSim whose app has spent `cpu_s` of CPU on one command before mission
    time moved on from its start."""
    project = make_project(tmp_path, "burner", body=BURNER, cpu_percent=10, extra_manifest=(
        '\n[[commands]]\nname = "BURN"\ncode = 11\nargs = [{ name = "seconds", type = "f" }]\n'))
    with PartnerSim(project, host_config=host_config) as sim:
        exe, host = sim.executive, sim.host
        started_s = exe.clock.now()
        results = exe.bus.create_pipe("test.results", 64)
        exe.bus.subscribe(results, COMMAND_RESULT_MSG.msg_id)
        exe.bus.publish(cmd_msg_id(0x100), COMMAND_HEADER.pack(0x7101, 11)
                        + struct.pack(">f", cpu_s))
        completed = False
        deadline = time.monotonic() + 300.0  # the burn is CPU time: slow under load
        while not completed and time.monotonic() < deadline:
            host.pump()  # the bridge only: no tick, no supervision, no mission time
            completed = any(r["request_id"] == 0x7101 and r["stage"] == 7
                            for r in (COMMAND_RESULT_MSG.unpack(p) for _m, p in results.drain()))
            time.sleep(0.01)
        assert completed
        # the host supervised at its first cycle (0 s), before the app was started: the
        # next supervision, one period later, is the app's first, and the burn lies before
        assert exe.clock.now() == started_s < 1.0
        yield sim


def _throttles_until(sim: PartnerSim, end_s: float) -> list[str]:
    """Run to mission time `end_s` or the first throttle; the throttle events so far."""
    throttles: list[str] = []

    def throttled() -> bool:
        throttles[:] = [e.text for e in sim.events_of() if "throttled" in e.text]
        return bool(throttles)

    sim.executive.run(end_s - sim.executive.clock.now(), until=throttled)
    return throttles


def test_cpu_spent_before_the_first_supervision_is_charged_at_it(tmp_path):
    # 0.4 s of CPU in the first 1 s period: 40 %, four times its share
    with _burnt_at_once(tmp_path, 0.4) as sim:
        throttles = _throttles_until(sim, 1.5)  # up to half a period past the first
        running = "burner" in sim.host.running
    assert throttles and throttles[0].startswith("burner throttled: CPU "), throttles
    assert throttles[0].endswith("% over its 10% share")
    assert running  # throttled once, not stopped


def test_the_share_is_judged_over_the_configured_supervision_period(tmp_path):
    # 0.3 s of CPU: 30 % of a 1 s period, but 7.5 % of the 4 s one configured
    with _burnt_at_once(tmp_path, 0.3, {"supervision_period_s": 4.0}) as sim:
        throttles = _throttles_until(sim, 5.0)  # past the first 4 s period
        running = "burner" in sim.host.running
    assert throttles == []
    assert running
