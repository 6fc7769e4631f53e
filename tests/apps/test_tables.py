"""Tables: load into the inactive buffer, validate whole, activate at the owner's
safe point, roll back; refused tables change nothing; everything survives a reboot."""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.apps.eps import EpsApp
from fsw.apps.tables import TABLE_REPORT, TablesApp, encode_load
from fsw.core import (
    COMMAND_RESULT_MSG,
    EVENT_MSG,
    AppSpec,
    Event,
    Executive,
    Store,
    VirtualClock,
    cmd_msg_id,
    encode_command,
)
from fsw.core.tables import TableError, TableRegistry, TableState
from hal.devices.p31u import P31u
from hal.sim import SimI2C
from hal.sim.p31u import P31uEmulator

CHANNELS = {"payload": 0, "radio": 1, "wheels": 2}
DEFAULT = {"order": [{"channel": "payload", "off_below_pct": 30.0, "on_above_pct": 50.0}]}
NEW = {"order": [{"channel": "payload", "off_below_pct": 40.0, "on_above_pct": 60.0},
                 {"channel": "wheels", "off_below_pct": 10.0, "on_above_pct": 20.0}]}


def boot(store_path) -> tuple[Executive, object, object]:
    i2c = SimI2C("i2c0")
    i2c.attach(0x02, P31uEmulator(soc=0.8))
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,), store=Store(store_path),
                    devices={"eps": P31u(i2c)})
    exe.add_app(AppSpec("tables", TablesApp, 1.0))
    exe.add_app(AppSpec("eps", EpsApp, 1.0, {"channels": CHANNELS, "shedding": DEFAULT}))
    assert exe.boot() == []
    results = exe.bus.create_pipe("test.results", 64)
    exe.bus.subscribe(results, COMMAND_RESULT_MSG.msg_id)
    events = exe.bus.create_pipe("test.events", 64)
    exe.bus.subscribe(events, EVENT_MSG.msg_id)
    return exe, results, events


def command(exe: Executive, code: int, body: bytes, rid: int) -> None:
    spec = TablesApp.COMMANDS[code]
    payload = encode_command(rid, code) + body
    assert spec.code == code
    exe.bus.publish(cmd_msg_id(TablesApp.APID), payload)
    exe.step()


def name(table: str = "eps_shedding") -> bytes:
    return table.encode().ljust(16, b"\0")


def completed(results, rid: int) -> bool:
    for _, p in results.drain():
        r = COMMAND_RESULT_MSG.unpack(p)
        if r["request_id"] == rid and r["stage"] == 7:
            return r["ok"]
    raise AssertionError(f"no completion for request {rid}")


def texts(events) -> list[str]:
    return [Event.decode(p).text for _, p in events.drain()]


def test_bad_table_is_refused_with_every_problem_and_changes_nothing(tmp_path):
    exe, results, events = boot(tmp_path / "store.db")
    eps = exe.apps["eps"]
    before = exe.context.tables.get("eps_shedding").crc32
    bad = {"order": [{"channel": "heater", "off_below_pct": 40.0, "on_above_pct": 60.0},
                     {"channel": "payload", "off_below_pct": 50.0, "on_above_pct": 45.0}]}
    command(exe, 10, encode_load("eps_shedding", bad), 1)
    assert completed(results, 1)
    command(exe, 11, name(), 2)
    assert not completed(results, 2)
    refused = [t for t in texts(events) if t.startswith("table eps_shedding refused: ")]
    assert len(refused) == 3
    assert "order[0].channel 'heater' is not one of" in refused[0]
    assert "order[1].on_above_pct must exceed off_below_pct" in refused[1]
    assert "order[1].sheds above an earlier entry" in refused[2]
    command(exe, 12, name(), 3)  # activating a refused table is refused too
    assert not completed(results, 3)
    exe.step()
    assert exe.context.tables.get("eps_shedding").crc32 == before
    assert eps.order == DEFAULT["order"]


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[1, 2]", b"{}", b"null"])
def test_malformed_content_never_validates(tmp_path, raw):
    exe, results, _ = boot(tmp_path / "store.db")
    command(exe, 10, name() + raw, 1)
    if completed(results, 1):
        command(exe, 11, name(), 2)
        assert not completed(results, 2)
    assert exe.apps["eps"].order == DEFAULT["order"]


def test_load_validate_activate_rollback_and_persist(tmp_path):
    exe, results, events = boot(tmp_path / "store.db")
    eps = exe.apps["eps"]
    for code, body, rid in ((10, encode_load("eps_shedding", NEW), 1), (11, name(), 2),
                            (12, name(), 3)):
        command(exe, code, body, rid)
        assert completed(results, rid)
    exe.step()
    assert eps.order == NEW["order"]
    crc = zlib.crc32(json.dumps(NEW, sort_keys=True, separators=(",", ":")).encode())
    for _ in range(3):
        exe.step()
    # reported once, when the owner took it, not again every cycle
    assert texts(events).count(f"table eps_shedding active in eps: crc {crc:08x}") == 1
    reports = exe.bus.create_pipe("test.reports", 4)
    exe.bus.subscribe(reports, TABLE_REPORT.msg_id)
    command(exe, 14, name(), 4)
    report = TABLE_REPORT.unpack(reports.drain()[0][1])
    assert report["active_crc32"] == crc and report["has_previous"]

    # Power cycle: the new table is what boots, and the old one is still there to go back to.
    exe2, results2, _ = boot(tmp_path / "store.db")
    assert exe2.apps["eps"].order == NEW["order"]
    command(exe2, 13, name(), 5)
    assert completed(results2, 5)
    exe2.step()
    assert exe2.apps["eps"].order == DEFAULT["order"]
    exe3, _, _ = boot(tmp_path / "store.db")
    assert exe3.apps["eps"].order == DEFAULT["order"]


def test_activation_waits_for_the_owners_safe_point():
    taken = []
    registry = TableRegistry()
    registry.register("gains", "adcs", {"k": 1}, lambda c: [] if c.get("k", 0) > 0 else ["k"],
                      taken.append)
    registry.load("gains", b'{"k": 2}')
    registry.validate("gains")
    registry.activate("gains")
    assert taken == [{"k": 1}] and registry.get("gains").active == {"k": 1}
    with pytest.raises(TableError, match="pending"):
        registry.load("gains", b'{"k": 3}')
    assert registry.apply_pending("other") == []
    assert registry.apply_pending("adcs") == ["gains"]
    assert taken == [{"k": 1}, {"k": 2}]


def test_unknown_table_and_wrong_order_are_refused(tmp_path):
    exe, results, _ = boot(tmp_path / "store.db")
    command(exe, 11, name("no_such_table"), 1)
    assert not completed(results, 1)
    command(exe, 12, name(), 2)  # nothing validated
    assert not completed(results, 2)
    command(exe, 10, name() + b" " * 980, 3)  # beyond MAX_TABLE_BYTES
    assert not completed(results, 3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["load_good", "load_bad", "validate", "activate",
                                           "rollback", "safe_point"]),
                          st.integers(1, 9)), max_size=25))
def test_registry_matches_a_model_of_the_sequence(ops):
    """Whatever the ground sends in whatever order, the owner only ever holds content
    that validated, and only changes it at its safe point."""
    taken = []
    registry = TableRegistry()
    registry.register("t", "owner", {"k": 1}, lambda c: [] if c.get("k", 0) > 0 else ["bad"],
                      taken.append)
    active, previous, inactive, state = {"k": 1}, None, None, "empty"
    pending = None
    for op, k in ops:
        try:
            if op == "load_good":
                registry.load("t", json.dumps({"k": k}).encode())
            elif op == "load_bad":
                registry.load("t", json.dumps({"k": -k}).encode())
            elif op == "validate":
                registry.validate("t")
            elif op == "activate":
                registry.activate("t")
            elif op == "rollback":
                registry.rollback("t")
            else:
                registry.apply_pending("owner")
            ok = True
        except TableError:
            ok = False
        # the model
        if op.startswith("load"):
            assert ok == (state != "pending")
            if ok:
                inactive, state = {"k": k if op == "load_good" else -k}, "loaded"
        elif op == "validate":
            assert ok == (state in ("loaded", "validated", "refused") and inactive["k"] > 0)
            if state in ("loaded", "validated", "refused"):
                state = "validated" if inactive["k"] > 0 else "refused"
        elif op == "activate":
            assert ok == (state == "validated")
            if ok:
                pending, state = inactive, "pending"
        elif op == "rollback":
            assert ok == (previous is not None and state != "pending")
            if ok:
                pending, state = previous, "pending"
        elif state == "pending":
            previous, active, pending, state = active, pending, None, "empty"
        table = registry.get("t")
        assert table.active == active and taken[-1] == active
        assert (table.state == TableState.PENDING) == (state == "pending")
        assert all(c["k"] > 0 for c in taken)


def test_refusals_say_why_and_a_name_alone_is_no_load(tmp_path):
    # the module's command table: LOAD is a 16-byte NUL-padded name, then the
    # JSON content; a table name reads back without its padding
    exe, results, events = boot(tmp_path / "store.db")
    texts(events)
    command(exe, 11, name("no_such_table"), 1)
    assert not completed(results, 1)
    refusal = texts(events)[-1]
    assert "no_such_table" in refusal and "\\x00" not in refusal and "None" not in refusal
    command(exe, 12, name("RADIO_X"), 3)  # only the NUL padding is taken off
    assert texts(events)[-1].endswith("no table named 'RADIO_X'")
    command(exe, 12, b"\xffbad" + bytes(12), 4)  # not UTF-8: shown, not a crash
    assert texts(events)[-1].endswith("no table named '\ufffdbad'")
    results.drain()
    command(exe, 10, name(), 2)  # 16 bytes: a name and no content
    [r] = [COMMAND_RESULT_MSG.unpack(p) for _, p in results.drain()]
    assert (r["request_id"], r["stage"], r["ok"]) == (2, 1, False)  # refused at acceptance
    assert texts(events)[-1].endswith("LOAD needs a 16-byte name and content")


def test_housekeeping_counters_saturate_at_their_16_bit_limit(tmp_path):
    # the housekeeping fields are 16-bit unsigned (their declaration in the
    # dictionary): a count past 65535 is reported as 65535, not a failed report
    exe, _, _ = boot(tmp_path / "store.db")
    tables = exe.apps["tables"]
    hk = tables.housekeeping_values()
    assert hk["loads"] == 0  # none since boot
    tables.registry.refused = 70_000
    tables.loads = 70_000
    table = next(iter(tables.registry.tables.values()))
    table.activations = 70_000
    hk = tables.housekeeping_values()
    assert (hk["refused"], hk["loads"], hk["activations"]) == (65535, 65535, 65535)
    pipe = exe.bus.create_pipe("test.hk", 4)
    exe.bus.subscribe(pipe, tables.HK.msg_id)
    tables.report_housekeeping()
    [(_mid, raw)] = pipe.drain()
    assert tables.HK.unpack(raw)["refused"] == 65535
