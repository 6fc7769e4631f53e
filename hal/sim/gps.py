"""Byte-level emulator of an NMEA 0183 GNSS receiver (see `hal.devices.gps`).

Emits one GGA and one RMC sentence at each whole second of its clock, paced
at the baud rate. Truth in: `set_fix(...)` or `set_state_ecef(...)`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Final

from hal.devices.gps import KNOT_M_S, ecef_to_geodetic, nmea_checksum
from hal.sim.uart import StreamTarget

__all__ = ["GpsEmulator", "nmea_sentence"]


# Zero-padded decimal and hex text by table: compiled, an f-string's format
# spec is a generic call that parses the spec each time. (Typed as tuples of
# any length: mypyc does not initialise a Final fixed-length tuple of numbers.)
_TWO_DIGITS: Final[tuple[str, ...]] = tuple(f"{i:02d}" for i in range(100))
_HEX_BYTE: Final[tuple[bytes, ...]] = tuple(f"{i:02X}".encode() for i in range(256))
_ZEROS: Final[tuple[str, ...]] = ("", "0", "00", "000", "0000", "00000", "000000")
_FIXED_SPEC: Final[tuple[str, ...]] = ("", ".1f", ".2f", ".3f", ".4f")
_SCALE: Final[tuple[float, ...]] = (1.0, 10.0, 100.0, 1000.0, 10000.0)
_UNITS: Final[tuple[int, ...]] = (1, 10, 100, 1000, 10000)


def nmea_sentence(body: str) -> bytes:
    """`$body*HH\\r\\n` with the checksum filled in."""
    raw = body.encode("ascii")
    return b"$" + raw + b"*" + _HEX_BYTE[nmea_checksum(raw)] + b"\r\n"


def _zero_padded(n: int, width: int) -> str:
    """`f"{n:0{width}d}"`, for widths up to 6."""
    if n < 0 or width > 6:
        return f"{n:0{width}d}"
    if width == 2 and n < 100:
        return _TWO_DIGITS[n]
    text = str(n)
    short = width - len(text)
    return _ZEROS[short] + text if short > 0 else text


def _fixed(x: float, decimals: int) -> str:
    """`format(x, f".{decimals}f")` (1 to 4 decimals): the same text, by integer arithmetic.

    The formatter rounds the float's exact value half to even. Below 1e6 the
    scaled product is off that value by under 1e-6 of a unit, so it rounds the
    same way unless it lies within 1e-4 of a half unit; those, zeros (for
    their sign), large values, infinities and NaN go to the formatter.
    """
    magnitude = abs(x)
    if not 0.0 < magnitude < 1.0e6:
        return format(x, _FIXED_SPEC[decimals])
    scaled = magnitude * _SCALE[decimals]
    units = int(scaled)
    rest = scaled - units  # exact: the fraction of a float is a float
    if 0.4999 < rest < 0.5001:
        return format(x, _FIXED_SPEC[decimals])
    if rest > 0.5:
        units += 1
    whole, part = units // _UNITS[decimals], units % _UNITS[decimals]
    sign = "-" if x < 0.0 else ""
    return f"{sign}{whole}.{_zero_padded(part, decimals)}"


def _degrees_minutes(angle_deg: float, degree_digits: int, positive: str,
                     negative: str) -> tuple[str, str]:
    """NMEA's d..dmm.mmmm field (`degree_digits` of degrees) and its hemisphere."""
    a = abs(angle_deg)
    d = int(a)
    m = (a - d) * 60.0
    # Minutes that print as 60.0000 carry into the degrees; below 59.9999
    # they cannot round up that far, and the rounding call is skipped.
    if m >= 59.9999 and round(m, 4) >= 60.0:
        d, m = d + 1, 0.0
    minutes = _fixed(m, 4)  # m >= 0: "m.mmmm" or "mm.mmmm", padded to 7 below
    if len(minutes) < 7:
        minutes = _ZEROS[7 - len(minutes)] + minutes
    return _zero_padded(d, degree_digits) + minutes, positive if angle_deg >= 0 else negative


class GpsEmulator(StreamTarget):
    """NMEA receiver (modelled on the NovAtel OEM719's GPGGA/GPRMC logs).

    `epoch_utc` is the UTC time at simulation time 0; sentences are stamped
    epoch + t. Position noise (metres, seeded) is added to the truth.
    Faults: `silent = True` (no output), `garble_rate` (bit flips, which
    the checksum catches), `lie = True` (sentences with a valid checksum but
    an impossible latitude), `stuck` (the reported position freezes), and
    `inject_fault("brownout", duration_s=...)`: silent for the duration, then
    no fix for `cold_start_s` (time to first fix after a cold start).
    `rate_hz` is the log rate: a GGA and an RMC sentence every 1/`rate_hz` s.
    """

    part = "NovAtel OEM719 (NMEA 0183)"

    def __init__(self, *, baudrate: int = 9600, epoch_utc: dt.datetime | None = None,
                 noise_m: float = 0.0, talker: str = "GP", cold_start_s: float = 30.0,
                 seed: int = 0, rate_hz: float = 1.0) -> None:
        super().__init__(baudrate=baudrate, seed=seed)
        if not rate_hz > 0.0:
            raise ValueError(f"log rate {rate_hz} Hz is not positive")
        self.period_s = 1.0 / rate_hz
        self.epoch_utc = epoch_utc or dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        self.noise_m = noise_m
        self.talker = talker
        self.lie = False
        self.cold_start_s = cold_start_s
        self._no_fix_until_s = -1.0
        self._next_s = 0.0
        self.fix: tuple[float, float, float, float, float] | None = None
        self.satellites = 9
        self.hdop = 0.9
        self.sentences = 0
        # What `_stamp` keeps between reports: the epoch it was worked out
        # for, the epoch's second of the day, its hundredths, and the day
        # (counted from the epoch's) whose ddmmyy text is kept.
        self._stamp_epoch: dt.datetime | None = None
        self._epoch_s_of_day = 0
        self._centiseconds = "00"
        self._date_day: int | None = None
        self._date_text = ""

    def set_fix(self, lat_deg: float, lon_deg: float, alt_m: float, *, speed_m_s: float = 0.0,
                course_deg: float = 0.0) -> None:
        """Truth position (WGS-84, altitude above the ellipsoid; the emulator
        reports geoid separation 0) and ground speed/course. Ignored while stuck."""
        if self.stuck:
            return
        self.fix = (lat_deg, lon_deg, alt_m, speed_m_s, course_deg % 360.0)

    def set_state_ecef(self, r_ecef_m, v_ecef_m_s=(0.0, 0.0, 0.0)) -> None:
        """Truth position and velocity in ECEF, metres and m/s."""
        lat, lon, h = ecef_to_geodetic(r_ecef_m)
        vx, vy, vz = (float(c) for c in v_ecef_m_s)
        la, lo = math.radians(lat), math.radians(lon)
        # Velocity along the local east and north unit vectors.
        ve = -math.sin(lo) * vx + math.cos(lo) * vy
        vn = (-math.sin(la) * math.cos(lo) * vx - math.sin(la) * math.sin(lo) * vy
              + math.cos(la) * vz)
        self.set_fix(lat, lon, h, speed_m_s=math.hypot(ve, vn),
                     course_deg=math.degrees(math.atan2(ve, vn)))

    def set_no_fix(self) -> None:
        self.fix = None

    def power_on_reset(self) -> None:
        # The almanac survives, the fix does not: no fix until a cold start
        # completes after power returns.
        self._no_fix_until_s = self.t_s + self.cold_start_s

    def inject_fault(self, kind: str, *, rate: float = 0.01, duration_s: float = 0.0) -> None:
        super().inject_fault(kind, rate=rate, duration_s=duration_s)
        if kind == "brownout":
            self._no_fix_until_s = self.t_s + duration_s + self.cold_start_s

    def clear_faults(self) -> None:
        super().clear_faults()
        self._no_fix_until_s = -1.0

    def advance(self, t_s: float) -> None:
        while self._next_s <= t_s:
            super().advance(self._next_s)  # ends a brown-out on time
            self._report(self._next_s)
            self._next_s += self.period_s
        super().advance(t_s)

    def _stamp(self, t_s: float) -> tuple[str, str]:
        """hhmmss.ss and ddmmyy at epoch + `t_s` (the same text as strftime's
        %H%M%S and %d%m%y)."""
        whole = int(t_s)
        if whole != t_s:
            utc = self.epoch_utc + dt.timedelta(seconds=t_s)
            return (f"{utc.hour:02d}{utc.minute:02d}{utc.second:02d}"
                    f".{utc.microsecond // 10000:02d}",
                    f"{utc.day:02d}{utc.month:02d}{utc.year % 100:02d}")
        # Whole seconds (every report at the usual rates): the time of day by
        # integer arithmetic and the date once a day. Adding to a datetime is
        # wall-clock arithmetic on its fields, whatever its time zone, so
        # this is the datetime sum's text.
        epoch = self.epoch_utc
        if epoch is not self._stamp_epoch:
            self._stamp_epoch = epoch
            self._epoch_s_of_day = epoch.hour * 3600 + epoch.minute * 60 + epoch.second
            self._centiseconds = _TWO_DIGITS[epoch.microsecond // 10000]
            self._date_day = None
        seconds = self._epoch_s_of_day + whole
        day, s = seconds // 86400, seconds % 86400
        if day != self._date_day:
            date = epoch + dt.timedelta(days=day)
            self._date_text = (_TWO_DIGITS[date.day] + _TWO_DIGITS[date.month]
                               + _TWO_DIGITS[date.year % 100])
            self._date_day = day
        return (f"{_TWO_DIGITS[s // 3600]}{_TWO_DIGITS[s // 60 % 60]}{_TWO_DIGITS[s % 60]}"
                f".{self._centiseconds}", self._date_text)

    def _report(self, t_s: float) -> None:
        hms, date = self._stamp(t_s)
        tk = self.talker
        if self.fix is None or t_s < self._no_fix_until_s:
            gga = f"{tk}GGA,{hms},,,,,0,00,99.99,,M,,M,,"
            rmc = f"{tk}RMC,{hms},V,,,,,,,{date},,,N"
        else:
            lat, lon, alt, speed, course = self.fix
            if self.noise_m:
                # normal(0, noise, 3) is 0 + noise * standard normal, drawn
                # alike; as plain floats the arithmetic below is compiled.
                zn, ze, zu = self.rng.standard_normal(3).tolist()
                noise = self.noise_m
                dn = 0.0 + noise * float(zn)
                de = 0.0 + noise * float(ze)
                du = 0.0 + noise * float(zu)
                lat += math.degrees(dn / 6378137.0)
                lon += math.degrees(de / (6378137.0 * max(math.cos(math.radians(lat)), 1e-6)))
                alt += du
                lat = max(-90.0, min(90.0, lat))
                lon = (lon + 180.0) % 360.0 - 180.0
            la, ns = _degrees_minutes(lat, 2, "N", "S")
            lo, ew = _degrees_minutes(lon, 3, "E", "W")
            if self.lie:
                la = "9512.0000"
            gga = (f"{tk}GGA,{hms},{la},{ns},{lo},{ew},1,{_zero_padded(self.satellites, 2)},"
                   f"{_fixed(self.hdop, 1)},{_fixed(alt, 1)},M,0.0,M,,")
            rmc = (f"{tk}RMC,{hms},A,{la},{ns},{lo},{ew},{_fixed(speed / KNOT_M_S, 2)},"
                   f"{_fixed(course, 2)},{date},,,A")
        self.emit(nmea_sentence(gga))
        self.emit(nmea_sentence(rmc))
        self.sentences += 2
