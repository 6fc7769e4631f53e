"""A key file can grant a partner one function of an APID it does not own
(the mode manager's REQUEST_MODE), and that grant opens nothing else: not
the mode manager's other functions, not its other services, and not by way
of the schedule."""

from __future__ import annotations

import json

import pytest

from fsw.apps.comms.routing import authorise
from fsw.core.ids import MODE_APID, SCHEDULER_APID
from fsw.protocol import ProtocolError, Reason, SecurityError
from fsw.protocol import services as sv
from fsw.protocol.cuc import CucTime
from fsw.protocol.keyfile import load_key_file, parse_key_document, simulator_key_file
from fsw.protocol.pus import PusTc

REQUEST_MODE, SET_MODE, ENTER_SAFE = 11, 10, 12  # fsw.apps.mode command codes
PAYLOAD = 2


@pytest.fixture(scope="module")
def holders(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    simulator_key_file(path)
    return {sa.owner: sa for sa in load_key_file(path).sas}


def function_tc(apid: int, code: int, arg: int = PAYLOAD) -> PusTc:
    return PusTc(apid, 8, 1, sv.PerformFunction(code, bytes((arg,))).encode(), source_id=10)


def check(tc: PusTc, who) -> None:
    ttype = sv.tc_type(tc.service, tc.subtype)
    authorise(ttype, tc, ttype.decode(tc.app_data), who)


def insert(*tcs: PusTc) -> PusTc:
    acts = [sv.ScheduledTc(CucTime.from_seconds(1000.0), tc) for tc in tcs]
    return PusTc(SCHEDULER_APID, 11, 4, sv.encode_insert(acts), source_id=10)


def test_a_partner_may_ask_the_mode_manager_for_payload_mode(holders):
    check(function_tc(MODE_APID, REQUEST_MODE), holders["uni-a"])
    check(insert(function_tc(MODE_APID, REQUEST_MODE)), holders["uni-b"])


@pytest.mark.parametrize("code", [SET_MODE, ENTER_SAFE, 1, 2, 3, 4])
def test_the_grant_opens_no_other_function_of_the_mode_manager(holders, code):
    for tc in (function_tc(MODE_APID, code), insert(function_tc(MODE_APID, code)),
               insert(function_tc(MODE_APID, REQUEST_MODE), function_tc(MODE_APID, code))):
        with pytest.raises(ProtocolError) as err:
            check(tc, holders["uni-a"])
        assert err.value.reason is Reason.NOT_AUTHORISED


def test_the_grant_opens_no_other_service_of_the_mode_manager(holders):
    hk_of_mode = PusTc(MODE_APID, 3, 27, sv.encode_ids([MODE_APID]), source_id=10)
    with pytest.raises(ProtocolError) as err:
        check(hk_of_mode, holders["uni-a"])
    assert err.value.reason is Reason.NOT_AUTHORISED


def test_the_operator_needs_no_grant(holders):
    check(function_tc(MODE_APID, SET_MODE), holders["operator"])


def test_function_grants_round_trip_through_the_key_file(tmp_path):
    kf = simulator_key_file(tmp_path / "k.json")
    again = load_key_file(tmp_path / "k.json")
    assert {sa.owner: sa.rights.functions for sa in again.sas} == \
        {sa.owner: sa.rights.functions for sa in kf.sas}
    assert again.sas[1].rights.functions == frozenset({(MODE_APID, REQUEST_MODE)})


@pytest.mark.parametrize("bad", ["0x012:11", ["0x012"], ["0x012:256"], ["0x800:1"], [12],
                                 ["x:1"]])
def test_a_malformed_function_grant_is_refused_by_name(tmp_path, bad):
    simulator_key_file(tmp_path / "k.json")
    doc = json.loads((tmp_path / "k.json").read_text())
    doc["key_holders"][1]["rights"]["functions"] = bad
    with pytest.raises(SecurityError) as err:
        parse_key_document(doc)
    assert err.value.reason is Reason.KEY_FILE and "functions" in str(err.value)
