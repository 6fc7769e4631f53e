"""Software-in-the-loop: the real flight executive on the `sim` HAL backend.

`build_sil` wires one run of the reference CubeSat: sim buses carrying
register-level emulators of every device (`hal.sim.reference`), the real
drivers built from the same device configuration a flight computer uses
(`hal/reference.toml`, backends `sim`), the flight executive booted from a
flight configuration on a `VirtualClock`, and the simulator attached as the
clock's listener. Nothing in the flight software knows it is simulated.
"""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import hal.config
from fsw.core import Executive, Store, VirtualClock
from fsw.core.executive import load_config
from fsw.core.time import DEFAULT_EPOCH_TAI_S
from fsw.core.wiring import Wiring
from fsw.gnc.ephemeris import MeanElements
from fsw.protocol.keyfile import KeyFile, simulator_key_file
from ground.sim.environment import Environment, FieldModel
from ground.sim.orbit import Sgp4Orbit
from ground.sim.simulator import Simulator
from ground.sim.spacecraft import SpacecraftModel
from hal.sim.reference import ReferenceEmulators, reference_sim

DEFAULT_FLIGHT_CONFIG = Path(__file__).resolve().parents[2] / "fsw" / "configs" / "reference.toml"


@dataclass
class Scenario:
    """What the simulated world looks like at t = 0."""

    alt_km: float = 500.0
    inclination_deg: float = 97.4
    raan_deg: float = 0.0
    mean_anomaly_deg: float = 0.0
    epoch_tai_s: float = DEFAULT_EPOCH_TAI_S
    w0_body_deg_s: tuple[float, float, float] = (10.0, 10.0, 10.0)
    q0_body_eci: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    field_model: FieldModel = "igrf"
    seed: int = 1
    sensor_noise: bool = True
    model: SpacecraftModel = field(default_factory=SpacecraftModel)

    @property
    def elements(self) -> MeanElements:
        return dataclasses.replace(
            MeanElements.circular(self.alt_km, self.epoch_tai_s, self.inclination_deg,
                                  self.raan_deg), mean_anomaly_deg=self.mean_anomaly_deg)


@dataclass
class SilRun:
    """One wired software-in-the-loop run."""

    executive: Executive
    simulator: Simulator
    clock: VirtualClock
    emulators: ReferenceEmulators
    hardware: hal.config.Hardware
    keys: KeyFile | None = None
    workdir: Path | None = None
    _tmp: Any = None


def hal_config_for(model: SpacecraftModel) -> hal.config.HalConfig:
    """The reference device configuration, less the devices this spacecraft lacks."""
    cfg = hal.config.load_config(hal.config.REFERENCE)
    absent = set()
    if not model.has_gyro:
        absent.add("gyro")
    if not model.has_sun_sensors:
        absent |= {"sun_sensors", "sun_adc_a", "sun_adc_b"}
    if not model.wheels:
        absent.add("wheels")
    if not model.has_power_gps_radio:
        absent |= {"eps", "gps", "radio"}
    return hal.config.HalConfig(cfg.buses, {name: spec for name, spec in cfg.devices.items()
                                            if name not in absent})


def build_sil(scenario: Scenario | None = None,
              flight_config: str | Path | dict = DEFAULT_FLIGHT_CONFIG, *,
              store: Store | None = None, workdir: str | Path | None = None) -> SilRun:
    """Wire emulators, drivers, executive and simulator for one run (with the
    flight software's persistent `store` when given).

    The simulation plays the ground too: an app configured with a `key_file`
    (the comms app) gets fresh simulator keys (`fsw.protocol.keyfile.
    simulator_key_file`) written in `workdir` (a temporary folder by default),
    with its anti-replay store beside them; `SilRun.keys` holds them for the
    ground side of a scenario."""
    scenario = scenario or Scenario()
    buses, emulators = reference_sim(seed=scenario.seed, realistic=scenario.sensor_noise)
    orbit = Sgp4Orbit(scenario.elements, scenario.epoch_tai_s)
    simulator = Simulator(orbit, Environment(scenario.epoch_tai_s, scenario.field_model),
                          scenario.model, emulators, q0_body_eci=np.array(scenario.q0_body_eci),
                          w0_body_rad_s=np.radians(scenario.w0_body_deg_s))
    simulator.start(0.0)

    clock = VirtualClock(epoch_tai_s=scenario.epoch_tai_s)
    clock.add_listener(simulator.advance)
    hardware = hal.config.build(hal_config_for(scenario.model), sim_buses=buses)
    config = _with_uplinked_orbit(load_config(flight_config), scenario.elements)
    tmp = None
    if workdir is None and any(set(a.get("config", {})) & ({"key_file"} | set(FILE_KEYS))
                               for a in config.get("apps", [])):
        tmp = tempfile.TemporaryDirectory(prefix="tessera-sil-")
        workdir = tmp.name
        Path(workdir).chmod(0o711)  # partner apps' own user ids reach their folders
    if workdir is not None:
        with_mission_files(config, Path(workdir))
    keys = with_simulator_keys(config, Path(workdir)) if workdir is not None else None
    executive = Executive.from_config(config, clock, devices=hardware.devices, store=store)
    return SilRun(executive, simulator, clock, emulators, hardware, keys,
                  None if workdir is None else Path(workdir), tmp)


FILE_KEYS = ("root", "path", "incoming", "outgoing", "work_dir")
"""App configuration keys that name on-board files or folders (payload host, audit, file
transfer): relative ones are under the flight software's working directory."""
CONFIG_DIR = DEFAULT_FLIGHT_CONFIG.parent


def with_mission_files(config: dict[str, Any], workdir: Path,
                       config_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    """Put every relative on-board path of `config` under `workdir` (a run's own folder,
    so a simulation never writes in the tree) and find a relative ``allocations`` file
    beside the flight configuration. The paths are absolute: sandboxed apps do not
    share the flight software's working directory."""
    workdir = workdir.resolve()
    for app in config.get("apps", []):
        cfg = app.get("config", {})
        for key in FILE_KEYS:
            if isinstance(cfg.get(key), str) and not Path(cfg[key]).is_absolute():
                cfg[key] = str(workdir / cfg[key])
        if isinstance(cfg.get("allocations"), str) and \
                not Path(cfg["allocations"]).is_absolute():
            cfg["allocations"] = str(config_dir / cfg["allocations"])
    return config


def with_simulator_keys(config: dict[str, Any], workdir: Path) -> KeyFile | None:
    """Point every app that takes a key file at fresh simulator keys in `workdir`."""
    keys = None
    for app in config.get("apps", []):
        cfg = app.get("config", {})
        if "key_file" in cfg:
            path = workdir / f"{app['name']}-keys.json"
            keys = keys or simulator_key_file()
            keys.save(path)
            cfg["key_file"] = str(path)
            cfg["arsn_db"] = str(workdir / f"{app['name']}-arsn.db")
    return keys


def _with_uplinked_orbit(config: dict[str, Any], elements: MeanElements) -> dict[str, Any]:
    """The flight configuration with the orbit the ground would have uplinked to the app
    the wiring names (`orbit_to`)."""
    config = copy.deepcopy(config)
    target = Wiring.from_config(config.get("wiring")).orbit_to
    for app in config.get("apps", []):
        if app.get("name") == target and "tle" not in app.get("config", {}):
            app.setdefault("config", {})["orbit"] = elements.as_dict()
    return config
