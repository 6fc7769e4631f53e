"""What the host keeps for an app that stops reading its bridge.

docs/payload.md: the host never blocks on an app; a slow app's backlog (what the
host holds beyond what the bridge itself holds) is capped at 1 MiB, then frames
are dropped and counted. An app that hangs for a while loses the commands sent
past that backlog, and gets every other one, in order, once it reads again.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from fsw.core.app import COMMAND_HEADER
from fsw.core.message import cmd_msg_id
from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

BACKLOG_MAX = 1 << 20  # octets the host keeps for one app (docs/payload.md: 1 MiB)
FRAME_HEADER = 7  # length u32, kind u8, message id u16 (docs/payload.md: the bridge)
COMMAND_MAX = 1008  # the largest command a partner app gets (the bus's variable limit)
REPORT = 11  # the function code this test's app answers with what it got

SLEEPER = """
import signal
import time
from fsw.core.app import COMMAND_HEADER
from fsw.payload import PayloadApp


class Awake(Exception):
    pass


def wake(signum, frame):
    raise Awake()


class App(PayloadApp):
    def init(self):
        self.slept = False
        self.rids = []
        signal.signal(signal.SIGUSR1, wake)

    def execute(self):
        if not self.slept:
            self.slept = True
            self.event("asleep")
            self._link.flush()
            try:
                time.sleep(3600)  # reads nothing meanwhile: what the host sends piles up
            except Awake:
                pass

    def _command(self, body):
        rid, code = COMMAND_HEADER.unpack_from(body)
        if code != 11:
            self.rids.append(rid)
            return
        got = sorted(set(self.rids))
        missing = sorted(set(range(got[0], got[-1] + 1)) - set(got))
        self.event(f"got {len(self.rids)}: {got[0]}..{got[-1]}, missing {missing[:8]}")
"""


def _command(rid: int, octets: int, code: int = 10) -> bytes:
    """A command to the app whose bridge frame is `octets` long."""
    payload = octets - FRAME_HEADER
    assert COMMAND_HEADER.size <= payload <= COMMAND_MAX
    return COMMAND_HEADER.pack(rid, code) + bytes(payload - COMMAND_HEADER.size)


def test_an_app_that_stops_reading_loses_only_what_passes_1_mib_of_backlog(tmp_path):
    with PartnerSim(make_project(tmp_path, "sleeper", body=SLEEPER), lockstep=False) as sim:
        run = sim.host.running["sleeper"]
        deadline = time.monotonic() + 60.0
        while "asleep" not in [e.text for e in sim.events_of()]:
            assert time.monotonic() < deadline, "the app never got its first tick"
            sim.run(0.1)
        bus, commands = sim.executive.bus, cmd_msg_id(0x100)
        rid = first = 0x1000

        def send(*sizes: int) -> None:
            nonlocal rid
            for octets in sizes:
                bus.publish(commands, _command(rid, octets))
                rid += 1
            sim.host.pump()  # the bridges only: no tick, no supervision

        # the bridge itself fills first; then the host keeps what it cannot send
        while not run.out:
            assert time.monotonic() < deadline, "the bridge never filled"
            send(*[FRAME_HEADER + COMMAND_MAX] * 64)
        # then to exactly 1 MiB kept: the last frame that fits is kept whole ...
        while (room := BACKLOG_MAX - len(run.out)) > FRAME_HEADER + COMMAND_MAX:
            assert time.monotonic() < deadline, "the backlog never grew"
            send(min(FRAME_HEADER + COMMAND_MAX, room - FRAME_HEADER - COMMAND_HEADER.size))
        send(room)
        assert len(run.out) == BACKLOG_MAX
        # ... and the next one is dropped, however small
        dropped = rid
        send(FRAME_HEADER + COMMAND_HEADER.size)
        assert len(run.out) == BACKLOG_MAX
        last = rid
        send(FRAME_HEADER + COMMAND_HEADER.size)  # dropped too: the app still sleeps

        os.kill(run.pid, signal.SIGUSR1)  # it reads again
        while run.out:
            assert time.monotonic() < deadline, "the app never read its backlog"
            sim.host.pump()
            time.sleep(0.01)
        bus.publish(commands, COMMAND_HEADER.pack(0xFFFF, REPORT))  # after all the rest
        report = []
        while not report:
            assert time.monotonic() < deadline, "the app never reported"
            sim.host.pump()
            report = [e.text for e in sim.events_of() if e.text.startswith("got ")]
            time.sleep(0.01)
    received = last - first - 1  # all but the two sent past the backlog
    assert report == [f"got {received}: {first}..{dropped - 1}, missing []"], report
