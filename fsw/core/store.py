"""The onboard persistent store: a key-value table in one SQLite file.

What must survive a reboot or a power loss (anti-replay counters, tables,
the command schedule, installed-app records) goes here. Each `put` is its
own transaction committed with ``synchronous=FULL`` in WAL mode, so after a
power cut the file holds every write that returned and nothing half-done
(SQLite's atomic commit; see sqlite.org/atomiccommit.html). Values are
bytes: callers own their encoding.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_NEXT = "~next"  # sorts after every zero-padded sequence number


class StoreError(Exception):
    """The store file cannot be opened or is damaged."""


class Store:
    """Durable namespaced key-value storage in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL,"
                " value BLOB NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {self.path}: {exc}") from exc
        self._in_txn = False

    def get(self, ns: str, key: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM kv WHERE ns=? AND key=?", (ns, key)).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, ns: str, key: str, value: bytes) -> None:
        """Write one value; durable when this returns (unless inside `transaction`)."""
        self._db.execute("INSERT INTO kv (ns, key, value) VALUES (?, ?, ?)"
                         " ON CONFLICT (ns, key) DO UPDATE SET value=excluded.value",
                         (ns, key, bytes(value)))

    def delete(self, ns: str, key: str) -> None:
        self._db.execute("DELETE FROM kv WHERE ns=? AND key=?", (ns, key))

    def first(self, ns: str, n: int) -> list[tuple[str, bytes]]:
        """The first `n` entries of `ns` in key order."""
        rows = self._db.execute("SELECT key, value FROM kv WHERE ns=? ORDER BY key LIMIT ?",
                                (ns, n)).fetchall()
        return [(key, bytes(value)) for key, value in rows]

    def last_key(self, ns: str, before: str) -> str | None:
        """The greatest key of `ns` below `before`."""
        row = self._db.execute("SELECT max(key) FROM kv WHERE ns=? AND key<?",
                               (ns, before)).fetchone()
        return row[0]

    def first_with_prefix(self, ns: str, prefix: str) -> str | None:
        """The least key of `ns` that starts with `prefix`."""
        row = self._db.execute("SELECT min(key) FROM kv WHERE ns=? AND key>=? AND key<?",
                               (ns, prefix, prefix + "\uffff")).fetchone()
        return row[0]

    def count(self, ns: str) -> int:
        return self._db.execute("SELECT count(*) FROM kv WHERE ns=?", (ns,)).fetchone()[0]

    def append(self, ns: str, value: bytes, keep: int) -> int:
        """Append `value` to the journal `ns` (keys are sequence numbers) in one durable
        transaction, dropping the oldest entries beyond `keep`; returns its number."""
        with self.transaction():
            raw = self.get(ns, _NEXT)
            seq = 0 if raw is None else int(raw)
            self.put(ns, _NEXT, str(seq + 1).encode())
            self.put(ns, f"{seq:012d}", value)
            if seq >= keep:
                self.delete(ns, f"{seq - keep:012d}")
        return seq

    def journal(self, ns: str) -> list[tuple[int, bytes]]:
        """Every entry of journal `ns`, oldest first, with its number."""
        return [(int(k), v) for k, v in self.items(ns) if k != _NEXT]

    def items(self, ns: str) -> Iterator[tuple[str, bytes]]:
        for key, value in self._db.execute("SELECT key, value FROM kv WHERE ns=? ORDER BY key",
                                           (ns,)).fetchall():
            yield key, bytes(value)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Group several writes into one atomic, durable commit."""
        if self._in_txn:
            yield self
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._in_txn = True
        try:
            yield self
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._in_txn = False

    def check_integrity(self) -> str:
        """SQLite's own integrity check: "ok" for an intact file."""
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        self._db.close()
