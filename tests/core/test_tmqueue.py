"""The store-and-forward TM queue and the event journal, on a real SQLite file."""

from __future__ import annotations

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
