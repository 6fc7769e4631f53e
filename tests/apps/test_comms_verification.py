"""PUS service 1 for the stages apps report besides acceptance and completion.

An app (a partner's, through the payload host) may report the start (3) and
progress (5) of a command as well as its acceptance (1) and completion (7);
comms turns each into TM[1,x] (ECSS-E-ST-70-41C 6.1, docs/space-link.md):
successes only where the TC's acknowledge flags ask for them, a failure
always, and only the first failure of a TC; progress reports carry a step ID
(8 bits; the apps' results carry none, so 0). The results are published on
the bus as the payload host publishes a partner's.
"""

from __future__ import annotations

import pytest
from uplink_kit import OPERATOR, Link

from fsw.core import COMMAND_RESULT_MSG
from fsw.core.ids import SAMPLE_APID
from fsw.protocol import services as sv
from fsw.protocol.pus import ACK_ACCEPTANCE, ACK_ALL, ACK_COMPLETION


@pytest.fixture
def link(tmp_path) -> Link:
    return Link(tmp_path)


def routed(link: Link, ack: int) -> tuple[int, int]:
    """A TC[8,1] for the sample app, routed but not yet carried out: (request ID, token)."""
    tc = link.ground.set_input(SAMPLE_APID, 1.0)
    tc.ack_flags = ack
    before = set(link.comms.pending)
    link.comms.receive_frame(link.ground.frame(tc.encode(), OPERATOR))
    link.comms.execute()
    (token,) = set(link.comms.pending) - before
    return tc.request_id, token


def result(link: Link, token: int, stage: int, ok: bool, reason: int = 0) -> None:
    link.exe.bus.publish(COMMAND_RESULT_MSG.msg_id, COMMAND_RESULT_MSG.pack(
        request_id=token, apid=SAMPLE_APID, function_code=10, stage=stage, ok=ok,
        reason=reason, time_s=0.0))


def st1(tms, rid: int) -> list[tuple[int, int | None, int | None]]:
    """(subtype, step ID, failure code) of each TM[1,x] on `rid`."""
    out = []
    for tm in tms:
        if tm.service == sv.ST_VERIFICATION:
            r = sv.VerificationReport.decode(tm.subtype, tm.source_data)
            if r.request_id == rid:
                out.append((tm.subtype, r.step, r.code))
    return out


def test_start_and_progress_are_reported_with_step_0_where_the_flags_ask(link: Link):
    rid, token = routed(link, ACK_ALL)
    result(link, token, 3, True)
    result(link, token, 5, True)
    tms = link.send([])
    assert st1(tms, rid) == [(3, None, None), (5, 0, None), (1, None, None), (7, None, None)]
    assert token not in link.comms.pending  # forgotten once complete


def test_start_and_progress_successes_are_not_reported_unasked(link: Link):
    rid, token = routed(link, ACK_ACCEPTANCE | ACK_COMPLETION)
    result(link, token, 3, True)
    result(link, token, 5, True)
    tms = link.send([])
    assert st1(tms, rid) == [(1, None, None), (7, None, None)]


@pytest.mark.parametrize("stage", [3, 5])
def test_a_failed_start_or_step_is_reported_once_whatever_follows(link: Link, stage: int):
    rid, token = routed(link, 0)  # no success asked for: failures all the same
    result(link, token, stage, False, 4)
    result(link, token, stage, False, 5)
    tms = link.send([])
    step = 0 if stage == 5 else None
    assert st1(tms, rid) == [(stage + 1, step, 4)]
    assert token not in link.comms.pending


def test_a_failed_acceptance_ends_the_tc(link: Link):
    rid, token = routed(link, ACK_ALL)
    result(link, token, 1, False, 3)
    link.comms.execute()
    assert token not in link.comms.pending
    tms = link.send([])
    assert st1(tms, rid)[0] == (2, None, 3)


def test_a_failed_completion_ends_the_tc(link: Link):
    rid, token = routed(link, ACK_ALL)
    result(link, token, 1, True)
    result(link, token, 7, False, 5)
    link.comms.execute()
    assert token not in link.comms.pending
    assert st1(link.send([]), rid)[:2] == [(1, None, None), (8, None, 5)]


def test_a_tc_of_several_commands_ends_when_the_last_completes_even_failed(link: Link):
    # TC[20,3] setting two parameters: one bus command each, one TC to report on
    tc = link.ground.tc(SAMPLE_APID, sv.ST_PARAMETERS, sv.PARAM_SET,
                        sv.encode_values([(0, 1.0), (0, 2.0)]))
    before = set(link.comms.pending)
    link.comms.receive_frame(link.ground.frame(tc.encode(), OPERATOR))
    link.comms.execute()
    (token,) = set(link.comms.pending) - before
    result(link, token, 7, True)
    link.comms.execute()
    assert token in link.comms.pending  # one of two done
    result(link, token, 7, False, 5)
    link.comms.execute()
    assert token not in link.comms.pending
    assert st1(link.send([]), tc.request_id)[:1] == [(8, None, 5)]
