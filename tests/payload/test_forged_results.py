"""A sandboxed app may verify only the commands it was given.

The host relays an app's RESULT frames to comms as CommandResult messages. An app
that guesses request ids (the host's and comms' are sequential) must not be able
to complete or fail another app's command, or the operator's command to the host:
the host drops such a result, counts a violation and writes it in the audit log.
"""

from __future__ import annotations

import sys

import pytest

from fsw.core.ids import PAYLOAD_HOST_APID
from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

FORGER = """
from fsw.payload import PayloadApp, on_command

class App(PayloadApp):
    def execute(self):
        # failures for every request id near the ones the host's commands carry
        for rid in range(0x4000, 0x4040):
            self._result(rid, 0, 7, False, 4)

    @on_command("SET_VALUE")
    def set_value(self, value):
        self.value = value
"""


def test_an_app_cannot_verify_commands_it_was_not_given(tmp_path):
    with PartnerSim(make_project(tmp_path, "forger", body=FORGER)) as sim:
        apid = sim.manifest.apid
        sim.run(2.0)  # the app forges at its 1 Hz rate
        given = {r["request_id"] for r in sim.results if r["apid"] == apid}
        assert sim.command("SET_VALUE", value=3.0)  # its own command still works
        assert sim.host_command(0)  # the host's no-op, beside the forger
        sim.run(2.0)
        from_app = [r for r in sim.results if r["apid"] == apid]
        own = {r["request_id"] for r in from_app} - given
        assert len(own) == 1 and all(r["ok"] for r in from_app)
        host_rid = max(r["request_id"] for r in sim.results if r["apid"] == PAYLOAD_HOST_APID)
        assert not any(r["request_id"] == host_rid and not r["ok"] for r in sim.results)
        assert any("forger: result for request" in e.text and "not given" in e.text
                   for e in sim.events_of())


PINGED = """
from fsw.payload import PayloadApp, on_command

class App(PayloadApp):
    @on_command("PING")
    def ping(self):
        self.event("pinged")
"""


def test_a_command_without_arguments_is_verified_and_a_short_one_harms_nothing(tmp_path):
    # A command of the header alone (request id and function code, no argument) is one
    # the app was given: its verification goes through. Four octets on the app's
    # command id (no function code at all) reach it too, audited as function -1, and
    # the host goes on.
    from fsw.core.message import cmd_msg_id
    from fsw.payload.audit import verify_chain

    project = make_project(tmp_path, "pinged", body=PINGED)
    manifest = project / "manifest.toml"
    manifest.write_text(manifest.read_text() + '\n[[commands]]\nname = "PING"\ncode = 11\n'
                                               'args = []\n')
    with PartnerSim(project) as sim:
        assert sim.command("PING")
        sim.executive.bus.publish(cmd_msg_id(0x100), b"\x00\x00\x47\x11")
        sim.run(2.0)  # the audit app writes once a second
        commands = [r.detail for r in verify_chain((sim.workdir / "audit.log").read_bytes()
                                                   .splitlines()) if r.action == "command"]
        running = "pinged" in sim.host.running
        violations = sim.host.violations
    assert commands == ["function 11, 0 argument bytes", "function -1, -1 argument bytes"]
    assert running and violations == 0
