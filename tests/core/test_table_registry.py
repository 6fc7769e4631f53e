"""Tables follow the cFE Table Services sequence: load into the inactive
buffer, validate as a whole, activate at the owner's safe point, roll back;
persisted so a power loss leaves the old or the new content, never a mix."""

from __future__ import annotations

import json
import zlib

import pytest

from fsw.core import Store
from fsw.core.tables import (
    MAX_TABLE_BYTES,
    TableError,
    TableRegistry,
    TableState,
    check_keys,
    check_number,
    encode_content,
)

GAINS = {"kp": 0.01, "kd": 0.2}


def validate_gains(content):
    problems: list[str] = []
    if check_keys(content, {"kp", "kd"}, {"kp", "kd"}, problems):
        check_number(content, "kp", 0.0, 1.0, problems)
        check_number(content, "kd", 0.0, 2.0, problems)
    return problems


def registry(store=None):
    seen = []
    reg = TableRegistry(store)
    table = reg.register("adcs_gains", "adcs", GAINS, validate_gains, seen.append)
    return reg, table, seen


def test_load_validate_activate_at_the_safe_point_and_roll_back():
    reg, table, seen = registry()
    assert (table.active, table.previous, table.state, seen) == (GAINS, None, TableState.EMPTY,
                                                                 [GAINS])
    new = {"kp": 0.02, "kd": 0.3}
    reg.load("adcs_gains", json.dumps(new).encode())
    assert table.state == TableState.LOADED and table.active == GAINS
    reg.validate("adcs_gains")
    assert table.state == TableState.VALIDATED
    reg.activate("adcs_gains")
    assert table.state == TableState.PENDING and table.active == GAINS  # not yet
    assert reg.pending_owners == {"adcs"}
    assert reg.apply_pending("eps") == [] and table.active == GAINS  # another owner's
    assert reg.apply_pending("adcs") == ["adcs_gains"]
    assert (table.active, table.previous, table.state) == (new, GAINS, TableState.EMPTY)
    assert seen == [GAINS, new] and table.activations == 1 and not reg.pending_owners
    assert reg.apply_pending("adcs") == []
    reg.rollback("adcs_gains")
    assert table.state == TableState.PENDING
    reg.apply_pending("adcs")
    assert (table.active, table.previous, table.activations) == (GAINS, new, 2)
    assert table.crc32 == zlib.crc32(b'{"kd":0.2,"kp":0.01}')


def test_a_table_with_problems_is_refused_naming_each():
    reg, table, _ = registry()
    reg.load("adcs_gains", b'{"kp": 5, "kd": true, "ki": 1}')
    with pytest.raises(TableError) as info:
        reg.validate("adcs_gains")
    text = str(info.value)
    assert text == ("table 'adcs_gains' refused: ki is not a known key; "
                    "kp=5 outside [0, 1]; kd must be a number")
    assert table.state == TableState.REFUSED and reg.refused == 1 and len(table.problems) == 3
    with pytest.raises(TableError, match="is REFUSED, not VALIDATED"):
        reg.activate("adcs_gains")
    # a refused buffer may be validated again once its owner's rules allow it
    reg.load("adcs_gains", b'[1, 2]')
    with pytest.raises(TableError, match="table must be an object"):
        reg.validate("adcs_gains")
    reg.load("adcs_gains", b'{"kp": 0.5}')
    with pytest.raises(TableError, match="kd is missing"):
        reg.validate("adcs_gains")
    assert table.active == GAINS and reg.refused == 3


def test_validation_that_raises_is_a_refusal_not_a_crash():
    reg = TableRegistry()
    reg.register("t", "app", {"x": 1}, lambda c: [] if c["x"] else ["x is 0"], lambda c: None)
    reg.load("t", b'{"y": 1}')
    with pytest.raises(TableError, match="refused: malformed: 'x'"):
        reg.validate("t")


@pytest.mark.parametrize("raw, message", [
    (b"\xff\xfe", "not JSON"),
    (b"{kp: 1}", "not JSON"),
    (b" " * (MAX_TABLE_BYTES + 1), f"{MAX_TABLE_BYTES + 1} bytes, at most {MAX_TABLE_BYTES}"),
])
def test_loads_that_are_not_a_table_are_refused(raw, message):
    reg, table, _ = registry()
    with pytest.raises(TableError, match=message):
        reg.load("adcs_gains", raw)
    assert table.state == TableState.EMPTY


def test_a_load_of_exactly_the_limit_is_taken():
    reg, table, _ = registry()
    raw = json.dumps({"kp": 0.5, "kd": 0.5}).encode()
    reg.load("adcs_gains", raw + b" " * (MAX_TABLE_BYTES - len(raw)))
    assert table.state == TableState.LOADED


def test_steps_out_of_order_are_refused():
    reg, _, _ = registry()
    with pytest.raises(TableError, match="nothing loaded to validate"):
        reg.validate("adcs_gains")
    with pytest.raises(TableError, match="is EMPTY, not VALIDATED"):
        reg.activate("adcs_gains")
    with pytest.raises(TableError, match="has no previous content"):
        reg.rollback("adcs_gains")
    reg.load("adcs_gains", b'{"kp": 0.1, "kd": 0.1}')
    reg.validate("adcs_gains")
    reg.validate("adcs_gains")  # validating twice is harmless
    reg.activate("adcs_gains")
    with pytest.raises(TableError, match="has an activation pending"):
        reg.load("adcs_gains", b"{}")
    reg.apply_pending("adcs")
    reg.load("adcs_gains", b'{"kp": 0.2, "kd": 0.2}')
    reg.validate("adcs_gains")
    reg.activate("adcs_gains")
    with pytest.raises(TableError, match="has an activation pending"):
        reg.rollback("adcs_gains")
    with pytest.raises(TableError, match="no table named 'ghost'"):
        reg.get("ghost")


def test_registration_rules():
    reg, _, _ = registry()
    with pytest.raises(TableError, match="already registered by adcs"):
        reg.register("adcs_gains", "eps", GAINS, validate_gains, lambda c: None)
    for name in ("", "x" * 17):
        with pytest.raises(TableError, match="must be 1-16 bytes"):
            reg.register(name, "eps", GAINS, validate_gains, lambda c: None)
    reg.register("x" * 16, "eps", GAINS, validate_gains, lambda c: None)
    with pytest.raises(TableError, match="default content is invalid: kp is missing"):
        reg.register("other", "eps", {"kd": 1}, validate_gains, lambda c: None)


def test_active_and_previous_content_survive_a_reboot(tmp_path):
    store = Store(tmp_path / "store.db")
    reg, _, _ = registry(store)
    new = {"kp": 0.03, "kd": 0.4}
    reg.load("adcs_gains", json.dumps(new).encode())
    reg.validate("adcs_gains")
    reg.activate("adcs_gains")
    reg.apply_pending("adcs")
    assert store.get("tables", "adcs_gains.active") == encode_content(new)
    assert encode_content(new) == b'{"kd":0.4,"kp":0.03}'  # compact JSON, keys sorted
    store.close()
    _, table2, seen2 = registry(Store(tmp_path / "store.db"))
    assert (table2.active, table2.previous, seen2) == (new, GAINS, [new])
    # stored content the owner now refuses falls back to the default
    store3 = Store(tmp_path / "other.db")
    store3.put("tables", "adcs_gains.active", b'{"kp": 9, "kd": 0}')
    _, table3, _ = registry(store3)
    assert (table3.active, table3.previous) == (GAINS, None)


def test_check_number_bounds_are_inclusive():
    problems: list[str] = []
    for v in (0.0, 1.0, 0, 1):
        check_number({"k": v}, "k", 0.0, 1.0, problems)
    assert problems == []
    check_number({"k": 1.5}, "k", 0.0, 1.0, problems, where="gains.")
    check_number({"k": -0.1}, "k", 0.0, 1.0, problems)
    check_number({"k": "1"}, "k", 0.0, 1.0, problems)
    check_number([1], "k", 0.0, 1.0, problems)
    assert problems == ["gains.k=1.5 outside [0, 1]", "k=-0.1 outside [0, 1]",
                        "k must be a number", "k must be a number"]
    keys: list[str] = []
    assert check_keys({"a": 1, "z": 2}, {"a"}, {"a", "b"}, keys, where="m.") is True
    assert keys == ["m.z is not a known key", "m.b is missing"]
    assert check_keys(3, {"a"}, set(), keys, where="m") is False
    assert keys[-1] == "m must be an object"


def test_an_app_takes_its_activated_table_between_two_cycles():
    from fsw.core import App, AppSpec, Executive, VirtualClock

    class Tuned(App):
        NAME, APID = "tuned", 0x0F5

        def init(self):
            self.gains_seen = []
            self.register_table("tuned_gains", GAINS, validate_gains, self.gains_seen.append)

        def execute(self):
            self.gains_seen.append("cycle")

    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("tuned", Tuned, 10.0))
    assert exe.boot() == []
    app, reg = exe.apps["tuned"], exe.context.tables
    assert reg.get("tuned_gains").owner == "tuned" and app.gains_seen == [GAINS]
    new = {"kp": 0.5, "kd": 0.5}
    reg.load("tuned_gains", json.dumps(new).encode())
    reg.validate("tuned_gains")
    reg.activate("tuned_gains")
    exe.step()
    exe.step()
    assert app.gains_seen == [GAINS, new, "cycle", "cycle"]  # before the cycle, not inside
    reg.rollback("tuned_gains")
    assert reg.pending_owners == {"tuned"}
    exe.step()
    assert app.gains_seen[-2:] == [GAINS, "cycle"]


def test_only_the_owners_tables_are_applied_at_its_safe_point():
    reg = TableRegistry()
    other = reg.register("eps_order", "eps", {"kp": 0.1, "kd": 0.1}, validate_gains,
                         lambda c: None)
    mine = reg.register("adcs_gains", "adcs", GAINS, validate_gains, lambda c: None)
    for name in ("eps_order", "adcs_gains"):
        reg.load(name, b'{"kp": 0.9, "kd": 0.9}')
        reg.validate(name)
        reg.activate(name)
    assert reg.apply_pending("adcs") == ["adcs_gains"]
    assert mine.active == {"kp": 0.9, "kd": 0.9} and other.state == TableState.PENDING
    assert reg.apply_pending("eps") == ["eps_order"]


def test_a_new_load_clears_the_last_refusals():
    reg, table, _ = registry()
    reg.load("adcs_gains", b'{"kp": 7, "kd": 9}')
    with pytest.raises(TableError, match=r"refused: kp=7 outside \[0, 1\]; kd=9 outside \[0, 2\]$"):
        reg.validate("adcs_gains")
    reg.load("adcs_gains", b'{"kp": 0.1, "kd": 0.1}')
    assert table.problems == [] and table.state == TableState.LOADED


def test_stored_active_content_without_a_previous_one(tmp_path):
    store = Store(tmp_path / "s.db")
    store.put("tables", "adcs_gains.active", b'{"kp": 0.3, "kd": 0.3}')
    _, table, _ = registry(store)
    assert (table.active, table.previous) == ({"kp": 0.3, "kd": 0.3}, None)


def test_a_default_with_two_problems_names_both():
    reg = TableRegistry()
    with pytest.raises(TableError, match=r"default content is invalid: kd is missing; kp is "
                                         r"missing; kp must be a number; kd must be a number$"):
        reg.register("g", "adcs", {}, validate_gains, lambda c: None)
