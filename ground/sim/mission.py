"""The constellation mission behind `tessera demo`: the spacecraft side.

Three spacecraft of the reference design, each in its own orbital plane,
are released tumbling; each flies in a worker process of its own (the real
flight executive, drivers and register-level emulators, `ground.sim.sil`)
with the mission's flight configuration: the reference apps plus the
example partners' sample apps, the payload host, file transfer and audit,
and partner telemetry wired to the downlink. Each spacecraft's radio is a
real TCP port (`ground.sim.radio`) that carries bytes only in its passes
over the ground-station network, predicted on board and on the ground by
the same pass prediction (`fsw.gnc.passes`).

Mission time runs as fast as the machine allows between passes. In a pass
it is paced at `MissionPlan.pass_pace` times real time while the ground
runs its procedures, so the far end talks to the spacecraft as it would in
flight (TCs, COP-1 acknowledgements, verification reports, all through the
link); when the ground has finished it releases the pass and the station
ends the contact (the radio goes quiet until the next pass). A procedure
that only waits for an on-board time (`wait_until`) skips to it: time runs
unpaced with the radio quiet, and what the spacecraft sent meanwhile comes
down from its store when the radio opens again.

A fault may be planned for a spacecraft: from `BatteryFault.start_s`
(mission seconds) a heater stuck on draws `load_a` from the battery until
its thermal fuse opens at `fuse_soc` state of charge, so that the flight
software's low-battery monitor puts the spacecraft in SAFE on the way down;
only the operator brings it back, once the battery has recharged.

The simulation side talks to the ground side (`ground.sim.mission_ops`)
over the link only; a control queue carries what a simulation needs beside
it: the radio's address, AOS and LOS, progress and the end of the run.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fsw.core import Store
from fsw.core.time import DEFAULT_EPOCH_TAI_S, jd_utc_split
from fsw.gnc.frames import Station
from fsw.gnc.passes import find_passes
from ground.sim.fleet import FIRST_SCID, SpacecraftSpec, flight_config_for
from ground.sim.power import PowerModel
from ground.sim.radio import RadioPort
from ground.sim.sil import Scenario, SilRun, build_sil
from ground.sim.spacecraft import SpacecraftModel

DOSIMETER_PROJECT = Path(__file__).resolve().parent / "dosimeter"

# Polar stations see a sun-synchronous orbit on most revolutions: with these
# three every spacecraft of the demo has a pass within its first half orbit.
STATIONS = (
    Station(78.23, 15.41, 0.5, "Svalbard"),
    Station(-72.01, 2.53, 1.3, "Troll"),
    Station(68.32, -133.54, 0.1, "Inuvik"),
)


@dataclass(frozen=True)
class BatteryFault:
    """A heater stuck on: `load_a` (A) more from the battery from `start_s` (mission
    seconds) until the battery's state of charge falls to `fuse_soc` (0-1)."""

    start_s: float
    load_a: float
    fuse_soc: float = 0.15


@dataclass(frozen=True)
class CraftPlan:
    """One spacecraft of the mission."""

    name: str
    scid: int
    raan_deg: float
    w0_body_deg_s: tuple[float, float, float] = (10.0, 10.0, 10.0)
    battery_ah: float = 5.2           # capacity of its battery (Ah)
    soc0: float = 0.8                 # state of charge at release (0-1)
    fault: BatteryFault | None = None
    hosts_payload: bool = False       # the partner's app is uploaded to this one


@dataclass(frozen=True)
class MissionPlan:
    """The whole mission: who flies, where the stations are, how fast time runs."""

    craft: tuple[CraftPlan, ...]
    duration_s: float
    stations: tuple[Station, ...] = STATIONS
    min_elevation_deg: float = 10.0
    pass_pace: float = 10.0           # mission seconds per wall second in a worked pass
    downlink_bit_rate: float = 64000.0
    uplink_bit_rate: float = 9600.0
    stored_packets: int = 3000        # the on-board store keeps the newest this many packets
    partner: str = "uni-a"
    quick: bool = False

    @property
    def payload_craft(self) -> CraftPlan:
        return next(c for c in self.craft if c.hosts_payload)

    @property
    def faulty_craft(self) -> CraftPlan:
        return next(c for c in self.craft if c.fault is not None)


def mission_plan(quick: bool = False) -> MissionPlan:
    """The demo's mission. The full one flies 10,800 s (two orbits); `quick` flies
    4,500 s with spacecraft released at lower rates, so that every event of the
    mission still happens: detumbling, sun acquisition, passes with procedures,
    the partner's app across two passes, SAFE and the recovery.

    sc1's plane (RAAN 0 deg at the default epoch) is a dawn-dusk one, always in
    sunlight: it flies the small battery and the stuck heater, and recharges in
    SAFE in time for the operator to bring it back at its next pass."""
    if quick:
        w0 = (4.0, 4.0, 4.0)
        craft = (
            CraftPlan("sc1", FIRST_SCID, 0.0, w0, battery_ah=0.6, soc0=0.45,
                      fault=BatteryFault(1000.0, 1.5)),
            CraftPlan("sc2", FIRST_SCID + 1, 120.0, w0, hosts_payload=True),
            CraftPlan("sc3", FIRST_SCID + 2, 300.0, w0),
        )
        return MissionPlan(craft, 4500.0, quick=True)
    craft = (
        CraftPlan("sc1", FIRST_SCID, 0.0, battery_ah=0.6, soc0=0.45,
                  fault=BatteryFault(4300.0, 1.5)),
        CraftPlan("sc2", FIRST_SCID + 1, 120.0, hosts_payload=True),
        CraftPlan("sc3", FIRST_SCID + 2, 300.0),
    )
    return MissionPlan(craft, 10800.0)


@dataclass(frozen=True)
class PassWindow:
    """A predicted pass of one spacecraft over one station (mission seconds)."""

    number: int
    station: str
    aos_s: float
    los_s: float
    max_elevation_deg: float


def predict_passes(craft: CraftPlan, plan: MissionPlan) -> list[PassWindow]:
    """Passes above the plan's elevation mask within the mission, in time order;
    where two stations see the spacecraft at once the higher pass is kept."""
    sat = _scenario(craft).elements.satellite()
    whole, frac = jd_utc_split(DEFAULT_EPOCH_TAI_S)
    jd0 = whole + frac
    found = []
    for st in plan.stations:
        for p in find_passes(sat, st, jd0, jd0 + plan.duration_s / 86400.0,
                             min_elevation_deg=plan.min_elevation_deg):
            found.append((p.max_elevation_deg, (p.aos_jd - jd0) * 86400.0,
                          (p.los_jd - jd0) * 86400.0, st.name))
    chosen: list[tuple[float, float, float, str]] = []
    for cand in sorted(found, reverse=True):  # highest first: it wins an overlap
        if all(cand[2] <= c[1] or cand[1] >= c[2] for c in chosen):
            chosen.append(cand)
    chosen.sort(key=lambda c: c[1])
    return [PassWindow(i + 1, name, aos, min(los, plan.duration_s), elev)
            for i, (elev, aos, los, name) in enumerate(chosen) if aos < plan.duration_s]


def _scenario(craft: CraftPlan) -> Scenario:
    power = PowerModel(capacity_ah=craft.battery_ah, soc=craft.soc0)
    return Scenario(raan_deg=craft.raan_deg, w0_body_deg_s=craft.w0_body_deg_s,
                    seed=craft.scid, model=SpacecraftModel(power=power))


def mission_flight_config(craft: CraftPlan, plan: MissionPlan, key_file: Path,
                          workdir: Path, allocations: Path) -> dict[str, Any]:
    """The reference flight configuration (payload host, file transfer and audit
    included) with the example partners' sample apps, the simulation's partner
    allocations, this spacecraft's battery, an on-board store of
    `plan.stored_packets` and a payload host in step with virtual time."""
    spec = SpacecraftSpec(craft.name, craft.scid, raan_deg=craft.raan_deg)
    config = flight_config_for(spec, key_file, workdir, allocations=allocations)
    for app in config["apps"]:
        cfg = app.setdefault("config", {})
        if app["name"] == "eps":
            cfg["capacity_ah"] = craft.battery_ah
        elif app["name"] == "comms":
            cfg["store_and_forward_packets"] = plan.stored_packets
        elif app["name"] == "payload_host":
            cfg["lockstep_timeout_s"] = 2.0  # repeatable on a virtual clock
    return config


@dataclass
class Track:
    """What one spacecraft did, one row per mission second (truth beside flight)."""

    t_s: list[float] = field(default_factory=list)
    w_deg_s: list[float] = field(default_factory=list)        # |w|, truth
    sun_angle_deg: list[float] = field(default_factory=list)  # +X to the sun, truth
    lit: list[float] = field(default_factory=list)            # lit fraction of the sun
    soc_pct: list[float] = field(default_factory=list)        # battery, truth
    soc_est_pct: list[float] = field(default_factory=list)    # the EPS app's estimate
    mode: list[int] = field(default_factory=list)             # mode manager
    adcs_mode: list[int] = field(default_factory=list)        # ADCS app


@dataclass
class CraftResult:
    """A spacecraft's run as its worker saw it (sent back to the ground side)."""

    name: str
    passes: list[dict[str, Any]]         # PassWindow fields + contact_s, released
    track: dict[str, list[float]]
    sim_s: float
    cpu_s: float
    failed_apps: list[str]
    radio: dict[str, int]
    audit_log: str
    error: str | None = None


def fly_spacecraft(craft: CraftPlan, plan: MissionPlan, out_dir: str, allocations: str,
                   up: Any, down: Any) -> None:
    """A worker process: fly `craft` through the mission; report on `up`, obey `down`.

    Messages up: ("ready", name, url, key_file, passes), ("aos", name, number, t_s),
    ("los", name, number, t_s, released, files on board), ("progress", name, dict),
    ("done", name, CraftResult). Down: ("release", number): the ground is done with
    that pass; ("skip", (number, t_s)): the ground has nothing to do in that
    pass before mission time t_s (time runs unpaced until then, the radio quiet:
    what the spacecraft sends meanwhile waits in its store).
    """
    logging.getLogger("tessera.events").setLevel(logging.CRITICAL)  # events go down the link
    name = craft.name
    try:
        result = _Flight(craft, plan, Path(out_dir), Path(allocations), up, down).fly()
    except Exception as exc:  # the ground must hear of it, not wait for ever
        result = CraftResult(name, [], {}, 0.0, 0.0, [], {}, "", f"{type(exc).__name__}: {exc}")
    up.put(("done", name, result))


class _Flight:
    def __init__(self, craft: CraftPlan, plan: MissionPlan, out: Path, allocations: Path,
                 up: Any, down: Any) -> None:
        self.craft, self.plan, self.up, self.down = craft, plan, up, down
        # The on-board files (payload host, file transfer, audit, anti-replay) in a
        # folder of their own that the partner apps' user ids can pass through, wherever
        # the output folder is (a private home or temporary folder would close it).
        self._onboard = tempfile.TemporaryDirectory(prefix=f"tessera-{craft.name}-")
        self.workdir = Path(self._onboard.name)
        self.workdir.chmod(0o711)
        self.key_file = out / f"keys-{craft.name}.json"
        config = mission_flight_config(craft, plan, self.key_file, self.workdir, allocations)
        # The flight software's own store (a real SQLite file): the mode survives a
        # reboot, and store-and-forward keeps TM by priority for the next pass. It
        # commits every cycle with a full sync, as in flight; in memory-backed storage
        # where the machine has it, so that the disk's sync time does not set the pace.
        self._store_dir = tempfile.TemporaryDirectory(prefix=f"tessera-{craft.name}-",
                                                      dir=_memory_backed_dir())
        self.store = Store(Path(self._store_dir.name) / "store.db")
        self.run: SilRun = build_sil(_scenario(craft), config, workdir=self.workdir,
                                     store=self.store)
        assert self.run.keys is not None
        self.run.keys.save(self.key_file)
        self.failed = self.run.executive.boot()
        self.comms = self.run.executive.apps["comms"]
        self.radio = RadioPort(self.comms, bit_rate=plan.downlink_bit_rate, idle_period_s=1.0)
        self.passes = predict_passes(craft, plan)
        self.track = Track()
        self.contacts: dict[int, tuple[float, bool]] = {}
        self.released: set[int] = set()
        self.skips: dict[int, float] = {}  # pass -> mission time the ground waits for
        self.fuse_opened_s: float | None = None

    def fly(self) -> CraftResult:
        exe, clock = self.run.executive, self.run.clock
        self.up.put(("ready", self.craft.name, self.radio.url, str(self.key_file),
                     [asdict(p) for p in self.passes]))
        cpu0 = time.process_time()
        fault = self.craft.fault
        fuse_open = False
        eps = self.run.emulators.eps
        base_load = self.run.simulator.model.power.system_load_a
        report_every = self.plan.duration_s / 12.0
        next_report = report_every
        wall0 = time.perf_counter()
        while clock.now() < self.plan.duration_s - 1e-6:
            t = clock.now()
            if fault is not None and not fuse_open:
                fuse_open = eps.soc <= fault.fuse_soc
                stuck = fault.start_s <= t and not fuse_open
                eps.set_system_load(base_load + (fault.load_a if stuck else 0.0))
                if fuse_open:
                    self.fuse_opened_s = t
            window = next((p for p in self.passes if p.aos_s <= t < p.los_s), None)
            if window is not None and window.number not in self.contacts:
                self._work_pass(window)
                continue
            self._sample()
            nxt = min([p.aos_s for p in self.passes if p.aos_s > t] + [self.plan.duration_s])
            exe.run(max(exe_step(exe), min(1.0, nxt - t)))
            if clock.now() >= next_report:
                next_report += report_every
                self.up.put(("progress", self.craft.name, self._status(wall0)))
        cpu = time.process_time() - cpu0
        exe.shutdown()
        self.store.close()
        self._store_dir.cleanup()
        audit = self.run.executive.apps["audit"].log.path
        result = CraftResult(
            self.craft.name,
            [{**asdict(p), "contact_s": self.contacts.get(p.number, (0.0, False))[0],
              "released": self.contacts.get(p.number, (0.0, False))[1]} for p in self.passes],
            asdict(self.track), clock.now(), cpu, list(self.failed),
            {"tc_frames_in": self.radio.tc_frames_in, "tm_frames_out": self.radio.tm_frames_out,
             "bytes_lost": self.radio.bytes_lost},
            audit.read_text() if audit.exists() else "")
        self.radio.close()
        self._onboard.cleanup()
        return result

    def _work_pass(self, window: PassWindow) -> None:
        """AOS to LOS, or to the ground's release: the radio open, time paced (but for
        spans the ground skips: nothing to do until a given time, the radio quiet)."""
        exe, clock, radio = self.run.executive, self.run.clock, self.radio
        self.up.put(("aos", self.craft.name, window.number, clock.now()))
        anchor_wall, anchor_t = time.perf_counter(), clock.now()
        released = False
        step_s = exe_step(exe)
        samples_due = clock.now()
        while clock.now() < window.los_s - 1e-9:
            released = self._released(window.number)
            if released:
                break
            skip_to = min(self.skips.pop(window.number, 0.0), window.los_s)
            radio.in_pass = clock.now() >= skip_to
            exe.step()
            radio.poll(step_s)
            if clock.now() >= samples_due:
                self._sample()
                samples_due += 1.0
            if not radio.in_pass:
                if clock.now() < skip_to:
                    self.skips[window.number] = skip_to
                anchor_wall, anchor_t = time.perf_counter(), clock.now()
                continue
            ahead = (clock.now() - anchor_t) / self.plan.pass_pace - (
                time.perf_counter() - anchor_wall)
            if ahead > 0:
                time.sleep(ahead)
            elif ahead < -1.0:  # a loaded machine: keep the pace from here, do not catch up
                anchor_wall, anchor_t = time.perf_counter(), clock.now()
        radio.in_pass = False
        radio.poll(step_s)
        self.contacts[window.number] = (clock.now() - window.aos_s, released)
        self.up.put(("los", self.craft.name, window.number, clock.now(), released,
                     self._files_on_board()))

    def _files_on_board(self) -> dict[str, int]:
        """Simulation truth at the end of a contact: octets of files still arriving
        (CFDP transactions open on board) and files received so far."""
        ft = self.run.executive.apps.get("file_transfer")
        if ft is None:
            return {}
        partial = sum(b - a for t in ft.receiver.transactions.values() for a, b in t.received)
        return {"octets_arriving": partial, "files_received": ft.files_received}

    def _released(self, number: int) -> bool:
        while True:
            try:
                kind, value = self.down.get_nowait()
            except Exception:  # queue.Empty: nothing new from the ground
                break
            if kind == "release":
                self.released.add(int(value))
            elif kind == "skip":
                self.skips[int(value[0])] = float(value[1])
        return number in self.released

    def _sample(self) -> None:
        sim, apps = self.run.simulator, self.run.executive.apps
        tr = self.track
        tr.t_s.append(round(self.run.clock.now(), 3))
        tr.w_deg_s.append(float(np.degrees(np.linalg.norm(sim.body.w_body_rad_s))))
        tr.sun_angle_deg.append(_sun_angle_deg(sim.sun_body))
        tr.lit.append(float(sim.lit_fraction))
        tr.soc_pct.append(100.0 * float(self.run.emulators.eps.soc))
        soc = apps["eps"].soc
        tr.soc_est_pct.append(float("nan") if soc is None else 100.0 * float(soc))
        tr.mode.append(int(apps["mode"].mode))
        tr.adcs_mode.append(int(apps["adcs"].cycle.mode))

    def _status(self, wall0: float) -> dict[str, Any]:
        tr = self.track
        return {"t_s": self.run.clock.now(), "w_deg_s": tr.w_deg_s[-1],
                "sun_angle_deg": tr.sun_angle_deg[-1], "soc_pct": tr.soc_pct[-1],
                "mode": tr.mode[-1], "adcs_mode": tr.adcs_mode[-1],
                "wall_s": time.perf_counter() - wall0}


def _memory_backed_dir() -> str | None:
    """/dev/shm where it exists and can be written (None: the system's temporary folder)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def exe_step(exe: Any) -> float:
    """The executive's minor frame (s)."""
    return 1.0 / max(g.rate_hz for g in exe.groups)


def _sun_angle_deg(sun_body: np.ndarray) -> float:
    n = float(np.linalg.norm(sun_body))
    if n == 0.0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(sun_body[0] / n, -1.0, 1.0))))


def start_workers(plan: MissionPlan, out: Path, allocations: Path) -> tuple[Any, dict[str, Any],
                                                                             list[Any]]:
    """One spawned worker process per spacecraft; returns (up queue, down queues, processes)."""
    ctx = multiprocessing.get_context("spawn")
    up = ctx.Queue()
    downs = {c.name: ctx.Queue() for c in plan.craft}
    procs = [ctx.Process(target=fly_spacecraft, name=f"tessera-{c.name}",
                         args=(c, plan, str(out), str(allocations), up, downs[c.name]),
                         daemon=True) for c in plan.craft]
    for p in procs:
        p.start()
    return up, downs, procs


def cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


