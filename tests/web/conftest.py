"""A running `tessera sim --radio` and `tessera ground web` over it, as two processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
USERS = {"ops": ("operator", "operator-pass-1"), "alice": ("uni-a", "partner-pass-a"),
         "bob": ("uni-b", "partner-pass-b")}


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def console(tmp_path_factory):
    """(base URL, work folder): the simulator flying one spacecraft and the web console."""
    pytest.importorskip("starlette", reason="the web console needs the 'web' extra")
    work = tmp_path_factory.mktemp("web")
    sim = subprocess.Popen([sys.executable, "-m", "tessera", "sim", "--radio", "--compress-gaps",
                            "--out", str(work / "sim"), "--duration-s", "900"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    fleet = work / "sim" / "fleet.json"
    deadline = time.monotonic() + 120
    while not (fleet.exists() and "dictionary" in fleet.read_text()):
        if sim.poll() is not None or time.monotonic() > deadline:
            sim.kill()
            pytest.fail(f"tessera sim did not start: {sim.stdout.read()}")
        time.sleep(0.1)
    time.sleep(0.3)
    users = work / "users.json"
    for name, (role, password) in USERS.items():
        subprocess.run([sys.executable, "-m", "tessera", "ground", "user", name, "--role", role,
                        "--users", str(users), "--keys", str(work / "sim" / "keys-sc1.json")],
                       input=password + "\n", text=True, check=True, env=ENV,
                       capture_output=True)
    port = _free_port()
    web = subprocess.Popen([sys.executable, "-m", "tessera", "ground", "web", "--fleet",
                            str(fleet), "--users", str(users), "--port", str(port),
                            "--archive-dir", str(work / "archives")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(base + "/", timeout=1.0)
            break
        except httpx.TransportError:
            if web.poll() is not None or time.monotonic() > deadline:
                _stop(sim)
                web.kill()
                pytest.fail(f"tessera ground web did not start: {web.stdout.read()}")
            time.sleep(0.2)
    yield base, work
    _stop(web)
    _stop(sim)


def _login(base: str, user: str) -> tuple[httpx.Client, str]:
    """A client holding `user`'s session cookie, and the session's CSRF token."""
    client = httpx.Client(base_url=base, timeout=10.0)
    r = client.post("/api/login", json={"user": user, "password": USERS[user][1]})
    assert r.status_code == 200, r.text
    return client, r.json()["csrf"]


def _wait_in_pass(client: httpx.Client, csrf: str, timeout_s: float = 90.0) -> None:
    """Until the console can uplink: a harmless ping-like command is accepted."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = client.post("/api/command", json={"spacecraft": "sc1", "command": "uni_a_sample.noop",
                                              "args": {}}, headers={"X-CSRF-Token": csrf})
        if r.status_code == 200:
            return
        assert "no CLCW" in r.json()["error"], r.text
        time.sleep(0.5)
    pytest.fail("no pass within the time allowed")


def _commands_log(work: Path) -> list[dict]:
    path = work / "archives" / "commands.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="session")
def login():
    return _login


@pytest.fixture(scope="session")
def wait_in_pass():
    return _wait_in_pass


@pytest.fixture(scope="session")
def commands_log():
    return _commands_log
