"""The `tessera fsw` command: the flight software on the real clock and real buses."""

import re
import subprocess
import sys

FLIGHT = """
[executive]
rate_groups_hz = [10, 1]
[[apps]]
name = "sample"
class = "fsw.apps.sample:SampleApp"
rate_hz = 10
"""


def tessera(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "tessera", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_runs_a_flight_configuration_in_real_time(tmp_path):
    (tmp_path / "fsw.toml").write_text(FLIGHT)
    (tmp_path / "devices.toml").write_text('[buses.i2c0]\nkind = "i2c"\nbackend = "sim"\n')
    proc = tessera("fsw", "--config", str(tmp_path / "fsw.toml"), "--devices",
                   str(tmp_path / "devices.toml"), "--duration-s", "0.5",
                   "--store", str(tmp_path / "store.db"))
    assert proc.returncode == 0, proc.stderr
    assert "booted 1 of 1 apps" in proc.stdout
    # 0.5 s at 10 Hz: five frames, more counted if a loaded machine made some late.
    frames = re.search(r"ran (\d+) minor frames", proc.stdout)
    assert frames and int(frames.group(1)) >= 5
    assert (tmp_path / "store.db").exists()


def test_missing_hardware_is_named_and_nothing_runs():
    proc = tessera("fsw", "--backend", "linux", "--duration-s", "0.1")
    assert proc.returncode == 2
    assert "i2c0" in proc.stderr and "/dev/i2c-1" in proc.stderr
    assert "minor frames" not in proc.stdout


def test_bad_flight_configuration_is_named(tmp_path):
    (tmp_path / "fsw.toml").write_text("[[apps]\n")
    (tmp_path / "devices.toml").write_text("")
    proc = tessera("fsw", "--config", str(tmp_path / "fsw.toml"), "--devices",
                   str(tmp_path / "devices.toml"), "--duration-s", "0.1")
    assert proc.returncode == 2 and "fsw.toml" in proc.stderr
