"""A partner app reads a device its manifest was granted, through the host; nothing else."""

from __future__ import annotations

import sys

import pytest

from ground.payload import OPERATOR_ALLOCATIONS, PartnerSim
from ground.sim.sil import build_sil
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

READER = """
from fsw.payload import DeviceNotGrantedError, PayloadApp

class App(PayloadApp):
    def init(self):
        self.tries = {}

    def execute(self):
        mag = self.device("magnetometer")
        b = mag.read_field_t()
        self.publish(TM, count=len(b), value=b[0] * 1e6)
        for what, call in (("unlisted", lambda: mag.configure()),
                           ("ungranted", lambda: self.device("gyro").read())):
            try:
                call()
                outcome = "allowed"
            except DeviceNotGrantedError as exc:
                outcome = f"refused: {exc}"
            if self.tries.get(what) != outcome:
                self.tries[what] = outcome
                self.event(f"{what} {outcome}")
"""


def test_granted_device_method_works_and_nothing_else(tmp_path):
    alloc = tmp_path / "partners.toml"
    alloc.write_text(OPERATOR_ALLOCATIONS.read_text().replace(
        "devices = []", 'devices = ["magnetometer"]', 1))
    project = make_project(tmp_path, "magread", body=READER)
    manifest = project / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("subscribe = []",
                                                     'subscribe = []\ndevices = ["magnetometer"]'))
    sil = build_sil()  # the simulator moves the field the emulator reports
    exe = sil.executive
    with PartnerSim(project, executive=exe, allocations=alloc,
                    host_config={"device_methods": {"magnetometer": ["read_field_t"]}}) as sim:
        sim.run(3.0)
        rows = sim.telemetry("MagreadStatus")
        assert rows and rows[-1]["count"] == 3
        assert 1.0 < abs(rows[-1]["value"]) < 100.0  # tens of microtesla in orbit
        texts = [e.text for e in sim.events_of()]
        assert "unlisted refused: magnetometer.configure: not granted" in texts
        assert any(t.startswith("ungranted refused: device 'gyro' is not granted") for t in texts)
        assert any(t.startswith("magread: device call magnetometer.configure refused")
                   for t in texts)
