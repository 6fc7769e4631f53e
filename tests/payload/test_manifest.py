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
