"""PNI RM3100 driver against its register-level emulator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hal
from hal.devices.rm3100 import RM3100, gain_lsb_per_ut
from hal.sim import ScriptedTarget, SimI2C
from hal.sim.rm3100 import RM3100Emulator

field_ut = st.floats(-800.0, 800.0, allow_nan=False)


def rig(**emu_kwargs):
    bus = SimI2C("i2c0")
    emu = RM3100Emulator(**emu_kwargs)
    bus.attach(0x20, emu)
    return bus, emu, RM3100(bus)


def test_reads_the_truth_field_in_tesla():
    _, emu, mag = rig()
    emu.set_field([21.5e-6, -4.2e-6, 40.0e-6])
    b = mag.read_field_t()
    assert b.shape == (3,)
    lsb_t = 1e-6 / gain_lsb_per_ut(200)
    assert np.allclose(b, [21.5e-6, -4.2e-6, 40.0e-6], atol=lsb_t / 2 + 1e-15)
    assert mag.health.transactions >= 3 and mag.health.error_count == 0


@given(st.tuples(field_ut, field_ut, field_ut), st.sampled_from([50, 100, 200, 400]))
def test_quantised_to_one_count_at_any_cycle_count(b_ut, cc):
    bus = SimI2C("i2c0")
    emu = RM3100Emulator()
    bus.attach(0x20, emu)
    mag = RM3100(bus, cycle_count=cc)
    emu.set_field(np.array(b_ut) * 1e-6)
    b = mag.read_field_t()
    lsb_t = 1e-6 / gain_lsb_per_ut(cc)
    assert np.all(np.abs(b - np.array(b_ut) * 1e-6) <= lsb_t / 2 + 1e-12)
    # Readings are whole counts.
    counts = b / lsb_t
    assert np.allclose(counts, np.rint(counts), atol=1e-6)


def test_saturates_at_the_parts_range():
    _, emu, mag = rig()
    emu.set_field([2e-3, -5e-3, 100e-6])
    b = mag.read_field_t()
    assert b[0] == pytest.approx(800e-6, abs=2e-8)
    assert b[1] == pytest.approx(-800e-6, abs=2e-8)
    assert b[2] == pytest.approx(100e-6, abs=2e-8)


def test_noise_and_bias_are_seeded_and_shaped():
    def readings(seed):
        _, emu, mag = rig(noise_t=15e-9, bias_t=(1e-6, 0, -2e-6), seed=seed)
        out = []
        for _ in range(400):
            emu.set_field([10e-6, 10e-6, 10e-6])  # one conversion per step
            out.append(mag.read_field_t())
        return np.array(out)

    a = readings(7)
    assert np.array_equal(a, readings(7))
    assert not np.array_equal(a, readings(8))
    mean = a.mean(axis=0)
    assert np.allclose(mean, [11e-6, 10e-6, 8e-6], atol=3e-9)
    assert 10e-9 < a[:, 1].std() < 20e-9


def test_wrong_part_raises_device_id_naming_part_and_address():
    bus = SimI2C("i2c2")
    bus.attach(0x20, ScriptedTarget([b"\x33"]))
    with pytest.raises(hal.DeviceIdError) as info:
        RM3100(bus)
    text = str(info.value)
    assert "RM3100" in text and "i2c2" in text and "0x20" in text and "0x33" in text


def test_absent_part_raises_device_id_naming_part_and_address():
    bus = SimI2C("i2c1")
    with pytest.raises(hal.DeviceIdError) as info:
        RM3100(bus, address=0x21)
    assert "RM3100" in str(info.value) and "i2c1" in str(info.value)
    assert "0x21" in str(info.value) and "no answer" in str(info.value)


def test_nack_after_init_is_retried_then_reported_with_counters():
    bus, emu, _ = rig()
    # Both retries, whatever the load: the 20 ms wall-time budget would let a process
    # held off the CPU between two tries give up after one.
    mag = RM3100(bus, budget_s=3600.0)
    emu.set_field([1e-6, 2e-6, 3e-6])
    emu.inject_fault("nack")
    with pytest.raises(hal.NackError) as info:
        mag.read_field_t()
    assert "PNI RM3100" in str(info.value) and "0x20" in str(info.value)
    h = mag.health.snapshot()
    assert h["retries"] == 2 and h["errors"]["nack"] == 3 and h["failures"] == 1
    assert "no acknowledge" in h["last_error"]
    emu.clear_faults()
    assert np.allclose(mag.read_field_t(), [1e-6, 2e-6, 3e-6], atol=1e-8)


def test_stuck_sensor_repeats_its_last_value():
    _, emu, mag = rig()
    emu.set_field([5e-6, 0, 0])
    first = mag.read_field_t()
    emu.inject_fault("stuck")
    emu.set_field([50e-6, 0, 0])
    assert np.array_equal(mag.read_field_t(), first)
    emu.clear_faults()
    emu.set_field([50e-6, 0, 0])
    assert mag.read_field_t()[0] == pytest.approx(50e-6, abs=2e-8)


def test_brownout_restores_defaults_and_driver_sees_it_through():
    _, emu, mag = rig()
    emu.set_field([0, 30e-6, 0])
    emu.inject_fault("brownout", duration_s=0.1)
    with pytest.raises(hal.NackError):
        mag.read_field_t()
    emu.advance(0.2)
    # The reset left continuous mode: the first read is stale (reset
    # registers), the second finds CMM lost, restores it and reads fresh data.
    assert mag.read_field_t()[1] == 0.0 and not mag.data_was_new
    assert mag.read_field_t()[1] == pytest.approx(30e-6, abs=2e-8)
    assert mag.data_was_new and mag.health.recoveries == 1


def test_drdy_never_rising_is_a_bounded_timeout():
    bus = SimI2C("i2c0")
    # REVID ok, then every STATUS read says not ready.
    bus.attach(0x20, ScriptedTarget([b"\x22"], fill=0x00))
    mag = RM3100(bus, mode="poll", drdy_polls=3)
    with pytest.raises(hal.BusTimeoutError) as info:
        mag.read_field_t()
    assert "DRDY" in str(info.value)


@pytest.mark.parametrize(("mode", "cmm", "writes"), [
    ("poll", b"\x01\x00", [b"\x00\x70", b"\xb4", b"\xa4"]),
    ("cmm", b"\x01\x71", [b"\xb4", b"\xa4"])])
def test_bytes_on_the_wire_and_read_bit(mode, cmm, writes):
    bus = SimI2C("i2c0")
    target = ScriptedTarget([b"\x22", b"\x80", bytes(9)])
    bus.attach(0x20, target)
    RM3100(bus, mode=mode).read_field_t()
    assert target.written[0] == b"\xb6"  # REVID with the read bit
    assert target.written[1] == b"\x04\x00\xc8\x00\xc8\x00\xc8"
    assert target.written[2] == cmm
    assert target.written[3:] == writes


def test_continuous_mode_flags_repeated_data():
    _, emu, mag = rig()
    emu.set_field([1e-6, 0, 0])
    assert mag.read_field_t()[0] == pytest.approx(1e-6, abs=2e-8) and mag.data_was_new
    assert mag.read_field_t()[0] == pytest.approx(1e-6, abs=2e-8)
    assert not mag.data_was_new  # no conversion since the last read


@settings(max_examples=300)
@given(st.binary(min_size=0, max_size=12), st.binary(min_size=0, max_size=12))
def test_malformed_replies_raise_only_hal_errors(status, results):
    bus = SimI2C("i2c0")
    bus.attach(0x20, ScriptedTarget([b"\x22", status, results], fill=0xFF))
    mag = RM3100(bus, mode="poll", drdy_polls=1)
    try:
        b = mag.read_field_t()
    except hal.HalError as exc:
        assert exc.reason and exc.device == "PNI RM3100"
    else:
        assert np.all(np.abs(b) <= 1.25 * 800e-6)
