"""Power loss: kill the flight process with SIGKILL at random points, many times.

Each run starts the flight process on the same store file. It boots (the
boot record, the mode manager's boot mode, the persisted tables and
schedule) and then works as fast as it can on everything the store keeps:
table loads and activations (through the owner's safe point), events,
store-and-forward TM packets queued and acknowledged, mode transitions and
time-tagged commands, printing a line for each one *after* the call that
commits it has returned. The parent kills it with SIGKILL after a random
delay, then checks the store against what the process had reported:

- the file passes SQLite's integrity check;
- no committed record is lost: every table version, event, queued packet,
  mode and scheduled activity reported is there (less what was later
  reported deleted), and nothing is half-written: every record decodes and
  its check value matches;
- the next boot counts exactly one more boot, calls it UNEXPECTED, and comes
  up in SAFE if SAFE was stored and in NOMINAL otherwise.

    python -m bench.powerloss --runs 2000     # the full run (minutes)

The CI test (tests/core/test_powerloss.py) runs a short form.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

TABLE = "powerloss"


def _table(version: int) -> dict:
    pad = "x" * (version % 97)
    body = {"version": version, "pad": pad}
    return {**body, "check": zlib.crc32(json.dumps(body, sort_keys=True).encode())}


def _table_problems(content: object) -> list[str]:
    if not isinstance(content, dict) or set(content) != {"version", "pad", "check"}:
        return ["shape"]
    body = {"version": content["version"], "pad": content["pad"]}
    if zlib.crc32(json.dumps(body, sort_keys=True).encode()) != content["check"]:
        return ["check"]
    return []


def _packet(n: int) -> bytes:
    body = f"TM{n:08d}".encode() + bytes(n % 50)
    return body + zlib.crc32(body).to_bytes(4, "big")


def _packet_ok(raw: bytes) -> bool:
    return zlib.crc32(raw[:-4]).to_bytes(4, "big") == raw[-4:]


# -- the flight process ------------------------------------------------------------------
def child(store_path: str, seed: int) -> None:
    """Boot on the store and work until killed, reporting every commit on stdout."""
    from fsw.apps.mode import Mode, ModeManagerApp
    from fsw.apps.sample import SampleApp
    from fsw.apps.scheduler import SchedulerApp
    from fsw.apps.scheduler.app import Owner
    from fsw.core import AppSpec, Executive, Severity, Store, VirtualClock, cmd_msg_id
    from fsw.core.app import COMMAND_HEADER
    from fsw.core.tmqueue import TmQueue
    from fsw.protocol import services as sv
    from fsw.protocol.cuc import CucTime
    from fsw.protocol.pus import PusTc

    rng = random.Random(seed)
    store = Store(store_path)
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,), store=store)
    exe.add_app(AppSpec("mode", ModeManagerApp, 10.0, {}))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    exe.add_app(AppSpec("scheduler", SchedulerApp, 10.0))
    exe.boot()
    tables = exe.context.tables
    table = tables.register(TABLE, "sample", _table(0), _table_problems, lambda c: None)
    mode = exe.apps["mode"]
    scheduler = exe.apps["scheduler"]
    queue = TmQueue(store)
    out = sys.stdout

    def say(*words: object) -> None:
        out.write(" ".join(str(w) for w in words) + "\n")
        out.flush()

    say("boot", exe.context.boot.count, exe.context.boot.cause.name, mode.mode.name,
        table.active["version"])
    version = table.active["version"]
    n = 0
    while True:
        n += 1
        op = rng.randrange(6)
        if op == 0:
            version += 1
            tables.load(TABLE, json.dumps(_table(version)).encode())
            tables.validate(TABLE)
            tables.activate(TABLE)
            say("table?", version)
            exe.step()  # the owner's safe point: commits active and previous together
            say("table", version)
        elif op == 1:
            exe.events.raise_event(0x030, 99, Severity.INFO,
                                   f"powerloss event {exe.context.boot.count}.{n}")
            say("event", f"{exe.context.boot.count}.{n}")
        elif op == 2:
            key = queue.put(rng.randrange(4), _packet(n))
            say("tm", key)
        elif op == 3 and len(queue):
            key = queue.peek(1)[0][0]
            say("ack?", key)
            queue.ack([key])
            say("ack", key)
        elif op == 4:
            target = Mode.SAFE if mode.mode != Mode.SAFE else Mode.NOMINAL
            say("mode?", target.name)
            if target == Mode.SAFE:
                mode.enter_safe(6)
            else:
                mode.set_mode(int(Mode.NOMINAL))
            say("mode", target.name)
        elif op == 5:
            owner = Owner(spi=1, whole_schedule=True, slots=256).encode()
            if len(scheduler.activities) >= 40:  # keep room: delete the oldest first
                old = min(scheduler.activities)
                say("unsched?", old_key := f"act:1:{old.aid.source_id}:{old.aid.apid}:"
                                           f"{old.aid.seq_count}")
                exe.bus.publish(cmd_msg_id(0x011), COMMAND_HEADER.pack(n, 14) + owner
                                + sv.encode_delete([old.aid]))
                exe.step()
                say("unsched", old_key)
            tc = PusTc(0x030, 17, 1, seq_count=n & 0x3FFF, source_id=n >> 14)
            data = sv.encode_insert([sv.ScheduledTc(CucTime(10**8 + n), tc)])
            exe.bus.publish(cmd_msg_id(0x011), COMMAND_HEADER.pack(n, 13) + owner + data)
            exe.step()
            key = f"act:1:{n >> 14}:{0x030}:{n & 0x3FFF}"
            if any(a.aid == sv.ActivityId(n >> 14, 0x030, n & 0x3FFF)
                   for a in scheduler.activities):
                say("sched", key)


# -- the harness ---------------------------------------------------------------------------
@dataclass
class Reported:
    """What one run of the flight process said it had committed."""

    boot: list[str] = field(default_factory=list)
    table: int | None = None
    table_pending: int | None = None
    events: set[str] = field(default_factory=set)
    tm: set[str] = field(default_factory=set)
    acked: set[str] = field(default_factory=set)
    ack_pending: str | None = None
    mode: str | None = None
    mode_pending: str | None = None
    sched: set[str] = field(default_factory=set)
    unsched: set[str] = field(default_factory=set)
    unsched_pending: str | None = None

    @classmethod
    def parse(cls, text: str) -> Reported:
        r = cls()
        for line in text.splitlines():
            word, _, rest = line.partition(" ")
            if word == "boot":
                r.boot = rest.split()
            elif word == "table?":
                r.table_pending = int(rest)
            elif word == "table":
                r.table, r.table_pending = int(rest), None
            elif word == "event":
                r.events.add(rest)
            elif word == "tm":
                r.tm.add(rest)
            elif word == "ack?":
                r.ack_pending = rest
            elif word == "ack":
                r.acked.add(rest)
                r.ack_pending = None
            elif word == "mode?":
                r.mode_pending = rest
            elif word == "mode":
                r.mode, r.mode_pending = rest, None
            elif word == "sched":
                r.sched.add(rest)
            elif word == "unsched?":
                r.unsched_pending = rest
            elif word == "unsched":
                r.unsched.add(rest)
                r.unsched_pending = None
        return r


@dataclass
class Expectation:
    """What the store must hold, accumulated over every run so far."""

    boots: int = 0
    table: int = 0
    table_alternative: int | None = None
    events: set[str] = field(default_factory=set)
    tm: set[str] = field(default_factory=set)
    tm_maybe_gone: set[str] = field(default_factory=set)
    mode: str = "NOMINAL"
    mode_alternative: str | None = None
    sched: set[str] = field(default_factory=set)
    sched_maybe_gone: set[str] = field(default_factory=set)


def check_store(path: Path, ex: Expectation, seen: Reported) -> list[str]:
    """Problems of the store after a kill, given what was reported (empty: all good)."""
    from fsw.core import Store
    from fsw.core.events import EVENT_JOURNAL, Event

    problems = []
    store = Store(path)
    try:
        if store.check_integrity() != "ok":
            problems.append(f"integrity: {store.check_integrity()}")
        raw = store.get("tables", f"{TABLE}.active")
        content = json.loads(raw) if raw else _table(0)
        if _table_problems(content):
            problems.append(f"table half-written: {raw!r}")
        allowed = {ex.table} | ({ex.table_alternative} - {None})
        if content.get("version") not in allowed:
            problems.append(f"table version {content.get('version')} not in {allowed}")
        events = set()
        for _, value in store.journal(EVENT_JOURNAL):
            event = Event.decode(value)  # raises on a half-written record
            if event.text.startswith("powerloss event "):
                events.add(event.text.rsplit(" ", 1)[1])
        if ex.events - events:
            problems.append(f"events lost: {sorted(ex.events - events)[:5]}")
        tm = dict(store.items("tmq"))
        bad = [k for k, v in tm.items() if not k.startswith("~") and not _packet_ok(v)]
        if bad:
            problems.append(f"TM packets half-written: {bad[:3]}")
        lost = ex.tm - ex.tm_maybe_gone - set(tm)
        if lost:
            problems.append(f"TM packets lost: {sorted(lost)[:3]}")
        stored_mode = store.get("mode", "mode")
        name = {0: "SAFE", 1: "NOMINAL", 2: "PAYLOAD"}[stored_mode[0]] if stored_mode else None
        if name not in {ex.mode, ex.mode_alternative}:
            problems.append(f"mode {name}, reported {ex.mode} (or {ex.mode_alternative})")
        sched = {k for k, _ in store.items("scheduler") if k.startswith("act:")}
        if ex.sched - ex.sched_maybe_gone - sched:
            problems.append(f"activities lost: {sorted(ex.sched - sched)[:3]}")
    finally:
        store.close()
    return problems


def absorb(ex: Expectation, r: Reported) -> None:
    """Fold one run's reports into what the store must hold from now on."""
    if r.table is not None:
        ex.table = r.table
    ex.table_alternative = r.table_pending
    ex.events |= r.events
    ex.tm |= r.tm
    ex.tm -= r.acked
    ex.tm_maybe_gone = {r.ack_pending} if r.ack_pending else set()
    if r.mode is not None:
        ex.mode = "SAFE" if r.mode == "SAFE" else "NOMINAL"
    ex.mode_alternative = r.mode_pending
    ex.sched |= r.sched
    ex.sched -= r.unsched
    ex.sched_maybe_gone = {r.unsched_pending} if r.unsched_pending else set()


def settle(ex: Expectation, path: Path) -> None:
    """After a check passed, what the store holds is the new truth for the ambiguous items."""
    from fsw.core import Store

    store = Store(path)
    try:
        raw = store.get("tables", f"{TABLE}.active")
        ex.table = json.loads(raw)["version"] if raw else 0
        ex.table_alternative = None
        stored = store.get("mode", "mode")
        if stored:
            ex.mode = "SAFE" if stored[0] == 0 else "NOMINAL"
        ex.mode_alternative = None
        ex.tm &= {k for k, _ in store.items("tmq")}
        # Events were checked right after the run that reported them; the journal keeps
        # only the newest, so older ones may leave it later by design.
        ex.events = set()
        ex.sched &= {k for k, _ in store.items("scheduler")}
    finally:
        store.close()


def run(runs: int, *, seed: int = 1, max_delay_s: float = 0.4,
        workdir: Path | None = None) -> tuple[int, list[str]]:
    """Kill the flight process `runs` times; returns (runs survived, problems)."""
    rng = random.Random(seed)
    tmp = tempfile.TemporaryDirectory() if workdir is None else None
    path = Path(workdir or tmp.name) / "store.db"
    ex = Expectation()
    problems: list[str] = []
    survived = 0
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    try:
        for i in range(runs):
            proc = subprocess.Popen([sys.executable, "-m", "bench.powerloss", "--child",
                                     str(path), str(rng.randrange(1 << 30))],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
            assert proc.stdout is not None
            first = proc.stdout.readline().decode()
            time.sleep(rng.uniform(0.0, max_delay_s))
            proc.send_signal(signal.SIGKILL)
            rest, _ = proc.communicate()
            text = first + rest.decode(errors="replace")
            if not text.endswith("\n"):
                text = text[: text.rfind("\n") + 1]  # a line cut by the kill was not reported
            reported = Reported.parse(text)
            run_problems = []
            boot = reported.boot
            if not boot:
                run_problems.append("no boot line")
            else:
                count, cause, mode = int(boot[0]), boot[1], boot[2]
                want_cause = "FIRST_BOOT" if ex.boots == 0 else "UNEXPECTED"
                if count != ex.boots + 1 or cause != want_cause:
                    run_problems.append(f"boot {count} {cause}, expected {ex.boots + 1} "
                                        f"{want_cause}")
                if mode != ex.mode:
                    run_problems.append(f"booted {mode}, stored {ex.mode}")
                ex.boots = count
            absorb(ex, reported)
            run_problems += check_store(path, ex, reported)
            if run_problems:
                problems += [f"run {i}: {p}" for p in run_problems]
            else:
                survived += 1
            settle(ex, path)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return survived, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.powerloss", description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", nargs=2, metavar=("STORE", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    start = time.perf_counter()
    survived, problems = run(args.runs, seed=args.seed)
    for p in problems[:20]:
        print(p)
    print(f"power-loss runs survived: {survived} of {args.runs} "
          f"({time.perf_counter() - start:.0f} s)")
    return 0 if survived == args.runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
