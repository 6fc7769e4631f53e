"""FDIR, heartbeats, the hardware watchdog, the boot record and the EPS app, each on
its real collaborators: the P31u driver on its emulator, a store file, the executive."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.apps.eps import EpsApp
from fsw.apps.fdir import FdirApp
from fsw.apps.mode import Mode, ModeManagerApp, SafeCause
from fsw.apps.sample import SampleApp
from fsw.core import (
    COMMAND_RESULT_MSG,
    EVENT_MSG,
    App,
    AppSpec,
    Event,
    Executive,
    Field,
    MessageType,
    Store,
    VirtualClock,
    tm_msg_id,
)
from fsw.core.boot import ResetCause
from hal.devices.p31u import P31u
from hal.sim import SimI2C
from hal.sim.p31u import P31uEmulator

CHANNELS = {"payload": 0, "radio": 1, "wheels": 2}
TO_SAFE = [{"app": "mode", "command": "enter_safe", "args": {"cause": 10}}]


class Flaky(App):
    """An app whose cycles start failing after `fail_after` cycles."""

    NAME = "flaky"
    APID = 0x0E0

    def execute(self) -> None:
        if self.cycles_run >= int(self.config.get("fail_after", 1 << 30)):
            raise RuntimeError("flaky failed")


class Rig:
    """An executive with EPS, FDIR and mode manager over a P31u emulator and a store."""

    def __init__(self, store_path, emu: P31uEmulator, *, start_s: float = 0.0,
                 fail_after: int | None = None, monitors: list | None = None,
                 extra: list[AppSpec] = (), heartbeat_response: list = TO_SAFE) -> None:
        i2c = SimI2C("i2c0")
        i2c.attach(0x02, emu)
        self.emu = emu
        self.clock = VirtualClock(start_s)
        self.clock.add_listener(lambda t0, t1: emu.advance(t1))
        self.store = Store(store_path)
        exe = Executive(self.clock, rate_groups_hz=(1.0,), store=self.store,
                        devices={"eps": P31u(i2c)})
        flaky_cfg = {} if fail_after is None else {"fail_after": fail_after}
        exe.add_app(AppSpec("eps", EpsApp, 1.0, {"channels": CHANNELS}))
        exe.add_app(AppSpec("flaky", Flaky, 1.0, flaky_cfg))
        for spec in extra:
            exe.add_app(spec)
        exe.add_app(AppSpec("fdir", FdirApp, 1.0, {
            "watchdog": {"device": "eps", "kick_period_s": 5.0},
            "heartbeats": {"timeout_s": 5.0, "apps": ["flaky", "eps"], "critical": ["flaky"],
                           "response": heartbeat_response},
            "monitors": monitors or []}))
        exe.add_app(AppSpec("mode", ModeManagerApp, 1.0, {
            "watchdog_counter_device": "eps", "reset_loop_count": 3,
            "entry": {"SAFE": [{"app": "eps", "command": "set_output",
                                "args": {"output": 0, "on": 0}}],
                      "PAYLOAD": [{"app": "eps", "command": "set_output",
                                   "args": {"output": 0, "on": 1}}]}}))
        self.events_pipe = exe.bus.create_pipe("test.events", 4096)
        exe.bus.subscribe(self.events_pipe, EVENT_MSG.msg_id)
        assert exe.boot() == []
        self.exe = exe
        self.events: list[Event] = []

    def run(self, seconds: float, until=None) -> None:
        self.exe.run(seconds, until=until)
        self.events += [Event.decode(p) for _, p in self.events_pipe.drain()]

    def texts(self) -> list[str]:
        return [e.text for e in self.events]

    @property
    def mode(self) -> ModeManagerApp:
        return self.exe.apps["mode"]


def test_watchdog_is_kicked_only_while_critical_apps_live_and_a_reset_loop_boots_safe(tmp_path):
    emu = P31uEmulator(soc=0.8, wdt_gnd_timeout_s=30.0)
    rig = Rig(tmp_path / "store.db", emu)
    rig.run(60.0)
    assert emu.wdt_kicks >= 10 and emu.power_cycles == 0  # kicked every 5 s: no reset
    # FDIR's housekeeping counts the kicks the EPS received
    assert rig.exe.apps["fdir"].housekeeping_values()["watchdog_kicks"] == emu.wdt_kicks
    rig.exe.shutdown()
    t = rig.clock.now()
    causes = []
    for _ in range(3):
        # Each boot a critical app dies, the kicks stop and the EPS power-cycles us.
        rig = Rig(tmp_path / "store.db", emu, start_s=t, fail_after=3, heartbeat_response=[])
        before = emu.power_cycles
        rig.run(120.0, until=lambda rig=rig, before=before: emu.power_cycles > before)
        assert emu.power_cycles == before + 1
        # the executive stopped it (five failures in a row): FDIR says so, not a timeout
        assert "app flaky heartbeat lost: failed" in rig.texts()
        assert any("hardware watchdog no longer kicked: flaky is lost" in x for x in rig.texts())
        causes.append(rig.mode.reset_cause)
        t = rig.clock.now() + 1.0  # the process dies here, without a shutdown
    assert causes == [ResetCause.ORDERLY, ResetCause.WATCHDOG, ResetCause.WATCHDOG]
    rig = Rig(tmp_path / "store.db", emu, start_s=t)
    assert rig.mode.reset_cause == ResetCause.WATCHDOG and rig.mode.watchdog_resets == 3
    assert rig.mode.mode == Mode.SAFE and rig.mode.cause == SafeCause.WATCHDOG_LOOP
    assert rig.exe.context.boot.count == 5
    rig.run(2.0)
    assert "3 watchdog resets in a row: booting into SAFE" in [
        e.text for e in rig.exe.events.recent]


def test_boot_mode_follows_the_stored_mode(tmp_path):
    emu = P31uEmulator(soc=0.8)
    rig = Rig(tmp_path / "store.db", emu)
    assert rig.mode.mode == Mode.NOMINAL and rig.mode.reset_cause == ResetCause.FIRST_BOOT
    rig.mode.request_mode(int(Mode.PAYLOAD))
    rig.run(2.0)
    assert emu.outputs[0] == 1
    # A power loss in PAYLOAD comes back in NOMINAL, never straight into PAYLOAD.
    rig = Rig(tmp_path / "store.db", emu, start_s=10.0)
    assert rig.mode.mode == Mode.NOMINAL and rig.mode.reset_cause == ResetCause.UNEXPECTED
    rig.mode.enter_safe(int(SafeCause.LOW_BATTERY))
    rig.exe.shutdown()
    # SAFE survives even an orderly restart, with its cause, until the operator recovers.
    rig = Rig(tmp_path / "store.db", emu, start_s=20.0)
    assert rig.mode.mode == Mode.SAFE and rig.mode.cause == SafeCause.LOW_BATTERY
    assert rig.mode.reset_cause == ResetCause.ORDERLY


SIGNAL = MessageType("TestSignal", tm_msg_id(0x0E1), [Field("value", "d"), Field("flags", "B"),
                                                       Field("gate", "B")])


class Signal(App):
    """Publishes whatever the test puts in `queue`, one value per cycle."""

    NAME = "signal"
    APID = 0x0E1 + 1
    TELEMETRY = (SIGNAL,)

    def __init__(self, ctx: Any, config: Any = None) -> None:
        super().__init__(ctx, config)
        self.queue: list[tuple[float, int, int]] = []

    def execute(self) -> None:
        if self.queue:
            value, flags, gate = self.queue.pop(0)
            self.publish(SIGNAL, value=value, flags=flags, gate=gate)


def signal_rig(monitors: list) -> Rig:
    return Rig(":memory:", P31uEmulator(soc=0.8), monitors=monitors,
               extra=[AppSpec("signal", Signal, 1.0), AppSpec("sample", SampleApp, 1.0)])


NOOP = [{"app": "sample", "command": "noop"}]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-5, 15), st.integers(0, 3), st.integers(0, 1)),
                min_size=1, max_size=30),
       st.integers(1, 4))
def test_limit_monitor_trips_like_its_declaration(samples, persistence):
    """A monitor trips once per excursion that lasts `persistence` samples while
    enabled, and its response is sent each time; the model is written from the
    declaration, not from the code."""
    rig = signal_rig([
        {"name": "value_high", "parameter": "TestSignal.value", "low": 0.0, "high": 10.0,
         "persistence": persistence, "enable_if": {"parameter": "TestSignal.gate",
                                                   "values": [1]},
         "response": NOOP}])
    rig.exe.apps["signal"].queue = list(samples)
    rig.run(len(samples) + 2.0)
    expected, count = 0, 0
    for value, _, gate in samples:  # off or within limits: the count starts again
        if gate != 1 or 0.0 <= value <= 10.0:
            count = 0
            continue
        count += 1
        if count == persistence:
            expected += 1
    fdir = rig.exe.apps["fdir"]
    assert fdir.monitors[0].trips == expected
    assert fdir.housekeeping_values()["trips"] == expected
    assert rig.exe.apps["sample"].cmd_count == expected


def test_masked_and_delta_monitors():
    rig = signal_rig([
        {"name": "bit1", "parameter": "TestSignal.flags", "mask": 2, "high": 0,
         "response": NOOP},
        {"name": "growing", "parameter": "TestSignal.value", "delta": True, "high": 0.5,
         "persistence": 2, "response": TO_SAFE}])
    rig.exe.apps["signal"].queue = [(0.0, 1, 0), (1.0, 1, 0), (1.2, 3, 0), (2.0, 1, 0),
                                    (3.0, 0, 0)]
    rig.run(8.0)
    fdir = rig.exe.apps["fdir"]
    assert [m.trips for m in fdir.monitors] == [1, 1]
    assert rig.mode.mode == Mode.SAFE and rig.mode.cause == SafeCause.HEARTBEAT_LOST
    assert any(t.startswith("monitor growing: TestSignal.value=1 outside [-inf, 0.5]")
               for t in rig.texts())


@pytest.mark.parametrize("monitor, problem", [
    ({"name": "x", "parameter": "nowhere.value", "response": []}, "no app or message"),
    ({"name": "x", "parameter": "TestSignal.nothing", "response": []}, "no numeric field"),
    ({"name": "x", "parameter": "TestSignal.value", "low": 5, "high": 1, "response": []},
     "is above high"),
    ({"name": "x", "parameter": "TestSignal.value", "response": [{"app": "mode",
                                                                  "command": "explode"}]},
     "has no command 'explode'"),
    ({"name": "x", "parameter": "TestSignal.value", "response": [
        {"app": "mode", "command": "enter_safe", "args": {"cause": 200}}]}, "cause=200"),
    ({"name": "x", "parameter": "TestSignal.value", "persistence": 0, "response": []},
     "persistence"),
])
def test_a_bad_fdir_table_is_refused(monitor, problem):
    rig = signal_rig([])
    problems = rig.exe.apps["fdir"].validate_table({"monitors": [monitor]})
    assert any(problem in p for p in problems), problems


def test_eps_soc_is_pulled_to_the_voltage_and_latchups_lock_out(tmp_path):
    emu = P31uEmulator(soc=0.6, limit_a=(0.5,) * 6)
    rig = Rig(tmp_path / "store.db", emu)
    eps = rig.exe.apps["eps"]
    assert eps.soc == pytest.approx(0.6, abs=0.03)  # first estimate from the voltage
    eps.soc = 0.9  # a wrong estimate: the voltage correction pulls it back
    rig.run(2000.0)
    assert eps.soc == pytest.approx(emu.soc, abs=0.05)
    assert eps.housekeeping_values()["locked_out"] == 0
    emu.set_load(1, 0.8)  # the radio draws more than its limit
    eps.set_output(1, 1)
    rig.run(60.0)
    texts = rig.texts()
    assert sum("output radio latched off" in t for t in texts) == 3
    assert "output radio locked out after 3 retries" in texts
    assert emu.outputs[1] == 0 and emu.latchups[1] == 4
    assert eps.housekeeping_values()["locked_out"] == 1 << 1  # one bit per output
    emu.set_load(1, 0.1)
    eps.set_output(1, 1)  # the operator clears the lock-out
    rig.run(3.0)
    assert emu.outputs[1] == 1
    assert eps.housekeeping_values()["locked_out"] == 0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["set", "request", "safe", "reboot"]),
                          st.sampled_from(list(Mode))), max_size=20))
def test_mode_manager_follows_its_transition_rules(tmp_path_factory, steps):
    """Whatever is asked in whatever order, and across reboots: SAFE is left only by
    the operator's SET_MODE, partners make only their allowed transitions, and a boot
    comes up in SAFE exactly when SAFE was stored."""
    from fsw.core import CommandError

    path = tmp_path_factory.mktemp("mode") / "store.db"
    emu = P31uEmulator(soc=0.8)
    rig = Rig(path, emu)
    model, t = Mode.NOMINAL, 0.0
    operator = {(Mode.SAFE, Mode.NOMINAL), (Mode.NOMINAL, Mode.PAYLOAD),
                (Mode.PAYLOAD, Mode.NOMINAL), (Mode.NOMINAL, Mode.SAFE),
                (Mode.PAYLOAD, Mode.SAFE)}
    partner = {(Mode.NOMINAL, Mode.PAYLOAD), (Mode.PAYLOAD, Mode.NOMINAL)}
    for op, target in steps:
        mode = rig.mode
        try:
            if op == "set":
                mode.set_mode(int(target))
            elif op == "request":
                mode.request_mode(int(target))
            elif op == "safe":
                mode.enter_safe(int(SafeCause.LOW_BATTERY))
            else:
                t += 10.0
                rig = Rig(path, emu, start_s=t)
        except CommandError:
            pass
        if op == "set" and (model, target) in operator:
            model = target
        elif op == "request" and (model, target) in partner:
            model = target
        elif op == "safe":
            model = Mode.SAFE
        elif op == "reboot":
            model = Mode.SAFE if model == Mode.SAFE else Mode.NOMINAL
        assert rig.mode.mode == model


def test_fdir_and_mode_manager_come_up_whatever_else_failed(tmp_path):
    """An app that fails to boot must not take the safing chain with it: FDIR runs
    without what names it, reports it lost, and the mode manager safes without it."""
    emu = P31uEmulator(soc=0.8)

    class Broken(Flaky):
        NAME = "flaky"

        def init(self) -> None:
            raise RuntimeError("no such device")

    i2c = SimI2C("i2c0")
    i2c.attach(0x02, emu)
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,), devices={"eps": P31u(i2c)})
    exe.add_app(AppSpec("flaky", Broken, 1.0))
    exe.add_app(AppSpec("fdir", FdirApp, 1.0, {
        "heartbeats": {"apps": ["flaky"], "critical": ["flaky"], "response": TO_SAFE},
        "monitors": [{"name": "m", "parameter": "flaky.cycle_error_count", "high": 0,
                      "response": []}]}))
    exe.add_app(AppSpec("mode", ModeManagerApp, 1.0, {"entry": {"SAFE": [
        {"app": "flaky", "command": "noop"}]}}))
    assert exe.boot() == ["flaky"]
    exe.run(2.0)
    texts = [e.text for e in exe.events.recent]
    assert "app flaky heartbeat lost: not running" in texts
    assert any(t.startswith("left out at boot: monitors[0].parameter 'flaky.cycle_error_count'")
               for t in texts)
    assert "entry step entry.SAFE[0]: flaky.noop left out: app not running" in texts
    assert exe.apps["mode"].mode == Mode.SAFE
    assert exe.apps["mode"].cause == SafeCause.HEARTBEAT_LOST


def test_refusals_name_the_transition_and_the_output(tmp_path):
    from fsw.core import CommandError

    rig = Rig(tmp_path / "store.db", P31uEmulator(soc=0.8))
    rig.mode.set_mode(int(Mode.SAFE))
    with pytest.raises(CommandError, match=r"^SAFE -> PAYLOAD is not allowed$"):
        rig.mode.request_mode(int(Mode.PAYLOAD))
    eps = rig.exe.apps["eps"]
    unused = next(o for o in range(8) if o not in eps.channels.values())
    with pytest.raises(CommandError, match=rf"^output {unused} is not a configured channel$"):
        eps.set_output(unused, 1)


def test_fdir_housekeeping_goes_down_with_its_fields(tmp_path):
    rig = Rig(tmp_path / "store.db", P31uEmulator(soc=0.8))
    fdir = rig.exe.apps["fdir"]
    pipe = rig.exe.bus.create_pipe("test.fdir_hk", 4)
    rig.exe.bus.subscribe(pipe, fdir.HK.msg_id)
    rig.run(3.0)
    fdir.report_housekeeping()
    hk = fdir.HK.unpack(pipe.drain()[-1][1])
    # the dictionary's field description: last_trip 0xFF while nothing has tripped
    assert (hk["monitors"], hk["trips"], hk["last_trip"], hk["apps_lost"]) == (
        len(fdir.monitors), 0, 0xFF, 0)
    assert hk["watchdog_kicks"] >= 1


class Slow(App):
    """An app in the 0.1 Hz rate group: its heartbeat moves once every ten seconds."""

    NAME = "slow"
    APID = 0x0E5


def test_a_watched_app_whose_cycles_stop_is_lost_after_the_timeout_and_back_when_they_move():
    """docs/autonomy.md: an app in heartbeats.apps whose count has not moved for
    timeout_s, or that has failed, is reported lost and the response is sent;
    it is reported back once its count moves again. Each response carries the
    request ID 0xFDFF0000 | the lost app's APID."""
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0, 0.1))
    exe.add_app(AppSpec("slow", Slow, 0.1))
    exe.add_app(AppSpec("flaky", Flaky, 1.0, {"fail_after": 2}))
    exe.add_app(AppSpec("sample", SampleApp, 1.0))
    exe.add_app(AppSpec("fdir", FdirApp, 1.0, {
        "heartbeats": {"timeout_s": 5.0, "apps": ["slow", "flaky"],
                       "response": [{"app": "sample", "command": "noop"}]}}))
    assert exe.boot() == []
    results = exe.bus.create_pipe("test.results", 64)
    exe.bus.subscribe(results, COMMAND_RESULT_MSG.msg_id)
    events = exe.bus.create_pipe("test.events", 256)
    exe.bus.subscribe(events, EVENT_MSG.msg_id)
    fdir = exe.apps["fdir"]
    exe.run(9.0, until=lambda: "slow" in fdir.lost)
    lost_at = exe.clock.now()
    assert 5.0 < lost_at <= 8.0 and fdir.housekeeping_values()["apps_lost"] >= 1
    exe.run(30.0, until=lambda: "slow" not in fdir.lost)
    assert exe.clock.now() - lost_at < 10.0
    back_at = exe.clock.now()
    exe.run(12.0, until=lambda: "slow" in fdir.lost)  # and again, ten seconds on
    assert exe.clock.now() - back_at <= 8.0
    texts = [Event.decode(p).text for _, p in events.drain()]
    lost = [t for t in texts if t.startswith("app slow heartbeat lost: no cycle for ")]
    # each time: the seconds since its count last moved
    assert len(lost) == 2 and all(5 < int(t.split()[-2]) <= 8 for t in lost)
    assert "app slow heartbeat back" in texts
    assert "app flaky heartbeat lost: failed" in texts and "app flaky heartbeat back" not in texts
    assert fdir.lost == {"flaky", "slow"} and fdir.housekeeping_values()["apps_lost"] == 2
    done = {r["request_id"] for r in map(COMMAND_RESULT_MSG.unpack, (p for _, p in results.drain()))
            if r["apid"] == SampleApp.APID and r["stage"] == 7 and r["ok"]}
    assert done == {0xFDFF0000 | Slow.APID, 0xFDFF0000 | Flaky.APID}


def test_a_monitor_response_carries_the_monitor_index_in_its_request_id():
    rig = signal_rig([
        {"name": "never", "parameter": "TestSignal.value", "high": 1e9, "response": NOOP},
        {"name": "value_high", "parameter": "TestSignal.value", "high": 10.0,
         "persistence": 2, "response": NOOP}])
    results = rig.exe.bus.create_pipe("test.results", 64)
    rig.exe.bus.subscribe(results, COMMAND_RESULT_MSG.msg_id)
    rig.exe.apps["signal"].queue = [(11.0, 0, 0), (12.0, 0, 0), (13.0, 0, 0)]
    rig.run(5.0)
    fdir = rig.exe.apps["fdir"]
    assert fdir.housekeeping_values()["last_trip"] == 1 and fdir.trips == 1
    done = [r["request_id"] for r in map(COMMAND_RESULT_MSG.unpack, (p for _, p in results.drain()))
            if r["apid"] == SampleApp.APID and r["stage"] == 7]
    assert done == [0xFD000001]
    assert "monitor value_high: TestSignal.value=12 outside [-inf, 10] for 2 samples" in rig.texts()


@pytest.mark.parametrize("content, problem", [
    ({"monitors": {"name": "x"}}, "monitors must be a list"),
    ({"limits": []}, "limits is not a known key"),
    ({"limits": []}, "monitors is missing"),
    ({"monitors": [{"name": "x", "parameter": "TestSignal.value", "response": []},
                   {"name": "x", "parameter": "TestSignal.flags", "response": []}]},
     "monitors[1].name 'x' is used twice"),
    ({"monitors": [{"name": "x", "parameter": "TestSignal.value", "persistence": 10001,
                    "response": []}]}, "monitors[0].persistence must be an integer 1-10000"),
    ({"monitors": [{"name": "x", "parameter": "TestSignal.value", "mask": 0,
                    "response": []}]}, "monitors[0].mask must be a positive integer"),
    ({"monitors": [{"name": "x", "parameter": "TestSignal.value", "high": 1e13,
                    "response": []}]}, "monitors[0].high"),
    ({"monitors": [{"name": "x", "parameter": "TestSignal.value",
                    "enable_if": {"parameter": "TestSignal.gate"}, "response": []}]},
     "monitors[0].enable_if needs parameter and values"),
    ({"monitors": [{"name": "x", "parameter": "TestSignal.value[1]", "response": []}]},
     "holds 1 value(s)"),
    ({"monitors": [{"name": "x", "parameter": "TestSignal.value", "response": [
        {"app": "mode", "command": "explode"}]}]}, "monitors[0].response"),
])
def test_fdir_table_refusals_say_where(content, problem):
    rig = signal_rig([])
    problems = rig.exe.apps["fdir"].validate_table(content)
    assert any(problem in p for p in problems), problems


def test_fdir_table_limits_are_inclusive():
    rig = signal_rig([])
    fdir = rig.exe.apps["fdir"]
    entry = {"name": "x", "parameter": "TestSignal.value", "low": -1e12, "high": 1e12,
             "persistence": 10000, "response": []}
    assert fdir.validate_table({"monitors": [entry]}) == []
    assert fdir.validate_table({"monitors": [{**entry, "persistence": 1}]}) == []


class Burst(Signal):
    """Publishes its whole queue in one cycle."""

    def execute(self) -> None:
        while self.queue:
            value, flags, gate = self.queue.pop(0)
            self.publish(SIGNAL, value=value, flags=flags, gate=gate)


def test_the_fdir_table_is_the_one_the_ground_names_and_a_flood_is_named_by_its_pipe():
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,))
    exe.add_app(AppSpec("signal", Burst, 1.0))
    exe.add_app(AppSpec("fdir", FdirApp, 1.0, {"monitors": [
        {"name": "m", "parameter": "TestSignal.value", "high": 10.0, "response": []}]}))
    assert exe.boot() == []
    # docs/autonomy.md: the limit monitors are the `fdir` table
    assert exe.context.tables.get("fdir").owner == "fdir"
    assert exe.context.tables.get("fdir").active["monitors"][0]["name"] == "m"
    # more samples in one cycle than FDIR's pipe holds (256): the executive
    # names the pipe that dropped them
    exe.apps["signal"].queue = [(0.0, 0, 0)] * 300
    exe.run(2.0)
    drops = [e.text for e in exe.events.recent if e.text.startswith("pipe fdir.samples full")]
    assert drops == ["pipe fdir.samples full: dropped 44, last 0x08e1"]


def test_the_watchdog_held_event_names_every_critical_app_lost():
    class Other(Flaky):
        NAME = "other"
        APID = 0x0E7

    emu = P31uEmulator(soc=0.8)
    i2c = SimI2C("i2c0")
    i2c.attach(0x02, emu)
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,), devices={"eps": P31u(i2c)})
    exe.add_app(AppSpec("flaky", Flaky, 1.0, {"fail_after": 2}))
    exe.add_app(AppSpec("other", Other, 1.0, {"fail_after": 2}))
    exe.add_app(AppSpec("fdir", FdirApp, 1.0, {
        "watchdog": {"device": "eps", "kick_period_s": 5.0},
        "heartbeats": {"critical": ["flaky", "other"]}}))
    assert exe.boot() == []
    exe.run(20.0)
    held = [e.text for e in exe.events.recent if "no longer kicked" in e.text]
    assert held == ["hardware watchdog no longer kicked: flaky, other is lost"]
    assert exe.apps["fdir"].housekeeping_values()["watchdog_held"] is True


VECTOR = MessageType("TestVector", tm_msg_id(0x0E8), [Field("xyz", "3f"), Field("gate", "B")])


class Vector(App):
    """Publishes the three-element values the test queues, one a cycle."""

    NAME = "vector"
    APID = 0x0E9
    TELEMETRY = (VECTOR,)

    def __init__(self, ctx: Any, config: Any = None) -> None:
        super().__init__(ctx, config)
        self.queue: list[tuple[tuple[float, float, float], int]] = []

    def execute(self) -> None:
        if self.queue:
            xyz, gate = self.queue.pop(0)
            self.publish(VECTOR, xyz=xyz, gate=gate)


def vector_rig(monitors: list) -> Rig:
    return Rig(":memory:", P31uEmulator(soc=0.8), monitors=monitors,
               extra=[AppSpec("vector", Vector, 1.0), AppSpec("sample", SampleApp, 1.0)])


def test_a_monitor_watches_the_element_it_names_and_only_while_enabled():
    rig = vector_rig([
        {"name": "z_high", "parameter": "TestVector.xyz[2]", "high": 1.0, "persistence": 2,
         "enable_if": {"parameter": "TestVector.gate", "values": [1]}, "response": NOOP}])
    fdir = rig.exe.apps["fdir"]
    vector = rig.exe.apps["vector"]
    # x out of limits: not the element watched
    vector.queue = [((5.0, 0.0, 0.0), 1)] * 3
    rig.run(4.0)
    assert fdir.trips == 0
    # z out of limits while disabled, then one sample enabled: not yet
    vector.queue = [((0.0, 0.0, 5.0), 0)] * 3 + [((0.0, 0.0, 5.0), 1)]
    rig.run(5.0)
    assert fdir.trips == 0
    # a second enabled sample in a row trips it; so does a second excursion
    vector.queue = [((0.0, 0.0, 5.0), 1), ((0.0, 0.0, 0.0), 1), ((0.0, 0.0, 5.0), 1),
                    ((0.0, 0.0, 5.0), 1)]
    rig.run(5.0)
    assert fdir.trips == 2 and fdir.housekeeping_values()["trips"] == 2
    # tripped, then disabled while still out: enabled again it counts afresh
    vector.queue = [((0.0, 0.0, 5.0), 1), ((0.0, 0.0, 5.0), 0), ((0.0, 0.0, 5.0), 1),
                    ((0.0, 0.0, 5.0), 1)]
    rig.run(5.0)
    assert fdir.trips == 3
    assert "monitor z_high: TestVector.xyz[2]=5 outside [-inf, 1] for 2 samples" in rig.texts()


@pytest.mark.parametrize("monitor, problem", [
    ({"name": "x", "parameter": "TestVector.xyz", "response": []}, "xyz holds 3 value(s)"),
    ({"name": "x", "parameter": "TestVector.xyz[3]", "response": []}, "xyz holds 3 value(s)"),
    ({"name": "x", "parameter": "TestVector.xyz.y", "response": []},
     "monitors[0].parameter 'TestVector.xyz.y' is not 'source.field' or 'source.field[i]'"),
    ({"name": "x", "parameter": "Event.text", "response": []},
     "monitors[0].parameter 'Event.text': Event has no numeric field 'text'"),
    ({"name": "x", "parameter": "TestVector.gate", "treshold": 3, "response": []},
     "monitors[0].treshold is not a known key"),
    ({"name": "x", "parameter": "TestVector.gate"}, "monitors[0].response is missing"),
    ({"name": "x", "parameter": "TestVector.gate", "low": -1000000000001.0, "response": []},
     "monitors[0].low=-1000000000001.0 outside [-1e+12, 1e+12]"),
    ({"name": "x", "parameter": "TestVector.gate", "high": 1000000000001.0, "response": []},
     "monitors[0].high=1000000000001.0 outside [-1e+12, 1e+12]"),
])
def test_monitor_refusals_name_the_entry_and_what_is_wrong(monitor, problem):
    rig = vector_rig([])
    problems = rig.exe.apps["fdir"].validate_table({"monitors": [monitor]})
    assert any(problem in p for p in problems), problems


def test_every_problem_of_a_monitor_is_named_together():
    rig = vector_rig([])
    fdir = rig.exe.apps["fdir"]
    problems = fdir.validate_table({"monitors": [
        {"name": "x", "parameter": "TestVector.gate", "low": 5, "high": 1, "persistence": 0,
         "response": []}]})
    assert problems == ["monitors[0].low 5.0 is above high 1.0; "
                        "monitors[0].persistence must be an integer 1-10000"]
    # a single nominal value is a valid window
    assert fdir.validate_table({"monitors": [
        {"name": "x", "parameter": "TestVector.gate", "low": 1, "high": 1, "response": []}]}) == []


def test_more_heartbeats_than_fdir_can_hold_are_named_by_its_pipe():
    # one heartbeat per app per housekeeping period: 70 apps overflow the 64
    # FDIR keeps between two of its cycles, and the executive says whose pipe
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,))
    for n in range(70):
        cls = type(f"Idle{n}", (App,), {"NAME": f"idle{n}", "APID": 0x300 + n})
        exe.add_app(AppSpec(f"idle{n}", cls, 1.0))
    exe.add_app(AppSpec("fdir", FdirApp, 1.0, {"heartbeats": {"apps": ["idle0"]}}))
    assert exe.boot() == []
    exe.run(2.0)
    # 71 heartbeats a period (70 apps and FDIR itself), 64 kept
    assert [e.text for e in exe.events.recent if e.text.startswith("pipe ")] == [
        "pipe fdir.heartbeats full: dropped 7, last 0x0808"]


def test_a_new_fdir_table_skips_samples_of_messages_it_no_longer_watches():
    rig = vector_rig([{"name": "v", "parameter": "TestVector.xyz[0]", "high": 1.0,
                       "response": NOOP}])
    fdir = rig.exe.apps["fdir"]
    vector = rig.exe.apps["vector"]
    vector.queue = [((0.0, 0.0, 0.0), 0)] * 20  # a sample every cycle
    rig.run(2.5)
    tables = rig.exe.context.tables
    tables.load("fdir", json.dumps({"monitors": [
        {"name": "s", "parameter": "eps.soc_pct", "low": 0.0, "response": NOOP}]}).encode())
    tables.validate("fdir")
    tables.activate("fdir")
    rig.run(3.0)
    assert [m.name for m in fdir.monitors] == ["s"]
    assert fdir.state.name == "RUNNING" and fdir.cycle_error_count == 0


def test_an_enable_gate_that_names_nothing_is_refused_with_where():
    rig = vector_rig([])
    problems = rig.exe.apps["fdir"].validate_table({"monitors": [
        {"name": "x", "parameter": "TestVector.gate", "response": [],
         "enable_if": {"parameter": "nowhere.mode", "values": [1]}}]})
    assert problems == ["monitors[0].enable_if.parameter 'nowhere.mode': "
                        "no app or message 'nowhere'"]


def test_fdir_defaults_and_a_response_to_an_app_not_running():
    """docs/autonomy.md: heartbeats time out after 10 s and the watchdog is
    kicked every 10 s unless configured; the first kick is at once. A response
    step to an app that is not running is left out and said so, and FDIR runs."""
    emu = P31uEmulator(soc=0.8)
    i2c = SimI2C("i2c0")
    i2c.attach(0x02, emu)
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0, 0.05), devices={"eps": P31u(i2c)})
    exe.add_app(AppSpec("slow", Slow, 0.05))  # cycles every 20 s
    exe.add_app(AppSpec("fdir", FdirApp, 1.0, {
        "watchdog": {"device": "eps"},
        "heartbeats": {"apps": ["slow"], "response": [{"app": "sample", "command": "noop"}]}}))
    assert exe.boot() == []
    fdir = exe.apps["fdir"]
    exe.run(0.5)
    assert emu.wdt_kicks == 1 and fdir.housekeeping_values()["watchdog_held"] is False
    exe.run(10.0)  # kicks at 0 and 10 s; the slow app not yet lost at 10 s
    assert emu.wdt_kicks == 2 and "slow" not in fdir.lost
    exe.run(2.0)  # lost once more than 10 s passed without a cycle
    assert "slow" in fdir.lost
    texts = [e.text for e in exe.events.recent]
    assert "left out at boot: heartbeats.response[0]: sample.noop" in texts
    assert "app slow heartbeat lost: no cycle for 11 s" in texts
    assert fdir.state.name == "RUNNING"


def test_without_a_watchdog_nothing_is_held():
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,))
    exe.add_app(AppSpec("fdir", FdirApp, 1.0, {}))
    assert exe.boot() == []
    exe.run(3.0)
    hk = exe.apps["fdir"].housekeeping_values()
    assert (hk["watchdog_kicks"], hk["watchdog_held"], hk["apps_lost"]) == (0, False, 0)


def test_fdir_table_problems_are_exact_and_every_entry_is_checked():
    rig = signal_rig([])
    fdir = rig.exe.apps["fdir"]
    assert fdir.validate_table({"monitors": {"name": "x"}}) == ["monitors must be a list"]
    problems = fdir.validate_table({"monitors": [
        {"name": "a", "parameter": "TestSignal.value", "persistence": 0, "response": []},
        {"name": "b", "parameter": "TestSignal.value", "mask": -1, "response": []}]})
    assert problems == ["monitors[0].persistence must be an integer 1-10000",
                        "monitors[1].mask must be a positive integer"]


def test_a_critical_app_that_never_booted_holds_the_watchdog_from_the_start():
    emu = P31uEmulator(soc=0.8)
    i2c = SimI2C("i2c0")
    i2c.attach(0x02, emu)
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,), devices={"eps": P31u(i2c)})
    exe.add_app(AppSpec("sample", SampleApp, 1.0))
    exe.add_app(AppSpec("fdir", FdirApp, 1.0, {
        "watchdog": {"device": "eps"},
        "heartbeats": {"critical": ["ghost"], "response": NOOP}}))
    assert exe.boot() == []
    results = exe.bus.create_pipe("test.results", 16)
    exe.bus.subscribe(results, COMMAND_RESULT_MSG.msg_id)
    exe.run(3.0)
    assert emu.wdt_kicks == 0
    texts = [e.text for e in exe.events.recent]
    assert "app ghost heartbeat lost: not running" in texts
    assert "hardware watchdog no longer kicked: ghost is lost" in texts
    # the response went out at boot, before this pipe: the sample app ran it once
    assert exe.apps["sample"].cmd_count == 1


def test_a_monitor_left_out_of_a_new_table_no_longer_fills_the_fdir_pipe():
    # after a table without the flood's message, its samples are not taken at all
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,))
    exe.add_app(AppSpec("signal", Burst, 1.0))
    exe.add_app(AppSpec("fdir", FdirApp, 1.0, {"monitors": [
        {"name": "m", "parameter": "TestSignal.value", "high": 10.0, "response": []}]}))
    assert exe.boot() == []
    tables = exe.context.tables
    tables.load("fdir", json.dumps({"monitors": []}).encode())
    tables.validate("fdir")
    tables.activate("fdir")
    exe.run(1.5)
    exe.apps["signal"].queue = [(0.0, 0, 0)] * 300
    exe.run(2.0)
    assert not [e.text for e in exe.events.recent if e.text.startswith("pipe fdir.samples")]


def test_a_monitor_refusal_joins_every_key_problem_word_for_word():
    rig = signal_rig([])
    problems = rig.exe.apps["fdir"].validate_table({"monitors": [
        {"name": "x", "parameter": "TestSignal.value", "lo": 5.0}]})
    assert problems == ["monitors[0].lo is not a known key; monitors[0].response is missing"]
    assert rig.exe.apps["fdir"].validate_table({"monitors": ["low_battery"]}) == [
        "monitors[0]. must be an object"]


def test_the_response_request_id_is_the_index_of_the_monitor_that_tripped():
    # docs/autonomy.md: 0xFD0000nn, nn the monitor's index in the fdir table
    rig = signal_rig([
        {"name": "never", "parameter": "TestSignal.value", "high": 1e9, "response": NOOP},
        {"name": "never_either", "parameter": "TestSignal.value", "high": 1e9, "response": NOOP},
        {"name": "value_high", "parameter": "TestSignal.value", "high": 10.0, "response": NOOP}])
    results = rig.exe.bus.create_pipe("test.results", 64)
    rig.exe.bus.subscribe(results, COMMAND_RESULT_MSG.msg_id)
    rig.exe.apps["signal"].queue = [(11.0, 0, 0)]
    rig.run(3.0)
    done = [r["request_id"] for r in map(COMMAND_RESULT_MSG.unpack, (p for _, p in results.drain()))
            if r["apid"] == SampleApp.APID and r["stage"] == 7]
    assert done == [0xFD000002]


def test_the_response_for_an_app_that_never_booted_carries_no_apid():
    # docs/autonomy.md: 0xFDFF0000 | APID for a lost app's response; one that
    # is not running has none
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,))
    exe.add_app(AppSpec("sample", SampleApp, 1.0))
    exe.add_app(AppSpec("fdir", FdirApp, 1.0, {
        "heartbeats": {"apps": ["ghost"], "response": NOOP}}))
    assert exe.boot() == []
    # sent at boot, carried out by the sample app in its first cycle
    results = exe.bus.create_pipe("test.results", 16)
    exe.bus.subscribe(results, COMMAND_RESULT_MSG.msg_id)
    exe.run(2.0)
    done = [r["request_id"] for r in map(COMMAND_RESULT_MSG.unpack, (p for _, p in results.drain()))
            if r["apid"] == SampleApp.APID and r["stage"] == 7]
    assert done == [0xFDFF0000]


def test_the_heartbeat_timeout_runs_from_when_fdir_first_saw_the_count():
    # a watched app that cycles once at boot and then every 20 s: its count
    # moved when the first heartbeat reported it, so it is lost more than 10 s
    # after that heartbeat (docs/autonomy.md: not moved for timeout_s), no sooner
    from fsw.core.executive import APP_HEARTBEAT

    exe = Executive(VirtualClock(), rate_groups_hz=(1.0, 0.05))
    exe.add_app(AppSpec("slow", Slow, 0.05))
    exe.add_app(AppSpec("fdir", FdirApp, 1.0, {"heartbeats": {"apps": ["slow"]}}))
    assert exe.boot() == []
    hb = exe.bus.create_pipe("test.heartbeats", 64)
    exe.bus.subscribe(hb, APP_HEARTBEAT.msg_id)
    events = exe.bus.create_pipe("test.events", 64)
    exe.bus.subscribe(events, EVENT_MSG.msg_id)
    heard_by_s = None  # the first heartbeat came no later than this
    lost: list[Event] = []
    while not lost and exe.clock.now() < 20.0:
        exe.run(0.1)
        if heard_by_s is None and any(APP_HEARTBEAT.unpack(p)["apid"] == Slow.APID
                                      for _, p in hb.drain()):
            heard_by_s = exe.clock.now()
        lost = [e for e in map(Event.decode, (p for _, p in events.drain()))
                if e.text.startswith("app slow heartbeat lost")]
    assert heard_by_s is not None and lost
    assert lost[0].time_s - heard_by_s > 10.0
