"""Partner app tooling on the ground: project template, development keys, and a
simulation that flies a partner project beside the reference mission.

`create_project` writes what `tessera app new` gives a student. `PartnerSim`
is what `tessera sim --app` and a project's own tests use: the real flight
executive on a virtual clock with the payload host (sandbox, bridge and
supervisor included) and the audit app, the project packed and signed with
keys made for the run, uplinked into ``incoming/``, installed and started by
commands, exactly as on board. Nothing in the Tessera tree is written: the
run lives in a temporary directory.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from fsw.core import COMMAND_RESULT_MSG, Event, Executive, Severity, VirtualClock
from fsw.core.app import COMMAND_HEADER
from fsw.core.events import EVENT_MSG
from fsw.core.executive import AppSpec
from fsw.core.ids import PAYLOAD_HOST_APID
from fsw.core.message import Layout, cmd_msg_id
from fsw.payload.bundle import generate_key, load_private_key, pack, public_raw
from fsw.payload.manifest import Manifest, load_manifest

OPERATOR_ALLOCATIONS = Path(__file__).resolve().parents[1] / "fsw" / "configs" / "partners.toml"

MANIFEST_TEMPLATE = """\
# The one place your app is declared: the payload host, the dictionary and
# the SDK all read it. Ask the bus operator for your partner name and APIDs.
[app]
name = "{name}"
partner = "{partner}"
version = 1
entry = "{name}.app:{cls}"
apid = {apid:#05x}
rate_hz = 1
devices = []
subscribe = ["ExecutiveHousekeeping"]

[resources]
cpu_percent = 10
memory_mib = 128
storage_kib = 512
messages_per_s = 20
downlink_bytes_per_day = 1_000_000

[[telemetry]]
name = "{cls}Status"
apid = {tm_apid:#05x}
fields = [
    {{ name = "count", type = "I", doc = "cycles since start" }},
    {{ name = "reading", type = "f", unit = "degC" }},
    {{ name = "gain", type = "f" }},
]

[[commands]]
name = "SET_GAIN"
code = 10
args = [{{ name = "gain", type = "f", low = 0, high = 10 }}]
doc = "Scale the reading"
"""

APP_TEMPLATE = '''\
"""{cls}: a payload app. It may import only `fsw.payload` and the standard library."""

from fsw.payload import PayloadApp, on_command


class {cls}(PayloadApp):
    def init(self):
        self.count = 0
        self.gain = 1.0
        self.frames = 0
        self.subscribe("ExecutiveHousekeeping", self.on_executive)
        if self.storage.exists("count"):
            self.count = int(self.storage.read_bytes("count"))

    def execute(self):
        self.count += 1
        self.publish("{cls}Status", count=self.count, reading=21.5 * self.gain,
                     gain=self.gain)

    @on_command("SET_GAIN")
    def set_gain(self, gain):
        self.gain = gain
        self.event(f"gain set to {{gain}}")

    def on_executive(self, values):
        self.frames = values["minor_frames"]

    def stop(self):
        self.storage.write_bytes("count", str(self.count).encode())
'''

TEST_TEMPLATE = '''\
"""Fly the app in the simulator, as on board, and check what reaches the ground."""

from pathlib import Path

from ground.payload import PartnerSim

PROJECT = Path(__file__).resolve().parents[1]


def test_status_flows_and_gain_command_works():
    with PartnerSim(PROJECT) as sim:
        sim.run(5.0)
        assert sim.telemetry("{cls}Status")[-1]["count"] >= 4
        assert sim.command("SET_GAIN", gain=2.0) is True
        sim.run(2.0)
        assert sim.telemetry("{cls}Status")[-1]["gain"] == 2.0
'''

SCENARIO_TEMPLATE = """\
# What `tessera sim --app .` does with your app, in mission seconds.
duration_s = 30

[[commands]]
at_s = 10
name = "SET_GAIN"
args = {{ gain = 2.0 }}
"""

README_TEMPLATE = """\
# {name}

A Tessera payload app of partner {partner}. See the Tessera partner guide
(docs/partners.md): `tessera sim --app .` flies it, `pytest tests` tests it,
`tessera app pack .` makes the signed bundle.
"""


def class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "App"


def create_project(dest: str | Path, name: str, partner: str = "uni-a",
                   apid: int = 0x100) -> Path:
    """Write a new partner project at `dest` (which must not exist)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,15}", name):
        raise ValueError(f"{name!r}: 1-16 of a-z, 0-9, _ starting with a letter")
    root = Path(dest)
    if root.exists():
        raise FileExistsError(f"{root} already exists")
    cls = class_name(name)
    files = {
        "manifest.toml": MANIFEST_TEMPLATE.format(name=name, partner=partner, cls=cls,
                                                  apid=apid, tm_apid=apid + 1),
        f"{name}/__init__.py": "",
        f"{name}/app.py": APP_TEMPLATE.format(cls=cls),
        "tests/test_app.py": TEST_TEMPLATE.format(cls=cls),
        "scenario.toml": SCENARIO_TEMPLATE.format(),
        "README.md": README_TEMPLATE.format(name=name, partner=partner),
        ".gitignore": "keys/\n__pycache__/\n*.bundle\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


class PartnerSim:
    """The flight executive with the payload host running partner projects.

    `projects` is one project directory or several (their partners may
    differ). `executive` gives an executive to add the host to (the SIL
    reference mission, say); by default a bare one on a virtual clock.
    `lockstep` makes the host wait for each app cycle (repeatable
    simulations); on a real clock leave it off, as in flight.
    """

    def __init__(self, projects: str | Path | list[str | Path], *,
                 allocations: Path = OPERATOR_ALLOCATIONS,
                 executive: Executive | None = None, lockstep: bool = True,
                 host_config: Mapping[str, Any] | None = None) -> None:
        items = projects if isinstance(projects, list) else [projects]
        self.projects = [Path(p) for p in items]
        self.manifests: list[Manifest] = [load_manifest(p / "manifest.toml")
                                          for p in self.projects]
        self.manifest = self.manifests[0] if self.manifests else None
        self.allocations = allocations
        self.telemetry_log: dict[str, list[dict[str, Any]]] = {}
        self.events: list[Event] = []
        self.results: list[dict[str, Any]] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="tessera-sim-")
        self.workdir = Path(self._tmp.name)
        self.workdir.chmod(0o711)  # the apps' own user ids pass through to their directories
        self._rid = 0x4000
        self._lockstep = lockstep
        self._host_config = dict(host_config or {})
        self.executive: Executive | None = executive

    # -- set up and tear down -----------------------------------------------------
    def __enter__(self) -> PartnerSim:
        try:
            self.boot()
        except BaseException:
            self.close()  # the apps already started must not outlive a failed boot
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def keys(self) -> tuple[dict[str, Any], Any]:
        """Partner keys (by partner) and the operator key made for this run."""
        w = self.workdir
        partner_keys = {m.partner: load_private_key(_key(w / f"{m.partner}.pem"))
                        for m in self.manifests}
        return partner_keys, load_private_key(_key(w / "operator.pem"))

    def boot(self) -> None:
        """Keys and allocations for the run, then every project packed, uplinked
        into incoming/, installed and started by commands to the payload host."""
        w = self.workdir
        partner_keys, operator_key = self.keys()
        (w / "partners.toml").write_text(_with_keys(
            self.allocations, {p: public_raw(k) for p, k in partner_keys.items()},
            public_raw(operator_key)))
        self.start_executive(self.executive)
        for project in self.projects:
            if not self.install(self.upload(project)):
                raise RuntimeError("install refused: " + self.last_event_text())
        for m in list(self.manifests):
            if not self.host_command(12, m.name.encode().ljust(16, b"\0")):
                raise RuntimeError("start refused: " + self.last_event_text())

    def start_executive(self, exe: Executive | None = None) -> None:
        """Boot an executive with the audit app and the payload host on this run's files."""
        w = self.workdir
        exe = exe or Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
        # Without lockstep the host keeps its own default, as the flight configuration
        # does (it leaves the option out): no waiting for an app's cycle.
        config = {"root": str(w / "payload"), "allocations": str(w / "partners.toml"),
                  **({"lockstep_timeout_s": 2.0} if self._lockstep else {}),
                  **self._host_config}
        # The reference mission flies the audit app and the host already: this run's
        # files and keys replace theirs (file transfer delivers into this host's incoming/).
        specs = {s.name: s for s in exe.specs}
        _add_or_configure(exe, specs, AppSpec("audit", "fsw.apps.audit:AuditApp", 1.0,
                                              {"path": str(w / "audit.log")}))
        _add_or_configure(exe, specs, AppSpec("payload_host",
                                              "fsw.apps.payload_host:PayloadHostApp", 10.0,
                                              config))
        if "file_transfer" in specs:
            specs["file_transfer"].config["incoming"] = str(w / "payload" / "incoming")
        self.executive = exe
        self._watch = exe.bus.create_pipe("partner_sim.watch", 8192)
        exe.bus.subscribe(self._watch, EVENT_MSG.msg_id)  # boot's own events included
        exe.bus.register(COMMAND_RESULT_MSG)
        exe.bus.subscribe(self._watch, COMMAND_RESULT_MSG.msg_id)
        self._subscribe_telemetry()
        exe.boot()
        self.host = exe.apps["payload_host"]
        self._watch_telemetry()

    def reboot(self) -> None:
        """Shut the executive down and boot a new one on the same on-board files."""
        assert self.executive is not None
        self.executive.shutdown()
        self.executive = None
        self.start_executive()

    def upload(self, project: str | Path, *, valid_days: float = 90.0) -> str:
        """Pack and sign `project` as this run's partner and operator, and put the bundle
        in the spacecraft's incoming/ (what file transfer does); return its file name."""
        m = load_manifest(Path(project) / "manifest.toml")
        if (m.name, m.version) not in {(k.name, k.version) for k in self.manifests}:
            self.manifests.append(m)
            if hasattr(self, "_layouts"):
                for t in m.telemetry:
                    self._layouts.setdefault(t.msg_id, t)
        partner_keys, operator_key = self.keys()
        name = f"{m.name}-{m.version}.bundle"
        incoming = self.workdir / "payload" / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        clock = self.executive.clock if self.executive else VirtualClock()
        (incoming / name).write_bytes(pack(project, partner_keys[m.partner],
                                           operator_key=operator_key, valid_days=valid_days,
                                           now_s=_unix_now(clock)))
        return name

    def install(self, bundle_name: str) -> bool:
        """Command INSTALL of a bundle in incoming/."""
        return self.host_command(10, bundle_name.encode().ljust(48, b"\0"))

    def app_command(self, code: int, app: str, extra: bytes = b"") -> bool:
        """A payload host command that names an app (11 ACTIVATE ... 15 UNINSTALL)."""
        return self.host_command(code, app.encode().ljust(16, b"\0") + extra)

    def close(self) -> None:
        if self.executive is not None:
            self.executive.shutdown()
            self.executive = None
        self._tmp.cleanup()

    # -- driving ------------------------------------------------------------------------
    def run(self, seconds: float) -> None:
        """Run the executive (and the app in its sandbox) for `seconds` of mission time."""
        assert self.executive is not None
        self._watch_telemetry()
        self.executive.run(seconds)
        self._collect()

    def command(self, name: str, *, app: str | None = None, **args: Any) -> bool:
        """Send the manifest command `name` (to `app`, by default the first project's);
        True when it completed successfully."""
        m = next(m for m in self.manifests if app is None or m.name == app)
        decl = next((c for c in m.commands if c.name == name), None)
        if decl is None:
            raise KeyError(f"command {name!r} is not in {m.name}'s manifest")
        body = Layout(decl.args).pack(**args)
        return self._command(m.apid, decl.code, body)

    def host_command(self, code: int, body: bytes = b"") -> bool:
        """Send a payload host command (INSTALL, START ...)."""
        return self._command(PAYLOAD_HOST_APID, code, body)

    def _command(self, apid: int, code: int, body: bytes) -> bool:
        assert self.executive is not None
        self._rid += 1
        rid = self._rid
        self.executive.bus.publish(cmd_msg_id(apid), COMMAND_HEADER.pack(rid, code) + body)
        for _ in range(50):
            self.executive.step()
            self._collect()
            done = [r for r in self.results if r["request_id"] == rid and
                    (r["stage"] == 7 or not r["ok"])]
            if done:
                return bool(done[-1]["ok"])
        return False

    def telemetry(self, name: str) -> list[dict[str, Any]]:
        """Every decoded packet of the manifest telemetry `name` so far."""
        return self.telemetry_log.get(name, [])

    def last_event_text(self) -> str:
        self._collect()
        return self.events[-1].text if self.events else ""

    def events_of(self, severity: Severity | None = None) -> list[Event]:
        self._collect()
        return [e for e in self.events if severity is None or e.severity == severity]

    def _subscribe_telemetry(self) -> None:
        """Watch the partner telemetry ids (registered as the host installs them)."""
        assert self.executive is not None
        self._tm_pipe = self.executive.bus.create_pipe("partner_sim.telemetry", 4096)
        self._layouts = {t.msg_id: t for m in self.manifests for t in m.telemetry}

    def _watch_telemetry(self) -> None:
        registered = self.executive.bus.registered() if self.executive else {}
        for msg_id in self._layouts:
            if msg_id in registered:
                self.executive.bus.subscribe(self._tm_pipe, msg_id)

    def _collect(self) -> None:
        for msg_id, payload in self._watch.drain():
            if msg_id == EVENT_MSG.msg_id:
                self.events.append(Event.decode(payload))
            else:
                self.results.append(COMMAND_RESULT_MSG.unpack(payload))
        if hasattr(self, "_tm_pipe"):
            self._watch_telemetry()
            for msg_id, payload in self._tm_pipe.drain():
                mtype = self._layouts[msg_id]
                self.telemetry_log.setdefault(mtype.name, []).append(mtype.unpack(payload))


def _add_or_configure(exe: Executive, specs: Mapping[str, AppSpec], spec: AppSpec) -> None:
    """Add `spec`, or give the app of that name already configured `spec`'s settings."""
    if spec.name in specs:
        specs[spec.name].config.update(spec.config)
    else:
        exe.add_app(spec)


def install_on_board(executive: Executive, project: str | Path,
                     signing_keys: Mapping[str, Path], *, start: bool = True) -> Manifest:
    """Pack and sign `project` with a simulation's keys (`simulation_signing`), put the
    bundle in the payload host's incoming/ (what file transfer does) and command
    INSTALL, then START, on the executive's bus, as the ground would; RuntimeError
    with the host's reason when it refuses."""
    m = load_manifest(Path(project) / "manifest.toml")
    if m.partner not in signing_keys:
        raise RuntimeError(f"partner {m.partner!r} has no allocation in this simulation")
    host = executive.apps["payload_host"]
    name = f"{m.name}-{m.version}.bundle"
    (host.root / "incoming" / name).write_bytes(pack(
        project, load_private_key(signing_keys[m.partner]),
        operator_key=load_private_key(signing_keys["operator"]),
        now_s=_unix_now(executive.clock)))
    watch = executive.bus.create_pipe(f"install.{m.name}.{executive.minor_frames}", 256)
    executive.bus.subscribe(watch, EVENT_MSG.msg_id)
    executive.bus.subscribe(watch, COMMAND_RESULT_MSG.msg_id)
    steps = [(10, name.encode().ljust(48, b"\0"))]
    if start:
        steps.append((12, m.name.encode().ljust(16, b"\0")))
    try:
        for rid, (code, body) in enumerate(steps, start=0x7E00):
            executive.bus.publish(cmd_msg_id(PAYLOAD_HOST_APID),
                                  COMMAND_HEADER.pack(rid, code) + body)
            outcome, last_event = None, ""
            for _ in range(50):
                executive.step()
                for msg_id, payload in watch.drain():
                    if msg_id == EVENT_MSG.msg_id:
                        last_event = Event.decode(payload).text
                        continue
                    r = COMMAND_RESULT_MSG.unpack(payload)
                    if r["request_id"] == rid and (r["stage"] == 7 or not r["ok"]):
                        outcome = bool(r["ok"])
                if outcome is not None:
                    break
            if not outcome:
                raise RuntimeError(f"{m.name}: {'install' if code == 10 else 'start'} refused: "
                                   f"{last_event}")
    finally:
        executive.bus.unsubscribe(watch, EVENT_MSG.msg_id)
        executive.bus.unsubscribe(watch, COMMAND_RESULT_MSG.msg_id)
    return m


def simulation_signing(out_dir: str | Path, allocations: Path = OPERATOR_ALLOCATIONS
                       ) -> tuple[Path, dict[str, Path]]:
    """Signing keys for a simulation: the operator's and one per partner of the
    allocations, made once in ``out_dir/signing/`` (kept across runs), and the
    allocations with their public keys (``out_dir/partners.toml``), which the
    simulated payload host checks bundles against. Returns (allocations file,
    {holder: private key file}). For simulations only."""
    out = Path(out_dir)
    keys_dir = out / "signing"
    keys_dir.mkdir(parents=True, exist_ok=True)
    keys_dir.chmod(0o700)
    with allocations.open("rb") as fh:
        partners = list(tomllib.load(fh).get("partners", {}))
    paths = {holder: _key(keys_dir / f"{holder}.pem") for holder in ["operator", *partners]}
    pubs = {holder: public_raw(load_private_key(path)) for holder, path in paths.items()}
    operator_pub = pubs.pop("operator")
    target = (out / "partners.toml").resolve()
    target.write_text(_with_keys(allocations, pubs, operator_pub))
    return target, paths


def _key(path: Path) -> Path:
    if not path.exists():
        generate_key(path)
    return path


def _unix_now(clock: Any) -> float:
    from fsw.apps.payload_host.app import UNIX_TAI_OFFSET_S
    return clock.epoch_tai_s - UNIX_TAI_OFFSET_S


def _with_keys(allocations: Path, partner_pubs: Mapping[str, bytes], operator_pub: bytes) -> str:
    """The operator's allocations with the run's keys, as TOML text."""
    with allocations.open("rb") as fh:
        doc = tomllib.load(fh)
    lines = [f'[operator]\npublic_key = "{operator_pub.hex()}"\n']
    for name, table in doc.get("partners", {}).items():
        lines.append(f'[partners.{name}]')
        key = partner_pubs[name].hex() if name in partner_pubs else table.get("public_key", "")
        lines.append(f'public_key = "{key}"')
        for k, v in table.items():
            if k not in ("public_key", "resources"):
                lines.append(f"{k} = {_toml(v)}")
        lines.append(f"[partners.{name}.resources]")
        for k, v in table.get("resources", {}).items():
            lines.append(f"{k} = {_toml(v)}")
        lines.append("")
    return "\n".join(lines)


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def copy_project(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def load_scenario(project: Path) -> tuple[float, list[tuple[float, str, dict[str, Any]]]]:
    """(duration_s, [(at_s, command, args)]) from the project's scenario.toml, if any."""
    path = Path(project) / "scenario.toml"
    if not path.exists():
        return 30.0, []
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    commands = [(float(c["at_s"]), str(c["name"]), dict(c.get("args", {})))
                for c in doc.get("commands", [])]
    return float(doc.get("duration_s", 30.0)), sorted(commands, key=lambda c: c[0])


def fly_app(project: str | Path, out: Path, *, duration_s: float | None = None,
            print_every_s: float = 5.0, echo: Callable[[str], None] = print) -> int:
    """`tessera sim --app`: the project beside the reference mission (SIL, virtual time).

    The project is packed and signed with keys made for the run, installed and
    started by commands; its scenario's commands are sent at their times; its
    telemetry is printed as it arrives and written to ``out/<app>-telemetry.csv``.
    Returns 0 when the app ran to the end, 1 otherwise.
    """
    from ground.sim.sil import build_sil

    project = Path(project)
    scenario_s, commands = load_scenario(project)
    total_s = duration_s if duration_s is not None else scenario_s
    sil = build_sil()
    sim = PartnerSim(project, executive=sil.executive)
    try:
        sim.boot()
    except RuntimeError as exc:
        echo(f"not flown: {exc}")
        sim.close()
        return 1
    m = sim.manifest
    echo(f"{m.partner}/{m.name} v{m.version} installed and started beside the reference "
         "mission (ADCS, sample app)")
    t = 0.0
    shown = 0
    try:
        while t < total_s - 1e-9:
            step = min(print_every_s, total_s - t)
            due = [c for c in commands if t <= c[0] < t + step]
            for at_s, name, args in due:
                sim.run(max(at_s - t, 0.0))
                t = at_s
                ok = sim.command(name, **args)
                shown_args = ", ".join(f"{k}={v}" for k, v in args.items())
                echo(f"t={t:7.1f} s  command {name}({shown_args}): "
                     f"{'completed' if ok else 'FAILED'}")
                step = max(0.0, min(print_every_s, total_s - t))
            sim.run(step)
            t += step
            for tm in m.telemetry:
                rows = sim.telemetry(tm.name)
                if rows:
                    values = " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in rows[-1].items())
                    echo(f"t={t:7.1f} s  {tm.name} {values}")
            for e in sim.events[shown:]:
                if e.apid == m.apid or m.name in e.text:
                    echo(f"t={e.time_s:7.1f} s  event [{e.severity.name}] {e.text}")
            shown = len(sim.events)
        out.mkdir(parents=True, exist_ok=True)
        for tm in m.telemetry:
            rows = sim.telemetry(tm.name)
            csv = out / f"{m.name}-{tm.name}.csv"
            names = [f.name for f in tm.fields]
            csv.write_text(",".join(names) + "\n" + "".join(
                ",".join(str(r[n]) for n in names) + "\n" for r in rows))
            echo(f"{len(rows)} {tm.name} packets written to {csv}")
        running = m.name in sim.host.running
        if not running:
            echo(f"{m.name} is not running at the end: see the events above")
        return 0 if running else 1
    finally:
        sim.close()


def dictionary_app(manifest: Manifest) -> type:
    """The partner app as an `App` class, for the ground dictionary only.

    It declares what the payload host and the SDK put on the bus for this app
    (commands with their typed, ranged arguments, housekeeping with the
    standard counters, telemetry, parameters, the SDK's events), so a
    dictionary generated from App classes (``extra_apps=``) covers partner
    apps from their manifests alone. It is never run: its handlers refuse.
    """
    from fsw.core import App, CommandError, EventDef, Parameter, Reason, command
    from fsw.payload.sdk import (
        EV_BRIDGE_FRAME,
        EV_COMMAND_FAILED,
        EV_CRASHED,
        EV_CYCLE_FAILED,
        EV_SANDBOX,
        FIRST_APP_EVENT,
    )

    def refuse(self: Any, **_args: Any) -> None:
        raise CommandError(Reason.NOT_ALLOWED_NOW, "a dictionary entry, not an app")

    ns: dict[str, Any] = {
        "__doc__": f"Payload app {manifest.name} v{manifest.version} of {manifest.partner}",
        "__module__": __name__,
        "NAME": manifest.name,
        "APID": manifest.apid,
        "TELEMETRY": manifest.telemetry,
        "PARAMETERS": tuple(Parameter(p.name, p.fmt, p.default, p.low, p.high)
                            for p in manifest.parameters),
        "EVENTS": (
            EventDef(EV_SANDBOX, "SANDBOX", Severity.INFO, "{text}"),
            EventDef(EV_CRASHED, "CRASHED", Severity.HIGH, "{text}"),
            EventDef(EV_CYCLE_FAILED, "APP_CYCLE_FAILED", Severity.MEDIUM, "{text}"),
            EventDef(EV_COMMAND_FAILED, "APP_COMMAND_FAILED", Severity.LOW, "{text}"),
            EventDef(EV_BRIDGE_FRAME, "BRIDGE_FRAME", Severity.LOW, "{text}"),
            EventDef(FIRST_APP_EVENT, "APP_EVENT", Severity.INFO, "{text}",
                     doc="the app's own events (ids 100 and up, any severity)"),
        ),
    }
    for decl in manifest.commands:
        def handler(self: Any, **args: Any) -> None:
            refuse(self, **args)
        handler.__doc__ = decl.doc or decl.name
        ns[decl.name.lower()] = command(decl.code, *decl.args)(handler)
    return type(f"{manifest.name.title().replace('_', '')}PartnerApp", (App,), ns)
