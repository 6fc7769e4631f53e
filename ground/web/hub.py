"""The console's live state: one ground `Session` per role over one link per spacecraft.

A simulated or real radio takes one ground connection at a time, so the
console owns one `Link` per spacecraft and shares it between the roles'
sessions (`SharedLink`): the bus operator's session reads the link, every
partner's session gets a copy of each TM frame and decodes it itself, so a
partner session never holds another partner's or the operator's parameters
(it drops those packets before decoding, `ground.session`). Each role
uplinks with its own key, on its own TC virtual channel and COP-1, on the
shared link. Each role has its own archive file.

`Hub.snapshot(role, since)` is what a page gets: the fleet, the newest
values with units and limit states, notifications after sequence number
`since`, and the role's commands with their verification stages.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ground.archive import SqliteArchive
from ground.dictionary import Dictionary, FieldDef
from ground.keys import KeyHolder
from ground.link import Link, LinkError
from ground.session import CommandRefusedError, Session, SpacecraftConfig, parse_value
from ground.telemetry import Limit, _limit
from ground.verification import TcRecord

NOTIFY_KEEP = 2000
# The fleet view's columns: the first of these parameters the role has a value of.
FLEET_PARAMS = {"mode": ("mode.hk.mode", "mode.Beacon.mode"), "battery": ("eps.hk.soc_pct",),
                "attitude": ("adcs.AdcsState.mode", "adcs.hk.mode")}


class SharedLink:
    """One link read by the first role's session and copied to the others'."""

    def __init__(self, link: Link, roles: list[str]) -> None:
        self.link = link
        self.primary = roles[0]
        self.queues: dict[str, collections.deque[bytes]] = {r: collections.deque()
                                                              for r in roles[1:]}
        self.cond = threading.Condition()
        self.send_lock = threading.Lock()
        self.error: LinkError | None = None
        self.last_rx_wall: float | None = None

    def view(self, role: str) -> _LinkView:
        return _LinkView(self, role)


class _LinkView:
    def __init__(self, shared: SharedLink, role: str) -> None:
        self.shared = shared
        self.role = role

    def receive(self, timeout_s: float) -> list[bytes]:
        sh = self.shared
        if self.role == sh.primary:
            try:
                frames = sh.link.receive(timeout_s)
            except LinkError as exc:
                with sh.cond:
                    sh.error = exc
                    sh.cond.notify_all()
                raise
            with sh.cond:
                sh.error = None
                if frames:
                    sh.last_rx_wall = time.time()
                    for q in sh.queues.values():
                        q.extend(frames)
                sh.cond.notify_all()
            return frames
        with sh.cond:
            q = sh.queues[self.role]
            if not q and sh.error is None:
                sh.cond.wait(timeout_s)
            if sh.error is not None and not q:
                raise sh.error
            out = list(q)
            q.clear()
            return out

    def send(self, frame: bytes) -> None:
        with self.shared.send_lock:
            self.shared.link.send(frame)

    def close(self) -> None:
        if self.role == self.shared.primary:
            self.shared.link.close()


@dataclass
class AuditEntry:
    seq: int
    wall_time: float
    user: str
    role: str
    spacecraft: str
    text: str
    record: TcRecord


class Hub:
    """Every role's session, its notifications and its command audit; thread-safe."""

    def __init__(self, dictionary: Dictionary, holders: Mapping[str, KeyHolder],
                 spacecraft: list[SpacecraftConfig], archive_dir: str | Path,
                 state_dir: str | Path, passes: Mapping[str, list[list[float]]] | None = None,
                 station_passes: Mapping[str, Mapping[str, list[list[float]]]] | None = None,
                 tc_timeout_s: float = 30.0) -> None:
        """`passes`: per spacecraft, the network's (AOS, LOS) on-board seconds;
        `station_passes`: per spacecraft, each station's (AOS, LOS)."""
        if "operator" in holders:
            roles = ["operator", *sorted(r for r in holders if r != "operator")]
        else:
            roles = sorted(holders)
        self.dictionary = dictionary
        self.holders = dict(holders)
        self.passes = dict(passes or {})
        self.station_passes = {k: dict(v) for k, v in (station_passes or {}).items()}
        self.archive_dir = Path(archive_dir)
        self.archive_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.notes: dict[str, collections.deque[tuple[int, float, str, int, str]]] = {
            r: collections.deque(maxlen=NOTIFY_KEEP) for r in roles}
        self.seq = 0
        self._watchers: dict[str, list[Callable[[], None]]] = {r: [] for r in roles}
        self.decoded_wall: dict[str, dict[str, float]] = {r: {} for r in roles}
        """Wall time (s, Unix) each role's session last decoded frames of each spacecraft."""
        self.audit: list[AuditEntry] = []
        self.shared: dict[str, SharedLink] = {}
        self.sessions: dict[str, Session] = {}
        for role in roles:
            archive = SqliteArchive(self.archive_dir / f"{role}.db")
            self.sessions[role] = Session(dictionary, holders[role], archive, spacecraft,
                                          state_dir, self._notifier(role),
                                          tc_timeout_s=tc_timeout_s)
            self.sessions[role].on_received = self._receiver(role)
        for cfg in spacecraft:
            first = self.sessions[roles[0]].links[cfg.name]
            sh = SharedLink(first.link, roles)
            self.shared[cfg.name] = sh
            for role in roles:
                self.sessions[role].links[cfg.name].link = sh.view(role)  # type: ignore[assignment]
        self._audit_path = self.archive_dir / "commands.jsonl"
        self.fields = {name: f for name, (_pkt, f) in dictionary.parameters.items()}
        self.elements: dict[str, FieldDef] = {}
        for name, f in self.fields.items():
            self.elements[name] = f
            for i in range(f.count if f.count > 1 else 0):
                self.elements[f"{name}_{i}"] = f
        self.param_apid = {name: pkt.apid for name, (pkt, _f) in dictionary.parameters.items()}

    def _notifier(self, role: str) -> Any:
        def notify(kind: str, text: str, severity: int) -> None:
            with self.lock:
                self.seq += 1
                self.notes[role].append((self.seq, time.time(), kind, severity, text))
            self._wake(role)
        return notify

    def _receiver(self, role: str) -> Any:
        def received(spacecraft: str) -> None:
            self.decoded_wall[role][spacecraft] = time.time()
            self._wake(role)
        return received

    def watch(self, role: str, wake: Callable[[], None]) -> Callable[[], None]:
        """Call `wake()` (from any thread) whenever `role`'s view changes: new values
        decoded, a notification, a command sent. Returns the function that stops it."""
        with self.lock:
            self._watchers[role].append(wake)

        def unwatch() -> None:
            with self.lock:
                if wake in self._watchers[role]:
                    self._watchers[role].remove(wake)
        return unwatch

    def _wake(self, role: str) -> None:
        with self.lock:
            watchers = list(self._watchers[role])
        for wake in watchers:
            wake()

    def start(self) -> None:
        for s in self.sessions.values():
            s.start()

    def stop(self) -> None:
        for s in reversed(list(self.sessions.values())):
            s.stop()

    # -- what a role may see ---------------------------------------------------------
    def visible_commands(self, role: str) -> list[dict[str, Any]]:
        holder = self.holders[role]
        out = []
        for app in self.dictionary.apps.values():
            if not holder.may_command(app.apid):
                continue
            for c in app.commands.values():
                if c.variable:
                    continue
                out.append({"name": f"{app.name}.{c.name}", "doc": c.doc,
                            "critical": c.critical,
                            "args": [_field_json(a) for a in c.args]})
        return out

    def visible_parameters(self, role: str) -> dict[str, dict[str, Any]]:
        holder = self.holders[role]
        return {name: _field_json(f) for name, f in self.fields.items()
                if holder.sees_all or self.param_apid[name] in (holder.apids or ())}

    def may_see(self, role: str, name: str) -> bool:
        base = name if name in self.param_apid else name.rsplit("_", 1)[0]
        apid = self.param_apid.get(base)
        holder = self.holders[role]
        return apid is not None and (holder.sees_all or apid in (holder.apids or ()))

    # -- live view -------------------------------------------------------------------
    def fleet(self, role: str) -> list[dict[str, Any]]:
        session = self.sessions[role]
        out = []
        for name, sc in session.links.items():
            sh = self.shared[name]
            latest = sc.latest
            row: dict[str, Any] = {
                "name": name, "scid": sc.config.scid,
                "link": ("in pass" if sc.ready else
                         "down" if sh.error is not None else "no pass"),
                "link_error": str(sh.error) if sh.error else "",
                "last_contact": sh.last_rx_wall,
                "last_decoded": self.decoded_wall[role].get(name),
                "onboard_s": _newest_time(sc),
                "passes": self.passes.get(name, []),
                "stations": self.station_passes.get(name, {})}
            for key, names in FLEET_PARAMS.items():
                row[key] = next((_jsonable(latest[n].eng) for n in names if n in latest), None)
            out.append(row)
        return out

    def values(self, role: str, since: Mapping[str, float]) -> list[list[Any]]:
        """[spacecraft, name, on-board time, engineering value, limit] newer than `since`."""
        out = []
        for scname, sc in self.sessions[role].links.items():
            for name, v in list(sc.latest.items()):
                key = f"{scname}/{name}"
                if since.get(key) == v.time_s:
                    continue
                f = self.elements.get(name)
                lim = ""
                if f is not None and isinstance(v.eng, (int, float)):
                    lim = _limit(float(v.eng), f).name
                out.append([scname, name, v.time_s, _jsonable(v.eng), lim or Limit.OK.name])
        return out

    def notifications(self, role: str, since: int) -> list[list[Any]]:
        with self.lock:
            return [list(n) for n in self.notes[role] if n[0] > since]

    def commands(self, role: str, limit: int = 50) -> list[dict[str, Any]]:
        with self.lock:
            mine = [a for a in self.audit if a.role == role][-limit:]
        return [{"seq": a.seq, "user": a.user, "spacecraft": a.spacecraft, "text": a.text,
                 "request_id": f"{a.record.request_id:#010x}", "status": a.record.status,
                 "stages": dict(a.record.stages), "sent": a.wall_time} for a in mine]

    # -- commanding -----------------------------------------------------------------
    def command(self, user: str, role: str, spacecraft: str, dotted: str,
                form: Mapping[str, Any], *, confirmed: bool = False,
                release_s: float | None = None) -> list[TcRecord]:
        """Check and send one command as `user` in `role`; CommandRefusedError says why not."""
        session = self.sessions[role]
        cmd = session.resolve(dotted)
        if not self.holders[role].may_command(cmd.apid):
            raise CommandRefusedError(f"role {role} may not command {cmd.app} "
                                      f"(APID {cmd.apid:#05x})")
        if cmd.critical and not confirmed:  # the dictionary's flag, from the flight app
            raise CommandRefusedError(f"{cmd.app}.{cmd.name} is critical: confirm to send")
        values = {}
        by_name = {a.name: a for a in cmd.args}
        for k, raw in form.items():
            if k not in by_name:
                raise CommandRefusedError(f"{cmd.app}.{cmd.name} has no argument {k}")
            if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
                raise CommandRefusedError(f"{k}: give a number or a label")
            values[k] = parse_value(str(raw).strip(), by_name[k])
        sc = session.spacecraft(spacecraft)
        if release_s is not None:
            records = list(session.schedule(release_s, dotted, values, spacecraft))
        else:
            tc, text = session.command_tc(sc, dotted, values)
            records = [sc.send_tc(tc, f"{text} (by {user})")]
        with self.lock:
            for rec in records:
                self.seq += 1
                entry = AuditEntry(self.seq, time.time(), user, role, spacecraft, rec.text, rec)
                self.audit.append(entry)
                with self._audit_path.open("a") as fh:
                    fh.write(json.dumps({"time": entry.wall_time, "user": user, "role": role,
                                         "spacecraft": spacecraft, "command": rec.text,
                                         "request_id": rec.request_id}) + "\n")
        self._wake(role)
        return records


def _newest_time(sc: Any) -> float | None:
    """The newest on-board time the spacecraft has reported, in seconds: TM kept on board
    between passes comes down after newer real-time TM, so the last packet's may be older."""
    times = [v.time_s for v in list(sc.latest.values())]
    if sc.onboard_time_s is not None:
        times.append(sc.onboard_time_s)
    return max(times, default=None)


def _field_json(f: FieldDef) -> dict[str, Any]:
    return {"name": f.name, "type": f.type, "count": f.count, "unit": f.unit, "doc": f.doc,
            "low": f.low, "high": f.high,
            "enum": {str(k): v for k, v in f.enum.items()} if f.enum else None,
            "warn": f.warn, "crit": f.crit}


def _jsonable(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, float) and v != v:
        return None
    return v
