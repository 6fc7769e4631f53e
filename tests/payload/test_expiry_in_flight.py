"""Signatures expire by the spacecraft's clock, however long the mission has run.

docs/payload.md (Bundles): signatures expire; `verify_bundle` refuses an expired
bundle on board. The host reads UTC from the mission clock: its epoch plus the
mission time elapsed. Ten days into the mission, a bundle signed at the mission's
start for five days has expired, and one signed for ninety has not.
"""

from __future__ import annotations

import sys

import pytest

from fsw.core import Executive
from fsw.core.time import VirtualClock
from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

DAY_S = 86400.0


def test_a_bundle_is_judged_by_the_mission_time_elapsed(tmp_path):
    ten_days_in = Executive(VirtualClock(start_s=10 * DAY_S), rate_groups_hz=(10.0, 1.0))
    # PartnerSim signs as of the mission's epoch (its start), for 90 days by default:
    # booting installs this one
    with PartnerSim(make_project(tmp_path, "timely"), executive=ten_days_in) as sim:
        late = sim.upload(make_project(tmp_path, "late", apid=0x102), valid_days=5)
        assert not sim.install(late)
        refused = sim.last_event_text()
        installed = set(sim.host.registry["apps"])
    assert "expired: the bundle expired at" in refused, refused
    assert installed == {"timely"}
