"""Register-level emulator of the TI ADS1115 ADC, and a coarse-sun-sensor
head model that feeds photodiode voltages into ADS1115 emulators (see
`hal.devices.ads1115` for the register facts)."""

from __future__ import annotations

from typing import Final

import numpy as np

from hal.counts import nearest
from hal.devices.ads1115 import CONFIG_POWER_ON, REG_CONFIG, REG_CONVERSION
from hal.sim.emulator import I2CTarget

__all__ = ["ADS1115Emulator", "SunSensorHeads"]

_FSR_V = (6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256)
_CODES_PER_V: Final = tuple(32768.0 / fsr for fsr in _FSR_V)
# One bytes object per byte value: a register word is read as two of them
# joined (compiled, two list indexes and a concatenation, cheaper than
# `int.to_bytes`).
_BYTE: Final = [bytes([value]) for value in range(256)]
FACE_NORMALS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]],
                        dtype=float)


class ADS1115Emulator(I2CTarget):
    """The ADS1115: pointer register, 16-bit config and conversion registers.

    Truth in: `set_inputs(volts)` (AIN0..AIN3 against GND) or
    `set_input(channel, volts)`. A single-shot conversion completes at once
    (the 1/DR conversion time is not modelled: the config OS bit reads 1 by
    the next transaction). Result: input + Gaussian noise (seeded),
    quantised at the programmed full scale and clipped to the int16 code
    range. Reading more than two bytes repeats the register, as the part does.
    """

    part = "TI ADS1115"

    def __init__(self, *, noise_v: float = 0.0, seed: int = 0) -> None:
        self.noise_v = float(noise_v)
        # Plain floats: a conversion reads one every transaction.
        self._inputs_v = [0.0, 0.0, 0.0, 0.0]
        super().__init__(seed=seed)
        self.power_on_reset()

    def power_on_reset(self) -> None:
        self.pointer = 0
        self.config = CONFIG_POWER_ON
        self.conversion = 0
        self.thresholds = [0x8000, 0x7FFF]

    @property
    def inputs_v(self) -> np.ndarray:
        """Voltages at AIN0..AIN3, volts, shape (4,)."""
        return np.array(self._inputs_v)

    def set_inputs(self, volts) -> None:
        """Voltages at AIN0..AIN3, volts. Ignored while stuck (the inputs
        freeze, so every channel keeps converting its old value)."""
        if not self.stuck:
            self._inputs_v = np.asarray(volts, dtype=float).reshape(4).tolist()

    def set_input(self, channel: int, volts: float) -> None:
        """Voltage at one input AIN`channel` (0-3), volts; ignored while stuck."""
        if not self.stuck:
            self._inputs_v[channel] = float(volts)

    def on_write(self, out: bytes) -> None:
        pointer = self.pointer = out[0] & 0x03
        if len(out) < 3:
            return
        value = (out[1] << 8) | out[2]
        if pointer == REG_CONFIG:
            self.config = value & 0x7FFF | 0x8000  # OS reads 1: conversion done
            if value & 0x8000 or not value & 0x0100:
                self._convert()
        elif pointer >= 2:
            self.thresholds[pointer - 2] = value

    def _convert(self) -> None:
        config = self.config
        mux = (config >> 12) & 0x7
        v = self._inputs_v[mux - 4] if mux >= 4 else 0.0  # differential modes read 0
        if self.noise_v:
            v += self.noise_v * self.noise.draw()
        code = nearest(v * _CODES_PER_V[(config >> 9) & 0x7])
        self.conversion = -32768 if code < -32768 else 32767 if code > 32767 else code

    def on_read(self, n: int) -> bytes:
        pointer = self.pointer
        if pointer == REG_CONVERSION:
            if not self.config & 0x0100:  # continuous mode keeps converting
                self._convert()
            word = self.conversion & 0xFFFF
        elif pointer == REG_CONFIG:
            word = self.config
        else:
            word = self.thresholds[pointer - 2]
        two = _BYTE[word >> 8] + _BYTE[word & 0xFF]
        return two if n == 2 else (two * (n // 2 + 1))[:n]


class SunSensorHeads:
    """Photodiodes on the six body faces, wired to ADS1115 emulator inputs.

    channels: six (ADS1115Emulator, input) pairs in face order +X, -X, +Y,
    -Y, +Z, -Z (the same wiring the flight configuration declares).
    Each face gives full_sun_v * illumination * max(0, n . s) (cosine law),
    times a per-face scale error drawn once (seeded), plus `albedo_v` on
    every face to stand for Earth light.
    """

    def __init__(self, channels: list[tuple[ADS1115Emulator, int]], *,
                 full_sun_v: float = 3.0, scale_error: float = 0.0, albedo_v: float = 0.0,
                 seed: int = 0) -> None:
        if len(channels) != 6:
            raise ValueError("six (emulator, input) pairs, one per face")
        self.channels = list(channels)
        self.full_sun_v = full_sun_v
        self.albedo_v = albedo_v
        rng = np.random.default_rng(seed)
        self.scale = 1.0 + scale_error * rng.standard_normal(6)
        self._scale: list[float] = self.scale.tolist()
        # The wiring as two typed lists: compiled, per face a list index and
        # native float arithmetic instead of a generic loop over pairs.
        self._emus = [emu for emu, _ in self.channels]
        self._inputs = [ch for _, ch in self.channels]

    def set_sun(self, sun_body_unit, illumination_fraction: float) -> None:
        """Truth: unit sun vector in the body frame and the lit fraction
        (1 in sunlight, 0 in umbra, between in penumbra)."""
        sx, sy, sz = sun_body_unit
        x, y, z = float(sx), float(sy), float(sz)
        full = self.full_sun_v * float(illumination_fraction)
        albedo = self.albedo_v
        # Faces +X, -X, +Y, -Y, +Z, -Z: n . s is +-x, +-y, +-z (FACE_NORMALS).
        self._face(0, x, full, albedo)
        self._face(1, -x, full, albedo)
        self._face(2, y, full, albedo)
        self._face(3, -y, full, albedo)
        self._face(4, z, full, albedo)
        self._face(5, -z, full, albedo)

    def _face(self, face: int, cos: float, full: float, albedo: float) -> None:
        """`ADS1115Emulator.set_input` inlined for one face: six inputs every
        simulated step."""
        emu = self._emus[face]
        if not emu.stuck:
            emu._inputs_v[self._inputs[face]] = (full * (cos if cos > 0.0 else 0.0)
                                                 * self._scale[face] + albedo)
