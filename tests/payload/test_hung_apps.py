"""An app that never answers cannot hold a simulated spacecraft.

docs/payload.md: in a simulation (host option `lockstep_timeout_s` above 0) START
waits for the app's READY (up to `lockstep_timeout_s`, never less than 10 s) and
each tick for the app's DONE (up to `lockstep_timeout_s`), so that a run on a
virtual clock is repeatable; an app whose `init` never ends, or whose cycle never
ends, holds the host no longer than that, and the other apps go on. With any
timeout, however short, an app's first tick is the cycle its START ran in.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

ASLEEP_IN_INIT = """
import time
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        time.sleep(3600)  # never READY, and silent
"""

ASLEEP_IN_ITS_CYCLE = """
import time
from fsw.payload import PayloadApp

class App(PayloadApp):
    def execute(self):
        time.sleep(3600)  # its first cycle never ends, and it sends nothing
"""

# What a test waits for before it calls the host stuck (a loaded machine is slow; the
# host's own waits add up to some 10 + 2 x 2 s here).
PATIENCE_S = 120.0


def _within(seconds: float, work: Callable[[], Any], unblock: Callable[[], None]) -> Any:
    """work() in a thread; past `seconds`, unblock() (kill the apps) and fail."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        unblock()
        thread.join(60.0)
        pytest.fail(f"the host was still waiting for a silent app after {seconds:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _kill_apps(sim: PartnerSim) -> Callable[[], None]:
    def kill() -> None:
        for run in list(sim.host.running.values()):
            try:
                os.kill(run.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return kill


def test_apps_that_never_answer_hold_the_simulation_no_longer_than_its_waits(tmp_path):
    projects = [make_project(tmp_path, "steady"),
                make_project(tmp_path, "stuck", apid=0x102, body=ASLEEP_IN_ITS_CYCLE,
                             rate_hz=0.1),
                make_project(tmp_path, "sleeper", apid=0x104, body=ASLEEP_IN_INIT)]
    sim = PartnerSim(projects)  # lockstep, 2 s: the simulations' setting
    try:
        # booting starts the three: "sleeper" never gets READY, "stuck" never ends its
        # first cycle
        _within(PATIENCE_S, sim.__enter__, _kill_apps(sim))
        assert set(sim.host.running) == {"steady", "stuck", "sleeper"}
        first = len(sim.telemetry("SteadyStatus"))

        def steady_went_on() -> bool:
            sim.events_of()  # collects what the bus carried
            return len(sim.telemetry("SteadyStatus")) >= first + 3

        # the others go on: "steady" is ticked each second (and "stuck" again at 10 s)
        _within(PATIENCE_S, lambda: sim.executive.run(20.0, until=steady_went_on),
                _kill_apps(sim))
        assert steady_went_on()
        assert sim.telemetry("StuckStatus") == []
        assert sim.telemetry("SleeperStatus") == []
    finally:
        sim.close()


def test_an_apps_first_tick_is_its_start_cycle_with_a_short_lockstep_timeout(tmp_path):
    with PartnerSim(make_project(tmp_path, "prompt"),
                    host_config={"lockstep_timeout_s": 1.0}) as sim:
        # START has returned: the app was READY and ticked in START's cycle. No cycle
        # runs from here on, only the bridges (no tick): its first packet comes now.
        deadline = time.monotonic() + 60.0
        while not sim.telemetry("PromptStatus") and time.monotonic() < deadline:
            sim.host.pump()
            sim.events_of()  # collects what the bus carried
            time.sleep(0.01)
        packets = sim.telemetry("PromptStatus")
    assert [p["count"] for p in packets] == [1]
