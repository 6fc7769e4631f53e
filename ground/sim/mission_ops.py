"""The constellation mission behind `tessera demo`: the ground side.

Three control centres work the mission at once, each a ground `Session`
(`ground.session`) with its own key from each spacecraft's key file: the
bus operator and the partners uni-a and uni-b. Each connects to every
spacecraft's radio port (`ground.sim.radio`) over TCP, as `tessera ground`
does. At every pass the ground runs the pass's procedures, real procedure
files (`ground/sim/procedures/`) run by `ground.procedure` as `tessera
ground run` runs them, one per centre, side by side:

- the operator pings, checks the stored telemetry that came down, uplinks
  commands and verifies them; uploads uni-a's signed dosimeter bundle to the
  payload spacecraft across two passes (CFDP through the link), installs
  and starts it; and brings the spacecraft that went SAFE back to NOMINAL
  once its battery has recovered;
- each partner commands its own app, is refused the operator's, and (uni-a,
  once the dosimeter runs) commands the dosimeter and receives its data;
  uni-b may neither command it nor see one packet of it.

When all three are done the ground releases the pass (`mission` ends the
contact). What every procedure did, with the facts the report shows, is
kept in `MissionLog`.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fsw.apps.payload_host.app import UNIX_TAI_OFFSET_S
from fsw.core.time import DEFAULT_EPOCH_TAI_S
from fsw.payload.bundle import load_private_key, pack
from fsw.payload.manifest import load_manifest
from ground.archive import SqliteArchive
from ground.dictionary import Dictionary, generate, write
from ground.keys import load_holder
from ground.payload import dictionary_app, simulation_signing
from ground.procedure import ProcedureApi, ProcedureFailed, run_procedure
from ground.session import CommandRefusedError, Session, SpacecraftConfig
from ground.sim.fleet import TM_FRAME_LEN
from ground.sim.mission import (
    DOSIMETER_PROJECT,
    CraftResult,
    MissionPlan,
    mission_flight_config,
    start_workers,
)

PROCEDURES = Path(__file__).resolve().parent / "procedures"
ROLES = ("operator", "uni-a", "uni-b")
RECOVER_SOC_PCT = 30.0   # the operator leaves SAFE only with this much charge
UPLOAD_LEAD_S = 40.0     # mission seconds before LOS at which the upload starts


@dataclass
class ProcedureRun:
    role: str
    ok: bool = False
    error: str = ""
    lines: list[str] = field(default_factory=list)
    wall_s: float = 0.0


@dataclass
class PassRecord:
    craft: str
    number: int
    station: str
    aos_s: float
    los_s: float
    max_elevation_deg: float
    tasks: list[str] = field(default_factory=list)
    procedures: dict[str, ProcedureRun] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    contact_end_s: float | None = None
    released: bool = False
    on_board: dict[str, int] = field(default_factory=dict)
    """Simulation truth at the end of the contact (files arriving on board)."""


@dataclass
class MissionState:
    """What the ground knows of the mission so far (shared by the procedures)."""

    bundle: Path
    bundle_name: str
    payload_craft: str
    faulty_craft: str
    upload_started: bool = False
    installed_pass: tuple[str, int] | None = None
    safe_seen: tuple[str, int] | None = None
    recovered: tuple[str, int] | None = None


def prepare(plan: MissionPlan, out: Path) -> tuple[Path, Path, Path]:
    """Signing keys and the partner allocations with them, the dosimeter bundle
    signed by its partner and countersigned by the operator, and the dictionary
    (the flight apps plus the dosimeter, from its manifest).
    Returns (allocations, bundle, dictionary) paths."""
    allocations, signing = simulation_signing(out)
    manifest = load_manifest(DOSIMETER_PROJECT / "manifest.toml")
    bundle = out / f"{manifest.name}-{manifest.version}.bundle"
    bundle.write_bytes(pack(DOSIMETER_PROJECT, load_private_key(signing[manifest.partner]),
                            operator_key=load_private_key(signing["operator"]),
                            now_s=DEFAULT_EPOCH_TAI_S - UNIX_TAI_OFFSET_S))
    config = mission_flight_config(plan.craft[0], plan, out / "keys.json", out, allocations)
    dictionary = out / "dictionary.json"
    write(generate(config, extra_apps=[dictionary_app(manifest)]), dictionary)
    return allocations, bundle, dictionary


class MissionGround:
    """Runs the mission: workers, sessions, the procedures of every pass."""

    def __init__(self, plan: MissionPlan, out: Path, say: Callable[[str], None]) -> None:
        self.plan, self.out, self.say = plan, out, say
        self.ground_dir = out / "ground"
        self.ground_dir.mkdir(parents=True, exist_ok=True)
        self.passes: dict[tuple[str, int], PassRecord] = {}
        self.results: dict[str, CraftResult] = {}
        self.progress: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, Session] = {}
        self.notes: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()
        self._aos: dict[str, queue.Queue] = {c.name: queue.Queue() for c in plan.craft}
        self._open: dict[str, int | None] = {c.name: None for c in plan.craft}
        self._last_los: dict[str, float] = {c.name: 0.0 for c in plan.craft}

    # -- the run ---------------------------------------------------------------------
    def run(self) -> float:
        """Fly the mission; returns the wall time (s) from the first worker's start."""
        allocations, bundle, dictionary = prepare(self.plan, self.out)
        self.state = MissionState(bundle, bundle.name, self.plan.payload_craft.name,
                                  self.plan.faulty_craft.name)
        wall0 = time.perf_counter()
        up, self.downs, procs = start_workers(self.plan, self.out, allocations)
        craft_cfg: list[SpacecraftConfig] = []
        waiting = {c.name for c in self.plan.craft}
        while waiting:
            msg = self._get(up, procs)
            if msg[0] == "ready":
                _, name, url, key_file, windows = msg
                craft_cfg.append(SpacecraftConfig(name, self._scid(name), url, TM_FRAME_LEN,
                                                  key_file))
                for w in windows:
                    self.passes[(name, w["number"])] = PassRecord(
                        name, w["number"], w["station"], w["aos_s"], w["los_s"],
                        w["max_elevation_deg"])
                waiting.discard(name)
                self.say(f"  {name}: SCID {self._scid(name):#05x}, radio {url}, "
                         f"{len(windows)} passes: " + ", ".join(
                             f"{w['station']} {w['aos_s']:.0f}-{w['los_s']:.0f} s"
                             for w in windows))
            elif msg[0] == "done":
                raise RuntimeError(f"{msg[1]}: {msg[2].error}")
        craft_cfg.sort(key=lambda c: c.name)
        self._open_sessions(craft_cfg, Dictionary.load(dictionary))
        workers = [threading.Thread(target=self._work_passes, args=(c.name,), daemon=True,
                                    name=f"ground-{c.name}") for c in self.plan.craft]
        for t in workers:
            t.start()
        try:
            while len(self.results) < len(self.plan.craft):
                self._handle(self._get(up, procs))
        finally:
            for q in self._aos.values():
                q.put(None)
            for t in workers:
                t.join(timeout=60)
            for s in self.sessions.values():
                s.stop()
            for p in procs:
                p.join(timeout=10)
        return time.perf_counter() - wall0

    def _get(self, up: Any, procs: list[Any]) -> tuple:
        while True:
            try:
                return up.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(f"{dead[0].name} ended with status {dead[0].exitcode}"
                                       ) from None

    def _scid(self, name: str) -> int:
        return next(c.scid for c in self.plan.craft if c.name == name)

    def _open_sessions(self, craft: list[SpacecraftConfig], dictionary: Dictionary) -> None:
        for role in ROLES:
            holder = load_holder(craft[0].key_file, role)
            archive = SqliteArchive(self.ground_dir / f"{role}.db")
            session = Session(dictionary, holder, archive, craft,
                              self.ground_dir / f"state-{role}",
                              notify=lambda kind, text, r=role: self._note(r, kind, text))
            session.start()
            self.sessions[role] = session

    def _note(self, role: str, kind: str, text: str) -> None:
        if kind in ("event", "limit", "link", "error"):
            with self._lock:
                self.notes.append((time.time(), role, f"[{kind}] {text}"))

    def _handle(self, msg: tuple) -> None:
        kind, name = msg[0], msg[1]
        if kind == "aos":
            _, _, number, t_s = msg
            self._open[name] = number
            rec = self.passes[(name, number)]
            self.say(f"  t={t_s:6.0f} s  {name} AOS over {rec.station} (pass {number}, "
                     f"LOS {rec.los_s:.0f} s, max elevation {rec.max_elevation_deg:.0f} deg)")
            self._aos[name].put(number)
        elif kind == "los":
            _, _, number, t_s, released, files = msg
            self._open[name] = None
            self._last_los[name] = t_s
            rec = self.passes[(name, number)]
            rec.contact_end_s, rec.released, rec.on_board = t_s, released, files
            how = "released by the ground" if released else "LOS"
            self.say(f"  t={t_s:6.0f} s  {name} contact over {rec.station} ended ({how})")
        elif kind == "progress":
            st = msg[2]
            self.progress[name] = st
            self.say(f"  t={st['t_s']:6.0f} s  {name} |w|={st['w_deg_s']:6.2f} deg/s  "
                     f"sun {st['sun_angle_deg']:6.1f} deg  {_ADCS.get(st['adcs_mode'], '?'):<8}"
                     f" {_MODE.get(st['mode'], '?'):<8} battery {st['soc_pct']:5.1f} %  "
                     f"wall {st['wall_s']:5.1f} s")
        elif kind == "done":
            result: CraftResult = msg[2]
            if result.error:
                raise RuntimeError(f"{name}: {result.error}")
            self.results[name] = result
            failed = (f"; apps that failed to boot: {', '.join(result.failed_apps)}"
                      if result.failed_apps else "")
            self.say(f"  {name}: mission flown ({result.sim_s:.0f} s in {result.cpu_s:.1f} s "
                     f"of CPU){failed}")

    # -- passes ------------------------------------------------------------------------
    def _work_passes(self, name: str) -> None:
        while True:
            number = self._aos[name].get()
            if number is None:
                return
            rec = self.passes[(name, number)]
            if self._open[name] != number:
                rec.facts["missed"] = "the pass ended before the ground could work it"
                continue
            try:
                self._work_pass(rec)
            finally:
                if self._open[name] == number:  # a pass that ended at LOS needs no release
                    self.downs[name].put(("release", number))

    def _tasks(self, rec: PassRecord) -> list[str]:
        st = self.state
        tasks = ["routine"]
        if rec.craft == st.payload_craft and st.installed_pass is None \
                and not st.upload_started:
            tasks.append("upload")
        if rec.craft == st.payload_craft and st.installed_pass is not None \
                and st.installed_pass[1] < rec.number:
            tasks.append("payload_data")
        if rec.craft == st.faulty_craft and st.recovered is None:
            tasks.append("watch_safe")
        return tasks

    def _work_pass(self, rec: PassRecord) -> None:
        rec.tasks = self._tasks(rec)
        if "upload" in rec.tasks:
            self.state.upload_started = True
        since = self._last_los[rec.craft]
        threads = []
        for role in ROLES:
            run = rec.procedures[role] = ProcedureRun(role)
            script = PROCEDURES / ("operator.py" if role == "operator" else "partner.py")
            t = threading.Thread(target=self._run_procedure, args=(rec, role, run, script, since),
                                 daemon=True, name=f"{rec.craft}-{rec.number}-{role}")
            t.start()
            threads.append(t)
        for t in threads:
            t.join()

    def _run_procedure(self, rec: PassRecord, role: str, run: ProcedureRun, script: Path,
                       since_s: float) -> None:
        session = self.sessions[role]

        def log(text: str) -> None:
            run.lines.append(text)

        api = _PassApi(session, rec, self, since_s, log)
        t0 = time.perf_counter()
        try:
            run_procedure(script, api)
            run.ok = True
        except (ProcedureFailed, AssertionError, CommandRefusedError) as exc:
            run.error = str(exc) or type(exc).__name__
        except Exception as exc:  # the procedure's own bug: recorded, never silent
            run.error = f"{type(exc).__name__}: {exc}"
        run.wall_s = time.perf_counter() - t0
        verdict = "done" if run.ok else f"FAILED: {run.error}"
        self.say(f"  {rec.craft} pass {rec.number}: {role} procedure {verdict} "
                 f"({len([ln for ln in run.lines if ln.startswith('verified')])} verified)")

    def write_log(self) -> Path:
        """Everything the ground recorded, as JSON (the report reads it)."""
        path = self.out / "mission-log.json"
        doc = {"passes": [asdict(p) for p in sorted(self.passes.values(),
                                                    key=lambda p: (p.aos_s, p.craft))],
               "state": {k: (str(v) if isinstance(v, Path) else v)
                         for k, v in asdict(self.state).items()},
               "notes": self.notes}
        path.write_text(json.dumps(doc, indent=1, default=str) + "\n")
        return path


_MODE = {0: "SAFE", 1: "NOMINAL", 2: "PAYLOAD"}
_ADCS = {0: "IDLE", 1: "DETUMBLE", 2: "SUN", 3: "NADIR", 4: "TARGET", 5: "INERTIAL"}


class _PassApi(ProcedureApi):
    """The procedure functions, bound to one spacecraft and pass, plus what a pass
    procedure needs to know (see ground/sim/procedures)."""

    def __init__(self, session: Session, rec: PassRecord, ground: MissionGround,
                 since_s: float, log: Callable[[str], None]) -> None:
        super().__init__(session, log, ready_timeout_s=30.0)
        self.rec, self.ground, self.since_s = rec, ground, since_s

    def live(self, name: str, timeout_s: float = 30.0) -> Any:
        """The value of `name` from a sample taken in this pass (not the stored ones)."""
        sc = self.session.spacecraft(self.rec.craft)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            latest = sc.latest.get(name)
            if latest is not None and latest.time_s >= self.rec.aos_s:
                return latest.eng
            time.sleep(0.02)
        raise ProcedureFailed(f"{name}: no sample from this pass within {timeout_s:g} s")

    def stored(self, name: str) -> int:
        """Samples of `name` taken on board since the last contact and before this
        pass began: telemetry the spacecraft stored and downlinked now."""
        archive = self.session.archive
        archive.flush()
        return len(archive.samples(self.ground._scid(self.rec.craft), name, self.since_s,
                                   self.rec.aos_s))

    def wait_until(self, onboard_s: float, timeout_s: float = 60.0) -> float:
        """Nothing to do before on-board time `onboard_s` (s) in this pass: the
        simulation skips to it (radio quiet meanwhile); returns the on-board time
        of the first telemetry from then on."""
        self.ground.downs[self.rec.craft].put(("skip", (self.rec.number, onboard_s)))
        sc = self.session.spacecraft(self.rec.craft)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if sc.onboard_time_s is not None and sc.onboard_time_s >= onboard_s:
                return sc.onboard_time_s
            time.sleep(0.02)
        raise ProcedureFailed(f"on-board time {onboard_s:g} s not reached within "
                              f"{timeout_s:g} s")

    def current_pass(self) -> int | None:
        """The number of the spacecraft's pass open now (None between passes)."""
        return self.ground._open[self.rec.craft]

    def fact(self, key: str, value: Any) -> None:
        with self.ground._lock:
            self.rec.facts[f"{self.session.holder.name}.{key}"] = value

    def names(self) -> dict[str, Any]:
        craft = self.rec.craft
        names = super().names()
        for fn in ("send", "ping", "set_parameter", "get_parameter", "schedule", "tm",
                   "wait_for", "onboard_time"):
            names[fn] = _bind(names[fn], craft)
        if "upload_file" in names:
            names["upload_file"] = _bind(names["upload_file"], craft)
        st = self.ground.state
        names.update(
            craft=craft, pass_number=self.rec.number, station=self.rec.station,
            aos_s=self.rec.aos_s, los_s=self.rec.los_s, tasks=list(self.rec.tasks),
            role=self.session.holder.name, live=self.live, stored=self.stored,
            fact=self.fact, current_pass=self.current_pass, wait_until=self.wait_until,
            state=st, bundle=str(st.bundle),
            recover_soc_pct=RECOVER_SOC_PCT, upload_lead_s=UPLOAD_LEAD_S,
            state_partner=self.ground.plan.partner, CommandRefusedError=CommandRefusedError)
        return names


def _bind(fn: Callable[..., Any], craft: str) -> Callable[..., Any]:
    def bound(*args: Any, **kw: Any) -> Any:
        kw.setdefault("spacecraft", craft)
        return fn(*args, **kw)
    bound.__name__ = getattr(fn, "__name__", "fn")
    return bound
