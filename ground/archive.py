"""The ground archive: everything received and sent, per spacecraft, behind one interface.

`Archive` is the interface the rest of the ground uses; `SqliteArchive` is
the default implementation, one SQLite file in WAL mode (readers, such as a
plot or an export in another process, never block the writer, and a crash
loses at most the last uncommitted batch). A server database can take over
by implementing the same methods.

What it holds, every row keyed by spacecraft ID (SCID):

- ``frames``: raw TM frames as received, with the ground receive time
  (wall clock, s since the Unix epoch); replaying them through the decoder
  rebuilds everything else;
- ``packets``: TM packets (APID, service, subtype, sequence count, time);
- ``samples``: parameter values (raw and engineering) at the packet's
  on-board time (s of mission time); one value per parameter and time, so
  replaying a pass again adds nothing twice;
- ``events``: flight events and the ground's own (limit transitions, gaps);
- ``commands``: every TC sent, who sent it, and its verification stages.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

SCHEMA = """
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY, scid INTEGER NOT NULL, rx_time REAL NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS frames_by_time ON frames (scid, rx_time);
CREATE TABLE IF NOT EXISTS packets (
    id INTEGER PRIMARY KEY, scid INTEGER NOT NULL, t REAL NOT NULL, apid INTEGER NOT NULL,
    service INTEGER NOT NULL, subtype INTEGER NOT NULL, seq INTEGER NOT NULL,
    data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS packets_by_time ON packets (scid, t);
CREATE TABLE IF NOT EXISTS names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS samples (
    scid INTEGER NOT NULL, param INTEGER NOT NULL, t REAL NOT NULL, raw, eng,
    PRIMARY KEY (scid, param, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, scid INTEGER NOT NULL, t REAL NOT NULL, origin TEXT NOT NULL,
    app TEXT NOT NULL, event_id INTEGER NOT NULL, name TEXT NOT NULL,
    severity INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (scid, t);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY, scid INTEGER NOT NULL, sent_time REAL NOT NULL,
    role TEXT NOT NULL, request_id INTEGER NOT NULL, text TEXT NOT NULL,
    status TEXT NOT NULL, stages TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS commands_by_request ON commands (scid, request_id);
"""


@dataclass(frozen=True)
class EventRecord:
    scid: int
    t: float
    origin: str
    """``flight`` for on-board events, ``ground`` for the ground's own (limits, gaps)."""
    app: str
    event_id: int
    name: str
    severity: int
    text: str


@dataclass(frozen=True)
class CommandRecord:
    scid: int
    sent_time: float
    role: str
    request_id: int
    text: str
    status: str
    stages: dict[str, Any]


class Archive(Protocol):
    """What the ground needs from an archive; implementations keep every record per SCID."""

    def add_frames(self, scid: int, frames: Iterable[bytes], rx_time: float | None = None
                   ) -> None: ...
    def add_packet(self, scid: int, t: float, apid: int, service: int, subtype: int,
                   seq: int, data: bytes) -> None: ...
    def add_samples(self, scid: int, t: float, names: Iterable[str], raw: Iterable[Any],
                    eng: Iterable[Any]) -> None: ...
    def add_sample_rows(self, scid: int, rows: Iterable[tuple[str, float, Any, Any]]) -> None:
        """Many values at once: (name, t, raw, eng) rows (batched like `add_samples`)."""
        with self._lock:
            name_id = self._name_id
            batch = [(scid, name_id(n), t, r, e) for n, t, r, e in rows]
            self._samples += batch
            self._pending += len(batch)
            self._maybe_commit()

    def add_event(self, event: EventRecord) -> None: ...
    def add_command(self, record: CommandRecord) -> None: ...
    def update_command(self, scid: int, request_id: int, status: str,
                       stages: dict[str, Any]) -> None: ...
    def samples(self, scid: int, name: str, t0: float, t1: float
                ) -> list[tuple[float, Any, Any]]: ...
    def parameter_names(self) -> list[str]: ...
    def events(self, scid: int | None, t0: float, t1: float) -> list[EventRecord]: ...
    def commands(self, scid: int | None = None) -> list[CommandRecord]: ...
    def frames(self, scid: int, t0: float, t1: float) -> Iterator[bytes]: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class SqliteArchive:
    """The archive in one SQLite file (WAL). Thread-safe: one connection behind a lock.

    Writes are batched: they are committed by `flush()`, by any query, or
    when `autocommit_rows` rows are pending.
    """

    def __init__(self, path: str | Path, autocommit_rows: int = 50_000) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()
        self._names: dict[str, int] = dict(self._db.execute("SELECT name, id FROM names"))
        self._pending = 0
        self._in_tx = False
        self._samples: list[tuple[int, int, float, Any, Any]] = []
        self._ids_of: dict[tuple[str, ...], tuple[int, ...]] = {}
        self.autocommit_rows = autocommit_rows

    # -- writing ----------------------------------------------------------------------
    def _begin(self, rows: int) -> None:
        if not self._in_tx:
            self._db.execute("BEGIN")
            self._in_tx = True
        self._pending += rows

    def _maybe_commit(self) -> None:
        if self._pending >= self.autocommit_rows:
            self.flush()

    def _name_id(self, name: str) -> int:
        nid = self._names.get(name)
        if nid is None:
            nid = self._db.execute("INSERT OR IGNORE INTO names (name) VALUES (?)",
                                   (name,)).lastrowid
            if not nid:
                nid = self._db.execute("SELECT id FROM names WHERE name = ?", (name,)).fetchone()[0]
            self._names[name] = nid
        return nid

    def add_frames(self, scid: int, frames: Iterable[bytes], rx_time: float | None = None
                   ) -> None:
        t = time.time() if rx_time is None else rx_time
        rows = [(scid, t, bytes(f)) for f in frames]
        with self._lock:
            self._begin(len(rows))
            self._db.executemany("INSERT INTO frames (scid, rx_time, data) VALUES (?, ?, ?)",
                                 rows)
            self._maybe_commit()

    def add_packet(self, scid: int, t: float, apid: int, service: int, subtype: int,
                   seq: int, data: bytes) -> None:
        with self._lock:
            self._begin(1)
            self._db.execute("INSERT INTO packets (scid, t, apid, service, subtype, seq, data) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (scid, t, apid, service, subtype, seq, bytes(data)))
            self._maybe_commit()

    def add_samples(self, scid: int, t: float, names: Iterable[str], raw: Iterable[Any],
                    eng: Iterable[Any]) -> None:
        """One packet's values: all at time `t` (s of mission time).

        Rows are gathered and written in one statement per batch (at `flush`,
        before any query, or at `autocommit_rows`): a packet's ten values cost
        one list extension, not a trip into SQLite."""
        names = tuple(names)
        with self._lock:
            ids = self._ids_of.get(names)
            if ids is None:
                ids = self._ids_of[names] = tuple(self._name_id(n) for n in names)
            self._samples += [(scid, i, t, r, e) for i, r, e in zip(ids, raw, eng, strict=True)]
            self._pending += len(ids)
            self._maybe_commit()

    def add_sample_rows(self, scid: int, rows: Iterable[tuple[str, float, Any, Any]]) -> None:
        """Many values at once: (name, t, raw, eng) rows."""
        with self._lock:
            name_id = self._name_id
            batch = [(scid, name_id(n), t, r, e) for n, t, r, e in rows]
            self._begin(len(batch))
            self._db.executemany("INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?)", batch)
            self._maybe_commit()

    def add_event(self, event: EventRecord) -> None:
        with self._lock:
            self._begin(1)
            self._db.execute("INSERT INTO events (scid, t, origin, app, event_id, name, severity,"
                             " text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (event.scid, event.t, event.origin, event.app, event.event_id,
                              event.name, event.severity, event.text))
            self._maybe_commit()

    def add_command(self, record: CommandRecord) -> None:
        with self._lock:
            self._begin(1)
            self._db.execute("INSERT INTO commands (scid, sent_time, role, request_id, text, "
                             "status, stages) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (record.scid, record.sent_time, record.role, record.request_id,
                              record.text, record.status, json.dumps(record.stages)))
            self._maybe_commit()

    def update_command(self, scid: int, request_id: int, status: str,
                       stages: dict[str, Any]) -> None:
        """Update the newest command with this request ID."""
        with self._lock:
            self._begin(1)
            self._db.execute("UPDATE commands SET status = ?, stages = ? WHERE id = (SELECT "
                             "MAX(id) FROM commands WHERE scid = ? AND request_id = ?)",
                             (status, json.dumps(stages), scid, request_id))
            self._maybe_commit()

    def flush(self) -> None:
        with self._lock:
            if self._samples:
                self._begin(0)
                self._db.executemany("INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?)",
                                     self._samples)
                self._samples = []
            if self._in_tx:
                self._db.execute("COMMIT")
                self._in_tx = False
            self._pending = 0

    def close(self) -> None:
        with self._lock:
            self.flush()
            self._db.close()

    # -- reading ------------------------------------------------------------------------
    def samples(self, scid: int, name: str, t0: float, t1: float
                ) -> list[tuple[float, Any, Any]]:
        """(t, raw, eng) of parameter `name` with t0 <= t < t1, in time order."""
        with self._lock:
            self.flush()
            nid = self._names.get(name)
            if nid is None:
                return []
            return self._db.execute(
                "SELECT t, raw, eng FROM samples WHERE scid = ? AND param = ? AND t >= ? "
                "AND t < ? ORDER BY t", (scid, nid, t0, t1)).fetchall()

    def parameter_names(self) -> list[str]:
        with self._lock:
            return sorted(self._names)

    def events(self, scid: int | None, t0: float, t1: float) -> list[EventRecord]:
        with self._lock:
            self.flush()
            where, args = ("scid = ? AND ", [scid]) if scid is not None else ("", [])
            rows = self._db.execute(
                f"SELECT scid, t, origin, app, event_id, name, severity, text FROM events "
                f"WHERE {where}t >= ? AND t < ? ORDER BY t, id", (*args, t0, t1)).fetchall()
            return [EventRecord(*r) for r in rows]

    def commands(self, scid: int | None = None) -> list[CommandRecord]:
        with self._lock:
            self.flush()
            where, args = ("WHERE scid = ?", (scid,)) if scid is not None else ("", ())
            rows = self._db.execute(
                f"SELECT scid, sent_time, role, request_id, text, status, stages FROM commands "
                f"{where} ORDER BY id", args).fetchall()
            return [CommandRecord(*r[:6], json.loads(r[6])) for r in rows]

    def frames(self, scid: int, t0: float, t1: float) -> Iterator[bytes]:
        """Raw frames received in [t0, t1) (ground receive time), in arrival order."""
        with self._lock:
            self.flush()
            rows = self._db.execute("SELECT data FROM frames WHERE scid = ? AND rx_time >= ? AND "
                                    "rx_time < ? ORDER BY id", (scid, t0, t1)).fetchall()
        for (data,) in rows:
            yield data

    def spacecraft(self) -> list[int]:
        with self._lock:
            self.flush()
            return [r[0] for r in self._db.execute(
                "SELECT DISTINCT scid FROM packets UNION SELECT DISTINCT scid FROM events")]


# -- exports -------------------------------------------------------------------------

def export_samples(archive: Archive, scid: int, names: Iterable[str], t0: float, t1: float,
                   out: IO[str], fmt: str) -> int:
    """Write samples as CSV (time_s,name,raw,eng) or JSON lines; returns the row count."""
    n = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(["scid", "time_s", "name", "raw", "eng"])
    for name in names:
        for t, raw, eng in archive.samples(scid, name, t0, t1):
            if isinstance(raw, bytes):
                raw = raw.hex()
            if isinstance(eng, bytes):
                eng = eng.hex()
            if writer is not None:
                writer.writerow([scid, repr(t), name, raw, eng])
            else:
                out.write(json.dumps({"scid": scid, "time_s": t, "name": name, "raw": raw,
                                      "eng": eng}) + "\n")
            n += 1
    return n
