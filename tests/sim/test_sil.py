"""Software in the loop: the real executive, drivers and emulators close the loop."""

import csv
import io
import math
import subprocess
import sys

import numpy as np
import pytest

from fsw.core.executive import load_config
from ground.sim.demo import CSV_COLUMNS, DETUMBLED_DEG_S, detumble_time, run_demo
from ground.sim.orbit import MU_EARTH_KM3_S2, KeplerOrbit, Sgp4Orbit
from ground.sim.sil import DEFAULT_FLIGHT_CONFIG, Scenario, build_sil
from ground.sim.spacecraft import SpacecraftModel


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One orbit of the demonstration (detumble, then sun pointing) and what it printed."""
    printed = io.StringIO()
    result = run_demo(tmp_path_factory.mktemp("demo"), orbits=1.0, plot=True, stream=printed)
    return result, printed.getvalue()


@pytest.fixture(scope="module")
def demo(demo_run):
    return demo_run[0]


def test_detumbles_from_10_deg_s_per_axis_within_one_orbit(demo):
    assert np.allclose(demo.w_start_deg_s, 10.0)
    assert demo.detumbled_at_s is not None
    assert demo.detumbled_at_s < demo.orbit_period_s
    assert demo.failed_apps == []


def test_then_points_at_the_sun_within_one_degree(demo):
    assert demo.sun_pointing_from_s is not None
    assert demo.sun_error_3sigma_deg is not None and demo.sun_error_3sigma_deg < 1.0
    assert np.linalg.norm(demo.w_end_deg_s) < 0.1


def test_demo_files_hold_truth_and_flight_telemetry(demo):
    rows = list(csv.DictReader(demo.csv_path.open()))
    assert list(rows[0]) == CSV_COLUMNS
    # One full row a second, from release to the last second the flight software ran.
    assert [float(r["t_s"]) for r in rows] == [float(t) for t in range(round(demo.sim_s))]
    assert all(len(r) == len(CSV_COLUMNS) and all(v != "" for v in r.values()) for r in rows)
    assert {r["mode"] for r in rows} == {"DETUMBLE", "SUN"}  # modes by name
    assert float(rows[0]["wx_deg_s"]) == 10.0
    # The gyro the flight software read tracks the true rate (plus its bias and noise).
    for row in rows[100:3000:97]:
        assert abs(float(row["gyro_x_deg_s"]) - float(row["wx_deg_s"])) < 0.2
    # Sun sensors report a unit vector whenever the sun is up.
    lit = [r for r in rows if float(r["lit_fraction"]) > 0.99 and r["css_sun_x"] != "0.00000"]
    norms = [np.linalg.norm([float(r[f"css_sun_{a}"]) for a in "xyz"]) for r in lit]
    assert len(lit) > 1000 and np.allclose(norms, 1.0, atol=1e-3)
    assert demo.png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_summary_agrees_with_the_rows_it_wrote(demo):
    rows = list(csv.DictReader(demo.csv_path.open()))
    t = np.array([float(r["t_s"]) for r in rows])
    w = np.array([float(r["w_norm_deg_s"]) for r in rows])
    # "For good": never at or above the threshold from then on, and at it just before.
    good = np.searchsorted(t, demo.detumbled_at_s)
    assert np.all(w[good:] < DETUMBLED_DEG_S) and w[good - 1] >= DETUMBLED_DEG_S
    first = np.searchsorted(t, demo.first_below_s)
    assert w[first] < DETUMBLED_DEG_S and np.all(w[:first] >= DETUMBLED_DEG_S)
    # The sun slew raises the rate after the first detumble: reported, not hidden.
    above = t[(t > demo.first_below_s) & (w >= DETUMBLED_DEG_S)]
    assert len(above) > 0 and demo.excursions
    assert demo.excursions[0].start_s == above[0] and demo.excursions[-1].end_s == t[good]
    assert max(e.peak_deg_s for e in demo.excursions) == pytest.approx(w[first:].max(), abs=1e-4)
    assert demo.sun_pointing_from_s <= demo.excursions[0].start_s


def test_summary_lines_name_the_first_detumble_the_slew_and_for_good(demo_run):
    result, text = demo_run
    assert f"|w| first below 0.5 deg/s after {result.first_below_s:.0f} s" in text
    assert "the slew to the sun" in text
    assert f"below 0.5 deg/s for good after {result.detumbled_at_s:.0f} s" in text


def test_runs_are_deterministic():
    ends = []
    for _ in range(2):
        run = build_sil(Scenario(seed=7))
        run.executive.run(30.0)
        ends.append(run.simulator.body.w_body_rad_s)
    assert np.array_equal(ends[0], ends[1])


def test_sensors_see_the_truth_through_the_registers():
    from fsw.apps.adcs import ADCS_STATE

    model = SpacecraftModel(gyro_bias_rad_s=(0.0, 0.0, 0.0))
    run = build_sil(Scenario(model=model, sensor_noise=False))
    assert run.executive.boot() == []
    states = run.executive.bus.create_pipe("test.state", 128)
    run.executive.bus.subscribe(states, ADCS_STATE.msg_id)
    run.executive.run(5.0)
    b_truth = run.simulator.log.b_body_t[-1]  # logged at t = 5 s, before the frame at 5 s
    w_truth = run.simulator.log.w_body_rad_s[-1]
    assert run.simulator.log.t_s[-1] == 5.0
    states.drain()
    run.executive.step()
    state = ADCS_STATE.unpack(states.drain()[0][1])
    assert state["time_s"] == pytest.approx(5.0)
    assert np.allclose(state["b_body_t"], b_truth, atol=1e-6 / 75 + 1e-12)  # RM3100 LSB, CC=200
    # L3GD20H at 245 dps full scale: 8.75 mdps per LSB.
    assert np.allclose(state["gyro_rad_s"], w_truth, atol=np.radians(8.75e-3))


def test_dead_gyro_sun_sensors_and_wheels_leave_detumble_running():
    run = build_sil(Scenario())
    run.emulators.gyro.inject_fault("nack")  # on SPI a dead part reads all ones
    for adc in (run.emulators.sun_adc_a, run.emulators.sun_adc_b):
        adc.inject_fault("nack")
    for wheel in run.emulators.wheels:
        wheel.inject_fault("nack")
    run.executive.run(120.0)
    app = run.executive.apps["adcs"]
    assert app.state.name == "RUNNING"
    assert app.sensor_faults["sun_sensors"] >= 1199 and app.sensor_faults["wheels"] >= 1199
    assert app.sensor_faults["gyro"] >= 1199
    assert np.any(run.emulators.magnetorquer.dipole_now_am2 != 0)  # still detumbling
    texts = [e.text for e in run.executive.events.recent if e.apid == app.APID]
    assert any("sun_sensors" in t and "0x48" in t for t in texts)
    assert any("gyro" in t and "0xFF" in t for t in texts)


def test_device_health_is_published_on_the_bus():
    from fsw.apps.adcs import DEVICE_HEALTH

    run = build_sil(Scenario())
    assert run.executive.boot() == []
    health = run.executive.bus.create_pipe("test.health", 64)
    run.executive.bus.subscribe(health, DEVICE_HEALTH.msg_id)
    run.emulators.magnetometer.inject_fault("nack")
    run.executive.run(2.05)  # housekeeping at 0, 1 and 2 s
    app = run.executive.apps["adcs"]
    labels = [label for label, _ in app.health_sources]
    assert labels[:3] == ["magnetometer", "magnetorquer", "gyro"]
    assert labels.count("wheels[0]") == 1 and len(labels) == 3 + 2 + 4
    reports = [DEVICE_HEALTH.unpack(p) for _, p in health.drain()]
    assert len(reports) == 3 * len(labels)
    mag = [r for r in reports if r["device"] == 0][-1]
    assert mag["failures"] >= 19 and mag["err_nack"] > 0
    assert b"RM3100, bus i2c0, address 0x20: no ack" in mag["last_error"]
    gyro = [r for r in reports if r["device"] == 2][-1]
    assert gyro["transactions"] >= 20 and gyro["failures"] == 0


def test_detumble_time_is_when_rates_stay_low():
    t = np.arange(6.0)
    assert detumble_time(t, np.array([9, 0.1, 0.7, 0.2, 0.1, 0.1])) == 3.0
    assert detumble_time(t, np.array([9, 9, 9, 9, 9, 0.6])) is None
    assert detumble_time(t, np.zeros(6)) == 0.0


def test_orbits_conserve_energy_and_close():
    orbit = KeplerOrbit(8000.0, 0.1, 51.0, 30.0, 40.0, 10.0)
    r0, _ = orbit.state_eci(0.0)
    for t in (100.0, 1234.5, orbit.period_s):
        r, v = orbit.state_eci(t)
        energy = v @ v / 2 - MU_EARTH_KM3_S2 / np.linalg.norm(r)
        assert abs(energy + MU_EARTH_KM3_S2 / 16000.0) < 1e-9
    assert np.allclose(orbit.state_eci(orbit.period_s)[0], r0, atol=1e-6)
    sgp4 = Sgp4Orbit(Scenario().elements, Scenario().epoch_tai_s)
    r, v = sgp4.state_eci(0.0)
    assert 6850 < np.linalg.norm(r) < 6900 and 7.5 < np.linalg.norm(v) < 7.7


def test_flight_config_without_adcs_orbit_is_filled_from_the_scenario():
    config = load_config(DEFAULT_FLIGHT_CONFIG)
    assert "orbit" not in config["apps"][0]["config"]
    run = build_sil(Scenario(alt_km=600.0))
    assert run.executive.boot() == []


def test_tessera_demo_command_runs_as_a_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tessera", "demo", "--single", "--orbits", "0.02",
                           "--no-plot",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert "Summary" in proc.stdout and "real time" in proc.stdout
    assert proc.stdout.startswith("Tessera demo:")
    assert (tmp_path / "demo.csv").exists()
    # 0.02 orbit is too short to detumble: the command says so in its exit code.
    assert "never fell below" in proc.stdout
    assert proc.returncode == 1


def test_tessera_sim_writes_its_own_files_under_its_own_name(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tessera", "sim", "--orbits", "0.01", "--no-plot",
                           "--w0-deg-s", "1", "0", "0", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Tessera sim:") and "demo" not in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim.csv"]
    rows = list(csv.DictReader((tmp_path / "sim.csv").open()))
    assert float(rows[0]["wx_deg_s"]) == 1.0


def test_shutdown_stops_torquers_and_wheels():
    run = build_sil(Scenario())
    run.executive.run(5.0)
    run.executive.shutdown()
    assert run.executive.apps["adcs"].state.name == "STOPPED"
    assert all(w.commanded_torque_nm == 0.0 for w in run.emulators.wheels)
    assert not run.emulators.magnetorquer.actuating


def test_the_output_doc_describes_every_csv_column_in_order():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "simulation.md").read_text()
    table = doc.split("## The CSV", 1)[1].split("## ", 1)[0]
    documented = [line.split("|")[1].strip().strip("`") for line in table.splitlines()
                  if line.startswith("| `")]
    assert documented == CSV_COLUMNS


def _tessera_sim(out, *args):
    proc = subprocess.run([sys.executable, "-m", "tessera", "sim", "--orbits", "0.02",
                           "--no-plot", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out / "sim.csv", newline="") as f:
        return proc.stdout, list(csv.DictReader(f))


def test_tessera_sim_flies_the_scenario_it_is_given(tmp_path):
    args = ("--alt-km", "800", "--inclination-deg", "51.6", "--w0-deg-s", "2", "-3", "4")
    out, rows = _tessera_sim(tmp_path / "a", *args, "--seed", "7")
    # Kepler's third law for a circular orbit 800 km above the WGS-84 equator:
    # T = 2 pi sqrt(a^3 / mu), mu = 398600.4418 km^3/s^2 -> 6052 s; 0.02 of it.
    period_s = 2 * math.pi * math.sqrt((6378.137 + 800.0) ** 3 / 398600.4418)
    assert f"{0.02 * period_s:.0f} s simulated" in out
    assert "released at ( +2.000,  -3.000,  +4.000) deg/s" in out
    first = rows[0]
    assert [float(first[k]) for k in ("wx_deg_s", "wy_deg_s", "wz_deg_s")] == [2.0, -3.0, 4.0]
    assert float(rows[-1]["t_s"]) == pytest.approx(0.02 * period_s, abs=1.0)
    # another noise seed, same scenario: same release, different sensor noise
    _, other = _tessera_sim(tmp_path / "b", *args, "--seed", "8")
    assert other[0]["wx_deg_s"] == first["wx_deg_s"]
    assert [r["gyro_x_deg_s"] for r in other[1:20]] != [r["gyro_x_deg_s"] for r in rows[1:20]]


def _adcs_states_and_truth(general_paths: bool) -> tuple[list[bytes], dict[str, np.ndarray]]:
    """A minute of the reference SIL: every ADCS_STATE packet and the truth log.

    With `general_paths` the I2C bus takes every transaction through the
    emulators' general `i2c_transfer` and the simulator propagates through
    the orbit's numpy form, the slower ways the fast paths stand in for."""
    from fsw.apps.adcs import ADCS_STATE

    run = build_sil(Scenario(seed=3))
    if general_paths:
        i2c = run.hardware.buses["i2c0"]
        i2c._own_transfer.update(i2c._targets)
        i2c._index()
        run.simulator._sgp4 = None
        run.simulator._state_eci = run.simulator._state_eci_from_arrays
    run.executive.boot()
    states = run.executive.bus.create_pipe("test.states", 1024)
    run.executive.bus.subscribe(states, ADCS_STATE.msg_id)
    run.executive.run(60.0)
    return [payload for _, payload in states.drain()], run.simulator.log.arrays()


def test_the_fast_paths_fly_the_same_run_bit_for_bit():
    fast_states, fast_truth = _adcs_states_and_truth(general_paths=False)
    states, truth = _adcs_states_and_truth(general_paths=True)
    assert len(fast_states) == 600
    assert fast_states == states
    for key, column in truth.items():
        assert np.array_equal(fast_truth[key], column), key
