"""A partner app cannot read the bundles waiting in incoming/.

docs/payload.md: file transfer puts uplinked bundles in the host's `incoming/`
until the operator installs them, and the host keeps that folder its own (mode
0700): as root the host gives each app a user id of its own, and those ids may
pass through the payload root to their own folders but not into `incoming/`. A
bundle there is another partner's code (or the next version of one's own, not yet
verified); an app that knows or guesses its name must still not read it.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from fsw.core.app import COMMAND_HEADER
from fsw.core.message import cmd_msg_id
from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox"),
    pytest.mark.skipif(os.geteuid() != 0, reason="apps get user ids of their own only when "
                                                 "the host runs as root; not root here"),
]

SNOOP = """
from pathlib import Path
from fsw.payload import PayloadApp, on_command

class App(PayloadApp):
    @on_command("SNOOP")
    def snoop(self):
        # its code is at <root>/apps/<app>/<version>/app/<app>/app.py
        bundle = Path(__file__).resolve().parents[5] / "incoming" / "victim-1.bundle"
        try:
            self.event(f"read {len(bundle.read_bytes())} octets")
        except OSError as exc:
            self.event(f"refused: {type(exc).__name__}")
"""


def test_an_app_cannot_read_a_bundle_waiting_in_incoming(tmp_path):
    project = make_project(tmp_path, "snoop", body=SNOOP, extra_manifest=(
        '\n[[commands]]\nname = "SNOOP"\ncode = 11\nargs = []\n'))
    with PartnerSim(project) as sim:
        waiting = sim.upload(make_project(tmp_path, "victim", partner="uni-b", apid=0x110))
        assert waiting == "victim-1.bundle"
        assert (sim.workdir / "payload" / "incoming" / waiting).stat().st_mode & 0o004  # 0644
        sim.executive.bus.publish(cmd_msg_id(0x100), COMMAND_HEADER.pack(0x7201, 11))  # SNOOP
        deadline = time.monotonic() + 120.0  # a loaded machine is slow, not wrong

        def said() -> list[str]:
            assert time.monotonic() < deadline
            return [e.text for e in sim.events_of()
                    if e.apid == 0x100 and e.text.startswith(("read ", "refused: "))]

        sim.executive.run(3600.0, until=lambda: bool(said()))
        sim.run(1.0)  # nothing more comes
        answers = said()
    assert answers == ["refused: PermissionError"]
