"""The same-parts Basilisk peer of the SIL benchmark carries the reference spacecraft's
parts, and they are alive: a minute of its detumble, checked against the reference
configuration and the physics each part models."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import tomllib

pytest.importorskip("Basilisk", reason="the Basilisk peer needs the bench extra (bsk)")

ROOT = Path(__file__).resolve().parents[2]
SIM_S = 60.0


@pytest.fixture(scope="module")
def flown():
    from bench.basilisk_parts import build

    parts = build()
    parts.run(SIM_S)
    return parts


def _reference(name: str) -> dict:
    with open(ROOT / name, "rb") as f:
        return tomllib.load(f)


def test_the_wheels_are_the_reference_wheels_and_turn_with_the_body(flown) -> None:
    adcs = next(a for a in _reference("fsw/configs/reference.toml")["apps"]
                if a["name"] == "adcs")["config"]
    config = flown.parts["rwMotorTorque"].rwParamsInMsg.read()
    assert config.numRW == len(adcs["wheels"]["axes_body"]) == 4
    axes = np.array(config.GsMatrix_B[:12]).reshape(4, 3)
    assert axes == pytest.approx(np.array(adcs["wheels"]["axes_body"], dtype=float), abs=1e-6)
    assert config.JsList[:4] == pytest.approx([adcs["wheels"]["inertia_kgm2"]] * 4)
    assert config.uMax[:4] == pytest.approx([adcs["wheels"]["max_torque_nm"]] * 4)
    speeds = np.array(flown.recorders["wheels"].wheelSpeeds)[:, :4]
    assert len(speeds) == SIM_S + 1
    # No motor torque in detumble, yet the wheels' speeds relative to the tumbling
    # body change: the wheels are in the dynamics, not just in a message.
    assert np.all(np.isfinite(speeds)) and np.abs(speeds[-1]).max() > 0.01


def test_the_sun_sensors_follow_the_cosine_law_as_the_body_turns(flown) -> None:
    from Basilisk.utilities import RigidBodyKinematics

    from bench.basilisk_parts import CSS_FULL_SUN_V

    heads = _reference("hal/reference.toml")["devices"]["sun_sensors"]["channels"]
    state = flown.recorders["state"]
    readings = np.array(flown.recorders["sun_sensors"].CosValue)[:, :len(heads)]
    normals = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
    lit = np.array(flown.recorders["eclipse"].shadowFactor)
    expected = []
    for sigma, r in zip(state.sigma_BN, state.r_BN_N, strict=True):
        to_body = RigidBodyKinematics.MRP2C(sigma)   # [BN]; the sun is at the origin
        s = to_body @ (-np.asarray(r))
        expected.append(CSS_FULL_SUN_V * np.clip(normals @ (s / np.linalg.norm(s)), 0, None))
    expected = np.array(expected) * lit[:, None]
    assert lit.min() > 0.0   # this release starts in sunlight
    assert readings == pytest.approx(expected, abs=0.1 * CSS_FULL_SUN_V)
    assert np.ptp(readings, axis=0).max() > 1.0   # they change as the body tumbles
    heading = np.array(flown.recorders["sun_heading"].vehSunPntBdy)[-1]
    truth = expected[-1] @ normals
    angle = math.degrees(math.acos(np.dot(heading, truth) / np.linalg.norm(heading)
                                   / np.linalg.norm(truth)))
    assert angle < 10.0


def test_the_magnetometer_reads_a_low_earth_orbit_field(flown) -> None:
    field = np.linalg.norm(np.array(flown.recorders["magnetometer"].tam_S), axis=1)
    # A dipole of about 30 uT at the surface gives 20-50 uT at 500 km altitude.
    assert field.min() > 18e-6 and field.max() < 55e-6


def test_the_battery_charges_and_discharges_by_its_net_power(flown) -> None:
    battery = flown.recorders["battery"]
    capacity = flown.parts["battery"].storageCapacity
    level = np.array(battery.storageLevel)
    assert level[0] == pytest.approx(0.8 * capacity, rel=1e-3)
    net_w = np.array(battery.currentNetPower)
    assert level[-1] - level[0] == pytest.approx(net_w[:-1].sum(), rel=0.05, abs=1.0)
    assert 0.0 < level.min() and level.max() < capacity


def test_b_dot_slows_the_tumble_with_saturated_torquers(flown) -> None:
    rate = np.degrees(np.linalg.norm(np.array(flown.recorders["state"].omega_BN_B), axis=1))
    assert rate[0] == pytest.approx(math.sqrt(3) * 10.0, rel=1e-6)
    assert rate[-1] < rate[0] - 1.0
    dipole = np.array(flown.recorders["dipole"].mtbDipoleCmds)[1:, :3]
    assert np.abs(dipole).max(axis=1) == pytest.approx(0.2)   # tumbling fast: saturated


def test_the_orbit_is_the_scenarios_500_km(flown) -> None:
    earth = np.array(flown.parts["ephemeris"].planetOutMsgs[0].read().PositionVector)
    r = np.array(flown.recorders["nav"].r_BN_N)[-1] - earth
    altitude_km = np.linalg.norm(r) / 1e3 - 6378.137
    assert 480.0 < altitude_km < 520.0
