"""ST L3GD20H gyro driver against its emulator, on I2C and on SPI."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hal
from hal.devices.l3gd20h import L3GD20H
from hal.sim import ScriptedTarget, SimI2C
from hal.sim.l3gd20h import L3GD20HEmulator
from hal.sim.spi import SimSPI

rate = st.floats(-4.0, 4.0, allow_nan=False)  # rad/s, within 245 dps


def on_i2c(**kw):
    bus = SimI2C("i2c0")
    emu = L3GD20HEmulator(**kw)
    bus.attach(0x6B, emu)
    return emu, L3GD20H(bus)


def on_spi(**kw):
    bus = SimSPI("spi0")
    emu = L3GD20HEmulator(**kw)
    bus.attach(1, emu)
    return emu, L3GD20H(bus, 1)


@pytest.mark.parametrize("rig", [on_i2c, on_spi])
@given(w=st.tuples(rate, rate, rate))
def test_rate_round_trips_within_half_a_count(rig, w):
    emu, gyro = rig()
    emu.set_rate(w)
    lsb = np.deg2rad(8.75e-3)
    assert np.all(np.abs(gyro.read_rate_rad_s() - np.array(w)) <= lsb / 2 + 1e-12)


@pytest.mark.parametrize(("fs", "lsb_dps"), [(245, 8.75e-3), (500, 17.5e-3), (2000, 70e-3)])
def test_full_scale_sets_sensitivity_and_saturation(fs, lsb_dps):
    bus = SimI2C("i2c0")
    emu = L3GD20HEmulator()
    bus.attach(0x6B, emu)
    gyro = L3GD20H(bus, full_scale_dps=fs)
    emu.set_rate([np.deg2rad(100.0), np.deg2rad(-3 * fs), 0.0])
    w = np.rad2deg(gyro.read_rate_rad_s())
    assert w[0] == pytest.approx(100.0, abs=lsb_dps / 2)
    assert w[1] == pytest.approx(-32768 * lsb_dps)  # int16 limit of the output register


def test_powered_down_part_does_not_update_until_configured():
    bus = SimI2C("i2c0")
    emu = L3GD20HEmulator()
    bus.attach(0x6B, emu)
    emu.set_rate([1.0, 1.0, 1.0])  # before the driver powers it up
    gyro = L3GD20H(bus)
    assert np.array_equal(gyro.read_rate_rad_s(), np.zeros(3))
    emu.set_rate([1.0, 1.0, 1.0])
    assert gyro.read_rate_rad_s() == pytest.approx(np.ones(3), abs=1e-3)


def test_noise_and_bias_statistics_are_seeded():
    emu, gyro = on_i2c(noise_rad_s=1e-3, bias_rad_s=(2e-3, 0, -1e-3), seed=3)
    samples = []
    for _ in range(500):
        emu.set_rate([0.01, 0.02, 0.03])
        samples.append(gyro.read_rate_rad_s())
    s = np.array(samples)
    assert np.allclose(s.mean(axis=0), [0.012, 0.02, 0.029], atol=2e-4)
    assert 0.8e-3 < s[:, 0].std() < 1.2e-3


def test_brownout_loses_configuration_and_driver_restores_it():
    emu, gyro = on_i2c()
    emu.set_rate([0.5, 0, 0])
    assert gyro.check_configuration()
    emu.inject_fault("brownout")
    emu.set_rate([0.5, 0, 0])
    assert np.array_equal(gyro.read_rate_rad_s(), np.zeros(3))  # powered down: stale
    assert not gyro.check_configuration()
    emu.set_rate([0.5, 0, 0])
    assert gyro.read_rate_rad_s()[0] == pytest.approx(0.5, abs=1e-3)


def test_stuck_gyro_repeats_and_nack_is_reported_by_health():
    emu, gyro = on_i2c()
    emu.set_rate([0.1, 0.1, 0.1])
    first = gyro.read_rate_rad_s()
    emu.inject_fault("stuck")
    emu.set_rate([0.9, 0.9, 0.9])
    assert np.array_equal(gyro.read_rate_rad_s(), first)
    emu.clear_faults()
    emu.inject_fault("nack")
    # Both retries, whatever the load: the 20 ms wall-time budget would let a process
    # held off the CPU between two tries give up after one.
    gyro.budget_s = 3600.0
    with pytest.raises(hal.NackError):
        gyro.read_rate_rad_s()
    assert gyro.health.errors["nack"] == 3 and gyro.health.failures == 1


def test_wrong_or_absent_part_raises_device_id_on_both_buses():
    bus = SimI2C("i2c0")
    bus.attach(0x6B, ScriptedTarget([b"\xd4"]))  # the older L3GD20
    with pytest.raises(hal.DeviceIdError) as info:
        L3GD20H(bus)
    assert "0xD4" in str(info.value) and "L3GD20H" in str(info.value)
    with pytest.raises(hal.DeviceIdError) as info:
        L3GD20H(SimSPI("spi3"), 2)  # nothing on the chip select: MISO reads 0xFF
    assert "spi3" in str(info.value) and "0xFF" in str(info.value)


def test_register_addresses_on_the_wire():
    bus = SimI2C("i2c0")
    target = ScriptedTarget([b"\xd7"], fill=0x00)
    bus.attach(0x6B, target)
    L3GD20H(bus).read_rate_rad_s()
    assert target.written[0] == b"\x0f"
    assert target.written[-1] == b"\xa7"  # STATUS then OUT_X_L.., auto-increment
    emu = L3GD20HEmulator()
    spi = SimSPI("spi0")
    spi.attach(0, emu)
    L3GD20H(spi, 0)
    rx = spi.transfer(0, b"\xe8", 6)  # read, auto-increment, OUT_X_L
    assert len(rx) == 6
    # Without auto-increment the part repeats one register.
    assert spi.transfer(0, b"\x8f", 3) == b"\xd7\xd7\xd7"


@settings(max_examples=200)
@given(st.binary(max_size=8))
def test_malformed_output_bytes_raise_only_hal_errors(reply):
    bus = SimI2C("i2c0")
    bus.attach(0x6B, ScriptedTarget([b"\xd7", reply]))
    gyro = L3GD20H(bus)
    try:
        w = gyro.read_rate_rad_s()
    except hal.DataError as exc:
        assert "0xFF" in exc.reason
    else:
        assert np.all(np.abs(w) <= np.deg2rad(32768 * 8.75e-3))


def test_new_data_flag_and_dead_spi_part():
    emu, gyro = on_spi()
    emu.set_rate([0.1, 0, 0])
    gyro.read_rate_rad_s()
    assert gyro.data_was_new
    gyro.read_rate_rad_s()
    assert not gyro.data_was_new  # no new sample since the last read
    emu.inject_fault("nack")  # on SPI: the part stops driving MISO
    with pytest.raises(hal.DataError) as info:
        gyro.read_rate_rad_s()
    assert "spi0" in str(info.value) and "stuck high" in str(info.value)
