"""The mission report's checks: each claim fails when the facts behind it say otherwise,
and the pass plan gives every spacecraft passes that do not overlap."""

from __future__ import annotations

import copy
from itertools import pairwise

import pytest

from ground.sim.mission import mission_plan, predict_passes
from ground.sim.mission_report import checks


def good_facts() -> dict:
    worked = {r: {"ok": True, "error": "", "verified": 2} for r in ("operator", "uni-a", "uni-b")}
    return {
        "partner": "uni-a",
        "bundle_octets": 10240,
        "craft": [{"name": n, "failed_apps": [], "detumbled_at_s": 3000.0,
                   "sun_acquired_at_s": 2900.0} for n in ("sc1", "sc2", "sc3")],
        "passes": [
            {"craft": "sc2", "number": 1, "tasks": ["routine", "upload"], "worked": True,
             "procedures": worked, "facts": {}, "on_board": {"octets_arriving": 800}},
            {"craft": "sc2", "number": 2, "tasks": ["routine"], "worked": True,
             "procedures": worked, "facts": {}, "on_board": {"octets_arriving": 0}},
            {"craft": "sc2", "number": 3, "tasks": ["routine", "payload_data"], "worked": True,
             "procedures": worked, "facts": {"uni-b.dosimeter_hidden": True},
             "on_board": {}},
        ],
        "commands": [{"status": "completed"}, {"status": "completed"}],
        "installed_in": ["sc2", 2],
        "safe": {"entered_s": 1500.0, "left_s": 3900.0, "recovered_in": ["sc1", 2]},
        "partner_data": {"operator": {"samples": 50}, "uni-a": {"samples": 50},
                         "uni-b": {"samples": 0}},
    }


def test_every_claim_holds_on_facts_that_support_it():
    assert all(checks(good_facts()).values())


def _break(facts: dict, how: str) -> None:
    if how == "app":
        facts["craft"][1]["failed_apps"] = ["payload_host"]
    elif how == "procedure":
        facts["passes"][2]["worked"] = False
    elif how == "detumble":
        facts["craft"][0]["detumbled_at_s"] = None
    elif how == "command":
        facts["commands"][1]["status"] = "timeout"
    elif how == "one pass":            # the whole bundle went up in the first pass
        facts["passes"][0]["on_board"]["octets_arriving"] = 0
    elif how == "same pass":
        facts["installed_in"] = ["sc2", 1]
    elif how == "safe":
        facts["safe"]["left_s"] = None
    elif how == "no data":
        facts["partner_data"]["uni-a"]["samples"] = 0
    elif how == "leak":
        facts["partner_data"]["uni-b"]["samples"] = 1
    elif how == "untested":            # uni-b never worked a pass while the app ran
        facts["passes"][2]["facts"] = {}


@pytest.mark.parametrize(("how", "claim"), [
    ("app", "every app booted on every spacecraft"),
    ("procedure", "every pass had its procedures"),
    ("detumble", "every spacecraft detumbled and acquired the sun"),
    ("command", "every command verified"),
    ("one pass", "the partner's app crossed two passes and was installed"),
    ("same pass", "the partner's app crossed two passes and was installed"),
    ("safe", "SAFE entered and left on the operator's command"),
    ("no data", "partner data reached its partner"),
    ("leak", "no other partner got it"),
    ("untested", "no other partner got it"),
])
def test_each_claim_fails_when_its_fact_does(how, claim):
    facts = copy.deepcopy(good_facts())
    _break(facts, how)
    result = checks(facts)
    assert result[claim] is False
    assert all(ok for name, ok in result.items() if name != claim)


@pytest.mark.parametrize("quick", [False, True])
def test_the_plan_gives_each_spacecraft_passes_in_order_that_do_not_overlap(quick):
    plan = mission_plan(quick)
    for craft in plan.craft:
        passes = predict_passes(craft, plan)
        assert len(passes) >= 2, craft.name
        assert [p.number for p in passes] == list(range(1, len(passes) + 1))
        for p in passes:
            assert 0.0 <= p.aos_s < p.los_s <= plan.duration_s
            assert p.max_elevation_deg >= plan.min_elevation_deg
        assert all(a.los_s <= b.aos_s for a, b in pairwise(passes))
    assert len(predict_passes(plan.payload_craft, plan)) >= 3   # upload, install, data
