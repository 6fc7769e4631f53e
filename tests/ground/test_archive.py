"""The archive: time-range queries, idempotent replays, exports, and power loss."""

from __future__ import annotations

import io
import json
import signal
import sqlite3
import subprocess
import sys
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from ground.archive import EventRecord, SqliteArchive, export_samples


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a.hk.x", "a.hk.y", "b.hk.z"]),
                          st.floats(-1e6, 1e6, allow_nan=False), st.integers(-100, 100)),
                max_size=60),
       st.floats(-1e6, 1e6, allow_nan=False), st.floats(0, 1e6, allow_nan=False))
def test_a_time_range_query_returns_exactly_the_samples_in_range(tmp_path_factory, rows, t0,
                                                                 span):
    archive = SqliteArchive(tmp_path_factory.mktemp("a") / "a.db")
    archive.add_sample_rows(7, [(n, t, v, v * 2) for n, t, v in rows])
    archive.add_sample_rows(8, [(n, t, v, v) for n, t, v in rows])  # another spacecraft
    for name in ("a.hk.x", "a.hk.y", "b.hk.z"):
        first = {}
        for n, t, v in rows:
            if n == name:
                first.setdefault(t, v)  # one value per parameter and time: the first kept
        want = sorted((t, v, v * 2) for t, v in first.items() if t0 <= t < t0 + span)
        assert archive.samples(7, name, t0, t0 + span) == want
    archive.close()


def test_replaying_the_same_samples_adds_nothing(tmp_path):
    archive = SqliteArchive(tmp_path / "a.db")
    for _ in range(2):
        archive.add_samples(1, 5.0, ["p.hk.a", "p.hk.b"], [1, 2], [0.1, 0.2])
    assert archive.samples(1, "p.hk.a", 0, 10) == [(5.0, 1, 0.1)]


def test_exports_are_csv_and_json_lines_per_spacecraft(tmp_path):
    archive = SqliteArchive(tmp_path / "a.db")
    archive.add_sample_rows(1, [("p.hk.a", float(t), t, t / 10) for t in range(5)])
    out = io.StringIO()
    assert export_samples(archive, 1, ["p.hk.a"], 1, 3, out, "csv") == 2
    assert out.getvalue().splitlines() == ["scid,time_s,name,raw,eng", "1,1.0,p.hk.a,1,0.1",
                                           "1,2.0,p.hk.a,2,0.2"]
    out = io.StringIO()
    export_samples(archive, 1, ["p.hk.a"], 0, 1, out, "jsonl")
    assert json.loads(out.getvalue()) == {"scid": 1, "time_s": 0.0, "name": "p.hk.a", "raw": 0,
                                          "eng": 0.0}
    archive.add_event(EventRecord(1, 3.0, "flight", "sample", 3, "NOOP", 1, "sample: no-op"))
    assert [e.name for e in archive.events(1, 0, 10)] == ["NOOP"]
    assert archive.events(2, 0, 10) == []


WRITER = """
import sys
from ground.archive import SqliteArchive
a = SqliteArchive(sys.argv[1], autocommit_rows=10**9)
t = 0
while True:
    a.add_sample_rows(1, [("p.hk.a", float(t + i), i, i) for i in range(1000)])
    t += 1000
    a.flush()
    print(t, flush=True)
"""


def test_a_killed_writer_loses_at_most_its_unflushed_batch(tmp_path):
    db = tmp_path / "a.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE,
                            text=True)
    committed = 0
    deadline = time.monotonic() + 120
    while committed < 20_000 and time.monotonic() < deadline:
        committed = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)  # no clean shutdown, mid-batch
    proc.wait()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
    archive = SqliteArchive(db)
    rows = archive.samples(1, "p.hk.a", 0, 1e12)
    assert len(rows) >= committed and len(rows) % 1000 == 0
    assert [t for t, _, _ in rows] == [float(i) for i in range(len(rows))]
