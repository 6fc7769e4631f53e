"""The busio-shaped I2C interface over the sim backend."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

import hal
from hal.sim import RegisterTarget, SimI2C
from hal.sim import ScriptedTarget as RawTarget


class Eeprom(RegisterTarget):
    part = "test register file"
    WRITABLE = frozenset(range(256))


def test_errors_are_hal_errors_with_location():
    for cls in (hal.NackError, hal.BusTimeoutError, hal.DeviceIdError, hal.ChecksumError,
                hal.DataError, hal.CommandRejectedError, hal.BusBusyError, hal.ConfigError):
        exc = cls("broken", bus="i2c3", address=0x2B, device="Part X")
        assert isinstance(exc, hal.HalError)
        assert str(exc) == "Part X, bus i2c3, address 0x2B: broken"
        assert exc.reason == "broken"


def test_absent_target_nacks_naming_bus_and_address(i2c):
    with pytest.raises(hal.NackError) as info:
        i2c.writeto(0x42, b"\x00")
    assert "i2c0" in str(info.value) and "0x42" in str(info.value)
    assert info.value.bus == "i2c0" and info.value.address == 0x42


def test_scan_lists_attached_targets_that_acknowledge(i2c):
    i2c.attach(0x50, Eeprom())
    nacking = Eeprom()
    i2c.attach(0x21, nacking)
    assert i2c.scan() == [0x21, 0x50]
    nacking.inject_fault("nack")
    assert i2c.scan() == [0x50]
    i2c.detach(0x50)
    assert i2c.scan() == []


def test_attach_refuses_taken_or_invalid_address(i2c):
    i2c.attach(0x50, Eeprom())
    with pytest.raises(ValueError):
        i2c.attach(0x50, Eeprom())
    with pytest.raises(ValueError):
        i2c.attach(0x80, Eeprom())


def test_busio_slices_write_and_read(i2c):
    rom = Eeprom()
    i2c.attach(0x50, rom)
    i2c.writeto(0x50, b"xx\x10abcdyy", start=2, end=7)
    assert bytes(rom.regs[0x10:0x14]) == b"abcd"
    buf = bytearray(8)
    i2c.writeto_then_readfrom(0x50, b"\x11", buf, in_start=2, in_end=5)
    assert buf == b"\x00\x00bcd\x00\x00\x00"
    # The pointer auto-increments past the combined read.
    i2c.readfrom_into(0x50, buf, start=5)
    assert bytes(buf[5:]) == bytes(rom.regs[0x14:0x17])
    mv = memoryview(bytearray(4))
    i2c.writeto_then_readfrom(0x50, bytearray(b"\xff\x10"), mv, out_start=1)
    assert bytes(mv) == b"abcd"


@given(st.integers(0, 255), st.binary(min_size=1, max_size=300))
def test_register_file_round_trip_wraps_at_256(start, data):
    bus = SimI2C("i2cp")
    rom = Eeprom()
    bus.attach(0x50, rom)
    bus.writeto(0x50, bytes([start]) + data)
    back = bus.transfer(0x50, bytes([start]), len(data))
    # What was written last at each address wins when the data wraps.
    expect = bytearray(rom.regs)
    assert back == bytes(expect[(start + i) % 256] for i in range(len(data)))
    if len(data) <= 256:
        assert back == data


def test_locking_is_busio_shaped(i2c):
    assert i2c.try_lock()
    assert not i2c.try_lock()
    i2c.unlock()
    with i2c:
        assert not i2c.try_lock()
    assert i2c.try_lock()
    i2c.unlock()


def test_context_lock_times_out_with_busy_error_instead_of_blocking(i2c):
    held = threading.Event()
    release = threading.Event()

    def holder():
        with i2c:
            held.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    i2c.lock_timeout_s = 0.01
    with pytest.raises(hal.BusBusyError) as info:
        with i2c:
            pass
    release.set()
    t.join()
    assert "i2c0" in str(info.value)


def test_a_waiting_context_lock_takes_the_bus_as_soon_as_the_holder_unlocks(i2c):
    entered = []

    def waiter():
        with i2c:
            entered.append(True)

    assert i2c.try_lock()
    i2c.lock_timeout_s = 5.0
    t = threading.Thread(target=waiter)
    t.start()
    t.join(0.05)
    assert not entered  # still waiting while the bus is held
    i2c.unlock()
    t.join(2.0)
    assert entered and not t.is_alive()
    assert i2c.try_lock()  # the waiter gave the bus back
    i2c.unlock()


def test_unlocking_a_bus_not_held_is_an_error(i2c):
    with pytest.raises(RuntimeError):
        i2c.unlock()
    assert i2c.try_lock()
    i2c.unlock()


def test_a_detached_target_nacks_and_one_attached_in_its_place_answers(i2c):
    first, second = Eeprom(), Eeprom()
    first.regs[0] = 0x11
    second.regs[0] = 0x22
    i2c.attach(0x50, first)
    assert i2c.transfer(0x50, b"\x00", 1) == b"\x11"
    i2c.detach(0x50)
    with pytest.raises(hal.NackError):
        i2c.transfer(0x50, b"\x00", 1)
    i2c.attach(0x50, second)
    assert i2c.transfer(0x50, b"\x00", 1) == b"\x22"


def test_an_address_beyond_seven_bits_nacks_on_transfer(i2c):
    with pytest.raises(hal.NackError):
        i2c.transfer(0x80, b"\x00", 1)


def test_timeout_fault_is_located(i2c):
    t = RawTarget()
    i2c.attach(0x33, t)
    t.inject_fault("timeout")
    with pytest.raises(hal.BusTimeoutError) as info:
        i2c.transfer(0x33, b"\x01", 2)
    assert info.value.bus == "i2c0" and info.value.address == 0x33
    t.clear_faults()
    assert i2c.transfer(0x33, b"\x01", 2) == b"\xff\xff"


def test_brownout_nacks_for_its_duration_then_recovers(i2c):
    rom = Eeprom()
    i2c.attach(0x50, rom)
    i2c.writeto(0x50, b"\x00\x99")
    rom.inject_fault("brownout", duration_s=0.5)
    assert rom.regs[0] == 0  # power-on reset lost the register
    with pytest.raises(hal.NackError):
        i2c.transfer(0x50, b"\x00", 1)
    rom.advance(0.4)
    with pytest.raises(hal.NackError):
        i2c.transfer(0x50, b"\x00", 1)
    rom.advance(0.5)
    assert i2c.transfer(0x50, b"\x00", 1) == b"\x00"


def test_bit_flips_corrupt_reads_reproducibly():
    def run(seed):
        bus = SimI2C("i2c0")
        rom = Eeprom(seed=seed)
        bus.attach(0x50, rom)
        rom.inject_fault("bit_flip", rate=0.5)
        return bus.transfer(0x50, b"\x00", 64)

    a, b = run(1), run(1)
    assert a == b
    assert a != bytes(64)  # half the bytes flipped somewhere
    assert all(bin(x).count("1") == 1 for x in a if x)
    with pytest.raises(ValueError):
        Eeprom().inject_fault("bit_flip", rate=0.0)
    with pytest.raises(ValueError):
        Eeprom().inject_fault("melt")
