"""A partner cannot hide actions from the audit log by flooding it.

docs/payload.md (Audit): the host audits every command it forwards to a partner's
app, and an app's command queue holds 64 commands per host cycle (10 Hz), so one
partner can make the host submit 640 records in one second, while the audit app
writes once a second. The audit app's queue holds a second of that for several
apps; a record that still finds it full is counted: the operator sees a
RECORDS_LOST event and `records_lost` in the audit housekeeping, and the log
itself says how many records were lost, so no record is lost silently.
"""

from __future__ import annotations

import struct
import sys

import pytest

from fsw.apps.audit import AuditApp
from fsw.core import Executive, VirtualClock
from fsw.core.app import COMMAND_HEADER
from fsw.core.executive import AppSpec
from fsw.core.ids import AUDIT_APID
from fsw.core.message import cmd_msg_id
from fsw.payload.audit import encode_submission
from ground.payload import PartnerSim
from tests.payload.kit import audit_records, make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

SET_VALUE = 10  # the kit's manifest command: one float argument
PER_CYCLE = 64  # docs/payload.md: an app's command queue between two host cycles
CYCLES = 10  # one second of the host's 10 Hz cycles
FLOOD = PER_CYCLE * CYCLES


# Takes the commands and answers none: the only records of the flood are the
# host's records of the commands it forwarded.
SILENT = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def _command(self, body):
        pass
"""


def _flooder(root):
    return make_project(root, "flooder", body=SILENT, cpu_percent=20)  # the most allowed


class SmallQueueAudit(AuditApp):
    """The audit app as it was flown before: a queue of 256 records between cycles."""

    COMMAND_PIPE_DEPTH = 256


def _flood(sim: PartnerSim) -> None:
    """The partner's 64 commands in every host cycle for one second, each through
    the host, which forwards it to the app and audits it."""
    bus = sim.executive.bus
    for cycle in range(CYCLES):
        for i in range(PER_CYCLE):
            body = COMMAND_HEADER.pack(0x6000 + cycle * PER_CYCLE + i, SET_VALUE)
            bus.publish(cmd_msg_id(0x100), body + struct.pack(">f", 1.0))
        sim.executive.run(0.1)


def _forwarded(sim: PartnerSim) -> int:
    return sum(1 for r in audit_records(sim) if (r.action, r.app) == ("command", "flooder"))


def _lost_records(sim: PartnerSim) -> list[str]:
    return [r.detail for r in audit_records(sim) if (r.actor, r.action) == ("onboard", "lost")]


def _done(sim: PartnerSim, forwarded: int) -> bool:
    """Every forwarded command's record, or a record of the loss, is in the log."""
    return _forwarded(sim) >= forwarded or bool(_lost_records(sim))


def test_a_second_of_forwarded_commands_is_audited_whole(tmp_path):
    with PartnerSim(_flooder(tmp_path)) as sim:
        _flood(sim)
        sim.executive.run(30.0, until=lambda: _done(sim, FLOOD))
        sim.executive.run(1.0)  # the executive reports full pipes once a second
        forwarded, lost = _forwarded(sim), _lost_records(sim)
        audit_drops = [e.text for e in sim.events_of() if "audit" in e.text
                       and ("lost" in e.text or "full" in e.text)]
        hk = sim.executive.apps["audit"].housekeeping_values()
    assert (forwarded, lost, audit_drops) == (FLOOD, [], [])
    assert hk["records_lost"] == 0


def test_records_the_queue_cannot_hold_are_counted_reported_and_logged(tmp_path):
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    exe.add_app(AppSpec("audit", f"{__name__}:SmallQueueAudit", 1.0, {}))
    hk_pipe = exe.bus.create_pipe("test.audit_hk", 64)
    with PartnerSim(_flooder(tmp_path), executive=exe) as sim:
        exe.bus.subscribe(hk_pipe, SmallQueueAudit.HK.msg_id)
        hk_pipe.drain()
        _flood(sim)
        sim.executive.run(30.0, until=lambda: _done(sim, FLOOD))
        sim.executive.run(2.0)  # housekeeping and the executive's pipe report, once a second
        forwarded, lost = _forwarded(sim), _lost_records(sim)
        events = [e.text for e in sim.events_of() if "audit records lost" in e.text]
        hk = [SmallQueueAudit.HK.unpack(p) for _mid, p in hk_pipe.drain()]
    assert forwarded < FLOOD  # the flood overfilled the queue of 256 ...
    missing = FLOOD - forwarded
    # ... and every record missing is accounted for, in the log, as an event and in
    # housekeeping
    assert lost == [f"{missing} records lost: the audit queue was full"], lost
    assert events == [f"{missing} audit records lost: the audit queue was full"], events
    assert hk[-1]["records_lost"] == missing


class TinyQueueAudit(AuditApp):
    """The audit app with a queue of four records between cycles."""

    COMMAND_PIPE_DEPTH = 4


def test_each_cycles_losses_are_reported_once_even_a_single_one(tmp_path):
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    exe.add_app(AppSpec("audit", f"{__name__}:TinyQueueAudit", 1.0, {}))
    hk_pipe = exe.bus.create_pipe("test.audit_hk", 64)

    def submit(count: int, tag: str) -> None:
        for i in range(count):  # all between two cycles of the audit app
            exe.bus.publish(cmd_msg_id(AUDIT_APID),
                            encode_submission("operator", "stop", f"{tag}{i}", "test"))

    with PartnerSim([], executive=exe) as sim:
        exe.bus.subscribe(hk_pipe, TinyQueueAudit.HK.msg_id)
        sim.run(2.0)  # what the host submitted at boot is written
        hk_pipe.drain()
        submit(5, "a")  # one more than the queue holds
        sim.run(1.0)
        submit(7, "b")  # three more
        sim.run(3.0)  # and then cycles that lose nothing
        records = audit_records(sim)
        events = [e.text for e in sim.events_of() if "audit records lost" in e.text]
        hk = [TinyQueueAudit.HK.unpack(p) for _mid, p in hk_pipe.drain()]
    assert [r.app for r in records if r.detail == "test"] == [
        "a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3"]
    assert [r.detail for r in records if r.action == "lost"] == [
        "1 records lost: the audit queue was full", "3 records lost: the audit queue was full"]
    assert events == ["1 audit records lost: the audit queue was full",
                      "3 audit records lost: the audit queue was full"]
    assert hk[-1]["records_lost"] == 4
