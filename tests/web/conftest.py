"""A running `tessera sim --radio` and `tessera ground web` over it, as two processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sim_process import SimProcess

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
USERS = {"ops": ("operator", "operator-pass-1"), "alice": ("uni-a", "partner-pass-a"),
         "bob": ("uni-b", "partner-pass-b")}


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


ASM = b"\x1a\xcf\xfc\x1d"      # CCSDS 131.0-B attached sync marker before each TM frame
DROPPED_FRAMES = range(40, 43)    # downlink frames the relay loses (counted from 1)


class LossyRelay:
    """A TCP relay between the simulator's radio and the console that loses a few TM frames.

    The uplink passes untouched; the downlink is cut at the sync markers and the
    frames numbered in `DROPPED_FRAMES` are not passed on, as a fade would lose them,
    so the console sees a gap in the packet sequence.
    """

    def __init__(self, url: str, frame_len: int) -> None:
        parts = urlsplit(url)
        self.target = (parts.hostname, parts.port)
        self.frame_len = frame_len
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.server.getsockname()[1]}"
        self.dropped = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                down, _ = self.server.accept()
            except OSError:
                return
            up = socket.create_connection(self.target)
            threading.Thread(target=self._pump_up, args=(down, up), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(up, down), daemon=True).start()

    @staticmethod
    def _pump_up(ground: socket.socket, radio: socket.socket) -> None:
        try:
            while data := ground.recv(65536):
                radio.sendall(data)
        except OSError:
            pass
        radio.close()

    def _pump_down(self, radio: socket.socket, ground: socket.socket) -> None:
        buf, count, size = b"", 0, len(ASM) + self.frame_len
        try:
            while data := radio.recv(65536):
                buf += data
                out = []
                while len(buf) >= size:
                    if not buf.startswith(ASM):     # not in sync: pass on up to the next ASM
                        cut = buf.find(ASM, 1)
                        cut = len(buf) if cut < 0 else cut
                        out.append(buf[:cut])
                        buf = buf[cut:]
                        continue
                    count += 1
                    if count in DROPPED_FRAMES:
                        self.dropped += 1
                    else:
                        out.append(buf[:size])
                    buf = buf[size:]
                ground.sendall(b"".join(out))
        except OSError:
            pass
        ground.close()

    def close(self) -> None:
        self.server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def console(tmp_path_factory):
    """(base URL, work folder): the simulator flying one spacecraft and the web console."""
    pytest.importorskip("starlette", reason="the web console needs the 'web' extra")
    work = tmp_path_factory.mktemp("web")
    sim = SimProcess(["sim", "--radio", "--compress-gaps", "--out", str(work / "sim"),
                      "--duration-s", "3600"])     # the limit only ends one left behind
    sim.wait_running()
    fleet = work / "sim" / "fleet.json"
    # The console reaches the spacecraft through a relay that loses a few frames.
    doc = json.loads(fleet.read_text())
    relay = LossyRelay(doc["spacecraft"][0]["url"], int(doc["frame_len"]))
    doc["spacecraft"][0]["url"] = relay.url
    relayed = work / "fleet-relayed.json"
    relayed.write_text(json.dumps(doc))
    users = work / "users.json"
    for name, (role, password) in USERS.items():
        subprocess.run([sys.executable, "-m", "tessera", "ground", "user", name, "--role", role,
                        "--users", str(users), "--keys", str(work / "sim" / "keys-sc1.json")],
                       input=password + "\n", text=True, check=True, env=ENV,
                       capture_output=True)
    port = _free_port()
    web = subprocess.Popen([sys.executable, "-m", "tessera", "ground", "web", "--fleet",
                            str(relayed), "--users", str(users), "--port", str(port),
                            "--archive-dir", str(work / "archives")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            httpx.get(base + "/", timeout=1.0)
            break
        except httpx.TransportError:
            if web.poll() is not None or time.monotonic() > deadline:
                sim.stop()
                web.kill()
                pytest.fail(f"tessera ground web did not start: {web.stdout.read()}")
            time.sleep(0.2)
    yield base, work
    _stop(web)
    sim.stop()
    relay.close()


def _login(base: str, user: str) -> tuple[httpx.Client, str]:
    """A client holding `user`'s session cookie, and the session's CSRF token."""
    client = httpx.Client(base_url=base, timeout=60.0)
    r = client.post("/api/login", json={"user": user, "password": USERS[user][1]})
    assert r.status_code == 200, r.text
    return client, r.json()["csrf"]


def _wait_in_pass(client: httpx.Client, csrf: str, timeout_s: float = 180.0) -> None:
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
