"""An app's message rate and daily downlink budget, counted to the message and the octet.

docs/payload.md: the host counts messages with a token bucket at `messages_per_s`
(one second of burst) and downlink bytes per day against `downlink_bytes_per_day`;
what is over either is dropped, and the supervisor throttles (an event saying how
much was dropped) and, three periods over in a row, stops the app. An app at 1 Hz
sends its telemetry (8 octets: count, value) and the SDK's housekeeping (6 octets)
each second.
"""

from __future__ import annotations

import re
import sys

import pytest

from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

BURST = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.cycle = 0

    def execute(self):
        self.cycle += 1
        for i in range(25 if self.cycle == 2 else 1):  # one burst of 25, else one
            self.publish(TM, count=self.cycle * 100 + i, value=0.0)
"""


def test_a_burst_past_its_rate_is_cut_and_every_dropped_message_counted(tmp_path):
    with PartnerSim(make_project(tmp_path, "burst", body=BURST, messages_per_s=20)) as sim:
        sim.run(4.0)
        counts = [row["count"] for row in sim.telemetry("BurstStatus")]
        texts = [e.text for e in sim.events_of()]
    # the second cycle: 20 tokens for 25 packets and the housekeeping, so 20 go down
    assert [c for c in counts if c // 100 == 2] == [200 + i for i in range(20)]
    assert "burst throttled: 6 messages over 20/s dropped" in texts, texts
    assert [c for c in counts if c // 100 == 3] == [300]  # the bucket is full again


STEADY = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.cycle = 0

    def execute(self):
        self.cycle += 1
        self.publish(TM, count=self.cycle, value=0.0)
"""


def test_the_daily_downlink_budget_is_filled_exactly_then_everything_is_dropped(tmp_path):
    project = make_project(tmp_path, "talker", body=STEADY)
    manifest = project / "manifest.toml"
    # seven seconds of telemetry and housekeeping, 7 x (8 + 6) octets, to the octet
    manifest.write_text(manifest.read_text().replace("downlink_bytes_per_day = 1_000_000",
                                                     "downlink_bytes_per_day = 98"))
    with PartnerSim(project) as sim:
        sim.run(12.0)
        counts = [row["count"] for row in sim.telemetry("TalkerStatus")]
        texts = [e.text for e in sim.events_of()]
        running = "talker" in sim.host.running
    assert counts == [1, 2, 3, 4, 5, 6, 7]
    over = [int(m.group(1)) for t in texts
            if (m := re.match(r"talker throttled: (\d+) B over the daily downlink budget "
                              r"of 98 B dropped$", t))]
    # each period over drops whole seconds of the app's output: 14 octets a second
    assert over and all(n > 0 and n % 14 == 0 for n in over), texts
    assert any(t.startswith("talker stopped: quota: ") and "downlink" in t for t in texts)
    assert not running


MISSIZED = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.cycle = 0

    def execute(self):
        self.cycle += 1
        if self.cycle == 2:  # its own telemetry id, three octets where it declared eight
            self.publish_raw(self._telemetry[TM].msg_id, b"abc")
        self.publish(TM, count=self.cycle, value=0.0)
"""


def test_a_packet_of_another_size_than_declared_is_refused_and_the_app_goes_on(tmp_path):
    with PartnerSim(make_project(tmp_path, "sloppy", body=MISSIZED)) as sim:
        sim.run(4.0)
        counts = [row["count"] for row in sim.telemetry("SloppyStatus")]
        texts = [e.text for e in sim.events_of()]
        violations = sim.host.violations
        running = "sloppy" in sim.host.running
    assert "sloppy: publish on 0x0901 of 3 bytes refused: declared 8 (x1)" in texts, texts
    assert violations == 1
    assert counts[:3] == [1, 2, 3] and running  # the cycle after the refusal too


BEFORE_MIDNIGHT = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def execute(self):
        t = self._mission_time  # the host's time of this cycle, s
        if 86398.0 <= t < 86399.0:  # the budget spent in one burst, just before midnight
            for i in range(19):
                self.publish(TM, count=i, value=t)
        elif t >= 86400.0:  # a new day: a new budget
            self.publish(TM, count=1000, value=t)
"""


def test_the_downlink_budget_is_new_each_day(tmp_path):
    from fsw.core import Executive, VirtualClock

    project = make_project(tmp_path, "nightly", body=BEFORE_MIDNIGHT)
    manifest = project / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("downlink_bytes_per_day = 1_000_000",
                                                     "downlink_bytes_per_day = 200"))
    # mission time 20 s before the end of day 0 (days count from mission time 0)
    exe = Executive(VirtualClock(start_s=86400.0 - 20.0), rate_groups_hz=(10.0, 1.0))
    with PartnerSim(project, executive=exe) as sim:
        sim.run(25.0)
        rows = sim.telemetry("NightlyStatus")
        texts = [e.text for e in sim.events_of()]
        running = "nightly" in sim.host.running
    assert any(re.match(r"nightly throttled: \d+ B over the daily downlink budget of 200 B", t)
               for t in texts), texts  # the burst went past the budget
    after = [r for r in rows if r["count"] == 1000]
    assert len(after) >= 3 and all(r["value"] >= 86400.0 for r in after)
    assert running
