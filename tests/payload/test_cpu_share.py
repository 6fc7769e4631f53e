"""An app's CPU share is its appetite once running, not the cost of starting it.

The host measures each sandboxed app's CPU time per supervision period (1 s) and
throttles an app over its manifest's `cpu_percent`. Starting the interpreter and the
app's `init` (loading a table, warming a model) happen once: an app that is quiet
afterwards must not be throttled for them, while one that spins once running is.
"""

from __future__ import annotations

import sys

import pytest

from ground.payload import PartnerSim
from tests.payload.kit import make_project

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


def test_an_app_that_spins_once_running_is_still_throttled(tmp_path):
    with PartnerSim(make_project(tmp_path, "spinner", body=SPINNER, rate_hz=1)) as sim:
        sim.run(3.0)
        assert any(t.startswith("spinner throttled: CPU") for t in _throttles(sim))
