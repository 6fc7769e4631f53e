"""`tessera sim --radio` and `tessera ground` as two real processes over TCP.

One simulator process flies the reference spacecraft (time between passes
compressed); ground processes connect to its radio port as the bus operator
and as partner uni-a, run procedures and a console session, and query the
archive afterwards.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sim_process import SimProcess

from ground.archive import SqliteArchive

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def tessera(*args: str, timeout: float = 120, cwd: Path | None = None, stdin: str | None = None
            ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tessera", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, input=stdin, env=ENV)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    # The time limit only ends a simulator left behind: the fixture stops it.
    sim = SimProcess(["sim", "--radio", "--compress-gaps", "--out", str(out),
                      "--duration-s", "1800"])
    try:
        sim.wait_running()
        yield out
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def ground_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("ground")


def run_procedure(sim: Path, ground_dir: Path, role: str, body: str, name: str
                  ) -> subprocess.CompletedProcess:
    path = ground_dir / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return tessera("ground", "run", str(path), "--fleet", str(sim / "fleet.json"), "--role",
                   role, "--archive", str(ground_dir / f"{role}.db"), "--ready-timeout-s", "90",
                   timeout=180)


OPERATOR = """
    verify(ping("sample"))                          # PUS 17 are-you-alive
    # refused before anything is sent: 5e7 is above SET_INPUT's declared maximum 1e6
    why = expect_refused(send, "sample.set_input", value=5e7)
    assert "above its maximum" in why, why
    # housekeeping decoded with calibration and limits: 150 x gain 1 -> 150 units, WARNING
    verify(send("sample.set_input", value=150.0))
    assert wait_for("sample.hk.output_cnt", lambda v: v > 100, timeout_s=30) == 150.0
    # a time-tagged command (PUS 11) executes at its on-board time
    now = onboard_time()
    timed = schedule(now + 8, "sample.set_input", value=1.0)
    assert timed.status == "pending"
    verify(timed, timeout_s=60)
    assert wait_for("sample.hk.output_cnt", lambda v: v < 2, timeout_s=30) == 1.0
    log(f"TIMED {now + 8} {onboard_time()}")
"""

PARTNER = """
    verify(set_parameter("uni_a_sample.gain", 2.5))        # PUS 20 on the partner's own app
    assert wait_for("uni_a_sample.hk.gain", lambda v: v == 2.5, timeout_s=30) == 2.5
    why = expect_refused(send, "adcs.set_mode", mode=2)    # an operator command
    assert "may not command" in why, why
    why = expect_refused(set_parameter, "uni_a_sample.gain", 1000.0)
    assert "above its maximum" in why, why
    assert tm("sample.hk.output_cnt") is None              # the operator's data stays hidden
"""


def test_operator_ping_limits_refusal_and_a_time_tagged_command(sim, ground_dir):
    proc = run_procedure(sim, ground_dir, "operator", OPERATOR, "operator")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "verified ping sample" in proc.stdout
    assert "refused as expected" in proc.stdout
    assert "[limit] sc1: sample.hk.output_cnt = 150: OK -> WARNING" in proc.stdout
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("TIMED"))
    due, seen = map(float, line.split()[1:])
    assert seen >= due  # the change was seen only after its release time

    archive = SqliteArchive(ground_dir / "operator.db")
    scid = 0x2AB
    rows = archive.samples(scid, "sample.hk.output_cnt", 0, 1e9)
    values = [e for _, _, e in rows]
    assert 150.0 in values and values[-1] == 1.0
    texts = [c.text for c in archive.commands(scid)]
    assert "ping sample" in texts and not any("5e+07" in t or "50000000" in t for t in texts)
    assert all(c.status == "completed" for c in archive.commands(scid))
    limits = [e for e in archive.events(scid, 0, 1e9) if e.origin == "ground"]
    assert any(e.name == "LIMIT_WARNING" and "output_cnt" in e.text for e in limits)
    assert any(e.origin == "flight" for e in archive.events(scid, 0, 1e9))


def test_partner_changes_its_parameter_and_is_refused_an_operator_command(sim, ground_dir):
    proc = run_procedure(sim, ground_dir, "uni-a", PARTNER, "partner")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "verified set uni_a_sample.gain 2.5" in proc.stdout
    archive = SqliteArchive(ground_dir / "uni-a.db")
    names = archive.parameter_names()
    assert names and all(n.startswith("uni_a_sample.") for n in names)
    assert archive.frames(0x2AB, 0, 1e12).__next__.__self__ is not None
    assert list(archive.frames(0x2AB, 0, 1e12)) == []  # raw frames hold others' data


def test_the_console_checks_input_and_keeps_running(sim, ground_dir):
    lines = "\n".join([
        "help sample.set_input",
        "sample.nonsense 1",
        "sample.set_input 1e9",
        "sample.set_input banana",
        "nonsense",
        "at soon sample.noop",
        'sample.set_input "unterminated',
        "wait 90",
        "ping sample",
        "sc",
        "status",
    ]) + "\n"
    proc = subprocess.Popen([sys.executable, "-m", "tessera", "ground", "console", "--fleet",
                             str(sim / "fleet.json"), "--archive",
                             str(ground_dir / "console.db"), "--history",
                             str(ground_dir / "history")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(proc.stdout.readline, "")),
                              daemon=True)
    reader.start()
    proc.stdin.write(lines)
    proc.stdin.flush()
    deadline = time.monotonic() + 300     # a generous wait for the event, not a speed check
    while time.monotonic() < deadline and "ping sample: COMPLETED" not in "".join(seen):
        time.sleep(0.1)
    proc.stdin.write("quit\n")
    proc.stdin.close()
    proc.wait(timeout=20)
    reader.join(timeout=5)
    out = "".join(seen)
    assert "value: f32 [-1e+06, 1e+06]" in out
    assert "refused: app sample has no command NONSENSE" in out
    assert "refused: sample.SET_INPUT: value=1000000000.0 is above its maximum 1000000.0" in out
    assert "refused: value takes a number, not 'banana'" in out
    assert "unknown command 'nonsense'" in out
    assert "refused: time 'soon' is not a number" in out
    assert "refused: cannot read that line" in out
    assert "ping sample: COMPLETED" in out, out[-2000:]
    assert "Traceback" not in out + proc.stderr.read()


def test_the_archive_is_queried_exported_and_plotted(sim, ground_dir):
    db = ground_dir / "operator.db"
    assert db.exists(), "runs after the operator procedure"
    csv_path = ground_dir / "out.csv"
    proc = tessera("ground", "export", "--archive", str(db), "--param", "sample.hk.output_cnt",
                   "--format", "csv", "--out", str(csv_path))
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(csv_path.open()))
    assert rows and {r["name"] for r in rows} == {"sample.hk.output_cnt"}
    assert any(float(r["eng"]) == 150.0 and r["raw"] == "15000" for r in rows)
    proc = tessera("ground", "export", "--archive", str(db), "--param", "sample.hk.gain",
                   "--format", "jsonl")
    first = json.loads(proc.stdout.splitlines()[0])
    assert first["name"] == "sample.hk.gain" and first["scid"] == 0x2AB
    t0 = float(rows[0]["time_s"])
    png = ground_dir / "gain.png"
    proc = tessera("ground", "plot", "sample.hk.output_cnt", "--from", str(t0), "--to",
                   str(t0 + 3600), "--archive", str(db), "--out", str(png))
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proc = tessera("ground", "replay", "--archive", str(db), "--dict",
                   str(sim / "dictionary.json"))
    assert proc.returncode == 0 and "0 refused" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("args", [
    ["ground", "console", "--link", "udp://x"],
    ["ground", "console", "--link", "tcp://localhost:99999", "--scid", "1"],
    ["ground", "run", "/nonexistent.py"],
    ["ground", "plot", "x", "--from", "nan"],
    ["ground", "plot", "x", "--archive", "/nonexistent.db"],
    ["ground", "export", "--format", "xml"],
    ["ground", "console", "--scid", "5000"],
    ["ground", "console"],
    ["sim", "--radio", "--spacecraft", "0"],
    ["sim", "--radio", "--radio-port", "-1"],
])
def test_bad_options_are_one_line_and_status_2(args, tmp_path):
    proc = tessera(*args, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
