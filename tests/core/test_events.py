"""Declared events: formatting, declaration checks and the burst/rate squelch."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsw.core import EventDef, Severity, SoftwareBus
from fsw.core.events import EventLog

NOISY = EventDef(20, "NOISY", Severity.MEDIUM, "sensor {name} failed ({count})",
                 burst=3, rate_hz=0.5)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_an_event_text_is_its_format_filled_in():
    log = EventLog(SoftwareBus(), Clock())
    ev = log.emit(0x20, NOISY, name="gyro", count=4)
    assert ev.text == "sensor gyro failed (4)" and ev.event_id == 20
    assert ev.severity == Severity.MEDIUM and NOISY.arguments == ("name", "count")


def test_a_missing_format_value_is_a_type_error_naming_what_is_needed():
    log = EventLog(SoftwareBus(), Clock())
    with pytest.raises(TypeError, match="name, count"):
        log.emit(0x20, NOISY, name="gyro")


def test_a_burst_passes_then_the_rest_are_squelched_and_counted_in_the_next():
    clock = Clock()
    log = EventLog(SoftwareBus(), clock)
    passed = [log.emit(0x20, NOISY, name="mag", count=i) for i in range(10)]
    assert sum(e is not None for e in passed) == 3 and log.squelched == 7
    clock.t = 2.0  # 0.5 per second: one more token
    ev = log.emit(0x20, NOISY, name="mag", count=10)
    assert ev is not None and ev.text.endswith("[7 squelched]")
    assert log.emit(0x20, NOISY, name="mag", count=11) is None


def test_squelch_is_kept_per_app():
    log = EventLog(SoftwareBus(), Clock())
    for _ in range(5):
        log.emit(0x20, NOISY, name="mag", count=0)
    assert log.emit(0x30, NOISY, name="mag", count=0) is not None


@given(st.lists(st.floats(0.0, 100.0, allow_nan=False), max_size=200),
       st.integers(1, 5), st.floats(0.0, 3.0, allow_nan=False))
def test_no_more_pass_than_the_burst_plus_the_rate_allows(gaps, burst, rate_hz):
    clock = Clock()
    log = EventLog(SoftwareBus(), clock)
    ev = EventDef(30, "X", Severity.LOW, "x", burst=burst, rate_hz=rate_hz)
    passed = 0
    for gap in sorted(gaps):
        clock.t = gap
        passed += log.emit(1, ev) is not None
    span = (max(gaps) - min(gaps)) if gaps else 0.0
    assert passed <= burst + rate_hz * span + 1e-9
    assert passed + log.squelched == len(gaps)
    assert passed >= min(len(gaps), burst)


def test_an_app_may_raise_only_what_it_declared(executive):
    from fsw.apps.sample.app import EV_OUTPUT, SampleApp
    from fsw.core import AppSpec
    executive.add_app(AppSpec("sample", SampleApp, 10.0, {}))
    executive.boot()
    app = executive.apps["sample"]
    app.event(EV_OUTPUT, state="on")
    assert executive.events.recent[-1].text == "output on"
    with pytest.raises(TypeError, match="not declared"):
        app.event(NOISY, name="x", count=1)


def test_after_a_squelch_report_the_count_starts_again():
    clock = Clock()
    log = EventLog(SoftwareBus(), clock)
    for i in range(5):
        log.emit(0x20, NOISY, name="mag", count=i)  # 3 pass, 2 squelched
    clock.t = 2.0
    assert log.emit(0x20, NOISY, name="mag", count=5).text.endswith("[2 squelched]")
    clock.t = 4.0
    assert log.emit(0x20, NOISY, name="mag", count=6).text == "sensor mag failed (6)"


def test_a_long_text_is_cut_at_120_octets_on_a_character_boundary():
    # docs/apps.md: an event text is at most 120 UTF-8 octets; "é" is two (RFC 3629)
    log = EventLog(SoftwareBus(), Clock())
    ev = log.raise_event(0x20, 21, Severity.INFO, "a" * 119 + "é" + "b" * 10)
    assert ev.text == "a" * 119


def test_the_newest_events_are_kept_and_logged_by_severity(caplog):
    # docs/apps.md: the newest 256 are kept; logged on "tessera.events"
    assert EventLog(SoftwareBus(), Clock()).recent.maxlen == 256
    log = EventLog(SoftwareBus(), Clock(), keep=5)
    with caplog.at_level("DEBUG", logger="tessera.events"):
        for i in range(8):
            log.raise_event(0x20, 22, Severity.MEDIUM, f"n{i}")
    assert [e.text for e in log.recent] == ["n3", "n4", "n5", "n6", "n7"]
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records][-1] == (
        "tessera.events", "WARNING", "[0x020:22] n7")
