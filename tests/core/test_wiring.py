"""The `[wiring]` table: its defaults as docs/autonomy.md states them, every
key parsed, every refusal in its own words, and the wires it answers for."""

from __future__ import annotations

import pytest

from fsw.core import ConfigError, Field, MessageType, Severity, tm_msg_id
from fsw.core.wiring import Wiring

# docs/autonomy.md, "Wiring"
DOCUMENTED_PRIORITY = {"events_high": 220, "verification": 200, "events": 120,
                       "housekeeping": 50}


def test_left_out_the_wiring_is_what_the_docs_say():
    for wiring in (Wiring.from_config(None), Wiring.from_config({}), Wiring()):
        assert wiring.housekeeping == () and wiring.events_from is None
        assert wiring.events_min_severity == Severity.INFO
        assert wiring.scheduler_releases_to is None and wiring.orbit_to is None
        assert dict(wiring.priority) == DOCUMENTED_PRIORITY
        assert wiring.priority_of("Beacon") == 50  # no rank of its own: housekeeping's


def test_every_key_is_read():
    wiring = Wiring.from_config({
        "housekeeping": ["executive", "adcs", "Beacon"],
        "events": {"min_severity": "medium", "from": ["adcs", "executive"]},
        "scheduler_releases_to": "comms", "orbit_to": "adcs",
        "priority": {"Beacon": 255, "events": 0, "housekeeping": 7}})
    assert wiring.housekeeping == ("executive", "adcs", "Beacon")
    assert wiring.events_min_severity == Severity.MEDIUM
    assert wiring.events_from == ("adcs", "executive")
    assert (wiring.scheduler_releases_to, wiring.orbit_to) == ("comms", "adcs")
    assert dict(wiring.priority) == {**DOCUMENTED_PRIORITY, "Beacon": 255, "events": 0,
                                     "housekeeping": 7}
    assert [wiring.priority_of(k) for k in ("Beacon", "events", "verification", "eps")] == [
        255, 0, 200, 7]
    assert Wiring(priority={}).priority_of("anything") == 50


@pytest.mark.parametrize("table,message", [
    ({"bogus": 1, "housekeeping": []},
     "wiring: unknown keys ['bogus'] (known: ['events', 'housekeeping', 'orbit_to', "
     "'priority', 'scheduler_releases_to'])"),
    ({"housekeeping": "adcs"}, "wiring.housekeeping must be a list of app or message names"),
    ({"housekeeping": ["adcs", 3]},
     "wiring.housekeeping must be a list of app or message names"),
    ({"events": {"min_severity": "LOW", "when": "always"}},
     "wiring.events takes min_severity and from"),
    ({"events": {"min_severity": "loud"}},
     "wiring.events.min_severity: one of ['INFO', 'LOW', 'MEDIUM', 'HIGH']"),
    ({"events": {"from": "adcs"}}, 'wiring.events.from must be "all" or a list of app names'),
    ({"events": {"from": ["adcs", 1]}},
     'wiring.events.from must be "all" or a list of app names'),
    ({"priority": {"x": 256}}, "wiring.priority.x must be an integer 0-255"),
    ({"priority": {"x": -1}}, "wiring.priority.x must be an integer 0-255"),
    ({"priority": {"x": True}}, "wiring.priority.x must be an integer 0-255"),
    ({"priority": {"x": 1.5}}, "wiring.priority.x must be an integer 0-255"),
    ({"scheduler_releases_to": 5}, "wiring.scheduler_releases_to must be an app name"),
    ({"orbit_to": ["adcs"]}, "wiring.orbit_to must be an app name"),
])
def test_a_bad_table_is_refused_in_words_that_name_the_key(table, message):
    with pytest.raises(ConfigError) as err:
        Wiring.from_config(table)
    assert str(err.value) == message


@pytest.mark.parametrize("wiring,message", [
    (Wiring(scheduler_releases_to="comms"),
     "wiring.scheduler_releases_to: no app 'comms' (apps: ['adcs', 'eps'])"),
    (Wiring(orbit_to="gnc"), "wiring.orbit_to: no app 'gnc' (apps: ['adcs', 'eps'])"),
    (Wiring(events_from=("adcs", "ghost")), "wiring.events.from: no app 'ghost'"),
])
def test_a_wire_to_an_app_that_is_not_there_stops_the_boot(wiring, message):
    with pytest.raises(ConfigError) as err:
        wiring.check(["eps", "adcs"])
    assert str(err.value) == message


def test_wires_to_apps_that_are_there_pass():
    Wiring(scheduler_releases_to="adcs", orbit_to="eps",
           events_from=("adcs", "executive")).check(["adcs", "eps"])


class _App:
    def __init__(self, apid: int) -> None:
        self.HK = MessageType(f"hk{apid}", tm_msg_id(apid), [Field("x", "B")])


def test_housekeeping_sources_are_apps_the_executive_or_messages_by_name():
    beacon = MessageType("Beacon", tm_msg_id(0x0F0), [Field("x", "B")])
    wiring = Wiring(housekeeping=("executive", "adcs", "Beacon", "eps", "Ghost"))
    found, missing = wiring.housekeeping_msg_ids(
        {"adcs": _App(0x020)}, {beacon.msg_id: beacon, tm_msg_id(0x0F1): None})
    # the executive speaks as EXECUTIVE_APID, 0x001 in the id table (fsw/core/ids.py)
    assert found == {"executive": 0x0801, "adcs": 0x0820, "Beacon": 0x08F0}
    assert missing == ["eps", "Ghost"]


def test_partner_apps_in_the_housekeeping_list_leave_the_other_sources_alone():
    wiring = Wiring(housekeeping=("partner_apps", "executive", "Ghost"))
    assert wiring.housekeeping_msg_ids({}, {}) == ({"executive": 0x0801}, ["Ghost"])


def test_partner_telemetry_goes_down_only_when_the_wiring_names_partner_apps():
    """Partner APIDs start at 0x100 (uni-a 0x100-0x10F, uni-b 0x110-0x11F);
    their telemetry ids are 0x0800 | APID. The operator's own (APID 0x020,
    0x0FF), a partner's command id (0x1900) and an id of another shape are
    never partner telemetry."""
    registered = [0x0801, 0x0820, 0x0910, 0x090F, 0x0900, 0x08FF, 0x1900, 0x0100]
    assert Wiring(housekeeping=("executive",)).partner_msg_ids(registered) == []
    assert Wiring().partner_msg_ids(registered) == []
    assert Wiring(housekeeping=("executive", "partner_apps")).partner_msg_ids(registered) == [
        0x0900, 0x090F, 0x0910]


def test_events_go_down_from_the_minimum_severity_and_from_the_named_apps():
    apids = {0x020: "adcs", 0x021: "eps"}
    everyone = Wiring(events_min_severity=Severity.LOW)
    assert [everyone.forwards_event(0x021, s, apids) for s in Severity] == [
        False, True, True, True]
    some = Wiring(events_from=("adcs", "executive"))
    assert [some.forwards_event(a, Severity.INFO, apids) for a in (0x020, 0x021, 0x001, 0x050)] \
        == [True, False, True, False]
    assert not Wiring(events_from=("eps",)).forwards_event(0x001, Severity.HIGH, apids)
