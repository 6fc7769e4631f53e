"""Who the audit log says acted when the host starts an app by itself.

docs/payload.md (Audit): each record names its actor; `onboard` for what the host
did by itself, such as a start at boot (the app was running before the reboot) and
a start after a crash. The operator reading the log must be able to tell those from
the starts the operator commanded.
"""

from __future__ import annotations

import sys

import pytest

from ground.payload import PartnerSim
from tests.payload.kit import CRASHES_ONCE, audit_records, make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")


def _starts(sim: PartnerSim, app: str) -> list[tuple[str, str]]:
    records = audit_records(sim)
    return [(r.actor, r.detail) for r in records if (r.action, r.app) == ("start", app)]


def test_a_start_at_boot_is_the_hosts_own(tmp_path):
    with PartnerSim(make_project(tmp_path, "probe")) as sim:
        sim.reboot()
        # the audit app writes once a second
        sim.executive.run(30.0, until=lambda: len(_starts(sim, "probe")) >= 2)
        starts = _starts(sim, "probe")
    assert starts == [("operator", "version 1: commanded"),
                      ("onboard", "version 1: running before reboot")]


def test_a_start_after_a_crash_is_the_hosts_own(tmp_path):
    with PartnerSim(make_project(tmp_path, "fragile", body=CRASHES_ONCE)) as sim:
        sim.executive.run(60.0, until=lambda: len(_starts(sim, "fragile")) >= 2)
        starts = _starts(sim, "fragile")
    assert starts == [("operator", "version 1: commanded"),
                      ("onboard", "version 1: restart after crash")]
