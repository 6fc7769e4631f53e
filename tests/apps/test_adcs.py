"""The ADCS app on the sim backend: B-dot commands, device faults, modes, verification."""

import numpy as np
import pytest

from fsw.apps.adcs import ADCS_STATE, AdcsApp, AdcsMode
from fsw.core import COMMAND_RESULT_MSG, AppSpec, Executive, Severity, VirtualClock, cmd_msg_id
from fsw.core.app import encode_command
from fsw.core.time import DEFAULT_EPOCH_TAI_S
from fsw.gnc.ephemeris import MeanElements
from hal.devices.imtq import IMTQ
from hal.devices.rm3100 import RM3100
from hal.sim import SimI2C
from hal.sim.imtq import IMTQEmulator
from hal.sim.rm3100 import RM3100Emulator

ORBIT = MeanElements.circular(500.0, DEFAULT_EPOCH_TAI_S).as_dict()


@pytest.fixture
def rig():
    """An executive running the ADCS app on emulated RM3100 and iMTQ parts only."""
    i2c = SimI2C("i2c0")
    mag, mtq = RM3100Emulator(seed=3), IMTQEmulator(seed=3)
    i2c.attach(0x20, mag)
    i2c.attach(0x10, mtq)
    clock = VirtualClock()
    clock.add_listener(lambda t0, t1: (mag.advance(t1), mtq.advance(t1)))
    exe = Executive(clock, rate_groups_hz=(10.0, 1.0),
                    devices={"magnetometer": RM3100(i2c, 0x20), "magnetorquer": IMTQ(i2c, 0x10)})
    exe.add_app(AppSpec("adcs", AdcsApp, 10.0, {"orbit": ORBIT}))
    assert exe.boot() == []
    states = exe.bus.create_pipe("test.adcs", 512)
    exe.bus.subscribe(states, ADCS_STATE.msg_id)
    return exe, mag, mtq, states


def rotating_field(t_s):
    """A 30 uT field turning at 0.1 rad/s about z, as seen by a tumbling body."""
    return 30e-6 * np.array([np.cos(0.1 * t_s), np.sin(0.1 * t_s), 0.2])


def test_bdot_opposes_the_field_rate_through_the_real_drivers(rig):
    exe, mag, mtq, states = rig
    for k in range(20):
        mag.set_field(rotating_field(k * 0.1))
        exe.step()
    last = ADCS_STATE.unpack(states.drain()[-1][1])
    bdot = (rotating_field(1.9) - rotating_field(1.8)) / 0.1
    applied = mtq.dipole_now_am2
    assert last["sensors_ok"] & 1 and last["mode"] == AdcsMode.DETUMBLE
    assert np.dot(applied, bdot) < 0          # m = -k dB/dt
    assert np.max(np.abs(applied)) == pytest.approx(0.2, rel=1e-3)  # saturated at the limit
    assert np.allclose(last["b_body_t"], rotating_field(1.9), atol=0.2e-6)
    assert np.allclose(last["dipole_cmd_am2"], applied, atol=1e-4)


def test_dead_magnetometer_degrades_but_never_stops_the_app(rig):
    exe, mag, mtq, states = rig
    mag.set_field(rotating_field(0))
    exe.run(1.0)
    mag.inject_fault("nack")
    exe.run(2.0)
    app = exe.apps["adcs"]
    assert app.state.name == "RUNNING"
    assert app.sensor_faults["magnetometer"] >= 19
    assert np.allclose(mtq.dipole_now_am2, 0.0)   # no stale dipole while blind
    faults = [e for e in exe.events.recent if e.apid == AdcsApp.APID]
    assert len(faults) == 1 and faults[0].severity == Severity.MEDIUM
    assert "0x20" in faults[0].text and "magnetometer" in faults[0].text
    # sensors_ok, bit 0 magnetometer, 1 gyro, 2 sun sensors, 3 wheels (the
    # dictionary): blind, and no other sensor fitted, no bit is set
    assert ADCS_STATE.unpack(states.drain()[-1][1])["sensors_ok"] == 0
    mag.clear_faults()
    for k in range(10):
        mag.set_field(rotating_field(3 + 0.1 * k))
        exe.step()
    assert ADCS_STATE.unpack(states.drain()[-1][1])["sensors_ok"] == 0b0001


def test_torquers_switch_off_when_the_app_stops_commanding(rig):
    exe, mag, mtq, _ = rig
    for k in range(10):
        mag.set_field(rotating_field(k * 0.1))
        exe.step()
    assert np.any(mtq.dipole_now_am2 != 0)
    mtq.advance(exe.clock.now() + 0.2)   # nobody refreshed the command for 0.2 s
    assert np.allclose(mtq.dipole_now_am2, 0.0)


def test_mode_command_idles_the_torquers_and_is_verified(rig):
    exe, mag, mtq, _ = rig
    results = exe.bus.create_pipe("test.results", 16)
    exe.bus.subscribe(results, COMMAND_RESULT_MSG.msg_id)
    args = AdcsApp.COMMANDS[10].args
    exe.bus.publish(cmd_msg_id(AdcsApp.APID), encode_command(77, 10, args, mode=AdcsMode.IDLE))
    for k in range(5):
        mag.set_field(rotating_field(k * 0.1))
        exe.step()
    assert exe.apps["adcs"].cycle.mode == AdcsMode.IDLE
    assert np.allclose(mtq.dipole_now_am2, 0.0)
    done = [COMMAND_RESULT_MSG.unpack(p) for _, p in results.drain()]
    assert [(r["request_id"], r["stage"], r["ok"]) for r in done] == [(77, 1, True), (77, 7, True)]
    assert any("DETUMBLE -> IDLE" in e.text for e in exe.events.recent)


def test_missing_device_or_orbit_refuses_to_boot_with_a_named_reason():
    exe = Executive(VirtualClock(), devices={})
    exe.add_app(AppSpec("adcs", AdcsApp, 10.0, {"orbit": ORBIT}))
    assert exe.boot() == ["adcs"]
    assert "magnetometer" in exe.events.recent[-2].text
    exe = Executive(VirtualClock(), devices={})
    exe.add_app(AppSpec("adcs", AdcsApp, 10.0, {"orbit": {"mean_motion_rev_day": 15.2}}))
    assert exe.boot() == ["adcs"]
    assert "epoch_tai_s" in exe.events.recent[-2].text


def test_time_in_sunlight_without_a_sun_measurement_is_counted_in_seconds(rig):
    # No sun sensors are fitted here and the orbit starts in sunlight: each
    # second of mission time is a second without a sun measurement (docs:
    # `s_without_sun`, the figure FDIR watches).
    exe, *_ = rig
    exe.run(5.0)
    assert exe.apps["adcs"].housekeeping_values()["s_without_sun"] == pytest.approx(5.0, abs=0.11)
