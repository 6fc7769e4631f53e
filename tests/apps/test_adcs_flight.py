"""The ADCS app alone on the reference spacecraft's full sensor and actuator set.

The simulated spacecraft carries what `hal/reference.toml` fits (RM3100
magnetometer, L3GD20H gyro, six coarse sun sensors on two ADS1115s, four
CubeWheels on CAN, an iMTQ), driven by the real drivers; only the ADCS app
runs, so each case costs a fraction of a second of CPU time. Expected values
come from the documentation (the `AdcsState` dictionary, docs/autonomy.md)
and from the simulator's truth, never from the app's own constants.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from fsw.apps.adcs import ADCS_STATE, AdcsApp, AdcsMode
from fsw.apps.adcs.app import DEVICE_HEALTH, validate_gains
from fsw.core import COMMAND_RESULT_MSG, EVENT_MSG, Event, Reason, cmd_msg_id
from fsw.core.app import encode_command
from fsw.core.executive import load_config
from fsw.core.time import DEFAULT_EPOCH_TAI_S
from fsw.gnc.adcs import Status
from fsw.gnc.dynamics import Wheel
from fsw.gnc.ephemeris import MeanElements
from ground.sim.sil import DEFAULT_FLIGHT_CONFIG, Scenario, SilRun, build_sil
from ground.sim.spacecraft import SpacecraftModel

SET_MODE = AdcsApp.COMMANDS[10]
SET_PARAMETER = AdcsApp.COMMANDS[2]
RESET_WHEEL_CHECK = AdcsApp.COMMANDS[13]


class Rig:
    """A booted SIL run of the ADCS app, with pipes on its state, events and results."""

    def __init__(self, scenario: Scenario, **adcs_config: object) -> None:
        cfg = load_config(DEFAULT_FLIGHT_CONFIG)
        cfg["apps"] = [a for a in cfg["apps"] if a["name"] == "adcs"]
        cfg["wiring"] = {"orbit_to": "adcs"}
        if "orbit" in adcs_config:  # the app's own elements, not the simulated orbit's
            cfg["wiring"] = {}
        if "executive_hz" in adcs_config:
            cfg["executive"]["rate_groups_hz"] = list(adcs_config.pop("executive_hz"))
            cfg["apps"][0]["rate_hz"] = adcs_config["rate_hz"]
        for key, value in adcs_config.items():
            if key in ("detumble_exit_rate_deg_s", "detumble_exit_hold_s"):
                cfg["apps"][0]["config"]["parameters"][key] = value
            else:
                cfg["apps"][0]["config"][key] = value
        self.run: SilRun = build_sil(scenario, cfg)
        assert self.run.executive.boot() == []
        bus = self.run.executive.bus
        self.pipes = {}
        for name, msg_id in (("state", ADCS_STATE.msg_id), ("events", EVENT_MSG.msg_id),
                             ("results", COMMAND_RESULT_MSG.msg_id),
                             ("health", DEVICE_HEALTH.msg_id)):
            self.pipes[name] = bus.create_pipe(f"test.{name}", 4096)
            bus.subscribe(self.pipes[name], msg_id)
        self.app: AdcsApp = self.run.executive.apps["adcs"]
        self.events: list[Event] = []
        self.results: list[dict] = []
        self.states: list[dict] = []

    def fly(self, seconds: float, until=None) -> None:
        self.run.executive.run(seconds, until=until)
        self.drain()

    def drain(self) -> None:
        self.events += [Event.decode(p) for _, p in self.pipes["events"].drain()]
        self.results += [COMMAND_RESULT_MSG.unpack(p) for _, p in self.pipes["results"].drain()]
        self.states += [ADCS_STATE.unpack(p) for _, p in self.pipes["state"].drain()]

    def command(self, request_id: int, spec, **args: object) -> None:
        self.run.executive.bus.publish(cmd_msg_id(AdcsApp.APID),
                                       encode_command(request_id, spec.code, spec.args, **args))

    def texts(self) -> list[str]:
        return [e.text for e in self.events if e.apid == AdcsApp.APID]


def sunlit(**kw: object) -> Scenario:
    """Sunlit at t = 0 in a noon-midnight orbit, exact sensors."""
    kw.setdefault("w0_body_deg_s", (0.0, 0.0, 0.0))
    return Scenario(raan_deg=101.0, mean_anomaly_deg=300.0, sensor_noise=False, **kw)


def test_state_packet_reports_every_fitted_sensor_as_the_dictionary_says():
    w0_deg_s = (1.0, -2.0, 0.5)
    rig = Rig(sunlit(w0_body_deg_s=w0_deg_s), initial_mode="IDLE")
    rig.fly(1.0)
    last = rig.states[-1]
    # sensors_ok: bit 0 magnetometer, 1 gyro, 2 sun sensors, 3 wheels
    assert last["sensors_ok"] == 0b1111
    assert last["mode"] == AdcsMode.IDLE == 0
    assert last["time_s"] == pytest.approx(rig.run.clock.now(), abs=0.1 + 1e-9)
    # IDLE commands nothing: the body keeps the rate it started with
    assert np.allclose(last["gyro_rad_s"], np.radians(w0_deg_s), atol=2e-3)
    assert np.allclose(last["dipole_cmd_am2"], 0.0) and np.allclose(last["wheel_torque_cmd_nm"], 0)
    assert np.linalg.norm(last["sun_body"]) == pytest.approx(1.0, abs=0.05)
    # a LEO field lies between about 18 000 and 65 000 nT (IGRF); the
    # housekeeping figure is the magnitude of the state's field, in nT
    b_nt = np.linalg.norm(last["b_body_t"]) * 1e9
    assert 18000.0 < b_nt < 65000.0
    hk = rig.app.housekeeping_values()
    assert hk["b_norm_nt"] == pytest.approx(b_nt, rel=1e-5)
    assert hk["mode"] == 0 and hk["cycles"] == 10 and hk["sensor_faults"] == 0
    assert hk["s_without_sun"] == 0.0  # the sun sensors see the sun
    # housekeeping repeats the last cycle's status and pointing error
    assert hk["status"] == last["status"] != 0
    assert hk["pointing_error_deg"] == pytest.approx(last["pointing_error_deg"], rel=1e-6)
    assert [s["time_s"] for s in rig.states] == pytest.approx([0.1 * k for k in range(10)],
                                                              abs=1e-9)


def test_detumble_hands_over_to_sun_pointing_once_rates_stay_low_for_the_hold():
    # docs: leave DETUMBLE for SUN once the estimated rate has stayed below
    # detumble_exit_rate_deg_s for detumble_exit_hold_s
    rig = Rig(sunlit(w0_body_deg_s=(0.1, 0.1, 0.1)), detumble_exit_rate_deg_s=0.5,
              detumble_exit_hold_s=5.0)
    rig.fly(20.0, until=lambda: rig.app.cycle.mode == AdcsMode.SUN)
    assert rig.app.cycle.mode == AdcsMode.SUN
    switched_s = rig.run.clock.now()
    assert 5.0 <= switched_s < 8.0
    assert "mode DETUMBLE -> SUN: rates low: detumble complete" in rig.texts()
    assert rig.states[-1]["mode"] == AdcsMode.SUN


def test_a_fast_tumble_or_a_zero_threshold_keeps_detumbling():
    fast = Rig(sunlit(w0_body_deg_s=(3.0, -3.0, 3.0)), detumble_exit_rate_deg_s=0.5,
               detumble_exit_hold_s=5.0)
    never = Rig(sunlit(w0_body_deg_s=(0.1, 0.1, 0.1)), detumble_exit_rate_deg_s=0.0,
                detumble_exit_hold_s=5.0)
    for rig in (fast, never):
        rig.fly(12.0)
        assert rig.app.cycle.mode == AdcsMode.DETUMBLE
        assert not any("-> SUN" in t for t in rig.texts())


def test_the_orbit_model_sees_the_eclipse_begin_when_the_spacecraft_does():
    # Noon-midnight orbit, 500 km: the simulator's spacecraft enters the
    # Earth's shadow at a mean anomaly of about 315.03 deg, 0.0634 deg/s on:
    # started 10 s before, the app's own SGP4 orbit must see the same.
    rig = Rig(Scenario(raan_deg=101.0, mean_anomaly_deg=315.027 - 10 * 0.0634,
                       sensor_noise=False, w0_body_deg_s=(0.0, 0.0, 0.0)), initial_mode="IDLE")
    rig.fly(30.0, until=lambda: rig.run.simulator.lit_fraction < 0.5)
    entered_s = rig.run.clock.now()
    assert 7.0 < entered_s < 13.0
    assert not any(s["status"] & Status.ECLIPSE for s in rig.states if s["time_s"] < entered_s - 2)
    rig.fly(3.0)
    assert rig.states[-1]["status"] & Status.ECLIPSE
    assert rig.states[-1]["sun_body"] == (0.0, 0.0, 0.0)  # the dictionary: zero when none
    assert rig.app.housekeeping_values()["s_without_sun"] == 0.0  # no sun to see


def test_commanding_the_mode_already_held_fails_with_not_allowed_now():
    rig = Rig(sunlit(), initial_mode="SUN")
    rig.command(41, SET_MODE, mode=int(AdcsMode.SUN))
    rig.command(42, SET_MODE, mode=int(AdcsMode.NADIR))
    rig.fly(0.3)
    done = {(r["request_id"], r["stage"]): (r["ok"], r["reason"]) for r in rig.results}
    assert done[(41, 7)] == (False, Reason.NOT_ALLOWED_NOW)
    assert done[(42, 7)] == (True, 0)
    assert rig.app.cycle.mode == AdcsMode.NADIR
    assert "mode SUN -> NADIR: commanded" in rig.texts()


def test_a_lower_torquer_limit_takes_effect_at_once():
    # dipole_limit_am2: the per-axis magnetorquer limit (0.2 A m^2, the iMTQ's
    # nominal dipole); a 10 deg/s tumble saturates B-dot on some axis
    rig = Rig(sunlit(w0_body_deg_s=(10.0, 10.0, 10.0)))
    rig.fly(1.0)
    assert np.max(np.abs(rig.states[-1]["dipole_cmd_am2"])) == pytest.approx(0.2, rel=1e-3)
    index = [p.name for p in AdcsApp.PARAMETERS].index("dipole_limit_am2")
    rig.command(5, SET_PARAMETER, index=index, value=0.1)
    rig.fly(1.0)
    assert (5, 7, True) in [(r["request_id"], r["stage"], r["ok"]) for r in rig.results]
    dipole = rig.states[-1]["dipole_cmd_am2"]
    assert np.max(np.abs(dipole)) == pytest.approx(0.1, rel=1e-3)
    assert np.allclose(rig.run.emulators.magnetorquer.dipole_now_am2, dipole, atol=1e-3)


def test_a_parameter_change_keeps_the_pointing_mode():
    rig = Rig(sunlit(), initial_mode="SUN")
    index = [p.name for p in AdcsApp.PARAMETERS].index("dipole_limit_am2")
    rig.command(6, SET_PARAMETER, index=index, value=0.1)
    rig.fly(0.5)
    assert (6, 7, True) in [(r["request_id"], r["stage"], r["ok"]) for r in rig.results]
    assert rig.app.cycle.mode == AdcsMode.SUN and rig.states[-1]["mode"] == AdcsMode.SUN


def test_a_zero_bdot_gain_stops_the_torquers_and_the_filter_weight_takes_effect():
    # m = -k dB/dt: with k = 0 the torquers get nothing, whatever the tumble
    names = [p.name for p in AdcsApp.PARAMETERS]
    rig = Rig(sunlit(w0_body_deg_s=(10.0, 10.0, 10.0)))
    rig.fly(0.5)
    rig.command(7, SET_PARAMETER, index=names.index("bdot_gain"), value=0.0)
    rig.fly(0.5)
    assert np.allclose(rig.states[-1]["dipole_cmd_am2"], 0.0)
    # filter_alpha is the weight of the newest dB/dt sample: two spacecraft
    # tumbling alike, unsaturated (a small gain), part as soon as one of them
    # weighs new samples differently
    pair = []
    for alpha in (0.5, 0.05):
        twin = Rig(sunlit(w0_body_deg_s=(10.0, -5.0, 3.0)))
        twin.command(8, SET_PARAMETER, index=names.index("bdot_gain"), value=2e3)
        twin.command(9, SET_PARAMETER, index=names.index("filter_alpha"), value=alpha)
        twin.fly(1.0)
        assert np.max(np.abs(twin.states[-1]["dipole_cmd_am2"])) < 0.2  # not saturated
        pair.append(twin.states[-1]["dipole_cmd_am2"])
    assert not np.allclose(pair[0], pair[1], rtol=0.05, atol=0.0)


def test_an_orbit_that_cannot_be_propagated_idles_the_torquers_and_says_why():
    # perigee below the surface: SGP4 reports the satellite decayed (error 6)
    decayed = dataclasses.replace(MeanElements.circular(200.0, DEFAULT_EPOCH_TAI_S),
                                  eccentricity=0.5)
    rig = Rig(sunlit(w0_body_deg_s=(10.0, 10.0, 10.0)), orbit=decayed.as_dict())
    rig.fly(2.0)
    assert np.allclose(rig.run.emulators.magnetorquer.dipole_now_am2, 0.0)
    orbit = [t for t in rig.texts() if t.startswith("orbit propagation failed")]
    assert len(orbit) == 1 and orbit[0].endswith("(1)")  # one event, then squelched
    # Vallado's SGP4 error 6: the satellite has decayed; at the first cycle, 0 min
    assert orbit[0].startswith("orbit propagation failed: SGP4 error 6 (")
    assert " at 0.0 min (1)" in orbit[0]
    assert rig.app.housekeeping_values()["sensor_faults"] == 20
    assert rig.app.state.name == "RUNNING"


def _tle_line(body: str) -> str:
    """A TLE line with its checksum: the digits summed, each minus sign as 1, modulo 10."""
    return body + str(sum(int(c) if c.isdigit() else c == "-" for c in body) % 10)


def test_the_orbit_is_propagated_from_elements_days_old_by_the_time_since_their_epoch():
    # Elements whose epoch is 2025-12-27 16:48 UTC (day 361.7), five days but a
    # fraction before the clock's start, with drag enough that SGP4 finds the
    # satellite decayed by then: the event names the time since the epoch
    # SGP4 was asked for. Independently: python-sgp4 on the same two lines,
    # and the clock's start in UTC (TAI - 37 s, IERS Bulletin C since 2017).
    from datetime import datetime, timedelta

    from sgp4.api import Satrec, jday

    line1 = _tle_line("1 99999U 25001A   25361.70000000  .00000000  00000-0  10000-1 0  999")
    line2 = _tle_line("2 99999  97.4000 120.0000 0010000  30.0000  10.0000 16.00000000    1")
    rig = Rig(sunlit(), tle=[line1, line2], initial_mode="IDLE")
    rig.fly(0.35)
    orbit = [e for e in rig.events
             if e.apid == AdcsApp.APID and e.text.startswith("orbit propagation failed")]
    assert len(orbit) == 1
    start_utc = datetime(1958, 1, 1) + timedelta(seconds=rig.run.clock.epoch_tai_s - 37.0)
    when = start_utc + timedelta(seconds=orbit[0].time_s)
    jd, fr = jday(when.year, when.month, when.day, when.hour, when.minute,
                  when.second + when.microsecond / 1e6)
    reference = Satrec.twoline2rv(line1, line2)
    expected_min = ((jd - reference.jdsatepoch) + (fr - reference.jdsatepochF)) * 1440.0
    assert expected_min == pytest.approx(4.3 * 1440.0, abs=1.0)  # the dates above
    error, _r, _v = reference.sgp4(jd, fr)
    assert error == 6  # Vallado's SGP4 error 6: decayed
    text = orbit[0].text
    assert text.startswith("orbit propagation failed: SGP4 error 6 (")
    reported_min = float(text.rsplit(" at ", 1)[1].split(" min")[0])
    assert reported_min == pytest.approx(expected_min, abs=1e-4)  # 6 ms


def test_bdot_commands_minus_the_gain_times_the_field_rate():
    # m = -k dB/dt on the sampled field (filter weight 1: the newest sample
    # alone), with a gain small enough that no axis saturates
    names = [p.name for p in AdcsApp.PARAMETERS]
    rig = Rig(sunlit(w0_body_deg_s=(6.0, -4.0, 3.0)))
    rig.command(1, SET_PARAMETER, index=names.index("bdot_gain"), value=2e3)
    rig.command(2, SET_PARAMETER, index=names.index("filter_alpha"), value=1.0)
    rig.fly(2.0)
    b = np.array([s["b_body_t"] for s in rig.states[-5:]])
    dipole = np.array([s["dipole_cmd_am2"] for s in rig.states[-4:]])
    expected = -2e3 * np.diff(b, axis=0) / 0.1
    assert np.max(np.abs(dipole)) < 0.2
    assert np.allclose(dipole, expected, rtol=0.02, atol=1e-5)


def test_a_new_gains_table_is_taken_in_the_mode_flown():
    # docs: activated at the safe point; the cycle is rebuilt with the new
    # gains in the same mode
    rig = Rig(sunlit())
    rig.command(3, SET_MODE, mode=int(AdcsMode.SUN))
    rig.fly(0.5)
    tables = rig.run.executive.context.tables
    content = dict(tables.get("adcs_gains").active, pointing_damping=1.2)
    tables.load("adcs_gains", json.dumps(content).encode())
    tables.validate("adcs_gains")
    tables.activate("adcs_gains")
    rig.fly(0.5)
    assert tables.get("adcs_gains").active["pointing_damping"] == 1.2
    assert rig.app.gains["pointing_damping"] == 1.2
    assert rig.app.cycle.mode == AdcsMode.SUN and rig.states[-1]["mode"] == AdcsMode.SUN


def test_a_heavier_spacecraft_gets_proportionally_more_torque():
    # Euler: the same motion of a body twice as heavy takes twice the torque;
    # the pointing law's gains come from a bandwidth, so the heavier twin,
    # configured with its inertia, flies the same slew on twice the torques
    inertia = np.array([[0.033, 0.0005, 0.0], [0.0005, 0.034, 0.0], [0.0, 0.0, 0.0067]])
    half = math.radians(10.0)
    torques = []
    for scale in (1.0, 2.0):
        rig = Rig(Scenario(raan_deg=101.0, mean_anomaly_deg=300.0, sensor_noise=False,
                           w0_body_deg_s=(0.0, 0.0, 0.0),
                           q0_body_eci=(math.cos(half), 0.0, math.sin(half), 0.0),
                           model=SpacecraftModel(inertia_kgm2=scale * inertia)),
                  initial_mode="SUN", inertia_kgm2=(scale * inertia).tolist())
        rig.fly(5.0)
        torques.append(np.array([s["wheel_torque_cmd_nm"] for s in rig.states]))
    largest = np.max(np.abs(torques[0]))
    assert largest > 5e-5
    assert np.allclose(torques[1], 2.0 * torques[0], rtol=0.05, atol=0.02 * largest)


def test_slews_keep_to_the_configured_rate_limit():
    # pointing.max_slew_rate_deg_s: a half-turn slew builds up to that body
    # rate and holds it, no faster
    rig = Rig(sunlit(q0_body_eci=(0.0, 0.0, 0.0, 1.0)), initial_mode="SUN",
              pointing={"bandwidth_rad_s": 0.1, "damping": 0.9, "max_slew_rate_deg_s": 0.5,
                        "desat_gain_per_s": 0.005})
    rig.fly(60.0)
    rate_deg_s = np.degrees([np.linalg.norm(s["gyro_rad_s"]) for s in rig.states])
    assert 0.45 < rate_deg_s.max() < 0.55
    assert rate_deg_s[-50:].min() > 0.45  # still slewing at the limit


def test_stopping_the_app_switches_torquers_and_wheels_off():
    rig = Rig(sunlit(w0_body_deg_s=(10.0, 10.0, 10.0)))
    rig.fly(1.0)
    assert np.any(rig.run.emulators.magnetorquer.dipole_now_am2 != 0)
    rig.run.executive.shutdown()
    assert np.allclose(rig.run.emulators.magnetorquer.dipole_now_am2, 0.0)
    # in a slew the wheels are under torque until the app stops
    half = math.radians(45.0)
    rig = Rig(sunlit(q0_body_eci=(math.cos(half), 0.0, 0.0, math.sin(half))), initial_mode="SUN")
    rig.fly(3.0)
    assert any(w.commanded_torque_nm != 0.0 for w in rig.run.emulators.wheels)
    rig.run.executive.shutdown()
    assert np.allclose(rig.run.emulators.magnetorquer.dipole_now_am2, 0.0)
    assert [w.commanded_torque_nm for w in rig.run.emulators.wheels] == [0.0] * 4


def test_device_health_reports_every_driver_once_per_housekeeping_cycle():
    rig = Rig(sunlit())
    rig.fly(2.5)  # housekeeping at 1 Hz: at 0, 1 and 2 s
    reports = [DEVICE_HEALTH.unpack(p) for _, p in rig.pipes["health"].drain()]
    # the reference hardware: magnetometer, magnetorquer, gyro, the sun
    # sensors' two ADCs and four wheels, reported magnetometer first
    labels = [label for label, _ in rig.app.health_sources]
    assert labels[:3] == ["magnetometer", "magnetorquer", "gyro"]
    assert sum(label.startswith("wheels[") for label in labels) == 4
    assert sum(label.startswith("sun_sensors") for label in labels) == 2
    per_cycle = len(labels)
    assert [r["device"] for r in reports] == list(range(per_cycle)) * 3
    # the magnetometer is read ten times a second, and none failed
    first, last = reports[0], reports[2 * per_cycle]
    assert last["transactions"] - first["transactions"] >= 20
    assert last["failures"] == 0


def test_a_silent_wheel_clears_its_bit_and_is_reported_by_name():
    rig = Rig(sunlit(), initial_mode="SUN")
    rig.fly(0.5)
    rig.run.emulators.wheels[2].inject_fault("timeout")
    rig.fly(2.0)
    assert rig.states[-1]["sensors_ok"] == 0b0111
    assert "a wheel did not report its speed (1)" in rig.texts()
    assert rig.app.housekeeping_values()["sensor_faults"] >= 1


def test_failed_torquer_commands_are_counted_and_reported():
    rig = Rig(sunlit(w0_body_deg_s=(10.0, 10.0, 10.0)))
    rig.fly(0.5)
    rig.run.emulators.magnetorquer.inject_fault("nack")
    rig.fly(1.0)
    faults = rig.app.housekeeping_values()["actuator_faults"]
    assert faults >= 9
    assert "actuator command failed (1): ISIS iMTQ, bus i2c0, address 0x10: no acknowledge" in \
        rig.texts()
    assert rig.app.state.name == "RUNNING"


def test_a_stuck_wheel_is_declared_failed_under_torque_and_the_operator_clears_it():
    # a slew of 90 degrees about the body z axis from the sun-pointing
    # attitude drives the wheels steadily; wheel 3 lies on z
    half = math.radians(45.0)
    rig = Rig(sunlit(q0_body_eci=(math.cos(half), 0.0, 0.0, math.sin(half))), initial_mode="SUN")
    healthy = Rig(sunlit(q0_body_eci=(math.cos(half), 0.0, 0.0, math.sin(half))),
                  initial_mode="SUN")
    rig.run.emulators.wheels[2].inject_fault("stuck")
    rig.fly(30.0, until=lambda: rig.app.wheels_failed != 0)
    healthy.fly(30.0)
    assert rig.app.wheels_failed == 0b100
    assert any(t.startswith("wheel 3 failed: +0.00 rad/s under torque that should give")
               for t in rig.texts())
    assert healthy.app.wheels_failed == 0
    assert not any("failed" in t for t in healthy.texts())
    rig.command(9, RESET_WHEEL_CHECK)
    rig.fly(0.2)
    assert rig.app.housekeeping_values()["wheels_failed"] == 0


def test_a_stuck_wheel_is_found_whichever_way_it_is_driven():
    # the opposite slew drives wheel 3 the other way
    half = math.radians(-45.0)
    rig = Rig(sunlit(q0_body_eci=(math.cos(half), 0.0, 0.0, math.sin(half))), initial_mode="SUN")
    rig.run.emulators.wheels[2].inject_fault("stuck")
    rig.fly(30.0, until=lambda: rig.app.wheels_failed != 0)
    assert rig.app.wheels_failed == 0b100
    assert any(t.startswith("wheel 3 failed: +0.00 rad/s under torque that should give -")
               for t in rig.texts())


def test_the_gains_table_starts_from_the_configured_pointing_loop():
    # docs: the default adcs_gains table is built from the configuration's
    # parameters and pointing section
    pointing = {"bandwidth_rad_s": 0.2, "damping": 0.7, "max_slew_rate_deg_s": 2.0,
                "desat_gain_per_s": 0.01}
    rig = Rig(sunlit(), pointing=pointing)
    active = rig.run.executive.context.tables.get("adcs_gains").active
    assert {k: active[k] for k in ("pointing_bandwidth_rad_s", "pointing_damping",
                                   "max_slew_rate_deg_s", "desat_gain_per_s")} == {
        "pointing_bandwidth_rad_s": 0.2, "pointing_damping": 0.7, "max_slew_rate_deg_s": 2.0,
        "desat_gain_per_s": 0.01}
    assert (active["bdot_gain"], active["dipole_limit_am2"]) == (2e5, pytest.approx(0.2))


def test_wheels_of_another_size_are_flown_by_their_configuration():
    # Wheels twice the reference's inertia (3e-5 kg m^2), their torque limited
    # to 0.02 mN m by configuration: no command exceeds that, and a stuck
    # wheel's expected speed change is the commanded torque x time / inertia.
    reference = SpacecraftModel().wheels
    model = SpacecraftModel(wheels=tuple(
        Wheel(w.axis_body, inertia_kgm2=3e-5, max_torque_nm=1e-3, max_speed_rad_s=628.3)
        for w in reference))
    wheels = {"axes_body": [list(w.axis_body) for w in reference], "inertia_kgm2": 3e-5,
              "max_torque_nm": 2e-5, "max_speed_rad_s": 400.0}
    half = math.radians(45.0)
    rig = Rig(Scenario(raan_deg=101.0, mean_anomaly_deg=300.0, sensor_noise=False,
                       w0_body_deg_s=(0.0, 0.0, 0.0), model=model,
                       q0_body_eci=(math.cos(half), 0.0, 0.0, math.sin(half))),
              initial_mode="SUN", wheels=wheels)
    rig.run.emulators.wheels[2].inject_fault("stuck")
    rig.fly(30.0, until=lambda: rig.app.wheels_failed != 0)
    assert rig.app.wheels_failed == 0b100
    torques = np.array([s["wheel_torque_cmd_nm"] for s in rig.states])
    # the slew asks for more: the split is scaled down to the limit
    assert np.max(np.abs(torques)) == pytest.approx(2e-5, rel=1e-3)
    text = next(t for t in rig.texts() if t.startswith("wheel 3 failed"))
    expected = float(text.split("should give ")[1].split()[0])
    # 19 cycles of 0.1 s under the commands before the check: tau x t / J
    commanded = torques[-20:-1, 2].sum() * 0.1 / 3e-5
    assert expected == pytest.approx(commanded, rel=0.15)


def test_the_loop_runs_at_the_configured_rate():
    # at 5 Hz: B-dot differentiates over 0.2 s, the torquers are commanded for
    # 1.5 cycles (0.3 s), and each cycle in sunlight without a sun
    # measurement counts 0.2 s
    names = [p.name for p in AdcsApp.PARAMETERS]
    rig = Rig(sunlit(w0_body_deg_s=(6.0, -4.0, 3.0),
                     model=SpacecraftModel(has_sun_sensors=False)),
              rate_hz=5, executive_hz=(5, 1))
    rig.command(1, SET_PARAMETER, index=names.index("bdot_gain"), value=2e3)
    rig.command(2, SET_PARAMETER, index=names.index("filter_alpha"), value=1.0)
    rig.fly(2.0)
    assert [s["time_s"] for s in rig.states[:3]] == pytest.approx([0.0, 0.2, 0.4])
    b = np.array([s["b_body_t"] for s in rig.states[-4:]])
    dipole = np.array([s["dipole_cmd_am2"] for s in rig.states[-3:]])
    assert np.allclose(dipole, -2e3 * np.diff(b, axis=0) / 0.2, rtol=0.02, atol=1e-5)
    assert rig.app.housekeeping_values()["s_without_sun"] == pytest.approx(2.0, abs=0.21)
    mtq = rig.run.emulators.magnetorquer
    assert np.any(mtq.dipole_now_am2 != 0)
    mtq.advance(rig.run.clock.now() + 0.05)  # the last command still holds...
    assert np.any(mtq.dipole_now_am2 != 0)
    mtq.advance(rig.run.clock.now() + 0.2)  # ...1.5 cycles from when it was given
    assert np.allclose(mtq.dipole_now_am2, 0.0)


def test_torquer_commands_last_one_and_a_half_cycles():
    # docs: torquers are commanded for 1.5 cycles at a time (0.15 s at 10 Hz),
    # so they switch themselves off if the app stops
    rig = Rig(sunlit(w0_body_deg_s=(10.0, 10.0, 10.0)))
    rig.fly(1.0)
    last_command_s = rig.states[-1]["time_s"]
    mtq = rig.run.emulators.magnetorquer
    mtq.advance(last_command_s + 0.14)
    assert np.any(mtq.dipole_now_am2 != 0)
    mtq.advance(last_command_s + 0.16)
    assert np.allclose(mtq.dipole_now_am2, 0.0)


def test_a_dead_magnetometer_from_boot_still_publishes_state():
    rig = Rig(sunlit(), initial_mode="IDLE")
    rig.run.emulators.magnetometer.inject_fault("nack")
    rig.fly(1.0)
    assert rig.app.state.name == "RUNNING" and len(rig.states) == 10
    assert rig.states[-1]["b_body_t"] == (0.0, 0.0, 0.0)
    assert rig.states[-1]["sensors_ok"] & 1 == 0


def test_gyro_and_sun_sensor_faults_are_named_and_clear_their_bits():
    rig = Rig(sunlit(), initial_mode="SUN")
    rig.run.emulators.gyro.inject_fault("nack")
    rig.run.emulators.sun_adc_a.inject_fault("nack")
    rig.fly(0.5)
    assert rig.states[-1]["sensors_ok"] == 0b1001  # magnetometer and wheels only
    assert rig.states[-1]["gyro_rad_s"] == (0.0, 0.0, 0.0)  # no measurement: zero
    assert rig.states[-1]["sun_body"] == (0.0, 0.0, 0.0)
    texts = rig.texts()
    assert any(t.startswith("gyro read failed: ST L3GD20H") for t in texts)
    assert "sun_sensors read failed: TI ADS1115, bus i2c0, address 0x48: no acknowledge (1)" \
        in texts
    assert rig.app.housekeeping_values()["sensor_faults"] == 10


def test_a_silent_wheel_is_not_taken_for_a_stuck_one():
    # a wheel that does not answer reads no speed: the check judges only
    # cycles with every speed measured
    half = math.radians(45.0)
    rig = Rig(sunlit(q0_body_eci=(math.cos(half), 0.0, 0.0, math.sin(half))), initial_mode="SUN")
    rig.fly(1.0)
    rig.run.emulators.wheels[2].inject_fault("timeout")
    rig.fly(10.0)
    assert rig.app.wheels_failed == 0
    assert not any(t.startswith("wheel 3 failed") for t in rig.texts())


def test_two_stuck_wheels_are_both_declared_and_each_once():
    half = math.radians(45.0)
    rig = Rig(sunlit(q0_body_eci=(math.cos(half), 0.0, 0.0, math.sin(half))), initial_mode="SUN")
    rig.run.emulators.wheels[2].inject_fault("stuck")
    rig.fly(30.0, until=lambda: rig.app.wheels_failed != 0)
    rig.run.emulators.wheels[3].inject_fault("stuck")
    rig.fly(30.0, until=lambda: rig.app.wheels_failed == 0b1100)
    rig.fly(5.0)
    assert rig.app.wheels_failed == 0b1100
    failed = [t.split(":")[0] for t in rig.texts() if " failed: " in t and t.startswith("wheel")]
    assert failed == ["wheel 3 failed", "wheel 4 failed"]


def test_detumble_exit_follows_the_rate_the_hold_and_the_mode():
    names = [p.name for p in AdcsApp.PARAMETERS]
    # rates above the threshold first (0.05 deg/s), then a threshold above
    # them: the hold counts from then, 5 s
    rig = Rig(sunlit(w0_body_deg_s=(0.1, 0.1, 0.1)), detumble_exit_rate_deg_s=0.05,
              detumble_exit_hold_s=5.0)
    rig.fly(3.0)
    assert rig.app.cycle.mode == AdcsMode.DETUMBLE
    rig.command(1, SET_PARAMETER, index=names.index("detumble_exit_rate_deg_s"), value=0.5)
    rig.fly(20.0, until=lambda: rig.app.cycle.mode == AdcsMode.SUN)
    assert 8.0 <= rig.run.clock.now() < 11.0
    # commanded back into DETUMBLE, it hands over again after another hold
    rig.command(2, SET_MODE, mode=int(AdcsMode.DETUMBLE))
    rig.fly(1.0)
    assert rig.app.cycle.mode == AdcsMode.DETUMBLE
    rig.fly(20.0, until=lambda: rig.app.cycle.mode == AdcsMode.SUN)
    assert rig.app.cycle.mode == AdcsMode.SUN
    # a pointing mode is never left by the detumble rule
    nadir = Rig(sunlit(w0_body_deg_s=(0.1, 0.1, 0.1)), detumble_exit_rate_deg_s=0.5,
                detumble_exit_hold_s=1.0, initial_mode="NADIR")
    nadir.fly(5.0)
    assert nadir.app.cycle.mode == AdcsMode.NADIR
    # a spin about z alone counts fully in the rate
    spin = Rig(sunlit(w0_body_deg_s=(0.0, 0.0, 0.3)), detumble_exit_rate_deg_s=0.2,
               detumble_exit_hold_s=1.0)
    spin.fly(5.0)
    assert spin.app.cycle.mode == AdcsMode.DETUMBLE and spin.app.state.name == "RUNNING"


def test_the_configured_damping_reaches_the_pointing_law():
    half = math.radians(10.0)
    torques = []
    for damping in (0.5, 1.5):
        rig = Rig(sunlit(q0_body_eci=(math.cos(half), 0.0, math.sin(half), 0.0)),
                  initial_mode="SUN",
                  pointing={"bandwidth_rad_s": 0.1, "damping": damping,
                            "max_slew_rate_deg_s": 1.5, "desat_gain_per_s": 0.005})
        rig.fly(5.0)
        torques.append(np.array([s["wheel_torque_cmd_nm"] for s in rig.states]))
    assert not np.allclose(torques[0], torques[1], rtol=0.05)


def test_the_gains_table_defaults_without_a_pointing_section():
    # docs/autonomy.md: bandwidth 0.1 rad/s, damping 0.9, 1.5 deg/s, 0.005 /s
    rig = Rig(sunlit(), pointing={})
    active = rig.run.executive.context.tables.get("adcs_gains").active
    assert (active["pointing_bandwidth_rad_s"], active["pointing_damping"],
            active["max_slew_rate_deg_s"], active["desat_gain_per_s"]) == (0.1, 0.9, 1.5, 0.005)


def test_housekeeping_before_the_first_cycle_and_while_pointing():
    half = math.radians(20.0)
    rig = Rig(sunlit(q0_body_eci=(math.cos(half), 0.0, 0.0, math.sin(half))), initial_mode="SUN")
    hk = rig.app.housekeeping_values()
    assert (hk["status"], hk["pointing_error_deg"], hk["cycles"]) == (0, 0.0, 0)  # no cycle yet
    rig.fly(2.0)
    hk = rig.app.housekeeping_values()
    assert hk["pointing_error_deg"] > 1.0
    assert hk["pointing_error_deg"] == pytest.approx(rig.states[-1]["pointing_error_deg"],
                                                     rel=1e-6)


def test_gains_table_refuses_missing_keys_and_values_out_of_range():
    good = {"bdot_gain": 2e5, "filter_alpha": 0.5, "dipole_limit_am2": 0.2,
            "pointing_bandwidth_rad_s": 0.1, "pointing_damping": 0.9,
            "max_slew_rate_deg_s": 1.5, "desat_gain_per_s": 0.005}
    assert validate_gains(good) == []
    missing = validate_gains({k: v for k, v in good.items() if k != "pointing_damping"})
    assert missing and all("pointing_damping" in problem for problem in missing)
    # a negative gain would pump energy in; a torquer limit of 5 A m^2 is
    # beyond the iMTQ
    wrong = validate_gains({**good, "bdot_gain": -1.0, "dipole_limit_am2": 5.0})
    assert len(wrong) == 2
    assert "bdot_gain" in wrong[0] and "dipole_limit_am2" in wrong[1]


def test_wheels_configured_by_their_axes_alone_are_the_reference_wheels():
    # docs: `wheels` without inertia or torque limit: the reference wheel,
    # 1.5e-5 kg m^2 and 1 mN m (the emulated CubeWheel's limit, docs/hal.md).
    # A stiff loop asks far more than 1 mN m of a 90 degree slew: every command
    # stops at the limit, on both wheel sets alike.
    axes = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.57735027, 0.57735027, 0.57735027]]
    stiff = {"bandwidth_rad_s": 1.0, "damping": 0.9, "max_slew_rate_deg_s": 10.0,
             "desat_gain_per_s": 0.005}
    half = math.radians(45.0)
    runs = []
    for wheels in ({"axes_body": axes},
                   {"axes_body": axes, "inertia_kgm2": 1.5e-5, "max_torque_nm": 1e-3}):
        rig = Rig(sunlit(q0_body_eci=(math.cos(half), 0.0, 0.0, math.sin(half))),
                  initial_mode="SUN", wheels=wheels, pointing=stiff)
        rig.fly(3.0)
        runs.append(np.array([s["wheel_torque_cmd_nm"] for s in rig.states]))
    assert np.max(np.abs(runs[0])) == pytest.approx(1e-3, rel=1e-6)
    assert np.array_equal(runs[0], runs[1])


def _spun(wheel_inertia: float, speed_rad_s: float, desat_gain: float) -> Rig:
    """Sun pointing with every wheel spun to `speed_rad_s`; wheels of that inertia."""
    reference = SpacecraftModel().wheels
    model = SpacecraftModel(wheels=tuple(
        Wheel(w.axis_body, inertia_kgm2=wheel_inertia, max_torque_nm=1e-3, max_speed_rad_s=628.3)
        for w in reference))
    wheels = {"axes_body": [list(w.axis_body) for w in reference],
              "inertia_kgm2": wheel_inertia, "max_torque_nm": 1e-3}
    pointing = {"bandwidth_rad_s": 0.1, "damping": 0.9, "max_slew_rate_deg_s": 1.5,
                "desat_gain_per_s": desat_gain}
    rig = Rig(sunlit(model=model), initial_mode="SUN", wheels=wheels, pointing=pointing)
    body = rig.run.simulator.body
    for i in range(body.n_wheels):
        body._s.wheel_speed_rad_s[i] = speed_rad_s
    return rig


def test_desaturation_dumps_the_momentum_the_wheels_carry_at_the_configured_gain():
    # docs/gnc.md: magnetorquer desaturation on the wheels' momentum (inertia x
    # speed) above 2 mN m s: the same momentum in wheels of twice the inertia
    # at half the speed asks the same dipole, and twice the gain twice the dipole
    dipoles = []
    for inertia, speed, gain in ((3e-5, 100.0, 1e-4), (1.5e-5, 200.0, 1e-4),
                                 (1.5e-5, 200.0, 2e-4)):
        rig = _spun(inertia, speed, gain)
        rig.fly(0.3)
        dipoles.append(np.array(rig.states[-1]["dipole_cmd_am2"]))
    assert np.linalg.norm(dipoles[0]) > 1e-3
    assert np.max(np.abs(dipoles[2])) < 0.2  # not saturated
    assert np.allclose(dipoles[0], dipoles[1], rtol=0.02, atol=1e-5)
    assert np.allclose(dipoles[2], 2.0 * dipoles[1], rtol=0.02, atol=1e-5)


def test_a_threshold_set_while_detumbling_hands_over_once_the_rate_has_stayed_low():
    # detumbling with the rule off (threshold 0), then the ground sets 0.5 deg/s
    rig = Rig(sunlit(w0_body_deg_s=(0.1, 0.1, 0.1)), detumble_exit_rate_deg_s=0.0,
              detumble_exit_hold_s=2.0)
    rig.fly(1.0)
    index = [p.name for p in AdcsApp.PARAMETERS].index("detumble_exit_rate_deg_s")
    rig.command(3, SET_PARAMETER, index=index, value=0.5)
    rig.fly(10.0, until=lambda: rig.app.cycle.mode == AdcsMode.SUN)
    assert rig.app.cycle.mode == AdcsMode.SUN and rig.app.state.name == "RUNNING"
    assert "mode DETUMBLE -> SUN: rates low: detumble complete" in rig.texts()


def test_without_a_valid_estimate_detumbling_goes_on_however_slow_it_seems():
    # neither gyro nor magnetometer answers: the estimate is not valid, and the
    # rule judges only a valid one
    rig = Rig(sunlit(w0_body_deg_s=(0.1, 0.1, 0.1)), detumble_exit_rate_deg_s=0.5,
              detumble_exit_hold_s=1.0)
    rig.run.emulators.gyro.inject_fault("nack")
    rig.run.emulators.magnetometer.inject_fault("nack")
    rig.fly(6.0)
    assert not any(s["status"] & Status.EST_VALID for s in rig.states)
    assert rig.app.cycle.mode == AdcsMode.DETUMBLE


def test_the_hand_over_comes_exactly_the_hold_after_the_rate_first_read_low():
    # at 8 Hz every time is a short binary fraction: the rate first reads low
    # at some cycle, and the switch comes 1 s (8 cycles) later, not a cycle after
    rig = Rig(sunlit(w0_body_deg_s=(0.1, 0.1, 0.1)), detumble_exit_rate_deg_s=0.5,
              detumble_exit_hold_s=1.0, rate_hz=8, executive_hz=(8, 1))
    rig.fly(10.0, until=lambda: rig.app.cycle.mode == AdcsMode.SUN)
    low = [bool(s["status"] & Status.EST_VALID)
           and math.degrees(float(np.linalg.norm(s["w_body_rad_s"]))) < 0.5 for s in rig.states]
    first_low = low.index(True)
    assert all(low[first_low:])
    switched = next(i for i, s in enumerate(rig.states) if s["mode"] == AdcsMode.SUN)
    assert rig.states[switched]["time_s"] - rig.states[first_low]["time_s"] == 1.0



def test_a_three_wheel_set_fills_the_fourth_slot_of_the_state_with_zero():
    # AdcsState carries four wheel torques; a three-wheel spacecraft's fourth reads 0
    from fsw.apps.adcs.app import _four
    assert _four(np.array([1e-4, -2e-4, 3e-4])) == [1e-4, -2e-4, 3e-4, 0.0]
    assert _four(np.array([1e-4, -2e-4, 3e-4, -4e-4])) == [1e-4, -2e-4, 3e-4, -4e-4]
