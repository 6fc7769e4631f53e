"""The EPS app alone on the P31u driver and its register-level emulator.

Expected values come from the emulated battery (its charge moves by the net
current over its capacity, as a coulomb counter on the bench would see it),
the P31u's datasheet layout (eight outputs: six switchable, the BP4 heater
and switch; latch-up counters on the six) and the app's documentation in
`fsw/apps/eps/app.py` and docs/autonomy.md.
"""

from __future__ import annotations

import re

import pytest

from fsw.apps.eps import EpsApp
from fsw.apps.eps.app import validate_shedding
from fsw.core import EVENT_MSG, AppSpec, CommandError, Event, Executive, Reason, VirtualClock
from hal.devices.p31u import P31u
from hal.sim import SimI2C
from hal.sim.p31u import P31uEmulator

CHANNELS = {"payload": 0, "radio": 1, "wheels": 2, "heater": 6}
SHEDDING = {"order": [{"channel": "payload", "off_below_pct": 30.0, "on_above_pct": 50.0},
                      {"channel": "wheels", "off_below_pct": 12.0, "on_above_pct": 30.0}]}


class Rig:
    """An executive running only the EPS app, at `rate_hz`, on a P31u emulator."""

    def __init__(self, emu: P31uEmulator, rate_hz: float = 1.0, *, fault_at_boot: str = "",
                 **config: object) -> None:
        i2c = SimI2C("i2c0")
        i2c.attach(0x02, emu)
        self.emu = emu
        self.clock = VirtualClock()
        self.clock.add_listener(lambda t0, t1: emu.advance(t1))
        self.exe = Executive(self.clock, rate_groups_hz=(rate_hz,), devices={"eps": P31u(i2c)})
        cfg = {"channels": CHANNELS, "shedding": SHEDDING, **config}
        self.exe.add_app(AppSpec("eps", EpsApp, rate_hz, cfg))
        if fault_at_boot:  # the driver found the part; it fails before the app's first read
            emu.inject_fault(fault_at_boot)
        assert self.exe.boot() == []
        self.events_pipe = self.exe.bus.create_pipe("test.events", 1024)
        self.exe.bus.subscribe(self.events_pipe, EVENT_MSG.msg_id)
        self.eps: EpsApp = self.exe.apps["eps"]
        self.texts: list[str] = []

    def run(self, seconds: float) -> None:
        self.exe.run(seconds)
        self.texts += [Event.decode(p).text for _, p in self.events_pipe.drain()]


def test_housekeeping_carries_what_the_eps_measures():
    emu = P31uEmulator(soc=0.8)
    emu.set_solar_current(1.2)
    rig = Rig(emu, initially_on=["radio"])
    emu.set_load(1, 0.3)
    rig.run(2.0)
    hk = rig.eps.housekeeping_values()
    assert hk["vbatt_v"] == pytest.approx(emu.vbatt_v, abs=0.002)  # mV telemetry
    assert hk["solar_a"] == pytest.approx(1.2, abs=0.002)
    assert hk["load_a"] == pytest.approx(emu.battery_current_a, abs=0.002)
    assert hk["outputs_on"] == 0b10 and emu.outputs[1] == 1
    assert hk["batt_mode"] == 3  # P31u: 1 critical, 2 safe, 3 normal, 4 full
    assert hk["read_failures"] == 0 and hk["shed"] == 0 and hk["locked_out"] == 0
    assert rig.eps.channel_on("radio") and not rig.eps.channel_on("payload")


@pytest.mark.parametrize("rate_hz", [1.0, 4.0])
def test_charge_is_counted_from_the_net_current_over_the_capacity(rate_hz):
    # No pull toward the voltage (weight 0): the estimate moves by net current
    # x time / capacity, like the battery itself. Started 30 points off the
    # truth, it stays 30 points off.
    emu = P31uEmulator(soc=0.8, capacity_ah=2.6)
    emu.set_solar_current(2.0)
    emu.set_system_load(0.1)
    rig = Rig(emu, rate_hz, capacity_ah=2.6, voltage_weight=0.0)
    rig.eps.set_soc(50.0)
    truth0 = emu.soc
    rig.run(360.0)
    gained = 1.9 * 360.0 / 3600.0 / 2.6  # A x h / A h
    assert emu.soc - truth0 == pytest.approx(gained, rel=0.02)
    assert rig.eps.soc - 0.5 == pytest.approx(gained, rel=0.02)


def test_the_voltage_pulls_a_wrong_estimate_by_the_configured_weight():
    emu = P31uEmulator(soc=0.8)
    slow = Rig(emu, voltage_weight=0.0005)
    slow.eps.set_soc(50.0)
    slow.run(100.0)
    # each cycle closes that fraction of the gap to the voltage's estimate
    expected_gap = 0.3 * (1.0 - 0.0005) ** 100
    assert 0.8 - slow.eps.soc == pytest.approx(expected_gap, abs=0.01)


def test_outputs_are_shed_below_their_threshold_and_restored_above_the_other():
    emu = P31uEmulator(soc=0.8)
    rig = Rig(emu, initially_on=["payload", "radio", "wheels"], voltage_weight=0.0)
    rig.run(2.0)
    assert emu.outputs[:3] == [1, 1, 1]
    rig.eps.set_soc(20.0)
    rig.run(2.0)
    assert emu.outputs[:3] == [0, 1, 1]  # below 30 %: payload; wheels hold until 12 %
    assert rig.eps.housekeeping_values()["shed"] == 0b1
    assert any(re.fullmatch(r"output payload shed: charge 20\.\d % < 30\.0 %", t)
               for t in rig.texts)
    rig.eps.set_soc(40.0)
    rig.run(2.0)
    assert emu.outputs[0] == 0  # between the two thresholds: still shed
    rig.eps.set_soc(60.0)
    rig.run(2.0)
    assert emu.outputs[:3] == [1, 1, 1] and rig.eps.housekeeping_values()["shed"] == 0
    assert any(re.fullmatch(r"output payload restored: charge 60\.\d % > 50\.0 %", t)
               for t in rig.texts)


def test_an_output_without_a_latchup_counter_switches_like_any_other():
    # output 6 is the BP4 heater: the P31u counts latch-ups on outputs 0-5 only
    emu = P31uEmulator(soc=0.8)
    rig = Rig(emu, initially_on=["heater"])
    rig.run(3.0)
    assert emu.outputs[6] == 1 and rig.eps.housekeeping_values()["outputs_on"] == 1 << 6
    rig.eps.set_output(6, 0)
    rig.run(1.0)
    assert emu.outputs[6] == 0 and rig.eps.state.name == "RUNNING"


def test_a_channel_beyond_the_eight_outputs_is_refused_at_boot():
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,), devices={})
    exe.add_app(AppSpec("eps", EpsApp, 1.0, {"channels": {"payload": 8}}))
    assert exe.boot() == ["eps"]
    assert any("channel 'payload' output 8 is not 0-7" in e.text for e in exe.events.recent)


def test_read_and_switch_failures_are_counted_and_reported():
    emu = P31uEmulator(soc=0.8)
    rig = Rig(emu)
    rig.run(1.0)
    emu.inject_fault("nack")
    rig.run(3.0)
    assert rig.eps.housekeeping_values()["read_failures"] >= 3
    assert any(t.startswith("EPS housekeeping failed (1): ") for t in rig.texts)
    rig.eps.set_output(0, 1)  # switching through a dead bus fails, and says so
    rig.run(1.0)
    assert any(t.startswith("switching payload failed: ") for t in rig.texts)
    emu.clear_faults()
    rig.run(2.0)
    assert emu.outputs[0] == 1  # still wanted: switched once the EPS answers


@pytest.mark.parametrize("content, problem", [
    ({"shed": []}, "shed is not a known key"),
    ({"shed": []}, "order is missing"),
    ({"order": [{"channel": "payload", "off_below_pct": 30.0}]},
     "order[0].on_above_pct"),
    ({"order": [{"channel": "payload", "off_below_pct": 30.0, "on_above_pct": 50.0},
                {"channel": "payload", "off_below_pct": 20.0, "on_above_pct": 40.0}]},
     "order[1].channel 'payload' appears twice"),
    ({"order": [{"channel": "wheels", "off_below_pct": 12.0, "on_above_pct": 30.0},
                {"channel": "payload", "off_below_pct": 30.0, "on_above_pct": 50.0}]},
     "order[1].sheds above an earlier entry"),
    ({"order": [{"channel": "payload", "off_below_pct": 50.0, "on_above_pct": 50.0}]},
     "order[0].on_above_pct must exceed off_below_pct"),
    ({"order": [{"channel": "camera", "off_below_pct": 30.0, "on_above_pct": 50.0}]},
     "order[0].channel 'camera' is not one of"),
])
def test_shedding_table_refusals_say_where(content, problem):
    problems = validate_shedding(content, CHANNELS)
    assert any(problem in p for p in problems), problems


def test_outputs_may_share_a_shedding_threshold():
    same = {"order": [{"channel": "payload", "off_below_pct": 30.0, "on_above_pct": 50.0},
                      {"channel": "wheels", "off_below_pct": 30.0, "on_above_pct": 50.0}]}
    assert validate_shedding(same, CHANNELS) == []


def test_a_charge_exactly_at_a_threshold_neither_sheds_nor_restores():
    # docs: shed when the charge falls *below* off_below_pct, given back when
    # it has climbed *above* on_above_pct. Solar in equal to the load and no
    # pull toward the voltage hold the estimate exactly where it was set.
    emu = P31uEmulator(soc=0.8)
    emu.set_system_load(0.1)
    emu.set_solar_current(0.1)
    rig = Rig(emu, initially_on=["payload", "wheels"], voltage_weight=0.0)
    rig.eps.set_soc(12.0)
    rig.run(3.0)
    assert rig.eps.soc * 100.0 == 12.0
    assert emu.outputs[2] == 1  # wheels: off below 12 %, not at it
    assert emu.outputs[0] == 0  # payload: below 30 %
    rig.eps.set_soc(50.0)
    rig.run(3.0)
    assert emu.outputs[0] == 0  # payload: back above 50 %, not at it
    rig.eps.set_soc(50.5)
    rig.run(2.0)
    assert emu.outputs[0] == 1


def test_housekeeping_while_the_eps_has_never_answered_is_all_zero():
    emu = P31uEmulator(soc=0.8)
    rig = Rig(emu, fault_at_boot="nack")
    rig.run(2.0)
    hk = rig.eps.housekeeping_values()
    assert {k: v for k, v in hk.items() if k != "read_failures"} == {
        "soc_pct": 0.0, "vbatt_v": 0.0, "solar_a": 0.0, "load_a": 0.0, "outputs_on": 0,
        "shed": 0, "locked_out": 0, "latchups": 0, "batt_mode": 0, "wdt_gnd_resets": 0}
    assert hk["read_failures"] >= 2
    assert not rig.eps.channel_on("radio")


def test_housekeeping_percent_and_counters_saturating_at_16_bits():
    emu = P31uEmulator(soc=0.8)
    emu.wdt_gnd_resets = 3
    rig = Rig(emu)
    rig.run(1.0)
    hk = rig.eps.housekeeping_values()
    assert hk["soc_pct"] == pytest.approx(100.0 * rig.eps.soc) and 70.0 < hk["soc_pct"] < 90.0
    assert hk["wdt_gnd_resets"] == 3
    # the fields are 16-bit: counts beyond stay at 65535
    emu.wdt_gnd_resets = 70000
    rig.eps.latchups = 70000
    rig.eps.read_failures = 70000
    rig.run(1.0)
    hk = rig.eps.housekeeping_values()
    assert (hk["wdt_gnd_resets"], hk["latchups"], hk["read_failures"]) == (0xFFFF,) * 3
    rig.eps.report_housekeeping()  # and they pack


def test_switching_an_output_that_is_no_channel_is_a_bad_argument():
    rig = Rig(P31uEmulator(soc=0.8))
    with pytest.raises(CommandError, match=r"^output 5 is not a configured channel$") as bad:
        rig.eps.set_output(5, 1)
    assert bad.value.reason == Reason.BAD_ARGUMENT  # PUS failure code 3


# -- the shedding table's refusals, word for word --------------------------------------

NIC = "GomSpace NanoPower P31u, bus i2c0, address 0x02: no acknowledge"


def _entry(channel="payload", off=30.0, on=50.0):
    return {"channel": channel, "off_below_pct": off, "on_above_pct": on}


@pytest.mark.parametrize("content, problems", [
    ({"order": {"payload": 30.0}}, ["order must be a list"]),
    ({"order": [{"channel": "payload", "off_below_pct": 30.0}]},
     ["order[0].on_above_pct is missing", "order[0].on_above_pct must be a number"]),
    # a bad entry does not hide the next one's problems
    ({"order": ["payload", _entry("camera")]},
     ["order[0]. must be an object", "order[1].channel 'camera' is not one of "
      "['heater', 'payload', 'radio', 'wheels']"]),
    # percentages: 0 to 100, both ends allowed
    ({"order": [_entry(off=0.0, on=0.5)]}, []),
    ({"order": [_entry(off=99.5, on=100.0)]}, []),
    ({"order": [_entry(off=-0.5, on=50.0)]}, ["order[0].off_below_pct=-0.5 outside [0, 100]"]),
    ({"order": [_entry(off=30.0, on=100.5)]}, ["order[0].on_above_pct=100.5 outside [0, 100]"]),
    ({"order": [_entry(off=-1.0, on=-0.5)]}, ["order[0].off_below_pct=-1.0 outside [0, 100]",
                                              "order[0].on_above_pct=-0.5 outside [0, 100]"]),
    # the first entry has nothing earlier to shed above
    ({"order": [_entry(off=100.5, on=101.0)]}, ["order[0].off_below_pct=100.5 outside [0, 100]",
                                                "order[0].on_above_pct=101.0 outside [0, 100]"]),
    ({"order": [_entry("wheels", 12.0, 30.0), _entry("payload", 30.0, 50.0)]},
     ["order[1].sheds above an earlier entry: the order is by falling threshold"]),
])
def test_shedding_table_refusals_word_for_word(content, problems):
    assert validate_shedding(content, CHANNELS) == problems


# -- configuration defaults: the reference battery, as the docstring states ---------------

def test_an_eps_without_channels_boots_and_switches_nothing():
    emu = P31uEmulator(soc=0.8)
    i2c = SimI2C("i2c0")
    i2c.attach(0x02, emu)
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,), devices={"eps": P31u(i2c)})
    exe.add_app(AppSpec("eps", EpsApp, 1.0, {}))
    assert exe.boot() == []
    exe.run(3.0)
    assert emu.outputs == [0] * 8 and exe.apps["eps"].state.name == "RUNNING"


def _default_rig(emu: P31uEmulator, **config: object):
    """The EPS app configured with its channels and `config` only."""
    i2c = SimI2C("i2c0")
    i2c.attach(0x02, emu)
    clock = VirtualClock()
    clock.add_listener(lambda t0, t1: emu.advance(t1))
    exe = Executive(clock, rate_groups_hz=(1.0,), devices={"eps": P31u(i2c)})
    exe.add_app(AppSpec("eps", EpsApp, 1.0, {"channels": CHANNELS, **config}))
    assert exe.boot() == []
    return exe, exe.apps["eps"]


def test_with_no_battery_configuration_the_app_counts_over_the_reference_bp4_pack():
    # BP4 2S2P: 5.2 A h, two cells in series, 0.1 ohm (the emulator's defaults too)
    emu = P31uEmulator(soc=0.8)
    emu.set_solar_current(2.0)
    emu.set_system_load(0.1)
    exe, eps = _default_rig(emu, voltage_weight=0.0)
    # the first estimate from the voltage under 1.9 A of charge: the drop over 0.1 ohm taken out
    assert eps.soc == pytest.approx(emu.soc, abs=0.01)
    eps.set_soc(50.0)
    truth0 = emu.soc
    exe.run(360.0)
    assert eps.soc - 0.5 == pytest.approx(emu.soc - truth0, rel=0.02)


def test_with_no_weight_configured_the_voltage_closes_two_thousandths_of_the_gap_a_cycle():
    emu = P31uEmulator(soc=0.8)
    emu.set_solar_current(0.1)  # as much in as the system draws: the charge holds
    emu.set_system_load(0.1)
    exe, eps = _default_rig(emu)
    eps.set_soc(50.0)
    exe.run(10.0)
    assert 0.8 - eps.soc == pytest.approx(0.3 * (1.0 - 0.002) ** 10, abs=0.003)


@pytest.mark.parametrize("cells, ohm", [(1, 0.1), (2, 0.5)])
def test_the_configured_pack_is_the_one_read(cells, ohm):
    emu = P31uEmulator(soc=0.6, cells_in_series=cells, internal_ohm=ohm)
    emu.set_solar_current(2.0)  # 1.9 A into the battery: ohm x 1.9 V above its open circuit
    rig = Rig(emu, cells_in_series=cells, internal_ohm=ohm)
    assert rig.eps.soc == pytest.approx(0.6, abs=0.01)


def test_charge_is_counted_over_an_hour_of_3600_seconds_and_stops_at_full():
    emu = P31uEmulator(soc=0.8)
    emu.set_solar_current(2.0)
    emu.set_system_load(0.1)
    rig = Rig(emu, voltage_weight=0.0, capacity_ah=2.0)
    rig.eps.set_soc(50.0)
    rig.run(1.0)
    before = rig.eps.soc
    rig.run(100.0)  # 100 readings, one a second
    hk = rig.eps.housekeeping_values()
    net_a = hk["solar_a"] - hk["load_a"]
    assert rig.eps.soc - before == pytest.approx(net_a * 100.0 / 3600.0 / 2.0, rel=1e-9)
    rig.eps.set_soc(99.9)
    rig.run(30.0)
    assert rig.eps.soc == 1.0 and rig.eps.housekeeping_values()["soc_pct"] == 100.0


def test_a_flat_battery_sheds_every_output_of_the_table():
    emu = P31uEmulator(soc=0.8)
    rig = Rig(emu, initially_on=["payload", "radio", "wheels"], voltage_weight=0.0)
    rig.run(2.0)
    rig.eps.set_soc(0.0)
    rig.run(2.0)
    assert rig.eps.soc == 0.0
    assert emu.outputs[:3] == [0, 1, 0]
    assert "output wheels shed: charge 0.0 % < 12.0 %" in rig.texts


def test_a_charge_set_while_the_eps_is_silent_is_kept_when_it_answers():
    emu = P31uEmulator(soc=0.8)
    emu.set_system_load(0.0)
    rig = Rig(emu, fault_at_boot="nack", voltage_weight=0.0)
    rig.run(2.0)
    rig.eps.set_soc(20.0)  # the ground's assessment, while the EPS does not answer
    emu.clear_faults()
    rig.run(3.0)
    assert rig.eps.state.name == "RUNNING"
    assert rig.eps.soc == pytest.approx(0.2, abs=1e-6)  # not the voltage's 80 %
    assert f"EPS housekeeping failed (1): {NIC}" in [e.text for e in rig.exe.events.recent]


# -- latch-ups: the retry, the streak, the lock-out -------------------------------------------

def _latch_rig(**config: object) -> Rig:
    emu = P31uEmulator(soc=0.8, limit_a=(0.5,) * 6)
    rig = Rig(emu, initially_on=["payload"], **config)
    rig.run(2.0)
    assert emu.outputs[0] == 1
    return rig


def _seconds_until(rig: Rig, check, limit_s: int = 40) -> int:
    """Whole seconds flown, one at a time, until `check()` holds."""
    for n in range(1, limit_s + 1):
        rig.run(1.0)
        if check():
            return n
    raise AssertionError("never happened")


def test_a_latched_output_is_retried_after_ten_seconds_and_a_whole_cycle_on_ends_the_streak():
    rig = _latch_rig()
    emu = rig.emu
    emu.set_load(0, 0.8)  # over its 0.5 A limit: the P31u switches it off
    _seconds_until(rig, lambda: any("latched off" in t for t in rig.texts))
    assert "output payload latched off on over-current (1); retry in 10 s" in rig.texts
    emu.set_load(0, 0.3)
    waited = _seconds_until(rig, lambda: emu.outputs[0] == 1)
    assert waited == 10  # the default latch_retry_s, not a cycle more or less
    rig.run(3.0)  # on for whole cycles: the next latch-up starts a new streak
    emu.set_load(0, 0.8)
    rig.run(2.0)
    assert [t for t in rig.texts if "latched off" in t] == [
        "output payload latched off on over-current (1); retry in 10 s"] * 2
    assert rig.eps.housekeeping_values()["latchups"] == 2
    assert rig.eps.housekeeping_values()["locked_out"] == 0


def test_the_configured_retries_and_wait_are_the_ones_kept():
    # overloaded from boot: it latches the moment the app first switches it on
    emu = P31uEmulator(soc=0.8, limit_a=(0.5,) * 6)
    emu.set_load(0, 0.8)
    rig = Rig(emu, initially_on=["payload"], latch_retries=1, latch_retry_s=4.0)
    _seconds_until(rig, lambda: any("latched off" in t for t in rig.texts))
    assert "output payload latched off on over-current (1); retry in 4 s" in rig.texts
    # retried after 4 s, latched again at once: one retry allowed, then locked out
    _seconds_until(rig, lambda: any("locked out" in t for t in rig.texts), limit_s=6)
    assert "output payload locked out after 1 retries" in rig.texts
    assert emu.latchups[0] == 2 and rig.eps.housekeeping_values()["latchups"] == 2
    assert rig.eps.housekeeping_values()["locked_out"] == 1


def test_other_outputs_switch_while_one_waits_for_its_retry():
    rig = _latch_rig()
    emu = rig.emu
    emu.set_load(0, 0.8)
    rig.run(2.0)
    assert emu.outputs[0] == 0 and any("latched off" in t for t in rig.texts)
    rig.eps.set_output(1, 1)  # the radio, commanded while the payload waits
    assert emu.outputs[1] == 1
    rig.eps.set_output(1, 0)
    rig.emu.inject_fault("nack")
    rig.eps.set_output(1, 1)
    rig.run(0.5)
    assert f"switching radio failed: {NIC}" in rig.texts


def test_a_silent_eps_is_reported_with_the_drivers_words():
    rig = Rig(P31uEmulator(soc=0.8), fault_at_boot="nack")
    rig.run(1.0)
    assert f"EPS housekeeping failed (1): {NIC}" in [e.text for e in rig.exe.events.recent]
