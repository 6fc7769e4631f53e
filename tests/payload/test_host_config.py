"""The payload host's documented defaults, as a configuration that leaves them out gets them.

docs/payload.md: each app runs under its own user id, ``base_uid`` + a slot kept
per app, 61000 by default; the slots are kept in ``state.json`` so an app keeps
its id across reboots.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

WHO = """
import os
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.event(f"running as uid {os.getuid()}")
"""

DOCUMENTED_BASE_UID = 61000  # docs/payload.md, "The sandbox"


def test_each_app_gets_its_own_user_id_from_61000_kept_across_reboots(tmp_path):
    projects = [make_project(tmp_path, "first", body=WHO),
                make_project(tmp_path, "second", partner="uni-b", apid=0x110, body=WHO)]
    with PartnerSim(projects) as sim:
        state = sim.workdir / "payload" / "state.json"
        uids = json.loads(state.read_text())["uids"]
        assert uids == {"first": DOCUMENTED_BASE_UID, "second": DOCUMENTED_BASE_UID + 1}
        sim.reboot()
        assert {"first", "second"} <= set(sim.host.running)
        assert json.loads(state.read_text())["uids"] == uids
        texts = [e.text for e in sim.events_of()]
    if os.geteuid() == 0:  # the host drops each app to its id only when it runs as root
        assert texts.count(f"running as uid {DOCUMENTED_BASE_UID}") == 2  # boot, reboot
        assert texts.count(f"running as uid {DOCUMENTED_BASE_UID + 1}") == 2


def test_a_configured_base_uid_moves_the_range(tmp_path):
    # a simulated fleet gives each spacecraft's host its own range: 61000 + 64 x SCID
    base = DOCUMENTED_BASE_UID + 64 * 3
    with PartnerSim(make_project(tmp_path, "only", body=WHO),
                    host_config={"base_uid": base}) as sim:
        uids = json.loads((sim.workdir / "payload" / "state.json").read_text())["uids"]
        texts = [e.text for e in sim.events_of()]
    assert uids == {"only": base}
    if os.geteuid() == 0:
        assert f"running as uid {base}" in texts


HOST_UNDER_A_CPU_LIMIT = """
import resource, sys
from pathlib import Path
from ground.payload import PartnerSim
from tests.payload.kit import make_project

resource.setrlimit(resource.RLIMIT_CPU, (600, 600))   # the host's own, lower than an app's
with PartnerSim(make_project(Path(sys.argv[1]), "limited")) as sim:
    sim.run(3.0)
    crashed = [e.text for e in sim.events_of() if "crashed" in e.text]
    print(len(sim.telemetry("LimitedStatus")), crashed)
"""


def test_a_host_under_a_cpu_time_limit_still_starts_its_apps(tmp_path):
    # A service manager may start the flight software with a CPU-time limit (LimitCPU,
    # `ulimit -t`); the app inherits the lower one instead of dying on raising it.
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", HOST_UNDER_A_CPU_LIMIT, str(tmp_path)],
                       capture_output=True, text=True, timeout=300, cwd=repo)
    assert r.returncode == 0, r.stderr[-2000:]
    published, crashed = r.stdout.split(" ", 1)
    assert crashed.strip() == "[]"
    assert int(published) >= 2


@pytest.mark.skipif(os.geteuid() != 0, reason="apps get user ids of their own only when the "
                                              "host runs as root; not root here")
def test_a_folder_closed_to_the_apps_user_ids_is_named_instead_of_a_crash_loop(tmp_path):
    # An app under its own user id could not even read its code if a folder on the way
    # to the payload root gave others no search permission: the host names the folder
    # and its mode, and starts nothing, rather than letting the app crash at start.
    with PartnerSim(make_project(tmp_path, "probe")) as sim:
        assert sim.app_command(13, "probe")  # STOP
        sim.workdir.chmod(0o700)
        try:
            started = sim.app_command(12, "probe")  # START
            texts = [e.text for e in sim.events_of()]
        finally:
            sim.workdir.chmod(0o711)
        assert not started and "probe" not in sim.host.running
        said = (f"probe could not be launched: {sim.workdir} is closed to the apps' user ids "
                "(mode 700): give others search permission")
        # an event holds 120 octets: the folder and its mode come first
        assert [t for t in texts if t.startswith("probe could not be launched")] == [said[:120]]
        assert sim.app_command(12, "probe")  # opened again, it starts
