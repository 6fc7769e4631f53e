"""A partner app on the ground console, and a bundle uploaded across the space link, as two
real processes: `tessera sim --app . --radio` and `tessera ground` over the radio's TCP port.

The guide's section "See it on the ground console" runs as written: the simulator in one
process, the console in another fed the guide's lines, its output matched line by line
(numbers free to differ). The operator then uploads a second partner's bundle with
`tessera ground upload --start` and the new app's telemetry reaches the ground.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sim_process import SimProcess

from ground.archive import SqliteArchive
from ground.payload import create_project
from tests.payload.test_partner_guide import blocks, expected

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PYTHONUNBUFFERED": "1",
       "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def session_blocks() -> tuple[list[str], list[str]]:
    """The guide's two terminals: the simulator's lines and the console's lines."""
    sim, console = blocks("shell-session")
    return sim.strip().splitlines(), console.strip().splitlines()


@pytest.fixture(scope="module")
def project():
    # Apps run under user ids of their own (as root): their folders must be reachable,
    # which pytest's private temporary folders are not.
    with tempfile.TemporaryDirectory(prefix="tessera-guide-") as tmp:
        root = Path(tmp)
        root.chmod(0o711)
        yield _guide_project(root)


def _guide_project(root: Path) -> Path:
    create_project(root / "hello", "hello")
    (app_code,) = blocks("python")
    (root / "hello" / "hello" / "app.py").write_text(app_code)  # the guide's own app
    return root / "hello"


@pytest.fixture(scope="module")
def sim(project):
    sim_lines, _ = session_blocks()
    argv = shlex.split(sim_lines[0][2:])
    assert argv[0] == "tessera", argv
    # The time limit only ends a simulator left behind: the fixture stops it.
    sim = SimProcess([*argv[1:], "--duration-s", "1800"], cwd=project)
    try:
        sim.wait_running()
        yield sim, sim_lines[1:]
    finally:
        sim.stop()


class Console:
    """A `tessera ground console` process fed line by line, its output read as it comes."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(argv, cwd=cwd, env=ENV, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.last_sent = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            # prompts are not followed by a newline: strip any that precede the output
            self.lines.put(re.sub(r"^(?:\S+@\S+> )+", "", line.rstrip("\n")))

    def send(self, line: str) -> None:
        self.last_sent = line
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, pattern: re.Pattern, timeout_s: float = 60.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if line == "no telemetry matches" and self.last_sent.startswith("tm"):
                time.sleep(1.0)  # in a pass, the first packets are a moment behind the CLCW
                self.send(self.last_sent)
            if pattern.search(line):
                return line
        raise AssertionError(f"{pattern.pattern!r} not in:\n" + "\n".join(self.seen[-8:]))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def test_the_guides_console_session_shows_the_app_by_its_manifest(sim, project):
    sim_process, sim_out = sim
    first = sim_process.lines[0].strip()  # the simulator said what it installed
    assert expected(sim_out[0]).search(first), first
    _, lines = session_blocks()
    argv = [*shlex.split(lines[0][2:]), "--archive", str(project / "uni-a.db")]
    console = Console(argv, project)
    try:
        request = None
        for line in lines[1:]:
            if line == "uni-a@sc1> quit":
                break  # after one more look, below
            if line.startswith("uni-a@sc1> "):
                console.send(line.removeprefix("uni-a@sc1> "))
                continue
            want = line
            if request and "[0x" in want:  # the request id is this session's
                want = re.sub(r"\[0x[0-9a-f]+\]", f"[{request}]", want)
            got = console.expect(expected(want), timeout_s=150.0)
            if got.startswith("sent "):
                request = re.search(r"\[(0x[0-9a-f]+)\]", got).group(1)
        # the reading follows the gain: 21.5 degC x 2, with its unit, once the backlog is down
        deadline = time.monotonic() + 180
        while True:
            console.send("tm HelloAppStatus.reading")
            line = console.expect(re.compile(r"hello\.HelloAppStatus\.reading"))
            if re.search(r"\s43 degC", line) or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert re.search(r"\s43 degC", line), line
        console.send("quit")
        assert console.proc.wait(timeout=10) == 0
    finally:
        console.close()
    archive = SqliteArchive(project / "uni-a.db")
    assert all(n.startswith("hello.") for n in archive.parameter_names())  # only its own


def test_the_operator_uploads_a_bundle_over_the_radio_and_starts_it(sim, project):
    fleet = json.loads((project / "sim" / "fleet.json").read_text())
    other = create_project(project.parent / "probe", "probe", partner="uni-b", apid=0x110)
    keys = fleet["signing_keys"]
    run = subprocess.run([str(BIN / "tessera"), "app", "pack", str(other), "--key", keys["uni-b"],
                          "--operator-key", keys["operator"]], cwd=project.parent, env=ENV,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    bundle = project.parent / "probe-1.bundle"
    common = ["--fleet", str(project / "sim" / "fleet.json"), "--archive",
              str(project / "ops.db"), "--timeout-s", "200"]
    refused = subprocess.run([str(BIN / "tessera"), "ground", "upload", str(bundle), "--role",
                              "uni-a", *common], env=ENV, capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode == 1
    assert "may not command file_transfer" in refused.stderr  # only the operator sends files
    up = subprocess.run([str(BIN / "tessera"), "ground", "upload", str(bundle), "--start",
                         *common], env=ENV, capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "probe-1.bundle: delivered (10240 octets, checksum matched on board)" in up.stdout
    assert "verified payload_host.INSTALL" in up.stdout
    assert "verified payload_host.START_APP app=b'probe'" in up.stdout
    # the new app's telemetry comes down (the comms app wires it as the host installs it)
    archive = SqliteArchive(project / "ops.db")
    deadline = time.monotonic() + 120
    names: list[str] = []
    while time.monotonic() < deadline and not names:
        with subprocess.Popen([str(BIN / "tessera"), "ground", "console", *common[:4]],
                              env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) as console:
            out, _ = console.communicate("wait 60\nevents 40\nquit\n", timeout=120)
        names = [ln for ln in out.splitlines() if "probe v1 started" in ln]
    assert names, out
    assert any(e.text.startswith("uni-b/probe v1 installed")
               for e in archive.events(0x2AB, 0, 1e9))


def test_the_web_console_shows_the_app_by_its_manifest(sim, project):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("starlette", reason="the web console needs the 'web' extra")
    users = project / "users.json"
    subprocess.run([str(BIN / "tessera"), "ground", "user", "alice", "--role", "uni-a",
                    "--users", str(users), "--keys", str(project / "sim" / "keys-sc1.json")],
                   input="partner-pass-a\n", text=True, check=True, env=ENV,
                   capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = subprocess.Popen([str(BIN / "tessera"), "ground", "web", "--fleet",
                            str(project / "sim" / "fleet.json"), "--users", str(users),
                            "--port", str(port), "--archive-dir", str(project / "web")],
                           env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                client = httpx.Client(base_url=base, timeout=60.0)
                r = client.post("/api/login", json={"user": "alice",
                                                    "password": "partner-pass-a"})
                break
            except httpx.TransportError:
                assert web.poll() is None and time.monotonic() < deadline, web.stdout.read()
                time.sleep(0.3)
        assert r.status_code == 200, r.text
        params = client.get("/api/me").json()["parameters"]
        assert params["hello.HelloAppStatus.reading"]["unit"] == "degC"  # from the manifest
        assert all(n.startswith("hello.") for n in params)  # uni-a sees its own app only
        deadline = time.monotonic() + 180
        series: list = []
        while not series and time.monotonic() < deadline:
            time.sleep(1.0)
            series = client.get("/api/archive", params={
                "spacecraft": "sc1", "name": "hello.HelloAppStatus.count"}).json()["series"][
                "hello.HelloAppStatus.count"]
        assert series and series[-1][1] > 0, series
    finally:
        web.send_signal(signal.SIGINT)
        try:
            web.wait(timeout=10)
        except subprocess.TimeoutExpired:
            web.kill()
