"""ADS1115 driver and coarse sun sensors against their emulators."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hal
from hal.devices.ads1115 import ADS1115, CoarseSunSensors, config_word
from hal.sim import ScriptedTarget, SimI2C
from hal.sim.ads1115 import ADS1115Emulator, SunSensorHeads

unit = st.tuples(*[st.floats(-1, 1, allow_nan=False)] * 3).filter(
    lambda v: np.linalg.norm(v) > 0.1).map(lambda v: np.array(v) / np.linalg.norm(v))


def rig(**heads_kw):
    bus = SimI2C("i2c1")
    e1, e2 = ADS1115Emulator(), ADS1115Emulator()
    bus.attach(0x48, e1)
    bus.attach(0x49, e2)
    wiring = [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]
    heads = SunSensorHeads([((e1, e2)[a], ch) for a, ch in wiring], **heads_kw)
    adcs = (ADS1115(bus, 0x48), ADS1115(bus, 0x49))
    css = CoarseSunSensors([(adcs[a], ch) for a, ch in wiring])
    return bus, (e1, e2), heads, adcs, css


@given(st.floats(-4.0, 4.0, allow_nan=False), st.integers(0, 3),
       st.sampled_from([6.144, 4.096, 2.048, 0.256]))
def test_adc_voltage_round_trip(v, ch, pga):
    bus = SimI2C("i2c1")
    emu = ADS1115Emulator()
    bus.attach(0x48, emu)
    adc = ADS1115(bus, 0x48, pga_v=pga)
    inputs = np.zeros(4)
    inputs[ch] = v
    emu.set_inputs(inputs)
    got = adc.read_voltage(ch)
    lsb = pga / 32768
    expect = min(max(v, -pga), pga - lsb)
    assert abs(got - expect) <= lsb / 2 + 1e-12


def test_config_word_matches_datasheet_example():
    # AIN0 vs GND, +-4.096 V, single-shot, 128 SPS, comparator off.
    assert config_word(0, 4.096, 128) == 0xC383


@given(unit)
def test_sun_vector_recovered_in_full_sun(s):
    *_, heads, _, css = rig()
    heads.set_sun(s, 1.0)
    reading = css.read()
    assert reading.sun_body is not None
    assert np.degrees(np.arccos(np.clip(reading.sun_body @ s, -1, 1))) < 0.1


def test_eclipse_gives_no_sun_vector():
    *_, heads, _, css = rig()
    heads.set_sun([0, 0, 1], 0.0)
    assert css.read().sun_body is None


def test_scale_errors_and_albedo_bias_the_estimate_a_little():
    *_, heads, _, css = rig(scale_error=0.03, albedo_v=0.05, seed=2)
    s = np.array([1.0, 1.0, 1.0]) / np.sqrt(3)
    heads.set_sun(s, 1.0)
    err_deg = np.degrees(np.arccos(css.read().sun_body @ s))
    assert 0.01 < err_deg < 5.0


def test_adc_faults_surface_as_hal_errors_with_health():
    _, (e1, _), heads, adcs, css = rig()
    heads.set_sun([1, 0, 0], 1.0)
    e1.inject_fault("nack")
    with pytest.raises(hal.NackError) as info:
        css.read()
    assert "0x48" in str(info.value) and "ADS1115" in str(info.value)
    assert adcs[0].health.failures == 1
    e1.clear_faults()
    e1.inject_fault("stuck")
    heads.set_sun([-1, 0, 0], 1.0)
    stuck = css.read()
    assert stuck.face_cos[0] == pytest.approx(1.0, abs=1e-3)  # old light on +X


def test_absent_adc_is_device_id_error():
    with pytest.raises(hal.DeviceIdError) as info:
        ADS1115(SimI2C("i2c1"), 0x4A)
    assert "0x4A" in str(info.value)


def test_conversion_never_done_is_a_bounded_timeout():
    bus = SimI2C("i2c1")
    # Power-on config, then every config poll says "converting" (OS = 0).
    bus.attach(0x48, ScriptedTarget([b"\x85\x83"], fill=0x00))
    adc = ADS1115(bus, 0x48, ready_timeout_s=0.002)
    with pytest.raises(hal.BusTimeoutError):
        adc.read_voltage(0)


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=4), max_size=3))
def test_malformed_replies_raise_only_hal_errors(replies):
    bus = SimI2C("i2c1")
    bus.attach(0x48, ScriptedTarget([b"\x85\x83", *replies]))
    adc = ADS1115(bus, 0x48)
    try:
        v = adc.read_voltage(2)
    except hal.HalError as exc:
        assert exc.reason and exc.device == "TI ADS1115"
    else:
        assert -4.096 <= v < 4.096
