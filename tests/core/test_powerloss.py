"""Power loss, short form: the flight process is killed with SIGKILL at random points
and the store must hold every record it reported committed, nothing half-written, and
the next boot must come up counted and in the stored mode. The full run is
`python -m bench.powerloss` (thousands of kills)."""

from __future__ import annotations

from bench import powerloss
from fsw.core import Store
from fsw.core.events import EVENT_JOURNAL, Event


def test_sigkill_at_random_points_loses_nothing_committed(tmp_path):
    survived, problems = powerloss.run(8, seed=13, workdir=tmp_path)
    assert problems == []
    assert survived == 8


def test_the_check_notices_a_lost_or_torn_record(tmp_path):
    """The checker is not a rubber stamp: take a record away and it says so."""
    survived, problems = powerloss.run(2, seed=5, workdir=tmp_path)
    assert (survived, problems) == (2, [])
    path = tmp_path / "store.db"
    store = Store(path)
    seq, raw = [(n, raw) for n, raw in store.journal(EVENT_JOURNAL)
                if Event.decode(raw).text.startswith("powerloss event")][-1]
    store.delete(EVENT_JOURNAL, f"{seq:012d}")
    store.put("tables", f"{powerloss.TABLE}.active", b'{"version": 1, "pad": "", "check": 0}')
    store.close()
    lost = Event.decode(raw).text.split()[-1]
    ex = powerloss.Expectation(events={lost})
    found = powerloss.check_store(path, ex, powerloss.Reported())
    assert any(p.startswith("events lost") for p in found)
    assert any(p.startswith("table half-written") for p in found)
