"""ACTIVATE of a running app: the old version ends, then the new one starts.

docs/payload.md and the host's command table: ACTIVATE switches the active version
atomically and a running app restarts on the new version. An app told to STOP may
save its state (the host answers its storage requests until it ends), so the new
version, started only once the old one has ended, finds what the old one saved.
What is meant to run survives a reboot: an app switched while running whose new
version cannot start at once (the host's disk in a bad state) starts at the next
boot once that is repaired. The switch is in the audit log: the operator's
activation, and the host's own stop and start around it.
"""

from __future__ import annotations

import struct
import sys
import time

import pytest

from fsw.payload.audit import verify_chain
from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

SAVES_AT_STOP = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def stop(self):
        self.storage.write_bytes("state", b"saved by version 1")
"""

READS_AT_INIT = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        found = self.storage.read_bytes("state") if self.storage.exists("state") else b"none"
        self.event("version 2 found: " + found.decode())
"""


def _activate(sim: PartnerSim, app: str, version: int) -> bool:
    return sim.app_command(11, app, struct.pack(">I", version))


def _records(sim: PartnerSim) -> list[tuple[str, str, str, str]]:
    log = sim.workdir / "audit.log"
    if not log.exists():
        return []
    return [(r.actor, r.action, r.app, r.detail)
            for r in verify_chain(log.read_bytes().splitlines())]


def test_a_running_app_switched_to_a_new_version_hands_its_saved_state_over(tmp_path):
    with PartnerSim(make_project(tmp_path, "keeper", body=SAVES_AT_STOP)) as sim:
        sim.install(sim.upload(make_project(tmp_path, "keeper", version=2, body=READS_AT_INIT)))
        assert _activate(sim, "keeper", 2)
        running = sim.host.running["keeper"]
        pid = running.pid
        version = running.manifest.version
        start = ("onboard", "start", "keeper", "version 2: now version 2")
        deadline = time.monotonic() + 120.0  # a loaded machine starts the app late

        def seen() -> bool:
            assert time.monotonic() < deadline
            return start in _records(sim) and any(  # the audit log is written at 1 Hz
                e.text.startswith("version 2 found: ") for e in sim.events_of())

        sim.executive.run(3600.0, until=seen)
        texts = [e.text for e in sim.events_of()]
        records = _records(sim)
    assert version == 2
    assert "version 2 found: saved by version 1" in texts, texts
    assert "keeper: version 1 -> 2" in texts
    assert "keeper stopped: switching to version 2" in texts
    assert f"keeper v2 started (pid {pid}, now version 2)" in texts
    # the operator activated; the host stopped the old version and started the new one
    assert records[-3:] == [
        ("onboard", "stop", "keeper", "switching to version 2"),
        ("operator", "activate", "keeper", "version 1 -> 2"),
        start,
    ]


def test_an_app_switched_while_running_that_cannot_start_now_starts_at_the_next_boot(tmp_path):
    with PartnerSim(make_project(tmp_path, "hello")) as sim:
        sim.install(sim.upload(make_project(tmp_path, "hello", version=2)))
        data = sim.workdir / "payload" / "data" / "hello"
        data.rename(data.with_name("hello.saved"))  # the app's folder is a file for a while
        data.write_bytes(b"")
        assert _activate(sim, "hello", 2)
        failed = [e.text for e in sim.events_of() if e.text.startswith("hello could not be")]
        not_running = "hello" not in sim.host.running
        data.unlink()
        data.with_name("hello.saved").rename(data)  # repaired
        sim.reboot()
        texts = [e.text for e in sim.events_of()]
        running = sim.host.running.get("hello")
        version = running.manifest.version if running else None
    assert failed and not_running
    assert version == 2
    assert any(t.startswith("hello v2 started (pid ") and t.endswith(", running before reboot)")
               for t in texts), texts
