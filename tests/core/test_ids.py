"""Every id is declared once: APIDs, message ids and per-app event ids never collide."""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import pytest

import fsw.apps
from fsw.core import App, EventDef, Severity, ids
from fsw.core.app import BASE_EVENTS, COMMAND_RESULT_MSG, PARAMETER_REPORT_MSG
from fsw.core.events import EVENT_MSG, check_unique
from fsw.core.executive import EXECUTIVE_EVENTS, EXECUTIVE_HK
from fsw.core.message import cmd_msg_id


def flight_app_classes() -> list[type[App]]:
    """Every App subclass defined in the fsw.apps packages."""
    found: dict[str, type[App]] = {}
    for info in pkgutil.walk_packages(fsw.apps.__path__, "fsw.apps."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, App) and obj.__module__ == info.name:
                found[f"{obj.__module__}:{obj.__qualname__}"] = obj
    return list(found.values())


def all_message_ids() -> dict[int, list[str]]:
    """Every message id the core and the flight apps register, with who registers it."""
    users: dict[int, set[str]] = defaultdict(set)
    for mtype in (EVENT_MSG, COMMAND_RESULT_MSG, PARAMETER_REPORT_MSG, EXECUTIVE_HK):
        users[mtype.msg_id].add(f"core {mtype.name}")
    for cls in flight_app_classes():
        users[cmd_msg_id(cls.APID)].add(f"{cls.NAME} commands")
        for mtype in (cls.HK, *cls.TELEMETRY):
            users[mtype.msg_id].add(f"{cls.NAME} {mtype.name}")
    return {mid: sorted(who) for mid, who in users.items()}


def test_the_flight_apps_are_found():
    names = {cls.NAME for cls in flight_app_classes()}
    assert {"adcs", "comms", "sample", "scheduler"} <= names


def test_no_two_apid_names_share_a_value():
    by_value = defaultdict(list)
    for name, value in ids.named_apids().items():
        by_value[value].append(name)
    assert {hex(v): n for v, n in by_value.items() if len(n) > 1} == {}


def test_no_message_id_is_registered_by_two_streams():
    clashes = {hex(mid): who for mid, who in all_message_ids().items() if len(who) > 1}
    assert clashes == {}


def test_every_registered_message_id_has_a_named_apid():
    named = set(ids.named_apids().values())
    unnamed = {hex(mid): who for mid, who in all_message_ids().items()
               if mid & 0x7FF not in named}
    assert unnamed == {}


def test_adcs_state_no_longer_reuses_the_eps_housekeeping_id():
    from fsw.apps.adcs.app import ADCS_STATE
    assert ADCS_STATE.msg_id & 0x7FF != ids.EPS_APID


def test_event_ids_are_unique_within_every_app_and_the_executive():
    check_unique("executive", EXECUTIVE_EVENTS)
    for cls in flight_app_classes():
        declared = [e for k in cls.__mro__ for e in vars(k).get("EVENTS", ())]
        per_id = defaultdict(set)
        for e in declared:
            per_id[e.id].add(e.name)
        assert {i: n for i, n in per_id.items() if len(n) > 1} == {}, cls.NAME
        assert set(BASE_EVENTS) <= set(cls.EVENT_TABLE.values())


def test_the_base_events_and_the_adcs_events_no_longer_collide():
    from fsw.apps.adcs.app import AdcsApp
    base_ids = {e.id for e in BASE_EVENTS}
    own = {e.id for e in AdcsApp.EVENTS}
    assert own and not own & base_ids


def test_an_app_declaring_one_event_id_twice_is_refused():
    with pytest.raises(TypeError, match="event id 10"):
        type("Twice", (App,), {"NAME": "twice", "APID": 0x120, "EVENTS": (
            EventDef(10, "A", Severity.INFO, "a"), EventDef(10, "B", Severity.INFO, "b"))})


def test_an_app_event_may_not_take_a_base_class_id():
    with pytest.raises(TypeError, match="base class"):
        type("Low", (App,), {"NAME": "low", "APID": 0x121,
                             "EVENTS": (EventDef(5, "MINE", Severity.LOW, "mine"),)})
