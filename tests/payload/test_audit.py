"""The audit log: append-only, chained, and whole after a power cut."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.payload.audit import (
    AuditError,
    AuditLog,
    decode_submission,
    encode_submission,
    verify_chain,
)
from tests.payload.kit import audit_records


def test_records_chain_and_reopen(tmp_path):
    log = AuditLog(tmp_path / "a.log")
    log.append(1.0, "uni-a", "install", "hello", "version 1")
    log.append(2.0, "operator", "start", "hello", "commanded")
    log.close()
    log = AuditLog(tmp_path / "a.log")
    log.append(3.0, "onboard", "stop", "hello", "quota")
    records = verify_chain(log.lines())
    assert [(r.seq, r.action) for r in records] == [(0, "install"), (1, "start"), (2, "stop")]


def test_a_record_torn_by_a_power_cut_is_dropped_and_the_chain_goes_on(tmp_path):
    log = AuditLog(tmp_path / "a.log")
    log.append(1.0, "uni-a", "install", "hello", "version 1")
    log.close()
    with open(tmp_path / "a.log", "ab") as fh:
        fh.write(b'{"seq":1,"t":2.0,"actor":"uni')  # the write the power cut interrupted
    log = AuditLog(tmp_path / "a.log")
    log.append(3.0, "operator", "start", "hello", "")
    assert [r.seq for r in verify_chain(log.lines())] == [0, 1]


@pytest.mark.parametrize("damage", ["remove", "edit", "swap"])
def test_any_change_to_the_log_breaks_the_chain(tmp_path, damage):
    log = AuditLog(tmp_path / "a.log")
    for i in range(4):
        log.append(float(i), "uni-a", "command", "hello", f"function {10 + i}")
    lines = log.lines()
    if damage == "remove":
        del lines[1]
    elif damage == "edit":
        lines[2] = lines[2].replace(b"function 12", b"function 99")
    else:
        lines[1], lines[2] = lines[2], lines[1]
    with pytest.raises(AuditError, match="chain broken"):
        verify_chain(lines)


@settings(max_examples=200, deadline=None)
@given(*[st.text(max_size=40)] * 4)
def test_submissions_round_trip(actor, action, app, detail):
    raw = encode_submission(actor, action, app, detail)
    assert decode_submission(raw[5:]) == {  # "|" separates the fields, so it becomes "/"
        "actor": actor.replace("|", "/"), "action": action.replace("|", "/"),
        "app": app.replace("|", "/"), "detail": detail.replace("|", "/")}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=5))
def test_any_lines_verify_or_raise_one_error(lines):
    try:
        verify_chain(lines)
    except AuditError:
        pass


def test_records_sent_just_before_an_orderly_shutdown_are_written():
    from fsw.core.message import cmd_msg_id
    from ground.payload import PartnerSim

    with PartnerSim([]) as sim:
        exe = sim.executive
        sim.run(2.0)  # the audit app (1 Hz) has written everything sent so far
        for i in range(3):  # sent after its last cycle: nothing has written them yet
            exe.bus.publish(cmd_msg_id(0x017),  # the audit app's APID (ids reservation)
                            encode_submission("operator", "stop", f"app{i}", "last words"))
        exe.shutdown()
        records = audit_records(sim)
    assert [(r.action, r.app, r.detail) for r in records[-3:]] == [
        ("stop", f"app{i}", "last words") for i in range(3)]


def test_the_hosts_own_stops_at_shutdown_are_in_the_log(tmp_path):
    # The host stops its apps when the flight software shuts down; the audit app,
    # which the host depends on, must outlive it to write those stops.
    from ground.payload import PartnerSim
    from tests.payload.kit import make_project

    with PartnerSim(make_project(tmp_path, "quiet")) as sim:
        sim.run(2.0)
        sim.executive.shutdown()
        records = audit_records(sim)
    assert ("stop", "quiet", "host stopping") in [(r.action, r.app, r.detail) for r in records]
