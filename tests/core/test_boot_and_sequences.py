"""The boot record (reset cause across power loss and orderly shutdowns) and
command sequences declared by name in the flight configuration."""

from __future__ import annotations

import struct

import pytest

from fsw.apps.sample import SampleApp
from fsw.core import AppSpec, Executive, Store, VirtualClock
from fsw.core.app import COMMAND_HEADER
from fsw.core.boot import BootRecord, ResetCause, record_boot, record_shutdown
from fsw.core.message import cmd_msg_id
from fsw.core.sequence import SequenceError, Step, resolve, send


def test_boots_are_counted_and_their_cause_found(tmp_path):
    assert record_boot(None) == BootRecord(1, ResetCause.FIRST_BOOT)
    path = tmp_path / "store.db"
    store = Store(path)
    assert record_boot(store) == BootRecord(1, ResetCause.FIRST_BOOT)
    # no shutdown in between: the software stopped without being asked
    assert record_boot(store) == BootRecord(2, ResetCause.UNEXPECTED)
    record_shutdown(store)
    store.close()
    store = Store(path)  # the record is in the file, not in memory
    assert record_boot(store) == BootRecord(3, ResetCause.ORDERLY)
    assert record_boot(store).cause == ResetCause.UNEXPECTED
    # the count is a big-endian u32 in the store's "boot" namespace
    assert struct.unpack(">I", store.get("boot", "count")) == (4,)
    record_shutdown(None)  # without a store there is nothing to mark


def test_reset_cause_values_are_stable():
    # they travel in housekeeping: the numbers are part of the interface
    assert [c.value for c in ResetCause] == [0, 1, 2, 3]


@pytest.fixture
def apps():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    assert exe.boot() == []
    return exe


def test_a_sequence_resolves_to_the_commands_it_names(apps):
    steps = resolve([{"app": "sample", "command": "set_input", "args": {"value": 2.5}},
                     {"app": "sample", "command": "ENABLE_OUTPUT", "args": {"enabled": 0}}],
                    apps.apps, "mode.safe")
    sample = SampleApp.APID
    assert steps == [
        Step("sample", "set_input", cmd_msg_id(sample), 10, struct.pack(">f", 2.5)),
        Step("sample", "enable_output", cmd_msg_id(sample), 11, b"\x00"),
    ]
    assert steps[0].payload(77) == COMMAND_HEADER.pack(77, 10) + struct.pack(">f", 2.5)
    send(apps.bus, steps, 77)
    apps.step()
    app = apps.apps["sample"]
    assert app.latest_input == 2.5 and app.enabled is False and app.cmd_count == 2
    assert resolve([], apps.apps) == []


@pytest.mark.parametrize("entries, message", [
    ({"app": "sample"}, "fdir: must be a list of {app, command, args}"),
    (["sample"], r"fdir\[0\]: must be a table of app, command and args"),
    ([{"app": "sample", "command": "set_input", "extra": 1}],
     r"fdir\[0\]: must be a table of app, command and args"),
    ([{"app": "ghost", "command": "x"}], r"fdir\[0\]: no app 'ghost' \(apps: \['sample'\]\)"),
    ([{"app": "sample", "command": "explode"}],
     r"fdir\[0\]: app 'sample' has no command 'explode' with fixed arguments \(\[.*'set_input'"),
    ([{"app": "sample", "command": "set_input", "args": {"value": 1.0}},
      {"app": "sample", "command": "set_input", "args": {"value": 1.0, "gain": 2}}],
     r"fdir\[1\]: sample.set_input: unknown arguments \['gain'\]"),
    ([{"app": "sample", "command": "set_input", "args": {"value": 5e7}}],
     r"fdir\[0\]: sample.set_input: value=50000000.0 is above its maximum"),
    ([{"app": "sample", "command": "set_input"}], r"fdir\[0\]: sample.set_input: missing value"),
])
def test_a_wrong_sequence_is_refused_naming_the_step(apps, entries, message):
    with pytest.raises(SequenceError, match=message):
        resolve(entries, apps.apps, "fdir")


def test_a_step_to_an_app_that_is_not_running_is_named_and_the_rest_goes_out(apps):
    # the safing sequence's case: one app failed to boot, the others still get theirs
    missing: list[str] = []
    steps = resolve([{"app": "payload", "command": "power_off"},
                     {"app": "sample", "command": "enable_output", "args": {"enabled": 0}},
                     {"app": "heater", "command": "off"}], apps.apps, "mode.safe",
                    missing=missing)
    assert [(s.app, s.command) for s in steps] == [("sample", "enable_output")]
    assert missing == ["mode.safe[0]: payload.power_off", "mode.safe[2]: heater.off"]
    assert resolve([{"app": "sample", "command": "noop"}], apps.apps, missing=missing)
    assert len(missing) == 2  # a running app's step is no missing step
