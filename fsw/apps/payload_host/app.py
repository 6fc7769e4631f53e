"""The payload host (APID 0x015): installs, runs, bridges and supervises partner apps.

Commands (all audited):

====  ==============================  ================================================
code  name (arguments)                what it does
====  ==============================  ================================================
10    INSTALL(file)                   verify ``incoming/<file>`` (fsw.payload.bundle),
                                      install it beside the versions already there
11    ACTIVATE(app, version)          switch the active version atomically (0: newest);
                                      a running app restarts on the new version
12    START(app)                      re-check the installed files, start the sandbox
13    STOP(app)                       stop it (STOP on the bridge, then SIGKILL)
14    ROLLBACK(app)                   activate the previous installed version
15    UNINSTALL(app)                  stop it, remove every version and its directory
16    STOP_ALL()                      stop every app (safe mode; `stop_all` for callers)
====  ==============================  ================================================

Layout under the configured ``root``: ``incoming/`` (file transfer puts
bundles here), ``apps/<app>/<version>/`` (installed files, metadata,
signatures), ``apps/<app>/current`` (a symbolic link switched with an
atomic rename), ``data/<app>/`` (the app's private directory) and
``state.json`` (replaced atomically), so what is installed, active and
meant to run survives a reboot: apps that were running start again at boot.

Each cycle, for each running app: its commands and granted topics go down
the bridge, ticks at its rate, what it sent is read within a fixed budget
and checked (own message ids only, declared sizes, rate and downlink
quotas), and once a second the supervisor (fsw.payload.supervisor) judges
CPU, memory, storage, message rate and downlink bytes.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsw.core import (
    COMMAND_RESULT_MSG,
    PARAMETER_REPORT_MSG,
    App,
    CommandError,
    EventDef,
    Field,
    Reason,
    Severity,
    Stage,
    command,
)
from fsw.core.app import COMMAND_HEADER
from fsw.core.bus import Pipe
from fsw.core.errors import BusError, UnknownMessageError
from fsw.core.ids import AUDIT_APID, PAYLOAD_HOST_APID
from fsw.core.message import cmd_msg_id
from fsw.payload import bridge, sandbox
from fsw.payload.audit import encode_submission
from fsw.payload.bridge import Kind
from fsw.payload.bundle import BundleError, verify_bundle, verify_installed
from fsw.payload.manifest import Allocations, Manifest, load_allocations, load_manifest
from fsw.payload.supervisor import Action, Measurement, Supervisor

EV_INSTALLED = EventDef(10, "INSTALLED", Severity.INFO, "{partner}/{app} v{version} installed")
EV_REFUSED = EventDef(11, "REFUSED", Severity.HIGH, "{subject}: {why}")
EV_STARTED = EventDef(12, "STARTED", Severity.INFO, "{app} v{version} started (pid {pid}, {why})")
EV_STOPPED = EventDef(13, "STOPPED", Severity.INFO, "{app} stopped: {why}")
EV_CRASHED = EventDef(14, "CRASHED", Severity.HIGH, "{app} crashed ({how}); {then}")
EV_THROTTLED = EventDef(15, "THROTTLED", Severity.MEDIUM, "{app} throttled: {why}")
EV_DISABLED = EventDef(16, "DISABLED", Severity.HIGH, "{app} disabled: {why}")
EV_VIOLATION = EventDef(17, "VIOLATION", Severity.MEDIUM, "{app}: {what} (x{count})",
                        doc="a refused bridge request; raised for the 1st, 2nd, 4th ... of "
                            "each kind")
EV_SWITCHED = EventDef(19, "SWITCHED", Severity.INFO, "{app}: version {old} -> {new}")
EV_UNINSTALLED = EventDef(20, "UNINSTALLED", Severity.INFO, "{app} uninstalled")
EV_KILLED = EventDef(21, "KILLED", Severity.HIGH, "{app} stopped: {why}",
                     doc="stopped at once for exceeding a quota or breaking the bridge rules")
EV_LAUNCH_FAILED = EventDef(22, "LAUNCH_FAILED", Severity.HIGH,
                            "{app} could not be launched: {why}")
EV_STORAGE_FULL = EventDef(23, "STORAGE_FULL", Severity.MEDIUM, "{app}: {what} (x{count})",
                           doc="a write the storage quota refused; raised for the 1st, 2nd, "
                               "4th ... time")
PAYLOAD_HOST_EVENTS = (EV_INSTALLED, EV_REFUSED, EV_STARTED, EV_STOPPED, EV_CRASHED,
                       EV_THROTTLED, EV_DISABLED, EV_VIOLATION, EV_SWITCHED, EV_UNINSTALLED,
                       EV_KILLED, EV_LAUNCH_FAILED, EV_STORAGE_FULL)

NAME_FIELD = Field("app", "16s", doc="app name, NUL padded")
READ_BUDGET_BYTES = 16 * 1024  # per app per cycle: a flood costs the host a bounded time
OUT_BUFFER_MAX = 1 << 20  # bytes waiting for a slow app before new frames are dropped
OPEN_REQUESTS_MAX = 64  # commands given to one app and not yet completed (oldest forgotten)
STOP_GRACE_S = 1.0
STORAGE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")
UNIX_TAI_OFFSET_S = 378691200.0 + 37.0  # 1958-01-01 TAI to 1970-01-01 UTC, TAI-UTC 37 s


def _name(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("ascii", "replace")


@dataclass
class Running:
    """One app's process, bridge and counters."""

    manifest: Manifest
    launched: sandbox.Launched
    started_s: float
    reader: bridge.FrameReader = field(default_factory=bridge.FrameReader)
    out: bytearray = field(default_factory=bytearray)
    topics: Pipe | None = None
    commands: Pipe | None = None
    tick_next_s: float = 0.0
    hk_next_s: float = 0.0
    tokens: float = 0.0
    last_refill_s: float = 0.0
    messages_in: int = 0
    messages_over: int = 0
    downlink_bytes_today: int = 0
    downlink_day: int = 0
    downlink_over: int = 0
    violations: int = 0
    violation_kinds: dict[str, int] = field(default_factory=dict)
    frames_dropped: int = 0
    storage_write: tuple[str, int] | None = None  # (file, size) of a write in progress
    cpu_ticks: int = 0
    rss_kib: int = 0
    paused: bool = False
    stopping: bool = False
    ready: bool = False
    done: bool = False
    # Request ids of the commands given to the app and not yet completed: the app may
    # report results only for these (a sandboxed app must not verify another TC).
    open_requests: dict[int, None] = field(default_factory=dict)
    request_in_hand: int = 0  # the command the app accepted last: its parameter reports

    @property
    def pid(self) -> int:
        return self.launched.process.pid


class PayloadHostApp(App):
    """Hosts partner payload apps in sandboxes; see the module docstring."""

    NAME = "payload_host"
    APID = PAYLOAD_HOST_APID
    COMMAND_PIPE_DEPTH = 32
    EVENTS = PAYLOAD_HOST_EVENTS
    HK_FIELDS = (
        Field("installed", "B", doc="apps installed"),
        Field("running", "B", doc="apps running"),
        Field("refused", "H", doc="bundles refused since boot"),
        Field("violations", "I", doc="bridge requests refused since boot"),
        Field("messages_in", "I", doc="messages published by apps since boot"),
    )

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        self.root = Path(self.config.get("root", "payload"))
        self.base_uid = int(self.config.get("base_uid", 61000))
        alloc = self.config.get("allocations")
        self.allocations: Allocations = load_allocations(alloc) if alloc else Allocations()
        if self.config.get("key_file"):  # the comms app's key file: partners' command rights
            self.allocations.attach_key_file(self.config["key_file"])
        self.period_s = float(self.config.get("supervision_period_s", 1.0))
        # Devices partners may be granted, and which of their methods they may call.
        self.device_methods: dict[str, tuple[str, ...]] = {
            str(k): tuple(str(m) for m in v)
            for k, v in dict(self.config.get("device_methods", {})).items()}
        # Simulation: wait for each tick's cycle so a run on a virtual clock is repeatable.
        self.lockstep_s = float(self.config.get("lockstep_timeout_s", 0.0))
        self.registry: dict[str, Any] = {"apps": {}, "uids": {}, "highest": {}}
        self.running: dict[str, Running] = {}
        self.supervisors: dict[str, Supervisor] = {}
        self.restart_at: dict[str, float] = {}
        self.stopping: list[tuple[Running, float]] = []
        self.refused = 0
        self.violations = 0
        self.messages_in = 0
        self._next_supervision_s = 0.0
        self._clk_tck = os.sysconf("SC_CLK_TCK")
        self._page_kib = os.sysconf("SC_PAGE_SIZE") // 1024

    # -- life cycle -------------------------------------------------------------------
    def init(self) -> None:
        for sub in ("incoming", "apps", "data"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # app user ids must pass through to their own directories, and list nothing
        for d in (self.root, self.root / "apps", self.root / "data"):
            d.chmod(0o711)
        (self.root / "incoming").chmod(0o700)
        path = self.root / "state.json"
        if path.exists():
            self.registry.update(json.loads(path.read_text()))
        self.bus.register_variable(cmd_msg_id(AUDIT_APID), "audit commands")

    def start(self) -> None:
        for name, rec in sorted(self.registry["apps"].items()):
            self._declare(name)
            if rec.get("enabled"):
                self._start(name, actor="onboard", why="running before reboot")

    def stop(self) -> None:
        for name in list(self.running):
            self._stop(name, "host stopping", keep_enabled=True, wait=True)

    def stop_all(self, reason: str) -> int:
        """Stop every partner app (safe mode); they stay stopped until commanded.

        Returns how many were running. Safe for the mode manager to call at any time.
        """
        names = list(self.running)
        for name in names:
            self._stop(name, reason, keep_enabled=False)
        for name in list(self.restart_at):
            self.restart_at.pop(name)
            self.registry["apps"][name]["enabled"] = False
        self._save()
        return len(names)

    # -- commands ---------------------------------------------------------------------
    @command(10, Field("file", "48s", doc="bundle file name in incoming/"), critical=True)
    def install(self, file: bytes) -> None:
        """Verify a received bundle and install it beside the versions already there."""
        fname = _name(file)
        src = self.root / "incoming" / fname
        if "/" in fname or fname.startswith(".") or not src.is_file():
            raise CommandError(Reason.BAD_ARGUMENT, f"no bundle {fname!r} in incoming/")
        data = src.read_bytes()
        try:
            # the highest version ever installed outlives uninstalls: no rollback that way
            highest = int(self.registry["highest"].get(self._peek_name(data), 0))
            bundle = verify_bundle(data, self.allocations, highest_version=highest,
                                   now_s=self._utc_now())
        except BundleError as exc:
            self.refused += 1
            self.event(EV_REFUSED, subject=f"bundle {fname} refused", why=exc)
            self._audit("operator", "refuse", fname[:16], str(exc))
            raise CommandError(Reason.EXECUTION_FAILED, str(exc)) from None
        m = bundle.manifest
        rec = self.registry["apps"].setdefault(m.name, {"versions": [], "active": 0, "highest": 0,
                                                     "enabled": False, "partner": m.partner})
        if rec["partner"] != m.partner:
            self.refused += 1
            raise CommandError(Reason.NOT_AUTHORISED,
                               f"app {m.name} belongs to {rec['partner']}, not {m.partner}")
        dest = self.root / "apps" / m.name / str(m.version)
        tmp = dest.with_name(f".{m.version}.part")
        shutil.rmtree(tmp, ignore_errors=True)
        for path, content in bundle.files.items():
            target = tmp / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        (tmp / "metadata.json").write_bytes(bundle.metadata_bytes)
        (tmp / "signatures.json").write_bytes(bundle.signatures_bytes)
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(tmp, dest)
        rec["versions"] = sorted(set(rec["versions"]) | {m.version})
        rec["highest"] = max(rec["highest"], m.version)
        self.registry["highest"][m.name] = max(self.registry["highest"].get(m.name, 0),
                                               m.version)
        self.registry["uids"].setdefault(m.name, self.base_uid + len(self.registry["uids"]))
        self._save()
        src.unlink()
        self.event(EV_INSTALLED, partner=m.partner, app=m.name, version=m.version)
        self._audit(m.partner, "install", m.name, f"version {m.version}")
        if not rec["active"]:
            self._activate(m.name, m.version)

    @command(11, NAME_FIELD, Field("version", "I", doc="0: the newest installed"), critical=True)
    def activate(self, app: bytes, version: int) -> None:
        """Make `version` the one that runs (atomic switch; a running app restarts)."""
        name = self._known(app)
        rec = self.registry["apps"][name]
        version = version or max(rec["versions"])
        if version not in rec["versions"]:
            raise CommandError(Reason.BAD_ARGUMENT, f"{name} has no version {version}")
        self._activate(name, version)

    @command(12, NAME_FIELD)
    def start_app(self, app: bytes) -> None:
        """Start an app (also re-enables one disabled by a crash loop)."""
        name = self._known(app)
        if name in self.running:
            raise CommandError(Reason.NOT_ALLOWED_NOW, f"{name} is already running")
        self._sup(name).reset()
        if not self._start(name, actor="operator", why="commanded"):
            raise CommandError(Reason.EXECUTION_FAILED, f"{name} did not start")

    @command(13, NAME_FIELD)
    def stop_app(self, app: bytes) -> None:
        """Stop an app; it stays stopped across reboots."""
        name = self._known(app)
        self.restart_at.pop(name, None)
        if name not in self.running:
            self.registry["apps"][name]["enabled"] = False
            self._save()
            raise CommandError(Reason.NOT_ALLOWED_NOW, f"{name} is not running")
        self._stop(name, "commanded", keep_enabled=False, actor="operator")

    @command(14, NAME_FIELD, critical=True)
    def rollback(self, app: bytes) -> None:
        """Activate the installed version before the active one."""
        name = self._known(app)
        rec = self.registry["apps"][name]
        older = [v for v in rec["versions"] if v < rec["active"]]
        if not older:
            raise CommandError(Reason.NOT_ALLOWED_NOW, f"{name} has no version before "
                                                       f"{rec['active']}")
        self._activate(name, max(older))

    @command(15, NAME_FIELD, critical=True)
    def uninstall(self, app: bytes) -> None:
        """Stop the app and remove every version and its private directory."""
        name = self._known(app)
        if name in self.running:
            self._stop(name, "uninstalling", keep_enabled=False, actor="operator", wait=True)
        self.restart_at.pop(name, None)
        shutil.rmtree(self.root / "apps" / name, ignore_errors=True)
        shutil.rmtree(self.root / "data" / name, ignore_errors=True)
        partner = self.registry["apps"].pop(name)["partner"]
        self._save()
        self.event(EV_UNINSTALLED, app=name)
        self._audit("operator", "uninstall", name, f"of {partner}")

    @command(16, critical=True)
    def stop_all_apps(self) -> None:
        """Stop every partner app (what safe mode does)."""
        self.stop_all("stop all commanded")

    # -- the cycle ----------------------------------------------------------------------
    def execute(self) -> None:
        now = self.now()
        if self.stopping:
            self._finish_stops()
        for name, due in list(self.restart_at.items()):
            if now >= due:
                self.restart_at.pop(name)
                self._start(name, actor="onboard", why="restart after crash")
        for name in list(self.running):
            run = self.running[name]
            if self._reap(name, run):
                continue
            self._feed(run, now)
            self._flush(run)
            self._read(name, run)
        if now >= self._next_supervision_s:
            self._next_supervision_s = now + self.period_s
            for name in list(self.running):
                self._supervise(name, self.running[name])

    def pump(self) -> None:
        """One pass of the bridges without ticks or supervision (benchmarks, tests)."""
        for name, run in list(self.running.items()):
            self._feed(run, self.now(), tick=False)
            self._flush(run)
            self._read(name, run)

    def housekeeping_values(self) -> Mapping[str, Any]:
        return {"installed": len(self.registry["apps"]), "running": len(self.running),
                "refused": min(self.refused, 0xFFFF),
                "violations": self.violations & 0xFFFFFFFF,
                "messages_in": self.messages_in & 0xFFFFFFFF}

    # -- installing ---------------------------------------------------------------------
    def _peek_name(self, data: bytes) -> str:
        from fsw.payload.bundle import read_archive
        from fsw.payload.manifest import ManifestError, parse_manifest
        try:
            return parse_manifest(read_archive(data).get("manifest.toml", b"")).name
        except (BundleError, ManifestError):
            return ""

    def _utc_now(self) -> float:
        return self.ctx.clock.epoch_tai_s + self.now() - UNIX_TAI_OFFSET_S

    def _activate(self, name: str, version: int) -> None:
        rec = self.registry["apps"][name]
        was_running = name in self.running
        if was_running:
            self._stop(name, f"switching to version {version}", keep_enabled=True, wait=True)
        link = self.root / "apps" / name / "current"
        tmp = link.with_name(".current.new")
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(str(version), tmp)
        os.replace(tmp, link)  # rename(2) is atomic: the link is old or new, never absent
        old, rec["active"] = rec["active"], version
        self._save()
        self._declare(name)
        self.event(EV_SWITCHED, app=name, old=old, new=version)
        self._audit("operator", "activate", name, f"version {old} -> {version}")
        if was_running:
            self._start(name, actor="onboard", why=f"now version {version}")

    def _declare(self, name: str) -> None:
        """Register the app's command, housekeeping and telemetry ids on the bus."""
        try:
            m = load_manifest(self.root / "apps" / name / "current" / "manifest.toml")
        except (OSError, ValueError):
            return
        self.bus.register_variable(m.command_id, f"{name} commands")
        for msg_id in (m.hk_id, *m.publish_ids):
            self.bus.register_variable(msg_id, f"{name} telemetry")

    def _save(self) -> None:
        path = self.root / "state.json"
        tmp = path.with_name("state.json.new")
        with open(tmp, "w") as fh:
            json.dump(self.registry, fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def _known(self, raw: bytes) -> str:
        name = _name(raw)
        if name not in self.registry["apps"]:
            raise CommandError(Reason.BAD_ARGUMENT, f"no app {name!r} is installed")
        return name

    def _sup(self, name: str) -> Supervisor:
        if name not in self.supervisors:
            m = load_manifest(self.root / "apps" / name / "current" / "manifest.toml")
            self.supervisors[name] = Supervisor(m.resources)
        return self.supervisors[name]

    # -- starting and stopping ------------------------------------------------------------
    def _start(self, name: str, *, actor: str, why: str) -> bool:
        rec = self.registry["apps"][name]
        code = self.root / "apps" / name / str(rec["active"])
        try:
            m = verify_installed(code, self.allocations)
        except (BundleError, ValueError) as exc:
            self.event(EV_REFUSED, subject=f"{name} not started", why=exc)
            self._audit(actor, "refuse-start", name, str(exc))
            return False
        closed = sandbox.unenterable_folder(self.root)
        if closed is not None:  # the app could not even read its own files
            why = (f"{closed} is closed to the apps' user ids (mode "
                   f"{closed.stat().st_mode & 0o777:o}): give others search permission")
            self.event(EV_LAUNCH_FAILED, app=name, why=why)
            return False
        self._declare(name)
        self.supervisors[name] = self.supervisors.get(name) or Supervisor(m.resources)
        self.supervisors[name].resources = m.resources
        spec = sandbox.SandboxSpec(name, code, self.root / "data" / name,
                                   int(self.registry["uids"][name]), m.resources)
        try:
            launched = sandbox.launch(spec)
        except OSError as exc:
            self.event(EV_LAUNCH_FAILED, app=name, why=exc)
            return False
        now = self.now()
        run = Running(m, launched, now, tick_next_s=now, hk_next_s=now,
                      tokens=float(m.resources.messages_per_s), last_refill_s=now)
        run.commands = self._pipe(f"payload.{name}.commands", 64)
        self.bus.subscribe(run.commands, m.command_id)
        run.topics = self._pipe(f"payload.{name}.topics", 256)
        run.cpu_ticks = 0
        self.running[name] = run
        if self.lockstep_s > 0:  # simulation: the app is up before time moves on
            deadline = time.monotonic() + max(self.lockstep_s, 10.0)
            while not run.ready and time.monotonic() < deadline and \
                    run.launched.process.poll() is None:
                select.select([run.launched.sock], [], [], 0.05)
                self._read(name, run)
                self._flush(run)  # answers to what its init asked (its stored files)
        rec["enabled"] = True
        self._save()
        self.event(EV_STARTED, app=name, version=m.version, pid=run.pid, why=why)
        self._audit(actor, "start", name, f"version {m.version}: {why}")
        return True

    def _pipe(self, pipe_name: str, depth: int) -> Pipe:
        pipe = self.bus.pipes.get(pipe_name)
        if pipe is None:
            return self.bus.create_pipe(pipe_name, depth)
        pipe.drain()
        return pipe

    def _unsubscribe_all(self, run: Running) -> None:
        for pipe in (run.commands, run.topics):
            if pipe is None:
                continue
            for msg_id in list(self.bus.registered()):
                self.bus.unsubscribe(pipe, msg_id)
            pipe.drain()

    def _stop(self, name: str, why: str, *, keep_enabled: bool, actor: str = "onboard",
              graceful: bool = True, wait: bool = False) -> None:
        """Stop an app without blocking the cycle: a graceful stop sends STOP and
        kills after STOP_GRACE_S; a misbehaving app is killed at once."""
        run = self.running.pop(name)
        run.stopping = True
        self._unsubscribe_all(run)
        proc = run.launched.process
        if graceful:
            if run.paused:
                os.kill(proc.pid, signal.SIGCONT)
            run.out = bytearray(bridge.encode(Kind.STOP, 0))
            self._flush(run)
            kill_at = time.monotonic() + STOP_GRACE_S
        else:
            proc.kill()
            kill_at = 0.0
        self.stopping.append((run, kill_at))
        if wait:
            while self.stopping:
                self._finish_stops()
                time.sleep(0.005)
        rec = self.registry["apps"].get(name)
        if rec is not None:
            rec["enabled"] = keep_enabled
            self._save()
        self.event(EV_STOPPED if graceful else EV_KILLED, app=name, why=why)
        self._audit(actor, "stop", name, why)

    def _finish_stops(self) -> None:
        """Close the processes that have ended; kill those past their grace."""
        still = []
        for run, kill_at in self.stopping:
            proc = run.launched.process
            self._serve_stopping(run)
            if proc.poll() is not None:
                self._close(run)
                continue
            if time.monotonic() >= kill_at:
                proc.kill()
            still.append((run, kill_at))
        self.stopping = still

    def _close(self, run: Running) -> None:
        try:
            run.launched.sock.close()
        except OSError:
            pass
        if run.launched.process.stderr is not None:
            run.launched.process.stderr.close()

    def _reap(self, name: str, run: Running) -> bool:
        """Handle an app whose process ended on its own; True when it did."""
        code = run.launched.process.poll()
        if code is None:
            return False
        self.running.pop(name)
        self._read(name, run)  # its last words (a crash event) are worth reading
        last = b""
        if run.launched.process.stderr is not None:
            lines = run.launched.process.stderr.read(65536).strip().splitlines()
            last = lines[-1] if lines else b""
        self._close(run)
        how = f"signal {-code}" if code < 0 else f"exit status {code}"
        if last:
            how += ": " + last.decode("utf-8", "replace")[:60]
        verdict = self._sup(name).crashed(self.now())
        self.event(EV_CRASHED, app=name, how=how, then=verdict.why)
        self._audit("onboard", "crash", name, f"{how}; {verdict.why}")
        if verdict.action is Action.DISABLE:
            self.registry["apps"][name]["enabled"] = False
            self._save()
            self.event(EV_DISABLED, app=name, why=verdict.why)
            self._audit("onboard", "disable", name, verdict.why)
        else:
            self.restart_at[name] = self.now() + verdict.delay_s
        return True

    # -- the bridge -----------------------------------------------------------------------
    def _send(self, run: Running, frame: bytes) -> None:
        if len(run.out) + len(frame) > OUT_BUFFER_MAX:
            run.frames_dropped += 1
            return
        run.out += frame

    def _feed(self, run: Running, now: float, tick: bool = True) -> None:
        assert run.commands is not None and run.topics is not None
        if len(run.commands):
            for _mid, payload in run.commands.drain():
                if len(payload) >= COMMAND_HEADER.size:
                    run.open_requests[COMMAND_HEADER.unpack_from(payload)[0]] = None
                    while len(run.open_requests) > OPEN_REQUESTS_MAX:
                        del run.open_requests[next(iter(run.open_requests))]
                self._send(run, bridge.encode(Kind.COMMAND, run.manifest.command_id, payload))
                code = payload[4] if len(payload) > 4 else -1
                self._audit(run.manifest.partner, "command", run.manifest.name,
                            f"function {code}, {len(payload) - 5} argument bytes")
        if len(run.topics):
            enc = bridge.encode
            run.out += b"".join([enc(Kind.MESSAGE, mid, p) for mid, p in run.topics.drain()])
        if tick and run.ready and not run.paused and now >= run.tick_next_s:
            # a throttled app sits out its period: no tick waits for a stopped process
            period = 1.0 / run.manifest.rate_hz
            hk = now >= run.hk_next_s
            if hk:
                run.hk_next_s = now + 1.0
            run.tick_next_s = max(run.tick_next_s + period, now)
            self._send(run, bridge.encode(Kind.TICK, 0, bridge.TICK.pack(now, hk)))
            if self.lockstep_s > 0:
                run.done = False
                self._flush(run)
                deadline = time.monotonic() + self.lockstep_s
                while not run.done and time.monotonic() < deadline and \
                        run.manifest.name in self.running:
                    select.select([run.launched.sock], [], [], max(deadline - time.monotonic(), 0))
                    self._read(run.manifest.name, run)
                    self._flush(run)  # replies to device calls made within the cycle

    def _flush(self, run: Running) -> None:
        if not run.out:
            return
        try:
            sent = run.launched.sock.send(run.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            run.out.clear()
            return
        del run.out[:sent]

    def _read(self, name: str, run: Running) -> None:
        got = 0
        sock = run.launched.sock
        while got < READ_BUDGET_BYTES:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            if not data:
                break
            got += len(data)
            try:
                frames = run.reader.feed(data)
            except bridge.BridgeError as exc:
                self._violation(name, run, f"malformed bridge data ({exc})", fatal=True)
                return
            for kind, msg_id, body in frames:
                self._handle(name, run, kind, msg_id, body)
                if name not in self.running:
                    return

    def _handle(self, name: str, run: Running, kind: int, msg_id: int, body: bytes) -> None:
        m = run.manifest
        if kind == Kind.PUBLISH:
            self._publish(name, run, msg_id, body)
        elif kind == Kind.RESULT and len(body) == bridge.RESULT.size:
            rid, code, stage, ok, reason = bridge.RESULT.unpack(body)
            if rid not in run.open_requests:
                self._violation(name, run, f"result for request {rid:#x}, a command it was "
                                "not given", key="foreign result")
                return
            if stage == Stage.COMPLETION or not ok:
                del run.open_requests[rid]
            elif stage == Stage.ACCEPTANCE:
                run.request_in_hand = rid
            self.bus.publish(COMMAND_RESULT_MSG.msg_id, COMMAND_RESULT_MSG.pack(
                request_id=rid, apid=m.apid, function_code=code, stage=stage, ok=bool(ok),
                reason=reason, time_s=self.now()))
        elif kind == Kind.EVENT and len(body) >= bridge.EVENT.size:
            event_id, severity = bridge.EVENT.unpack_from(body)
            text = body[bridge.EVENT.size:].decode("utf-8", "replace")
            sev = Severity(severity) if 1 <= severity <= 4 else Severity.INFO
            self.ctx.events.raise_event(m.apid, event_id, sev, text)
        elif kind == Kind.PARAMETER and len(body) == bridge.PARAMETER.size:
            index, value = bridge.PARAMETER.unpack(body)
            rid = run.request_in_hand if run.request_in_hand in run.open_requests else 0
            self.bus.publish(PARAMETER_REPORT_MSG.msg_id, PARAMETER_REPORT_MSG.pack(
                request_id=rid, apid=m.apid, index=index, value=value))
        elif kind == Kind.SUBSCRIBE:
            self._subscribe(name, run, body.decode("utf-8", "replace"))
        elif kind == Kind.READY:
            run.ready = True
            # The interpreter's start and the app's init are not its appetite: the share
            # is charged from here (an init that spins is charged by the periods before).
            run.cpu_ticks = self._measure(run)[0]
        elif kind == Kind.DONE:
            run.done = True
        elif kind == Kind.STORAGE:
            self._storage_request(name, run, body)
        elif kind == Kind.DEVICE:
            self._send(run, bridge.encode(Kind.DEVICE_REPLY, 0,
                                          json.dumps(self._device_call(name, run, body)).encode()))
        else:
            self._violation(name, run, f"bridge frame kind {kind} refused")

    def _publish(self, name: str, run: Running, msg_id: int, body: bytes) -> None:
        m = run.manifest
        if msg_id != m.hk_id and msg_id not in m.publish_ids:
            self._violation(name, run, f"publish on {msg_id:#06x} refused: not its own id",
                            key=f"id {msg_id}")
            return
        now = self.now()
        rate = m.resources.messages_per_s
        run.tokens = min(float(rate), run.tokens + (now - run.last_refill_s) * rate)
        run.last_refill_s = now
        if run.tokens < 1.0:
            run.messages_over += 1
            return
        day = int(now // 86400)
        if day != run.downlink_day:
            run.downlink_day, run.downlink_bytes_today = day, 0
        if run.downlink_bytes_today + len(body) > m.resources.downlink_bytes_per_day:
            run.downlink_over += len(body)
            return
        expected = next((t.size for t in m.telemetry if t.msg_id == msg_id), 6)
        if len(body) != expected:
            self._violation(name, run, f"publish on {msg_id:#06x} of {len(body)} bytes "
                                       f"refused: declared {expected}")
            return
        run.tokens -= 1.0
        run.downlink_bytes_today += len(body)
        run.messages_in += 1
        self.messages_in += 1
        try:
            self.bus.publish(msg_id, body)
        except BusError as exc:
            self._violation(name, run, f"publish refused by the bus: {exc}")

    def _device_call(self, name: str, run: Running, body: bytes) -> dict[str, Any]:
        """One device method call for an app: granted device, listed method, JSON in and out."""
        try:
            req = json.loads(body)
            device, method, args = str(req["device"]), str(req["method"]), list(req["args"])
        except (ValueError, KeyError, TypeError):
            self._violation(name, run, "malformed device request")
            return {"ok": False, "error": "malformed request"}
        allowed = self.device_methods.get(device, ())
        if device not in run.manifest.devices or method not in allowed:
            self._violation(name, run, f"device call {device}.{method} refused",
                            key=f"device {device}.{method}")
            return {"ok": False, "error": "not granted"}
        if not all(isinstance(a, (int, float, str, bool)) for a in args):
            return {"ok": False, "error": "arguments must be numbers or strings"}
        run.tokens -= 1.0  # a device call costs what a message costs
        try:
            value = getattr(self.device(device), method)(*args)
        except Exception as exc:  # the driver's failure is the app's answer, not the host's
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
        try:
            return {"ok": True, "value": _jsonable(value)}
        except TypeError:
            return {"ok": False, "error": f"result {type(value).__name__} is not plain data"}

    def _storage_request(self, name: str, run: Running, body: bytes) -> None:
        """Answer one STORAGE request at once (the app waits for it)."""
        try:
            head, data = bridge.decode_storage(body)
            answer, out = self._storage(name, run, head, data)
        except (bridge.BridgeError, KeyError, TypeError, ValueError) as exc:
            answer, out = {"ok": False, "error": f"bad storage request ({exc})"[:120]}, b""
        except OSError as exc:  # the host's own disk: the app hears why, nothing more
            answer, out = {"ok": False, "error": f"storage failed: {exc.strerror}"}, b""
        self._send(run, bridge.encode(Kind.STORAGE_REPLY, 0, bridge.encode_storage(answer, out)))
        self._flush(run)

    def _serve_stopping(self, run: Running) -> None:
        """An app told to STOP may save its state: answer its storage requests (and
        nothing else) until it ends or its grace is over."""
        got = 0
        while got < READ_BUDGET_BYTES:
            try:
                data = run.launched.sock.recv(65536)
            except (BlockingIOError, InterruptedError, OSError):
                return
            if not data:
                return
            got += len(data)
            try:
                frames = run.reader.feed(data)
            except bridge.BridgeError:
                return
            for kind, _mid, body in frames:
                if kind == Kind.STORAGE:
                    self._storage_request(run.manifest.name, run, body)

    def _storage(self, name: str, run: Running, head: dict[str, Any], data: bytes
                 ) -> tuple[dict[str, Any], bytes]:
        """One operation on the app's private directory, kept by the host: the quota
        (bytes and files) is checked before a write is accepted, so the app hears of it
        at once and the directory never holds more than its quota."""
        op = head["op"]
        folder = self.root / "data" / name
        if op == "usage":
            used, files = _usage(folder)
            return {"ok": True, "bytes": used, "files": files}, b""
        fname = str(head["name"])
        if not STORAGE_NAME.match(fname):
            return {"ok": False, "error": "not a plain file name (1-64 of A-Z a-z 0-9 . _ -)"}, b""
        path = folder / fname
        if op == "exists":
            return {"ok": True, "exists": path.is_file()}, b""
        if op == "read":
            offset = int(head.get("offset", 0))
            try:
                with path.open("rb") as fh:
                    size = os.fstat(fh.fileno()).st_size
                    fh.seek(offset)
                    return {"ok": True, "size": size}, fh.read(bridge.STORAGE_CHUNK)
            except FileNotFoundError:
                return {"ok": False, "missing": True, "error": "no such file"}, b""
        if op == "remove":
            try:
                path.unlink()
            except FileNotFoundError:
                return {"ok": False, "missing": True, "error": "no such file"}, b""
            return {"ok": True}, b""
        if op != "write":
            return {"ok": False, "error": f"no operation {op!r}"}, b""
        size, offset = int(head["size"]), int(head["offset"])
        staging = self.root / "staging" / f"{name}.part"
        if offset == 0:
            quota = run.manifest.resources
            used, files = _usage(folder)
            old = path.stat().st_size if path.is_file() else 0
            after_bytes = used - old + size
            after_files = files + (0 if path.is_file() else 1)
            over = (f"{after_bytes} B over its quota of {quota.storage_kib * 1024} B"
                    if after_bytes > quota.storage_kib * 1024 else
                    f"{after_files} files over its quota of {quota.storage_files}"
                    if after_files > quota.storage_files else "")
            if over:
                self._violation(name, run, f"storage write of {fname} refused: {over}",
                                key="storage quota", event=EV_STORAGE_FULL, action="quota")
                return {"ok": False, "quota": True, "error": over}, b""
            staging.parent.mkdir(mode=0o700, exist_ok=True)
            run.storage_write = (fname, size)
            staging.write_bytes(b"")
        if run.storage_write != (fname, size) or offset != staging.stat().st_size or \
                offset + len(data) > size:
            return {"ok": False, "error": "write out of sequence"}, b""
        with staging.open("ab") as fh:
            fh.write(data)
            if offset + len(data) == size:
                fh.flush()
                os.fsync(fh.fileno())
        if offset + len(data) == size:
            os.replace(staging, path)  # the old content stays until the new one is whole
            run.storage_write = None
        return {"ok": True}, b""

    def _subscribe(self, name: str, run: Running, topic: str) -> None:
        assert run.topics is not None
        mtype = next((t for t in self.bus.registered().values()
                      if t is not None and t.name == topic), None)
        if topic not in run.manifest.subscribe or mtype is None:
            why = "not granted" if topic not in run.manifest.subscribe else "no such topic"
            self._send(run, bridge.encode(Kind.REFUSED, 0, f"{topic}: {why}".encode()))
            self._violation(name, run, f"subscribe to {topic[:40]!r} refused: {why}")
            return
        try:
            self.bus.subscribe(run.topics, mtype.msg_id)
        except UnknownMessageError:
            return
        layout = json.dumps({"name": topic, "fields": [[f.name, f.fmt] for f in mtype.fields]})
        self._send(run, bridge.encode(Kind.GRANTED, mtype.msg_id, layout.encode()))

    def _violation(self, name: str, run: Running, text: str, fatal: bool = False,
                   key: str = "", event: EventDef = EV_VIOLATION,
                   action: str = "refuse") -> None:
        run.violations += 1
        self.violations += 1
        n = run.violation_kinds[key or text] = run.violation_kinds.get(key or text, 0) + 1
        if n & (n - 1) == 0:  # 1st, 2nd, 4th ... of each kind: no event flood
            self.event(event, app=name, what=text, count=n)
            self._audit("onboard", action, name, text)
        if fatal and name in self.running:
            self._stop(name, text, keep_enabled=False, graceful=False)

    # -- supervision ----------------------------------------------------------------------
    def _measure(self, run: Running) -> tuple[int, int]:
        try:
            with open(f"/proc/{run.pid}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])  # utime, stime (proc(5) 14, 15)
            with open(f"/proc/{run.pid}/statm", "rb") as fh:
                rss_kib = int(fh.read().split()[1]) * self._page_kib
        except (OSError, IndexError, ValueError):
            return run.cpu_ticks, run.rss_kib
        return ticks, rss_kib


    def _supervise(self, name: str, run: Running) -> None:
        ticks, run.rss_kib = self._measure(run)
        cpu_s = (ticks - run.cpu_ticks) / self._clk_tck
        run.cpu_ticks = ticks
        was_paused = run.paused
        if run.paused:
            os.kill(run.pid, signal.SIGCONT)
            run.paused = False
        used, files = _usage(self.root / "data" / name)
        verdict = self._sup(name).assess(Measurement(
            self.period_s, cpu_s, run.rss_kib, used, run.messages_over,
            run.downlink_over, paused=was_paused, storage_files=files))
        run.messages_over = run.downlink_over = 0
        if verdict.action is Action.STOP:
            self._stop(name, f"quota: {verdict.why}", keep_enabled=False, graceful=False)
        elif verdict.action is Action.THROTTLE:
            if "CPU" in verdict.why:
                os.kill(run.pid, signal.SIGSTOP)  # paused for the next period
                run.paused = True
            self.event(EV_THROTTLED, app=name, why=verdict.why)
            self._audit("onboard", "throttle", name, verdict.why)

    # -- audit ----------------------------------------------------------------------------
    def _audit(self, actor: str, action: str, app: str, detail: str) -> None:
        try:
            self.bus.publish(cmd_msg_id(AUDIT_APID), encode_submission(actor, action, app,
                                                                        detail))
        except BusError:
            pass


def _usage(folder: Path) -> tuple[int, int]:
    """(octets, files) under `folder`, everything counted (links and folders as files)."""
    total = count = 0
    for dirpath, dirs, files in os.walk(folder):
        for f in (*files, *dirs):
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size if f in files else 0
            except OSError:
                continue
            count += 1
    return total, count


def _jsonable(value: Any) -> Any:
    """Driver results (numbers, numpy arrays, tuples, bytes) as JSON values."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    raise TypeError(type(value).__name__)
