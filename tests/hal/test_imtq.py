"""ISIS iMTQ driver against its byte-level emulator."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hal
from hal.devices.imtq import IMTQ
from hal.sim import ScriptedTarget, SimI2C
from hal.sim.imtq import IMTQEmulator

dipole = st.floats(-1.0, 1.0, allow_nan=False)


def rig():
    bus = SimI2C("i2c0")
    emu = IMTQEmulator()
    bus.attach(0x10, emu)
    return bus, emu, IMTQ(bus)


def test_dipole_is_applied_for_its_duration_then_stops():
    _, emu, mtq = rig()
    emu.advance(10.0)
    mtq.start_dipole(np.array([0.1, -0.05, 0.15]), 0.5)
    assert np.allclose(emu.dipole_now_am2, [0.1, -0.05, 0.15])
    assert emu.actuating
    emu.advance(10.4999)
    assert np.allclose(emu.dipole_am2(), [0.1, -0.05, 0.15])
    emu.advance(10.5)
    assert np.array_equal(emu.dipole_am2(), np.zeros(3))
    assert not emu.actuating


def test_dipole_saturates_per_axis_at_the_parts_limit():
    _, emu, mtq = rig()
    mtq.start_dipole([0.5, -3.0, 0.1], 1.0)
    assert np.allclose(emu.dipole_am2(), [0.2, -0.2, 0.1])
    assert np.allclose(mtq.commanded_dipole_am2(), [0.2, -0.2, 0.1])


@given(st.tuples(dipole, dipole, dipole), st.floats(0.001, 65.535))
def test_wire_encoding_round_trips_within_one_count(m, duration_s):
    bus = SimI2C("i2c0")
    target = ScriptedTarget([b"\x02\x00", b"\x06\x00"])
    bus.attach(0x10, target)
    IMTQ(bus).start_dipole(m, duration_s)
    frame = target.written[-1]
    assert frame[0] == 0x06 and len(frame) == 9
    x, y, z, ms = struct.unpack("<hhhH", frame[1:])
    assert np.allclose(np.array([x, y, z]) * 1e-4, m, atol=0.5e-4 + 1e-12)
    assert abs(ms - duration_s * 1000) <= 0.5


def test_cancel_stops_actuation():
    _, emu, mtq = rig()
    mtq.start_dipole([0.1, 0.1, 0.1], 10.0)
    mtq.cancel()
    assert np.array_equal(emu.dipole_now_am2, np.zeros(3))


def test_brownout_stops_actuation():
    _, emu, mtq = rig()
    mtq.start_dipole([0.1, 0.1, 0.1], 10.0)
    emu.inject_fault("brownout", duration_s=0.01)
    assert np.array_equal(emu.dipole_now_am2, np.zeros(3))
    with pytest.raises(hal.NackError):
        mtq.cancel()


def test_bad_arguments_are_refused_before_the_bus():
    _, emu, mtq = rig()
    for args in (([0.1, 0, 0], 0.0), ([0.1, 0, 0], 70.0), ([np.nan, 0, 0], 1.0),
                 ([0.1, 0, 0], float("nan"))):
        with pytest.raises(ValueError):
            mtq.start_dipole(*args)
    assert emu.commands == 1  # only the NOOP at init


def test_absent_board_raises_device_id():
    bus = SimI2C("i2c0")
    with pytest.raises(hal.DeviceIdError) as info:
        IMTQ(bus)
    assert "iMTQ" in str(info.value) and "0x10" in str(info.value)


def test_rejected_command_names_the_reason():
    bus = SimI2C("i2c0")
    bus.attach(0x10, ScriptedTarget([b"\x02\x00", b"\x06\x05"]))
    with pytest.raises(hal.CommandRejectedError) as info:
        IMTQ(bus).start_dipole([0.1, 0, 0], 1.0)
    assert "unavailable in the current mode" in str(info.value)


def test_wrong_echo_is_a_data_error():
    bus = SimI2C("i2c0")
    bus.attach(0x10, ScriptedTarget([b"\x02\x00", b"\x03\x00"]))
    with pytest.raises(hal.DataError) as info:
        IMTQ(bus).start_dipole([0.1, 0, 0], 1.0)
    assert "echoes" in str(info.value)


def test_unknown_command_gets_invalid_code_status():
    bus, _emu, _ = rig()
    bus.writeto(0x10, b"\x77")
    reply = bytearray(2)
    bus.readfrom_into(0x10, reply)
    assert reply == b"\x77\x02"


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=10), max_size=4))
def test_malformed_replies_raise_only_hal_errors(replies):
    bus = SimI2C("i2c0")
    bus.attach(0x10, ScriptedTarget([b"\x02\x00", *replies], fill=0xFF))
    mtq = IMTQ(bus)
    try:
        mtq.start_dipole([0.01, 0.02, 0.03], 1.0)
        m = mtq.commanded_dipole_am2()
    except hal.HalError as exc:
        assert exc.reason and exc.device == "ISIS iMTQ"
    else:
        assert m.shape == (3,)


def test_a_raw_start_dipole_frame_is_decoded_signed_and_a_zero_duration_holds():
    emu = IMTQEmulator()
    bus = SimI2C("i2c0")
    bus.attach(0x10, emu)
    bus.transfer(0x10, bytes([0x06]) + struct.pack("<hhhH", -1234, 567, -32768, 0))
    assert bus.transfer(0x10, b"", 2) == bytes([0x06, 0x00])
    assert emu.applied_dipole_am2() == (-1234 * 1e-4, 567 * 1e-4, -0.2)
    emu.advance(1e6)
    assert emu.actuating  # 0 ms: until cancelled
