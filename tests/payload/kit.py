"""Partner projects for the payload tests: a manifest and one app module each."""

from __future__ import annotations

import fcntl
import signal
import struct
import tempfile
import termios
import textwrap
import time
from pathlib import Path

MANIFEST = """\
[app]
name = "{name}"
partner = "{partner}"
version = {version}
entry = "{name}.app:App"
apid = {apid:#05x}
rate_hz = {rate_hz}
subscribe = {subscribe}

[resources]
cpu_percent = {cpu_percent}
memory_mib = {memory_mib}
storage_kib = {storage_kib}
storage_files = {storage_files}
messages_per_s = {messages_per_s}
downlink_bytes_per_day = 1_000_000

[[telemetry]]
name = "{tm_name}"
apid = {tm_apid:#05x}
fields = [{{ name = "count", type = "I" }}, {{ name = "value", type = "f" }}]

[[commands]]
name = "SET_VALUE"
code = 10
args = [{{ name = "value", type = "f", low = -100, high = 100 }}]
"""

QUIET = """
from fsw.payload import PayloadApp, on_command

class App(PayloadApp):
    def init(self):
        self.count = 0
        self.value = 0.0

    def execute(self):
        self.count += 1
        self.publish(TM, count=self.count, value=self.value)

    @on_command("SET_VALUE")
    def set_value(self, value):
        self.value = value
"""

# An app whose first cycle ends its process, once: its storage remembers the crash.
CRASHES_ONCE = """
import os
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.crashed = self.storage.exists("crashed")

    def execute(self):
        if not self.crashed:
            self.storage.write_bytes("crashed", b"1")
            os._exit(3)  # its first cycle ends the process
"""

# What one host cycle may read from one app (docs/payload.md): the 16 KiB budget is
# checked before each read of at most 64 KiB.
READ_PER_CYCLE_MAX = 16 * 1024 + 64 * 1024


def queued_octets(sock) -> int:
    """Octets waiting in the host's end of an app's bridge (SIOCINQ, unix(7))."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4))[0]


def assert_one_cycle_reads_one_budget_then_stop_kills(sim, run, before: int,
                                                      deadline: float) -> None:
    """With `before` octets queued from a stopping app that floods its bridge, one
    host cycle reads at most one cycle's budget, and the stop still ends in SIGKILL
    (by `deadline`, time.monotonic())."""
    sim.host.execute()  # one cycle of the host
    left = queued_octets(run.launched.sock)
    assert left > 0 and left >= before - READ_PER_CYCLE_MAX, (before, left)
    while sim.host.stopping and time.monotonic() < deadline:
        sim.run(0.1)
    assert not sim.host.stopping
    assert run.launched.process.returncode == -signal.SIGKILL


def audit_records(sim) -> list:
    """The records of a `PartnerSim`'s audit log, its chain verified (AuditError
    if it is broken)."""
    from fsw.payload.audit import verify_chain

    return verify_chain((sim.workdir / "audit.log").read_bytes().splitlines())


def make_project(root: Path, name: str, *, partner: str = "uni-a", apid: int = 0x100,
                 body: str = QUIET, version: int = 1, rate_hz: float = 1,
                 subscribe: tuple[str, ...] = (), cpu_percent: float = 10,
                 memory_mib: int = 128, storage_kib: int = 64, storage_files: int = 64,
                 messages_per_s: int = 20, extra_files: dict[str, bytes] | None = None,
                 extra_manifest: str = "") -> Path:
    """Write a project whose app module is `body` (TM names its telemetry);
    `extra_manifest` is appended to its manifest (more commands, parameters)."""
    project = root / f"{name}-v{version}"
    (project / name).mkdir(parents=True)
    tm_name = name.title().replace("_", "") + "Status"
    (project / "manifest.toml").write_text(MANIFEST.format(
        name=name, partner=partner, version=version, apid=apid, tm_apid=apid + 1,
        rate_hz=rate_hz, subscribe=list(subscribe), cpu_percent=cpu_percent,
        memory_mib=memory_mib, storage_kib=storage_kib, storage_files=storage_files,
        messages_per_s=messages_per_s,
        tm_name=tm_name).replace("'", '"') + extra_manifest)
    (project / name / "__init__.py").write_text("")
    (project / name / "app.py").write_text(f"TM = {tm_name!r}\n" + textwrap.dedent(body))
    for rel, data in (extra_files or {}).items():
        (project / rel).write_bytes(data)
    return project


def reference_executive(clock):
    """The reference mission's executive (ADCS at 10 Hz on the sim HAL) on `clock`."""
    import hal.config
    from fsw.core import Executive
    from fsw.core.executive import load_config
    from ground.sim.sil import (
        DEFAULT_FLIGHT_CONFIG,
        Scenario,
        _with_uplinked_orbit,
        hal_config_for,
        with_mission_files,
        with_simulator_keys,
    )
    from hal.sim.reference import reference_sim

    scenario = Scenario()
    buses, _emulators = reference_sim(seed=1, realistic=True)
    hardware = hal.config.build(hal_config_for(scenario.model), sim_buses=buses)
    config = _with_uplinked_orbit(load_config(DEFAULT_FLIGHT_CONFIG), scenario.elements)
    workdir = Path(tempfile.mkdtemp(prefix="tessera-payload-keys-"))
    with_mission_files(config, workdir)
    with_simulator_keys(config, workdir)
    return Executive.from_config(config, clock, devices=hardware.devices)
