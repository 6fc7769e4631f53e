"""KISS and AX.25 codecs (property-tested and fuzzed), the radio driver
against its emulator in virtual time and on a real pty."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hal
from hal.devices.radio import (
    Ax25Frame,
    KissDecoder,
    UhfRadio,
    ax25_check_fcs,
    ax25_decode,
    ax25_encode_ui,
    ax25_fcs,
    ax25_with_fcs,
    kiss_decode_frame,
    kiss_encode,
)
from hal.linux import SerialUART
from hal.sim.radio import UhfRadioEmulator
from hal.sim.uart import PtyHost, SimUART

calls = st.builds(lambda n, s: f"{n}-{s}" if s else n,
                  st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6),
                  st.integers(0, 15))
frames = st.builds(Ax25Frame, calls, calls, st.binary(max_size=256),
                   st.lists(calls, max_size=8).map(tuple), st.integers(0, 255), st.booleans())


def test_fcs_is_crc16_x25_with_its_check_value():
    assert ax25_fcs(b"123456789") == 0x906E


@given(st.binary(max_size=400), st.integers(0, 15))
def test_kiss_round_trip_and_no_fend_inside(data, port):
    enc = kiss_encode(data, port=port)
    assert enc[0] == 0xC0 and enc[-1] == 0xC0 and 0xC0 not in enc[1:-1]
    assert kiss_decode_frame(enc[1:-1]) == (port, 0, data)
    assert len(enc) <= 2 * len(data) + 4


@given(st.lists(st.binary(max_size=100), max_size=5), st.integers(1, 50))
def test_kiss_stream_decoder_survives_any_chunking(payloads, chunk):
    stream = b"".join(kiss_encode(p) for p in payloads)
    dec = KissDecoder()
    got = []
    for i in range(0, len(stream), chunk):
        got += dec.feed(stream[i:i + chunk])
    assert [d for _, _, d in got] == payloads
    assert dec.error_count == 0


@given(frames)
def test_ax25_ui_round_trip(frame):
    raw = ax25_encode_ui(frame)
    back = ax25_decode(raw)

    def norm(c):
        return c[:-2] if c.endswith("-0") else c

    assert back == Ax25Frame(norm(frame.dest), norm(frame.src), frame.info,
                             tuple(norm(d) for d in frame.digis), frame.pid, frame.command)
    assert ax25_check_fcs(ax25_with_fcs(raw)) == raw


@given(frames, st.integers(0, 1000), st.integers(0, 7))
def test_any_single_bit_error_fails_the_fcs(frame, pos, bit):
    air = bytearray(ax25_with_fcs(ax25_encode_ui(frame)))
    air[pos % len(air)] ^= 1 << bit
    with pytest.raises(hal.ChecksumError):
        ax25_check_fcs(bytes(air))


@settings(max_examples=500)
@given(st.binary(max_size=700))
def test_fuzzed_kiss_and_ax25_raise_only_typed_errors(data):
    for decode in (kiss_decode_frame, ax25_decode, ax25_check_fcs):
        try:
            decode(data)
        except hal.HalError as exc:
            assert exc.reason
    dec = KissDecoder()
    dec.feed(data)
    assert len(dec._buf) <= 2 * (7 * 10 + 2 + 256 + 1)


@settings(max_examples=300)
@given(frames, st.data())
def test_mutated_ax25_frames_decode_or_raise_typed_errors(frame, data):
    raw = bytearray(ax25_encode_ui(frame))
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        out = ax25_decode(bytes(raw))
    except hal.DataError as exc:
        assert exc.reason
    else:
        assert len(out.info) <= 256


def test_bad_callsigns_are_refused():
    for bad in ("toolongcall", "AB CD", "X-16", ""):
        with pytest.raises(ValueError):
            ax25_encode_ui(Ax25Frame(bad, "SRC", b""))


def rig():
    emu = UhfRadioEmulator(baudrate=9600)
    radio = UhfRadio(SimUART("uart1", emu, baudrate=9600), callsign="TSR1", dest="GROUND")
    return emu, radio


def test_downlink_reaches_the_air_with_fcs_only_while_the_link_is_up():
    emu, radio = rig()
    radio.send(b"telemetry \xc0\xdb")
    assert len(emu.air_tx) == 1
    frame = ax25_decode(ax25_check_fcs(emu.air_tx[0]))
    assert (frame.src, frame.dest, frame.info) == ("TSR1", "GROUND", b"telemetry \xc0\xdb")
    emu.link_up = False
    radio.send(b"lost")
    assert emu.tx_lost == 1 and len(emu.air_tx) == 1


def test_uplink_frames_arrive_paced_and_bad_fcs_is_dropped():
    emu, radio = rig()
    good = ax25_with_fcs(ax25_encode_ui(Ax25Frame("TSR1", "GROUND", b"cmd 1")))
    assert emu.receive_air(good)
    assert not emu.receive_air(good[:-1] + bytes([good[-1] ^ 1]))
    assert emu.rx_fcs_errors == 1
    assert radio.poll() == []  # nothing has crossed the serial line at t = 0
    emu.advance(0.1)
    got = radio.poll()
    assert [f.info for f in got] == [b"cmd 1"]


def test_garbled_serial_line_is_counted_not_fatal():
    emu, radio = rig()
    emu.garble_rate = 0.5
    for i in range(5):
        emu.receive_air(ax25_with_fcs(ax25_encode_ui(Ax25Frame("TSR1", "GROUND", bytes([i]) * 20))))
    emu.advance(1.0)
    radio.poll()
    emu.garble_rate = 0.0
    emu.receive_air(ax25_with_fcs(ax25_encode_ui(Ax25Frame("TSR1", "GROUND", b"after"))))
    emu.advance(2.0)
    assert [f.info for f in radio.poll()][-1] == b"after"
    assert radio.health.error_count >= 1 and radio.rejected


def test_radio_on_a_real_pty():
    emu = UhfRadioEmulator(baudrate=19200)
    with PtyHost(emu) as host:
        uart = SerialUART("uhf", host.port, baudrate=19200, timeout=0.05)
        try:
            radio = UhfRadio(uart, callsign="TSR1", dest="GROUND")
            radio.send(b"hello ground")
            emu.receive_air(ax25_with_fcs(ax25_encode_ui(Ax25Frame("TSR1", "GROUND", b"hi"))))
            got, deadline = [], time.monotonic() + 60.0
            while (not got or not emu.air_tx) and time.monotonic() < deadline:
                time.sleep(0.02)
                got += radio.poll()
            assert [f.info for f in got] == [b"hi"]
            assert ax25_decode(ax25_check_fcs(emu.air_tx[0])).info == b"hello ground"
        finally:
            uart.deinit()


def test_baud_rate_mismatch_loses_the_bytes():
    emu = UhfRadioEmulator(baudrate=19200)
    radio = UhfRadio(SimUART("uart1", emu, baudrate=9600), callsign="TSR1")
    radio.send(b"into the void")
    assert not emu.air_tx and not emu.received


def test_traffic_and_failures_are_counted_and_located():
    """The health counters and errors a ground operator reads in DEVICE_HEALTH."""
    import os

    master, slave = os.openpty()
    uart = SerialUART("uhf0", os.ttyname(slave), baudrate=9600, timeout=0.05)
    radio = UhfRadio(uart, callsign="TSR1", dest="GROUND")
    try:
        for i in range(3):
            radio.send(bytes([i]))
        assert radio.sent == 3 and radio.health.transactions == 3
        # the TNC's bytes: a frame for us, a frame on another KISS port, a
        # parameter echo, and a frame whose AX.25 is broken
        ours = ax25_encode_ui(Ax25Frame("TSR1", "GROUND", b"for us"))
        os.write(master, kiss_encode(ours) + kiss_encode(ours, port=3)
                 + kiss_encode(b"\x10", command=1) + kiss_encode(b"\x01\x02"))
        got, deadline = [], time.monotonic() + 60.0
        while radio.health.transactions < 7 and time.monotonic() < deadline:
            time.sleep(0.02)
            got += radio.poll()
        assert [f.info for f in got] == [b"for us"]
        assert radio.health.transactions == 7 and radio.health.failures == 0
        [bad] = radio.rejected
        assert bad.bus == "uhf0" and bad.device  # located on the line it came from
        assert radio.health.error_count == 1 and "uhf0" in radio.health.last_error
        # the serial line goes away: the failure is counted, located and raised
        os.close(master)
        master = -1
        with pytest.raises(hal.HalError) as info:
            for _ in range(50):
                radio.poll()
                time.sleep(0.01)
        assert (info.value.bus, info.value.device) == ("uhf0", "UHF radio (KISS TNC)")
        assert radio.health.failures == 1 and radio.health.error_count == 2
    finally:
        uart.deinit()
        if master >= 0:
            os.close(master)
        os.close(slave)
