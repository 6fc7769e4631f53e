"""Several simulated spacecraft in one process, each with its own radio port, in passes.

A `Fleet` flies N spacecraft of the reference design (each its own SCID,
orbit, software-in-the-loop run and radio port, `ground.sim.radio`) with
one generated simulator key file (the bus operator and two example partners;
keys for the simulator only). Their radios carry bytes only while the
spacecraft is above a station of the ground-station network, by the GNC
core's pass prediction (`fsw.gnc.passes.find_passes`, elevation mask per
network).

Time is mission time: every spacecraft's executive runs on its own virtual
clock, all in step. While any spacecraft is in a pass the fleet runs in real
time (a ground operator is talking to it); between passes it runs in real
time too, unless `compress_gaps`, when it runs as fast as the machine allows
until the next pass begins.

`Fleet.write_manifest` writes what a ground needs to connect (the
spacecraft, their link URLs and frame length, the key file, the dictionary).
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsw.core.executive import load_config
from fsw.core.time import jd_utc_split
from fsw.gnc.frames import Station
from fsw.gnc.passes import find_passes
from ground.sim.radio import RadioPort
from ground.sim.sil import DEFAULT_FLIGHT_CONFIG, Scenario, SilRun, build_sil

FIRST_SCID = 0x2AB
TM_FRAME_LEN = 256
# Each simulated spacecraft's payload host gives its apps user ids of its own range, so
# partner apps of two spacecraft flown on one machine never share a user id (on board
# there is one host per flight computer and the default, 61000, serves).
PAYLOAD_UID_BASE = 61000
PAYLOAD_UIDS_PER_SPACECRAFT = 64

# A small polar network: high-latitude stations see a sun-synchronous orbit most often.
DEFAULT_STATIONS = (
    Station(78.23, 15.41, 0.5, "Svalbard"),
    Station(67.86, 20.96, 0.4, "Kiruna"),
    Station(-72.01, 2.53, 1.3, "Troll"),
    Station(64.86, -147.85, 0.2, "Fairbanks"),
)


# The example partners fly the sample app on their own APIDs (fsw.apps.sample.partners),
# so each partner session has an app of its own to command.
PARTNER_APPS = (
    {"name": "uni_a_sample", "class": "fsw.apps.sample.partners:UniASample", "rate_hz": 1},
    {"name": "uni_b_sample", "class": "fsw.apps.sample.partners:UniBSample", "rate_hz": 1},
)


@dataclass(frozen=True)
class SpacecraftSpec:
    """One spacecraft of the fleet."""

    name: str
    scid: int
    alt_km: float = 500.0
    inclination_deg: float = 97.4
    raan_deg: float = 0.0
    port: int = 0


def default_fleet(n: int, base_port: int = 0) -> list[SpacecraftSpec]:
    """`n` spacecraft in planes spread in RAAN (a Walker-like spread), SCIDs from 0x2AB."""
    return [SpacecraftSpec(f"sc{i + 1}", FIRST_SCID + i, raan_deg=360.0 * i / max(n, 1),
                           port=base_port + i if base_port else 0) for i in range(n)]


@dataclass
class Flying:
    spec: SpacecraftSpec
    run: SilRun
    radio: RadioPort
    passes: list[tuple[float, float]] = field(default_factory=list)
    """(AOS, LOS) in mission seconds, merged over the network."""
    station_passes: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """(AOS, LOS) in mission seconds over each station, by station name."""

    def in_pass(self, t_s: float) -> bool:
        return any(a <= t_s < b for a, b in self.passes)

    def next_aos(self, t_s: float) -> float | None:
        return min((a for a, b in self.passes if b > t_s), default=None)


def flight_config_for(spec: SpacecraftSpec, key_file: Path, state_dir: Path,
                      base: str | Path | dict = DEFAULT_FLIGHT_CONFIG, *,
                      allocations: Path | None = None, example_partners: bool = True
                      ) -> dict[str, Any]:
    """The reference flight configuration set up for one spacecraft of the fleet (with
    the example partners' sample apps unless `example_partners` is false; with the
    simulation's partner allocations for the payload host when given)."""
    config = copy.deepcopy(load_config(base))
    extra = [dict(a) for a in PARTNER_APPS] if example_partners else []
    config["apps"] = config.get("apps", []) + extra
    wiring = config.setdefault("wiring", {})
    wiring["housekeeping"] = list(wiring.get("housekeeping", [])) + [a["name"] for a in extra]
    for app in config.get("apps", []):
        cfg = app.setdefault("config", {})
        if app.get("class", "").startswith("fsw.apps.comms"):
            cfg.update(scid=spec.scid, key_file=str(key_file), tm_frame_len=TM_FRAME_LEN,
                       arsn_db=str(state_dir / f"{spec.name}-arsn.db"))
        elif "allocations" in cfg and allocations is not None:
            cfg["allocations"] = str(allocations)
        if app.get("class", "").startswith("fsw.apps.payload_host"):
            cfg["base_uid"] = PAYLOAD_UID_BASE + PAYLOAD_UIDS_PER_SPACECRAFT * spec.scid
    return config


def predict_station_passes(run: SilRun, stations: Sequence[Station], min_elevation_deg: float,
                           horizon_s: float) -> dict[str, list[tuple[float, float]]]:
    """(AOS, LOS) mission-second intervals over each station within `horizon_s`, by name."""
    from fsw.gnc.ephemeris import MeanElements
    adcs = next(a for a in run.executive.specs if a.name == "adcs")
    sat = MeanElements.from_mapping(adcs.config["orbit"]).satellite()
    epoch = run.clock.epoch_tai_s
    whole, frac = jd_utc_split(epoch)
    jd0 = whole + frac
    return {st.name: [((p.aos_jd - jd0) * 86400.0, (p.los_jd - jd0) * 86400.0)
                      for p in find_passes(sat, st, jd0, jd0 + horizon_s / 86400.0,
                                           min_elevation_deg=min_elevation_deg)]
            for st in stations}


def merge_passes(by_station: dict[str, list[tuple[float, float]]]
                 ) -> list[tuple[float, float]]:
    """The network's (AOS, LOS) intervals: when any station sees the spacecraft."""
    spans = sorted(span for spans in by_station.values() for span in spans)
    merged: list[tuple[float, float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _spans(spans: Sequence[tuple[float, float]], keep: int = 8) -> list[list[float]]:
    """The first `keep` (AOS, LOS) pairs, rounded to the millisecond, for a JSON file."""
    return [[round(a, 3), round(b, 3)] for a, b in spans[:keep]]


class Fleet:
    """N spacecraft, their radios and the pass schedule; `run()` flies them."""

    def __init__(self, specs: Sequence[SpacecraftSpec], out_dir: str | Path, *,
                 stations: Sequence[Station] = DEFAULT_STATIONS, min_elevation_deg: float = 5.0,
                 compress_gaps: bool = False, pty: bool = False, host: str = "127.0.0.1",
                 horizon_s: float = 2 * 86400.0,
                 flight_config: str | Path | dict = DEFAULT_FLIGHT_CONFIG,
                 example_partners: bool = True) -> None:
        if not specs:
            raise ValueError("a fleet needs at least one spacecraft")
        if len({s.scid for s in specs}) != len(specs) or len({s.name for s in specs}) != len(specs):
            raise ValueError("spacecraft names and SCIDs must be unique")
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.compress_gaps = compress_gaps
        self.craft: list[Flying] = []
        self.key_files: dict[str, Path] = {}
        # Partner bundles are signed with keys made for the simulation (kept in the
        # output folder, with the allocations that name them).
        from ground.payload import simulation_signing
        self.allocations, self.signing_keys = simulation_signing(self.out)
        try:
            for spec in specs:
                # Every spacecraft its own keys: one compromised key file opens one spacecraft.
                key_file = self.key_files[spec.name] = self.out / f"keys-{spec.name}.json"
                scenario = Scenario(alt_km=spec.alt_km, inclination_deg=spec.inclination_deg,
                                    raan_deg=spec.raan_deg, seed=spec.scid)
                self.flight_config = flight_config_for(
                    spec, key_file, self.out, flight_config, allocations=self.allocations,
                    example_partners=example_partners)
                workdir = self.out / spec.name
                workdir.mkdir(exist_ok=True)
                run = build_sil(scenario, self.flight_config, workdir=workdir)
                run.keys.save(key_file)  # the fresh keys build_sil made, where the ground looks
                failed = run.executive.boot()
                if failed:
                    raise RuntimeError(f"{spec.name}: apps failed to boot: {', '.join(failed)}")
                comms = run.executive.apps["comms"]
                radio = RadioPort(comms, host, spec.port, pty=pty)
                fly = Flying(spec, run, radio)
                fly.station_passes = predict_station_passes(run, stations, min_elevation_deg,
                                                            horizon_s)
                fly.passes = merge_passes(fly.station_passes)
                self.craft.append(fly)
        except BaseException:
            self.close()
            raise
        self.t_s = 0.0
        self.step_s = 1.0 / max(g.rate_hz for g in self.craft[0].run.executive.groups)

    def write_manifest(self, path: str | Path | None = None, **extra: Any) -> Path:
        """The ground's connection file: spacecraft, link URLs, key files, and `extra`
        entries (the dictionary, the partner apps). Written whole or not at all: a ground
        started beside the simulator never reads half of it."""
        path = Path(path) if path else self.out / "fleet.json"
        doc = {"frame_len": TM_FRAME_LEN,
               "spacecraft": [{"name": f.spec.name, "scid": f.spec.scid, "url": f.radio.url,
                               "pty": f.radio.pty_path,
                               "key_file": str(self.key_files[f.spec.name].resolve()),
                               "passes_s": _spans(f.passes),
                               "station_passes_s": {name: _spans(spans) for name, spans
                                                    in f.station_passes.items()}}
                              for f in self.craft],
               "allocations": str(self.allocations.resolve()),
               "signing_keys": {k: str(p.resolve()) for k, p in self.signing_keys.items()},
               **extra}
        part = path.with_name(path.name + ".part")
        part.write_text(json.dumps(doc, indent=1) + "\n")
        os.replace(part, path)
        return path

    def step(self) -> None:
        """One minor frame of every spacecraft, then their radios."""
        for f in self.craft:
            f.run.executive.step()
            f.radio.in_pass = f.in_pass(self.t_s)
            f.radio.poll()
        self.t_s += self.step_s

    def any_in_pass(self) -> bool:
        return any(f.in_pass(self.t_s) for f in self.craft)

    def run(self, duration_s: float | None = None, stop: Any = None) -> None:
        """Fly for `duration_s` of wall time (None: until `stop()` is true or interrupted)."""
        wall0 = time.monotonic()
        t_wall_anchor, t_sim_anchor = wall0, self.t_s
        fast = False
        while True:
            now = time.monotonic()
            if duration_s is not None and now - wall0 >= duration_s:
                return
            if stop is not None and stop():
                return
            self.step()
            if self.compress_gaps and not self.any_in_pass():
                fast = True
                continue
            if fast:  # a pass begins: real time from here
                fast = False
                t_wall_anchor, t_sim_anchor = time.monotonic(), self.t_s
            delay = (t_wall_anchor + (self.t_s - t_sim_anchor)) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1.0:  # fell behind (a loaded machine): do not try to catch up
                t_wall_anchor, t_sim_anchor = time.monotonic(), self.t_s

    def close(self) -> None:
        for f in self.craft:
            f.radio.close()
            f.run.executive.shutdown()


def serve(specs: Sequence[SpacecraftSpec], out_dir: str | Path, *, duration_s: float | None,
          compress_gaps: bool, pty: bool, stations: Sequence[Station] = DEFAULT_STATIONS,
          min_elevation_deg: float = 5.0, say: Any = print,
          apps: Sequence[str | Path] = ()) -> int:
    """`tessera sim --radio`: build the fleet, write its files, fly until stopped.

    `apps` are partner app projects (`tessera sim --app PATH --radio`): each is
    signed with the fleet's keys, installed and started on every spacecraft in
    place of the example partners' sample apps, and the dictionary the ground
    reads describes them from their manifests."""
    from ground.dictionary import generate, write
    from ground.payload import dictionary_app, install_on_board

    out = Path(out_dir)
    fleet = Fleet(specs, out, stations=stations, min_elevation_deg=min_elevation_deg,
                  compress_gaps=compress_gaps, pty=pty, example_partners=not apps)
    try:
        manifests = []
        for project in apps:
            for f in fleet.craft:
                m = install_on_board(f.run.executive, project, fleet.signing_keys)
            manifests.append(m)
            say(f"{m.partner}/{m.name} v{m.version} installed and started on "
                f"{', '.join(f.spec.name for f in fleet.craft)}")
        write(generate(fleet.flight_config, extra_apps=[dictionary_app(m) for m in manifests]),
              out / "dictionary.json")
        manifest = fleet.write_manifest(
            dictionary=str((out / "dictionary.json").resolve()),
            apps=[str(Path(p).resolve()) for p in apps])
        say(f"fleet of {len(fleet.craft)}: ground file {manifest}; simulation keys "
            + ", ".join(str(k) for k in fleet.key_files.values()))
        for f in fleet.craft:
            nxt = f.next_aos(0.0)
            when = "none in the next two days" if nxt is None else \
                ("in a pass now" if f.in_pass(0.0) else f"next pass at t={nxt:.0f} s")
            pty_text = f", pty {f.radio.pty_path}" if f.radio.pty_path else ""
            say(f"  {f.spec.name}: SCID {f.spec.scid:#05x}, radio {f.radio.url}{pty_text}; "
                f"{when}")
        say("running" + (" (time between passes compressed)" if compress_gaps else "") +
            "; Ctrl-C stops", flush=True)
        fleet.run(duration_s)
    except KeyboardInterrupt:
        pass
    finally:
        fleet.close()
    return 0
