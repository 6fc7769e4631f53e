"""The bench as its users run it: `tessera hil bench` and `tessera fsw --backend
tunnel` as two real processes joined by a pty, short forms of the reference
scenarios (the full orbit is the `slow` test and bench/bench_hil.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SHORT_DETUMBLE = """
[scenario]
name = "detumble-short"
mode = "lockstep"
duration_s = {duration}
ber = {ber}
frame_loss = {loss}

[initial]
w0_body_deg_s = [10.0, 10.0, 10.0]
seed = 1

[[faults]]
at_s = 30.0
kind = "stuck"
device = "gyro"
duration_s = 10.0

[[criteria]]
name = "B-dot is removing the tumble"
value = "truth.rate_deg_s"
below = {below}
at_s = {duration}

[[criteria]]
name = "the flight computer sees the tumble"
value = "tm.AdcsState.w_body_rad_s"
above = 0.2

[[criteria]]
name = "no sensor read failed on the flight side"
value = "tm.adcsHousekeeping.sensor_faults"
equals = 0

[[criteria]]
name = "the executive kept its apps running"
value = "tm.ExecutiveHousekeeping.apps_failed"
equals = 0

[[criteria]]
name = "no rate-group overrun"
value = "tm.ExecutiveHousekeeping.overruns"
equals = 0
"""


_STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _end_processes():
    """Whatever a test started is ended with it, failed or not."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def tessera(*args: str, **kw) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "tessera", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    _STARTED.append(proc)
    return proc


def start_bench(tmp: Path, scenario: str, *extra: str, name: str = "bench") -> subprocess.Popen:
    path = tmp / f"{name}.toml"
    path.write_text(scenario)
    link = tmp / "link"
    proc = tessera("hil", "bench", "--pty", str(link), "--scenario", str(path), "--out",
                   str(tmp / "out"), *extra)
    deadline = time.monotonic() + 120
    while not link.is_symlink():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "bench did not make its pty"
        time.sleep(0.05)
    return proc


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def verdicts(tmp: Path) -> dict[str, bool]:
    root = ET.parse(tmp / "out" / "junit.xml").getroot()
    return {case.get("name"): case.find("failure") is None for case in root.iter("testcase")}


def test_lockstep_detumble_passes_between_two_processes(tmp_path: Path) -> None:
    reset = '\n[[faults]]\nat_s = 40.0\nkind = "reset"\n'
    bench = start_bench(tmp_path, SHORT_DETUMBLE.format(duration=60.0, below=16.0, ber=0.0,
                                                         loss=0.0) + reset)
    fsw = tessera("fsw", "--backend", "tunnel", "--port", str(tmp_path / "link"))
    code, fsw_out = finish(fsw)
    bench_code, bench_out = finish(bench)
    assert code == 0, fsw_out
    assert "scenario over" in fsw_out and "ran 600 minor frames" in fsw_out
    assert "reset by the bench: rebooted at 40.0 s; apps that failed to boot: none" in fsw_out
    assert bench_code == 0, bench_out
    assert all(verdicts(tmp_path).values()) and len(verdicts(tmp_path)) == 5
    report = (tmp_path / "out" / "report.html").read_text()
    assert "5 of 5 criteria passed" in report and "stuck on gyro" in report
    assert "reset on the flight computer" in report
    assert (tmp_path / "out" / "rate.png").stat().st_size > 1000
    # Lockstep is deterministic: the truth is the one-process simulation's, step for step.
    from ground.sim.sil import build_sil

    sil = build_sil()
    sil.executive.run(20.0)
    truth = json.loads((tmp_path / "out" / "checkpoint.json").read_text())
    bench_rate = dict(map(tuple, truth["recorder"]["series"]["truth.rate_deg_s"]))
    import numpy as np

    sil_rate = np.degrees(np.linalg.norm(sil.simulator.log.rows["w_body_rad_s"][20]))
    assert bench_rate[20.0] == pytest.approx(sil_rate, rel=1e-9)


READ_AHEAD = """
[scenario]
name = "read-ahead"
duration_s = 20.0
read_ahead = {read_ahead}
[initial]
w0_body_deg_s = [10.0, 10.0, 10.0]
seed = 1
[[faults]]
at_s = 5.0
kind = "nack"
device = "magnetometer"
duration_s = 2.0
[[faults]]
at_s = 9.0
kind = "stuck"
device = "gyro"
duration_s = 3.0
[[faults]]
at_s = 14.0
kind = "brownout"
device = "eps"
duration_s = 1.0
"""


def test_read_ahead_changes_nothing_but_the_round_trips(tmp_path: Path) -> None:
    """The same scenario, with its faults, with and without the bench reading
    ahead: the same truth and the same telemetry, frame for frame, and about a
    tenth of the round trips."""
    # A driver retries a NACKed transaction only within its budget of wall time (20 ms),
    # which a loaded machine can use up in one round trip to the bench, and not alike in
    # both runs: here the budget is out of reach, so a NACK is retried the same in each.
    devices = tmp_path / "devices.toml"
    devices.write_text(re.sub(r"^(\[devices\.(magnetometer|magnetorquer|gyro|sun_adc_a|"
                              r"sun_adc_b|eps)\])$", "\\1\nbudget_s = 3600.0",
                              (ROOT / "hal" / "reference.toml").read_text(), flags=re.M))
    runs = {}
    for read_ahead in ("true", "false"):
        tmp = tmp_path / read_ahead
        tmp.mkdir()
        bench = start_bench(tmp, READ_AHEAD.format(read_ahead=read_ahead))
        code, out = finish(tessera("fsw", "--devices", str(devices), "--backend", "tunnel",
                                   "--port", str(tmp / "link")))
        assert code == 0 and finish(bench)[0] == 0, out
        requests = int(re.search(r"bench link: (\d+) requests", out).group(1))
        recorder = json.loads((tmp / "out" / "checkpoint.json").read_text())["recorder"]
        series = {k: v for k, v in recorder["series"].items() if "max_work_ms" not in k}
        runs[read_ahead] = requests, series
    (ahead, with_), (stop_and_wait, without) = runs["true"], runs["false"]
    assert with_.keys() == without.keys() and "tm.AdcsState.w_body_rad_s" in with_
    assert with_ == without
    assert ahead * 5 < stop_and_wait


def test_impaired_link_still_passes_and_counts_the_errors(tmp_path: Path) -> None:
    drop = '\n[[faults]]\nat_s = 20.0\nkind = "link_drop"\nduration_s = 3.0\n'
    bench = start_bench(tmp_path, SHORT_DETUMBLE.format(duration=40.0, below=17.0, ber=1e-4,
                                                         loss=0.01) + drop)
    fsw = tessera("fsw", "--backend", "tunnel", "--port", str(tmp_path / "link"))
    code, fsw_out = finish(fsw)
    bench_code, bench_out = finish(bench)
    assert code == 0, fsw_out
    assert bench_code == 0, bench_out
    assert all(verdicts(tmp_path).values())
    # the cable pulled for 3 s: the flight side says so, and carries on once it is back
    assert "bench link lost: no reply" in fsw_out and "bench link restored" in fsw_out
    link = fsw_out.splitlines()[-1]
    retries = int(link.split(" retries")[0].split()[-1])
    assert retries > 10, link
    stats = bench_out.split("link: ")[-1]
    bad = int(stats.split(" bad frames")[0].split()[-1])
    lost = int(stats.split(" frames lost")[0].split()[-1])
    flipped = int(stats.split(" bits flipped")[0].split()[-1])
    assert bad > 10 and lost > 10 and flipped > 10, stats
    assert f"flight side: {retries} retries" in stats  # the report has both ends
    report = (tmp_path / "out" / "report.html").read_text()
    assert f"<td>flight_retries</td><td>{retries}</td>" in report


def test_a_killed_bench_is_reported_and_the_run_resumes_after_restart(tmp_path: Path) -> None:
    # A read in flight when the bench dies may fail once; the run must carry on.
    scenario = SHORT_DETUMBLE.format(duration=40.0, below=16.5, ber=0.0, loss=0.0).replace(
        'sensor_faults"\nequals = 0', 'sensor_faults"\nbelow = 5')
    bench = start_bench(tmp_path, scenario)
    fsw = tessera("fsw", "--backend", "tunnel", "--port", str(tmp_path / "link"),
                  env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []

    def read() -> None:
        for line in fsw.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # The bench dies mid-run however fast the machine runs the lockstep: when the gyro
    # fault starts (bench time 30 s of 40) the flight side is held where it is, and in
    # lockstep the bench cannot move on without it. (Waiting for a checkpoint instead,
    # a loaded machine saved the next one only after the run had ended.)
    deadline = time.monotonic() + 240
    while not any("fault stuck on gyro" in line for line in lines[:]):
        assert time.monotonic() < deadline and fsw.poll() is None, "".join(lines)
        time.sleep(0.01)
    os.kill(fsw.pid, signal.SIGSTOP)
    checkpoint = tmp_path / "out" / "checkpoint.json"
    try:
        # The bench, held too, checkpoints where it stands; it resumes from there.
        while not (checkpoint.exists() and json.loads(checkpoint.read_text())["t_s"] >= 29.0):
            assert time.monotonic() < deadline and bench.poll() is None
            time.sleep(0.1)
        os.kill(bench.pid, signal.SIGKILL)
        bench.wait()
        time.sleep(1.0)
        (tmp_path / "link").unlink(missing_ok=True)
        bench2 = start_bench(tmp_path, scenario, "--resume")
    finally:
        os.kill(fsw.pid, signal.SIGCONT)
    fsw.wait(timeout=240)
    reader.join(timeout=10)
    code, fsw_out = fsw.returncode, "".join(lines)
    bench_code, bench_out = finish(bench2)
    assert "bench link lost" in fsw_out and "bench link restored" in fsw_out, fsw_out
    assert code == 0 and "scenario over" in fsw_out, fsw_out
    # at least the one reconnect after the kill (a loaded machine may add more)
    assert int(re.search(r"(\d+) reconnects", fsw_out).group(1)) >= 1
    assert "resumed" in bench_out and bench_code == 0, bench_out
    assert all(verdicts(tmp_path).values())
    series = json.loads(checkpoint.read_text())["recorder"]["series"]["truth.rate_deg_s"]
    assert series[0][0] == 0.0 and series[-1][0] >= 39.0  # one report for the whole run


def test_real_time_at_imposed_baud_measures_every_deadline(tmp_path: Path) -> None:
    scenario = """
[scenario]
name = "realtime-short"
mode = "realtime"
duration_s = 3.0
baud = 921600
[[criteria]]
name = "frames were stamped"
value = "timing.frames_stamped"
above = 0
"""
    bench = start_bench(tmp_path, scenario)
    fsw = tessera("fsw", "--backend", "tunnel", "--port", str(tmp_path / "link"))
    code, fsw_out = finish(fsw)
    bench_code, bench_out = finish(bench)
    assert code == 0 and "realtime mode" in fsw_out, fsw_out
    assert bench_code == 0, bench_out
    report = (tmp_path / "out" / "report.html").read_text()
    assert "utilisation at 921600 baud, flight-&gt;bench" in report
    assert "deadline misses" in report
    # Speed is the benchmark's business (bench/bench_hil.py); here: every frame is
    # accounted for, run or counted as a miss, however loaded the machine is.
    stamped = int(report.split("frames stamped (real time)</td><td>")[1].split("<")[0])
    misses = int(report.split("deadline misses</td><td>")[1].split("<")[0])
    ran = int(re.search(r"ran (\d+) minor frames", fsw_out).group(1))  # run + dropped
    assert 0 < stamped <= ran <= stamped + misses + 1, (stamped, misses, ran)


def test_mixed_bench_gps_from_its_own_process_the_rest_tunnelled(tmp_path: Path) -> None:
    scenario = SHORT_DETUMBLE.format(duration=60.0, below=17.2, ber=0.0, loss=0.0) + """
[[criteria]]
name = "fixes came from the GPS process"
value = "tm.gnssHousekeeping.fixes"
above = 0
"""
    gps_link = tmp_path / "gps"
    scen = tmp_path / "gps.toml"
    scen.write_text(scenario)
    # Lockstep flies the 60 s in about a second of wall time on a quiet machine, and
    # pyserial drops what waited in the pty when the flight side opens it: at 4 Hz (what
    # 9,600 baud carries) the receiver logs several times within the run.
    gps = tessera("hil", "device", "gps", "--pty", str(gps_link), "--scenario", str(scen),
                  "--rate-hz", "4")
    deadline = time.monotonic() + 120
    while not gps_link.is_symlink():
        assert gps.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    devices = tmp_path / "devices.toml"
    reference = (ROOT / "hal" / "reference.toml").read_text()
    devices.write_text(reference.replace('url = "/dev/ttyS1"',
                                         f'url = "{gps_link}"\ntimeout_s = 0.0')
                       .replace('driver = "gps_nmea"', 'driver = "gps_nmea"\nbackend = "linux"'))
    bench = start_bench(tmp_path, scenario)
    fsw = tessera("fsw", "--devices", str(devices), "--backend", "tunnel", "--port",
                  str(tmp_path / "link"))
    code, fsw_out = finish(fsw)
    bench_code, bench_out = finish(bench)
    gps.send_signal(signal.SIGTERM)
    _, gps_out = finish(gps, 10)
    assert code == 0, fsw_out
    assert bench_code == 0, bench_out
    assert "sent" in gps_out
    assert all(verdicts(tmp_path).values()), bench_out


@pytest.mark.parametrize(("args", "message"), [
    (["hil", "bench", "--pty", "x", "--scenario", "no-such.toml"], "no such file"),
    (["hil", "bench", "--scenario", "hil/scenarios/detumble.toml"], "exactly one of"),
    (["hil", "bench", "--pty", "x", "--port", "loop://", "--scenario",
      "hil/scenarios/detumble.toml"], "exactly one of"),
    (["hil", "bench", "--port", "/nonexistent/tty", "--scenario",
      "hil/scenarios/detumble.toml"], "no such device"),
    (["hil", "bench", "--pty", "x", "--scenario", "pyproject.toml"], "unknown keys"),
    (["hil", "device", "gps", "--pty", "x", "--scenario", "hil/scenarios/detumble.toml",
      "--rate-hz", "50"], "--rate-hz"),
    (["fsw", "--backend", "tunnel"], "--port URL is needed"),
    (["fsw", "--port", "loop://"], "add --backend tunnel"),
    (["fsw", "--backend", "tunnel", "--port", "/nonexistent/tty"], "no such device"),
    (["fsw", "--backend", "tunnel", "--port", "socket://127.0.0.1:9"], "cannot open bench link"),
])
def test_bad_input_is_one_line_and_status_2(args: list[str], message: str,
                                            tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tessera", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(3600)  # one orbit in lockstep: minutes on a quiet machine, more loaded
def test_full_orbit_reference_detumble(tmp_path: Path) -> None:
    bench = start_bench(tmp_path, (ROOT / "hil" / "scenarios" / "detumble.toml").read_text())
    fsw = tessera("fsw", "--backend", "tunnel", "--port", str(tmp_path / "link"))
    code, _ = finish(fsw, 3600)
    bench_code, bench_out = finish(bench, 60)
    assert code == 0 and bench_code == 0, bench_out
    assert all(verdicts(tmp_path).values())
