"""The ST11 scheduler app as a state machine, and its schedule surviving a reboot."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.apps.scheduler import MAX_ACTIVITIES, SchedulerApp
from fsw.core import (
    COMMAND_RESULT_MSG,
    AppSpec,
    Executive,
    Stage,
    Store,
    VirtualClock,
    cmd_msg_id,
)
from fsw.core.app import COMMAND_HEADER
from fsw.core.ids import COMMS_APID, SCHEDULER_APID
from fsw.protocol import services as sv
from fsw.protocol.cuc import CucTime
from fsw.protocol.pus import PusTc

SCHED = cmd_msg_id(SCHEDULER_APID)


class Harness:
    """An executive with the scheduler; released TCs are read off the bus where
    the comms app would take them."""

    def __init__(self, store: Store | None = None) -> None:
        self.exe = Executive(VirtualClock(), rate_groups_hz=(10.0,), store=store)
        self.exe.add_app(AppSpec("scheduler", SchedulerApp, 10.0))
        bus = self.exe.bus
        bus.register_variable(cmd_msg_id(COMMS_APID), "comms commands")
        self.released = bus.create_pipe("test.released", 1024)
        bus.subscribe(self.released, cmd_msg_id(COMMS_APID))
        bus.register(COMMAND_RESULT_MSG)
        self.results = bus.create_pipe("test.results", 1024)
        bus.subscribe(self.results, COMMAND_RESULT_MSG.msg_id)
        assert self.exe.boot() == []
        self.app: SchedulerApp = self.exe.apps["scheduler"]
        self.rid = 0
        self.last_run = 0.0
        self.log: list[tuple[float, PusTc]] = []

    def command(self, code: int, body: bytes = b"") -> bool:
        """Send one scheduler command, run a cycle; True if it completed ok."""
        self.rid += 1
        self.exe.bus.publish(SCHED, COMMAND_HEADER.pack(self.rid, code) + body)
        self.step()
        results = [COMMAND_RESULT_MSG.unpack(p) for _, p in self.results.drain()]
        mine = [r for r in results if r["request_id"] == self.rid]
        return any(r["stage"] == Stage.COMPLETION and r["ok"] for r in mine)

    def step(self) -> list[tuple[float, PusTc]]:
        """One minor frame; releases come with the time the scheduler ran at."""
        ran_at = self.last_run = self.exe.clock.now()
        self.exe.step()
        out = []
        for _, payload in self.released.drain():
            rid, code = COMMAND_HEADER.unpack_from(payload)
            tc = PusTc.decode(payload[COMMAND_HEADER.size:])
            assert code == 20 and rid == tc.request_id
            out.append((ran_at, tc))
        self.log += out
        return out

    def take_releases(self) -> list[tuple[float, PusTc]]:
        out, self.log = self.log, []
        return out


ops = st.lists(st.one_of(
    st.tuples(st.just("insert"), st.lists(st.tuples(st.integers(0, 30), st.integers(0, 40)),
                                          min_size=1, max_size=4)),
    st.tuples(st.just("delete"), st.integers(0, 40)),
    st.tuples(st.just("enable"), st.none()),
    st.tuples(st.just("disable"), st.none()),
    st.tuples(st.just("reset"), st.none()),
    st.tuples(st.just("wait"), st.integers(1, 15)),
), max_size=25)


@settings(max_examples=40, deadline=None)
@given(ops)
def test_schedule_state_machine(ops):
    """Against a model: an activity is released once, only while enabled, never
    before its time and never after it was deleted or the schedule was reset."""
    h = Harness()
    model: dict[int, float] = {}  # seq -> release time
    enabled = True
    released: dict[int, float] = {}

    def check_releases(items: list[tuple[float, PusTc]]) -> None:
        for now, tc in items:
            assert enabled
            assert tc.seq_count in model and model[tc.seq_count] <= now + 1e-9
            assert tc.seq_count not in released
            released[tc.seq_count] = now
            del model[tc.seq_count]

    for op, arg in ops:
        now = h.exe.clock.now()
        if op == "insert":
            seqs = [s for _, s in arg]
            acts = [sv.ScheduledTc(CucTime.from_seconds(now + 0.5 + dt / 10),
                                   PusTc(0x30, 17, 1, seq_count=s)) for dt, s in arg]
            expect = (len(set(seqs)) == len(seqs) and not set(seqs) & set(model)
                      and len(set(model) | set(seqs)) <= MAX_ACTIVITIES)
            if set(seqs) & set(released):
                continue  # keep "released once" simple: never reuse an ID
            ok = h.command(13, sv.encode_insert(acts))
            assert ok == expect
            if ok:
                for a in acts:
                    model[a.tc.seq_count] = a.release.seconds
        elif op == "delete":
            aid = sv.ActivityId(0, 0x30, arg)
            ok = h.command(14, sv.encode_delete([aid]))
            assert ok == (arg in model)
            model.pop(arg, None)
        elif op == "enable":
            assert h.command(10)
            enabled = True
        elif op == "disable":
            assert h.command(11)
            enabled = False
        elif op == "reset":
            assert h.command(12)
            model.clear()
            enabled = False
        else:
            for _ in range(arg):
                h.step()
        h.step()
        check_releases(h.take_releases())
        assert {a.seq_count for a in h.app.activities} == set(model)
        assert h.app.enabled == enabled
        if enabled:  # nothing overdue stays behind
            assert all(t > h.last_run for t in model.values())


def test_malformed_insert_is_refused_at_acceptance():
    h = Harness()
    h.rid += 1
    h.exe.bus.publish(SCHED, COMMAND_HEADER.pack(h.rid, 13) + b"\x00\x05\x00")
    h.step()
    [r] = [COMMAND_RESULT_MSG.unpack(p) for _, p in h.results.drain()]
    assert (r["stage"], r["ok"], r["reason"]) == (Stage.ACCEPTANCE, False, 3)  # BAD_ARGUMENT
    assert h.app.activities == {} and h.app.cmd_error_count == 1


def test_schedule_survives_a_reboot(tmp_path):
    store = Store(tmp_path / "store.db")
    h = Harness(store)
    t = h.exe.clock.now() + 100.0
    acts = [sv.ScheduledTc(CucTime.from_seconds(t), PusTc(0x30, 17, 1, seq_count=i))
            for i in range(3)]
    assert h.command(13, sv.encode_insert(acts))
    assert h.command(14, sv.encode_delete([sv.ActivityId.of(acts[0].tc)]))
    assert h.command(11)  # disabled, and that is remembered too
    store.close()
    h2 = Harness(Store(tmp_path / "store.db"))
    assert {a.seq_count for a in h2.app.activities} == {1, 2}
    assert not h2.app.enabled
    assert all(abs(rel - t) < 1e-4 for rel, _ in h2.app.activities.values())


def _ping(seq: int) -> PusTc:
    return PusTc(0x30, 17, 1, seq_count=seq)


def test_due_activities_are_released_in_time_order():
    h = Harness()
    t0 = h.exe.clock.now()
    # inserted out of order; 3 and 4 fall due in the same cycle
    times = {1: 0.95, 2: 0.35, 3: 0.62, 4: 0.61, 5: 0.15}
    acts = [sv.ScheduledTc(CucTime.from_seconds(t0 + dt), _ping(s)) for s, dt in times.items()]
    assert h.command(13, sv.encode_insert(acts))
    for _ in range(12):
        h.step()
    released = h.take_releases()
    assert [tc.seq_count for _, tc in released] == [5, 2, 4, 3, 1]
    # none early, none later than the cycle after its time (10 Hz)
    for ran_at, tc in released:
        assert t0 + times[tc.seq_count] <= ran_at + 1e-6 < t0 + times[tc.seq_count] + 0.1


def test_activities_held_while_disabled_come_out_in_time_order():
    h = Harness()
    t0 = h.exe.clock.now()
    assert h.command(11)
    acts = [sv.ScheduledTc(CucTime.from_seconds(t0 + 0.5 - s / 10), _ping(s)) for s in range(4)]
    assert h.command(13, sv.encode_insert(acts))
    for _ in range(8):
        h.step()
    assert h.take_releases() == []
    assert h.command(10)
    assert [tc.seq_count for _, tc in h.take_releases()] == [3, 2, 1, 0]


def test_the_schedule_holds_256_activities_and_refuses_more():
    # docs/space-link.md: "SchedulerApp keeps up to 256 activities"
    h = Harness()
    later = CucTime.from_seconds(h.exe.clock.now() + 1000.0)
    for first in range(0, 256, 32):
        batch = [sv.ScheduledTc(later, _ping(s)) for s in range(first, first + 32)]
        assert h.command(13, sv.encode_insert(batch))
    assert len(h.app.activities) == 256
    assert not h.command(13, sv.encode_insert([sv.ScheduledTc(later, _ping(256))]))
    assert len(h.app.activities) == 256
    # a full schedule refuses the whole request: none of a mixed batch goes in
    assert h.command(14, sv.encode_delete([sv.ActivityId.of(_ping(0))]))
    two = [sv.ScheduledTc(later, _ping(300)), sv.ScheduledTc(later, _ping(301))]
    assert not h.command(13, sv.encode_insert(two))
    assert len(h.app.activities) == 255
    assert h.command(13, sv.encode_insert(two[:1]))
    assert len(h.app.activities) == 256


def test_an_activity_inserted_past_its_time_goes_out_at_the_next_cycle():
    # The comms app refuses such inserts from the ground (BAD_TIME); the
    # scheduler itself, told directly, releases at once rather than never.
    h = Harness()
    for _ in range(20):
        h.step()
    past = sv.ScheduledTc(CucTime.from_seconds(0.5), _ping(9))
    assert h.command(13, sv.encode_insert([past]))
    h.step()
    assert [tc.seq_count for _, tc in h.take_releases()] == [9]
    assert not h.app.activities
