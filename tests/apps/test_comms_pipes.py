"""What the comms app takes in per cycle before its pipes overflow, and the
names the executive reports a full one by (`pipe NAME full: dropped N, last
ID`): 256 events, 256 housekeeping messages, 256 command results, 256
parameter reports, 64 released TCs and 64 schedule summaries a cycle."""

from __future__ import annotations

import re

import pytest
from uplink_kit import Link

from fsw.apps.scheduler import (
    RELEASED_TC_HEADER,
    RELEASED_TC_MSG_ID,
    SCHEDULE_REPORT_HEADER,
    SCHEDULE_REPORT_MSG_ID,
)
from fsw.core import COMMAND_RESULT_MSG, PARAMETER_REPORT_MSG, Severity
from fsw.core.ids import SAMPLE_APID
from fsw.protocol.pus import PusTc


@pytest.fixture
def link(tmp_path) -> Link:
    return Link(tmp_path)


def drops(link: Link) -> list[str]:
    return [e.text for e in link.exe.events.recent if e.text.startswith("pipe comms.")]


def dropped(link: Link, pipe: str) -> int:
    """How many messages the executive reported `pipe` dropped (one report expected)."""
    [text] = [t for t in drops(link) if t.startswith(f"pipe {pipe} ")]
    match = re.fullmatch(rf"pipe {re.escape(pipe)} full: dropped (\d+), last 0x[0-9a-f]{{4}}", text)
    assert match, text
    return int(match.group(1))


def test_events_beyond_256_a_cycle_are_dropped_and_the_pipe_named(link: Link):
    events = link.exe.context.events
    for i in range(300):
        events.raise_event(SAMPLE_APID, 1, Severity.INFO, f"event {i}")
    link.exe.step()
    # 300 and the few the cycle itself raised, less the 256 the pipe holds
    assert 44 <= dropped(link, "comms.events") <= 54


def test_housekeeping_beyond_256_a_cycle_is_dropped_and_the_pipe_named(link: Link):
    sample = link.app("sample")
    for _ in range(300):
        sample.report_housekeeping()
    link.exe.step()
    assert 44 <= dropped(link, "comms.housekeeping") <= 54


def test_released_tcs_beyond_64_a_cycle_are_dropped_and_the_pipe_named(link: Link):
    raw = RELEASED_TC_HEADER.pack(1) + PusTc(SAMPLE_APID, 17, 1).encode()
    for _ in range(70):
        link.exe.bus.publish(RELEASED_TC_MSG_ID, raw)
    link.exe.step()
    assert dropped(link, "comms.released") == 6


def test_events_up_to_256_a_cycle_all_arrive(link: Link):
    # the drops are reported with the executive's housekeeping (1 Hz here); an
    # event the executive raised since comms' last cycle (an overrun on a loaded
    # machine) is counted in
    events = link.exe.context.events
    waiting = link.exe.bus.pipes["comms.events"]
    link.exe.step()
    for i in range(256 - len(waiting)):
        events.raise_event(SAMPLE_APID, 1, Severity.INFO, f"event {i}")
    link.exe.run(1.0)
    assert drops(link) == []
    for i in range(257 - len(waiting)):
        events.raise_event(SAMPLE_APID, 1, Severity.INFO, f"event {i}")
    link.exe.run(1.0)
    assert dropped(link, "comms.events") == 1


def test_command_results_beyond_256_a_cycle_are_dropped_and_the_pipe_named(link: Link):
    result = COMMAND_RESULT_MSG.pack(request_id=1, apid=SAMPLE_APID, function_code=1, stage=7,
                                     ok=True, reason=0, time_s=0.0)
    for _ in range(300):
        link.exe.bus.publish(COMMAND_RESULT_MSG.msg_id, result)
    link.exe.step()
    assert dropped(link, "comms.results") == 44


def test_parameter_reports_beyond_256_a_cycle_are_dropped_and_the_pipe_named(link: Link):
    report = PARAMETER_REPORT_MSG.pack(request_id=0, apid=SAMPLE_APID, index=0, value=1.0)
    for _ in range(300):
        link.exe.bus.publish(PARAMETER_REPORT_MSG.msg_id, report)
    link.exe.step()
    assert dropped(link, "comms.parameters") == 44


def test_schedule_summaries_beyond_64_a_cycle_are_dropped_and_the_pipe_named(link: Link):
    for token in range(70):
        link.exe.bus.publish(SCHEDULE_REPORT_MSG_ID, SCHEDULE_REPORT_HEADER.pack(token))
    link.exe.step()
    assert dropped(link, "comms.schedule_reports") == 6
