"""What the comms app takes in per cycle before its pipes overflow, and the
names the executive reports a full one by (`pipe NAME full: dropped N, last
ID`): 256 events, 256 housekeeping messages and 64 released TCs a cycle."""

from __future__ import annotations

import re

import pytest
from uplink_kit import Link

from fsw.apps.scheduler import RELEASED_TC_HEADER, RELEASED_TC_MSG_ID
from fsw.core import Severity
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
