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


ECHO = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.executed = 0
        self.subscribe("ExecutiveHousekeeping", self.on_executive)

    def on_executive(self, values):  # answers each message at once, tick or not
        self.publish(TM, count=self.executed, value=float(values["minor_frames"]))

    def execute(self):
        self.executed += 1
"""


def _echo_project(tmp_path):
    """The ECHO app's project and its status message type (count, value)."""
    from fsw.core import Field, MessageType
    from fsw.core.message import tm_msg_id

    project = make_project(tmp_path, "echo", apid=0x104, body=ECHO,
                           subscribe=("ExecutiveHousekeeping",))
    return project, MessageType("EchoStatus", tm_msg_id(0x105), [Field("count", "I"),
                                                                  Field("value", "f")])


def _executive_hk(frames: int) -> bytes:
    from fsw.core.executive import EXECUTIVE_HK

    zeros = {f.name: 0 for f in EXECUTIVE_HK.fields}
    return EXECUTIVE_HK.pack(**{**zeros, "minor_frames": frames})


def test_a_pump_passes_messages_both_ways_without_ticking_the_app(tmp_path):
    import time

    from fsw.core.executive import EXECUTIVE_HK

    project, status = _echo_project(tmp_path)
    with PartnerSim(project) as sim:
        sim.run(2.0)  # granted, and ticked a few times
        exe = sim.executive
        replies = exe.bus.create_pipe("test.echo", 64)
        exe.bus.subscribe(replies, status.msg_id)
        # mission time moves on past the app's next tick, but no cycle runs: only pumps
        exe.clock.sleep_until(exe.clock.now() + 5.0)

        def answer(frames: int) -> int:
            exe.bus.publish(EXECUTIVE_HK.msg_id, _executive_hk(frames))
            deadline = time.monotonic() + 60.0  # a real process answers: wait, generously
            while time.monotonic() < deadline:
                sim.host.pump()
                for _mid, payload in replies.drain():
                    row = status.unpack(payload)
                    if row["value"] == frames:
                        return row["count"]
                time.sleep(0.01)
            raise AssertionError(f"no answer to minor_frames {frames}")

        first, second = answer(4242), answer(4243)
    assert first == second  # the app executed no cycle in between: no tick was sent


def test_a_pump_brings_back_every_answer_to_a_burst_of_messages(tmp_path):
    import time

    from fsw.core.executive import EXECUTIVE_HK

    project, status = _echo_project(tmp_path)
    with PartnerSim(project) as sim:
        sim.run(2.0)  # granted
        exe = sim.executive
        replies = exe.bus.create_pipe("test.echo", 64)
        exe.bus.subscribe(replies, status.msg_id)
        burst = [5000 + i for i in range(8)]
        for frames in burst:  # all on the bus before the pump: one write to the app
            exe.bus.publish(EXECUTIVE_HK.msg_id, _executive_hk(frames))
        answered: list[int] = []
        deadline = time.monotonic() + 60.0  # a real process answers: wait, generously
        while len(answered) < len(burst) and time.monotonic() < deadline:
            sim.host.pump()
            answered += [int(status.unpack(p)["value"]) for _mid, p in replies.drain()]
            time.sleep(0.01)
    assert answered == burst  # every answer, in order: none dropped on the way back


def test_a_stopped_app_takes_no_more_messages(tmp_path):
    # Once stopped, an app's pipes leave the bus: its topics do not pile up for a process
    # that is gone (a full pipe drops messages, counted in the executive's pipe_drops
    # and raised as an event), however long it stays stopped.
    project = make_project(tmp_path, "follower", body=FOLLOWER,
                           subscribe=("ExecutiveHousekeeping",))
    with PartnerSim(project) as sim:
        sim.run(3.0)
        assert sim.telemetry("FollowerStatus")[-1]["count"] > 0  # it was subscribed
        assert sim.app_command(13, "follower")  # STOP
        sim.run(300.0)  # more housekeeping messages than its pipe holds (256)
        full = [e.text for e in sim.events_of() if "full: dropped" in e.text]
        drops = sim.executive.total_drops
    assert full == [] and drops == 0
