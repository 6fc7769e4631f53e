"""The simulated power system: solar panels, eclipses, loads and the battery.

Each second the simulator hands the power model the sun direction in the
body frame (so attitude matters) and the lit fraction of the sun's disc
(eclipses, from `ground.sim.environment`), and the model drives the EPS
emulator (`hal.sim.p31u.P31uEmulator`, which holds the battery):

- **Solar panels**: each body-mounted panel of `cell_area_m2` delivers
  ``S x area x efficiency x max(0, n . s)`` watts (S the solar constant at
  1 au, n the panel's outward normal, s the sun unit vector, both in the
  body frame), times the lit fraction; the panel regulators (peak-power
  trackers, efficiency `mppt_efficiency`) turn the sum into charge current
  at the battery voltage.
- **Loads**: `output_loads_a` maps a P31u output number to the current that
  output draws when switched on (payload, radio, ADCS wheels); the EPS
  emulator draws each only while its output is on, and latches an output off
  when its load exceeds the limit. `system_load_a` is always on (the flight
  computer).
- **Battery**: the emulator's (coulomb-counted state of charge, Li-ion
  open-circuit curve, internal resistance), with `capacity_ah` set here.

Numbers: a 3U body panel carries seven 30 %-class triple-junction cells of
26.6 cm^2 (0.0186 m^2, about 7 W at normal incidence); the loads are typical
of the parts on the reference CubeSat. A scenario may shrink `capacity_ah`
to compress hours of battery swing into minutes of simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hal.sim.p31u import P31uEmulator

SOLAR_CONSTANT_W_M2 = 1361.0  # total solar irradiance at 1 au (Kopp & Lean 2011)


@dataclass
class PowerModel:
    """Solar generation and loads of the spacecraft, driving the EPS emulator."""

    panel_normals_body: np.ndarray = field(default_factory=lambda: np.array(
        [[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0]]))
    cell_area_m2: float = 0.0186
    cell_efficiency: float = 0.28
    mppt_efficiency: float = 0.9
    system_load_a: float = 0.2
    output_loads_a: dict[int, float] = field(default_factory=lambda: {
        0: 0.55,   # payload
        1: 0.15,   # UHF radio transmitter
        2: 0.15,   # ADCS wheels
    })
    capacity_ah: float | None = None   # None keeps the emulator's battery
    soc: float | None = None           # None keeps the emulator's state of charge
    solar_w: float = 0.0

    def attach(self, eps: P31uEmulator) -> None:
        """Set the battery and the loads on the EPS emulator once, at the start."""
        if self.capacity_ah is not None:
            eps.capacity_ah = self.capacity_ah
        if self.soc is not None:
            eps.soc = self.soc
        eps.set_system_load(self.system_load_a)
        for output, current_a in self.output_loads_a.items():
            eps.set_load(output, current_a)

    def panel_power_w(self, sun_body: np.ndarray, lit_fraction: float) -> float:
        """Electrical power of all panels (W) for a sun unit vector in the body frame."""
        cosines = np.clip(self.panel_normals_body @ np.asarray(sun_body, dtype=float), 0.0, None)
        return (lit_fraction * SOLAR_CONSTANT_W_M2 * self.cell_area_m2 * self.cell_efficiency
                * float(cosines.sum()))

    def update(self, eps: P31uEmulator, sun_body: np.ndarray, lit_fraction: float) -> None:
        """Charge current into the EPS for this sun direction and illumination."""
        self.solar_w = self.panel_power_w(sun_body, lit_fraction)
        vbatt_v = max(eps.vbatt_v, 1.0)
        eps.set_solar_current(self.solar_w * self.mppt_efficiency / vbatt_v)
