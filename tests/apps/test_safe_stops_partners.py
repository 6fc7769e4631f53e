"""SAFE stops the partner apps: the mode manager's declared SAFE entry reaches the
payload host, whose sandboxed partner processes are stopped and stay stopped."""

from __future__ import annotations

import sys

import pytest

from fsw.apps.mode import Mode, ModeManagerApp, SafeCause
from fsw.core import AppSpec, Executive, VirtualClock
from fsw.core.executive import load_config
from ground.payload import PartnerSim
from ground.sim.sil import DEFAULT_FLIGHT_CONFIG
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")


def reference_safe_entry() -> list:
    """The SAFE entry steps of the reference configuration that go to the payload host."""
    mode = next(a for a in load_config(DEFAULT_FLIGHT_CONFIG)["apps"] if a["name"] == "mode")
    return [s for s in mode["config"]["entry"]["SAFE"] if s["app"] == "payload_host"]


def test_entering_safe_stops_every_partner_app(tmp_path):
    steps = reference_safe_entry()
    assert steps == [{"app": "payload_host", "command": "stop_all_apps"}]
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    exe.add_app(AppSpec("mode", ModeManagerApp, 1.0, {"entry": {"SAFE": steps}}))
    sim = PartnerSim([make_project(tmp_path, "probe"),
                      make_project(tmp_path, "other", partner="uni-b", apid=0x110)],
                     executive=exe)
    try:
        sim.boot()
        sim.run(2.0)
        assert set(sim.host.running) == {"probe", "other"}
        exe.apps["mode"].enter_safe(int(SafeCause.LOW_BATTERY))
        sim.run(2.0)
        assert exe.apps["mode"].mode == Mode.SAFE
        assert sim.host.running == {}
        sim.run(3.0)
        assert sim.host.running == {}  # stopped, not restarted by supervision
    finally:
        sim.close()
