"""Key holders' rights and the key file, as docs/space-link.md states them:
the range syntax, the defaults a file may leave out, and each rule a file
that breaks it is refused for, with the reason an operator reads."""

from __future__ import annotations

import json
import stat

import pytest

from fsw.protocol import Reason, SecurityError
from fsw.protocol.keyfile import (
    KeyFile,
    load_key_file,
    new_key_file,
    parse_key_document,
    simulator_key_file,
)
from fsw.protocol.rights import Quotas, Rights, format_ranges, parse_functions, parse_ranges
from fsw.protocol.sdls import SecurityAssociation
from fsw.protocol.store import ArsnStore

KEY = "11" * 32


def holder(name="uni-a", spi=10, **rights):
    """A key file entry with the documented example rights of a partner."""
    r = {"apids": ["0x100-0x10F"], "vcids": [1], "maps": [0], "farm_control": [1],
         "whole_schedule": False, "key_management": False}
    r.update(rights)
    return {"name": name, "spi": spi, "key": KEY, "rights": r}


def document(*holders, **top):
    return {"version": 2, "key_holders": list(holders) or [holder()], **top}


def refused(doc) -> str:
    with pytest.raises(SecurityError) as err:
        parse_key_document(doc)
    assert err.value.reason == Reason.KEY_FILE
    return str(err.value)


# --- ranges ------------------------------------------------------------------

def test_ranges_take_every_documented_form():
    assert parse_ranges("all", 0x7FE, "apids") is None
    assert parse_ranges([], 63, "maps") == frozenset()
    assert parse_ranges([5, [10, 12], "0x100-0x102", "0x7FE", " 20 - 21 "], 0x7FE, "x") == {
        5, 10, 11, 12, 0x100, 0x101, 0x102, 0x7FE, 20, 21}
    # the bounds are inclusive on both ends and at the top of the field
    assert parse_ranges([[0, 63]], 63, "maps") == frozenset(range(64))
    assert parse_ranges(["63"], 63, "maps") == {63}


@pytest.mark.parametrize("item, words", [
    (True, "True is not a number"),
    (64, "range 64 outside 0..63"),
    (-1, "range -1 outside 0..63"),
    ([9, 8], "range [9, 8] outside 0..63"),
    ([1, 2, 3], "cannot read [1, 2, 3]"),
    ([1, True], "cannot read [1, True]"),
    ("0x40", "range '0x40' outside 0..63"),
    ("ten", "cannot read 'ten'"),
    (1.0, "cannot read 1.0"),
])
def test_ranges_refuse_what_they_cannot_read(item, words):
    with pytest.raises(SecurityError) as err:
        parse_ranges([item], 63, "uni-a: maps")
    assert err.value.reason == Reason.KEY_FILE
    assert str(err.value) == f"key_file: uni-a: maps: {words}"


def test_ranges_other_than_all_must_be_lists():
    with pytest.raises(SecurityError, match=r"^key_file: vcids must be \"all\" or a list$"):
        parse_ranges("ALL", 63, "vcids")
    with pytest.raises(SecurityError, match="must be"):
        parse_ranges(3, 63, "vcids")


def test_ranges_are_written_back_as_the_file_writes_them():
    assert format_ranges(range(0x100, 0x110)) == ["0x100-0x10f"]
    assert format_ranges([0x12, 0x110, 0x10F, 0x7FE, 0x113]) == [
        "0x012", "0x10f-0x110", "0x113", "0x7fe"]
    assert format_ranges([]) == []
    for values in ([1], [1, 2], [1, 3], [0, 1, 2, 5, 6, 9]):
        assert parse_ranges(format_ranges(values), 0x7FE, "x") == set(values)


def test_single_functions_are_apid_and_function_pairs():
    assert parse_functions(["0x012:11", " 16 : 3 ", "0x7fe:255"], "f") == {
        (0x12, 11), (16, 3), (0x7FE, 255)}
    assert parse_functions([], "f") == frozenset()
    for bad in ("0x012", "0x012:ab", "x:1", 12):
        with pytest.raises(SecurityError) as err:
            parse_functions([bad], "uni-a: functions")
        assert str(err.value) == f'key_file: uni-a: functions: {bad!r} is not "APID:function"'
    with pytest.raises(SecurityError, match='uni-a: functions must be a list of "APID:function"'):
        parse_functions("0x012:11", "uni-a: functions")


# --- rights ------------------------------------------------------------------

def test_partner_rights_are_its_own_and_nothing_more():
    r = Rights.partner(range(0x100, 0x110), vcids=(1,), functions=[(0x012, 11)])
    assert r.may_command(0x100) and r.may_command(0x10F)
    assert not r.may_command(0x0FF) and not r.may_command(0x110)
    assert r.may_perform(0x105, 200)  # anything of its own APIDs
    assert r.may_perform(0x012, 11) and not r.may_perform(0x012, 12)
    assert not r.may_perform(0x013, 11)
    assert r.may_send_data(1, 0) and r.may_send_data(1, None)
    assert not r.may_send_data(1, 1) and not r.may_send_data(0, 0)
    assert r.may_control_farm(1) and not r.may_control_farm(0)
    assert r.may_use_vc(1) and not r.may_use_vc(0) and not r.may_use_vc(2)
    assert not r.whole_schedule and not r.key_management
    assert r.maps == {0} and r.quotas == Quotas()


def test_operator_rights_cover_everything_but_other_holders_data_vcs():
    r = Rights.operator(vcids=(0,))
    assert r.may_command(0) and r.may_command(0x7FE) and r.may_perform(0x123, 9)
    assert r.may_send_data(0, 63) and r.may_send_data(0, 5) and not r.may_send_data(1, 0)
    assert r.may_control_farm(0) and r.may_control_farm(63) and r.may_use_vc(5)
    assert r.whole_schedule and r.key_management
    assert r.quotas == Quotas(256, 1024, 100.0, 16384)


def test_the_key_management_map_needs_key_management():
    r = Rights(apids=None, vcids={3}, maps=None, farm_control=None)
    assert r.may_send_data(3, 62) and not r.may_send_data(3, 63)
    assert Rights(apids=None, vcids={3}, maps=None, key_management=True).may_send_data(3, 63)


def test_rights_written_as_the_key_file_states_them():
    r = Rights.partner([0x100, 0x101, 0x105], vcids=(2, 1), maps=(3, 0),
                       functions=[(0x12, 11), (0x10, 1)])
    assert r.to_document() == {
        "apids": ["0x100-0x101", "0x105"], "vcids": [1, 2], "maps": [0, 3],
        "farm_control": [1, 2], "whole_schedule": False, "key_management": False,
        "functions": ["0x010:1", "0x012:11"]}
    assert Rights.operator(vcids=(4, 0)).to_document() == {
        "apids": "all", "vcids": [0, 4], "maps": "all", "farm_control": "all",
        "whole_schedule": True, "key_management": True}


@pytest.mark.parametrize("kwargs, words", [
    ({"apids": {0x7FF}}, "apids must lie in 0..2046"),
    ({"apids": {-1}}, "apids must lie in 0..2046"),
    ({"maps": {64}}, "maps must lie in 0..63"),
    ({"farm_control": {64}}, "farm_control must lie in 0..63"),
    ({"vcids": {64}}, "vcids must lie in 0..63"),
    ({"vcids": {-1}}, "vcids must lie in 0..63"),
    ({"functions": {(0x7FF, 1)}}, "functions must be (APID 0..2046, function ID 0..255)"),
    ({"functions": {(1, 256)}}, "functions must be (APID 0..2046, function ID 0..255)"),
    ({"functions": {(-1, 0)}}, "functions must be (APID 0..2046, function ID 0..255)"),
    ({"functions": {(0, -1)}}, "functions must be (APID 0..2046, function ID 0..255)"),
])
def test_rights_outside_the_fields_are_refused(kwargs, words):
    args = {"apids": {1}, "vcids": {1}, **kwargs}
    with pytest.raises(SecurityError) as err:
        Rights(**args)
    assert err.value.reason == Reason.KEY_FILE and str(err.value) == f"key_file: {words}"


def test_rights_at_the_edges_of_the_fields_are_taken():
    r = Rights(apids={0, 0x7FE}, vcids={0, 63}, maps={0, 63}, farm_control={0, 63},
               functions={(0, 0), (0x7FE, 255)})
    assert r.apids == {0, 0x7FE} and r.vcids == {0, 63} and r.maps == {0, 63}
    assert isinstance(r.vcids, frozenset) and isinstance(r.apids, frozenset)
    assert isinstance(r.functions, frozenset) and isinstance(r.farm_control, frozenset)


# --- quotas ------------------------------------------------------------------

def test_quota_defaults_are_the_documented_ones():
    q = Quotas()
    assert (q.schedule_slots, q.event_table_entries, q.tcs_per_s, q.tm_bytes_per_cycle) == (
        32, 64, 20.0, 2048)


@pytest.mark.parametrize("kwargs, words", [
    ({"schedule_slots": -1}, "quota schedule_slots must be 0..1048576"),
    ({"schedule_slots": (1 << 20) + 1}, "quota schedule_slots must be 0..1048576"),
    ({"event_table_entries": True}, "quota event_table_entries must be 0..1048576"),
    ({"tm_bytes_per_cycle": 1.0}, "quota tm_bytes_per_cycle must be 0..1048576"),
    ({"tcs_per_s": 0}, "quota tcs_per_s must be in (0, 10000]"),
    ({"tcs_per_s": 10_000.5}, "quota tcs_per_s must be in (0, 10000]"),
])
def test_quotas_outside_their_bounds_are_refused(kwargs, words):
    with pytest.raises(SecurityError) as err:
        Quotas(**kwargs)
    assert err.value.reason == Reason.KEY_FILE and str(err.value) == f"key_file: {words}"


def test_quotas_at_their_bounds_are_taken():
    Quotas(schedule_slots=0, event_table_entries=1 << 20, tm_bytes_per_cycle=0,
           tcs_per_s=10_000)
    Quotas(tcs_per_s=0.001)


# --- the key file ------------------------------------------------------------

def test_a_file_that_leaves_out_the_optional_fields_gets_the_documented_defaults():
    keys = parse_key_document(document())
    assert keys.kek is None
    sa = keys.by_name("uni-a")
    # docs/space-link.md: arsn_len 4, mac_len 16, arsn_window 64, operational true,
    # quotas 32 / 64 / 20 / 2048, no single functions
    assert (sa.arsn_len, sa.mac_len, sa.arsn_window, sa.operational) == (4, 16, 64, True)
    assert sa.rights.quotas == Quotas(32, 64, 20, 2048)
    assert sa.rights.functions == frozenset()
    assert sa.overhead() == 2 + 4 + 16
    assert sa.arsn_max == 0xFFFFFFFF
    assert sa.key == bytes.fromhex(KEY)


def test_a_file_states_every_optional_field_and_it_is_read():
    e = holder(functions=["0x012:11"])
    e.update(arsn_len=6, mac_len=32, arsn_window=1 << 16, operational=False,
             quotas={"schedule_slots": 1, "event_table_entries": 2, "tcs_per_s": 3.5,
                     "tm_bytes_per_cycle": 4})
    keys = parse_key_document(document(e, kek="22" * 24))
    sa = keys.sas[0]
    assert (sa.arsn_len, sa.mac_len, sa.arsn_window, sa.operational) == (6, 32, 65536, False)
    assert sa.rights.quotas == Quotas(1, 2, 3.5, 4)
    assert sa.rights.functions == {(0x12, 11)}
    assert keys.kek == bytes.fromhex("22" * 24)


def test_the_saved_file_reads_back_the_same(tmp_path):
    kf = new_key_file([("operator", 1, Rights.operator(vcids=(0, 3))),
                       ("uni-a", 10, Rights.partner([0x100, 0x102], vcids=(1,),
                                                    functions=[(0x12, 11)],
                                                    quotas=Quotas(tcs_per_s=2.5)))])
    path = tmp_path / "k.json"
    kf.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().endswith("}\n")
    back = load_key_file(path)
    assert back.kek == kf.kek and len(kf.kek) == 32
    assert back.to_document() == kf.to_document()
    doc = json.loads(path.read_text())
    assert doc["version"] == 2 and doc["kek"] == kf.kek.hex()
    entry = doc["key_holders"][1]
    assert entry == {"name": "uni-a", "spi": 10, "key": kf.sas[1].key.hex(), "arsn_len": 4,
                     "mac_len": 16, "arsn_window": 64, "operational": True,
                     "rights": {"apids": ["0x100", "0x102"], "vcids": [1], "maps": [0],
                                "farm_control": [1], "whole_schedule": False,
                                "key_management": False, "functions": ["0x012:11"]},
                     "quotas": {"schedule_slots": 32, "event_table_entries": 64,
                                "tcs_per_s": 2.5, "tm_bytes_per_cycle": 2048}}
    assert "kek" not in new_key_file([("a", 1, Rights.operator())], kek=False).to_document()
    # saving over an older file replaces it entirely
    new_key_file([("b", 2, Rights.operator())], kek=False).save(path)
    assert [s.owner for s in load_key_file(path).sas] == ["b"]


def test_fresh_keys_are_32_random_octets_each():
    a = new_key_file([("x", 1, Rights.operator()), ("y", 2, Rights.partner([1], [1]))])
    b = new_key_file([("x", 1, Rights.operator()), ("y", 2, Rights.partner([1], [1]))])
    keys = [s.key for s in a.sas + b.sas] + [a.kek, b.kek]
    assert all(len(k) == 32 for k in keys) and len(set(keys)) == 6
    assert [(s.owner, s.spi) for s in a.sas] == [("x", 1), ("y", 2)]


def test_holders_are_found_by_name_and_spi():
    keys = simulator_key_file()
    assert keys.by_name("uni-b").spi == 11 and keys.by_spi(10).owner == "uni-a"
    assert keys.vcids == {0, 1, 2}
    with pytest.raises(KeyError) as err:
        keys.by_name("uni-c")
    assert err.value.args == ("uni-c",)
    with pytest.raises(KeyError) as err:
        keys.by_spi(12)
    assert err.value.args == (12,)
    assert keys.by_name("uni-a").rights.may_perform(0x012, 11)


def test_the_engine_holds_every_sa_and_the_kek(tmp_path):
    keys = simulator_key_file()
    engine = keys.engine(ArsnStore(tmp_path / "arsn.db"))
    assert sorted(engine.sas) == [1, 10, 11] and engine.kek == keys.kek
    assert engine.sas[10] is keys.by_name("uni-a")


@pytest.mark.parametrize("doc, words", [
    ([], "a key file is a JSON object"),
    ({"version": 1, "key_holders": [holder()]}, "key file version must be 2"),
    ({"key_holders": [holder()]}, "key file version must be 2"),
    (document(kek="22" * 20), "KEK must be an AES key"),
    ({"version": 2, "key_holders": []}, "key_holders must be a non-empty list"),
    ({"version": 2, "key_holders": {"a": 1}}, "key_holders must be a non-empty list"),
    ({"version": 2}, "malformed key file: KeyError('key_holders')"),
    (document(kek="zz"), "malformed key file: ValueError("),
    (document({**holder(), "name": ""}), "a key holder's name is 1..32 characters"),
    (document({**holder(), "name": "n" * 33}), "a key holder's name is 1..32 characters"),
    (document({**holder(), "name": 7}), "a key holder's name is 1..32 characters"),
    (document(holder(apids=None) | {"rights": {"vcids": [1]}}),
     "uni-a: rights must state apids, maps, farm_control, whole_schedule, key_management"),
    (document(holder(colour="red")), "uni-a: unknown right 'colour'"),
    (document(holder(whole_schedule=1)), "uni-a: whole_schedule must be true or false"),
    (document(holder(key_management="yes")), "uni-a: key_management must be true or false"),
    (document(holder(vcids="all")), "uni-a: list its data VCs explicitly"),
    (document(holder(apids=["0x7FF"])), "uni-a: apids: range '0x7FF' outside 0..2046"),
    (document(holder(maps=[64])), "uni-a: maps: range 64 outside 0..63"),
    (document(holder(farm_control=[64])), "uni-a: farm_control: range 64 outside 0..63"),
    (document(holder(vcids=[64])), "uni-a: vcids: range 64 outside 0..63"),
    (document(holder(functions="0x012:11")), "uni-a: functions must be a list"),
    (document({**holder(), "spi": True}), "uni-a: spi must be an integer"),
    (document({**holder(), "arsn_len": "4"}), "uni-a: arsn_len must be an integer"),
    (document({**holder(), "mac_len": 16.0}), "uni-a: mac_len must be an integer"),
    (document({**holder(), "arsn_window": False}), "uni-a: arsn_window must be an integer"),
    (document({**holder(), "arsn_window": 0}), "SA 10: ARSN window"),
    (document({**holder(), "arsn_window": 65537}), "SA 10: ARSN window"),
    (document({**holder(), "spi": 0}), "SPI 0 (0 and 0xFFFF are reserved)"),
    (document({**holder(), "spi": 0xFFFF}), "SPI 65535 (0 and 0xFFFF are reserved)"),
    (document({**holder(), "key": "11" * 15}), "SA 10: key shorter than 16 octets"),
    (document({**holder(), "quotas": {"schedule_slots": -1}}),
     "quota schedule_slots must be 0..1048576"),
    (document({**holder(), "quotas": {"colour": 1}}), "malformed key file: TypeError("),
    (document(holder(), holder(spi=11)), "key holder 'uni-a' listed twice"),
    (document(holder(), holder(name="uni-b", vcids=[2], farm_control=[2])),
     "SPI 10 listed twice"),
    (document(holder(), holder(name="uni-b", spi=11, vcids=[2, 1])),
     "VC 1 is a data VC of both uni-a and uni-b: each key holder sends data on its own VCs"),
    (document(holder(maps=[0, 63])),
     "uni-a: MAP 63 carries key management and needs key_management"),
    (document(holder(maps="all", farm_control="all", key_management=False)) | {"x": 1}, None),
])
def test_a_key_file_that_breaks_a_rule_is_refused_with_the_rule(doc, words):
    if words is None:  # unknown top-level members are not rules; "all" MAPs are allowed
        assert parse_key_document(doc).sas[0].rights.maps is None
        return
    text = refused(doc)
    assert words in text
    # a rule broken is named as that rule, word for word, not as a file the
    # parser choked on
    assert text.startswith("key_file: " + words)
    assert words.startswith("malformed") or "malformed" not in text


def test_a_key_holder_name_may_be_one_to_32_characters():
    """docs/space-link.md: a key holder's name is 1 to 32 characters."""
    for name in ("a", "n" * 32):
        assert parse_key_document(document({**holder(), "name": name})).sas[0].owner == name


def test_the_key_management_map_is_allowed_with_key_management():
    keys = parse_key_document(document(holder(maps=[0, 63], key_management=True)))
    assert keys.sas[0].rights.may_send_data(1, 63)


def test_key_file_load_errors_name_the_file_problem(tmp_path):
    with pytest.raises(SecurityError) as err:
        load_key_file(tmp_path / "missing.json")
    assert err.value.reason == Reason.KEY_FILE and "missing.json" in str(err.value)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SecurityError) as err:
        load_key_file(bad)
    assert err.value.reason == Reason.KEY_FILE and "Expecting property name" in str(err.value)


def test_a_key_file_object_checks_its_allocation_too():
    sa = SecurityAssociation(1, "a", bytes(32), Rights.operator())
    with pytest.raises(SecurityError, match="SPI 1 listed twice"):
        KeyFile([sa, SecurityAssociation(1, "b", bytes(32), Rights.partner([1], [1]))])
