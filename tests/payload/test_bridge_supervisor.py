"""The bridge framing and the supervision policy, as properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.payload.bridge import MAX_FRAME, BridgeError, FrameReader, encode
from fsw.payload.manifest import Resources
from fsw.payload.supervisor import (
    BACKOFF_S,
    CRASH_WINDOW_S,
    CRASHES_TO_DISABLE,
    STRIKES_TO_STOP,
    Action,
    Measurement,
    Supervisor,
)

frames = st.lists(st.tuples(st.integers(0, 255), st.integers(0, 0xFFFF),
                            st.binary(max_size=200)), max_size=20)


@settings(max_examples=200, deadline=None)
@given(frames, st.lists(st.integers(1, 64), min_size=1, max_size=50))
def test_frames_survive_any_split_of_the_stream(items, cuts):
    stream = b"".join(encode(k, m, b) for k, m, b in items)
    reader = FrameReader()
    got = []
    pos = 0
    for n in cuts * (len(stream) // max(sum(cuts), 1) + 1):
        if pos >= len(stream):
            break
        got += reader.feed(stream[pos:pos + n])
        pos += n
    got += reader.feed(stream[pos:])
    assert got == items and len(reader) == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_give_frames_or_one_error_and_bounded_memory(raw):
    reader = FrameReader()
    try:
        reader.feed(raw)
    except BridgeError:
        return
    assert len(reader) < MAX_FRAME + 7


def test_a_frame_too_long_for_the_bridge_is_refused_both_ways():
    with pytest.raises(BridgeError):
        encode(10, 0, b"x" * MAX_FRAME)
    with pytest.raises(BridgeError, match="frame length"):
        FrameReader().feed((MAX_FRAME + 1).to_bytes(4, "big") + b"\x0a\x00\x00")


QUOTA = Resources(cpu_percent=10, storage_kib=1, messages_per_s=10,
                  downlink_bytes_per_day=100)


def period(cpu_s=0.0, storage=0, over=0, down=0, paused=False) -> Measurement:
    return Measurement(1.0, cpu_s, 1000, storage, over, down, paused)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["ok", "cpu", "msgs", "down", "paused"]), max_size=30))
def test_stopped_exactly_after_three_periods_over_in_a_row(history):
    sup = Supervisor(QUOTA)
    runs = {"cpu": 0, "msgs": 0, "down": 0}
    for what in history:
        m = {"ok": period(), "cpu": period(cpu_s=0.5), "msgs": period(over=5),
             "down": period(down=50), "paused": period(paused=True)}[what]
        verdict = sup.assess(m)
        for key in runs:
            if what == key:
                runs[key] += 1
            elif not (key == "cpu" and what == "paused"):
                runs[key] = 0
        if any(n >= STRIKES_TO_STOP for n in runs.values()):
            assert verdict.action is Action.STOP
            return
        assert verdict.action is (Action.NONE if what in ("ok", "paused") else Action.THROTTLE)


def test_storage_over_quota_stops_at_once():
    assert Supervisor(QUOTA).assess(period(storage=2048)).action is Action.STOP


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.1, 200.0), min_size=1, max_size=12))
def test_crashes_back_off_then_disable_a_loop(gaps):
    sup = Supervisor(QUOTA)
    t = 0.0
    times: list[float] = []
    delays = []
    for gap in gaps:
        t += gap
        times.append(t)
        verdict = sup.crashed(t)
        recent = [x for x in times if t - x < CRASH_WINDOW_S]
        if len(recent) >= CRASHES_TO_DISABLE:
            assert verdict.action is Action.DISABLE
            return
        assert verdict.action is Action.RESTART
        delays.append(verdict.delay_s)
    assert delays[0] == BACKOFF_S
    assert all(b == min(2 * a, 60.0) for a, b in itertools.pairwise(delays))
