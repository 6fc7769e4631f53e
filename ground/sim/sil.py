"""Software-in-the-loop: the real flight executive on the `sim` HAL backend.

`build_sil` wires one run: a `SimI2C` bus with register-level emulators of
the spacecraft's devices, the real drivers on top of it, the flight
executive booted from a flight configuration on a `VirtualClock`, and the
simulator attached as the clock's listener. Nothing in the flight software
knows it is simulated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fsw.core import Executive, VirtualClock
from ground.sim.environment import Environment
from ground.sim.orbit import KeplerOrbit
from ground.sim.simulator import Simulator
from ground.sim.spacecraft import SpacecraftModel
from hal.devices.imtq import IMTQ
from hal.devices.rm3100 import RM3100
from hal.sim import SimI2C
from hal.sim.imtq import IMTQEmulator
from hal.sim.rm3100 import RM3100Emulator

DEFAULT_FLIGHT_CONFIG = Path(__file__).resolve().parents[2] / "fsw" / "configs" / "detumble.toml"


@dataclass
class Scenario:
    """What the simulated world looks like at t = 0."""

    alt_km: float = 500.0
    inclination_deg: float = 97.4
    w0_body_deg_s: tuple[float, float, float] = (10.0, 10.0, 10.0)
    q0_body_eci: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    magnetometer_noise_t: float = 15e-9
    seed: int = 1
    model: SpacecraftModel = field(default_factory=SpacecraftModel)


@dataclass
class SilRun:
    """One wired software-in-the-loop run."""

    executive: Executive
    simulator: Simulator
    clock: VirtualClock
    bus_i2c: SimI2C


def build_sil(scenario: Scenario | None = None,
              flight_config: str | Path | dict = DEFAULT_FLIGHT_CONFIG) -> SilRun:
    """Wire emulators, drivers, executive and simulator for one run."""
    scenario = scenario or Scenario()
    i2c = SimI2C("i2c0")
    mag_emu = RM3100Emulator(noise_t=scenario.magnetometer_noise_t, seed=scenario.seed)
    mtq_emu = IMTQEmulator(max_dipole_am2=scenario.model.max_dipole_am2, seed=scenario.seed)
    i2c.attach(0x20, mag_emu)
    i2c.attach(0x10, mtq_emu)

    orbit = KeplerOrbit.circular(scenario.alt_km, scenario.inclination_deg)
    simulator = Simulator(orbit, Environment(), scenario.model, magnetometer=mag_emu,
                          magnetorquer=mtq_emu, q0_body_eci=np.array(scenario.q0_body_eci),
                          w0_body_rad_s=np.radians(scenario.w0_body_deg_s))
    simulator.start(0.0)

    clock = VirtualClock()
    clock.add_listener(simulator.advance)
    devices = {"magnetometer": RM3100(i2c, 0x20), "magnetorquer": IMTQ(i2c, 0x10)}
    executive = Executive.from_config(flight_config, clock, devices=devices)
    return SilRun(executive, simulator, clock, i2c)
