"""A partner app reads the operator telemetry its manifest lists, and only that."""

from __future__ import annotations

import sys

import pytest

from ground.payload import OPERATOR_ALLOCATIONS, PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

FOLLOWER = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.frames = 0
        self.subscribe("ExecutiveHousekeeping", self.on_executive)  # listed, exists
        self.subscribe("NoSuchTopic", self.on_executive)  # listed, no such message
        self.subscribe("AppHeartbeat", self.on_executive)  # exists, not listed

    def on_executive(self, values):
        self.frames = values["minor_frames"]

    def execute(self):
        self.publish(TM, count=self.frames, value=0.0)
"""


def test_a_listed_topic_is_delivered_and_others_are_refused_by_name(tmp_path):
    # the operator grants a topic no message carries (a typo, or one not flown)
    alloc = tmp_path / "partners.toml"
    alloc.write_text(OPERATOR_ALLOCATIONS.read_text().replace(
        'topics = ["ExecutiveHousekeeping"', 'topics = ["NoSuchTopic", "ExecutiveHousekeeping"', 1))
    project = make_project(tmp_path, "follower", body=FOLLOWER,
                           subscribe=("ExecutiveHousekeeping", "NoSuchTopic"))
    with PartnerSim(project, allocations=alloc) as sim:
        sim.run(4.0)
        counts = [row["count"] for row in sim.telemetry("FollowerStatus")]
        texts = [e.text for e in sim.events_of()]
    # the executive's housekeeping (minor frames, 10 a second) reaches the app
    assert counts and counts[-1] > 0 and counts == sorted(counts)
    assert any(t.startswith("follower: subscribe to 'NoSuchTopic' refused: no such topic")
               for t in texts), texts
    assert any(t.startswith("follower: subscribe to 'AppHeartbeat' refused: not granted")
               for t in texts), texts
