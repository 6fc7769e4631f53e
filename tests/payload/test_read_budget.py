"""What one host cycle reads from one app, however the app cuts its writes.

docs/payload.md: the host reads each app's bridge on a budget of 16 KiB per cycle,
checked before each read of at most 64 KiB, so one cycle takes at most 80 KiB from
one app, also from an app told to STOP that floods it. An app writing big blocks
hands the host 64 KiB a read; a hostile one can make every read small instead: the
kernel ends a read of a stream socket after a write that carried file descriptors
(unix(7), SCM_RIGHTS), so an app that attaches one to each 4 KiB piece is read a
piece at a time. The budget must count the cycle's reads together, or such an app
holds the host's cycle for as long as it keeps writing.
"""

from __future__ import annotations

import sys
import time

import pytest

from ground.payload import PartnerSim
from tests.payload.kit import (
    READ_PER_CYCLE_MAX,
    assert_one_cycle_reads_one_budget_then_stop_kills,
    make_project,
    queued_octets,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

PIECE_OCTETS = 4095  # 585 frames of 7 octets (docs/payload.md: length u32, kind u8, id u16)

PIECES = """
import array
import socket
from fsw.payload import PayloadApp
from fsw.payload.bridge import Kind, encode

PIECE = encode(Kind.DONE, 0, b"") * 585  # harmless frames, 4,095 octets
FD = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [2]))]  # any descriptor


def flood(sock):
    # one descriptor a piece: the host's reads end after each piece (unix(7))
    sock.setblocking(False)
    try:
        while True:
            sock.sendmsg([PIECE], FD)
    except OSError:  # the bridge is full, or too many descriptors are in flight
        pass
    sock.setblocking(True)


class App(PayloadApp):
    def init(self):
        self.flooded = False

    def execute(self):
        if {when} and not self.flooded:
            self.flooded = True
            flood(self._link.sock)

    def stop(self):
        if {on_stop}:
            flood(self._link.sock)
            while self._link.sock.recv(65536):  # never done while the host is there
                pass
"""


def _wait_for_a_flood(sock, deadline: float) -> int:
    """The octets queued once the app has written more than a cycle may read."""
    while queued_octets(sock) < READ_PER_CYCLE_MAX + 8 * 1024:
        assert time.monotonic() < deadline, f"the app never flooded ({queued_octets(sock)} octets)"
        time.sleep(0.01)
    time.sleep(0.2)  # the flood ends when the bridge is full: let the last pieces land
    return queued_octets(sock)


def test_a_running_app_writing_small_pieces_is_read_one_budget_a_cycle(tmp_path):
    project = make_project(tmp_path, "trickler", body=PIECES.format(when="True",
                                                                      on_stop="False"))
    # flight's host: no lockstep, so the cycle reads the bridge once
    with PartnerSim(project, lockstep=False) as sim:
        deadline = time.monotonic() + 60.0
        run = sim.host.running["trickler"]
        # its first tick starts the flood: cycles until it has begun (each cycle reads)
        while queued_octets(run.launched.sock) < 2 * PIECE_OCTETS:
            assert time.monotonic() < deadline, "the app never flooded"
            sim.run(0.1)
        before = _wait_for_a_flood(run.launched.sock, deadline)
        sim.host.execute()  # one cycle of the host
        left = queued_octets(run.launched.sock)
        assert "trickler" in sim.host.running
    assert left > 0 and left >= before - READ_PER_CYCLE_MAX, (before, left)


def test_an_app_writing_small_pieces_after_stop_is_read_one_budget_a_cycle(tmp_path):
    project = make_project(tmp_path, "trickler", body=PIECES.format(when="False",
                                                                      on_stop="True"))
    with PartnerSim(project) as sim:
        sim.run(1.0)
        run = sim.host.running["trickler"]
        assert sim.app_command(13, "trickler")  # STOP
        deadline = time.monotonic() + 60.0
        before = _wait_for_a_flood(run.launched.sock, deadline)
        assert_one_cycle_reads_one_budget_then_stop_kills(sim, run, before, deadline)
