"""Every register-level driver of the reference CubeSat under every injected
fault: only typed HAL errors come out, health counts them, and the driver
works again once the fault clears."""

from __future__ import annotations

import pytest

import hal
from hal.config import REFERENCE, build
from hal.sim.reference import reference_sim

OPS = {
    "magnetometer": lambda d: d.read_field_t(),
    "gyro": lambda d: d.read_rate_rad_s(),
    "sun_adc_a": lambda d: d.read_voltage(1),
    "magnetorquer": lambda d: d.start_dipole([0.05, 0.0, -0.05], 0.5),
    "eps": lambda d: d.housekeeping(),
}
FAULTS = ["nack", "timeout", "bit_flip", "stuck", "brownout"]
# Faults a bus can see: on SPI there is no acknowledge, a silent part reads 0xFF.
MUST_RAISE = {"nack", "timeout", "brownout"}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("name", sorted(OPS))
def test_driver_survives_fault_and_recovers(name, fault):
    buses, emus = reference_sim(seed=11)
    hw = build(REFERENCE, sim_buses=buses)
    emus.advance(0.0)
    emus.magnetometer.set_field([1e-5, 2e-5, 3e-5])
    emus.gyro.set_rate([0.1, 0.2, 0.3])
    emus.sun.set_sun([0, 0, 1], 1.0)
    dev = hw.devices[name]
    emu = getattr(emus, name)
    op = OPS[name]
    op(dev)
    emu.inject_fault(fault, rate=0.3, duration_s=1.0)
    raised = []
    for _ in range(10):
        emus.gyro.set_rate([0.1, 0.2, 0.3])
        try:
            op(dev)
        except hal.HalError as exc:
            assert exc.reason and exc.device and exc.bus in ("i2c0", "spi0")
            raised.append(exc)
    if fault in MUST_RAISE:
        assert raised, f"{fault} went unnoticed by {name}"
        assert dev.health.failures >= 1 and dev.health.last_error
    if fault == "stuck":
        assert not raised
    emu.clear_faults()
    emus.advance(2.0)
    if name == "gyro":
        dev.check_configuration()  # a brown-out powered the gyro down
        emus.gyro.set_rate([0.1, 0.2, 0.3])
    op(dev)  # works again


def _gps_rig():
    buses, emus = reference_sim(seed=5, realistic=False)
    hw = build(REFERENCE, sim_buses=buses)
    emus.gps.set_fix(10.0, 20.0, 500e3)
    emus.advance(0.0)
    emus.advance(0.5)
    gps = hw.devices["gps"]
    assert gps.poll().valid
    return emus, gps


@pytest.mark.parametrize("fault", ["nack", "timeout"])
def test_gps_that_goes_quiet_yields_no_new_fix_and_no_error(fault):
    emus, gps = _gps_rig()
    emus.gps.inject_fault(fault)
    emus.advance(5.5)
    assert gps.poll() is None and gps.health.error_count == 0
    emus.gps.clear_faults()
    emus.advance(6.5)
    assert gps.poll().valid


def test_gps_bit_flips_are_caught_by_checksums():
    emus, gps = _gps_rig()
    emus.gps.inject_fault("bit_flip", rate=0.05)
    emus.advance(20.5)
    gps.poll()
    assert gps.health.errors["checksum"] + gps.health.errors["data"] >= 5
    assert all(isinstance(e, hal.HalError) for e in gps.rejected)


def test_gps_stuck_position_and_brownout_cold_start():
    emus, gps = _gps_rig()
    emus.gps.inject_fault("stuck")
    emus.gps.set_fix(11.0, 21.0, 500e3)
    emus.advance(1.5)
    assert gps.poll().lat_deg == pytest.approx(10.0)
    emus.gps.clear_faults()
    emus.gps.cold_start_s = 10.0
    emus.gps.inject_fault("brownout", duration_s=2.0)
    emus.advance(4.5)  # power back at 3.5 s, cold start until 13.5 s
    assert not gps.poll().valid
    emus.gps.set_fix(11.0, 21.0, 500e3)
    emus.advance(14.5)
    fix = gps.poll()
    assert fix.valid and fix.lat_deg == pytest.approx(11.0)


@pytest.mark.parametrize("fault", ["nack", "timeout", "bit_flip", "stuck", "brownout"])
def test_wheels_under_faults_raise_only_typed_errors_and_recover(fault):
    buses, emus = reference_sim(seed=3)
    hw = build(REFERENCE, sim_buses=buses)
    wheels = hw.devices["wheels"]
    for e in emus.wheels:
        e.set_speed(50.0)
    emus.wheels[1].inject_fault(fault, rate=0.5, duration_s=1.0)
    failures = 0
    for _ in range(10):
        try:
            wheels.set_torques([1e-4, 1e-4, 1e-4, 1e-4])
        except hal.HalError as exc:
            assert exc.address == 2 and exc.bus == "can0"
            failures += 1
        speeds = wheels.speeds_rad_s()
        assert speeds[0] == pytest.approx(50.0) and speeds[3] == pytest.approx(50.0)
    if fault in ("nack", "timeout", "brownout"):
        assert failures == 10 and wheels.health[1].failures >= 10
    emus.wheels[1].clear_faults()
    emus.advance(2.0)
    wheels.set_torques([2e-4, 2e-4, 2e-4, 2e-4])
    assert emus.wheels[1].commanded_torque_nm == pytest.approx(2e-4)


def test_emulator_noise_is_the_seeded_generators_own_sequence():
    import numpy as np

    from hal.sim.emulator import GaussianNoise

    noise = GaussianNoise(np.random.default_rng(42), block=7)
    draws = [noise.draw() for _ in range(20)]  # across block boundaries
    assert draws == np.random.default_rng(42).standard_normal(21)[:20].tolist()
