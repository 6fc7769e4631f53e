"""The store-and-forward TM queue and the event journal, on a real SQLite file."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.core import Executive, Severity, Store, VirtualClock
from fsw.core.tmqueue import TmQueue


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.tuples(st.just("put"), st.integers(0, 3)),
                          st.tuples(st.just("ack"), st.integers(1, 3))), max_size=40),
       st.integers(1, 6))
def test_queue_sends_by_priority_then_age_and_keeps_the_most_important(tmp_path_factory, ops,
                                                                       capacity):
    path = tmp_path_factory.mktemp("tmq") / "store.db"
    queue = TmQueue(Store(path), max_packets=capacity)
    model: list[tuple[int, int]] = []  # (priority, n) in arrival order
    for n, (op, arg) in enumerate(ops):
        if op == "put":
            if len(model) >= capacity:
                lowest = min(p for p, _ in model)
                if lowest <= arg:
                    model.remove(min(((p, m) for p, m in model if p == lowest),
                                     key=lambda x: x[1]))
                    model.append((arg, n))
            else:
                model.append((arg, n))
            queue.put(arg, f"{arg}:{n}".encode())
        else:
            sent = queue.peek(arg)
            queue.ack(k for k, _ in sent)
            order = sorted(model, key=lambda x: (-x[0], x[1]))
            assert [v for _, v in sent] == [f"{p}:{m}".encode() for p, m in order[:arg]]
            model = order[arg:]
    again = TmQueue(Store(path), max_packets=capacity)  # as after a reboot
    assert len(again) == len(model)
    order = sorted(model, key=lambda x: (-x[0], x[1]))
    assert [v for _, v in again.peek(100)] == [f"{p}:{m}".encode() for p, m in order]


def test_events_are_journalled_and_survive_a_reboot(tmp_path):
    exe = Executive(VirtualClock(), store=Store(tmp_path / "store.db"))
    exe.events.raise_event(0x030, 10, Severity.MEDIUM, "before the power cut")
    again = Executive(VirtualClock(), store=Store(tmp_path / "store.db"))
    assert [e.text for e in again.events.journal()] == ["before the power cut"]
    assert again.events.journal()[0].severity == Severity.MEDIUM


def test_event_journal_keeps_the_newest(tmp_path):
    store = Store(tmp_path / "store.db")
    for i in range(10):
        store.append("j", str(i).encode(), keep=4)
    assert [v for _, v in store.journal("j")] == [b"6", b"7", b"8", b"9"]


def test_a_full_queue_counts_every_packet_it_loses(tmp_path):
    # docs/autonomy.md: 20000 packets unless told; priorities 0-255; a new
    # packet displaces the oldest of the lowest priority if that is not above
    # its own, else it is dropped; each loss counted
    assert TmQueue(Store(tmp_path / "a.db")).max_packets == 20000
    queue = TmQueue(Store(tmp_path / "s.db"), max_packets=3)
    keys = queue.put_many([(0, b"low"), (255, b"top"), (5, b"mid")])
    assert len(keys) == 3 and [v for _, v in queue.peek(3)] == [b"top", b"mid", b"low"]
    assert [k for k, _ in queue.peek(3)] == [keys[1], keys[2], keys[0]]
    assert queue.put(0, b"low again") == queue.peek(3)[2][0]  # took the old low's place
    assert queue.dropped == 1
    # mid 2 displaces the low one, top 2 the older mid; then a packet below
    # everything held is dropped, and the packets after it still go in
    queue.put_many([(5, b"mid 2"), (255, b"top 2")])
    assert queue.dropped == 3
    assert [v for _, v in queue.peek(5)] == [b"top", b"top 2", b"mid 2"]
    assert queue.put_many([(0, b"none"), (9, b"nine")]) == [queue.peek(3)[2][0]]
    assert queue.dropped == 5 and [v for _, v in queue.peek(5)] == [b"top", b"top 2", b"nine"]
    for bad in (256, -1):
        with pytest.raises(ValueError) as err:
            queue.put(bad, b"x")
        assert str(err.value) == f"priority {bad} is not 0-255"
    with pytest.raises(ValueError) as err:
        TmQueue(Store(tmp_path / "z.db"), max_packets=0)
    assert str(err.value) == "max_packets must be at least 1"


def test_after_a_reboot_new_packets_queue_behind_the_old(tmp_path):
    queue = TmQueue(Store(tmp_path / "s.db"))
    queue.put_many([(7, b"old 1"), (7, b"old 2")])
    queue.store.close()
    again = TmQueue(Store(tmp_path / "s.db"))
    again.put(7, b"new")
    assert [v for _, v in again.peek(3)] == [b"old 1", b"old 2", b"new"]
    again.ack(k for k, _ in again.peek(1))
    assert len(again) == 2 and again.dropped == 0
