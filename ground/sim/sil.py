"""Software-in-the-loop: the real flight executive on the `sim` HAL backend.

`build_sil` wires one run of the reference CubeSat: sim buses (I2C, SPI,
CAN) carrying register-level emulators of every device, the real drivers on
top of them, the flight executive booted from a flight configuration on a
`VirtualClock`, and the simulator attached as the clock's listener. Nothing
in the flight software knows it is simulated.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fsw.core import Executive, VirtualClock
from fsw.core.executive import load_config
from fsw.core.time import DEFAULT_EPOCH_TAI_S
from fsw.gnc.ephemeris import MeanElements
from ground.sim.environment import Environment, FieldModel
from ground.sim.orbit import Sgp4Orbit
from ground.sim.simulator import Emulators, Simulator
from ground.sim.spacecraft import SpacecraftModel
from hal.devices.ads1115 import ADS1115, CoarseSunSensors
from hal.devices.imtq import IMTQ
from hal.devices.l3gd20h import L3GD20H
from hal.devices.rm3100 import RM3100
from hal.devices.wheel import ReactionWheel, ReactionWheels
from hal.sim import SimI2C
from hal.sim.ads1115 import ADS1115Emulator, SunSensorHeads
from hal.sim.can import SimCAN
from hal.sim.imtq import IMTQEmulator
from hal.sim.l3gd20h import L3GD20HEmulator
from hal.sim.rm3100 import RM3100Emulator
from hal.sim.spi import SimSPI
from hal.sim.wheel import ReactionWheelEmulator

DEFAULT_FLIGHT_CONFIG = Path(__file__).resolve().parents[2] / "fsw" / "configs" / "reference.toml"


@dataclass
class Scenario:
    """What the simulated world looks like at t = 0."""

    alt_km: float = 500.0
    inclination_deg: float = 97.4
    raan_deg: float = 0.0
    epoch_tai_s: float = DEFAULT_EPOCH_TAI_S
    w0_body_deg_s: tuple[float, float, float] = (10.0, 10.0, 10.0)
    q0_body_eci: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    field_model: FieldModel = "igrf"
    seed: int = 1
    model: SpacecraftModel = field(default_factory=SpacecraftModel)

    @property
    def elements(self) -> MeanElements:
        return MeanElements.circular(self.alt_km, self.epoch_tai_s, self.inclination_deg,
                                     self.raan_deg)


@dataclass
class SilRun:
    """One wired software-in-the-loop run."""

    executive: Executive
    simulator: Simulator
    clock: VirtualClock
    emulators: Emulators
    buses: dict[str, Any]


def build_emulators(model: SpacecraftModel, seed: int) -> tuple[Emulators, dict[str, Any]]:
    """The spacecraft's devices as emulators on sim buses (the reference wiring)."""
    i2c, spi, can = SimI2C("i2c0"), SimSPI("spi0"), SimCAN("can0")
    emulators = Emulators(RM3100Emulator(noise_t=model.magnetometer_noise_t, seed=seed),
                          IMTQEmulator(max_dipole_am2=model.max_dipole_am2, seed=seed))
    i2c.attach(0x20, emulators.magnetometer)
    i2c.attach(0x10, emulators.magnetorquer)
    if model.has_gyro:
        emulators.gyro = L3GD20HEmulator(noise_rad_s=model.gyro_noise_rad_s,
                                         bias_rad_s=model.gyro_bias_rad_s, seed=seed + 1)
        spi.attach(0, emulators.gyro)
    if model.has_sun_sensors:
        adc_a = ADS1115Emulator(noise_v=model.sun_sensor_noise_v, seed=seed + 2)
        adc_b = ADS1115Emulator(noise_v=model.sun_sensor_noise_v, seed=seed + 3)
        i2c.attach(0x48, adc_a)
        i2c.attach(0x49, adc_b)
        emulators.sun_sensors = SunSensorHeads([(adc_a, c) for c in range(4)] +
                                               [(adc_b, 0), (adc_b, 1)], seed=seed + 4)
        emulators.others += [adc_a, adc_b]
    for node, wheel in enumerate(model.wheels, start=1):
        emulator = ReactionWheelEmulator(node, max_torque_nm=wheel.max_torque_nm,
                                         max_speed_rad_s=wheel.max_speed_rad_s,
                                         seed=seed + 4 + node)
        can.attach(emulator)
        emulators.wheels.append(emulator)
    return emulators, {"i2c0": i2c, "spi0": spi, "can0": can}


def build_drivers(buses: dict[str, Any], model: SpacecraftModel) -> dict[str, Any]:
    """The flight drivers for the devices the model carries, on the given buses."""
    i2c = buses["i2c0"]
    devices: dict[str, Any] = {"magnetometer": RM3100(i2c, 0x20), "magnetorquer": IMTQ(i2c, 0x10)}
    if model.has_gyro:
        devices["gyro"] = L3GD20H(buses["spi0"], 0)
    if model.has_sun_sensors:
        adc_a, adc_b = ADS1115(i2c, 0x48), ADS1115(i2c, 0x49)
        devices["sun_sensors"] = CoarseSunSensors([(adc_a, c) for c in range(4)] +
                                                  [(adc_b, 0), (adc_b, 1)])
    if model.wheels:
        devices["wheels"] = ReactionWheels([ReactionWheel(buses["can0"], node)
                                            for node in range(1, len(model.wheels) + 1)])
    return devices


def build_sil(scenario: Scenario | None = None,
              flight_config: str | Path | dict = DEFAULT_FLIGHT_CONFIG) -> SilRun:
    """Wire emulators, drivers, executive and simulator for one run."""
    scenario = scenario or Scenario()
    emulators, buses = build_emulators(scenario.model, scenario.seed)
    orbit = Sgp4Orbit(scenario.elements, scenario.epoch_tai_s)
    simulator = Simulator(orbit, Environment(scenario.epoch_tai_s, scenario.field_model),
                          scenario.model, emulators, q0_body_eci=np.array(scenario.q0_body_eci),
                          w0_body_rad_s=np.radians(scenario.w0_body_deg_s))
    simulator.start(0.0)

    clock = VirtualClock(epoch_tai_s=scenario.epoch_tai_s)
    clock.add_listener(simulator.advance)
    devices = build_drivers(buses, scenario.model)
    config = _with_uplinked_orbit(load_config(flight_config), scenario.elements)
    executive = Executive.from_config(config, clock, devices=devices)
    return SilRun(executive, simulator, clock, emulators, buses)


def _with_uplinked_orbit(config: dict[str, Any], elements: MeanElements) -> dict[str, Any]:
    """The flight configuration with the orbit the ground would have uplinked."""
    config = copy.deepcopy(config)
    for app in config.get("apps", []):
        if app.get("class", "").startswith("fsw.apps.adcs") and "tle" not in app.get("config", {}):
            app.setdefault("config", {})["orbit"] = elements.as_dict()
    return config
