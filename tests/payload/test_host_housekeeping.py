"""The payload host's housekeeping: what an operator reads about the partner apps.

The host's report (APID 0x015) carries, after the standard counters, the apps
installed and running, the bundles refused, the bridge requests refused and the
messages the apps published, each since boot (docs/payload.md). The expected
counts come from what the test did and saw, not from the host.
"""

from __future__ import annotations

import sys

import pytest

from fsw.apps.payload_host import PayloadHostApp
from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

STOP = 13

# Three publishes on an id that is not its own (uni-b's telemetry), then its own
# telemetry once a cycle.
TRESPASSER = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.count = 0
        for _ in range(3):
            self.publish_raw(0x0911, b"\\xee" * 8)

    def execute(self):
        self.count += 1
        self.publish(TM, count=self.count, value=0.0)
"""


def _reports(pipe) -> list[dict]:
    return [PayloadHostApp.HK.unpack(p) for mid, p in pipe.drain()
            if mid == PayloadHostApp.HK.msg_id]


def test_housekeeping_counts_apps_refusals_violations_and_messages(tmp_path):
    with PartnerSim(make_project(tmp_path, "trespass", body=TRESPASSER)) as sim:
        exe = sim.executive
        # one pipe for the host's reports and everything the app gets onto the bus
        # (its telemetry and its own housekeeping), in the order the bus carried them
        seen = exe.bus.create_pipe("test.host_hk", 512)
        for msg_id in (PayloadHostApp.HK.msg_id, sim.manifest.hk_id,
                       *sim.manifest.publish_ids):
            exe.bus.subscribe(seen, msg_id)
        sim.run(3.0)
        # an expired bundle is refused on board: one refusal
        assert not sim.install(sim.upload(make_project(tmp_path, "late", apid=0x102),
                                          valid_days=-1))
        assert sim.app_command(STOP, "trespass")
        sim.run(2.0)
        carried = seen.drain()
        violations = [e for e in sim.events_of() if e.text.startswith("trespass: publish on")]
    reports = [(i, PayloadHostApp.HK.unpack(p)) for i, (mid, p) in enumerate(carried)
               if mid == PayloadHostApp.HK.msg_id]
    (first_at, first), (_, last) = reports[0], reports[-1]
    assert (first["installed"], first["running"]) == (1, 1)
    assert (last["installed"], last["running"]) == (1, 0)
    assert last["refused"] == 1
    assert last["violations"] == 3 and len(violations) == 2  # events for the 1st and 2nd only
    published_since_first = sum(mid != PayloadHostApp.HK.msg_id
                                for mid, _p in carried[first_at:])
    assert published_since_first >= 2
    assert last["messages_in"] - first["messages_in"] == published_since_first
    assert last["cycle_error_count"] == 0


def test_housekeeping_counters_keep_to_their_fields_widths(tmp_path):
    # "refused" is 16 bits and stops at its top; the 32-bit counters wrap as the
    # standard counters' peers do, and the report still goes out.
    with PartnerSim(make_project(tmp_path, "quiet")) as sim:
        exe = sim.executive
        hk = exe.bus.create_pipe("test.host_hk", 64)
        exe.bus.subscribe(hk, PayloadHostApp.HK.msg_id)
        host = sim.host
        host.refused, host.violations, host.messages_in = 70_000, 2**32 + 5, 2**32 + 7
        sim.run(1.5)
        reports = _reports(hk)
    assert reports
    assert reports[-1]["refused"] == 0xFFFF
    assert reports[-1]["violations"] == 5
    assert reports[-1]["messages_in"] >= 7  # the app goes on publishing
    assert reports[-1]["messages_in"] < 2**16


def test_the_audit_apps_housekeeping_counts_the_records_in_its_log():
    from fsw.apps.audit import AuditApp
    from fsw.core.message import cmd_msg_id
    from fsw.payload.audit import encode_submission

    with PartnerSim([]) as sim:
        exe = sim.executive
        hk = exe.bus.create_pipe("test.audit_hk", 64)
        exe.bus.subscribe(hk, AuditApp.HK.msg_id)
        for i in range(3):
            exe.bus.publish(cmd_msg_id(0x017),  # the audit app's APID (ids reservation)
                            encode_submission("operator", "start", f"app{i}", "by hand"))
        sim.run(2.5)
        reports = [AuditApp.HK.unpack(p) for _mid, p in hk.drain()]
        lines = (sim.workdir / "audit.log").read_bytes().splitlines()
    assert len(lines) >= 3
    assert reports and reports[-1]["records"] == len(lines)
    assert reports[-1]["cycle_error_count"] == 0
