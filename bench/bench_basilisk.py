"""One orbit of closed-loop attitude simulation: Tessera against Basilisk.

The scenario, identical on both sides where the two tools allow: a 3U
spacecraft (inertia diag(0.033, 0.034, 0.0067) kg m^2) in a circular 500 km,
97.4 deg orbit for one orbital period (5,677 s); four reaction wheels (one
per body axis and one along (1, 1, 1)/sqrt(3); rotor inertia 1.5e-5 kg m^2,
2 mN m, 600 rad/s); gravity-gradient torque; rigid-body dynamics integrated
by RK4 at 0.1 s; at 10 Hz an attitude filter and a PD attitude law that hold
the identity attitude in ECI starting 23 deg away (rotation of 0.4 rad about
(0.3, -0.5, 0.8)).

Tessera, measured two ways in the same run:

- the product feature, ``fsw.gnc.attsim.FastAttitudeSim`` (C core
  ``tsr_attsim_run``): one call flies the whole orbit; per 0.1 s step the
  SGP4 truth orbit (the circular elements above, J2 and all), GMST, the
  Astronomical Almanac sun and conical shadow, the IGRF-14 field, a noisy
  gyro (bias plus 1.7e-4 rad/sqrt(s)), a 100 nT magnetometer and a 0.5 deg
  sun sensor (none in shadow), one ``tsr_adcs_step`` (MEKF with gyro bias,
  quaternion feedback with wheel allocation, desaturation logic) and the RK4
  body with gravity gradient; a log row every simulated second. The timed
  span includes building the simulator;
- a software-in-the-loop run driven from Python one cycle at a time through
  the public API (``fsw.gnc.adcs.AdcsCycle``, ``fsw.gnc.dynamics.RigidBody``,
  ``fsw.gnc.environment``), as the ground simulator drives the flight code,
  on a closed-form circular orbit. Its cost is Python's, not the C core's.

Basilisk (``bsk``): written out in full (its wheel ships no examples): the
``Spacecraft`` hub with ``ReactionWheelStateEffector`` and
``GravityGradientEffector``, Earth point-mass gravity; flight software at
10 Hz: ``StarTracker`` (0.5 deg noise) -> ``stComm`` -> ``inertialUKF``
(attitude and rate, with wheel speeds) -> ``inertial3D`` -> ``attTrackingError``
-> ``mrpFeedback`` (PD, no integral) -> ``rwMotorTorque``. Basilisk's filter
is a UKF on a star tracker (no magnetic field or sun model needed), ours an
MEKF on sun sensor and magnetometer: the same role in the loop.

    python -m bench basilisk
"""

from __future__ import annotations

import math
import time

import numpy as np

from bench.common import heading, note, paired, report

INERTIA = ((0.033, 0.0, 0.0), (0.0, 0.034, 0.0), (0.0, 0.0, 0.0067))
ALT_KM = 500.0
INC_DEG = 97.4
MU_KM3_S2 = 398600.4418
R_EARTH_KM = 6378.137
DT = 0.1
AXIS0 = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
ANGLE0 = 0.4
W0 = (0.001, -0.002, 0.001)
WHEEL_AXES = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0),
              (1 / math.sqrt(3), 1 / math.sqrt(3), 1 / math.sqrt(3)))
SUN_SIGMA = math.radians(0.5)
JD0 = 2461120.5


def period_s() -> float:
    a = R_EARTH_KM + ALT_KM
    return 2.0 * math.pi * math.sqrt(a ** 3 / MU_KM3_S2)


def _basilisk_sim(with_fsw: bool = True):
    """Build the Basilisk scenario; without FSW the wheels get no commands."""
    from Basilisk.architecture import messaging
    from Basilisk.fswAlgorithms import (
        attTrackingError,
        inertial3D,
        inertialUKF,
        mrpFeedback,
        rwMotorTorque,
        stComm,
    )
    from Basilisk.simulation import (
        GravityGradientEffector,
        reactionWheelStateEffector,
        spacecraft,
        starTracker,
    )
    from Basilisk.utilities import (
        SimulationBaseClass,
        macros,
        orbitalMotion,
        simIncludeGravBody,
        simIncludeRW,
    )

    sim = SimulationBaseClass.SimBaseClass()
    proc = sim.CreateNewProcess("proc")
    step = macros.sec2nano(DT)
    proc.addTask(sim.CreateNewTask("dyn", step), 100)  # truth first, then flight software
    proc.addTask(sim.CreateNewTask("fsw", step), 50)

    rwf = simIncludeRW.rwFactory()
    for axis in WHEEL_AXES:
        rwf.create("custom", list(axis), Omega=0.0, maxMomentum=1.5e-5 * 600.0,
                   Omega_max=600.0 * 60.0 / (2.0 * math.pi), u_max=2e-3)
    rw_params = rwf.getConfigMessage()
    vc = messaging.VehicleConfigMsgPayload()
    vc.ISCPntB_B = [x for row in INERTIA for x in row]
    vc_msg = messaging.VehicleConfigMsg().write(vc)

    sc = spacecraft.Spacecraft()
    sc.ModelTag = "sc"
    sc.hub.mHub = 4.0
    sc.hub.IHubPntBc_B = [list(r) for r in INERTIA]
    mrp0 = AXIS0 * math.tan(ANGLE0 / 4.0)
    sc.hub.sigma_BNInit = [[x] for x in mrp0]
    sc.hub.omega_BN_BInit = [[x] for x in W0]
    grav = simIncludeGravBody.gravBodyFactory()
    earth = grav.createEarth()
    earth.isCentralBody = True
    earth.mu = MU_KM3_S2 * 1e9
    grav.addBodiesTo(sc)
    oe = orbitalMotion.ClassicElements()
    oe.a = (R_EARTH_KM + ALT_KM) * 1e3
    oe.e = 0.0
    oe.i = math.radians(INC_DEG)
    oe.Omega = oe.omega = oe.f = 0.0
    r_n, v_n = orbitalMotion.elem2rv(earth.mu, oe)
    sc.hub.r_CN_NInit = r_n
    sc.hub.v_CN_NInit = v_n
    rw = reactionWheelStateEffector.ReactionWheelStateEffector()
    rw.ModelTag = "rw"
    rwf.addToSpacecraft("rw", rw, sc)
    gg = GravityGradientEffector.GravityGradientEffector()
    gg.ModelTag = "gg"
    gg.addPlanetName(earth.planetName)
    sc.addDynamicEffector(gg)
    st = starTracker.StarTracker()
    st.ModelTag = "st"
    st.scStateInMsg.subscribeTo(sc.scStateOutMsg)
    st.PMatrix = (np.eye(3) * SUN_SIGMA).tolist()
    st.walkBounds = [1e9, 1e9, 1e9]
    sim.AddModelToTask("dyn", sc, 10)
    sim.AddModelToTask("dyn", rw, 9)
    sim.AddModelToTask("dyn", gg, 8)
    sim.AddModelToTask("dyn", st, 7)
    keep = {"sc": sc, "objects": [rwf, rw_params, vc_msg, rw, gg, st, grav]}
    if not with_fsw:
        return sim, keep, macros

    stc = stComm.stComm()
    stc.ModelTag = "stComm"
    stc.dcm_BP = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    stc.stSensorInMsg.subscribeTo(st.sensorOutMsg)
    gyro = messaging.AccDataMsg().write(messaging.AccDataMsgPayload())
    ukf = inertialUKF.inertialUKF()
    ukf.ModelTag = "ukf"
    ukf.alpha, ukf.beta, ukf.kappa, ukf.switchMag = 0.02, 2.0, 0.0, 1.2
    ukf.stateInit = [0.0] * 6
    ukf.covarInit = np.diag([0.04, 0.04, 0.04, 0.004, 0.004, 0.004]).reshape(36).tolist()
    qn = np.eye(6)
    qn[:3, :3] *= 0.0017 ** 2
    qn[3:, 3:] *= 0.00017 ** 2
    ukf.qNoise = qn.reshape(36).tolist()
    stm = inertialUKF.STMessage()
    stm.noise = (np.eye(3) * SUN_SIGMA ** 2).reshape(9).tolist()
    stm.stInMsg.subscribeTo(stc.stAttOutMsg)
    ukf.STDatasStruct.STMessages = [stm]
    ukf.STDatasStruct.numST = 1
    lp = inertialUKF.LowPassFilterData()
    lp.hStep = DT
    lp.omegCutoff = 15.0 / (2.0 * math.pi)
    ukf.gyroFilt = [lp, lp, lp]
    ukf.massPropsInMsg.subscribeTo(vc_msg)
    ukf.rwParamsInMsg.subscribeTo(rw_params)
    ukf.rwSpeedsInMsg.subscribeTo(rw.rwSpeedOutMsg)
    ukf.gyrBuffInMsg.subscribeTo(gyro)
    ref = inertial3D.inertial3D()
    ref.ModelTag = "ref"
    ref.sigma_R0N = [0.0, 0.0, 0.0]
    ate = attTrackingError.attTrackingError()
    ate.ModelTag = "ate"
    ate.attNavInMsg.subscribeTo(ukf.navStateOutMsg)
    ate.attRefInMsg.subscribeTo(ref.attRefOutMsg)
    mrp = mrpFeedback.mrpFeedback()
    mrp.ModelTag = "mrpFeedback"
    # Same law as Tessera's defaults: sigma ~ theta/4, so K = 4 J kp, P = J kd.
    mrp.K = 4.0 * 0.033 * 0.01
    mrp.P = 0.033 * 0.18
    mrp.Ki = -1.0
    mrp.guidInMsg.subscribeTo(ate.attGuidOutMsg)
    mrp.vehConfigInMsg.subscribeTo(vc_msg)
    mrp.rwParamsInMsg.subscribeTo(rw_params)
    mrp.rwSpeedsInMsg.subscribeTo(rw.rwSpeedOutMsg)
    rmt = rwMotorTorque.rwMotorTorque()
    rmt.ModelTag = "rwMotorTorque"
    rmt.controlAxes_B = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    rmt.vehControlInMsg.subscribeTo(mrp.cmdTorqueOutMsg)
    rmt.rwParamsInMsg.subscribeTo(rw_params)
    # Basilisk runs higher priorities first: the chain in data-flow order.
    for prio, mod in enumerate((rmt, mrp, ate, ref, ukf, stc)):
        sim.AddModelToTask("fsw", mod, 10 + prio)
    rw.rwMotorCmdInMsg.subscribeTo(rmt.rwMotorTorqueOutMsg)
    keep["objects"] += [stc, gyro, ukf, ref, ate, mrp, rmt, stm, lp]
    return sim, keep, macros


def basilisk_orbit(with_fsw: bool = True, sim_s: float | None = None
                   ) -> tuple[float, float, float]:
    """(simulated s, wall s, final true attitude error deg) of the scenario."""
    sim_s = period_s() if sim_s is None else sim_s
    sim, keep, macros = _basilisk_sim(with_fsw)
    sim.InitializeSimulation()
    sim.ConfigureStopTime(macros.sec2nano(sim_s))
    start = time.perf_counter()
    sim.ExecuteSimulation()
    wall = time.perf_counter() - start
    sigma = np.array(keep["sc"].scStateOutMsg.read().sigma_BN)
    err = math.degrees(4.0 * math.atan(np.linalg.norm(sigma)))
    return sim_s, wall, err


def basilisk_fsw_step_us(sim_s: float = 2000.0, repeat: int = 3) -> float:
    """Basilisk's FSW chain per 0.1 s step, microseconds: the scenario's wall
    time with the chain less the same scenario without it (medians)."""
    import statistics

    full = statistics.median(basilisk_orbit(True, sim_s)[1] for _ in range(repeat))
    bare = statistics.median(basilisk_orbit(False, sim_s)[1] for _ in range(repeat))
    return (full - bare) / (sim_s / DT) * 1e6


def tessera_orbit_python(seed: int = 1) -> tuple[float, float, float]:
    """(simulated s, wall s, final true attitude error deg), driven from Python."""
    from fsw.gnc import environment as env
    from fsw.gnc.adcs import AdcsConfig, AdcsCycle, AdcsSensors, Mode
    from fsw.gnc.dynamics import RigidBody, Wheel

    t_end = period_s()
    steps = round(t_end / DT)
    start = time.perf_counter()
    cfg = AdcsConfig()
    cycle = AdcsCycle(cfg, Mode.INERTIAL)
    cycle.set_inertial_target([1.0, 0.0, 0.0, 0.0])
    body = RigidBody(np.array(INERTIA), [Wheel(axis_body=a, inertia_kgm2=1.5e-5,
                                                max_torque_nm=2e-3, max_speed_rad_s=600.0)
                                          for a in WHEEL_AXES])
    body.q_body_eci = [math.cos(ANGLE0 / 2), *(AXIS0 * math.sin(ANGLE0 / 2))]
    body.w_body_rad_s = W0
    inertia = np.array(INERTIA)
    rng = np.random.default_rng(seed)
    gyro_noise = rng.normal(0.0, 1.7e-4 / math.sqrt(DT), (steps, 3))
    mag_noise = rng.normal(0.0, 100e-9, (steps, 3))
    sun_noise = rng.normal(0.0, SUN_SIGMA, (steps, 3))
    bias = np.radians([0.1, -0.08, 0.06])
    # Everything that depends on time alone, vectorised: orbit, Earth angle, sun.
    a_km = R_EARTH_KM + ALT_KM
    n = math.sqrt(MU_KM3_S2 / a_km ** 3)
    inc = math.radians(INC_DEG)
    u = n * DT * np.arange(steps)
    r_all = a_km * np.stack([np.cos(u), np.sin(u) * math.cos(inc), np.sin(u) * math.sin(inc)], 1)
    v_all = a_km * n * np.stack([-np.sin(u), np.cos(u) * math.cos(inc),
                                 np.cos(u) * math.sin(inc)], 1)
    jd_all = JD0 + DT * np.arange(steps) / 86400.0
    gmst_all = np.radians(280.46061837 + 360.98564736629 * (jd_all - 2451545.0))
    sun_all = env.sun_position_eci(jd_all)
    lit_all = env.eclipse_fraction(r_all, sun_all) < 0.5
    for k in range(steps):
        r, v, jd, gmst = r_all[k], v_all[k], float(jd_all[k]), float(gmst_all[k])
        year = 2027.22 + k * DT / 31557600.0
        b_eci = env.igrf_field_eci(r, gmst, year)
        r_sun = sun_all[k]
        lit = lit_all[k]
        q = body.q_body_eci
        w, x, y, z = q
        a = np.array([
            [w * w + x * x - y * y - z * z, 2 * (x * y + w * z), 2 * (x * z - w * y)],
            [2 * (x * y - w * z), w * w - x * x + y * y - z * z, 2 * (y * z + w * x)],
            [2 * (x * z + w * y), 2 * (y * z - w * x), w * w - x * x - y * y + z * z]])
        s_body = a @ (r_sun - r)
        cmd = cycle.step(AdcsSensors(
            gyro_rad_s=body.w_body_rad_s + bias + gyro_noise[k],
            mag_body_t=a @ b_eci + mag_noise[k],
            sun_body=s_body / np.linalg.norm(s_body) + sun_noise[k] if lit else None,
            r_eci_km=r, v_eci_km_s=v, jd_tt=jd, gmst_rad=gmst, decimal_year=year,
            wheel_speed_rad_s=body.wheel_speed_rad_s))
        body.step(DT, b_eci_t=b_eci, mtq_dipole_am2=cmd.mtq_dipole_am2,
                  wheel_torque_nm=cmd.wheel_torque_nm,
                  ext_torque_body_nm=env.gravity_gradient_torque(inertia, q, r))
    wall = time.perf_counter() - start
    err = math.degrees(2.0 * math.acos(min(1.0, abs(float(body.q_body_eci[0])))))
    return steps * DT, wall, err


JD0_TAI_S = (JD0 - 2436204.5) * 86400.0 + 37.0  # JD0 (UTC) as TAI seconds since 1958


def tessera_orbit_fast(seed: int = 1, repeat: int = 3) -> tuple[float, float, float]:
    """(simulated s, wall s, final true attitude error deg) with FastAttitudeSim;
    the wall time is the median of `repeat` runs, each building its simulator."""
    import statistics

    from fsw.gnc.adcs import AdcsConfig, Mode
    from fsw.gnc.attsim import Disturbances, FastAttitudeSim
    from fsw.gnc.ephemeris import MeanElements

    orbit = MeanElements.circular(ALT_KM, JD0_TAI_S, inclination_deg=INC_DEG, raan_deg=0.0)
    q0 = (math.cos(ANGLE0 / 2), *(AXIS0 * math.sin(ANGLE0 / 2)))
    t_end = period_s()
    walls, err = [], math.nan
    for _ in range(repeat):
        start = time.perf_counter()
        sim = FastAttitudeSim(AdcsConfig(), orbit=orbit, seed=seed, mode=Mode.INERTIAL,
                              q0_body_eci=q0, w0_body_rad_s=W0,
                              disturbances=Disturbances(gravity_gradient=True))
        sim.set_inertial_target([1.0, 0.0, 0.0, 0.0])
        log = sim.run(t_end, log_every_s=1.0)
        walls.append(time.perf_counter() - start)
        q = sim.q_body_eci
        err = math.degrees(2.0 * math.acos(min(1.0, abs(float(q[0])))))
        assert len(log) == math.ceil(sim.t_s)
    return sim.t_s, statistics.median(walls), err


def tessera_batch(seeds: int = 8, threads: int = 2) -> tuple[float, float]:
    """(total simulated s, wall s) of a Monte Carlo batch of one-orbit runs."""
    from fsw.gnc.adcs import AdcsConfig, Mode
    from fsw.gnc.attsim import FastAttitudeSim, run_batch
    from fsw.gnc.ephemeris import MeanElements

    orbit = MeanElements.circular(ALT_KM, JD0_TAI_S, inclination_deg=INC_DEG, raan_deg=0.0)
    q0 = (math.cos(ANGLE0 / 2), *(AXIS0 * math.sin(ANGLE0 / 2)))

    def make(seed: int) -> FastAttitudeSim:
        sim = FastAttitudeSim(AdcsConfig(), orbit=orbit, seed=seed, mode=Mode.INERTIAL,
                              q0_body_eci=q0, w0_body_rad_s=W0)
        sim.set_inertial_target([1.0, 0.0, 0.0, 0.0])
        return sim

    start = time.perf_counter()
    run_batch(make, range(seeds), period_s(), log_every_s=1.0, threads=threads)
    return seeds * round(period_s() / DT) * DT, time.perf_counter() - start


def main() -> None:
    heading("bsk", "numpy")
    try:
        import Basilisk  # noqa: F401
    except ImportError as exc:
        print(f"Basilisk (bsk) is not installed ({exc}); install the bench extra")
        return
    errors: dict[str, float] = {}

    def fast() -> float:
        _, wall, errors["fast"] = tessera_orbit_fast(repeat=1)
        return wall

    def python_sil() -> float:
        _, wall, errors["python"] = tessera_orbit_python()
        return wall

    def peer() -> float:
        _, wall, errors["basilisk"] = basilisk_orbit()
        return wall

    orbit_s = round(period_s() / DT) * DT
    report("1 orbit RW+PD+filter 10 Hz: FastAttitudeSim (does more per step)",
           paired(fast, peer, items=round(orbit_s), rounds=5, self_timed=True),
           "basilisk", unit="sim s / wall s")
    report("1 orbit, SIL loop driven from Python",
           paired(python_sil, peer, items=round(orbit_s), rounds=3, self_timed=True),
           "basilisk", unit="sim s / wall s")
    note(f"attitude error at the end of the orbit: tessera {errors['fast']:.3f} deg "
         f"(FastAttitudeSim), {errors['python']:.3f} deg (Python SIL), basilisk "
         f"{errors['basilisk']:.3f} deg (from 22.9 deg)")
    sim_mc, wall_mc = tessera_batch()
    note(f"Monte Carlo batch, 8 seeds x 1 orbit on 2 threads (run_batch): "
         f"{sim_mc / wall_mc:,.0f} simulated s per wall s in aggregate")

if __name__ == "__main__":
    main()
