"""NMEA 0183 parser (fuzzed), the GPS driver against its emulator, in
virtual time and on a real pty."""

from __future__ import annotations

import datetime as dt
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hal
from hal.devices.gps import (
    GGA,
    RMC,
    GpsFix,
    GpsReceiver,
    NmeaLineReader,
    ecef_to_geodetic,
    geodetic_to_ecef_m,
    parse_nmea,
)
from hal.linux import SerialUART
from hal.sim.gps import GpsEmulator, nmea_sentence
from hal.sim.uart import PtyHost, SimUART

GGA_EXAMPLE = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"
RMC_EXAMPLE = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"


def test_parses_the_textbook_gga_and_rmc():
    g = parse_nmea(GGA_EXAMPLE)
    assert isinstance(g, GGA)
    assert g.time_s == 12 * 3600 + 35 * 60 + 19
    assert g.lat_deg == pytest.approx(48 + 7.038 / 60)
    assert g.lon_deg == pytest.approx(11 + 31.0 / 60)
    assert (g.quality, g.satellites, g.hdop, g.alt_m, g.geoid_sep_m) == (1, 8, 0.9, 545.4, 46.9)
    r = parse_nmea(RMC_EXAMPLE)
    assert isinstance(r, RMC) and r.valid
    assert r.speed_m_s == pytest.approx(22.4 * 1852 / 3600)
    assert r.course_deg == 84.4 and r.date == dt.date(1994, 3, 23)


@pytest.mark.parametrize(("sentence", "cls", "words"), [
    (GGA_EXAMPLE.replace(b"*47", b"*48"), hal.ChecksumError, "does not match"),
    (GGA_EXAMPLE.replace(b"*47", b""), hal.DataError, "checksum"),
    (nmea_sentence("GPGGA,123519,9512.000,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
     hal.DataError, "beyond 90"),
    (nmea_sentence("GPGGA,123519,4861.000,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
     hal.DataError, "minutes"),
    (nmea_sentence("GPGGA,126119,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
     hal.DataError, "does not exist"),
    (nmea_sentence("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,310294,003.1,W"),
     hal.DataError, "does not exist"),
    (nmea_sentence("GPRMC,123519,A,,,,,022.4,084.4,230394,,"), hal.DataError, "without"),
    (nmea_sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,nan,545.4,M,46.9,M,,"),
     hal.DataError, "not a number"),
    (nmea_sentence("GPGSV,1,1,00"), hal.DataError, "not GGA or RMC"),
    (b"$" + b"A" * 90 + b"*00\r\n", hal.DataError, "exceeds"),
])
def test_lying_or_broken_sentences_raise_typed_errors(sentence, cls, words):
    with pytest.raises(cls) as info:
        parse_nmea(sentence)
    assert words in info.value.reason


coord = st.tuples(st.floats(-89.999, 89.999), st.floats(-179.999, 179.999))


@given(coord, st.floats(-400.0, 2.0e6), st.integers(0, 86399), st.integers(1, 12))
def test_emulator_sentences_round_trip_through_the_parser(latlon, alt, sec, sats):
    lat, lon = latlon
    epoch = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=sec)
    emu = GpsEmulator(epoch_utc=epoch)
    emu.satellites = sats
    emu.set_fix(lat, lon, alt, speed_m_s=7600.0, course_deg=123.4)
    emu.advance(0.5)  # one GGA + RMC pair, stamped at the epoch
    out = emu.take(10_000)
    lines = NmeaLineReader().feed(out)
    g, r = (parse_nmea(x) for x in lines)
    assert g.lat_deg == pytest.approx(lat, abs=1e-6) and r.lon_deg == pytest.approx(lon, abs=1e-6)
    assert g.alt_m == pytest.approx(alt, abs=0.0501) and g.satellites == sats  # 0.1 m digits
    assert g.time_s == r.time_s == sec and r.date == dt.date(2026, 3, 1)
    assert r.speed_m_s == pytest.approx(7600.0, abs=0.01)


@settings(max_examples=500)
@given(st.binary(max_size=100))
def test_arbitrary_bytes_raise_only_hal_errors(data):
    try:
        parse_nmea(data)
    except hal.HalError as exc:
        assert exc.reason
    # Plain bytes almost never form a valid GGA/RMC; if they do, that is fine.


@settings(max_examples=500)
@given(st.sampled_from([GGA_EXAMPLE, RMC_EXAMPLE]), st.data())
def test_mutated_sentences_raise_only_hal_errors(base, data):
    s = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(s) - 1))
        s[i] = data.draw(st.integers(0, 255))
    body = bytes(s).rstrip(b"\r\n")
    star = body.rfind(b"*")
    if data.draw(st.booleans()) and star > 0:  # also re-checksum, to get past the CRC
        body = nmea_sentence(body[1:star].decode("latin-1")).rstrip(b"\r\n") \
            if all(0x20 <= c < 0x7F for c in body[1:star]) else body
    try:
        msg = parse_nmea(body)
    except hal.HalError as exc:
        assert exc.reason
    else:
        if msg.lat_deg is not None:
            assert -90 <= msg.lat_deg <= 90 and -180 <= msg.lon_deg <= 180


@given(st.binary(max_size=2000))
def test_line_reader_memory_is_bounded(data):
    reader = NmeaLineReader()
    for line in reader.feed(data):
        assert len(line) <= 83 and line.startswith(b"$")
    assert len(reader._buf) <= 83


def _lines_byte_by_byte(chunks: list[bytes]) -> tuple[list[bytes], int, int, bytes]:
    """The line reader's rule taken literally, one byte at a time (NMEA 0183:
    a sentence starts at `$` and ends at its line feed; here also cut short by
    the next `$`, and dropped once longer than 82 bytes): the oracle for
    `NmeaLineReader`, which works a run of bytes at a time."""
    buf, lines, overlong, noise = bytearray(), [], 0, 0
    for b in b"".join(chunks):
        if not buf and b != ord("$"):
            noise += 1
            continue
        if buf and b == ord("$"):
            lines.append(bytes(buf))
            buf.clear()
        buf.append(b)
        if b == ord("\n"):
            lines.append(bytes(buf))
            buf.clear()
        elif len(buf) > 82:
            overlong += 1
            buf.clear()
    return lines, overlong, noise, bytes(buf)


_STREAM_BYTES = st.sampled_from([b"$", b"\n", b"A", b"A" * 40, b"\r", GGA_EXAMPLE])


@given(st.lists(st.lists(_STREAM_BYTES, max_size=12).map(b"".join), max_size=6))
def test_line_reader_splits_as_if_byte_by_byte(chunks):
    reader = NmeaLineReader()
    lines = [line for chunk in chunks for line in reader.feed(chunk)]
    assert (lines, reader.overlong, reader.noise_bytes, bytes(reader._buf)) == \
        _lines_byte_by_byte(chunks)


@given(st.floats(-89.9, 89.9), st.floats(-180, 180), st.floats(-1000, 2.0e6))
def test_wgs84_conversions_invert(lat, lon, h):
    lat2, lon2, h2 = ecef_to_geodetic(geodetic_to_ecef_m(lat, lon, h))
    assert lat2 == pytest.approx(lat, abs=1e-7) and h2 == pytest.approx(h, abs=1e-3)
    assert math.cos(math.radians(lon2 - lon)) == pytest.approx(1.0, abs=1e-12)


def rig():
    emu = GpsEmulator(noise_m=0.0)
    uart = SimUART("uart0", emu, baudrate=9600)
    return emu, GpsReceiver(uart)


def test_receiver_reports_fix_and_ecef_position():
    emu, gps = rig()
    r = geodetic_to_ecef_m(10.0, 20.0, 550e3)
    v = np.cross([0, 0, 7.292115e-5], r) + np.array([0.0, 0.0, 7500.0])
    emu.set_state_ecef(r, v)
    emu.advance(0.0)
    emu.advance(0.5)
    fix = gps.poll()
    assert fix.valid and fix.utc == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert np.linalg.norm(fix.position_ecef_m() - r) < 0.5
    assert gps.health.transactions == 2 and gps.health.error_count == 0


def test_bytes_arrive_at_the_baud_rate_in_virtual_time():
    emu, gps = rig()
    emu.set_fix(1.0, 2.0, 500e3)
    emu.advance(0.0)
    emu.advance(0.05)  # 50 ms at 9600 baud: 48 bytes, not a whole sentence yet
    assert gps.uart.in_waiting == 48
    assert gps.poll() is None
    emu.advance(0.5)
    assert gps.poll().valid


def test_garbled_and_lying_sentences_are_counted_and_later_ones_still_parse():
    emu, gps = rig()
    emu.set_fix(1.0, 2.0, 500e3)
    emu.lie = True
    emu.advance(0.0)
    emu.advance(0.5)
    assert gps.poll() is None
    assert gps.health.errors["data"] == 2 and "beyond 90" in str(gps.rejected[-1])
    emu.lie = False
    emu.garble_rate = 0.2
    emu.advance(1.5)
    gps.poll()
    assert gps.health.errors["checksum"] + gps.health.errors["data"] >= 3
    emu.garble_rate = 0.0
    emu.advance(2.5)
    assert gps.poll().valid


def test_no_fix_and_silent_receiver():
    emu, gps = rig()
    emu.advance(0.0)
    emu.advance(0.5)
    fix = gps.poll()
    assert not fix.valid and fix.lat_deg is None
    emu.silent = True
    emu.advance(3.0)
    assert gps.poll() is None


def test_receiver_on_a_real_pty_paced_by_the_emulator():
    emu = GpsEmulator(baudrate=9600)
    emu.set_fix(-33.5, 151.25, 520e3)
    with PtyHost(emu) as host:
        uart = SerialUART("gps", host.port, baudrate=9600, timeout=0.05)
        try:
            gps = GpsReceiver(uart)
            fix = None
            deadline = time.monotonic() + 60.0
            while (fix is None or not fix.valid) and time.monotonic() < deadline:
                time.sleep(0.02)
                fix = gps.poll() or fix
            assert fix is not None and fix.valid
            assert fix.lat_deg == pytest.approx(-33.5, abs=1e-6)
        finally:
            uart.deinit()


def test_a_receiver_nobody_reads_keeps_a_tty_buffer_not_the_whole_run():
    emu = GpsEmulator(epoch_utc=dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc))
    emu.set_fix(48.1, 11.5, 545.0)
    for t in range(0, 3600, 10):  # an hour of sentences with no reader
        emu.advance(float(t))
    assert emu.available() == emu.rx_buffer_bytes == 4096
    assert emu.overrun_bytes > 3600 * 100  # two ~70-byte sentences a second were lost
    # What is kept is whole sentences from the start, as a tty keeps the oldest bytes.
    lines = NmeaLineReader().feed(emu.take(4096))
    assert parse_nmea(lines[0]).time_s == 0


def test_a_receiver_read_every_second_loses_nothing():
    emu = GpsEmulator(epoch_utc=dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc))
    emu.set_fix(48.1, 11.5, 545.0)
    reader, stamps = NmeaLineReader(), []
    for t in range(1, 601):
        emu.advance(float(t))
        stamps += [parse_nmea(line).time_s for line in reader.feed(emu.take(1 << 20))]
    assert emu.overrun_bytes == 0
    assert stamps == [s for s in range(600) for _ in range(2)]  # GGA and RMC each second


def test_a_fix_from_the_textbook_sentences_over_a_serial_line():
    # The GGA and RMC examples every NMEA reference quotes, written to a pty.
    import os

    master, slave = os.openpty()
    uart = SerialUART("gps", os.ttyname(slave), baudrate=9600, timeout=0.05)
    try:
        gps = GpsReceiver(uart)
        os.write(master, GGA_EXAMPLE + RMC_EXAMPLE)
        fix = None
        deadline = time.monotonic() + 60.0
        while fix is None and time.monotonic() < deadline:
            time.sleep(0.02)
            fix = gps.poll()
        assert fix is not None and fix.valid
        assert fix.utc == dt.datetime(1994, 3, 23, 12, 35, 19, tzinfo=dt.timezone.utc)
        assert (fix.satellites, fix.hdop, fix.alt_m, fix.geoid_sep_m) == (8, 0.9, 545.4, 46.9)
        assert fix.speed_m_s == pytest.approx(22.4 * 1852 / 3600) and fix.course_deg == 84.4
        # ECEF from the ellipsoidal height: MSL altitude plus geoid separation
        lat, lon = 48 + 7.038 / 60, 11 + 31.0 / 60
        want = wgs84_ecef(lat, lon, 545.4 + 46.9)
        np.testing.assert_allclose(fix.position_ecef_m(), want, atol=1e-3)
    finally:
        uart.deinit()
        os.close(master)
        os.close(slave)


# WGS-84 (NIMA TR8350.2 table 3.1): a = 6378137 m, 1/f = 298.257223563.
A_M, F = 6378137.0, 1.0 / 298.257223563
B_M = A_M * (1.0 - F)  # 6356752.3142 m


def wgs84_ecef(lat_deg: float, lon_deg: float, h_m: float) -> np.ndarray:
    e2 = F * (2.0 - F)
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    n = A_M / math.sqrt(1.0 - e2 * math.sin(lat) ** 2)
    return np.array([(n + h_m) * math.cos(lat) * math.cos(lon),
                     (n + h_m) * math.cos(lat) * math.sin(lon),
                     (n * (1.0 - e2) + h_m) * math.sin(lat)])


def test_wgs84_axes_and_the_poles():
    np.testing.assert_allclose(geodetic_to_ecef_m(0.0, 0.0, 0.0), [A_M, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(geodetic_to_ecef_m(90.0, 0.0, 0.0), [0.0, 0.0, B_M], atol=1e-6)
    assert B_M == pytest.approx(6356752.3142, abs=1e-4)
    for z_sign in (1.0, -1.0):
        lat, _, h = ecef_to_geodetic([0.0, 0.0, z_sign * (B_M + 500e3)])
        assert lat == pytest.approx(90.0 * z_sign, abs=1e-9) and h == pytest.approx(500e3, abs=1e-3)


@pytest.mark.parametrize("lat", [88.9, 89.0, 89.5, 89.99, -89.7, 45.0, 0.0])
@pytest.mark.parametrize("h", [0.0, 550e3])
def test_geodetic_from_ecef_near_and_at_the_poles(lat, h):
    lat2, lon2, h2 = ecef_to_geodetic(wgs84_ecef(lat, 30.0, h))
    assert lat2 == pytest.approx(lat, abs=1e-9) and h2 == pytest.approx(h, abs=1e-3)
    assert lon2 == pytest.approx(30.0, abs=1e-9)


def test_a_fix_without_position_has_no_ecef():
    fix = GpsFix(None, False, None, None, None, None, None, None, None, None)
    assert fix.position_ecef_m() is None
    assert GpsFix(None, True, 1.0, None, 5.0, None, None, None, None, None).position_ecef_m() \
        is None
    assert GpsFix(None, True, 1.0, 2.0, None, None, None, None, None, None).position_ecef_m() \
        is None
    msl = GpsFix(None, True, 1.0, 2.0, 5.0, None, None, None, None, None).position_ecef_m()
    np.testing.assert_allclose(msl, wgs84_ecef(1.0, 2.0, 5.0), atol=1e-6)
