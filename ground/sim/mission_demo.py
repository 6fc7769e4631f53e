"""`tessera demo`: the constellation mission flown end to end, with a report.

`run_mission_demo` prepares the keys, bundle and dictionary, starts one
worker process per spacecraft (`ground.sim.mission`), works every pass from
the three ground sessions (`ground.sim.mission_ops`), prints progress lines
and a summary, and writes the mission report (`ground.sim.mission_report`)
into the output folder. It returns 0 when every check of the report holds.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ground.sim.mission import mission_plan
from ground.sim.mission_ops import MissionGround
from ground.sim.mission_report import DETUMBLED_DEG_S, mission_facts, write_report


def run_mission_demo(out_dir: str | Path = "out", *, quick: bool = False,
                     stream: TextIO = sys.stdout) -> int:
    """Fly the mission (`quick`: the short one) and write the report in `out_dir`."""
    def say(text: str) -> None:
        print(text, file=stream, flush=True)

    out = Path(out_dir).resolve()  # the flight configuration's paths are taken as given
    run_dir = out / "mission"
    if run_dir.exists():
        shutil.rmtree(run_dir)  # a new mission: new keys, archives and on-board files
    run_dir.mkdir(parents=True)
    plan = mission_plan(quick)
    say(f"Tessera mission{' (quick)' if quick else ''}: {len(plan.craft)} spacecraft of the "
        f"reference design in {len(plan.craft)} planes, stations "
        f"{', '.join(s.name for s in plan.stations)}; {plan.duration_s:.0f} s of mission time, "
        f"one process per spacecraft, passes paced at {plan.pass_pace:g}x real time while "
        "the ground works them")
    ground = MissionGround(plan, run_dir, say)
    wall0 = time.perf_counter()
    wall_s = ground.run()
    ground.write_log()
    facts = mission_facts(plan, ground, wall_s)
    report = write_report(out, facts, ground)
    _summary(facts, report, time.perf_counter() - wall0, say)
    return 0 if all(facts["checks"].values()) else 1


def _summary(f: dict[str, Any], report: Path, wall_s: float, say: Callable[[str], None]
             ) -> None:
    def t(x: float | None) -> str:
        return "never" if x is None else f"{x:.0f} s"

    say("\nSummary")
    for c in f["craft"]:
        extra = ""
        if c["safe_entered_s"] is not None:
            extra = f"; SAFE at {t(c['safe_entered_s'])}, NOMINAL again at {t(c['safe_left_s'])}"
        # The flight software turns to the sun as soon as its own rate estimate allows;
        # the slew can lift the true rate above the threshold again, so "for good" is later.
        say(f"  {c['name']}: sun pointing from {t(c['sun_acquired_at_s'])}, rate under "
            f"{DETUMBLED_DEG_S:g} deg/s for good from {t(c['detumbled_at_s'])}, "
            f"lowest charge {c['soc_min_pct']:.0f} %{extra}")
    worked = sum(p["worked"] for p in f["passes"])
    verified = sum(c["status"] == "completed" for c in f["commands"])
    say(f"  passes: {worked} of {len(f['passes'])} worked by all three ground sessions; "
        f"commands: {verified} of {len(f['commands'])} verified")
    pd = f["partner_data"]
    say(f"  {f['partner']}'s dosimeter on {f['payload_craft']}: installed in pass "
        f"{f['installed_in'][1] if f['installed_in'] else '-'}; "
        + ", ".join(f"{role} session {d['samples']} samples" for role, d in pd.items()))
    for claim, ok in f["checks"].items():
        say(f"  [{'ok' if ok else 'FAILED'}] {claim}")
    say(f"  {f['duration_s']:.0f} s of mission in {wall_s:.0f} s of wall time; "
        f"report {report}")
