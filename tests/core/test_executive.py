"""Executive: configuration, rate groups, overruns, fault containment, clocks."""

import itertools
import re
import time

import pytest

from fsw.apps.sample import SampleApp
from fsw.core import (
    App,
    AppSpec,
    AppState,
    ConfigError,
    Executive,
    Field,
    LockstepClock,
    MessageType,
    MonotonicClock,
    Severity,
    VirtualClock,
    tm_msg_id,
)
from fsw.core.executive import EXECUTIVE_HK, MAX_CONSECUTIVE_FAILURES

TICKS = MessageType("Tick", tm_msg_id(0x0E0), [Field("t_s", "d")])


class TickApp(App):
    NAME = "tick"
    APID = 0x0E1
    TELEMETRY = (TICKS,)

    def init(self):
        self.times = []

    def execute(self):
        self.times.append(self.now())


def burn_cpu(seconds: float) -> None:
    """Compute for `seconds` of this process's CPU time (work, not waiting)."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass


class SlowApp(App):
    NAME = "slow"
    APID = 0x0E2

    def execute(self):
        burn_cpu(0.12)


class CrashingApp(App):
    NAME = "crashing"
    APID = 0x0E3

    def execute(self):
        raise RuntimeError("sensor fell off")


class BadInitApp(App):
    NAME = "badinit"
    APID = 0x0E4

    def init(self):
        self.device("star_tracker")


CONFIG = """
[executive]
rate_groups_hz = [10, 1]

[[apps]]
name = "sample"
class = "fsw.apps.sample:SampleApp"
rate_hz = 10
[apps.config]
parameters = { gain = 2.5 }

[[apps]]
name = "ghost"
class = "fsw.apps.ghost:GhostApp"
rate_hz = 1
"""


def test_config_with_missing_app_boots_the_rest(tmp_path):
    path = tmp_path / "fsw.toml"
    path.write_text(CONFIG)
    exe = Executive.from_config(path, VirtualClock())
    assert exe.boot() == ["ghost"]
    assert exe.apps["sample"].params["gain"] == 2.5
    high = [e for e in exe.events.recent if e.severity == Severity.HIGH]
    assert len(high) == 1 and "ghost" in high[0].text and "fsw.apps.ghost" in high[0].text
    exe.run(2.0)
    assert exe.apps["sample"].cycles == 20


@pytest.mark.parametrize("text,culprit", [
    ("[[apps]]\nclass='fsw.apps.sample:SampleApp'\n", "no name"),
    ("[[apps]]\nname='x'\n", "'x' has no 'class'"),
    ("[[apps]]\nname='x'\nclass='fsw.apps.sample:SampleApp'\nrate_hz=3\n",
     "3 Hz is not a rate group"),
    ("[executive]\nrate_groups_hz=[10, 3]\n", "3.0 Hz does not divide"),
    ("[[apps]]\nname='x'\nclass='nodots'\n", None),
    ("apps = 5\n", "array of tables"),
    ("[[apps]\n", "fsw.toml"),
])
def test_bad_configs_name_the_culprit(tmp_path, text, culprit):
    path = tmp_path / "fsw.toml"
    path.write_text(text)
    if culprit is None:  # accepted at load, refused at boot with a named event
        exe = Executive.from_config(path, VirtualClock())
        assert exe.boot() == ["x"]
        assert "module:Class" in exe.events.recent[-2].text
        return
    with pytest.raises(ConfigError, match=culprit):
        Executive.from_config(path, VirtualClock())


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Executive.from_config(tmp_path / "nope.toml", VirtualClock())


def test_rate_groups_run_at_their_rates_in_virtual_time():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 2.0, 1.0))
    exe.add_app(AppSpec("fast", TickApp, 10.0))
    exe.boot()
    exe.run(3.0)
    times = exe.apps["fast"].times
    assert len(times) == 30
    assert times[:3] == [0.0, 0.1, 0.2]
    assert [g.cycles for g in exe.groups] == [30, 6, 3]
    assert exe.clock.now() == pytest.approx(3.0)


def test_virtual_clock_listeners_run_before_time_moves():
    clock = VirtualClock()
    seen = []
    clock.add_listener(lambda t0, t1: seen.append((t0, t1, clock.now())))
    exe = Executive(clock, rate_groups_hz=(10.0,))
    exe.run(0.3)
    assert [(round(a, 6), round(b, 6), round(c, 6)) for a, b, c in seen] == [
        (0.0, 0.1, 0.0), (0.1, 0.2, 0.1), (0.2, 0.3, 0.2)]


def test_overrun_is_counted_and_reported():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    exe.add_app(AppSpec("slow", SlowApp, 10.0))
    hk = exe.bus.create_pipe("hk", 8)
    exe.bus.subscribe(hk, EXECUTIVE_HK.msg_id)
    exe.run(0.3)
    assert exe.groups[0].overruns == 3
    assert any("10 Hz group overran" in e.text for e in exe.events.recent)
    assert EXECUTIVE_HK.unpack(hk.drain()[-1][1])["overruns"] >= 1


def test_crashing_app_is_stopped_and_others_keep_running():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("crashing", CrashingApp, 10.0))
    exe.add_app(AppSpec("tick", TickApp, 10.0))
    exe.run(1.0)
    assert exe.apps["crashing"].state == AppState.FAILED
    assert exe.apps["crashing"].cycle_error_count == MAX_CONSECUTIVE_FAILURES
    assert len(exe.apps["tick"].times) == 10
    assert any("sensor fell off" in e.text for e in exe.events.recent)
    assert any(e.severity == Severity.HIGH and "crashing" in e.text for e in exe.events.recent)


def test_app_missing_its_device_is_reported_by_name():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("badinit", BadInitApp, 10.0))
    exe.add_app(AppSpec("tick", TickApp, 10.0))
    assert exe.boot() == ["badinit"]
    assert any("star_tracker" in e.text and "badinit" in e.text for e in exe.events.recent)
    exe.run(0.5)
    assert len(exe.apps["tick"].times) == 5


def test_pipe_drops_become_an_event_and_housekeeping():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    exe.boot()
    hk = exe.bus.create_pipe("hk", 64)
    exe.bus.subscribe(hk, EXECUTIVE_HK.msg_id)
    tiny = exe.bus.create_pipe("tiny", 2)
    exe.bus.subscribe(tiny, tm_msg_id(SampleApp.APID + 1))
    exe.run(2.05)  # frames 0..20: housekeeping runs at frames 0, 10 and 20
    assert tiny.dropped == 21 - 2
    # each event counts the drops since the last report: together, all of them
    drops = [re.fullmatch(r"pipe tiny full: dropped (\d+), last 0x0831", e.text)
             for e in exe.events.recent if e.text.startswith("pipe tiny")]
    assert drops and all(drops) and sum(int(m[1]) for m in drops) == 19
    assert EXECUTIVE_HK.unpack(hk.drain()[-1][1])["pipe_drops"] == 19


def test_real_clock_paces_frames():
    exe = Executive(MonotonicClock(), rate_groups_hz=(20.0,))
    exe.add_app(AppSpec("tick", TickApp, 20.0))
    exe.boot()
    exe.run(0.25)
    times = exe.apps["tick"].times
    # Frames start no earlier than their deadlines: real time is not compressed.
    assert all(t >= i / 20.0 - 1e-3 for i, t in enumerate(times))
    # A loaded machine may make the executive drop late frames, never lose count of them.
    assert exe.minor_frames == len(times) + exe.skipped_frames >= 5
    assert exe.clock.now() >= 0.25


def test_shutdown_stops_apps():
    exe = Executive(VirtualClock())
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    exe.run(0.2)
    exe.shutdown()
    assert exe.apps["sample"].state == AppState.STOPPED


class FlakyApp(App):
    """Fails on the cycles listed in its config, succeeds on the others."""

    NAME = "flaky"
    APID = 0x0E5

    def init(self):
        self.fail_on = set(self.config["fail_on"])
        self.cycle = 0

    def execute(self):
        self.cycle += 1
        if self.cycle in self.fail_on:
            raise RuntimeError(f"glitch on cycle {self.cycle}")


@pytest.mark.parametrize("fail_on, stopped_after", [
    # four in a row, a good cycle, four more: never five in a row, runs on
    ((1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14), None),
    # docs/apps.md: "stopped after five failures in a row"
    ((2, 3, 5, 6, 7, 8, 9), 9),
    ((1, 2, 3, 4, 5), 5),
])
def test_only_five_failures_in_a_row_stop_an_app(fail_on, stopped_after):
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("flaky", FlakyApp, 10.0, {"fail_on": list(fail_on)}))
    exe.add_app(AppSpec("tick", TickApp, 10.0))
    exe.run(2.0)
    app = exe.apps["flaky"]
    stopped = [e for e in exe.events.recent if e.severity == Severity.HIGH and "flaky" in e.text]
    if stopped_after is None:
        assert app.state == AppState.RUNNING and app.cycle == 20 and not stopped
        assert app.cycle_error_count == len(fail_on)
    else:
        assert app.state == AppState.FAILED and app.cycle == stopped_after
        assert len(stopped) == 1 and "5" in stopped[0].text
        assert app.cycle_error_count == sum(c <= stopped_after for c in fail_on)
    assert len(exe.apps["tick"].times) == 20


class NapApp(App):
    """Works (burns CPU) for the seconds in its config each cycle."""

    NAME = "nap"
    APID = 0x0E6

    def execute(self):
        burn_cpu(self.config["nap_s"])


def test_frame_work_adds_up_the_groups_and_overruns_say_by_how_much():
    # The 1 Hz group is listed first: on frames where it does not run, the
    # 10 Hz group after it still must.
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0, 10.0))
    exe.add_app(AppSpec("slow1", type("Slow1", (NapApp,), {"NAME": "slow1", "APID": 0x0E7}),
                        1.0, {"nap_s": 0.03}))
    exe.add_app(AppSpec("fast", type("Fast", (NapApp,), {"NAME": "fast", "APID": 0x0E8}),
                        10.0, {"nap_s": 0.12}))
    hk = exe.bus.create_pipe("hk", 8)
    exe.bus.subscribe(hk, EXECUTIVE_HK.msg_id)
    exe.run(0.35)  # frames 0..3; housekeeping after frame 0 only
    fast_group = next(g for g in exe.groups if g.rate_hz == 10.0)
    assert fast_group.cycles == 4 and fast_group.overruns == 4
    # frame 0 ran both groups: its work is the sum, 150 ms and more, in milliseconds
    # (the upper bound catches a unit slip, microseconds would read 150,000; a loaded
    # machine may stretch the naps, so it says nothing about speed)
    reports = [EXECUTIVE_HK.unpack(p) for _, p in hk.drain()]
    assert 150.0 <= reports[0]["max_work_ms"] < 60_000.0
    overrun = [e.text for e in exe.events.recent if "overran" in e.text]
    assert overrun[0].startswith("10 Hz group overran: ") and overrun[0].endswith("(overrun 1)")
    ms = float(overrun[0].split(": ")[1].split(" ms")[0])
    assert 120.0 <= ms < 60_000.0


def test_the_clock_epoch_is_the_one_given():
    from fsw.core.time import DEFAULT_EPOCH_TAI_S

    assert VirtualClock(epoch_tai_s=5.0).epoch_tai_s == 5.0
    assert VirtualClock().epoch_tai_s == DEFAULT_EPOCH_TAI_S


def test_every_group_runs_at_its_own_rate_whatever_the_others_do():
    # 10, 5 and 2 Hz: at frame 5 the 5 Hz group rests but the 2 Hz group runs
    exe = Executive(VirtualClock(), rate_groups_hz=(2.0, 10.0, 5.0))
    exe.add_app(AppSpec("tick", TickApp, 2.0))
    exe.run(1.05)  # frames 0..10
    assert exe.apps["tick"].times == pytest.approx([0.0, 0.5, 1.0])
    assert [(g.rate_hz, g.cycles) for g in exe.groups] == [(10.0, 11), (5.0, 6), (2.0, 3)]


class HkBrokenApp(App):
    NAME = "hkbroken"
    APID = 0x0E9

    def housekeeping_values(self):
        raise KeyError("gain")


def test_executive_housekeeping_and_heartbeats_carry_exact_counts():
    from fsw.core.executive import APP_HEARTBEAT

    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    exe.add_app(AppSpec("tick", TickApp, 10.0))
    exe.add_app(AppSpec("crashing", CrashingApp, 10.0))
    exe.add_app(AppSpec("hkbroken", HkBrokenApp, 1.0))
    exe.add_app(AppSpec("badinit", BadInitApp, 10.0))
    hk = exe.bus.create_pipe("hk", 8)
    exe.bus.subscribe(hk, EXECUTIVE_HK.msg_id)
    beats = exe.bus.create_pipe("beats", 64)
    exe.bus.subscribe(beats, APP_HEARTBEAT.msg_id)
    exe.run(1.05)  # frames 0..10; housekeeping after frames 0 and 10
    last = EXECUTIVE_HK.unpack(hk.drain()[-1][1])
    # tick and hkbroken run; crashing stopped after 5 failures, badinit never started
    assert (last["minor_frames"], last["apps_running"], last["apps_failed"]) == (10, 2, 2)
    assert (last["overruns"], last["late_frames"], last["skipped_frames"]) == (0, 0, 0)
    assert last["pipe_drops"] == 0 and 0.0 <= last["max_work_ms"] < 1000.0
    assert last["time_s"] == pytest.approx(1.0)
    # one heartbeat per app: its state and cycles, exactly
    latest = {}
    for _, p in beats.drain():
        b = APP_HEARTBEAT.unpack(p)
        latest[b["apid"]] = (b["state"], b["cycles"], b["cycle_errors"])
    assert latest[TickApp.APID] == (int(AppState.RUNNING), 11, 0)  # frames 0..10
    assert latest[CrashingApp.APID] == (int(AppState.FAILED), 0, 5)
    assert latest[HkBrokenApp.APID][0] == int(AppState.RUNNING)
    texts = [e.text for e in exe.events.recent]
    assert "app 'crashing' cycle failed: RuntimeError: sensor fell off" in texts
    assert "app 'crashing' stopped after 5 failed cycles in a row" in texts
    assert "app 'hkbroken' housekeeping failed: 'gain'" in texts


def test_heartbeat_error_count_saturates_at_16_bits():
    from fsw.core.executive import APP_HEARTBEAT

    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("tick", TickApp, 10.0))
    exe.boot()
    exe.apps["tick"].cycle_error_count = 70000
    beats = exe.bus.create_pipe("beats", 8)
    exe.bus.subscribe(beats, APP_HEARTBEAT.msg_id)
    exe.step()
    assert APP_HEARTBEAT.unpack(beats.drain()[-1][1])["cycle_errors"] == 0xFFFF


def test_each_counter_reaches_the_ground_in_its_own_field():
    # Distinct values in every counter, so a report that put one in another's
    # place (the ground reads them by the declared layout) would show it.
    from fsw.core.executive import APP_HEARTBEAT

    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("tick", TickApp, 10.0))
    exe.boot()
    # each group's work measured as 62.5 ms, a binary fraction: exact in the report
    ticks = itertools.count()
    exe._work_time = lambda: next(ticks) * 0.0625
    exe.late_frames, exe.skipped_frames, exe.total_drops = 3, 4, 5
    exe.groups[0].overruns = 6
    exe.apps["tick"].cycle_error_count = 2
    exe.apps["tick"].cycles_run = 40
    hk = exe.bus.create_pipe("hk", 8)
    exe.bus.subscribe(hk, EXECUTIVE_HK.msg_id)
    beats = exe.bus.create_pipe("beats", 8)
    exe.bus.subscribe(beats, APP_HEARTBEAT.msg_id)
    exe.step()  # frame 0: the app's cycle, then housekeeping
    report = EXECUTIVE_HK.unpack(hk.drain()[-1][1])
    assert report == {
        "time_s": 0.0, "minor_frames": 0, "apps_running": 1, "apps_failed": 0,
        "overruns": 6, "late_frames": 3, "skipped_frames": 4, "pipe_drops": 5,
        "max_work_ms": 62.5}
    assert APP_HEARTBEAT.unpack(beats.drain()[-1][1]) == {
        "apid": TickApp.APID, "state": int(AppState.RUNNING), "cycles": 41, "cycle_errors": 2}


def test_app_classes_are_found_or_refused_with_the_reason(tmp_path, monkeypatch):
    from fsw.core.executive import resolve_app_class

    assert resolve_app_class("fsw.apps.sample:SampleApp", "s") is SampleApp
    assert resolve_app_class(SampleApp, "s") is SampleApp
    # a module that is there but fails to import, for want of something else
    (tmp_path / "brokenapp.py").write_text("import no_such_dependency_here\n")
    (tmp_path / "badimport.py").write_text("from fsw.core import NoSuchName\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cases = [
        ("no.such.module:App", "app 'x': no module 'no.such.module'"),
        ("brokenapp:App", "app 'x': importing 'brokenapp' failed: No module named "
                          "'no_such_dependency_here'"),
        ("badimport:App", "app 'x': importing 'badimport' failed: cannot import name "
                          "'NoSuchName'"),
        ("fsw.apps.sample:Ghost", "app 'x': 'fsw.apps.sample:Ghost' is not an App class"),
        ("fsw.core.ids:SAMPLE_APID", "app 'x': 'fsw.core.ids:SAMPLE_APID' is not an App class"),
        ("fsw.core:Executive", "app 'x': 'fsw.core:Executive' is not an App class"),
        ("fsw.apps.sample:SampleApp:x",
         "app 'x': 'fsw.apps.sample:SampleApp:x' is not an App class"),
    ]
    for target, message in cases:
        with pytest.raises(ConfigError) as info:
            resolve_app_class(target, "x")
        assert str(info.value).startswith(message), (target, str(info.value))


class StallApp(App):
    """Its first cycle takes 350 ms of (virtual) time, as a stalled cycle would."""

    NAME = "stall"
    APID = 0x0EA

    def init(self):
        self.stalled = False

    def execute(self):
        if not self.stalled:
            self.stalled = True
            self.ctx.clock.sleep_until(self.now() + 0.35)


def test_a_late_frame_is_counted_and_whole_frames_are_dropped_to_catch_up():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    exe.add_app(AppSpec("stall", StallApp, 10.0))
    exe.add_app(AppSpec("tick", TickApp, 10.0))
    hk = exe.bus.create_pipe("hk", 8)
    exe.bus.subscribe(hk, EXECUTIVE_HK.msg_id)
    exe.step()
    # frame 0 ended at 0.35 s, past its 0.1 s deadline: the late frame is
    # counted once, frames 1 and 2 (due at 0.1 and 0.2 s) are dropped whole,
    # and frame 3 starts at once, then the schedule is kept again
    assert (exe.late_frames, exe.skipped_frames, exe.minor_frames) == (1, 2, 3)
    assert exe.clock.now() == pytest.approx(0.35)
    exe.run(0.95)  # frames 3..12, with housekeeping at frame 10
    # tick runs after the stalled app in frame 0, so it too sees 0.35 s
    assert exe.apps["tick"].times[:4] == pytest.approx([0.35, 0.35, 0.4, 0.5])
    last = EXECUTIVE_HK.unpack(hk.drain()[-1][1])
    assert (last["late_frames"], last["skipped_frames"], last["minor_frames"]) == (1, 2, 10)


def test_an_app_off_the_rate_groups_or_named_twice_is_refused():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    with pytest.raises(ConfigError, match=r"^app 'x': 9.5 Hz is not a rate group \(10, 1 Hz\)$"):
        exe.add_app(AppSpec("x", TickApp, 9.5))
    with pytest.raises(ConfigError, match=r"^app 'x': 1.5 Hz is not a rate group"):
        exe.add_app(AppSpec("x", TickApp, 1.5))
    exe.add_app(AppSpec("x", TickApp, 10.0))
    with pytest.raises(ConfigError, match=r"^app 'x' is configured twice$"):
        exe.add_app(AppSpec("x", TickApp, 1.0))


def test_a_frame_ending_on_its_deadline_is_not_late():
    class Exact(StallApp):
        def execute(self):
            if not self.stalled:
                self.stalled = True
                self.ctx.clock.sleep_until(0.1)  # exactly one period of work

    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("stall", Exact, 10.0))
    exe.step()
    assert (exe.late_frames, exe.skipped_frames, exe.minor_frames) == (0, 0, 1)


class WaitsOnTheBenchApp(App):
    """Each cycle waits 120 ms for a bus reply that the other side is slow to
    give (blocked, no CPU), like a tunnelled read on a loaded bench machine."""

    NAME = "waits"
    APID = 0x0E9

    def execute(self):
        time.sleep(0.12)


class BurnsCpuApp(App):
    """Each cycle computes for 120 ms of CPU time."""

    NAME = "burns"
    APID = 0x0EA

    def execute(self):
        burn_cpu(0.12)


def _granted(t_from_s: float, t_to_s: float) -> float:
    return t_to_s  # the bench grants every step at once


def test_lockstep_overruns_are_cpu_time_beyond_the_period_not_waiting():
    """In lockstep the flight clock follows the bench: 120 ms of waiting on the
    bench within a 100 ms frame is no overrun, 120 ms of CPU work is; on the
    real clock waiting is an overrun too (the deadline passes either way)."""
    waits = Executive(LockstepClock(_granted), rate_groups_hz=(10.0,))
    waits.add_app(AppSpec("waits", WaitsOnTheBenchApp, 10.0))
    waits.run(0.3)
    assert waits.groups[0].overruns == 0
    burns = Executive(LockstepClock(_granted), rate_groups_hz=(10.0,))
    burns.add_app(AppSpec("burns", BurnsCpuApp, 10.0))
    burns.run(0.3)
    assert burns.groups[0].overruns == 3
    assert any("10 Hz group overran" in e.text for e in burns.events.recent)
    real = Executive(MonotonicClock(), rate_groups_hz=(10.0,))
    real.add_app(AppSpec("waits", WaitsOnTheBenchApp, 10.0))
    real.run(0.25)
    assert real.groups[0].overruns >= 1


class NoStartApp(TickApp):
    NAME = "nostart"
    APID = 0x0EB

    def start(self):
        raise RuntimeError("radio not answering")


def test_boot_goes_on_past_each_failure_and_says_how_many_run():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    for name, cls in (("badinit", BadInitApp), ("tick", TickApp), ("nostart", NoStartApp)):
        exe.add_app(AppSpec(name, cls, 10.0))
    assert exe.boot() == ["badinit", "nostart"]
    texts = [e.text for e in exe.events.recent]
    assert texts[0].startswith("app 'badinit' failed to initialise: ")
    assert texts[1] == "app 'nostart' failed to start: radio not answering"
    assert texts[2] == "booted 1 of 3 apps (boot 1, FIRST_BOOT)"
    assert exe.apps["nostart"].state == AppState.FAILED
    assert exe.apps["tick"].state == AppState.RUNNING


def test_housekeeping_comes_once_a_second_by_default():
    # the module docstring's configuration: housekeeping_hz = 1 unless told
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    hk = exe.bus.create_pipe("hk", 64)
    exe.bus.subscribe(hk, EXECUTIVE_HK.msg_id)
    exe.run(3.0)
    assert [round(EXECUTIVE_HK.unpack(p)["time_s"], 6) for _, p in hk.drain()] == [
        0.0, 1.0, 2.0]


@pytest.mark.parametrize("kwargs,message", [
    ({"rate_groups_hz": ()}, "executive: at least one rate group is needed"),
    ({"rate_groups_hz": (10.0, 0.0)}, "rate group 0.0 Hz: rate 0.0 Hz must be positive"),
    ({"housekeeping_hz": 3.0}, "housekeeping_hz: 3.0 Hz does not divide the 10.0 Hz "
                               "minor frame"),
    ({"housekeeping_hz": -1.0}, "housekeeping_hz: rate -1.0 Hz must be positive"),
])
def test_rate_refusals_name_the_setting(kwargs, message):
    with pytest.raises(ConfigError) as err:
        Executive(VirtualClock(), **{"rate_groups_hz": (10.0,), **kwargs})
    assert str(err.value) == message


def test_a_rate_typed_to_nine_places_is_the_rate_it_means():
    # 10/3 Hz written as 3.333333333 is within a part in 1e9 of the minor frame's divisor
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 3.333333333))
    assert [g.divisor for g in exe.groups] == [1, 3]


class PeekApp(TickApp):
    """Looks at the apps booted before it, and owns a table of one number."""

    NAME = "peek"
    APID = 0x0EC

    def init(self):
        super().init()
        self.seen = sorted(self.ctx.apps)
        self.limit = None
        self.register_table("peek_limit", {"limit": 1}, lambda c: [],
                            lambda c: setattr(self, "limit", c["limit"]))


def test_apps_see_each_other_and_their_tables_outlive_a_reboot(tmp_path):
    from fsw.core import Store

    def boot():
        exe = Executive(VirtualClock(), rate_groups_hz=(10.0,), store=Store(tmp_path / "s.db"))
        exe.add_app(AppSpec("tick", TickApp, 10.0))
        exe.add_app(AppSpec("peek", PeekApp, 10.0))
        assert exe.boot() == []
        return exe

    exe = boot()
    assert exe.apps["peek"].seen == ["tick"] and exe.apps["peek"].limit == 1
    tables = exe.context.tables
    tables.load("peek_limit", b'{"limit": 7}')
    tables.validate("peek_limit")
    tables.activate("peek_limit")
    exe.run(0.2)
    assert exe.apps["peek"].limit == 7
    exe.context.store.close()
    assert boot().apps["peek"].limit == 7  # the active table came back from the store


def test_the_configurations_wiring_table_is_the_executives_wiring(tmp_path):
    path = tmp_path / "fsw.toml"
    path.write_text('[wiring]\nhousekeeping = ["executive"]\n'
                    'events = { min_severity = "HIGH" }\n')
    wiring = Executive.from_config(path, VirtualClock()).context.wiring
    assert wiring.housekeeping == ("executive",) and wiring.events_min_severity == Severity.HIGH


def test_frames_dropped_to_catch_up_add_up_over_several_stalls():
    class TwoStalls(StallApp):
        def execute(self):
            self.n = getattr(self, "n", 0) + 1
            if self.n in (1, 10):
                self.ctx.clock.sleep_until(self.now() + 0.35)

    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("stall", TwoStalls, 10.0))
    exe.run(2.0)
    assert (exe.late_frames, exe.skipped_frames) == (2, 4)  # two frames dropped each time


def test_boot_goes_on_past_an_app_that_cannot_be_loaded():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("ghost", "fsw.apps.ghost:GhostApp", 10.0))
    exe.add_app(AppSpec("tick", TickApp, 10.0))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    assert exe.boot() == ["ghost"]
    assert exe.events.recent[-1].text == "booted 2 of 3 apps (boot 1, FIRST_BOOT)"


def test_a_simulated_frame_is_judged_by_its_work_not_the_machines_load():
    """On a simulated clock the wall time of a frame also holds the time the machine
    gave other processes; only CPU work beyond the period is an overrun there."""
    waits = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    waits.add_app(AppSpec("waits", WaitsOnTheBenchApp, 10.0))
    waits.run(0.3)
    assert waits.groups[0].overruns == 0
