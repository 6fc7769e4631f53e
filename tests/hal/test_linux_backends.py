"""The `linux` backends, exercised without bus hardware: UART on real ptys,
CAN on python-can's virtual interface, I2C and SPI up to the kernel."""

from __future__ import annotations

import errno
import os
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

import hal
from hal.busio import CanMessage, Match
from hal.linux import LinuxCAN, LinuxI2C, LinuxSPI, SerialUART
from hal.linux.i2c import build_messages, error_from_errno
from hal.linux.spi import SPIDEV_BUFSIZ


# I2C -----------------------------------------------------------------------
@given(st.integers(0, 0x7F), st.binary(max_size=64), st.integers(0, 64))
def test_i2c_messages_are_one_write_and_one_read(address, out, n_in):
    msgs = build_messages(address, out, n_in)
    assert len(msgs) == (1 if out else 0) + (1 if n_in else 0)
    if out:
        assert (msgs[0].addr, msgs[0].flags, msgs[0].len) == (address, 0, len(out))
        assert bytes(msgs[0]) == out
    if n_in:
        assert (msgs[-1].addr, msgs[-1].flags, msgs[-1].len) == (address, 1, n_in)  # I2C_M_RD


def test_i2c_message_length_is_bounded():
    with pytest.raises(ValueError):
        build_messages(0x20, bytes(9000), 0)


@pytest.mark.parametrize(("code", "cls"), [
    (errno.ENXIO, hal.NackError), (errno.EREMOTEIO, hal.NackError),
    (errno.ETIMEDOUT, hal.BusTimeoutError), (errno.EAGAIN, hal.BusBusyError),
    (errno.EIO, hal.HalError)])
def test_i2c_errno_maps_to_typed_error(code, cls):
    exc = error_from_errno(OSError(code, os.strerror(code)), bus="i2c1", address=0x20)
    assert type(exc) is cls
    assert "i2c1" in str(exc) and "0x20" in str(exc)


def test_i2c_missing_adapter_is_a_config_error():
    with pytest.raises(hal.ConfigError) as info:
        LinuxI2C("i2c9", "/dev/i2c-does-not-exist")
    assert "i2c9" in str(info.value) and "i2c-does-not-exist" in str(info.value)


def test_i2c_on_a_file_that_is_no_adapter_is_refused():
    with pytest.raises(hal.ConfigError) as info:
        LinuxI2C("i2c9", os.devnull)
    assert "not an i2c-dev adapter" in str(info.value)


# SPI -----------------------------------------------------------------------
def test_spi_missing_device_is_a_config_error_naming_it():
    spi = LinuxSPI("spi7", bus=77)
    with pytest.raises(hal.ConfigError) as info:
        spi.transfer(1, b"\x8f", 1)
    assert "/dev/spidev77.1" in str(info.value)


def test_spi_frame_size_is_bounded_and_mode_validated():
    spi = LinuxSPI("spi7", bus=77)
    with pytest.raises(ValueError):
        spi.write(bytes(SPIDEV_BUFSIZ + 1))
    with pytest.raises(ValueError):
        spi.configure(polarity=2)


# UART on ptys ----------------------------------------------------------------
@pytest.fixture
def pty_uart():
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    uart = SerialUART("uart1", os.ttyname(slave), baudrate=9600, timeout=0.2)
    yield master, uart
    uart.deinit()
    os.close(slave)
    try:
        os.close(master)
    except OSError:
        pass


def test_uart_reads_and_writes_through_a_pty(pty_uart):
    master, uart = pty_uart
    os.write(master, b"$GPGGA,hello\r\nrest")
    assert uart.readline() == b"$GPGGA,hello\r\n"
    assert uart.read(4) == b"rest"
    assert uart.write(b"\xc0\x00abc\xc0") == 6
    assert os.read(master, 100) == b"\xc0\x00abc\xc0"


def test_uart_read_times_out_with_none(pty_uart):
    _, uart = pty_uart
    uart.timeout = 0.01
    assert uart.read(10) is None
    assert uart.readline() is None
    assert uart.readinto(bytearray(4)) is None


def test_uart_readline_is_bounded(pty_uart):
    master, uart = pty_uart
    os.write(master, b"x" * 300)
    assert uart.readline(max_bytes=100) == b"x" * 100


def test_uart_losing_the_far_end_raises_hal_error(pty_uart):
    master, uart = pty_uart
    os.close(master)
    with pytest.raises(hal.HalError) as info:
        uart.read(1)
        uart.read(1)
    assert "uart1" in str(info.value)


def test_uart_accepts_pyserial_urls():
    uart = SerialUART("loop", "loop://", timeout=0.05)
    uart.write(b"ping")
    assert uart.read(4) == b"ping"
    uart.deinit()
    with pytest.raises(hal.ConfigError):
        SerialUART("bad", "nosuchscheme://x")


# CAN on python-can's virtual bus ------------------------------------------------
@pytest.fixture
def can_pair():
    channel = f"test-{uuid.uuid4().hex}"
    a = LinuxCAN("can0", interface="virtual", channel=channel)
    b = LinuxCAN("can0b", interface="virtual", channel=channel)
    yield a, b
    a.deinit()
    b.deinit()


def test_can_send_and_filtered_receive(can_pair):
    a, b = can_pair
    wheels = b.listen([Match(0x180, mask=0x7F0)], timeout=0.5)
    everything = b.listen(timeout=0.5)
    a.send(CanMessage(0x181, b"\x03\x00\x10"))
    a.send(CanMessage(0x222, b"nope"))
    a.send(CanMessage(0x18F, b"", extended=True))  # same number, other id kind
    assert wheels.receive() == CanMessage(0x181, b"\x03\x00\x10")
    assert wheels.receive() is None
    got = [everything.receive() for _ in range(2)]
    assert got[0] == CanMessage(0x181, b"\x03\x00\x10")
    assert got[1] == CanMessage(0x222, b"nope")


def test_can_listener_queue_is_bounded_and_counts_drops(can_pair):
    a, b = can_pair
    lst = b.listen(timeout=0.2, depth=4)
    for i in range(10):
        a.send(CanMessage(0x100 + i, bytes([i])))
    assert lst.in_waiting() == 4
    assert lst.dropped == 6
    assert lst.receive() == CanMessage(0x106, b"\x06")


def test_can_frame_limits():
    with pytest.raises(ValueError):
        CanMessage(0x800, b"")
    with pytest.raises(ValueError):
        CanMessage(0x100, bytes(9))
    CanMessage(0x1FFFFFFF, bytes(8), extended=True)


def test_can_unknown_interface_is_a_config_error():
    with pytest.raises(hal.ConfigError):
        LinuxCAN("can9", interface="no-such-interface", channel="x")


def test_can_filters_reach_python_can_when_every_listener_filters(can_pair):
    a, b = can_pair
    only = b.listen([Match(0x300, mask=0x700)], timeout=0.3)
    a.send(CanMessage(0x123, b"x"))
    a.send(CanMessage(0x3AB, b"y"))
    assert only.receive() == CanMessage(0x3AB, b"y")
    assert only.receive() is None
    assert b._bus.filters == [{"can_id": 0x300, "can_mask": 0x700, "extended": False}]
