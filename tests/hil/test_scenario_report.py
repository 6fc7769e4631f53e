"""Scenario files, criteria verdicts and the bench's deadline accounting."""

from __future__ import annotations

import pytest

from hal.tunnel.messages import pack_stamp
from hal.tunnel.protocol import MsgType
from hil.report import evaluate
from hil.scenario import ScenarioError, load_scenario
from hil.world import BenchWorld, Recorder

BASE = '[scenario]\nname = "t"\nduration_s = 100.0\n'


@pytest.mark.parametrize(("extra", "words"), [
    ('[scenario]\nmode = "fast"', "mode 'fast'"),
    ('[scenario]\nbaud = 12', "baud = 12"),
    ('[scenario]\nber = 0.5', "ber = 0.5"),
    ('[initial]\nspin = 3', "unknown keys ['spin']"),
    ('[initial]\nw0_body_deg_s = "fast"', "[initial]"),
    ('[[faults]]\nat_s = 1.0\nkind = "melt"\ndevice = "gyro"', "kind 'melt'"),
    ('[[faults]]\nat_s = 1.0\nkind = "stuck"\ndevice = "toaster"', "device 'toaster'"),
    ('[[faults]]\nat_s = 1.0\nkind = "link_drop"\ndevice = "gyro"', "takes no device"),
    ('[[faults]]\nkind = "stuck"\ndevice = "gyro"', "at_s missing"),
    ('[[criteria]]\nvalue = "truth.rate_deg_s"', "exactly one of"),
    ('[[criteria]]\nvalue = "weather.rain"\nbelow = 1', "must start with"),
    ('[[criteria]]\nvalue = "truth.rate_deg_s"\nbelow = 1\nat_s = 1\nfrom_s = 2',
     "at most one"),
    ("[scenario\n", "not valid TOML"),
])
def test_bad_scenarios_name_what_is_wrong(extra: str, words: str) -> None:
    text = extra if extra.startswith("[scenario]") else BASE + extra
    with pytest.raises(ScenarioError, match=words.replace("[", r"\[").replace("(", r"\(")):
        load_scenario(text + "\n")


def test_the_reference_scenario_loads() -> None:
    from pathlib import Path

    s = load_scenario(Path(__file__).parents[2] / "hil" / "scenarios" / "detumble.toml")
    assert s.duration_s == 5700.0 and [f.kind for f in s.faults] == ["stuck", "nack",
                                                                     "brownout"]


def test_criteria_verdicts() -> None:
    scenario = load_scenario(BASE + """
[[criteria]]
name = "a"
value = "truth.rate_deg_s"
below = 1.0
at_s = 10.0
[[criteria]]
name = "b"
value = "truth.rate_deg_s"
below = 1.0
from_s = 5.0
[[criteria]]
name = "c"
value = "link.crc_errors"
equals = 0
[[criteria]]
name = "d"
value = "tm.X.y"
above = 1
[[criteria]]
name = "e"
value = "truth.rate_deg_s"
below = 1.0
at_s = 50.0
""")
    rec = Recorder()
    for t, v in [(0, 5.0), (5, 0.5), (8, 1.5), (10, 0.2)]:
        rec.add("truth.rate_deg_s", float(t), v)
    got = {v.criterion.name: v.passed for v in evaluate(scenario, rec, {"crc_errors": 3})}
    # b fails: 1.5 deg/s at 8 s; d has no samples; e: the run never reached 50 s
    assert got == {"a": True, "b": False, "c": False, "d": False, "e": False}


def test_deadline_misses_count_late_work_and_dropped_frames() -> None:
    world = BenchWorld(load_scenario(BASE.replace('name = "t"', 'name = "t"\nmode = "realtime"')))
    stamps = [(0, 0.0, 0.01, 0.1), (1, 0.1, 0.12, 0.2),
              (2, 0.2, 0.35, 0.3),          # work ran past its deadline
              (3, 0.35, 0.36, 0.5),         # the executive dropped the frame due at 0.4
              (4, 0.5, 0.51, 0.6)]
    for stamp in stamps:
        world.handle(MsgType.STAMP, pack_stamp(*stamp))
    assert world.recorder.frames_stamped == 5
    assert world.recorder.deadline_misses == 2
    assert world.recorder.wake_late_ms[2] == pytest.approx(50.0)


def test_the_scenario_in_docs_hil_md_loads() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "hil.md").read_text()
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    scenario = load_scenario(block)
    assert scenario.faults[0].device == "gyro" and scenario.criteria[0].op == "below"
