"""Manifests and allocations: what is accepted, and one clear error for everything else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.core.message import cmd_msg_id, tm_msg_id
from fsw.payload.manifest import (
    ManifestError,
    check_allocation,
    load_allocations,
    parse_allocations,
    parse_manifest,
)
from ground.payload import MANIFEST_TEMPLATE, OPERATOR_ALLOCATIONS


def template(**kw) -> str:
    values = {"name": "hello", "partner": "uni-a", "cls": "HelloApp", "apid": 0x100,
              "tm_apid": 0x101, **kw}
    return MANIFEST_TEMPLATE.format(**values)


def test_the_template_manifest_parses_and_fits_uni_a():
    m = parse_manifest(template())
    assert (m.name, m.partner, m.version, m.apid, m.rate_hz) == ("hello", "uni-a", 1, 0x100, 1)
    assert m.command_id == cmd_msg_id(0x100) and m.hk_id == tm_msg_id(0x100)
    assert m.publish_ids == {tm_msg_id(0x101)}
    assert [f.name for f in m.telemetry[0].fields] == ["count", "reading", "gain"]
    assert m.commands[0].code == 10 and m.commands[0].args[0].high == 10
    assert check_allocation(m, load_allocations(OPERATOR_ALLOCATIONS).partners) == []


def test_operator_allocations_match_the_key_file_ranges():
    alloc = load_allocations(OPERATOR_ALLOCATIONS)
    assert (alloc["uni-a"].apid_low, alloc["uni-a"].apid_high) == (0x100, 0x10F)
    assert (alloc["uni-b"].apid_low, alloc["uni-b"].apid_high) == (0x110, 0x11F)


@pytest.mark.parametrize("change, error", [
    (lambda t: t.replace('name = "hello"', 'name = "Hello World"'), "app.name"),
    (lambda t: t.replace("version = 1", "version = 0"), "app.version"),
    (lambda t: t.replace("version = 1", 'version = "1"'), "app.version has the wrong type"),
    (lambda t: t.replace('entry = "hello.app:HelloApp"', 'entry = "x"'), "app.entry"),
    (lambda t: t.replace("rate_hz = 1", "rate_hz = 3"), "app.rate_hz"),
    (lambda t: t.replace("cpu_percent = 10", "cpu_percent = 500"), "resources.cpu_percent"),
    (lambda t: t.replace("code = 10", "code = 2"), "commands[0].code"),
    (lambda t: t.replace('type = "I"', 'type = "x"'), "telemetry[0].fields[0].type"),
    (lambda t: t.replace("apid = 0x101", "apid = 0x100"), "the app's own"),
    (lambda t: t + "\n[extra]\n", "unknown tables"),
    (lambda t: t.replace("[app]", "[app"), "not valid TOML"),
])
def test_bad_manifests_name_the_key(change, error):
    with pytest.raises(ManifestError, match=error.replace("[", r"\[").replace("]", r"\]")):
        parse_manifest(change(template()))


def test_allocations_refuse_overlapping_ranges():
    with pytest.raises(ManifestError, match="share APIDs"):
        parse_allocations({"partners": {"a": {"apids": [0x100, 0x110]},
                                        "b": {"apids": [0x110, 0x11F]}}})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_a_manifest_or_one_error(text):
    try:
        parse_manifest(text)
    except ManifestError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_a_manifest_or_one_error(raw):
    try:
        parse_manifest(raw)
    except ManifestError:
        pass


def test_allocations_agree_with_the_key_files_command_rights(tmp_path):
    from fsw.protocol.keyfile import simulator_key_file
    simulator_key_file(tmp_path / "keys.json")
    alloc = load_allocations(OPERATOR_ALLOCATIONS)
    alloc.attach_key_file(tmp_path / "keys.json")
    for partner in ("uni-a", "uni-b"):
        a = alloc[partner]
        assert all(alloc.command_rights[partner](apid)
                   for apid in range(a.apid_low, a.apid_high + 1))
    assert check_allocation(parse_manifest(template()), alloc) == []


def test_an_apid_the_partners_key_may_not_command_is_refused(tmp_path):
    from fsw.protocol.keyfile import simulator_key_file
    simulator_key_file(tmp_path / "keys.json")
    generous = load_allocations(OPERATOR_ALLOCATIONS)
    alloc = parse_allocations({"partners": {"uni-a": {
        "apids": [0x100, 0x11F], "topics": ["ExecutiveHousekeeping"],
        "resources": vars(generous["uni-a"].resources)}}})
    m = parse_manifest(template(apid=0x115, tm_apid=0x116))
    assert check_allocation(m, alloc) == []  # the allocation alone would let it through
    alloc.attach_key_file(tmp_path / "keys.json")
    assert check_allocation(m, alloc) == [
        "APID 0x115 is not one uni-a may command (key file)"]


def test_the_dictionary_sees_a_partner_app_as_the_bus_sees_it(tmp_path):
    from fsw.core.app import STANDARD_HK_FIELDS
    from fsw.payload.sdk import HK_LAYOUT
    from ground.payload import create_project, dictionary_app
    project = create_project(tmp_path / "hello", "hello")
    m = parse_manifest((project / "manifest.toml").read_text())
    cls = dictionary_app(m)
    assert (cls.NAME, cls.APID) == ("hello", 0x100)
    assert cls.HK.msg_id == m.hk_id and cls.HK.fields == STANDARD_HK_FIELDS
    assert cls.HK.size == HK_LAYOUT.size  # what the SDK publishes as housekeeping
    assert [t.msg_id for t in cls.TELEMETRY] == [tm_msg_id(0x101)]
    spec = cls.COMMANDS[10]
    assert spec.name == "SET_GAIN" and spec.args.fields == m.commands[0].args
    assert {0, 1, 2, 3, 10} == set(cls.COMMANDS)  # the standard commands the SDK answers


KEYS = ["app", "name", "partner", "version", "entry", "apid", "rate_hz", "devices",
        "subscribe", "resources", "cpu_percent", "memory_mib", "telemetry", "fields", "type",
        "commands", "code", "args", "parameters", "default", "low", "high", "unit"]
scalars = st.one_of(st.integers(-5, 0x900), st.floats(allow_nan=False, allow_infinity=False),
                    st.booleans(), st.sampled_from(["hello", "uni-a", "f", "I", "x:Y", "A"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
    max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_any_structured_document_is_a_manifest_or_one_error(doc):
    from ground.payload import _toml
    text = "\n".join(f"{k} = {_toml(v)}" for k, v in doc.items())
    try:
        parse_manifest(text)
    except ManifestError:
        pass
