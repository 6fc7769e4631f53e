"""The README's web console commands, run as written, against a spacecraft whose link is down."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]


def readme_lines() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The web console", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [shlex.split(ln, comments=True) for ln in block.splitlines()
            if ln.startswith("tessera ")]


def test_the_readme_web_console_serves_and_says_the_link_is_down(console, tmp_path):
    _, work = console
    (tmp_path / "sim").mkdir()
    for f in (work / "sim").glob("*.json"):
        shutil.copy(f, tmp_path / "sim" / f.name)
    fleet = json.loads((tmp_path / "sim" / "fleet.json").read_text())
    with socket.socket() as s:                      # a port nobody listens on: link down
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    fleet["spacecraft"][0]["url"] = f"tcp://127.0.0.1:{dead}"
    (tmp_path / "sim" / "fleet.json").write_text(json.dumps(fleet))
    *users, web = readme_lines()
    for argv in users:
        r = subprocess.run([sys.executable, "-m", *argv], input="readme-password\n", text=True,
                           cwd=tmp_path, capture_output=True)
        assert r.returncode == 0, r.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web[web.index("--port") + 1] = str(port)
    proc = subprocess.Popen([sys.executable, "-m", *web], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        client = httpx.Client(base_url=base, timeout=60.0)
        deadline = time.monotonic() + 120
        while True:
            try:
                r = client.post("/api/login", json={"user": "ops", "password": "readme-password"})
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"web console did not start: {proc.stdout.read()}")
                time.sleep(0.2)
        assert r.status_code == 200
        csrf = r.json()["csrf"]
        r = client.post("/api/command", json={"spacecraft": "sc1", "command": "sample.noop",
                                              "args": {}}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 422 and "no CLCW" in r.json()["error"]
        cookie = f"tessera_session={client.cookies['tessera_session']}"
        with connect(base.replace("http", "ws") + "/ws", additional_headers={"Cookie": cookie},
                     origin=base) as ws:
            ws.send(json.dumps({"since": 0}))
            row: dict = {}
            for _ in range(40):     # the fleet comes in the first message, then when it changes
                msg = json.loads(ws.recv(timeout=60))
                row = msg["fleet"][0] if "fleet" in msg else row
                if row["link"] == "down":
                    break
        assert row["link"] == "down" and row["link_error"], row
    finally:
        proc.terminate()
        proc.wait(10)
