"""What a partner app reports through the host reaches the ground as it was meant.

docs/partners.md: `event(text, severity)` is an event on the ground (info, low,
medium, high; 120 bytes of UTF-8), and every app answers the standard
SET_PARAMETER (function 2) and REPORT_PARAMETER (function 3) for its
`[[parameters]]`. The host relays an app's EVENT frames as events of the app's
APID and its PARAMETER frames as ParameterReport messages naming the command that
asked for them (0: none), which comms turns into TM[20,2] charged to that TC's
sender (fsw.core.app, PARAMETER_REPORT_MSG). Partner code can also write frames
past the SDK: a severity outside PUS service 5's 1-4, text that is no UTF-8, a
report nobody asked for; the host must still relay them sensibly and go on. The
expected values are the ones this test sends or declares, and PUS 5's severities
(1 info ... 4 high).
"""

from __future__ import annotations

import struct
import sys
import time
from typing import Any

import pytest

from fsw.core import COMMAND_RESULT_MSG, PARAMETER_REPORT_MSG, Severity
from fsw.core.app import COMMAND_HEADER
from fsw.core.message import cmd_msg_id
from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

APID = 0x100

REPORTER = """
from fsw.payload import PayloadApp, on_command
from fsw.payload.bridge import EVENT, PARAMETER, Kind

class App(PayloadApp):
    def init(self):
        self.cycle = 0
        self.report_later = False

    def execute(self):
        self.cycle += 1
        if self.cycle == 2:  # the first may run while the host is still booting
            self.event("", event_id=101)                        # nothing to add
            self.event("valve open", "high", event_id=102)
            # 141 octets: the SDK keeps 120, which ends inside the last "é"
            self.event("x" + "\\u00e9" * 70, "low", event_id=103)
            # past the SDK: severities PUS 5 does not have, and text that is no UTF-8
            self._link.send(Kind.EVENT, 0, EVENT.pack(104, 0) + b"severity 0")
            self._link.send(Kind.EVENT, 0, EVENT.pack(105, 5) + b"severity 5")
            self._link.send(Kind.EVENT, 0, EVENT.pack(106, 2) + b"caf\\xe9 cr\\xe8me")
            # a topic name that is no UTF-8, and one of a parameter report's 10 octets
            self._link.send(Kind.SUBSCRIBE, 0, b"Executive\\xffHousekeeping")
            self._link.send(Kind.SUBSCRIBE, 0, b"NotGranted")
            self.event("reported", event_id=109)
        if self.report_later:  # a report nobody asked for (its command is over)
            self.report_later = False
            self._link.send(Kind.PARAMETER, 0, PARAMETER.pack(0, 2.25))
            self.event("reported later", event_id=110)

    @on_command("REPORT_LATER")
    def later(self):
        self.report_later = True
"""

EXTRA_MANIFEST = """
[[commands]]
name = "REPORT_LATER"
code = 11
args = []

[[parameters]]
name = "gain"
type = "f"
default = 1.5
low = 0
high = 10

[[parameters]]
name = "limit"
type = "H"
default = 7
low = 0
high = 1000
"""


def _project(tmp_path):
    return make_project(tmp_path, "reporter", body=REPORTER, extra_manifest=EXTRA_MANIFEST)


class _Watch:
    """Command results and parameter reports on the bus, as comms receives them."""

    def __init__(self, sim: PartnerSim) -> None:
        self.sim = sim
        bus = sim.executive.bus
        self.pipe = bus.create_pipe("test.reports", 512)
        bus.subscribe(self.pipe, COMMAND_RESULT_MSG.msg_id)
        bus.subscribe(self.pipe, PARAMETER_REPORT_MSG.msg_id)
        self.results: list[dict[str, Any]] = []
        self.reports: list[dict[str, Any]] = []

    def _drain(self) -> None:
        for msg_id, payload in self.pipe.drain():
            if msg_id == PARAMETER_REPORT_MSG.msg_id:
                self.reports.append(PARAMETER_REPORT_MSG.unpack(payload))
            else:
                self.results.append(COMMAND_RESULT_MSG.unpack(payload))

    def command(self, rid: int, code: int, args: bytes = b"") -> list[dict[str, Any]]:
        """Send a TC to the app and run until its last stage is verified; its results."""
        self.sim.executive.bus.publish(cmd_msg_id(APID), COMMAND_HEADER.pack(rid, code) + args)
        self.run_until(lambda: any(r["request_id"] == rid and (r["stage"] == 7 or not r["ok"])
                                   for r in self.results))
        return [r for r in self.results if r["request_id"] == rid]

    def run_until(self, done) -> None:
        deadline = time.monotonic() + 120.0  # generous: a loaded machine is slow, not wrong

        def check() -> bool:
            self._drain()
            assert time.monotonic() < deadline, "timed out"
            return done()

        self.sim.executive.run(600.0, until=check)
        assert done()


def test_parameter_reports_name_the_command_that_asked_and_carry_the_values(tmp_path):
    with PartnerSim(_project(tmp_path)) as sim:
        watch = _Watch(sim)
        # SET_PARAMETER limit (index 1) = 42, then REPORT_PARAMETER of all (index 0xFFFF)
        set_results = watch.command(0x7001, 2, struct.pack(">Hd", 1, 42.0))
        report_results = watch.command(0x7002, 3, struct.pack(">H", 0xFFFF))
        asked = list(watch.reports)
        later_results = watch.command(0x7003, 11)
        watch.run_until(lambda: len(watch.reports) > len(asked))
        later = watch.reports[len(asked):]
        texts = [e.text for e in sim.events_of() if e.apid == APID]
    assert [(r["stage"], r["ok"]) for r in set_results] == [(1, True), (7, True)]
    assert [(r["stage"], r["ok"]) for r in report_results] == [(1, True), (7, True)]
    # one report per parameter, in the manifest's order, each naming TC 0x7002: the
    # declared default of the one and the value set for the other
    assert asked == [
        {"request_id": 0x7002, "apid": APID, "index": 0, "value": 1.5},
        {"request_id": 0x7002, "apid": APID, "index": 1, "value": 42.0},
    ]
    assert [(r["stage"], r["ok"]) for r in later_results] == [(1, True), (7, True)]
    # after its command completed, a report is no TC's: comms charges it to nobody
    assert "reported later" in texts
    assert later == [{"request_id": 0, "apid": APID, "index": 0, "value": 2.25}]


def test_events_keep_their_severity_and_text_and_odd_frames_are_judged(tmp_path):
    with PartnerSim(_project(tmp_path)) as sim:
        watch = _Watch(sim)
        watch.run_until(lambda: any(e.text == "reported" for e in sim.events_of()))
        sim.run(1.0)  # the host's violation events for the same cycle
        events = {e.event_id: e for e in sim.events_of() if e.apid == APID}
        host_texts = [e.text for e in sim.events_of() if e.apid == 0x015]
        running = "reporter" in sim.host.running
        reports = list(watch.reports)
    assert (events[101].severity, events[101].text) == (Severity.INFO, "")
    assert (events[102].severity, events[102].text) == (Severity.HIGH, "valve open")
    # cut by the SDK inside a character: the half character is not shown
    assert (events[103].severity, events[103].text) == (Severity.LOW, "x" + "\u00e9" * 59)
    # a severity PUS 5 does not have is reported as information, not dropped
    assert (events[104].severity, events[104].text) == (Severity.INFO, "severity 0")
    assert (events[105].severity, events[105].text) == (Severity.INFO, "severity 5")
    # octets that are no UTF-8 are shown as U+FFFD, the rest as sent
    assert (events[106].severity, events[106].text) == (Severity.LOW, "caf\ufffd cr\ufffdme")
    # subscriptions are judged as subscriptions, whatever their name's octets
    assert ("reporter: subscribe to 'Executive\ufffdHousekeeping' refused: not granted (x1)"
            in host_texts), host_texts
    assert "reporter: subscribe to 'NotGranted' refused: not granted (x1)" in host_texts
    assert not [t for t in host_texts if "frame kind" in t], host_texts
    assert reports == []  # none of that was a parameter report
    assert running
