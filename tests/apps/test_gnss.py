"""The GNSS app as the ground sees it: its housekeeping after the receiver
sent NMEA 0183 sentences, a bad sentence, a failed read, and no receiver.

The sentences are the textbook GGA and RMC examples of NMEA 0183 (fix at
12:35:19 UTC, 48 deg 07.038' N, 11 deg 31.000' E, 545.4 m above mean sea
level, checksums 0x47 and 0x6A as published); the expected values are read
off them by hand, not by the driver's parser."""

from __future__ import annotations

import pytest

from fsw.apps.gnss import GnssApp
from fsw.core import AppSpec, Executive, VirtualClock
from fsw.core.events import EVENT_MSG, Event
from hal import BusTimeoutError
from hal.devices.gps import GpsReceiver
from hal.sim.uart import SimUART, StreamTarget

GGA = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"
RMC = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"
# No fix: quality 0 and empty position fields (checksum: XOR of the body, 0x61).
GGA_NO_FIX = b"$GPGGA,123520,,,,,0,00,,,M,,M,,*61\r\n"
LAT_DEG = 48 + 7.038 / 60
LON_DEG = 11 + 31.000 / 60


class Talker(StreamTarget):
    """A receiver that sends what the test gives it; a read can be made to fail."""

    part = "NMEA talker"
    failing = False

    def available(self) -> int:
        if self.failing:
            raise BusTimeoutError("UART read timed out")
        return super().available()


def boot(with_receiver: bool = True):
    talker = Talker(baudrate=115200)
    devices = {"gps": GpsReceiver(SimUART("gps", talker))} if with_receiver else {}
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,), devices=devices)
    exe.add_app(AppSpec("gnss", GnssApp, 1.0))
    events = exe.bus.create_pipe("test.events", 64)
    exe.bus.subscribe(events, EVENT_MSG.msg_id)
    assert exe.boot() == []
    hk = exe.bus.create_pipe("test.hk", 64)
    exe.bus.subscribe(hk, GnssApp.HK.msg_id)
    return exe, talker, hk, events


def send(exe, talker: Talker, data: bytes, seconds: float = 1.0) -> None:
    """The talker sends `data` now; the flight software runs `seconds` on."""
    talker.advance(exe.clock.now())
    talker.emit(data)
    end = exe.clock.now() + seconds
    talker.advance(end)
    exe.run(seconds)


def latest_hk(pipe) -> dict:
    packets = pipe.drain()
    assert packets, "no housekeeping was reported"
    return GnssApp.HK.unpack(packets[-1][1])


def test_a_fix_is_reported_in_degrees_and_metres():
    exe, talker, hk, _ = boot()
    send(exe, talker, GGA + RMC, 2.0)
    values = latest_hk(hk)
    assert values["valid"] == 1
    assert values["lat_deg"] == pytest.approx(LAT_DEG, abs=1e-9)
    assert values["lon_deg"] == pytest.approx(LON_DEG, abs=1e-9)
    assert values["alt_m"] == pytest.approx(545.4, abs=1e-3)  # single float
    assert values["fixes"] == 1
    assert values["receiver_errors"] == 0 and values["read_faults"] == 0
    # A second fix a second later counts again.
    send(exe, talker, GGA + RMC, 1.0)
    assert latest_hk(hk)["fixes"] == 2


def test_without_a_fix_the_position_reads_zero_and_invalid():
    exe, talker, hk, _ = boot()
    send(exe, talker, GGA_NO_FIX, 2.0)
    values = latest_hk(hk)
    assert values["fixes"] == 1 and values["valid"] == 0
    assert (values["lat_deg"], values["lon_deg"], values["alt_m"]) == (0.0, 0.0, 0.0)


def test_a_damaged_sentence_is_counted_and_the_last_fix_kept():
    exe, talker, hk, _ = boot()
    send(exe, talker, GGA + RMC, 2.0)
    damaged = GGA.replace(b"*47", b"*48")  # checksum off by one
    send(exe, talker, damaged, 1.0)
    values = latest_hk(hk)
    assert values["receiver_errors"] == 1 and values["read_faults"] == 0
    assert values["fixes"] == 1 and values["valid"] == 1
    assert values["lat_deg"] == pytest.approx(LAT_DEG, abs=1e-9)


def test_failed_reads_are_counted_reported_and_the_app_runs_on():
    exe, talker, hk, events = boot()
    talker.failing = True
    send(exe, talker, b"", 2.0)
    texts = [Event.decode(p).text for _, p in events.drain()]
    failed = [t for t in texts if t.startswith("GPS read failed")]
    assert len(failed) == 2
    assert failed[0] == ("GPS read failed (1): NovAtel OEM719 (NMEA 0183), bus gps: "
                         "UART read timed out")
    assert failed[1].startswith("GPS read failed (2): ")
    values = latest_hk(hk)
    assert values["read_faults"] == 2 and values["receiver_errors"] == 2
    # The receiver answers again: the next fix gets through.
    talker.failing = False
    send(exe, talker, GGA + RMC, 1.0)
    values = latest_hk(hk)
    assert values["fixes"] == 1 and values["valid"] == 1 and values["read_faults"] == 2
    assert exe.apps["gnss"].state.name == "RUNNING"


def test_without_a_receiver_the_app_idles():
    exe, _, hk, _ = boot(with_receiver=False)
    exe.run(3.0)
    values = latest_hk(hk)
    assert values == {**values, "fixes": 0, "valid": 0, "lat_deg": 0.0, "lon_deg": 0.0,
                      "alt_m": 0.0, "receiver_errors": 0, "read_faults": 0}


def test_a_parameter_the_gnss_app_does_not_have_is_refused_at_boot():
    # docs/apps.md: an app's configuration may set only parameters it declares
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,))
    exe.add_app(AppSpec("gnss", GnssApp, 1.0, {"parameters": {"gain": 2.0}}))
    assert exe.boot() == ["gnss"]
    assert any("no parameter named 'gain'" in e.text for e in exe.events.recent)
