"""GomSpace P31u EPS driver against its emulator."""

from __future__ import annotations

import struct

import numpy as np
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


# eps_hk_t as the NanoPower P31u manual and GomSpace's nanopower.h declare it
# (packed, big-endian): (field, bytes per item, items, signed). Written out here
# from the datasheet, not from the driver's format string, which the emulator
# imports: a wrong field in the driver would otherwise be copied, not caught.
EPS_HK_T = (
    ("vboost", 2, 3, False), ("vbatt", 2, 1, False), ("curin", 2, 3, False),
    ("cursun", 2, 1, False), ("cursys", 2, 1, False), ("reserved1", 2, 1, False),
    ("curout", 2, 6, False), ("output", 1, 8, False), ("output_on_delta", 2, 8, False),
    ("output_off_delta", 2, 8, False), ("latchup", 2, 6, False),
    ("wdt_i2c_time_left", 4, 1, False), ("wdt_gnd_time_left", 4, 1, False),
    ("wdt_csp_pings_left", 1, 2, False), ("counter_wdt_i2c", 4, 1, False),
    ("counter_wdt_gnd", 4, 1, False), ("counter_wdt_csp", 4, 2, False),
    ("counter_boot", 4, 1, False), ("temp", 2, 6, True), ("bootcause", 1, 1, False),
    ("battmode", 1, 1, False), ("pptmode", 1, 1, False), ("reserved2", 2, 1, False),
)


def eps_hk_encode(values: dict[str, list[int]]) -> bytes:
    out = b""
    for name, size, count, signed in EPS_HK_T:
        items = values.get(name, [0] * count)
        assert len(items) == count
        out += b"".join(v.to_bytes(size, "big", signed=signed) for v in items)
    return out


def eps_hk_decode(raw: bytes) -> dict[str, list[int]]:
    values, at = {}, 0
    for name, size, count, signed in EPS_HK_T:
        values[name] = [int.from_bytes(raw[at + i * size: at + (i + 1) * size], "big",
                                       signed=signed) for i in range(count)]
        at += size * count
    assert at == len(raw)
    return values


def test_housekeeping_layout_is_the_p31u_structure():
    assert HK_SIZE == sum(size * count for _, size, count, _ in EPS_HK_T) == 131


def test_driver_reads_each_field_where_the_datasheet_puts_it():
    # Distinct values in every field, so a shifted field reads someone else's value.
    values = {"vboost": [5100, 5200, 5300], "vbatt": [7812], "curin": [11, 12, 13],
              "cursun": [345], "cursys": [678], "curout": [21, 22, 23, 24, 25, 26],
              "output": [1, 0, 1, 1, 0, 0, 1, 0], "output_on_delta": list(range(31, 39)),
              "output_off_delta": list(range(41, 49)), "latchup": [51, 52, 53, 54, 55, 56],
              "wdt_i2c_time_left": [61], "wdt_gnd_time_left": [62],
              "wdt_csp_pings_left": [63, 64], "counter_wdt_i2c": [65],
              "counter_wdt_gnd": [66], "counter_wdt_csp": [67, 68], "counter_boot": [4242],
              "temp": [-40, -1, 0, 25, 85, 101], "bootcause": [7], "battmode": [3],
              "pptmode": [1]}
    bus = SimI2C("i2c0")
    bus.attach(0x02, ScriptedTarget([b"\x01\x00\x5a", b"\x08\x00" + eps_hk_encode(values)]))
    hk = P31u(bus, cells_in_series=2).housekeeping()
    assert hk.vbatt_v == pytest.approx(7.812)
    assert (hk.cursun_a, hk.cursys_a) == (pytest.approx(0.345), pytest.approx(0.678))
    np.testing.assert_allclose(hk.curout_a, [0.021, 0.022, 0.023, 0.024, 0.025, 0.026])
    assert hk.outputs_on == (True, False, True, True, False, False, True, False)
    assert hk.latchups == (51, 52, 53, 54, 55, 56)
    assert hk.temps_c.tolist() == [-40, -1, 0, 25, 85, 101]
    assert (hk.batt_mode, hk.boot_count) == (3, 4242)


def test_emulator_answers_in_the_datasheet_layout():
    emu, eps = rig(soc=0.5)
    eps.set_output(2, True)
    emu.set_load(2, 0.3)
    emu.set_solar_current(1.2)
    bus = eps.bus
    with bus:
        bus.writeto(0x02, bytes([8, 0]))
        reply = bytearray(2 + 131)
        bus.readfrom_into(0x02, reply)
    assert reply[:2] == b"\x08\x00"
    hk = eps_hk_decode(bytes(reply[2:]))
    assert hk["vbatt"] == [round(emu.vbatt_v * 1000)]
    assert hk["cursun"] == [1200] and hk["output"][2] == 1 and hk["curout"][2] == 300
    assert hk["battmode"][0] in range(5) and hk["counter_boot"] == [emu.boot_count]


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


def test_output_switching_and_watchdog_bytes_are_the_datasheets():
    # SET_SINGLE_OUTPUT (10): channel u8, value u8, delay u16 big-endian, s;
    # RESET_WDT (16) with its magic 0x78. Every reply is [cmd echo, status].
    bus = SimI2C("i2c0")
    target = ScriptedTarget([b"\x01\x00\x5a", b"\x0a\x00", b"\x0a\x00", b"\x10\x00"])
    bus.attach(0x02, target)
    eps = P31u(bus)
    eps.set_output(7, True)
    eps.set_output(0, False, delay_s=40000)
    eps.reset_ground_watchdog()
    commands = [w for w in target.written if w]
    assert commands[1:] == [bytes([10, 7, 1, 0, 0]), bytes([10, 0, 0, 0x9C, 0x40]),
                            bytes([16, 0x78])]
    for channel, delay in ((8, 0), (-1, 0), (0, 65536), (0, -1)):
        with pytest.raises(ValueError, match=r"^channel 0-7, delay 0-65535 s$"):
            eps.set_output(channel, True, delay_s=delay)
