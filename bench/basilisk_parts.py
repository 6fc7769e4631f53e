"""The reference spacecraft's parts flown in Basilisk: the same-parts peer of `bench_sil`.

The Tessera SIL (`ground.sim.sil`) flies the reference CubeSat with every
part in the loop. This module builds the Basilisk scenario that flies the
same parts, each as the Basilisk module made for it, in the arrangement
Basilisk's own examples use (``scenarioCSS``, ``scenarioPowerDemo``,
``scenarioAttitudeFeedbackRW``), for the same 1,500 s detumble from the same
release as `bench_detumble` and the SIL's `Scenario()`: the SGP4 state of
the 500 km, 97.4 deg orbit at the mission epoch, identity attitude,
(10, 10, 10) deg/s, the reference inertia (with its 0.0005 kg m^2 product).

Truth, task "dynamics" at 10 Hz (RK4, Basilisk's default integrator):

- ``spacecraft.Spacecraft`` hub, 4 kg, the reference inertia; Earth gravity
  with J2 (``sphericalHarmonicsGravityModel`` to degree 2, coefficient set
  here: Basilisk's gravity files are downloaded on demand and absent);
- ``planetEphemeris``: the Earth on its heliocentric orbit (elements from the
  Astronomical Almanac sun the SIL uses, at the epoch) turning at the
  sidereal rate from GMST at the epoch; the sun at the frame's origin;
- ``eclipse`` (Earth's shadow on the spacecraft);
- ``magneticFieldCenteredDipole`` with the IGRF-14 degree-1 coefficients at
  the epoch, turning with the Earth: Basilisk's WMM model needs a
  coefficient file that its installed package does not carry (it is
  downloaded on demand), and Basilisk has no IGRF;
- ``magnetometer`` (15 nT noise, the RM3100 emulator's), ``imuSensor`` as the
  gyro (the L3GD20H emulator's 5e-4 rad/s noise and the simulator's bias),
  six ``coarseSunSensor`` heads on +X, -X, +Y, -Y, +Z, -Z in a
  ``CSSConstellation`` (3 V at full sun, cosine law, 2 % scale error, 0.2 mV
  noise, as the ADS1115 and photodiode emulators);
- four wheels (``ReactionWheelStateEffector`` from ``simIncludeRW``: the
  reference axes, 1.5e-5 kg m^2, 1 mN m, 628.3 rad/s) and three torquers
  (``MtbEffector``, 0.2 A m^2).

Once a second, task "slow" at 1 Hz as the SIL's GPS fix and power update:
``simpleNav`` (the GPS receiver's 5 m position noise) and the power system,
four ``simpleSolarPanel`` on the long faces (0.0186 m^2, 28 % cells behind a
90 % regulator, as `ground.sim.power`), a ``simplePowerSink`` for the loads
that are on (flight computer, radio, wheels: 0.5 A at 7.4 V) and a
``simpleBattery`` (5.2 Ah at 7.4 V, 80 % charged, as the P31u emulator).

Flight software, task "fsw" at 10 Hz after the truth, doing what the Tessera
ADCS does per cycle in this scenario (it stays in DETUMBLE for the 1,500 s):
``cssWlsEst`` (sun heading from the six heads, the sun sensor driver's job),
``sunlineEKF`` (Basilisk's filter on those heads, in place of the MEKF that
Tessera's ADCS runs every cycle on the gyro, sun and field: Basilisk has no
filter that takes a magnetometer), the B-dot law as a Basilisk Python module
(`bench_detumble`'s: Basilisk has no B-dot module) commanding the torquers,
and ``rwMotorTorque`` mapping the zero body torque that detumble commands
onto the four wheels every cycle, as the ADCS app sends its wheel torques.

Kept, as the SIL keeps its truth log and telemetry once a second: recorders
at 1 Hz on the spacecraft state, magnetometer, sun sensors, eclipse, torquer
command, wheel speeds, battery and navigation messages.

Not modelled, because Basilisk has no such work: register-level device
emulation and drivers, the flight executive (rate groups, software bus,
housekeeping, events, FDIR, mode manager, tables, scheduler), the comms app
and radio (space link frames, store and forward), the GPS's NMEA sentences,
the payload host, audit and file transfer apps, the flight software's own
IGRF-14 and sun references, and SGP4 (Basilisk integrates the orbit).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.bench_detumble import STEP_S, bdot_module
from fsw.gnc.dynamics import Wheel
from ground.sim.environment import Environment
from ground.sim.orbit import Sgp4Orbit
from ground.sim.sil import Scenario

SLOW_S = 1.0  # GPS fix, power update and telemetry: once a second, as in the SIL
MASS_KG = 4.0
MU_EARTH_M3_S2 = 398600.4418e9
R_EARTH_M = 6378137.0
J2 = 1.08262668e-3  # EGM2008 (unnormalised C20 = -J2)
EARTH_RATE_RAD_S = 7.292115e-5
MU_SUN_M3_S2 = 1.32712440018e20
# IGRF-14 degree 1 at 2026.0 (the mission epoch): the 2025.0 main field plus
# one year of its secular variation, from csrc/data/igrf14.inc (nT).
IGRF14_G10_T = (-29350.0 + 0.2 * (-29287.0 + 29350.0)) * 1e-9
IGRF14_G11_T = (-1410.3 + 0.2 * (-1360.3 + 1410.3)) * 1e-9
IGRF14_H11_T = (4545.5 + 0.2 * (4438.0 - 4545.5)) * 1e-9
IGRF_RADIUS_M = 6371.2e3
MAG_NOISE_T = 15e-9          # hal.sim.reference: RM3100
GYRO_NOISE_RAD_S = 5e-4      # hal.sim.reference: L3GD20H
CSS_FULL_SUN_V = 3.0         # hal/reference.toml: sun_sensors full_sun_v
CSS_NOISE_V = 2e-4           # hal.sim.reference: ADS1115
CSS_SCALE_ERROR = 0.02       # hal.sim.reference: photodiode scale error
CSS_NORMALS = ((1.0, 0.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, -1.0, 0.0),
               (0.0, 0.0, 1.0), (0.0, 0.0, -1.0))
GPS_NOISE_M = 5.0            # hal.sim.reference: GPS receiver
BUS_V = 7.4                  # two Li-ion cells in series (P31u with a BP4 2S2P)
SOC0 = 0.8                   # the P31u emulator's initial state of charge


@dataclass
class SameParts:
    """One built Basilisk scenario: the simulation, the parts and their 1 Hz recorders."""

    sim: Any
    macros: Any
    parts: dict[str, Any]
    recorders: dict[str, Any]
    keep: list[Any]

    def run(self, sim_s: float) -> None:
        """Fly from the start to `sim_s` seconds."""
        self.sim.ConfigureStopTime(self.macros.sec2nano(sim_s))
        self.sim.ExecuteSimulation()

    def rate_deg_s(self) -> float:
        """|w| of the body now, deg/s."""
        w = self.parts["spacecraft"].scStateOutMsg.read().omega_BN_B
        return math.degrees(float(np.linalg.norm(w)))


def _earth_elements(environment: Environment, orbital_motion: Any, ephemeris: Any) -> Any:
    """Classical elements of the Earth's heliocentric orbit at the epoch, in the
    equatorial frame of the spacecraft's orbit, from the geocentric sun the SIL uses
    (its velocity by a central difference over a minute)."""
    r_sun = environment.sun_eci_km(0.0) * 1e3
    v_sun = (environment.sun_eci_km(30.0) - environment.sun_eci_km(-30.0)) * 1e3 / 60.0
    oe = orbital_motion.rv2elem(MU_SUN_M3_S2, -r_sun, -v_sun)
    elements = ephemeris.ClassicElements()
    for name in ("a", "e", "i", "Omega", "omega", "f"):
        setattr(elements, name, getattr(oe, name))
    return elements


def build(scenario: Scenario | None = None, *, seed: int = 1) -> SameParts:
    """Wire the Basilisk scenario with the reference spacecraft's parts; initialised,
    at t = 0."""
    from Basilisk.architecture import messaging
    from Basilisk.fswAlgorithms import cssWlsEst, rwMotorTorque, sunlineEKF
    from Basilisk.simulation import (
        MtbEffector,
        coarseSunSensor,
        eclipse,
        imuSensor,
        magneticFieldCenteredDipole,
        magnetometer,
        planetEphemeris,
        reactionWheelStateEffector,
        simpleBattery,
        simpleNav,
        simplePowerSink,
        simpleSolarPanel,
        spacecraft,
        sphericalHarmonicsGravityModel,
    )
    from Basilisk.utilities import (
        SimulationBaseClass,
        macros,
        orbitalMotion,
        simIncludeGravBody,
        simIncludeRW,
    )

    scenario = scenario or Scenario()
    model = scenario.model
    environment = Environment(scenario.epoch_tai_s, scenario.field_model)
    sim = SimulationBaseClass.SimBaseClass()
    proc = sim.CreateNewProcess("proc")
    step = macros.sec2nano(STEP_S)
    # Basilisk runs the higher-priority task first: truth, then flight software.
    proc.addTask(sim.CreateNewTask("dynamics", step), 100)
    proc.addTask(sim.CreateNewTask("fsw", step), 50)
    proc.addTask(sim.CreateNewTask("slow", macros.sec2nano(SLOW_S)), 10)
    keep: list[Any] = []

    # --- the Earth and the sun --------------------------------------------------
    ephemeris = planetEphemeris.PlanetEphemeris()
    ephemeris.ModelTag = "ephemeris"
    ephemeris.setPlanetNames(planetEphemeris.StringVector(["earth"]))
    ephemeris.planetElements = planetEphemeris.classicElementVector(
        [_earth_elements(environment, orbitalMotion, planetEphemeris)])
    ephemeris.rightAscension = planetEphemeris.DoubleVector([0.0])
    ephemeris.declination = planetEphemeris.DoubleVector([math.pi / 2])
    ephemeris.lst0 = planetEphemeris.DoubleVector([environment.gmst_rad(0.0)])
    ephemeris.rotRate = planetEphemeris.DoubleVector([EARTH_RATE_RAD_S])
    earth_msg = ephemeris.planetOutMsgs[0]
    sun_state = messaging.SpicePlanetStateMsgPayload()
    sun_state.PlanetName = "sun"
    sun_msg = messaging.SpicePlanetStateMsg().write(sun_state)
    keep += [sun_state, sun_msg]

    # --- the spacecraft -----------------------------------------------------------
    sc = spacecraft.Spacecraft()
    sc.ModelTag = "reference"
    sc.hub.mHub = MASS_KG
    sc.hub.IHubPntBc_B = np.asarray(model.inertia_kgm2, dtype=float).tolist()
    r_km, v_km_s = Sgp4Orbit(scenario.elements, scenario.epoch_tai_s).state_eci(0.0)
    sc.hub.r_CN_NInit = [[x * 1e3] for x in r_km]
    sc.hub.v_CN_NInit = [[x * 1e3] for x in v_km_s]
    w, x, y, z = scenario.q0_body_eci
    # MRP of the body relative to the inertial frame: sigma = q_vector / (1 + q_scalar).
    sc.hub.sigma_BNInit = [[x / (1.0 + w)], [y / (1.0 + w)], [z / (1.0 + w)]]
    sc.hub.omega_BN_BInit = [[math.radians(c)] for c in scenario.w0_body_deg_s]
    gravity = simIncludeGravBody.gravBodyFactory()
    earth = gravity.createEarth()
    earth.isCentralBody = True
    earth.mu = MU_EARTH_M3_S2
    earth.planetBodyInMsg.subscribeTo(earth_msg)
    j2 = sphericalHarmonicsGravityModel.SphericalHarmonicsGravityModel()
    j2.muBody = MU_EARTH_M3_S2
    j2.radEquator = R_EARTH_M
    j2.maxDeg = 2
    # Fully normalised coefficients (Vallado 2013, eq. 8-22): C20bar = -J2 / sqrt(5).
    j2.cBar = [[1.0], [0.0, 0.0], [-J2 / math.sqrt(5.0), 0.0, 0.0]]
    j2.sBar = [[0.0], [0.0, 0.0], [0.0, 0.0, 0.0]]
    earth.gravityModel = j2
    gravity.addBodiesTo(sc)
    keep += [gravity, earth, j2]

    shadow = eclipse.Eclipse()
    shadow.ModelTag = "eclipse"
    shadow.addSpacecraftToModel(sc.scStateOutMsg)
    shadow.addPlanetToModel(earth_msg)
    shadow.sunInMsg.subscribeTo(sun_msg)

    field = magneticFieldCenteredDipole.MagneticFieldCenteredDipole()
    field.ModelTag = "field"
    field.g10, field.g11, field.h11 = IGRF14_G10_T, IGRF14_G11_T, IGRF14_H11_T
    field.planetRadius = IGRF_RADIUS_M
    field.planetPosInMsg.subscribeTo(earth_msg)
    field.addSpacecraftToModel(sc.scStateOutMsg)

    tam = magnetometer.Magnetometer()
    tam.ModelTag = "magnetometer"
    tam.stateInMsg.subscribeTo(sc.scStateOutMsg)
    tam.magInMsg.subscribeTo(field.envOutMsgs[0])
    tam.senNoiseStd = [MAG_NOISE_T] * 3
    tam.RNGSeed = seed

    gyro = imuSensor.ImuSensor()
    gyro.ModelTag = "gyro"
    gyro.scStateInMsg.subscribeTo(sc.scStateOutMsg)
    gyro.setBodyToPlatformDCM(0.0, 0.0, 0.0)
    gyro.PMatrixGyro = (np.eye(3) * GYRO_NOISE_RAD_S).tolist()
    gyro.setErrorBoundsGyro([10.0 * GYRO_NOISE_RAD_S] * 3)
    gyro.senRotBias = list(model.gyro_bias_rad_s)
    gyro.RNGSeed = seed + 2

    heads = []
    for k, normal in enumerate(CSS_NORMALS):
        head = coarseSunSensor.CoarseSunSensor()
        head.ModelTag = f"css{k}"
        head.fov = math.radians(90.0)
        head.scaleFactor = CSS_FULL_SUN_V
        head.maxOutput = 4.096           # ADS1115 full scale at its default gain
        head.senNoiseStd = CSS_NOISE_V
        head.senBias = 0.0
        head.nHat_B = list(normal)
        head.stateInMsg.subscribeTo(sc.scStateOutMsg)
        head.sunInMsg.subscribeTo(sun_msg)
        head.sunEclipseInMsg.subscribeTo(shadow.eclipseOutMsgs[0])
        head.RNGSeed = seed + 5 + k
        # A fixed scale error per head, as the photodiode emulator draws once.
        head.scaleFactor *= 1.0 + CSS_SCALE_ERROR * np.random.default_rng(seed + k).normal()
        heads.append(head)
    css = coarseSunSensor.CSSConstellation()
    css.ModelTag = "css"
    css.sensorList = coarseSunSensor.CSSVector(heads)
    keep += heads

    wheels = simIncludeRW.rwFactory()
    for wheel in model.wheels:
        _add_wheel(wheels, wheel)
    rw = reactionWheelStateEffector.ReactionWheelStateEffector()
    rw.ModelTag = "wheels"
    wheels.addToSpacecraft("wheels", rw, sc)
    rw_config = wheels.getConfigMessage()
    keep += [wheels, rw_config]

    mtb_params = messaging.MTBArrayConfigMsgPayload()
    mtb_params.numMTB = 3
    mtb_params.GtMatrix_B = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    mtb_params.maxMtbDipoles = [0.2] * 3
    mtb_params_msg = messaging.MTBArrayConfigMsg().write(mtb_params)
    mtb = MtbEffector.MtbEffector()
    mtb.ModelTag = "torquers"
    mtb.magInMsg.subscribeTo(field.envOutMsgs[0])
    mtb.mtbParamsInMsg.subscribeTo(mtb_params_msg)
    sc.addDynamicEffector(mtb)
    keep += [mtb_params, mtb_params_msg]

    for priority, part in enumerate(reversed(
            (ephemeris, sc, rw, mtb, shadow, field, tam, gyro, css))):
        sim.AddModelToTask("dynamics", part, priority + 1)

    # --- once a second: navigation (the GPS fix) and power --------------------------
    nav = simpleNav.SimpleNav()
    nav.ModelTag = "nav"
    nav.scStateInMsg.subscribeTo(sc.scStateOutMsg)
    p_matrix = np.zeros((18, 18))
    p_matrix[0:3, 0:3] = np.eye(3) * GPS_NOISE_M
    nav.PMatrix = p_matrix.tolist()
    nav.walkBounds = [10.0 * GPS_NOISE_M] * 3 + [0.0] * 15
    nav.RNGSeed = seed + 7
    panels = []
    power = model.power
    for k, normal in enumerate(power.panel_normals_body):
        panel = simpleSolarPanel.SimpleSolarPanel()
        panel.ModelTag = f"panel{k}"
        panel.stateInMsg.subscribeTo(sc.scStateOutMsg)
        panel.sunInMsg.subscribeTo(sun_msg)
        panel.sunEclipseInMsg.subscribeTo(shadow.eclipseOutMsgs[0])
        panel.setPanelParameters(list(map(float, normal)), power.cell_area_m2,
                                 power.cell_efficiency * power.mppt_efficiency)
        panels.append(panel)
    loads = simplePowerSink.SimplePowerSink()
    loads.ModelTag = "loads"
    on_outputs = (1, 2)  # radio and wheels: the EPS app's initially_on
    loads.nodePowerOut = -BUS_V * (power.system_load_a
                                   + sum(power.output_loads_a[o] for o in on_outputs))
    battery = simpleBattery.SimpleBattery()
    battery.ModelTag = "battery"
    capacity_j = 5.2 * BUS_V * 3600.0
    battery.storageCapacity = capacity_j
    battery.storedCharge_Init = SOC0 * capacity_j
    for node in (*panels, loads):
        battery.addPowerNodeToModel(node.nodePowerOutMsg)
    for priority, part in enumerate(reversed((nav, *panels, loads, battery))):
        sim.AddModelToTask("slow", part, priority + 1)
    keep += panels

    # --- flight software ----------------------------------------------------------------
    css_config = messaging.CSSConfigMsgPayload()
    units = []
    for normal in CSS_NORMALS:
        unit = messaging.CSSUnitConfigMsgPayload()
        unit.CBias = CSS_FULL_SUN_V
        unit.nHat_B = list(normal)
        units.append(unit)
    css_config.cssVals = units
    css_config.nCSS = len(units)
    css_config_msg = messaging.CSSConfigMsg().write(css_config)
    keep += [css_config, css_config_msg, units]

    wls = cssWlsEst.cssWlsEst()
    wls.ModelTag = "cssWlsEst"
    wls.cssDataInMsg.subscribeTo(css.constellationOutMsg)
    wls.cssConfigInMsg.subscribeTo(css_config_msg)
    wls.sensorUseThresh = 0.05 * CSS_FULL_SUN_V  # well above the 0.2 mV noise

    ekf = sunlineEKF.sunlineEKF()
    ekf.ModelTag = "sunlineEKF"
    ekf.cssDataInMsg.subscribeTo(css.constellationOutMsg)
    ekf.cssConfigInMsg.subscribeTo(css_config_msg)
    # Basilisk's own settings for this filter (its scenarioCSSFilters example).
    ekf.state = [1.0, 0.1, 0.0, 0.0, 0.01, 0.0]
    ekf.x = [0.0] * 6
    covar = np.diag([1.0, 1.0, 1.0, 0.02, 0.02, 0.02])
    ekf.covar = covar.reshape(36).tolist()
    ekf.qProcVal = 0.001 ** 2
    ekf.qObsVal = 0.017 ** 2
    ekf.sensorUseThresh = math.sqrt(ekf.qObsVal) * 5
    ekf.eKFSwitch = 5.0

    bdot = bdot_module()
    bdot.ModelTag = "bdot"
    bdot.tamInMsg.subscribeTo(tam.tamDataOutMsg)
    mtb.mtbCmdInMsg.subscribeTo(bdot.cmdOutMsg)

    # DETUMBLE commands no wheel torque: the body torque the wheels are to make is zero.
    torque_cmd = messaging.CmdTorqueBodyMsg().write(messaging.CmdTorqueBodyMsgPayload())
    motor = rwMotorTorque.rwMotorTorque()
    motor.ModelTag = "rwMotorTorque"
    motor.controlAxes_B = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    motor.vehControlInMsg.subscribeTo(torque_cmd)
    motor.rwParamsInMsg.subscribeTo(rw_config)
    rw.rwMotorCmdInMsg.subscribeTo(motor.rwMotorTorqueOutMsg)
    keep += [torque_cmd]
    for priority, part in enumerate(reversed((wls, ekf, bdot, motor))):
        sim.AddModelToTask("fsw", part, priority + 1)

    # --- what is kept: once a second, as the SIL's truth log and telemetry --------------
    every = macros.sec2nano(SLOW_S)
    recorders = {
        "state": sc.scStateOutMsg.recorder(every),
        "magnetometer": tam.tamDataOutMsg.recorder(every),
        "sun_sensors": css.constellationOutMsg.recorder(every),
        "eclipse": shadow.eclipseOutMsgs[0].recorder(every),
        "dipole": bdot.cmdOutMsg.recorder(every),
        "wheels": rw.rwSpeedOutMsg.recorder(every),
        "battery": battery.batPowerOutMsg.recorder(every),
        "nav": nav.transOutMsg.recorder(every),
        "sun_heading": wls.navStateOutMsg.recorder(every),
    }
    for recorder in recorders.values():
        sim.AddModelToTask("slow", recorder)

    parts = {"ephemeris": ephemeris, "spacecraft": sc, "wheels": rw, "torquers": mtb,
             "eclipse": shadow, "field": field, "magnetometer": tam, "gyro": gyro,
             "sun_sensors": css, "nav": nav, "panels": panels, "loads": loads,
             "battery": battery, "cssWlsEst": wls, "sunlineEKF": ekf, "bdot": bdot,
             "rwMotorTorque": motor}
    sim.InitializeSimulation()
    return SameParts(sim, macros, parts, recorders, keep)


def _add_wheel(factory: Any, wheel: Wheel) -> None:
    """One reference wheel in Basilisk's wheel factory (speeds in rpm there)."""
    max_rpm = wheel.max_speed_rad_s * 60.0 / (2.0 * math.pi)
    factory.create("custom", list(map(float, wheel.axis_body)), Omega=0.0,
                   maxMomentum=wheel.inertia_kgm2 * wheel.max_speed_rad_s,
                   Omega_max=max_rpm, u_max=wheel.max_torque_nm)



@dataclass(frozen=True)
class Flight:
    """One timed flight: wall and CPU seconds of the run (building excluded), |w| at
    the end (deg/s)."""

    wall_s: float
    cpu_s: float
    rate_deg_s: float


def fly(sim_s: float, scenario: Scenario | None = None) -> Flight:
    """Build the scenario, then fly it for `sim_s` seconds, timing the flight alone."""
    parts = build(scenario)
    start, cpu = time.perf_counter(), time.process_time()
    parts.run(sim_s)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return Flight(wall, cpu, parts.rate_deg_s())
