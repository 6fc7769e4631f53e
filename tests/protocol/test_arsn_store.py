"""The anti-replay store as docs/space-link.md describes it: a real SQLite
file in WAL mode with synchronous=FULL, whose every change is on disk when
the call returns, and which refuses a write it could not make without
changing what it reports."""

from __future__ import annotations

import sqlite3

import pytest

from fsw.protocol import Reason, SecurityError
from fsw.protocol.store import ArsnStore


def reopen(store: ArsnStore) -> ArsnStore:
    store.close()
    return ArsnStore(store.path)


def test_every_change_is_in_the_file_when_the_call_returns(tmp_path):
    store = ArsnStore(tmp_path / "arsn.db")
    assert store.get(7) == (0, 0) and store.rekeyed() == {}
    store.set_arsn(7, 41)
    store.set_arsn(7, 42)
    store.set_many({8: 5, 9: 6})
    store.set_many({})
    # another reader sees it without the writer closing: committed, not cached
    other = sqlite3.connect(tmp_path / "arsn.db")
    assert sorted(other.execute("SELECT spi, value, generation FROM arsn")) == [
        (7, 42, 0), (8, 5, 0), (9, 6, 0)]
    other.close()
    store = reopen(store)
    assert (store.get(7), store.get(8), store.get(9)) == ((42, 0), (5, 0), (6, 0))
    assert store.integrity_ok()


def test_a_store_opened_in_one_thread_is_written_from_another(tmp_path):
    """The ground session opens its store when it starts and sends from its
    receiver and console threads; the flight link thread screens frames
    against the same engine. A write from a thread other than the opener's
    is made and durable like any other."""
    import threading

    store = ArsnStore(tmp_path / "arsn.db")
    errors: list[BaseException] = []

    def send() -> None:
        try:
            store.set_arsn(7, 41)
            store.set_many({8: 5})
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)

    worker = threading.Thread(target=send)
    worker.start()
    worker.join(timeout=60)
    assert errors == [] and not worker.is_alive()
    store = reopen(store)
    assert (store.get(7), store.get(8)) == ((41, 0), (5, 0))


def test_a_rekey_restarts_the_arsn_and_keeps_its_generation(tmp_path):
    store = ArsnStore(tmp_path / "arsn.db")
    store.set_arsn(7, 1000)
    store.rekey(7, 3, b"wrapped-1")
    assert store.get(7) == (0, 3)
    store.set_arsn(7, 4)
    store.set_many({7: 5, 9: 1})
    assert store.get(7) == (5, 3) and store.get(9) == (1, 0)
    store.rekey(7, 4, b"wrapped-2")
    store.rekey(9, 1, b"w9")
    store = reopen(store)
    assert store.get(7) == (0, 4) and store.get(9) == (0, 1)
    assert store.rekeyed() == {7: (4, b"wrapped-2"), 9: (1, b"w9")}
    store.rekey(11, 2, b"new")  # an SPI that never sent anything
    assert reopen(store).get(11) == (0, 2)


def test_the_file_is_in_wal_mode_with_full_synchronous_writes(tmp_path):
    store = ArsnStore(tmp_path / "arsn.db")
    store.set_arsn(1, 1)
    other = sqlite3.connect(tmp_path / "arsn.db")
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # kept in the file
    other.close()
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_store_that_cannot_be_opened_says_so(tmp_path):
    with pytest.raises(SecurityError) as err:
        ArsnStore(tmp_path / "no such folder" / "arsn.db")
    assert err.value.reason == Reason.STORE_FAILURE
    assert str(err.value).startswith("store_failure: cannot open store: ")


def test_a_write_the_file_refuses_changes_nothing(tmp_path):
    store = ArsnStore(tmp_path / "arsn.db")
    store.set_arsn(7, 10)
    store.rekey(8, 1, b"w")
    store.set_arsn(8, 3)
    # the disk refuses every further write (as a full or failing medium would)
    other = sqlite3.connect(tmp_path / "arsn.db")
    for table, op in (("arsn", "INSERT"), ("arsn", "UPDATE"), ("rekeyed", "INSERT"),
                      ("rekeyed", "UPDATE")):
        other.execute(f"CREATE TRIGGER no_{table}_{op} BEFORE {op} ON {table} "
                      "BEGIN SELECT RAISE(ABORT, 'medium refuses'); END")
    other.commit()
    other.close()
    for call in (lambda: store.set_arsn(7, 11), lambda: store.set_many({7: 12, 9: 1}),
                 lambda: store.rekey(8, 2, b"w2")):
        with pytest.raises(SecurityError) as err:
            call()
        assert err.value.reason == Reason.STORE_FAILURE
        assert "medium refuses" in str(err.value)
    assert store.get(7) == (10, 0) and store.get(9) == (0, 0) and store.get(8) == (3, 1)
    assert store.rekeyed() == {8: (1, b"w")}
    # nothing half-written reached the file either, and the store still works
    store = reopen(store)
    assert store.get(7) == (10, 0) and store.get(9) == (0, 0) and store.get(8) == (3, 1)
    assert store.integrity_ok()
