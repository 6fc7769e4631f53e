"""Durable state of the security associations: anti-replay sequence numbers
and rekeyed keys, in an SQLite file.

Every change is committed with `synchronous=FULL` before the caller acts on
it, so after a power loss the stored ARSN is never older than the last frame
the spacecraft accepted (CCSDS 355.0-B-2 requires the ARSN to be kept across
the life of the SA). Used by the flight side (received ARSNs) and by the
ground side (transmitted ARSNs) alike.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from fsw.protocol.errors import Reason, SecurityError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS arsn (
    spi INTEGER PRIMARY KEY,
    value INTEGER NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rekeyed (
    spi INTEGER PRIMARY KEY,
    generation INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL
);
"""


class ArsnStore:
    """ARSN per SPI and rekeyed keys, kept in SQLite (":memory:" for tests and benches)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise SecurityError(Reason.STORE_FAILURE, f"cannot open store: {exc}") from exc
        self._cache: dict[int, tuple[int, int]] = {
            spi: (value, gen)
            for spi, value, gen in self._db.execute("SELECT spi, value, generation FROM arsn")
        }

    def get(self, spi: int) -> tuple[int, int]:
        """(last ARSN, key generation) of an SPI; (0, 0) if never used."""
        return self._cache.get(spi, (0, 0))

    def set_arsn(self, spi: int, value: int) -> None:
        """Durably record `value` as the last ARSN of `spi`."""
        gen = self._cache.get(spi, (0, 0))[1]
        self._write("INSERT INTO arsn(spi, value, generation) VALUES (?, ?, ?) "
                    "ON CONFLICT(spi) DO UPDATE SET value = excluded.value",
                    (spi, value, gen))
        self._cache[spi] = (value, gen)

    def set_many(self, values: dict[int, int]) -> None:
        """Durably record several SPIs' last ARSNs in one transaction."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for spi, value in values.items():
                    gen = self._cache.get(spi, (0, 0))[1]
                    self._db.execute(
                        "INSERT INTO arsn(spi, value, generation) VALUES (?, ?, ?) "
                        "ON CONFLICT(spi) DO UPDATE SET value = excluded.value",
                        (spi, value, gen))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise SecurityError(Reason.STORE_FAILURE, str(exc)) from exc
        for spi, value in values.items():
            self._cache[spi] = (value, self._cache.get(spi, (0, 0))[1])

    def rekey(self, spi: int, generation: int, wrapped_key: bytes) -> None:
        """Durably store a new (wrapped) key and restart the SPI's ARSN at 0."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(
                    "INSERT INTO rekeyed(spi, generation, wrapped_key) VALUES (?, ?, ?) "
                    "ON CONFLICT(spi) DO UPDATE SET generation = excluded.generation, "
                    "wrapped_key = excluded.wrapped_key", (spi, generation, wrapped_key))
                self._db.execute(
                    "INSERT INTO arsn(spi, value, generation) VALUES (?, 0, ?) "
                    "ON CONFLICT(spi) DO UPDATE SET value = 0, generation = excluded.generation",
                    (spi, generation))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise SecurityError(Reason.STORE_FAILURE, str(exc)) from exc
        self._cache[spi] = (0, generation)

    def rekeyed(self) -> dict[int, tuple[int, bytes]]:
        """Every rekeyed SPI: generation and wrapped key."""
        with self._lock:
            rows = self._db.execute("SELECT spi, generation, wrapped_key FROM rekeyed")
            return {spi: (gen, bytes(blob)) for spi, gen, blob in rows}

    def integrity_ok(self) -> bool:
        with self._lock:
            return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple) -> None:
        with self._lock:
            try:
                self._db.execute(sql, args)
            except sqlite3.Error as exc:
                raise SecurityError(Reason.STORE_FAILURE, str(exc)) from exc
