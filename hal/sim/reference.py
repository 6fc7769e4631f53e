"""The reference CubeSat's emulators on sim buses, wired as `hal/reference.toml`
declares, for the simulator and tests.

    buses, emus = reference_sim(seed=1)
    hw = hal.config.build(hal.config.REFERENCE, sim_buses=buses)
    # each step: emus.advance(t_s); emus.magnetometer.set_field(...); ...
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hal.sim.ads1115 import ADS1115Emulator, SunSensorHeads
from hal.sim.can import SimCAN
from hal.sim.gps import GpsEmulator
from hal.sim.i2c import SimI2C
from hal.sim.imtq import IMTQEmulator
from hal.sim.l3gd20h import L3GD20HEmulator
from hal.sim.p31u import P31uEmulator
from hal.sim.radio import UhfRadioEmulator
from hal.sim.rm3100 import RM3100Emulator
from hal.sim.spi import SimSPI
from hal.sim.uart import SimUART
from hal.sim.wheel import ReactionWheelEmulator

__all__ = ["ReferenceEmulators", "reference_sim"]


@dataclass
class ReferenceEmulators:
    """Every emulator of the reference CubeSat."""

    magnetometer: RM3100Emulator
    magnetorquer: IMTQEmulator
    gyro: L3GD20HEmulator
    sun_adc_a: ADS1115Emulator
    sun_adc_b: ADS1115Emulator
    sun: SunSensorHeads
    wheels: list[ReactionWheelEmulator]
    eps: P31uEmulator
    gps: GpsEmulator
    radio: UhfRadioEmulator
    timed: list = field(default_factory=list)

    def advance(self, t_s: float) -> None:
        """Give every emulator the simulation time (seconds)."""
        for emu in self.timed:
            emu.advance(t_s)


def reference_sim(*, seed: int = 0, realistic: bool = True) -> tuple[dict, ReferenceEmulators]:
    """Sim buses named as in the reference configuration, emulators attached.

    realistic: give the parts their datasheet-like noise (RM3100 ~15 nT,
    L3GD20H ~0.03 dps rms at 100 Hz, ADS1115 ~0.2 mV, photodiode scale
    errors 2 %, GPS 5 m); False gives noise-free emulators.
    """
    k = 1.0 if realistic else 0.0
    i2c, spi, can = SimI2C("i2c0"), SimSPI("spi0"), SimCAN("can0")
    spi.configure(baudrate=1_000_000, polarity=1, phase=1)
    mag = RM3100Emulator(noise_t=15e-9 * k, seed=seed)
    mtq = IMTQEmulator(seed=seed + 1)
    gyro = L3GD20HEmulator(noise_rad_s=5e-4 * k, seed=seed + 2)
    adc_a = ADS1115Emulator(noise_v=2e-4 * k, seed=seed + 3)
    adc_b = ADS1115Emulator(noise_v=2e-4 * k, seed=seed + 4)
    sun = SunSensorHeads([(adc_a, 0), (adc_a, 1), (adc_a, 2), (adc_a, 3), (adc_b, 0),
                          (adc_b, 1)], scale_error=0.02 * k, seed=seed + 5)
    wheels = [ReactionWheelEmulator(n, seed=seed + 10 + n) for n in (1, 2, 3, 4)]
    eps = P31uEmulator(seed=seed + 6)
    gps = GpsEmulator(baudrate=9600, noise_m=5.0 * k, seed=seed + 7)
    radio = UhfRadioEmulator(baudrate=19200, seed=seed + 8)
    i2c.attach(0x20, mag)
    i2c.attach(0x10, mtq)
    i2c.attach(0x48, adc_a)
    i2c.attach(0x49, adc_b)
    i2c.attach(0x02, eps)
    spi.attach(0, gyro)
    for w in wheels:
        can.attach(w)
    buses = {"i2c0": i2c, "spi0": spi, "can0": can,
             "gps_uart": SimUART("gps_uart", gps, baudrate=9600),
             "radio_uart": SimUART("radio_uart", radio, baudrate=19200)}
    emus = ReferenceEmulators(mag, mtq, gyro, adc_a, adc_b, sun, wheels, eps, gps, radio)
    emus.timed = [mag, mtq, gyro, adc_a, adc_b, eps, gps, radio, *wheels]
    return buses, emus
