"""A burst of commands to one app, and commands it completes long after.

docs/payload.md: between two of the host's cycles an app's command queue holds 64
commands (a burst the scheduler releases at once, say); one more is dropped and
reported like every full pipe (the executive's PIPE_DROPS event names the pipe).
The host relays an app's verification only for the commands it gave the app and
that have not completed, the last 64 of them: an app that completes a command after
64 newer ones are open is refused as if the command were another's.
"""

from __future__ import annotations

import struct
import sys

import pytest

from fsw.core.app import COMMAND_HEADER
from fsw.core.message import cmd_msg_id
from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

# Accepts each command at once and completes them all once it holds 65 (a long
# observation, say): each verification report comes from the app itself.
HOLDER = """
from fsw.core.app import COMMAND_HEADER, Reason, Stage
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.held = []

    def _command(self, body):
        rid, code = COMMAND_HEADER.unpack_from(body)
        self._result(rid, code, Stage.ACCEPTANCE, True, Reason.NONE)
        self.held.append((rid, code))

    def execute(self):
        if len(self.held) >= 65:
            for rid, code in self.held:
                self._result(rid, code, Stage.COMPLETION, True, Reason.NONE)
            self.held = []
"""

FIRST_RID = 0x5000
SET_VALUE = 10  # the kit's manifest command: one float argument
ACCEPTANCE, COMPLETION = 1, 7  # PUS service 1 (ECSS-E-ST-70-41C): TM[1,1] and TM[1,7]


def _set_value(rid: int) -> bytes:
    return COMMAND_HEADER.pack(rid, SET_VALUE) + struct.pack(">f", 1.0)


def test_a_burst_of_64_commands_reaches_the_app_and_old_open_ones_are_forgotten(tmp_path):
    with PartnerSim(make_project(tmp_path, "holder", body=HOLDER)) as sim:
        bus = sim.executive.bus
        # 65 commands between two cycles: the queue holds 64
        for i in range(65):
            bus.publish(cmd_msg_id(0x100), _set_value(FIRST_RID + i))
        sim.run(0.1)

        def reports(stage: int) -> list[int]:
            sim.events_of()  # collects what the bus carried
            return [r["request_id"] for r in sim.results
                    if r["apid"] == 0x100 and r["stage"] == stage and r["ok"]]

        # the app accepts what it got (its answers come over the next cycles) ...
        sim.executive.run(30.0, until=lambda: len(reports(ACCEPTANCE)) >= 64)
        # ... and the one dropped comes again: 65 open at the app
        bus.publish(cmd_msg_id(0x100), _set_value(FIRST_RID + 64))
        sim.executive.run(30.0, until=lambda: len(reports(COMPLETION)) >= 64)
        sim.run(1.0)  # the executive reports full pipes once a second
        drops = [e.text for e in sim.events_of() if e.text.startswith("pipe payload.holder")]
        accepted, done = reports(ACCEPTANCE), reports(COMPLETION)
        refused = [e.text for e in sim.events_of() if "a command it was not given" in e.text]
    assert drops == ["pipe payload.holder.commands full: dropped 1, last 0x1900"], drops
    assert accepted == [FIRST_RID + i for i in range(65)]
    # the oldest of 65 open commands is forgotten: its completion is refused, the
    # other 64 are relayed
    assert done == [FIRST_RID + i for i in range(1, 65)]
    assert refused == [f"holder: result for request {FIRST_RID:#x}, a command it was not "
                       "given (x1)"], refused
