"""Device calls an app makes past the SDK: raw DEVICE frames on its own bridge.

docs/payload.md: a call travels as a DEVICE frame (JSON: device, method, number
or string arguments), costs one message of the app's rate, and returns plain
data; anything else is refused with an event. Partner code runs in the same
process as the SDK, so a hostile app can write any frame the SDK could: the
host alone decides. The expected answers are the documented ones.
"""

from __future__ import annotations

import json
import sys

import pytest

from ground.payload import OPERATOR_ALLOCATIONS, PartnerSim
from ground.sim.sil import build_sil
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

RAW_CALLER = """
import json
from fsw.payload import PayloadApp
from fsw.payload.bridge import Kind

REQUESTS = {
    "not json": b"{not json",
    "no method": json.dumps({"device": "eps", "args": []}).encode(),
    "not plain data": json.dumps({"device": "eps", "method": "housekeeping", "args": []}).encode(),
    "driver fails": json.dumps({"device": "eps", "method": "set_output",
                                "args": [99, True]}).encode(),
    "object argument": json.dumps({"device": "eps", "method": "set_output",
                                   "args": [{"channel": 1}, True]}).encode(),
    "ungranted device": json.dumps({"device": "gyro", "method": "read_rate_rad_s",
                                    "args": []}).encode(),
    "unlisted method": json.dumps({"device": "eps", "method": "reset_ground_watchdog",
                                   "args": []}).encode(),
    "granted": json.dumps({"device": "eps", "method": "ping", "args": [90]}).encode(),
}

class App(PayloadApp):
    def init(self):
        self.cycle = 0

    def execute(self):
        self.cycle += 1
        if self.cycle == 1:
            for what, body in REQUESTS.items():
                reply = json.loads(self._link.request(Kind.DEVICE, body, Kind.DEVICE_REPLY))
                self.event(what + " -> " + json.dumps(reply, sort_keys=True))
        # a device call costs what a message costs (20 a second, refilled as the app
        # publishes): 25 calls leave room for this cycle's telemetry (at two messages
        # each they would not), 45 do not
        calls = {2: 25, 3: 45}.get(self.cycle, 0)
        for _ in range(calls):
            self._link.request(Kind.DEVICE, REQUESTS["granted"], Kind.DEVICE_REPLY)
        self.publish(TM, count=self.cycle, value=float(calls))
"""


def _answers(sim: PartnerSim) -> dict[str, dict]:
    found = {}
    for e in sim.events_of():
        what, sep, reply = e.text.partition(" -> ")
        if sep and e.apid == 0x100:
            found[what] = json.loads(reply)
    return found


def test_raw_device_frames_get_the_documented_answers_and_cost_messages(tmp_path):
    alloc = tmp_path / "partners.toml"
    alloc.write_text(OPERATOR_ALLOCATIONS.read_text().replace(
        "devices = []", 'devices = ["eps"]', 1))
    project = make_project(tmp_path, "raw", body=RAW_CALLER, messages_per_s=20)
    manifest = project / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("subscribe = []",
                                                     'subscribe = []\ndevices = ["eps"]'))
    sil = build_sil()  # the reference spacecraft's EPS on the simulated bus (kept: its files)
    exe = sil.executive
    methods = {"eps": ["housekeeping", "set_output", "ping"]}
    with PartnerSim(project, executive=exe, allocations=alloc,
                    host_config={"device_methods": methods}) as sim:
        sim.run(4.5)
        answers = _answers(sim)
        texts = [e.text for e in sim.events_of() if e.apid == 0x015]
        cycles = [(row["count"], row["value"]) for row in sim.telemetry("RawStatus")]
        violations = sim.host.violations
    assert answers["not json"] == {"ok": False, "error": "malformed request"}
    assert answers["no method"] == {"ok": False, "error": "malformed request"}
    assert answers["not plain data"] == {"ok": False,
                                         "error": "result P31uHousekeeping is not plain data"}
    assert answers["driver fails"] == {"ok": False,
                                       "error": "ValueError: channel 0-7, delay 0-65535 s"}
    assert answers["object argument"] == {"ok": False,
                                          "error": "arguments must be numbers or strings"}
    assert answers["ungranted device"] == {"ok": False, "error": "not granted"}
    assert answers["unlisted method"] == {"ok": False, "error": "not granted"}
    assert answers["granted"]["ok"] is True, answers["granted"]
    assert answers["granted"] == {"ok": True, "value": None}  # ping answers nothing
    # the malformed and the refused are violations, each with its event
    assert texts.count("raw: malformed device request (x1)") == 1
    assert texts.count("raw: malformed device request (x2)") == 1
    assert "raw: device call gyro.read_rate_rad_s refused (x1)" in texts
    assert "raw: device call eps.reset_ground_watchdog refused (x1)" in texts
    assert violations == 4
    # 25 calls and the telemetry fit in the bucket; 45 calls leave nothing for it
    assert (2, 25.0) in cycles, cycles
    assert not [c for c in cycles if c[0] == 3], cycles
    assert (4, 0.0) in cycles, cycles
