"""The ST11 scheduler app as a state machine over several key holders, and
its schedule, owners included, surviving a reboot."""

from __future__ import annotations

import struct
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.apps.scheduler import (
    MAX_ACTIVITIES,
    RELEASED_TC_HEADER,
    RELEASED_TC_MAX,
    RELEASED_TC_MSG_ID,
    SCHEDULE_REPORT_MSG_ID,
    ST11_FUNCTION,
    Owner,
    SchedulerApp,
)
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
from fsw.core.ids import SCHEDULER_APID
from fsw.protocol import services as sv
from fsw.protocol.cuc import CucTime
from fsw.protocol.pus import PusTc

SCHED = cmd_msg_id(SCHEDULER_APID)
OPERATOR = Owner(1, whole_schedule=True, slots=256)
UNI_A = Owner(10, whole_schedule=False, slots=8)
UNI_B = Owner(11, whole_schedule=False, slots=8)
ENABLE, DISABLE, RESET, INSERT, DELETE = (ST11_FUNCTION[t] for t in (
    sv.SCHED_ENABLE, sv.SCHED_DISABLE, sv.SCHED_RESET, sv.SCHED_INSERT, sv.SCHED_DELETE))


class Harness:
    """An executive with the scheduler; released TCs are read off the bus where
    the comms app would take them, with the SPI of their owner."""

    def __init__(self, store: Store | None = None, config: dict | None = None) -> None:
        self.exe = Executive(VirtualClock(), rate_groups_hz=(10.0,), store=store)
        self.exe.add_app(AppSpec("scheduler", SchedulerApp, 10.0, config or {}))
        bus = self.exe.bus
        bus.register_variable(RELEASED_TC_MSG_ID, "released TCs", RELEASED_TC_MAX)
        self.released = bus.create_pipe("test.released", 1024)
        bus.subscribe(self.released, RELEASED_TC_MSG_ID)
        bus.register(COMMAND_RESULT_MSG)
        self.results = bus.create_pipe("test.results", 1024)
        bus.subscribe(self.results, COMMAND_RESULT_MSG.msg_id)
        assert self.exe.boot() == []
        self.app: SchedulerApp = self.exe.apps["scheduler"]
        self.rid = 0
        self.last_run = 0.0
        self.log: list[tuple[float, int, PusTc]] = []

    def command(self, code: int, body: bytes = b"", owner: Owner = OPERATOR) -> bool:
        """Send one scheduler command as `owner`, run a cycle; True if it completed ok."""
        self.rid += 1
        self.exe.bus.publish(SCHED, COMMAND_HEADER.pack(self.rid, code) + owner.encode() + body)
        self.step()
        results = [COMMAND_RESULT_MSG.unpack(p) for _, p in self.results.drain()]
        mine = [r for r in results if r["request_id"] == self.rid]
        return any(r["stage"] == Stage.COMPLETION and r["ok"] for r in mine)

    def step(self) -> list[tuple[float, int, PusTc]]:
        """One minor frame; releases come with the time the scheduler ran at."""
        ran_at = self.last_run = self.exe.clock.now()
        self.exe.step()
        out = []
        for _, payload in self.released.drain():
            (spi,) = RELEASED_TC_HEADER.unpack_from(payload)
            out.append((ran_at, spi, PusTc.decode(payload[RELEASED_TC_HEADER.size:])))
        self.log += out
        return out

    def take_releases(self) -> list[tuple[float, int, PusTc]]:
        out, self.log = self.log, []
        return out


owners = st.sampled_from([OPERATOR, UNI_A, UNI_B])
ops = st.lists(st.one_of(
    st.tuples(st.just("insert"), owners,
              st.lists(st.tuples(st.integers(0, 30), st.integers(0, 12)), min_size=1,
                       max_size=4)),
    st.tuples(st.just("delete"), owners, st.integers(0, 12)),
    st.tuples(st.just("enable"), owners, st.none()),
    st.tuples(st.just("disable"), owners, st.none()),
    st.tuples(st.just("reset"), owners, st.none()),
    st.tuples(st.just("wait"), owners, st.integers(1, 15)),
), max_size=25)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_schedule_state_machine(ops):
    """Against a model: an activity is released once, with its owner, only
    while the schedule and its owner's sub-schedule are enabled, never before
    its time, never after it was deleted or reset; a key holder without the
    whole-schedule right deletes, resets and switches only its own."""
    h = Harness()
    model: dict[tuple[int, int], float] = {}  # (owner SPI, seq) -> release time
    enabled = True
    owner_off: set[int] = set()
    released: set[tuple[int, int]] = set()

    def check_releases(items: list[tuple[float, int, PusTc]]) -> None:
        for now, spi, tc in items:
            key = (spi, tc.seq_count)
            assert enabled and spi not in owner_off
            assert key in model and model[key] <= now + 1e-9
            assert key not in released
            released.add(key)
            del model[key]

    for op, owner, arg in ops:
        now = h.exe.clock.now()
        mine = {k for k in model if k[0] == owner.spi}
        if op == "insert":
            keys = [(owner.spi, s) for _, s in arg]
            if set(keys) & released:
                continue  # keep "released once" simple: never reuse an ID
            acts = [sv.ScheduledTc(CucTime.from_seconds(now + 0.5 + dt / 10),
                                   PusTc(0x30, 17, 1, seq_count=s)) for dt, s in arg]
            expect = (len(set(keys)) == len(keys) and not set(keys) & set(model)
                      and len(mine) + len(keys) <= owner.slots)
            ok = h.command(INSERT, sv.encode_insert(acts), owner)
            assert ok == expect
            if ok:
                for k, a in zip(keys, acts, strict=True):
                    model[k] = a.release.seconds
        elif op == "delete":
            aid = sv.ActivityId(0, 0x30, arg)
            hits = {k for k in model if k[1] == arg and
                    (owner.whole_schedule or k[0] == owner.spi)}
            assert h.command(DELETE, sv.encode_delete([aid]), owner) == bool(hits)
            for k in hits:
                del model[k]
        elif op in ("enable", "disable"):
            on = op == "enable"
            assert h.command(ENABLE if on else DISABLE, b"", owner)
            if owner.whole_schedule:
                enabled = on
            elif on:
                owner_off.discard(owner.spi)
            else:
                owner_off.add(owner.spi)
        elif op == "reset":
            assert h.command(RESET, b"", owner)
            if owner.whole_schedule:
                model.clear()
                enabled = False
            else:
                for k in mine:
                    del model[k]
                owner_off.add(owner.spi)
        else:
            for _ in range(arg):
                h.step()
        h.step()
        check_releases(h.take_releases())
        assert {(k.owner, k.aid.seq_count) for k in h.app.activities} == set(model)
        assert h.app.enabled == enabled
        if enabled:  # nothing overdue stays behind
            assert all(t > h.last_run for k, t in model.items() if k[0] not in owner_off)


def test_partners_share_a_pool_the_operator_does_not_draw_from():
    h = Harness()
    t = h.exe.clock.now() + 100.0
    partners = [Owner(100 + i, False, 64) for i in range(MAX_ACTIVITIES // 64)]
    for p in partners:
        for first in (0, 32):  # 32 activities fit one bus command
            acts = [sv.ScheduledTc(CucTime.from_seconds(t), PusTc(0x30, 17, 1, seq_count=i))
                    for i in range(first, first + 32)]
            assert h.command(INSERT, sv.encode_insert(acts), p)
    late = Owner(99, False, 64)
    one = [sv.ScheduledTc(CucTime.from_seconds(t), PusTc(0x30, 17, 1, seq_count=1))]
    assert not h.command(INSERT, sv.encode_insert(one), late)  # the pool is full
    assert h.command(INSERT, sv.encode_insert(one), OPERATOR)  # the operator still schedules


def test_malformed_insert_is_refused_at_acceptance():
    h = Harness()
    h.rid += 1
    h.exe.bus.publish(SCHED, COMMAND_HEADER.pack(h.rid, INSERT) + OPERATOR.encode() + b"\x00\x05")
    h.step()
    [r] = [COMMAND_RESULT_MSG.unpack(p) for _, p in h.results.drain()]
    assert (r["stage"], r["ok"], r["reason"]) == (Stage.ACCEPTANCE, False, 3)  # BAD_ARGUMENT
    assert h.app.activities == {} and h.app.cmd_error_count == 1


def test_schedule_survives_a_reboot_with_its_owners(tmp_path):
    store = Store(tmp_path / "store.db")
    h = Harness(store)
    t = h.exe.clock.now() + 100.0
    acts = [sv.ScheduledTc(CucTime.from_seconds(t), PusTc(0x30, 17, 1, seq_count=i))
            for i in range(3)]
    assert h.command(INSERT, sv.encode_insert(acts), UNI_A)
    assert h.command(INSERT, sv.encode_insert(acts[:1]), OPERATOR)
    assert h.command(DELETE, sv.encode_delete([sv.ActivityId.of(acts[0].tc)]), UNI_A)
    assert h.command(DISABLE, b"", UNI_B)  # uni-b's own sub-schedule off, remembered too
    assert h.command(DISABLE)  # and the whole schedule
    store.close()
    h2 = Harness(Store(tmp_path / "store.db"))
    assert {(k.owner, k.aid.seq_count) for k in h2.app.activities} == {(10, 1), (10, 2), (1, 0)}
    assert not h2.app.enabled and h2.app.owners_disabled == {UNI_B.spi}
    assert all(abs(rel - t) < 1e-4 for rel, _ in h2.app.activities.values())
    # released after the reboot, each still with its owner's SPI
    assert h2.command(ENABLE)
    while h2.exe.clock.now() < t + 1:
        h2.step()
    assert sorted((spi, tc.seq_count) for _, spi, tc in h2.take_releases()) == \
        [(1, 0), (10, 1), (10, 2)]


def _wal_commits(db: Path) -> int:
    """Transactions committed to a SQLite write-ahead log, read from the file
    as sqlite.org/fileformat2.html lays it out: a 32-octet header (page size
    at 8, salts at 16), then frames of a 24-octet header and a page; a frame
    whose header gives the database size after the commit (at 4) ends a
    transaction; frames with other salts are left from before a restart."""
    wal = Path(f"{db}-wal").read_bytes()
    page_size = int.from_bytes(wal[8:12], "big")
    salts = wal[16:24]
    commits = 0
    for at in range(32, len(wal) - 24 - page_size + 1, 24 + page_size):
        frame = wal[at:at + 24]
        if frame[8:16] == salts and int.from_bytes(frame[4:8], "big"):
            commits += 1
    return commits


def test_a_cycles_requests_and_releases_are_one_durable_commit(tmp_path):
    # docs/space-link.md: each cycle's changes are one durable commit
    store = Store(tmp_path / "store.db")
    h = Harness(store)
    due = sv.ScheduledTc(CucTime.from_seconds(0.3), _ping(1))
    assert h.command(INSERT, sv.encode_insert([due]), UNI_A)
    while h.exe.clock.now() < 0.35:  # the cycle that releases it writes its deletion
        before = _wal_commits(tmp_path / "store.db")
        if h.step():
            assert _wal_commits(tmp_path / "store.db") == before + 1
            break
    else:
        raise AssertionError("not released")
    later = h.exe.clock.now() + 100.0
    before = _wal_commits(tmp_path / "store.db")
    for i, owner in enumerate((UNI_A, UNI_B, OPERATOR)):  # three requests in one cycle
        body = sv.encode_insert([sv.ScheduledTc(CucTime.from_seconds(later), _ping(10 + i))])
        h.exe.bus.publish(SCHED, COMMAND_HEADER.pack(90 + i, INSERT) + owner.encode() + body)
    h.step()
    assert len(h.app.activities) == 3
    assert _wal_commits(tmp_path / "store.db") == before + 1


def test_stored_activity_without_an_owner_is_dropped(tmp_path):
    store = Store(tmp_path / "store.db")
    store.put("scheduler", "0:48:7", bytes(8) + PusTc(0x30, 17, 1, seq_count=7).encode())
    h = Harness(store)
    assert h.app.activities == {}
    assert any("no readable owner" in e.text for e in h.exe.events.recent)


def _ping(seq: int) -> PusTc:
    return PusTc(0x30, 17, 1, seq_count=seq)


def test_due_activities_are_released_in_time_order():
    h = Harness()
    t0 = h.exe.clock.now()
    # inserted out of order; 3 and 4 fall due in the same cycle
    times = {1: 0.95, 2: 0.35, 3: 0.62, 4: 0.61, 5: 0.15}
    acts = [sv.ScheduledTc(CucTime.from_seconds(t0 + dt), _ping(s)) for s, dt in times.items()]
    assert h.command(INSERT, sv.encode_insert(acts))
    for _ in range(12):
        h.step()
    released = h.take_releases()
    assert [tc.seq_count for _, _, tc in released] == [5, 2, 4, 3, 1]
    # none early, none later than the cycle after its time (10 Hz)
    for ran_at, _, tc in released:
        assert t0 + times[tc.seq_count] <= ran_at + 1e-6 < t0 + times[tc.seq_count] + 0.1


def test_activities_held_while_disabled_come_out_in_time_order():
    h = Harness()
    t0 = h.exe.clock.now()
    assert h.command(DISABLE)
    acts = [sv.ScheduledTc(CucTime.from_seconds(t0 + 0.5 - s / 10), _ping(s)) for s in range(4)]
    assert h.command(INSERT, sv.encode_insert(acts))
    for _ in range(8):
        h.step()
    assert h.take_releases() == []
    assert h.command(ENABLE)
    assert [tc.seq_count for _, _, tc in h.take_releases()] == [3, 2, 1, 0]


def test_the_schedule_holds_256_activities_and_refuses_more():
    # docs/space-link.md: "SchedulerApp keeps up to 256 activities"
    h = Harness()
    later = CucTime.from_seconds(h.exe.clock.now() + 1000.0)
    for first in range(0, 256, 32):
        batch = [sv.ScheduledTc(later, _ping(s)) for s in range(first, first + 32)]
        assert h.command(INSERT, sv.encode_insert(batch))
    assert len(h.app.activities) == 256
    assert not h.command(INSERT, sv.encode_insert([sv.ScheduledTc(later, _ping(256))]))
    assert len(h.app.activities) == 256
    # a full schedule refuses the whole request: none of a mixed batch goes in
    assert h.command(DELETE, sv.encode_delete([sv.ActivityId.of(_ping(0))]))
    two = [sv.ScheduledTc(later, _ping(300)), sv.ScheduledTc(later, _ping(301))]
    assert not h.command(INSERT, sv.encode_insert(two))
    assert len(h.app.activities) == 255
    assert h.command(INSERT, sv.encode_insert(two[:1]))
    assert len(h.app.activities) == 256


def test_an_activity_inserted_past_its_time_goes_out_at_the_next_cycle():
    # The comms app refuses such inserts from the ground (BAD_TIME); the
    # scheduler itself, told directly, releases at once rather than never.
    h = Harness()
    for _ in range(20):
        h.step()
    past = sv.ScheduledTc(CucTime.from_seconds(0.5), _ping(9))
    assert h.command(INSERT, sv.encode_insert([past]))
    h.step()
    assert [tc.seq_count for _, _, tc in h.take_releases()] == [9]
    assert not h.app.activities


def test_switching_off_and_on_again_is_remembered_across_a_reboot(tmp_path):
    store = Store(tmp_path / "store.db")
    h = Harness(store)
    t = h.exe.clock.now() + 1.0
    assert h.command(INSERT, sv.encode_insert([sv.ScheduledTc(CucTime.from_seconds(t),
                                                              _ping(5))]), UNI_A)
    assert h.command(DISABLE, b"", UNI_A)  # uni-a's sub-schedule off: its ping waits
    assert h.command(DISABLE)  # the whole schedule off, then on again
    assert h.command(ENABLE)
    assert h.app.owners_disabled == {UNI_A.spi}
    while h.exe.clock.now() < t + 1:
        h.step()
    assert h.take_releases() == []
    assert h.command(ENABLE, b"", UNI_A)  # on again: the overdue ping goes at once
    assert [(spi, tc.seq_count) for _, spi, tc in h.take_releases()] == [(UNI_A.spi, 5)]
    assert h.command(DISABLE, b"", UNI_B)
    assert h.command(ENABLE, b"", UNI_B)
    store.close()
    h2 = Harness(Store(tmp_path / "store.db"))  # reboot: every switch on, as left
    assert h2.app.enabled and h2.app.owners_disabled == set()


def test_an_ownerless_stored_activity_is_dropped_for_good(tmp_path):
    store = Store(tmp_path / "store.db")
    store.put("scheduler", "0:48:7", bytes(8) + PusTc(0x30, 17, 1, seq_count=7).encode())
    Harness(store)
    h = Harness(store)  # the next boot finds nothing left to drop
    assert not any("no readable owner" in e.text for e in h.exe.events.recent)


def test_the_dropped_activity_is_named():
    store = Store(":memory:")
    store.put("scheduler", "0:48:7", bytes(8) + PusTc(0x30, 17, 1, seq_count=7).encode())
    h = Harness(store)
    assert "stored activity 0:48:7 has no readable owner: dropped" in [
        e.text for e in h.exe.events.recent]


def test_an_activity_named_twice_in_one_delete_is_deleted_once():
    h = Harness()
    act = sv.ScheduledTc(CucTime.from_seconds(h.exe.clock.now() + 50), _ping(9))
    assert h.command(INSERT, sv.encode_insert([act]))
    aid = sv.ActivityId.of(act.tc)
    assert h.command(DELETE, sv.encode_delete([aid, aid]))
    assert h.app.activities == {}


def test_a_slot_quota_beyond_16_bits_is_stamped_as_65535():
    # the owner header carries the quota in 16 bits: a larger one is capped, not refused
    rich = Owner(10, whole_schedule=False, slots=100000)
    assert rich.encode() == bytes.fromhex("000a00ffff")
    h = Harness()
    act = sv.ScheduledTc(CucTime.from_seconds(h.exe.clock.now() + 50), _ping(3))
    assert h.command(INSERT, sv.encode_insert([act]), rich)


def test_a_request_without_a_sound_owner_header_is_refused_in_words():
    # the owner header comms stamps: SPI (u16), whole-schedule flag (u8: 0 or 1), slots (u16)
    h = Harness()
    for rid, owner in ((41, b"\x00\x01\x00"), (42, bytes.fromhex("0001020008"))):
        h.exe.bus.publish(SCHED, COMMAND_HEADER.pack(rid, ENABLE) + owner)
        h.step()
    verdicts = [(r["request_id"], r["stage"], r["ok"])
                for r in (COMMAND_RESULT_MSG.unpack(p) for _, p in h.results.drain())]
    assert verdicts == [(41, Stage.ACCEPTANCE, False), (42, Stage.ACCEPTANCE, False)]
    texts = [e.text for e in h.exe.events.recent][-2:]
    assert texts[0].endswith("no owner header") and texts[1].endswith("owner flags")
    assert h.command(ENABLE, b"", Owner(11, whole_schedule=True, slots=8))  # flag 1 is sound


def test_st11_data_that_does_not_fit_the_request_is_refused_at_acceptance_in_words():
    # ECSS-E-ST-70-41C 6.11: TC[11,1], [11,2], [11,3] and [11,17] carry no
    # application data; TC[11,4] is N, then N (release time, TC) instructions
    h = Harness()
    requests = {51: (ENABLE, b"\x00"), 52: (DISABLE, b"\x00\x01"), 53: (INSERT, b"\x00"),
                54: (INSERT, b"")}
    for rid, (code, data) in requests.items():
        h.exe.bus.publish(SCHED, COMMAND_HEADER.pack(rid, code) + OPERATOR.encode() + data)
        h.step()
    verdicts = [(r["request_id"], r["stage"], r["ok"])
                for r in (COMMAND_RESULT_MSG.unpack(p) for _, p in h.results.drain())]
    assert verdicts == [(rid, Stage.ACCEPTANCE, False) for rid in requests]
    texts = [e.text for e in h.exe.events.recent][-4:]
    assert texts[:2] == ["ENABLE_SCHEDULE: ST11 data: this request takes none",
                         "DISABLE_SCHEDULE: ST11 data: this request takes none"]
    # the decoder's reason follows (fsw.protocol.services: too short for N)
    assert texts[2:] == ["INSERT_ACTIVITIES: ST11 data: bad_app_data: application data "
                         "too short"] * 2
    assert h.app.enabled and h.app.activities == {}
    assert h.command(ENABLE, b"")  # the same request with no data is accepted


def test_an_activity_goes_out_in_the_cycle_its_release_time_is_reached():
    # ECSS-E-ST-70-41C 6.11.4.1: a TC is released when on-board time reaches its
    # release time, so one due exactly at a cycle goes out in that cycle.
    h = Harness()
    at = CucTime.from_seconds(0.5)  # the 10 Hz clock reads 0.5 s exactly at its 6th cycle
    assert h.command(INSERT, sv.encode_insert([sv.ScheduledTc(at, _ping(7))]))
    for _ in range(10):
        h.step()
    assert [(ran_at, tc.seq_count) for ran_at, _, tc in h.take_releases()] == [(0.5, 7)]


def test_housekeeping_counts_the_activities_released():
    h = Harness()
    assert h.app.housekeeping_values()["released"] == 0
    t = h.exe.clock.now()
    acts = [sv.ScheduledTc(CucTime.from_seconds(t + 0.25 * (s + 1)), _ping(s)) for s in range(3)]
    assert h.command(INSERT, sv.encode_insert(acts))
    for _ in range(10):
        h.step()
    assert len(h.take_releases()) == 3
    hk = h.app.housekeeping_values()
    assert (hk["released"], hk["activities"]) == (3, 0)


def test_a_scheduler_configured_disabled_holds_its_activities_until_enabled():
    h = Harness(config={"enabled": False})
    assert h.app.housekeeping_values()["enabled"] is False
    t = h.exe.clock.now()
    assert h.command(INSERT, sv.encode_insert([sv.ScheduledTc(CucTime.from_seconds(t + 0.2),
                                                              _ping(4))]))
    for _ in range(5):
        h.step()
    assert h.take_releases() == []
    assert h.command(ENABLE)
    assert [tc.seq_count for _, _, tc in h.take_releases()] == [4]


def test_the_operators_activities_stay_outside_the_partners_pool_after_a_reboot(tmp_path):
    store = Store(tmp_path / "store.db")
    h = Harness(store)
    t = h.exe.clock.now() + 100.0
    mine = [sv.ScheduledTc(CucTime.from_seconds(t), _ping(s)) for s in range(8)]
    assert h.command(INSERT, sv.encode_insert(mine), OPERATOR)
    h = Harness(store)  # power cycle: the schedule comes back from the store
    assert len(h.app.activities) == 8
    partners = [Owner(100 + i, False, 64) for i in range(MAX_ACTIVITIES // 64)]
    for p in partners:  # the partners' pool is whole: all 256 of its slots are free
        for first in (0, 32):
            acts = [sv.ScheduledTc(CucTime.from_seconds(t), _ping(s))
                    for s in range(first, first + 32)]
            assert h.command(INSERT, sv.encode_insert(acts), p)
    assert len(h.app.activities) == 8 + MAX_ACTIVITIES


def test_damaged_stored_activities_are_dropped_and_the_others_kept(tmp_path):
    store = Store(tmp_path / "store.db")
    tc = PusTc(0x30, 17, 1, seq_count=5).encode()
    at = struct.pack(">d", 100.0)  # release time, then the TC
    store.put("scheduler", "act:1:0:48:5", at + tc)
    store.put("scheduler", "act:1:0:48:6", at)  # no TC after the time
    store.put("scheduler", "act:1:x:48:7", at + tc)  # an owner field that is no number
    store.put("scheduler", "act:2:0:48:8", at + tc)  # after the damaged ones
    h = Harness(store)
    assert {(k.owner, k.aid.seq_count) for k in h.app.activities} == {(1, 5), (2, 8)}
    texts = [e.text for e in h.exe.events.recent]
    for key in ("act:1:0:48:6", "act:1:x:48:7"):
        assert f"stored activity {key} has no readable owner: dropped" in texts
        assert store.get("scheduler", key) is None
    assert h.app.state.name == "RUNNING"


def test_an_activity_too_long_to_release_is_reported_and_the_next_still_goes(tmp_path):
    # a stored TC longer than a released TC may be (1,008 octets with its owner)
    store = Store(tmp_path / "store.db")
    at = struct.pack(">d", 0.05)
    store.put("scheduler", "act:1:0:48:1",
              at + PusTc(0x30, 17, 1, bytes(1100), seq_count=1).encode())
    store.put("scheduler", "act:1:0:48:2", at + PusTc(0x30, 17, 1, seq_count=2).encode())
    h = Harness(store)
    failed: list[str] = []
    for _ in range(20):
        h.step()
        failed = [e.text for e in h.exe.events.recent if e.text.startswith("release of")]
        if failed:
            break
    # in the same cycle as the failure, not one later
    assert [tc.seq_count for _, _, tc in h.take_releases()] == [2]
    texts = [e.text for e in h.exe.events.recent]
    # the event says why: the bus refused a message over the released TC's 1,008 octets
    assert any(t.startswith("release of SPI 1 0:48:1 failed: ") and "at most 1008 bytes" in t
               for t in texts)
    assert "released TC SPI 1 0:48:2" in texts
    assert h.app.activities == {} and h.app.state.name == "RUNNING"


def test_the_schedulers_messages_are_registered_under_their_names():
    # the names a wiring may use for them (fsw.core.wiring: a registered message by name)
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("scheduler", SchedulerApp, 10.0, {}))
    assert exe.boot() == []
    names = exe.bus.names()
    assert names[RELEASED_TC_MSG_ID] == "released TCs"
    assert names[SCHEDULE_REPORT_MSG_ID] == "schedule summaries"
