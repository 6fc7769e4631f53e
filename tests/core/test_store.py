"""The onboard store: durability, atomic transactions, and power loss."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from fsw.core import Store, StoreError


def test_values_survive_reopening(tmp_path):
    path = tmp_path / "store.db"
    store = Store(path)
    store.put("farm", "vr", b"\x07")
    store.put("keys", "operator", b"k1")
    store.put("farm", "vr", b"\x08")
    store.close()
    again = Store(path)
    assert again.get("farm", "vr") == b"\x08"
    assert dict(again.items("keys")) == {"operator": b"k1"}
    assert again.get("farm", "missing") is None


def test_failed_transaction_leaves_nothing(tmp_path):
    store = Store(tmp_path / "s.db")
    store.put("a", "x", b"1")
    with pytest.raises(RuntimeError), store.transaction():
        store.put("a", "x", b"2")
        store.put("a", "y", b"2")
        raise RuntimeError("power glitch in software")
    assert store.get("a", "x") == b"1" and store.get("a", "y") is None


def test_garbage_file_is_a_store_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"junk\.db"):
        Store(path)


WRITER = textwrap.dedent("""
    import sys
    from fsw.core import Store
    store = Store(sys.argv[1])
    n = 0
    while True:
        n += 1
        with store.transaction():
            store.put("counter", "a", str(n).encode())
            store.put("counter", "b", str(n).encode())
        print(n, flush=True)
""")


@pytest.mark.parametrize("kill_after", [5, 40, 200])
def test_power_loss_keeps_every_acknowledged_write(tmp_path, kill_after):
    """A real writer process is killed with SIGKILL mid-stream (as a power cut
    would stop it): the file must be intact, hold every write the writer had
    confirmed, and never a half-done transaction."""
    path = tmp_path / "store.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ))
    confirmed = 0
    for line in proc.stdout:
        confirmed = int(line)
        if confirmed >= kill_after:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = Store(path)
    assert store.check_integrity() == "ok"
    a, b = int(store.get("counter", "a")), int(store.get("counter", "b"))
    assert a == b, "a transaction was half applied"
    assert a >= confirmed


def test_a_store_opened_on_one_thread_serves_another(tmp_path):
    # the executive may open the store and a link thread write to it
    import threading

    store = Store(tmp_path / "s.db")
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            store.put("ns", "k", b"from a thread")
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    t.join()
    assert errors == [] and store.get("ns", "k") == b"from a thread"


def test_deleted_values_are_gone_after_reopening(tmp_path):
    store = Store(tmp_path / "s.db")
    store.put("ns", "a", b"1")
    store.put("ns", "b", b"2")
    store.put("other", "a", b"3")
    store.delete("ns", "a")
    store.delete("ns", "never")  # deleting what is not there is harmless
    store.close()
    store = Store(tmp_path / "s.db")
    assert store.get("ns", "a") is None and list(store.items("ns")) == [("b", b"2")]
    assert store.get("other", "a") == b"3"


def test_ordered_lookups_and_the_journal_numbering(tmp_path):
    store = Store(tmp_path / "s.db")
    for key in ("ab", "abz", "abé", "ac", "b"):
        store.put("ns", key, key.encode())
    store.put("other", "aa", b"x")
    assert store.first_with_prefix("ns", "ab") == "ab"
    store.delete("ns", "ab")
    assert store.first_with_prefix("ns", "ab") == "abz"  # then "abé": code point order
    assert store.first_with_prefix("ns", "zz") is None
    assert store.last_key("ns", before="b") == "ac" and store.last_key("ns", before="a") is None
    assert store.first("ns", 2) == [("abz", b"abz"), ("abé", "abé".encode())]
    assert store.count("ns") == 4 and store.count("empty") == 0
    # a journal numbers its entries from 0 and keeps the newest `keep`
    assert [store.append("j", bytes([i]), keep=3) for i in range(5)] == [0, 1, 2, 3, 4]
    assert store.journal("j") == [(2, b"\x02"), (3, b"\x03"), (4, b"\x04")]
