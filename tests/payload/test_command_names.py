"""The names the payload host's commands carry: app names and bundle file names.

The host's commands name an app (16 octets, NUL padded) or a bundle file in
incoming/ (48 octets). Any octets can arrive in those fields: an operator's typo,
a file transfer of a file named by a partner. A name is the octets before the NUL
padding, whatever they end with; octets that are no ASCII are shown as U+FFFD in
the refusal, which names what was asked (BAD_ARGUMENT, COMMAND_FAILED, low
severity). A bundle that arrives without its manifest is refused like any other
broken bundle: an event saying why, an audit record, the refusals counter.
"""

from __future__ import annotations

import json
import sys

import pytest

from fsw.core import Severity
from fsw.payload.bundle import METADATA, SIGNATURES, read_archive, write_bundle
from ground.payload import PartnerSim
from tests.payload.kit import audit_records, make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")


def _failures(sim: PartnerSim) -> list[tuple[Severity, str]]:
    return [(e.severity, e.text) for e in sim.events_of()
            if e.apid == 0x015 and " failed: " in e.text]


def test_names_that_are_no_ascii_are_refused_naming_what_was_asked(tmp_path):
    with PartnerSim(make_project(tmp_path, "hello")) as sim:
        started = sim.host_command(12, b"h\xe9llo".ljust(16, b"\0"))  # START "héllo" (Latin-1)
        installed = sim.host_command(10, b"caf\xc3.bundle".ljust(48, b"\0"))  # INSTALL
        failures = _failures(sim)
        running = "hello" in sim.host.running
    assert not started and not installed
    assert failures == [
        (Severity.LOW, "START_APP failed: no app 'h\ufffdllo' is installed"),
        (Severity.LOW, "INSTALL failed: no bundle 'caf\ufffd.bundle' in incoming/"),
    ]
    assert running  # the host goes on


def test_a_bundle_file_name_is_taken_whole_whatever_it_ends_with(tmp_path):
    # a partner names its build "...-FIX": every octet before the padding is the name
    with PartnerSim(make_project(tmp_path, "hello")) as sim:
        incoming = sim.workdir / "payload" / "incoming"
        name = sim.upload(make_project(tmp_path, "hello", version=2))
        (incoming / name).rename(incoming / "hello-2-FIX")
        installed = sim.install("hello-2-FIX")
        versions = sim.host.registry["apps"]["hello"]["versions"]
        failures = _failures(sim)
    assert installed, failures
    assert versions == [1, 2]


def test_a_bundle_without_its_manifest_is_refused_and_recorded(tmp_path):
    with PartnerSim(make_project(tmp_path, "hello")) as sim:
        incoming = sim.workdir / "payload" / "incoming"
        name = sim.upload(make_project(tmp_path, "hello", version=2))
        files = read_archive((incoming / name).read_bytes())
        del files["manifest.toml"]  # lost on the way, or taken out by someone
        meta, sigs = files.pop(METADATA), json.loads(files.pop(SIGNATURES))
        (incoming / name).write_bytes(write_bundle(files, meta, sigs))
        installed = sim.install(name)
        texts = [e.text for e in sim.events_of() if e.apid == 0x015]
        refused = sim.host.housekeeping_values()["refused"]
        sim.executive.run(60.0, until=lambda: (sim.workdir / "audit.log").exists() and any(
            r.action == "refuse" for r in audit_records(sim)))
        records = audit_records(sim)
    assert not installed
    # docs/payload.md: tampered, a file missing from what the signed metadata lists
    said = [t for t in texts if t.startswith(f"bundle {name} refused: ")]
    assert len(said) == 1, texts
    assert said[0].startswith(f"bundle {name} refused: tampered: manifest.toml ")
    assert said[0].endswith(" missing")
    assert refused == 1
    assert [(r.actor, r.app) for r in records if r.action == "refuse"] == [
        ("operator", name[:16])]
