"""`tessera demo --quick`: the constellation mission, run as a process, and its report.

The checks read what the mission left behind: the report's facts, and beside
them the three ground sessions' own archives (what each control centre
actually received and commanded), so a report that claimed more than
happened would fail here.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from ground.archive import SqliteArchive

# The quick mission takes about a minute on two idle cores; a loaded machine stretches it.
pytestmark = pytest.mark.timeout(900)

SCID = {"sc1": 0x2AB, "sc2": 0x2AC, "sc3": 0x2AD}
ROLES = ("operator", "uni-a", "uni-b")


@pytest.fixture(scope="module")
def mission(tmp_path_factory):
    out = tmp_path_factory.mktemp("mission")
    proc = subprocess.run([sys.executable, "-m", "tessera", "demo", "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    facts = json.loads((out / "mission.json").read_text())
    return proc, out, facts


def archive(out: Path, role: str) -> SqliteArchive:
    return SqliteArchive(out / "mission" / "ground" / f"{role}.db")


def test_the_mission_runs_with_progress_and_a_summary_whose_checks_all_hold(mission):
    proc, _, facts = mission
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Tessera mission (quick): 3 spacecraft")
    assert sum("|w|=" in ln for ln in lines) >= 30              # progress while it runs
    assert sum("AOS over" in ln for ln in lines) == len(facts["passes"])
    summary = lines[lines.index("Summary"):]
    assert len([ln for ln in summary if ln.strip().startswith("[ok]")]) == len(facts["checks"])
    assert not any("FAILED" in ln for ln in summary)


def test_every_pass_had_its_procedures_from_all_three_centres(mission):
    _, _, facts = mission
    passes = facts["passes"]
    assert {p["craft"] for p in passes} == set(SCID) and len(passes) >= 6
    for p in passes:
        assert p["aos_s"] < p["contact_end_s"] <= p["los_s"] + 1.0
        assert set(p["procedures"]) == set(ROLES)
        for role, run in p["procedures"].items():
            assert run["ok"], (p["craft"], p["number"], role, run["error"])
            assert run["verified"] >= 2, (p["craft"], p["number"], role)
        # the operator saw telemetry stored on board while out of contact
        assert p["facts"]["operator.stored_samples"] > 0


def test_every_command_was_verified_in_each_centres_own_archive(mission):
    _, out, facts = mission
    texts = {}
    for role in ROLES:
        records = archive(out, role).commands()
        assert records, role
        assert all(r.status == "completed" for r in records), \
            [(r.text, r.status) for r in records if r.status != "completed"]
        texts[role] = [r.text for r in records]
    assert len(facts["commands"]) == sum(len(t) for t in texts.values())
    assert any(t.startswith("payload_host.INSTALL") for t in texts["operator"])
    assert any(t.startswith("payload_host.START_APP") for t in texts["operator"])
    assert "mode.SET_MODE mode=1" in texts["operator"]
    assert any(t.startswith("dosimeter.SET_GAIN") for t in texts["uni-a"])
    assert not any(t.startswith("dosimeter") for t in texts["uni-b"])   # refused on the ground


def test_the_partner_app_crossed_two_passes_was_installed_and_its_data_reached_only_uni_a(
        mission):
    _, out, facts = mission
    upload = next(p for p in facts["passes"] if "upload" in p["tasks"])
    assert 0 < upload["on_board"]["octets_arriving"] < facts["bundle_octets"]  # cut at LOS
    craft, installed_in = facts["installed_in"]
    assert craft == upload["craft"] == "sc2" and installed_in > upload["number"]
    uni_a = archive(out, "uni-a")
    dose = uni_a.samples(SCID["sc2"], "dosimeter.DoseReport.total_dose", -math.inf, math.inf)
    assert len(dose) > 10 and all(b[2] > a[2] for a, b in pairwise(dose))
    gains = {e for _, _, e in uni_a.samples(SCID["sc2"], "dosimeter.DoseReport.gain",
                                            -math.inf, math.inf)}
    assert 2.0 in gains                           # uni-a's own SET_GAIN took effect
    uni_b = archive(out, "uni-b")
    assert not [n for n in uni_b.parameter_names() if n.startswith("dosimeter")]
    assert all(n.startswith("uni_b_sample.") for n in uni_b.parameter_names())
    assert any(p["facts"].get("uni-b.dosimeter_hidden") for p in facts["passes"]
               if p["craft"] == "sc2")
    assert facts["partner_data"]["uni-b"]["samples"] == 0
    assert facts["partner_data"]["uni-a"]["samples"] > 0


def test_safe_was_entered_on_low_battery_and_left_on_the_operators_command(mission):
    _, out, facts = mission
    safe = facts["safe"]
    assert safe["craft"] == "sc1"
    assert safe["entered_s"] < safe["left_s"]
    events = archive(out, "operator").events(SCID["sc1"], -math.inf, math.inf)
    to_safe = [e for e in events if e.name == "TO_SAFE"]
    assert to_safe and "LOW_BATTERY" in to_safe[0].text
    assert abs(to_safe[0].t - safe["entered_s"]) < 5.0
    back = [e for e in events if e.name == "TRANSITION" and "operator" in e.text
            and e.t > to_safe[0].t]
    assert back and abs(back[0].t - safe["left_s"]) < 5.0
    recovered = next(p for p in facts["passes"] if p["facts"].get("operator.recovered"))
    assert [recovered["craft"], recovered["number"]] == safe["recovered_in"]
    assert recovered["aos_s"] <= safe["left_s"] <= recovered["contact_end_s"]


def test_the_html_report_shows_plots_passes_commands_events_partner_data_and_audit(mission):
    _, out, facts = mission
    page = (out / "mission.html").read_text()
    for heading in ("Pass timeline", "Command log", "The partner's data", "Events",
                    "Audit log"):
        assert heading in page, heading
    for src in re.findall(r"<img src='([^']+)'", page):
        assert (out / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(re.findall(r"<img src='([^']+)'", page)) == ["sc1.png", "sc2.png", "sc3.png"]
    assert page.count("<tr><td>sc") >= len(facts["passes"])
    assert "install" in page and "dosimeter" in page
