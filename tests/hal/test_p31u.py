"""GomSpace P31u EPS driver against its emulator."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hal
from hal.devices.p31u import HK_FORMAT, HK_SIZE, P31u, cell_v_from_soc, soc_from_cell_v
from hal.sim import ScriptedTarget, SimI2C
from hal.sim.p31u import P31uEmulator


def rig(**kw):
    bus = SimI2C("i2c0")
    emu = P31uEmulator(**kw)
    bus.attach(0x02, emu)
    return emu, P31u(bus)


def test_housekeeping_layout_is_the_p31u_structure():
    assert HK_SIZE == 131


def test_battery_charges_in_sun_and_discharges_in_eclipse():
    emu, eps = rig(soc=0.5)
    start = eps.housekeeping()
    assert start.soc == pytest.approx(0.5, abs=0.02)
    emu.set_solar_current(2.0)
    emu.advance(3600.0)
    lit = eps.housekeeping()
    assert lit.cursun_a == pytest.approx(2.0) and lit.net_current_a > 0
    assert lit.soc > start.soc and lit.vbatt_v > start.vbatt_v
    emu.set_solar_current(0.0)
    emu.advance(3 * 3600.0)
    dark = eps.housekeeping()
    assert dark.soc < lit.soc and dark.net_current_a < 0


def test_switching_outputs_and_over_current_latch():
    emu, eps = rig()
    eps.set_output(3, True)
    emu.set_load(3, 0.4)
    hk = eps.housekeeping()
    assert hk.outputs_on[3] and hk.curout_a[3] == pytest.approx(0.4)
    emu.set_load(3, 1.5)  # beyond the 1 A limit
    hk = eps.housekeeping()
    assert not hk.outputs_on[3] and hk.latchups[3] == 1 and hk.curout_a[3] == 0.0
    eps.set_output(3, True)  # latches again while the fault persists
    assert eps.housekeeping().latchups[3] == 2
    emu.set_load(3, 0.2)
    eps.set_output(3, True)
    assert eps.housekeeping().outputs_on[3]
    eps.set_output(3, False)
    assert not eps.housekeeping().outputs_on[3]


def test_watchdog_kick_and_bad_arguments():
    emu, eps = rig()
    eps.reset_ground_watchdog()
    assert emu.wdt_kicks == 1
    with pytest.raises(ValueError):
        eps.set_output(8, True)


def test_brownout_reboots_with_outputs_off():
    emu, eps = rig()
    eps.set_output(0, True)
    emu.inject_fault("brownout", duration_s=1.0)
    with pytest.raises(hal.NackError):
        eps.housekeeping()
    emu.advance(2.0)
    hk = eps.housekeeping()
    assert not any(hk.outputs_on) and hk.boot_count == 2


@given(st.floats(0.0, 1.0))
def test_soc_curve_is_invertible(soc):
    assert soc_from_cell_v(cell_v_from_soc(soc)) == pytest.approx(soc, abs=1e-9)


def test_lying_housekeeping_is_rejected_with_reason():
    fields = list(struct.unpack(HK_FORMAT, bytes(HK_SIZE)))
    fields[3] = 7400
    fields[62] = 9  # battery mode 9 does not exist
    bus = SimI2C("i2c0")
    bus.attach(0x02, ScriptedTarget([b"\x01\x00\x5a", b"\x08\x00" + struct.pack(HK_FORMAT,
                                                                                    *fields)]))
    eps = P31u(bus)
    with pytest.raises(hal.DataError) as info:
        eps.housekeeping()
    assert "battery mode 9" in str(info.value) and "P31u" in str(info.value)


def test_absent_eps_and_rejected_command():
    with pytest.raises(hal.DeviceIdError):
        P31u(SimI2C("i2c0"))
    bus = SimI2C("i2c0")
    bus.attach(0x02, ScriptedTarget([b"\x01\x00\x5a", b"\x0a\x03"]))
    with pytest.raises(hal.CommandRejectedError) as info:
        P31u(bus).set_output(1, True)
    assert "status 3" in str(info.value)


@settings(max_examples=300)
@given(st.binary(max_size=140))
def test_fuzzed_housekeeping_raises_only_hal_errors(reply):
    bus = SimI2C("i2c0")
    bus.attach(0x02, ScriptedTarget([b"\x01\x00\x5a", reply]))
    eps = P31u(bus)
    try:
        hk = eps.housekeeping()
    except hal.HalError as exc:
        assert exc.reason
    else:
        assert 0.0 <= hk.soc <= 1.0 and hk.batt_mode <= 4
