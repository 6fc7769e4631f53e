"""Mission time scales and clocks, checked against skyfield's time scales
(an independent implementation of TAI, TT and UTC with the IERS leap-second
table) and the CCSDS epoch."""

from __future__ import annotations

import time

import pytest
from skyfield.api import load

from fsw.apps.sample import SampleApp
from fsw.core import AppSpec, Executive
from fsw.core.time import (
    DEFAULT_EPOCH_TAI_S,
    LockstepClock,
    MonotonicClock,
    VirtualClock,
    decimal_year,
    jd_tt,
    jd_utc_split,
)

TS = load.timescale(builtin=True)
# CCSDS 301.0-B-4 3.2: the CCSDS epoch is 1958-01-01T00:00:00 TAI.
CCSDS_EPOCH = TS.tai(1958, 1, 1, 0, 0, 0)
DAY_S = 86400.0


def tai_s_since_1958(t) -> float:
    return (t.tai - CCSDS_EPOCH.tai) * DAY_S


@pytest.mark.parametrize("utc", [(2026, 1, 1, 0, 0, 0), (2027, 3, 21, 12, 30, 15.25),
                                 (2030, 12, 31, 23, 59, 59.5)])
def test_julian_dates_agree_with_skyfield(utc):
    t = TS.utc(*utc)
    tai_s = tai_s_since_1958(t)
    assert jd_tt(tai_s) == pytest.approx(t.tt, abs=1e-9)  # 0.1 ms
    whole, frac = jd_utc_split(tai_s)
    # UTC Julian date from the Unix time of the UTC calendar date (JD 2440587.5 = 1970-01-01)
    jd_utc = 2440587.5 + t.utc_datetime().timestamp() / DAY_S
    assert whole + frac == pytest.approx(jd_utc, abs=1e-9)
    assert whole % 1.0 == 0.5 and 0.0 <= frac < 1.0  # midnight-based split of a JD
    # decimal year: Julian years of TT from J2000 (JD 2451545.0 TT)
    assert decimal_year(tai_s) == pytest.approx(2000.0 + (t.tt - 2451545.0) / 365.25, abs=1e-9)


def test_default_epoch_is_2026_in_utc():
    t = TS.utc(2026, 1, 1)
    assert DEFAULT_EPOCH_TAI_S == pytest.approx(tai_s_since_1958(t), abs=1e-3)
    assert decimal_year(DEFAULT_EPOCH_TAI_S) == pytest.approx(2026.0, abs=0.01)


def test_monotonic_clock_starts_at_zero_and_sleeps():
    clock = MonotonicClock(epoch_tai_s=123.0)
    assert clock.epoch_tai_s == 123.0
    t0 = clock.now()
    # Counted from the clock's start, not from the host's boot (hours), however
    # long a loaded machine kept this process waiting.
    assert 0.0 <= t0 < 60.0
    clock.sleep_until(t0 + 0.02)
    assert clock.now() >= t0 + 0.02
    before = time.monotonic()
    clock.sleep_until(clock.now() - 3600.0)  # in the past: returns at once, not in an hour
    assert time.monotonic() - before < 60.0


def test_virtual_clock_runs_listeners_in_order_and_never_goes_back():
    clock = VirtualClock(start_s=5.0)
    seen = []
    clock.add_listener(lambda a, b: seen.append(("first", a, b)))
    clock.add_listener(lambda a, b: seen.append(("second", a, b)))
    clock.sleep_until(7.5)
    clock.sleep_until(7.0)
    clock.sleep_until(7.5)
    assert clock.now() == 7.5
    assert seen == [("first", 5.0, 7.5), ("second", 5.0, 7.5)]


def test_lockstep_clock_takes_the_benchs_word_on_time():
    granted = []

    def bench(t_from, t_to):
        granted.append((t_from, t_to))
        return t_to + 0.25  # the bench overshoots: its word on the time stands

    clock = LockstepClock(bench)
    assert clock.now() == 0.0 and clock.epoch_tai_s == pytest.approx(
        tai_s_since_1958(TS.utc(2026, 1, 1)), abs=1e-3)
    clock.sleep_until(1.0)
    assert clock.now() == 1.25
    clock.sleep_until(1.25)  # already there: the bench is not asked
    clock.sleep_until(0.5)
    assert granted == [(0.0, 1.0)]
    # A bench that answers with an earlier time never takes the clock back.
    late = LockstepClock(lambda a, b: a - 3.0, start_s=10.0, epoch_tai_s=42.0)
    late.sleep_until(11.0)
    assert late.now() == 10.0 and late.epoch_tai_s == 42.0


def test_an_executive_in_lockstep_runs_one_minor_frame_per_grant():
    granted = []

    def bench(t_from, t_to):
        granted.append((t_from, t_to))
        return t_to

    exe = Executive(LockstepClock(bench, start_s=2.0), rate_groups_hz=(10.0, 1.0))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    assert exe.boot() == []
    exe.run(0.5)
    # 10 Hz minor frames from the start time, each waited for through the bench
    assert [round(b, 6) for _, b in granted] == [2.1, 2.2, 2.3, 2.4, 2.5]
    assert [round(a, 6) for a, _ in granted] == [2.0, 2.1, 2.2, 2.3, 2.4]
    assert exe.minor_frames == 5  # the frames at 2.0 to 2.4 s, each ending in a wait
