"""Install beside, switch, rollback, uninstall, safe mode, reboot: commanded, as on board."""

from __future__ import annotations

import json
import os
import struct
import sys
import time

import pytest

from fsw.core import Severity
from ground.payload import PartnerSim
from tests.payload.kit import audit_records, make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

VERSIONED = """
from fsw.payload import PayloadApp, on_command

VERSION = {version}

class App(PayloadApp):
    @on_command("SET_VALUE")
    def set_value(self, value):
        self.value = value

    def init(self):
        self.count = int(self.storage.read_bytes("count")) if self.storage.exists("count") else 0

    def execute(self):
        self.count += 1
        self.publish(TM, count=self.count, value=VERSION)

    def stop(self):
        self.storage.write_bytes("count", str(self.count).encode())
"""

ACTIVATE, START, STOP, ROLLBACK, UNINSTALL, STOP_ALL = 11, 12, 13, 14, 15, 16


def project(tmp_path, version, **kw):
    return make_project(tmp_path, "probe", version=version,
                        body=VERSIONED.format(version=version), **kw)


def last_value(sim):
    sim.run(2.0)
    return sim.telemetry("ProbeStatus")[-1]["value"]


@pytest.fixture()
def sim(tmp_path):
    s = PartnerSim(project(tmp_path, 1))
    s.boot()
    yield s
    s.close()


def audit(sim):
    sim.run(1.5)  # the audit app appends at its 1 Hz rate
    return audit_records(sim)


def test_new_version_installs_beside_and_switches_atomically_then_rolls_back(sim, tmp_path):
    assert last_value(sim) == 1
    name = sim.upload(project(tmp_path, 2))
    assert sim.install(name)
    apps = sim.workdir / "payload" / "apps" / "probe"
    assert sorted(p.name for p in apps.iterdir()) == ["1", "2", "current"]
    assert last_value(sim) == 1  # installed beside, not yet active
    assert sim.app_command(ACTIVATE, "probe", struct.pack(">I", 0))
    assert (apps / "current").readlink().name == "2"
    assert last_value(sim) == 2
    assert sim.app_command(ROLLBACK, "probe")
    assert last_value(sim) == 1
    assert not sim.app_command(ROLLBACK, "probe")  # nothing older than 1
    texts = [e.text for e in sim.events_of()]
    assert "probe: version 1 -> 2" in texts and "probe: version 2 -> 1" in texts


def test_a_bundle_below_the_highest_installed_version_is_refused(sim, tmp_path):
    assert sim.install(sim.upload(project(tmp_path, 5)))
    assert not sim.install(sim.upload(project(tmp_path, 4)))
    assert any(e.text.startswith("bundle probe-4.bundle refused: rolled back")
               for e in sim.events_of())
    assert ("refuse", "probe-4.bundle") in {(r.action, r.app) for r in audit(sim)}


def test_expired_bundle_is_refused_on_board(sim, tmp_path):
    assert not sim.install(sim.upload(project(tmp_path, 2), valid_days=-1))
    assert any("refused: expired" in e.text for e in sim.events_of())


def test_stop_start_and_uninstall(sim):
    assert sim.app_command(STOP, "probe")
    assert "probe" not in sim.host.running
    assert not sim.app_command(STOP, "probe")
    assert sim.app_command(START, "probe")
    assert "probe" in sim.host.running
    assert sim.app_command(UNINSTALL, "probe")
    assert not (sim.workdir / "payload" / "apps" / "probe").exists()
    assert not (sim.workdir / "payload" / "data" / "probe").exists()
    assert not sim.app_command(START, "probe")


def test_state_survives_reboot_and_a_stopped_app_stays_stopped(sim, tmp_path):
    sim.run(3.0)
    count_before = sim.telemetry("ProbeStatus")[-1]["count"]
    sim.reboot()
    assert "probe" in sim.host.running  # it was running: it runs again
    sim.run(2.0)
    assert sim.telemetry("ProbeStatus")[-1]["count"] > count_before  # its storage survived
    assert sim.app_command(STOP, "probe")
    sim.reboot()
    assert "probe" not in sim.host.running


def test_safe_mode_stops_every_app_until_commanded(sim):
    assert sim.host.stop_all("safe mode") == 1
    assert not sim.host.running
    sim.reboot()
    assert not sim.host.running
    assert sim.app_command(START, "probe")


def test_stop_all_command(sim):
    assert sim.host_command(STOP_ALL)
    assert not sim.host.running


def test_tampered_installed_file_is_caught_at_start(sim):
    assert sim.app_command(STOP, "probe")
    app_py = sim.workdir / "payload" / "apps" / "probe" / "1" / "app" / "probe" / "app.py"
    app_py.write_text(app_py.read_text() + "\nimport os\n")
    assert not sim.app_command(START, "probe")
    refused = [e.text for e in sim.events_of() if e.text.startswith("probe not started: ")]
    assert len(refused) == 1 and refused[0].startswith("probe not started: tampered")
    # and the audit log says who asked, and why it was refused
    records = [r for r in audit(sim) if r.action == "refuse-start"]
    assert [(r.actor, r.app) for r in records] == [("operator", "probe")]
    assert refused[0] == f"probe not started: {records[0].detail}"[:len(refused[0])]


def test_partner_commands_are_audited(sim, tmp_path):
    assert sim.command("SET_VALUE", value=3.0) is True
    sim.run(1.0)
    records = audit(sim)
    cmds = [r for r in records if r.action == "command" and r.app == "probe"]
    assert cmds and cmds[0].actor == "uni-a" and cmds[0].detail.startswith("function 10")
    assert {"install", "activate", "start"} <= {r.action for r in records}


@pytest.mark.parametrize("files, why", [
    ({"blob": 70000}, "storage 70000 B over its quota of 65536 B"),
    ({f"f{i}": 10 for i in range(5)}, "storage 5 files over its quota of 4"),
], ids=["bytes", "files"])
def test_files_put_in_the_directory_past_the_host_stop_the_app(tmp_path, files, why):
    # The host refuses writes over the quota (test_storage_quota); files that arrive
    # some other way (by hand, or a new version with a smaller quota) are measured,
    # octets and files both.
    with PartnerSim(make_project(tmp_path, "hog", storage_kib=64, storage_files=4)) as s:
        s.run(1.5)
        for name, size in files.items():
            (s.workdir / "payload" / "data" / "hog" / name).write_bytes(b"x" * size)
        s.run(2.0)
        assert f"hog stopped: quota: {why}" in [e.text for e in s.events_of()]
        assert "hog" not in s.host.running


def test_uninstall_does_not_open_a_way_back_to_an_older_version(sim, tmp_path):
    assert sim.install(sim.upload(project(tmp_path, 3)))
    assert sim.app_command(UNINSTALL, "probe")
    assert not sim.install(sim.upload(project(tmp_path, 2)))
    assert any("refused: rolled back" in e.text for e in sim.events_of())


def test_the_mode_managers_entry_sequence_step_stops_partner_apps(sim):
    from fsw.core.sequence import resolve, send
    steps = resolve([{"app": "payload_host", "command": "stop_all_apps"}],
                    sim.executive.apps, "entry.SAFE")
    send(sim.executive.bus, steps, request_id=7)
    sim.run(0.5)
    assert not sim.host.running
    assert any(e.text == "probe stopped: stop all commanded" for e in sim.events_of())


def test_audit_records_come_down_as_telemetry_and_the_log_reads_on_the_ground(sim):
    import hashlib
    import subprocess

    from fsw.payload.audit import AUDIT_RECORD_MSG
    down = sim.executive.bus.create_pipe("test.audit", 256)
    sim.executive.bus.subscribe(down, AUDIT_RECORD_MSG.msg_id)
    assert sim.command("SET_VALUE", value=1.0)
    records = audit(sim)
    packets = [AUDIT_RECORD_MSG.unpack(p) for _mid, p in down.drain()]
    lines = (sim.workdir / "audit.log").read_bytes().splitlines()
    assert packets and packets[-1]["seq"] == len(lines) - 1
    for p in packets:  # each packet names its record's line by the start of its hash
        assert p["chain"] == hashlib.sha256(lines[p["seq"]]).digest()[:8]
        assert p["action"].rstrip(b"\0").decode() == records[p["seq"]].action
    r = subprocess.run([sys.executable, "-m", "tessera", "app", "audit",
                        str(sim.workdir / "audit.log")], capture_output=True, text=True)
    assert r.returncode == 0 and f"{len(lines)} records, chain intact" in r.stdout
    tampered = sim.workdir / "tampered.log"
    tampered.write_bytes(b"\n".join(lines[:1] + lines[2:]) + b"\n")
    r = subprocess.run([sys.executable, "-m", "tessera", "app", "audit", str(tampered)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "record 1: chain broken" in r.stderr


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_stopping_and_starting_an_app_again_and_again_leaks_no_file(sim):
    # Each start opens the app's bridge and the pipe of its error output; each stop
    # (and each crash) must close both, or a host that restarts apps for months runs
    # out of file descriptors.
    def cycle() -> None:
        assert sim.app_command(STOP, "probe")
        deadline = time.monotonic() + 60.0
        while sim.host.stopping and time.monotonic() < deadline:  # until it has ended
            sim.run(0.1)
        assert not sim.host.stopping
        assert sim.app_command(START, "probe")
        sim.run(0.5)

    cycle()  # the first opens what the host keeps for good (logs, pipes)
    before = _open_files()
    for _ in range(3):
        cycle()
    assert _open_files() <= before  # (what earlier tests left may be collected meanwhile)
    # a commanded stop is an orderly STOPPED (information), not a KILLED (high)
    stops = [e for e in sim.events_of() if e.text == "probe stopped: commanded"]
    assert len(stops) == 4 and {e.severity for e in stops} == {Severity.INFO}
    # each start names the version, the process and why
    pid = sim.host.running["probe"].pid
    assert f"probe v1 started (pid {pid}, commanded)" in [e.text for e in sim.events_of()]


def test_an_app_started_by_command_runs_again_after_a_reboot(sim):
    assert sim.app_command(STOP, "probe")
    assert sim.app_command(START, "probe")
    # what a reboot after a power cut reads (an orderly shutdown writes it again)
    state = json.loads((sim.workdir / "payload" / "state.json").read_text())
    assert state["apps"]["probe"]["enabled"] is True
    sim.reboot()
    assert "probe" in sim.host.running
    assert any(e.text.endswith(", running before reboot)") for e in sim.events_of())


def test_a_command_naming_an_app_not_installed_fails_and_says_so(sim):
    # every command that names an app refuses one that is not installed: the completion
    # report fails with BAD_ARGUMENT (3) and the event names the app
    for code, extra in ((ACTIVATE, b"\0" * 4), (START, b""), (STOP, b""), (ROLLBACK, b""),
                        (UNINSTALL, b"")):
        assert not sim.app_command(code, "ghost", extra)
        last = [r for r in sim.results if r["function_code"] == code][-1]
        assert (last["stage"], last["ok"], last["reason"]) == (7, False, 3), last
        assert sim.last_event_text().endswith(" failed: no app 'ghost' is installed")
    assert sim.host.running  # the installed app runs on
