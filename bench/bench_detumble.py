"""Closed-loop detumble speed: simulated seconds per wall second at 10 Hz control.

Two Tessera figures, each against the same Basilisk run:

- engine: the same shape as the Basilisk scenario (C dynamics, field model
  and a controller stepped from Python; no flight software), namely
  `fsw.gnc.dynamics.RigidBody`, the dipole field and `fsw.gnc.bdot.BDot`
  driven by a Python loop with the magnetometer's noise added;
- flight software in the loop: the full software-in-the-loop stack of `tessera demo` (flight
executive, ADCS app with its one-call C cycle, drivers over the `sim` buses
with register-level emulators, C rigid-body dynamics, SGP4 orbit) fitted
like the peer: an RM3100 magnetometer and iMTQ torquers only, in the
IGRF-13 dipole field. The full reference CubeSat (gyro, six sun sensors and
four CAN wheels added, IGRF-14 field) is timed too, for the record.

Peer: the same scenario built with Basilisk (`bsk`): a 3U spacecraft hub
with the same inertia and initial rates in the same 500 km, 97.4 deg orbit,
Basilisk's centred-dipole field with the same IGRF-13 degree-1
coefficients, its magnetometer and MtbEffector (0.2 A m^2 per axis), and a
Python B-dot controller module with the same gain, filter and saturation,
all at 0.1 s steps with RK4. Basilisk's dipole stays fixed in inertial
space (no planet ephemeris is loaded), a small simplification in its favour.

    python -m bench detumble
"""

from __future__ import annotations

import math
import time

import numpy as np

from bench.common import compare
from ground.sim.orbit import MU_EARTH_KM3_S2, KeplerOrbit
from ground.sim.sil import Scenario, build_sil
from ground.sim.spacecraft import SpacecraftModel

SIM_S = 1500.0
STEP_S = 0.1
GAIN = 2e5
ALPHA = 0.5
MAX_DIPOLE = 0.2


def tessera_rate(scenario: Scenario) -> tuple[float, float]:
    """Simulated s per wall s, and |w| at the end (deg/s)."""
    run = build_sil(scenario)
    run.executive.boot()
    start = time.perf_counter()
    run.executive.run(SIM_S)
    wall = time.perf_counter() - start
    return SIM_S / wall, float(np.degrees(np.linalg.norm(run.simulator.body.w_body_rad_s)))


def engine_rate() -> tuple[float, float]:
    """The simulation engine alone, shaped like the Basilisk scenario."""
    from fsw.gnc.bdot import BDot
    from fsw.gnc.dynamics import RigidBody
    from ground.sim.environment import Environment

    scenario = Scenario()
    orbit = KeplerOrbit.circular(scenario.alt_km, scenario.inclination_deg)
    environment = Environment(field_model="dipole")
    body = RigidBody(scenario.model.inertia_kgm2)
    body.w_body_rad_s = np.radians(scenario.w0_body_deg_s)
    control = BDot(GAIN, [MAX_DIPOLE] * 3, ALPHA)
    rng = np.random.default_rng(1)
    dipole = np.zeros(3)
    start = time.perf_counter()
    for k in range(round(SIM_S / STEP_S)):
        t = k * STEP_S
        b_eci = environment.b_eci_t(orbit.state_eci(t)[0], t)
        dipole = control.step(body.to_body(b_eci) + rng.normal(0.0, 15e-9, 3), STEP_S)
        body.step(STEP_S, b_eci_t=b_eci, mtq_dipole_am2=dipole)
    wall = time.perf_counter() - start
    return SIM_S / wall, float(np.degrees(np.linalg.norm(body.w_body_rad_s)))


def basilisk_rate() -> tuple[float, float]:
    from Basilisk.architecture import messaging, sysModel
    from Basilisk.simulation import (
        MtbEffector,
        magneticFieldCenteredDipole,
        magnetometer,
        spacecraft,
    )
    from Basilisk.utilities import SimulationBaseClass, macros, simIncludeGravBody

    class BDotModule(sysModel.SysModel):
        """B-dot in a Basilisk Python module: the same law as the C core's."""

        def __init__(self) -> None:
            super().__init__()
            self.tamInMsg = messaging.TAMSensorMsgReader()
            self.cmdOutMsg = messaging.MTBCmdMsg()
            self.prev = None
            self.bdot = np.zeros(3)

        def Reset(self, current_nanos: int) -> None:  # noqa: N802 (Basilisk API name)
            self.prev = None
            self.bdot = np.zeros(3)

        def UpdateState(self, current_nanos: int) -> None:  # noqa: N802 (Basilisk API name)
            b = np.array(self.tamInMsg().tam_S)
            m = np.zeros(3)
            if self.prev is not None:
                raw = (b - self.prev) / STEP_S
                self.bdot += ALPHA * (raw - self.bdot)
                m = -GAIN * self.bdot
                peak = np.max(np.abs(m))
                if peak > MAX_DIPOLE:
                    m *= MAX_DIPOLE / peak
            self.prev = b
            payload = messaging.MTBCmdMsgPayload()
            payload.mtbDipoleCmds = list(m)
            self.cmdOutMsg.write(payload, current_nanos, self.moduleID)

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

    ctrl = BDotModule()
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
    return SIM_S / wall, float(np.degrees(np.linalg.norm(w)))


def main() -> None:
    engine, engine_w_end = engine_rate()
    rate, w_end = tessera_rate(Scenario(model=SpacecraftModel.magnetic_only(),
                                        field_model="dipole"))
    full, _ = tessera_rate(Scenario())
    try:
        peer, peer_w_end = basilisk_rate()
    except ImportError as exc:
        print(f"Basilisk (bsk) is not installed ({exc}); install the bench extra")
        print(f"tessera alone: engine {engine:,.0f}, flight software {rate:,.0f}, "
              f"full reference {full:,.0f} simulated s per wall s")
        return
    compare("B-dot detumble, 10 Hz: simulation engine", "sim s / wall s",
            engine, "basilisk", peer)
    compare("B-dot detumble, 10 Hz: flight software in loop", "sim s / wall s",
            rate, "basilisk", peer)
    print(f"  |w| after {SIM_S:.0f} s from 17.32 deg/s: engine {engine_w_end:.2f}, "
          f"flight software {w_end:.2f}, basilisk {peer_w_end:.2f}")
    print(f"  tessera, full reference CubeSat (5 devices, IGRF-14): {full:,.0f} sim s / wall s")


if __name__ == "__main__":
    main()
