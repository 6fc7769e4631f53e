"""Closed-loop detumble speed: simulated seconds per wall second at 10 Hz control.

The scenario, the same on both sides: a 3U spacecraft (same mass, inertia
and initial rates) in the same 500 km, 97.4 deg circular orbit, the orbit
integrated with RK4 at 0.1 s under point-mass gravity, a centred dipole
field with the same IGRF-13 degree-1 coefficients, a magnetometer with
15 nT noise, three 0.2 A m^2 torquers, and a B-dot law (gain 2e5, filter
0.5, saturation by the largest axis) stepped from Python every 0.1 s, the
attitude integrated with RK4 at 0.1 s; 1,500 s simulated.

- Tessera engine: `fsw.gnc.dynamics.RigidBody` (C), the dipole field of
  `ground.sim.environment` (C) and `fsw.gnc.bdot.BDot` (C) driven by a
  Python loop, the orbit integrated by a two-body RK4 step in plain floats
  written here (Tessera's own orbits are analytic: Kepler or SGP4).
- Basilisk (`bsk`): its spacecraft hub with point-mass gravity (its RK4
  integrates orbit and attitude together), `MagneticFieldCenteredDipole`,
  `Magnetometer`, `MtbEffector`, and the B-dot law as a Basilisk Python
  module in plain floats reusing one command payload (the fastest way to
  write it in Basilisk's terms).
- Remaining difference: Basilisk's dipole stays fixed in inertial space (no
  planet ephemeris is loaded), Tessera's turns with the Earth (GMST), a
  few floating-point operations more per step on Tessera's side.

A second Tessera figure runs the flight software in the loop (`tessera
demo`'s SIL stack fitted like the peer: executive, ADCS app with its C
cycle, RM3100 and iMTQ drivers over the `sim` buses with register-level
emulators), which Basilisk does not model: more work, reported against the
same Basilisk run for the record, not as a like-for-like ratio.

    python -m bench detumble
"""

from __future__ import annotations

import math
import time

import numpy as np

from bench.common import heading, measure, note, paired, report
from ground.sim.orbit import MU_EARTH_KM3_S2, KeplerOrbit
from ground.sim.sil import Scenario, build_sil
from ground.sim.spacecraft import SpacecraftModel

SIM_S = 1500.0
STEP_S = 0.1
GAIN = 2e5
ALPHA = 0.5
MAX_DIPOLE = 0.2


def tessera_sil(scenario: Scenario) -> tuple[float, float]:
    """Wall seconds of the run, and |w| at the end (deg/s)."""
    run = build_sil(scenario)
    run.executive.boot()
    start = time.perf_counter()
    run.executive.run(SIM_S)
    wall = time.perf_counter() - start
    return wall, float(np.degrees(np.linalg.norm(run.simulator.body.w_body_rad_s)))


def _two_body_rk4(r: list[float], v: list[float], dt: float, mu: float) -> None:
    """One RK4 step of r'' = -mu r / |r|^3 in place (m, m/s), plain floats."""
    def acc(x: float, y: float, z: float) -> tuple[float, float, float]:
        k = -mu / (x * x + y * y + z * z) ** 1.5
        return k * x, k * y, k * z

    x, y, z = r
    vx, vy, vz = v
    a1 = acc(x, y, z)
    h = 0.5 * dt
    a2 = acc(x + h * vx, y + h * vy, z + h * vz)
    v2 = (vx + h * a1[0], vy + h * a1[1], vz + h * a1[2])
    a3 = acc(x + h * v2[0], y + h * v2[1], z + h * v2[2])
    v3 = (vx + h * a2[0], vy + h * a2[1], vz + h * a2[2])
    a4 = acc(x + dt * v3[0], y + dt * v3[1], z + dt * v3[2])
    v4 = (vx + dt * a3[0], vy + dt * a3[1], vz + dt * a3[2])
    s = dt / 6.0
    r[0] = x + s * (vx + 2 * v2[0] + 2 * v3[0] + v4[0])
    r[1] = y + s * (vy + 2 * v2[1] + 2 * v3[1] + v4[1])
    r[2] = z + s * (vz + 2 * v2[2] + 2 * v3[2] + v4[2])
    v[0] = vx + s * (a1[0] + 2 * a2[0] + 2 * a3[0] + a4[0])
    v[1] = vy + s * (a1[1] + 2 * a2[1] + 2 * a3[1] + a4[1])
    v[2] = vz + s * (a1[2] + 2 * a2[2] + 2 * a3[2] + a4[2])


def engine_run() -> tuple[float, float]:
    """The simulation engine, shaped like the Basilisk scenario: wall s, |w| end (deg/s)."""
    from fsw.gnc.bdot import BDot
    from fsw.gnc.dynamics import RigidBody
    from ground.sim.environment import Environment

    scenario = Scenario()
    orbit = KeplerOrbit.circular(scenario.alt_km, scenario.inclination_deg)
    r_km, v_km_s = orbit.state_eci(0.0)
    r, v = [float(c) for c in r_km], [float(c) for c in v_km_s]
    environment = Environment(field_model="dipole")
    body = RigidBody(scenario.model.inertia_kgm2)
    body.w_body_rad_s = np.radians(scenario.w0_body_deg_s)
    control = BDot(GAIN, [MAX_DIPOLE] * 3, ALPHA)
    rng = np.random.default_rng(1)
    b_eci_t, to_body, step = environment.b_eci_t, body.to_body, body.step
    start = time.perf_counter()
    for k in range(round(SIM_S / STEP_S)):
        b_eci = b_eci_t(r, k * STEP_S)
        dipole = control.step(to_body(b_eci) + rng.normal(0.0, 15e-9, 3), STEP_S)
        step(STEP_S, b_eci_t=b_eci, mtq_dipole_am2=dipole)
        _two_body_rk4(r, v, STEP_S, MU_EARTH_KM3_S2)
    wall = time.perf_counter() - start
    return wall, float(np.degrees(np.linalg.norm(body.w_body_rad_s)))


def bdot_module():
    """The B-dot law as a Basilisk Python module (in plain floats, reusing one command
    payload: the fastest way to write it in Basilisk's terms): reads `tamInMsg`
    (tesla, sensor frame = body), writes `cmdOutMsg` (A m^2) every call."""
    from Basilisk.architecture import messaging, sysModel

    class BDotModule(sysModel.SysModel):
        """B-dot in a Basilisk Python module: the same law as the C core's."""

        def __init__(self) -> None:
            super().__init__()
            self.tamInMsg = messaging.TAMSensorMsgReader()
            self.cmdOutMsg = messaging.MTBCmdMsg()
            self.payload = messaging.MTBCmdMsgPayload()
            self.Reset(0)

        def Reset(self, current_nanos: int) -> None:  # noqa: N802 (Basilisk API name)
            self.prev: tuple[float, float, float] | None = None
            self.dx = self.dy = self.dz = 0.0

        def UpdateState(self, current_nanos: int) -> None:  # noqa: N802 (Basilisk API name)
            bx, by, bz = self.tamInMsg().tam_S
            mx = my = mz = 0.0
            if self.prev is not None:
                px, py, pz = self.prev
                self.dx = dx = self.dx + ALPHA * ((bx - px) / STEP_S - self.dx)
                self.dy = dy = self.dy + ALPHA * ((by - py) / STEP_S - self.dy)
                self.dz = dz = self.dz + ALPHA * ((bz - pz) / STEP_S - self.dz)
                mx, my, mz = -GAIN * dx, -GAIN * dy, -GAIN * dz
                peak = max(abs(mx), abs(my), abs(mz))
                if peak > MAX_DIPOLE:
                    k = MAX_DIPOLE / peak
                    mx, my, mz = mx * k, my * k, mz * k
            self.prev = (bx, by, bz)
            self.payload.mtbDipoleCmds = [mx, my, mz]
            self.cmdOutMsg.write(self.payload, current_nanos, self.moduleID)

    return BDotModule()


def basilisk_run() -> tuple[float, float]:
    """The same scenario in Basilisk: wall s of the run, |w| at the end (deg/s)."""
    from Basilisk.architecture import messaging
    from Basilisk.simulation import (
        MtbEffector,
        magneticFieldCenteredDipole,
        magnetometer,
        spacecraft,
    )
    from Basilisk.utilities import SimulationBaseClass, macros, simIncludeGravBody

    sim = SimulationBaseClass.SimBaseClass()
    proc = sim.CreateNewProcess("proc")
    proc.addTask(sim.CreateNewTask("task", macros.sec2nano(STEP_S)))

    sc = spacecraft.Spacecraft()
    scenario = Scenario()
    sc.hub.mHub = 4.0
    sc.hub.IHubPntBc_B = scenario.model.inertia_kgm2.tolist()
    orbit = KeplerOrbit.circular(scenario.alt_km, scenario.inclination_deg)
    r_km, v_km_s = orbit.state_eci(0.0)
    sc.hub.r_CN_NInit = (r_km * 1e3).tolist()
    sc.hub.v_CN_NInit = (v_km_s * 1e3).tolist()
    sc.hub.sigma_BNInit = [[0.0], [0.0], [0.0]]
    sc.hub.omega_BN_BInit = [[math.radians(w)] for w in scenario.w0_body_deg_s]
    grav = simIncludeGravBody.gravBodyFactory()
    earth = grav.createEarth()
    earth.isCentralBody = True
    earth.mu = MU_EARTH_KM3_S2 * 1e9
    grav.addBodiesTo(sc)
    sim.AddModelToTask("task", sc)

    field = magneticFieldCenteredDipole.MagneticFieldCenteredDipole()
    field.g10, field.g11, field.h11 = -29404.8e-9, -1450.9e-9, 4652.5e-9
    field.planetRadius = 6371.2e3
    field.addSpacecraftToModel(sc.scStateOutMsg)
    sim.AddModelToTask("task", field)

    tam = magnetometer.Magnetometer()
    tam.stateInMsg.subscribeTo(sc.scStateOutMsg)
    tam.magInMsg.subscribeTo(field.envOutMsgs[0])
    tam.senNoiseStd = [15e-9] * 3
    sim.AddModelToTask("task", tam)

    ctrl = bdot_module()
    ctrl.tamInMsg.subscribeTo(tam.tamDataOutMsg)
    sim.AddModelToTask("task", ctrl)

    params = messaging.MTBArrayConfigMsgPayload()
    params.numMTB = 3
    params.GtMatrix_B = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    params.maxMtbDipoles = [MAX_DIPOLE] * 3
    params_msg = messaging.MTBArrayConfigMsg().write(params)
    mtb = MtbEffector.MtbEffector()
    mtb.mtbCmdInMsg.subscribeTo(ctrl.cmdOutMsg)
    mtb.magInMsg.subscribeTo(field.envOutMsgs[0])
    mtb.mtbParamsInMsg.subscribeTo(params_msg)
    sc.addDynamicEffector(mtb)
    sim.AddModelToTask("task", mtb)

    sim.InitializeSimulation()
    sim.ConfigureStopTime(macros.sec2nano(SIM_S))
    start = time.perf_counter()
    sim.ExecuteSimulation()
    wall = time.perf_counter() - start
    w = np.array(sc.scStateOutMsg.read().omega_BN_B)
    return wall, float(np.degrees(np.linalg.norm(w)))


def main() -> None:
    heading("bsk", "numpy")
    try:
        import Basilisk  # noqa: F401
    except ImportError as exc:
        print(f"Basilisk (bsk) is not installed ({exc}); install the bench extra")
        return
    end_w: dict[str, float] = {}

    def side(name: str, run):
        def timed() -> float:
            wall, end_w[name] = run()
            return wall
        return timed

    magnetic = Scenario(model=SpacecraftModel.magnetic_only(), field_model="dipole")
    peer = side("basilisk", basilisk_run)
    report("B-dot detumble, 10 Hz, 1,500 s: simulation engine",
           paired(side("engine", engine_run), peer, items=int(SIM_S), rounds=5,
                  self_timed=True), "basilisk", unit="sim s / wall s")
    report("B-dot detumble, 10 Hz: flight software in the loop (more work)",
           paired(side("fsw", lambda: tessera_sil(magnetic)), peer, items=int(SIM_S),
                  rounds=3, self_timed=True), "basilisk", unit="sim s / wall s")
    note(f"|w| after {SIM_S:.0f} s from 17.32 deg/s: engine {end_w['engine']:.2f}, "
         f"flight software {end_w['fsw']:.2f}, basilisk {end_w['basilisk']:.2f}")
    full = measure(lambda: tessera_sil(Scenario())[0], items=int(SIM_S), rounds=3,
                   self_timed=True)
    note(f"tessera, full reference CubeSat (5 devices, IGRF-14): {full.rate:,.0f} "
         "sim s / wall s")


if __name__ == "__main__":
    main()
