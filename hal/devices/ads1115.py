"""Driver for the TI ADS1115 16-bit 4-channel ADC (I2C 0x48-0x4B), and the
coarse sun sensors read through it.

Register facts (TI ADS1115 datasheet, SBAS444; also the public
adafruit_ads1x15 driver):

    pointer 0x00 conversion (int16 BE), 0x01 config, 0x02/0x03 thresholds
    config  OS[15]  write 1: start a single conversion; read 0: converting
            MUX[14:12] 100..111: AIN0..AIN3 against GND
            PGA[11:9]  000 6.144 V, 001 4.096, 010 2.048, 011 1.024,
                       100 0.512, 101-111 0.256 V full scale
            MODE[8]    1: single-shot (power-on)
            DR[7:5]    8/16/32/64/128/250/475/860 samples/s
            COMP[4:0]  0x03: comparator disabled (power-on)
    power-on config 0x8583; LSB = full scale / 32768
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from hal import BusTimeoutError, DataError, DeviceIdError, HalError
from hal.busio import I2C
from hal.counts import signed
from hal.devices.base import Device
from hal.health import Health

__all__ = ["ADS1115", "PGA_V", "CoarseSunSensors", "SunReading"]

REG_CONVERSION: Final = 0x00
REG_CONFIG: Final = 0x01
CONFIG_POWER_ON: Final = 0x8583
OS: Final = 0x8000
MODE_SINGLE: Final = 0x0100
COMP_DISABLE: Final = 0x0003
PGA_V = {6.144: 0, 4.096: 1, 2.048: 2, 1.024: 3, 0.512: 4, 0.256: 5}
DATA_RATES = {8: 0, 16: 1, 32: 2, 64: 3, 128: 4, 250: 5, 475: 6, 860: 7}
DEFAULT_ADDRESS: Final = 0x48
_POINT_CONFIG: Final = bytes([REG_CONFIG])
_POINT_CONVERSION: Final = bytes([REG_CONVERSION])


def config_word(channel: int, pga_v: float, data_rate: int) -> int:
    """Config register value that starts a single-shot conversion of AINx vs GND."""
    return (OS | ((0x4 | channel) << 12) | (PGA_V[pga_v] << 9) | MODE_SINGLE
            | (DATA_RATES[data_rate] << 5) | COMP_DISABLE)


class ADS1115(Device):
    """TI ADS1115 in single-shot mode: `read_voltage(channel)` (volts, AINx vs GND).

    A conversion takes 1/data_rate s (1.2 ms at 860 SPS): the driver polls
    the OS bit until it reads 1, for at most `ready_timeout_s` (default two
    conversion times plus 1 ms), so one reading costs about one conversion
    time on hardware and is bounded.

    The part has no ID register; at construction the driver reads the config
    register and expects the power-on value or a single-shot configuration
    this driver would have written (`DeviceIdError` otherwise or if absent).
    """

    part = "TI ADS1115"

    def __init__(self, i2c: I2C, address: int = DEFAULT_ADDRESS, *, pga_v: float = 4.096,
                 data_rate: int = 860, ready_timeout_s: float | None = None,
                 retries: int = 2, budget_s: float = 0.02) -> None:
        super().__init__(i2c, address, retries=retries, budget_s=budget_s)
        if pga_v not in PGA_V or data_rate not in DATA_RATES:
            raise ValueError(f"pga_v one of {sorted(PGA_V)}, data_rate one of "
                             f"{sorted(DATA_RATES)}")
        self.pga_v = pga_v
        self.data_rate = data_rate
        self.ready_timeout_s = (2.0 / data_rate + 1e-3 if ready_timeout_s is None
                                else ready_timeout_s)
        self.volts_per_lsb = pga_v / 32768.0
        # Pointer byte + config word that starts a conversion, per channel.
        self._start = [_POINT_CONFIG + config_word(ch, pga_v, data_rate).to_bytes(2, "big")
                       for ch in range(4)]
        with i2c:
            try:
                config = int.from_bytes(self._xfer(_POINT_CONFIG, 2), "big")
            except HalError as exc:
                raise DeviceIdError(f"no answer to config read ({exc.reason})", bus=i2c.name,
                                    address=address, device=self.part) from exc
        if config != CONFIG_POWER_ON and (config & 0x011F) != (MODE_SINGLE | COMP_DISABLE):
            raise self._fail(DeviceIdError(
                f"config reads 0x{config:04X}, not an ADS1115 in single-shot mode"))

    def read_voltage(self, channel: int) -> float:
        """One single-shot conversion of AIN`channel` (0-3) against GND, volts."""
        return self.read_voltages((channel,))[0]

    def read_voltages(self, channels: Sequence[int]) -> list[float]:
        """Single-shot conversions of each AIN`channel` (0-3) against GND in
        turn, volts, holding the bus for all of them."""
        # As a list: compiled, a loop over a list is native, over a Sequence generic.
        chans: list[int] = channels if isinstance(channels, list) else list(channels)
        for channel in chans:  # a loop: compiled, `all` over a generator is generic calls
            if not 0 <= channel <= 3:
                raise ValueError("ADS1115 channel must be 0-3")
        # `self._xfer` called each time, not kept in a local: compiled, a method
        # call is direct and a bound method in a local a generic call. The
        # words are decoded by shifts (a transfer returns exactly the bytes asked).
        start = self._start
        volts_per_lsb = self.volts_per_lsb
        volts = []
        with self.bus:
            for channel in chans:
                self._xfer(start[channel])
                word = self._xfer(_POINT_CONFIG, 2)
                config = word[0] << 8 | word[1]
                if not config & OS:
                    config = self._wait_ready()
                if (config >> 12) & 0x7 != 0x4 | channel:
                    raise self._fail(DataError(
                        f"config 0x{config:04X} reports input mux {(config >> 12) & 7}, "
                        f"AIN{channel} was requested"))
                word = self._xfer(_POINT_CONVERSION, 2)
                volts.append(signed(word[0] << 8 | word[1], 16) * volts_per_lsb)
        return volts

    def _wait_ready(self) -> int:
        """Poll the config register until OS reads 1 (conversion done), for at
        most `ready_timeout_s`; returns the config word."""
        start = time.perf_counter()
        polls = 1
        while True:
            config = int.from_bytes(self._xfer(_POINT_CONFIG, 2), "big")
            polls += 1
            if config & OS:
                return config
            if time.perf_counter() - start > self.ready_timeout_s:
                raise self._fail(BusTimeoutError(
                    f"conversion not done after {polls} polls in "
                    f"{self.ready_timeout_s * 1e3:.1f} ms"))


@dataclass(frozen=True)
class SunReading:
    """Coarse sun sensor output.

    face_cos: per face (+X, -X, +Y, -Y, +Z, -Z) the photocurrent as a
              fraction of full sun at normal incidence (~cos of the angle).
    sun_body: unit sun vector in the body frame, or None when too little
              light reaches the sensors (eclipse, or a dead head).
    """

    face_cos: np.ndarray
    sun_body: np.ndarray | None


class CoarseSunSensors:
    """Six photodiodes, one per body face, read through ADS1115 channels.

    channels: six (ADS1115, channel) pairs in face order +X, -X, +Y, -Y, +Z, -Z.
    full_sun_v: photodiode amplifier output at normal incidence in full sun.
    The sun vector is the difference of opposite faces, normalised; with a
    cosine response and no albedo that is exact for any direction.
    """

    part = "coarse sun sensors"

    def __init__(self, channels: list[tuple[ADS1115, int]], *, full_sun_v: float = 3.0,
                 min_total: float = 0.2) -> None:
        if len(channels) != 6:
            raise ValueError("six (adc, channel) pairs, one per face")
        self.channels = list(channels)
        self.full_sun_v = full_sun_v
        self.min_total = min_total
        # Runs of faces on the same ADC, read in one bus hold each, in face order.
        self._runs: list[tuple[ADS1115, list[int]]] = []
        for adc, channel in self.channels:
            if self._runs and self._runs[-1][0] is adc:
                self._runs[-1][1].append(channel)
            else:
                self._runs.append((adc, [channel]))

    @property
    def health(self) -> list[Health]:
        """Health of the ADCs behind the sensors (one per distinct chip)."""
        seen = {}
        for adc, _ in self.channels:
            seen[id(adc)] = adc.health
        return list(seen.values())

    def read(self) -> SunReading:
        """Read all six faces; raises HalError if an ADC fails."""
        full = self.full_sun_v
        face = []
        for adc, channels in self._runs:
            for v in adc.read_voltages(channels):
                f = v / full
                face.append(f if f > 0.0 else 0.0)
        dx, dy, dz = face[0] - face[1], face[2] - face[3], face[4] - face[5]
        norm = math.sqrt(dx * dx + dy * dy + dz * dz)
        # Summed and divided in floats (left to right, as `sum` and the array
        # division do): compiled, native arithmetic instead of generic calls.
        total = 0.0
        for f in face:
            total += f
        if total < self.min_total or norm == 0.0:
            return SunReading(np.array(face), None)
        return SunReading(np.array(face), np.array((dx / norm, dy / norm, dz / norm)))
