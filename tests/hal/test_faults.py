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
