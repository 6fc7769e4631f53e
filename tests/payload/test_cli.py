"""`tessera app` and `tessera sim --app` as a partner and the operator use them, as processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ground.payload import OPERATOR_ALLOCATIONS, _with_keys

TESSERA = [sys.executable, "-m", "tessera"]


def tessera(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*TESSERA, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_partner_and_operator_journey(tmp_path):
    r = tessera("app", "new", "probe", "--dir", str(tmp_path), "--apid", "0x102")
    assert r.returncode == 0, r.stderr
    project = tmp_path / "probe"
    assert {p.name for p in project.iterdir()} >= {"manifest.toml", "probe", "tests",
                                                     "scenario.toml"}
    assert tessera("app", "check", str(project)).returncode == 0
    partner_pub = tessera("app", "keygen", "--out", str(tmp_path / "p.pem")).stdout.strip()
    operator_pub = tessera("app", "keygen", "--out", str(tmp_path / "o.pem")).stdout.strip()
    alloc = tmp_path / "partners.toml"
    alloc.write_text(_with_keys(OPERATOR_ALLOCATIONS, {"uni-a": bytes.fromhex(partner_pub)},
                                bytes.fromhex(operator_pub)))
    bundle = tmp_path / "probe.bundle"
    r = tessera("app", "pack", str(project), "--key", str(tmp_path / "p.pem"),
                "--out", str(bundle))
    assert r.returncode == 0, r.stderr
    r = tessera("app", "verify", str(bundle), "--allocations", str(alloc))
    assert r.returncode == 1 and "no operator signature" in r.stderr
    r = tessera("app", "cosign", str(bundle), "--key", str(tmp_path / "o.pem"),
                "--allocations", str(alloc))
    assert r.returncode == 0, r.stderr
    r = tessera("app", "verify", str(bundle), "--allocations", str(alloc))
    assert r.returncode == 0 and "accepted: uni-a/probe v1" in r.stdout
    r = tessera("app", "verify", str(bundle), "--allocations", str(alloc),
                "--installed-version", "1")
    assert r.returncode == 1 and "rolled back" in r.stderr


def test_operator_will_not_cosign_over_allocation(tmp_path):
    assert tessera("app", "new", "greedy", "--dir", str(tmp_path)).returncode == 0
    manifest = tmp_path / "greedy" / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("cpu_percent = 10", "cpu_percent = 90"))
    r = tessera("app", "check", str(tmp_path / "greedy"))
    assert r.returncode == 1 and "cpu_percent 90 is over the allocation of 20" in r.stderr


def test_sim_flies_the_new_app_and_its_own_tests_pass(tmp_path):
    assert tessera("app", "new", "hello", "--dir", str(tmp_path)).returncode == 0
    project = tmp_path / "hello"
    r = tessera("sim", "--app", ".", "--out", str(tmp_path / "out"), cwd=project)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "command SET_GAIN(gain=2.0): completed" in r.stdout
    assert "HelloAppStatus count=" in r.stdout and "gain=2" in r.stdout
    rows = (tmp_path / "out" / "hello-HelloAppStatus.csv").read_text().splitlines()
    assert rows[0] == "count,reading,gain" and len(rows) > 25
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests"], cwd=project, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:]
    # nothing of the Tessera tree was touched by any of it
    tree = Path(__file__).resolve().parents[2]
    dirty = subprocess.run(["git", "status", "--porcelain", "fsw", "ground", "hal"], cwd=tree,
                           capture_output=True, text=True).stdout
    assert "hello" not in dirty


@pytest.mark.parametrize("args, text", [
    (("app", "new", "Bad Name"), "an app name is"),
    (("app", "new", "ok", "--apid", "0x10"), "out of range"),
    (("app", "new", "ok", "--partner", "UNI A"), "not a partner"),
    (("app", "pack", "/nonexistent", "--key", "k"), "no manifest.toml"),
    (("app", "verify", "/nonexistent", "--allocations", "x"), "no such file"),
    (("app", "keygen"), "required"),
    (("app",), "required"),
    (("sim", "--app", "/nonexistent"), "no manifest.toml"),
    (("sim", "--duration-s", "-1"), "out of range"),
])
def test_bad_options_are_one_line_and_status_2(tmp_path, args, text):
    r = tessera(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert text in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
