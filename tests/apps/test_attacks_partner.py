"""A hostile partner: "uni-a" holds only its own key and tries to act outside
its allocation, one test per route. In each, the forbidden command must not
run, shared state must be unchanged, comms must keep running and the bus
operator's next TC must still execute."""

from __future__ import annotations

from dataclasses import replace

import pytest
from uplink_kit import (
    OPERATOR,
    UNI_A,
    UNI_A_APID,
    UNI_B_APID,
    Link,
    reports,
    spacecraft,
)

from fsw.apps.comms import LINK_FAILURE_BASE
from fsw.apps.scheduler import ST11_FUNCTION, Owner
from fsw.core import Store, cmd_msg_id
from fsw.core.app import COMMAND_HEADER, COMMAND_RESULT_MSG
from fsw.core.ids import COMMS_APID, SAMPLE_APID, SCHEDULER_APID
from fsw.protocol import Reason
from fsw.protocol import services as sv
from fsw.protocol.cuc import CucTime
from fsw.protocol.spp import SEQ_FIRST, SEQ_LAST
from fsw.protocol.tc import UNLOCK, set_vr

NOT_AUTHORISED = LINK_FAILURE_BASE + Reason.NOT_AUTHORISED


@pytest.fixture
def link(tmp_path) -> Link:
    return Link(tmp_path)


def insert(link: Link, at_s: float, *tcs) -> sv.ScheduledTc:
    acts = [sv.ScheduledTc(CucTime.from_seconds(at_s), tc) for tc in tcs]
    return link.ground.tc(SCHEDULER_APID, 11, 4, sv.encode_insert(acts))


# -- 1. authority travels with the command ------------------------------------------

def test_insert_wrapping_a_foreign_command_is_refused_nested_or_not(link: Link):
    g = link.ground
    t = link.exe.clock.now() + 1.0
    foreign = g.set_input(SAMPLE_APID, 666.0)
    other_partner = g.set_input(UNI_B_APID, 666.0)
    flat = insert(link, t, foreign)
    nested = insert(link, t, insert(link, t + 0.5, insert(link, t + 0.6, other_partner)))
    tms = link.send([g.frame(flat.encode(), UNI_A), g.frame(nested.encode(), UNI_A)], steps=30)
    assert reports(tms, flat.request_id) == [(2, NOT_AUTHORISED)]
    assert reports(tms, nested.request_id) == [(2, NOT_AUTHORISED)]
    assert link.app("sample").inputs == [] and link.app("uni_b").inputs == []
    assert link.exe.apps["scheduler"].activities == {}
    link.operator_still_commands()


def test_released_activity_is_authorised_against_its_owner_even_after_a_reboot(link: Link,
                                                                                tmp_path):
    """Suppose a foreign TC got into the schedule under uni-a's name (say its
    rights shrank after it was inserted): at release it is checked against
    uni-a again, before and after a reboot, and does not run."""
    g = link.ground
    sched = cmd_msg_id(SCHEDULER_APID)
    owner = Owner(UNI_A, False, 32)
    t = link.exe.clock.now() + 1.0
    acts = [sv.ScheduledTc(CucTime.from_seconds(t), g.set_input(SAMPLE_APID, 666.0)),
            sv.ScheduledTc(CucTime.from_seconds(t + 100), g.set_input(SAMPLE_APID, 667.0))]
    link.exe.bus.publish(sched, COMMAND_HEADER.pack(1, ST11_FUNCTION[sv.SCHED_INSERT])
                         + owner.encode() + sv.encode_insert(acts))
    tms = link.send([], steps=20)
    assert link.app("sample").inputs == []
    assert reports(tms, acts[0].tc.request_id) == [(2, NOT_AUTHORISED)]
    # the second one waits across a reboot, still owned by uni-a
    link.exe.shutdown()
    link.store.close()
    exe = spacecraft(tmp_path, link.key_file, Store(tmp_path / "store.db"))
    [(key, _)] = exe.apps["scheduler"].activities.items()
    assert key.owner == UNI_A
    while exe.clock.now() < t + 101:
        exe.step()
    tms = link.ground.downlink(exe.apps["comms"].take_frames())
    assert exe.apps["sample"].inputs == [] and not exe.apps["scheduler"].activities
    assert reports(tms, acts[1].tc.request_id) == [(2, NOT_AUTHORISED)]


def test_no_run_this_tc_command_borrows_authority(link: Link):
    """The released-TC path is a bus message from the scheduler only: the
    comms app has no function that runs a TC handed to it by command."""
    g = link.ground
    inner = g.set_input(SAMPLE_APID, 666.0).encode()
    for spi in (UNI_A, OPERATOR):
        wrapped = g.tc(COMMS_APID, 8, 1, sv.PerformFunction(20, inner).encode())
        tms = link.send([g.frame(wrapped.encode(), spi)])
        if spi == UNI_A:
            assert reports(tms, wrapped.request_id) == [(2, NOT_AUTHORISED)]
        else:
            assert reports(tms, wrapped.request_id) == [(2, 1)]  # no function code 20
    assert link.app("sample").inputs == []
    link.operator_still_commands()


# -- 3. segmentation is per security association --------------------------------------

def test_partner_segments_never_join_or_break_the_operators_packets(link: Link):
    g = link.ground
    big = g.set_input(SAMPLE_APID, 7.0).encode()
    own = g.set_input(UNI_A_APID, 3.0).encode()
    # uni-a cannot put a segment on the operator's VC at all
    half = len(big) // 2
    stray = g.tx.frame(0, 0, big[:half], spi=UNI_A, seq_flags=SEQ_FIRST)
    # uni-a opens a packet on its own VC, the operator's TC arrives in between
    first = g.frame(own[:5], UNI_A, seq_flags=SEQ_FIRST)
    operator_tc = g.set_input(SAMPLE_APID, 5.0)
    tms = link.send([stray, first, g.frame(operator_tc.encode(), OPERATOR)])
    assert link.comms.rejected_by_reason[Reason.SA_WRONG_VC] == 1
    assert link.app("sample").inputs == [5.0]
    assert reports(tms, operator_tc.request_id) == [(1, None), (7, None)]
    # the operator's Unlock of uni-a's VC does not discard uni-a's packet either
    link.send([g.control(UNLOCK, OPERATOR, vc=1)])
    link.send([g.frame(own[5:], UNI_A, seq_flags=SEQ_LAST)])
    assert link.app("uni_a").inputs == [3.0]
    link.operator_still_commands()


# -- 2. shared state: schedule, housekeeping, events -----------------------------------

def test_partner_cannot_touch_the_operators_schedule(link: Link):
    g = link.ground
    sched = link.exe.apps["scheduler"]
    t = link.exe.clock.now() + 3.0
    op_tc = g.set_input(SAMPLE_APID, 9.0)
    op_insert = insert(link, t, op_tc)
    link.send([g.frame(op_insert.encode(), OPERATOR)])
    before = dict(sched.activities)
    assert len(before) == 1
    delete = g.tc(SCHEDULER_APID, 11, 5, sv.encode_delete([sv.ActivityId.of(op_tc)]))
    reset = g.tc(SCHEDULER_APID, 11, 3)
    disable = g.tc(SCHEDULER_APID, 11, 2)
    tms = link.send([g.frame(tc.encode(), UNI_A) for tc in (delete, reset, disable)])
    assert reports(tms, delete.request_id)[-1] == (8, 3)  # no such activity of uni-a's
    assert sched.activities == before and sched.enabled
    while link.exe.clock.now() < t + 0.5:
        link.exe.step()
    assert link.app("sample").inputs == [9.0]  # released as planned
    # the operator's disable of the whole schedule is not undone by uni-a's enable
    link.send([g.frame(g.tc(SCHEDULER_APID, 11, 2).encode(), OPERATOR),
               g.frame(g.tc(SCHEDULER_APID, 11, 1).encode(), UNI_A)])
    assert not sched.enabled
    link.send([g.frame(g.tc(SCHEDULER_APID, 11, 1).encode(), OPERATOR)])
    link.operator_still_commands()


def test_partner_cannot_disable_or_delete_other_apps_housekeeping(link: Link):
    g = link.ground
    hk = link.comms.services.hk_enabled
    before = dict(hk)
    tcs = [g.tc(UNI_A_APID, 3, sub, sv.encode_ids([SAMPLE_APID, COMMS_APID]))
           for sub in (sv.HK_DISABLE, sv.HK_DELETE)]
    tms = link.send([g.frame(tc.encode(), UNI_A) for tc in tcs])
    for tc in tcs:
        assert reports(tms, tc.request_id) == [(2, NOT_AUTHORISED)]
    assert hk == before
    texts = [e.text for e in link.exe.events.recent if e.apid == COMMS_APID]
    for sub in (sv.HK_DISABLE, sv.HK_DELETE):  # the refusal names the first it may not touch
        assert any(t.startswith(f"TC rejected: TC[3,{sub}] to {UNI_A_APID:#x}: ")
                   and t.endswith(f"uni-a may not touch the housekeeping of {SAMPLE_APID:#x}")
                   for t in texts), texts
    link.operator_still_commands()


def test_partner_cannot_fill_the_schedule_or_event_table_against_the_operator(link: Link):
    g = link.ground
    quotas = link.comms.rx.security.sas[UNI_A].rights.quotas
    t = link.exe.clock.now() + 500.0
    accepted = refused = 0
    for _ in range(quotas.schedule_slots // 8 + 2):
        ins = insert(link, t, *[g.set_input(UNI_A_APID, 1.0) for _ in range(8)])
        tms = link.send([g.frame(ins.encode(), UNI_A)])
        ok = reports(tms, ins.request_id)[-1] == (7, None)
        accepted += ok
        refused += not ok
    assert accepted * 8 == quotas.schedule_slots and refused == 2
    ids = sv.encode_ids(list(range(quotas.event_table_entries + 1)))
    too_many = g.tc(UNI_A_APID, 5, sv.EV_DISABLE, ids)
    tms = link.send([g.frame(too_many.encode(), UNI_A)])
    assert reports(tms, too_many.request_id) == [
        (2, LINK_FAILURE_BASE + Reason.QUOTA_EXCEEDED)]
    assert not link.comms.services.disabled_events
    # the operator still schedules and still disables events
    op_insert = insert(link, t, g.set_input(SAMPLE_APID, 1.0))
    op_events = g.tc(SAMPLE_APID, 5, sv.EV_DISABLE, sv.encode_ids([3]))
    tms = link.send([g.frame(op_insert.encode(), OPERATOR), g.frame(op_events.encode(), OPERATOR)])
    assert reports(tms, op_insert.request_id)[-1] == (7, None)
    assert reports(tms, op_events.request_id)[-1] == (7, None)
    link.operator_still_commands()


# -- 5. no authentic input stops comms -----------------------------------------------------

def test_malformed_but_authentic_tcs_never_stop_comms(link: Link, monkeypatch):
    g = link.ground
    # the classic: one structure named twice
    twice = g.tc(UNI_A_APID, 3, sv.HK_DISABLE, sv.encode_ids([UNI_A_APID, UNI_A_APID]))
    tms = link.send([g.frame(twice.encode(), UNI_A)])
    assert reports(tms, twice.request_id) == [(1, None), (7, None)]

    # and whatever else a handler may raise, now and on a timer through ST11
    def broken(tc, data, who):
        raise KeyError("something no one foresaw")
    monkeypatch.setitem(link.comms.services.handlers, "HK_ONE_SHOT", broken)
    boom = [g.tc(UNI_A_APID, 3, sv.HK_ONE_SHOT, sv.encode_ids([UNI_A_APID])) for _ in range(8)]
    later = g.tc(UNI_A_APID, 3, sv.HK_ONE_SHOT, sv.encode_ids([UNI_A_APID]))
    timed = insert(link, link.exe.clock.now() + 1.0, later)
    tms = link.send([g.frame(tc.encode(), UNI_A) for tc in [*boom, timed]], steps=20)
    for tc in [*boom, later]:
        assert reports(tms, tc.request_id) == [(2, LINK_FAILURE_BASE + Reason.HANDLER_FAILED)]
    assert link.comms.cycle_error_count == 0
    link.operator_still_commands()


def test_trailing_junk_octet_is_reported_not_silent(link: Link):
    g = link.ground
    tc = g.set_input(UNI_A_APID, 2.0)
    link.send([g.frame(tc.encode() + b"\x00", UNI_A)])
    assert link.app("uni_a").inputs == [2.0]  # the packet before it still ran
    texts = [e.text for e in link.exe.events.recent if e.apid == COMMS_APID]
    assert any("1 octets after 1 packets" in t for t in texts)
    assert link.comms.tcs_rejected == 1
    assert link.comms.rejected_by_reason[Reason.TRUNCATED] == 1  # one octet: no packet header
    link.operator_still_commands()


def test_commands_dropped_by_a_full_pipe_get_a_failure_report(link: Link):
    g = link.ground
    tcs = [g.set_input(SAMPLE_APID, float(i)) for i in range(32)]
    frames = [g.frame(b"".join(tc.encode() for tc in tcs[i:i + 16]), OPERATOR) for i in (0, 16)]
    tms = link.send(frames)
    ran = link.app("sample").inputs
    depth = 16  # docs/apps.md: an app's command pipe holds 16 commands between cycles
    assert len(ran) == depth
    full = [tc for tc in tcs if reports(tms, tc.request_id) ==
            [(10, LINK_FAILURE_BASE + Reason.QUEUE_FULL)]]
    assert len(full) == len(tcs) - depth
    assert all(reports(tms, tc.request_id) == [(1, None), (7, None)]
               for tc in tcs if tc not in full)
    texts = [e.text for e in link.exe.events.recent if e.apid == COMMS_APID]
    assert any(x.endswith(f"the command pipe of {SAMPLE_APID:#x} is full: command dropped")
               for x in texts)
    link.operator_still_commands()


def test_inserts_nest_three_deep_and_no_deeper(link: Link):
    # docs/space-link.md: inserts are checked recursively, at most three deep
    g = link.ground
    t = link.exe.clock.now() + 100.0
    three = insert(link, t, insert(link, t, insert(link, t, g.set_input(UNI_A_APID, 1.0))))
    four = insert(link, t, insert(link, t, insert(link, t, insert(
        link, t, g.set_input(UNI_A_APID, 2.0)))))
    tms = link.send([g.frame(three.encode(), UNI_A), g.frame(four.encode(), UNI_A)])
    assert reports(tms, three.request_id) == [(1, None), (7, None)]
    assert reports(tms, four.request_id) == [(2, LINK_FAILURE_BASE + Reason.BAD_APP_DATA)]
    texts = [e.text for e in link.exe.events.recent if e.apid == COMMS_APID]
    assert any(x.endswith("bad_app_data: inserts nested too deep") for x in texts)
    assert len(link.exe.apps["scheduler"].activities) == 1


def test_a_schedule_request_to_another_app_is_refused(link: Link):
    g = link.ground
    wrong = g.tc(SAMPLE_APID, 11, sv.SCHED_SUMMARY_REQ)
    tms = link.send([g.frame(wrong.encode(), OPERATOR)])
    assert reports(tms, wrong.request_id) == [(2, LINK_FAILURE_BASE + Reason.NO_SUCH_TARGET)]
    texts = [e.text for e in link.exe.events.recent if e.apid == COMMS_APID]
    assert any(f"no_such_target: ST11 requests go to APID {SCHEDULER_APID:#x}" in x
               for x in texts)
    link.operator_still_commands()


# -- 4. FARM and the shared channel ---------------------------------------------------

def test_partner_cannot_drive_the_operators_farm(link: Link):
    g = link.ground
    farm0 = link.comms.rx.farms[0]
    link.operator_still_commands(1.0)
    state = farm0.to_dict()
    attacks = [g.control(UNLOCK, UNI_A, vc=0), g.control(set_vr(200), UNI_A, vc=0)]
    for ns in (100, 200, 2):  # wild N(S) on the operator's VC
        attacks.append(g.tx.frame(0, ns, g.set_input(UNI_A_APID, 1.0).encode(), spi=UNI_A))
    link.send(attacks)
    assert farm0.to_dict() == state
    # uni-a's SA is not used on VC 0 at all, for data or for control
    assert link.comms.rejected_by_reason[Reason.SA_WRONG_VC] == 5
    # locking out its own VC locks out only uni-a
    link.send([g.tx.frame(1, 100, g.set_input(UNI_A_APID, 1.0).encode(), spi=UNI_A)])
    assert link.comms.rx.farms[1].lockout and not farm0.lockout
    link.operator_still_commands(2.0)
    # and uni-a may unlock its own
    link.send([g.control(UNLOCK, UNI_A, vc=1)])
    assert not link.comms.rx.farms[1].lockout


@pytest.mark.parametrize("emptied_first", [False, True])
def test_tc_rate_quota(link: Link, emptied_first: bool):
    g = link.ground
    rate = int(link.comms.rx.security.sas[UNI_A].rights.quotas.tcs_per_s)
    if emptied_first:  # a burst that takes every token, then a second for them to come back
        link.send([g.frame(b"".join(g.tc(UNI_A_APID, 17, 1).encode() for _ in range(5)), UNI_A)
                   for _ in range(rate // 5 + 1)])
        link.send([], steps=10)
    pings = [g.tc(UNI_A_APID, 17, 1) for _ in range(rate + 5)]
    frames = [g.frame(b"".join(p.encode() for p in pings[i:i + 5]), UNI_A)
              for i in range(0, len(pings), 5)]
    tms = link.send(frames)
    over = [p for p in pings if reports(tms, p.request_id) ==
            [(2, LINK_FAILURE_BASE + Reason.QUOTA_EXCEEDED)]]
    assert len(over) == 5
    link.operator_still_commands()


# -- 6. bounded cost per frame and per cycle -------------------------------------------

def test_one_unit_carries_at_most_16_packets(link: Link):
    g = link.ground
    pings = [g.tc(UNI_A_APID, 17, 1) for _ in range(20)]
    tms = link.send([g.frame(b"".join(p.encode() for p in pings), UNI_A)])
    answered = [p for p in pings if reports(tms, p.request_id) == [(1, None), (7, None)]]
    assert answered == pings[:16]
    texts = [e.text for e in link.exe.events.recent if e.apid == COMMS_APID]
    assert any("more than 16 packets in one unit" in t for t in texts)
    link.operator_still_commands()


def test_tm_in_reply_to_a_partner_is_within_its_quota_per_cycle(link: Link):
    g = link.ground
    sa = link.comms.rx.security.sas[UNI_A]
    quota = 300  # octets: a tight allocation, as the key file may give
    sa.rights = replace(sa.rights, quotas=replace(sa.rights.quotas, tm_bytes_per_cycle=quota))
    # 16 connection tests: each answered with acceptance, a report and completion
    tests = [g.tc(UNI_A_APID, 17, 3, sv.encode_connection_test(UNI_A_APID)) for _ in range(16)]
    frame = g.frame(b"".join(t.encode() for t in tests), UNI_A)
    link.comms.receive_frame(frame)
    link.exe.step()
    tms = link.ground.downlink(link.comms.take_frames())
    replies = [t for t in tms if t.dest_id == 7 and t.apid == UNI_A_APID]
    assert 0 < sum(len(t.encode()) for t in replies) <= quota
    assert link.comms.tm_withheld > 0
    withheld = [e.text for e in link.exe.events.recent if "quota withheld" in e.text]
    assert withheld == [f"{link.comms.tm_withheld} TM packets over uni-a's per-cycle quota "
                        "withheld"]
    link.operator_still_commands()


def test_parameter_reports_a_partner_asks_for_are_within_its_quota(link: Link):
    g = link.ground
    sa = link.comms.rx.security.sas[UNI_A]
    quota = 300  # octets per cycle
    sa.rights = replace(sa.rights, quotas=replace(sa.rights.quotas, tm_bytes_per_cycle=quota))
    # two TC[20,1] naming the gain 8 times each (the most one TC may): 16 TM[20,2]
    # reports in one cycle
    asks = [g.tc(UNI_A_APID, 20, 1, sv.encode_ids([0] * 8)) for _ in range(2)]
    ask = asks[0]
    link.comms.receive_frame(g.frame(b"".join(a.encode() for a in asks), UNI_A))
    for _ in range(3):  # routed, answered by the app, reported by comms
        link.exe.step()
    tms = link.ground.downlink(link.comms.take_frames())
    params = [t for t in tms if (t.service, t.subtype) == (20, 2)]
    assert params and all(t.dest_id == ask.source_id for t in params)  # to who asked
    assert len(params) < 16  # the rest withheld, as for any reply to uni-a
    replies = [t for t in tms if t.dest_id == ask.source_id and t.apid == UNI_A_APID]
    assert sum(len(t.encode()) for t in replies) <= 2 * quota  # two cycles of replies
    assert link.comms.tm_withheld > 0
    link.operator_still_commands()


def test_a_result_from_another_app_neither_completes_nor_fails_a_command(link: Link):
    """A partner app (through its host) publishes a verification for the next TC the
    operator sends to the sample app: comms' tokens are sequential, so it can guess."""
    g = link.ground
    tc = g.set_input(SAMPLE_APID, 5.0)
    token = link.comms._next_token + 1
    for ok, reason in ((False, 4), (True, 0)):
        link.exe.bus.publish(COMMAND_RESULT_MSG.msg_id, COMMAND_RESULT_MSG.pack(
            request_id=token, apid=UNI_A_APID, function_code=10, stage=7, ok=ok,
            reason=reason, time_s=0.0))
    tms = link.send([g.frame(tc.encode(), OPERATOR)])
    assert reports(tms, tc.request_id) == [(1, None), (7, None)]
    assert link.app("sample").inputs == [5.0]
    link.operator_still_commands()


def test_every_declared_tc_type_has_exactly_one_handler(link: Link):
    assert set(link.comms.services.handlers) == {t.name for t in sv.TC_TYPES}


def test_activities_of_a_key_holder_taken_out_of_service_do_not_run(link: Link):
    g = link.ground
    own = g.set_input(UNI_A_APID, 5.0)
    ins = insert(link, link.exe.clock.now() + 1.0, own)
    link.send([g.frame(ins.encode(), UNI_A)])
    link.comms.rx.security.sas[UNI_A].operational = False  # say its key leaked
    tms = link.send([], steps=20)
    assert link.app("uni_a").inputs == []
    assert reports(tms, own.request_id) == [(2, NOT_AUTHORISED)]
    link.operator_still_commands()


def test_a_partner_sees_only_its_own_activities(link: Link):
    g = link.ground
    t = link.exe.clock.now() + 60.0
    mine = g.set_input(UNI_A_APID, 1.0)
    theirs = g.set_input(SAMPLE_APID, 1.0)
    link.send([g.frame(insert(link, t, mine).encode(), UNI_A),
               g.frame(insert(link, t + 1, theirs).encode(), OPERATOR)])

    def summary(spi: int) -> list[sv.ActivityId]:
        ask = g.tc(SCHEDULER_APID, 11, sv.SCHED_SUMMARY_REQ)
        tms = link.send([g.frame(ask.encode(), spi)])
        assert reports(tms, ask.request_id) == [(1, None), (7, None)]
        [tm] = [t for t in tms if (t.service, t.subtype) == (11, sv.SCHED_SUMMARY_REPORT)]
        assert tm.dest_id == ask.source_id
        return [aid for _t, aid in sv.decode_summary(tm.source_data)]

    assert summary(UNI_A) == [sv.ActivityId.of(mine)]
    assert summary(OPERATOR) == [sv.ActivityId.of(mine), sv.ActivityId.of(theirs)]


def test_a_holder_allowed_one_tc_a_second_gets_one_in_a_burst(link: Link):
    # the bucket holds one second's worth, and at least one TC
    g = link.ground
    sa = link.comms.rx.security.sas[UNI_A]
    sa.rights = replace(sa.rights, quotas=replace(sa.rights.quotas, tcs_per_s=1))
    pings = [g.tc(UNI_A_APID, 17, 1) for _ in range(2)]
    tms = link.send([g.frame(b"".join(p.encode() for p in pings), UNI_A)])
    assert reports(tms, pings[0].request_id)[0] == (1, None)
    assert reports(tms, pings[1].request_id) == [(2, LINK_FAILURE_BASE + Reason.QUOTA_EXCEEDED)]
    texts = [e.text for e in link.exe.events.recent if e.apid == COMMS_APID]
    assert any(t.startswith(f"TC rejected: TC[17,1] to {UNI_A_APID:#x}: ")
               and t.endswith("uni-a: over 1 TCs per second") for t in texts), texts
