"""Apps: command checking and verification, parameters, housekeeping."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.apps.sample import SampleApp
from fsw.apps.sample.app import SAMPLE_OUTPUT
from fsw.core import (
    PARAMETER_REPORT_MSG,
    AppSpec,
    ConfigError,
    Executive,
    Reason,
    Stage,
    VirtualClock,
    cmd_msg_id,
    encode_command,
)

CMD = cmd_msg_id(SampleApp.APID)


def boot_sample(executive, config=None):
    executive.add_app(AppSpec("sample", SampleApp, 10.0, config or {}))
    assert executive.boot() == []
    return executive.apps["sample"]


def send(executive, request_id, code, **args):
    spec = SampleApp.COMMANDS[code]
    executive.bus.publish(CMD, encode_command(request_id, code, spec.args, **args))
    executive.step()


def test_command_is_accepted_executed_and_completed(executive, results):
    app = boot_sample(executive)
    send(executive, 42, 10, value=3.0)
    assert app.latest_input == 3.0
    reports = results()
    assert [(r["request_id"], r["stage"], r["ok"]) for r in reports] == [
        (42, Stage.ACCEPTANCE, True), (42, Stage.COMPLETION, True)]
    assert app.cmd_count == 1


def test_out_of_range_argument_is_rejected_with_reason(executive, results):
    app = boot_sample(executive)
    executive.bus.publish(CMD, struct.pack(">IBf", 7, 10, 5e7))
    executive.step()
    [report] = results()
    assert (report["stage"], report["ok"], report["reason"]) == (
        Stage.ACCEPTANCE, False, Reason.BAD_ARGUMENT)
    assert app.latest_input == 0.0 and app.cmd_error_count == 1
    assert "above its maximum" in executive.events.recent[-1].text


@pytest.mark.parametrize("payload,reason", [
    (struct.pack(">IB", 1, 99), Reason.UNKNOWN_FUNCTION),
    (struct.pack(">IB", 1, 10) + b"\x00", Reason.BAD_LENGTH),
    (struct.pack(">IBf", 1, 10, float("nan")), Reason.BAD_ARGUMENT),
])
def test_malformed_commands_fail_acceptance(executive, results, payload, reason):
    boot_sample(executive)
    executive.bus.publish(CMD, payload)
    executive.step()
    [report] = results()
    assert report["ok"] is False and report["reason"] == reason


def test_handler_failure_reports_completion_failure(executive, results):
    boot_sample(executive)
    send(executive, 5, 11, enabled=1)  # already enabled
    reports = results()
    assert [(r["stage"], r["ok"], r["reason"]) for r in reports] == [
        (Stage.ACCEPTANCE, True, 0), (Stage.COMPLETION, False, Reason.NOT_ALLOWED_NOW)]


def test_parameters_set_checked_and_reported(executive, results):
    app = boot_sample(executive, {"parameters": {"gain": 2.0}})
    assert app.params["gain"] == 2.0
    reports = executive.bus.create_pipe("params", 8)
    executive.bus.subscribe(reports, PARAMETER_REPORT_MSG.msg_id)
    send(executive, 1, 2, index=0, value=4.5)
    send(executive, 2, 2, index=0, value=500.0)  # above the 100 maximum
    send(executive, 3, 3, index=0xFFFF)
    assert app.params["gain"] == 4.5
    [report] = [PARAMETER_REPORT_MSG.unpack(p) for _, p in reports.drain()]
    assert report == {"request_id": 3, "apid": SampleApp.APID, "index": 0, "value": 4.5}
    oks = [(r["request_id"], r["ok"]) for r in results() if r["stage"] == Stage.COMPLETION]
    assert oks == [(1, True), (2, False), (3, True)]


def test_bad_parameter_in_config_names_app_and_parameter():
    from fsw.core import Executive, VirtualClock

    exe = Executive(VirtualClock())
    with pytest.raises(ConfigError, match=r"sample.*gain"):
        SampleApp(exe.context, {"parameters": {"gain": -1.0}})
    with pytest.raises(ConfigError, match="no parameter named 'speed'"):
        SampleApp(Executive(VirtualClock()).context, {"parameters": {"speed": 1}})


def test_housekeeping_carries_standard_counters_and_app_fields(executive):
    app = boot_sample(executive)
    hk = executive.bus.create_pipe("hk", 8)
    executive.bus.subscribe(hk, SampleApp.HK.msg_id)
    send(executive, 1, 0)
    send(executive, 2, 0)
    executive.run(1.0)
    last = SampleApp.HK.unpack(hk.drain()[-1][1])
    assert last["cmd_count"] == 2 and 0 < last["cycles"] <= app.cycles
    send(executive, 3, 1)  # reset counters
    executive.run(1.0)
    last = SampleApp.HK.unpack(hk.drain()[-1][1])
    assert last["cmd_count"] == 0 and last["cmd_error_count"] == 0


def test_output_stream_follows_gain(executive):
    boot_sample(executive, {"parameters": {"gain": 3.0}})
    out = executive.bus.create_pipe("out", 64)
    executive.bus.subscribe(out, SAMPLE_OUTPUT.msg_id)
    send(executive, 1, 10, value=2.0)
    values = [SAMPLE_OUTPUT.unpack(p)["scaled_value"] for _, p in out.drain()]
    assert values[-1] == 6.0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_any_command_bytes_get_one_verdict_and_leave_the_app_running(payload):
    from fsw.core import COMMAND_RESULT_MSG, Executive, VirtualClock

    exe = Executive(VirtualClock())
    app = boot_sample(exe)
    verdicts = exe.bus.create_pipe("verdicts", 16)
    exe.bus.subscribe(verdicts, COMMAND_RESULT_MSG.msg_id)
    exe.bus.publish(CMD, payload)
    exe.step()
    stages = [COMMAND_RESULT_MSG.unpack(p)["stage"] for _, p in verdicts.drain()]
    if len(payload) < 5:  # no header: nothing to verify against, counted and reported
        assert stages == [] and app.cmd_error_count == 1
    else:
        assert stages.count(Stage.ACCEPTANCE) == 1
    exe.bus.publish(CMD, encode_command(9, 0))
    exe.step()
    assert app.state.name == "RUNNING"
    assert [COMMAND_RESULT_MSG.unpack(p)["ok"] for _, p in verdicts.drain()] == [True, True]


def _parse_numbers(body: bytes) -> dict:
    if len(body) % 2:
        raise ValueError(f"{len(body)} bytes is not a whole number of u16 values")
    return {"values": list(struct.unpack(f">{len(body) // 2}H", body))}


def test_variable_length_command_parses_and_is_verified(executive, results):
    from fsw.core import App, CommandError, command

    class ListApp(App):
        NAME = "lists"
        APID = 0x0D0

        def init(self):
            self.total = 0

        @command(10, parse=_parse_numbers)
        def add_all(self, values):
            """Add every value given."""
            if not values:
                raise CommandError(Reason.BAD_ARGUMENT, "nothing to add")
            self.total += sum(values)

    executive.add_app(AppSpec("lists", ListApp, 10.0))
    assert executive.boot() == []
    cmd = cmd_msg_id(ListApp.APID)
    executive.bus.publish(cmd, struct.pack(">IB3H", 1, 10, 1, 2, 3))
    executive.bus.publish(cmd, struct.pack(">IB", 2, 10) + b"\x01\x02\x03")
    executive.bus.publish(cmd, struct.pack(">IB", 3, 10))
    executive.step()
    assert executive.apps["lists"].total == 6
    verdicts = [(r["request_id"], r["stage"], r["ok"], r["reason"]) for r in results()]
    assert verdicts == [(1, Stage.ACCEPTANCE, True, 0), (1, Stage.COMPLETION, True, 0),
                        (2, Stage.ACCEPTANCE, False, Reason.BAD_ARGUMENT),
                        (3, Stage.ACCEPTANCE, True, 0),
                        (3, Stage.COMPLETION, False, Reason.BAD_ARGUMENT)]
    assert any("whole number" in e.text for e in executive.events.recent)


def test_command_takes_args_or_parse_not_both():
    from fsw.core import Field, command

    with pytest.raises(ValueError, match="either"):
        command(1, Field("x", "B"), parse=_parse_numbers)


def test_every_refusal_is_counted_and_says_why(executive, results):
    app = boot_sample(executive)
    refusals = [
        (b"\x00\x00\x01", "command of 3 bytes has no header"),
        (struct.pack(">IB", 5, 99), "no function code 99"),
        (struct.pack(">IB", 6, 10) + b"\x00\x00\x00", "SET_INPUT takes 4 argument bytes, got 3"),
    ]
    for n, (payload, text) in enumerate(refusals, start=1):
        executive.bus.publish(CMD, payload)
        executive.step()
        assert app.cmd_error_count == n
        assert executive.events.recent[-1].text == text
        assert executive.events.recent[-1].event_id == 1  # COMMAND_REJECTED
    # the ones with a header are refused at acceptance with ok = False
    assert [(r["request_id"], r["stage"], r["ok"]) for r in results()] == [
        (5, Stage.ACCEPTANCE, False), (6, Stage.ACCEPTANCE, False)]
    # refusals by the handler count too, one each
    send(executive, 7, 11, enabled=1)
    send(executive, 8, 11, enabled=1)
    assert app.cmd_error_count == 5 and app.cmd_count == 0


def test_array_and_bytes_fields_check_their_values():
    from fsw.core import Field

    pair = Field("v", "2h", low=-5, high=5)
    assert pair.check((1, -5)) is None
    assert pair.check((1,)) == "v needs 2 values"
    assert pair.check(3) == "v needs 2 values"
    assert pair.check((1, 6)) == "v=6 is above its maximum 5"
    assert pair.check((1, 2.5)) == "v must be an integer"
    raw = Field("id", "4s")
    assert raw.check(b"abcd") is None and raw.check(bytearray(4)) is None
    assert raw.check("abcd") == "id must be bytes"
    real = Field("x", "d")
    for bad in (float("nan"), float("inf"), float("-inf")):
        assert real.check(bad) == "x must be finite"
    assert real.check(1e300) is None


def test_handler_failures_are_reported_at_completion(executive, results):
    from fsw.core import App, CommandError, Field, command

    class Fragile(App):
        NAME, APID = "fragile", 0x0F3

        @command(30, Field("n", "B"))
        def refuse(self, n):
            raise CommandError(Reason.NOT_ALLOWED_NOW, f"not now ({n})")

        @command(31)
        def crash(self):
            raise ZeroDivisionError("division by zero")

    executive.add_app(AppSpec("fragile", Fragile, 10.0))
    assert executive.boot() == []
    app = executive.apps["fragile"]
    bus_id = cmd_msg_id(Fragile.APID)
    for rid, code, body in ((21, 30, b"\x07"), (22, 31, b""), (23, 31, b"")):
        executive.bus.publish(bus_id, struct.pack(">IB", rid, code) + body)
    executive.step()
    got = [(r["request_id"], r["function_code"], r["stage"], r["ok"], r["reason"])
           for r in results()]
    assert got == [
        (21, 30, Stage.ACCEPTANCE, True, Reason.NONE),
        (21, 30, Stage.COMPLETION, False, Reason.NOT_ALLOWED_NOW),
        (22, 31, Stage.ACCEPTANCE, True, Reason.NONE),
        (22, 31, Stage.COMPLETION, False, Reason.EXECUTION_FAILED),
        (23, 31, Stage.ACCEPTANCE, True, Reason.NONE),
        (23, 31, Stage.COMPLETION, False, Reason.EXECUTION_FAILED),
    ]
    assert app.cmd_error_count == 3 and app.cmd_count == 0
    texts = [(e.event_id, e.text) for e in executive.events.recent if e.apid == Fragile.APID]
    assert texts == [(2, "REFUSE failed: not now (7)"), (4, "CRASH failed: division by zero"),
                     (4, "CRASH failed: division by zero")]


def test_declared_commands_carry_code_name_and_first_doc_line():
    from fsw.core import App, Field, command

    class Probe(App):
        NAME, APID = "probe", 0  # APID 0 is a valid APID (CCSDS 133.0-B-2: 0..0x7FE)

        @command(12, Field("n", "B"))
        def arm_heater(self, n):
            """Arm heater n.

            More words that stay out of the dictionary."""

        @command(13)
        def quiet(self):
            pass

    assert [(s.code, s.name, s.doc) for s in Probe.COMMANDS.values()
            if s.code >= 12] == [(12, "ARM_HEATER", "Arm heater n."), (13, "QUIET", "")]
    executive = Executive(VirtualClock())
    executive.add_app(AppSpec("probe", Probe, 10.0))
    assert executive.boot() == []  # APID 0 boots


def test_command_descriptions_read_the_same_when_docstrings_are_dropped():
    """`python -OO` (like a build compiled by mypyc) keeps no docstrings on
    functions; the dictionary's command descriptions are read from the
    source then, so they read the same as in a normal run, the base class's
    own commands included."""
    import json
    import subprocess
    import sys

    class Probe(SampleApp):  # declared here: its commands are collected in this test
        pass

    expected = {str(c): s.doc for c, s in Probe.COMMANDS.items()}
    assert expected["3"] == "Publish the value of one parameter, or all of them."
    script = ("import json; from fsw.apps.sample import SampleApp; "
              "print(json.dumps({c: s.doc for c, s in SampleApp.COMMANDS.items()}))")
    child = subprocess.run([sys.executable, "-OO", "-c", script], capture_output=True,
                           text=True, timeout=120, check=True)
    assert json.loads(child.stdout) == expected


@pytest.mark.parametrize("name,apid", [("", 0x0F4), ("nameless", -1)])
def test_an_app_without_name_or_apid_is_refused_at_boot(name, apid):
    from fsw.core import App

    Bad = type("Bad", (App,), {"NAME": name, "APID": apid})
    executive = Executive(VirtualClock())
    executive.add_app(AppSpec("bad", Bad, 10.0))
    assert executive.boot() == ["bad"]
    assert "Bad must set NAME and APID" in executive.events.recent[-2].text


def test_command_counters_stop_at_65535_instead_of_wrapping(executive):
    # docs/apps.md: the standard counters are 16 bits and saturate.
    app = boot_sample(executive)
    hk = executive.bus.create_pipe("hk", 8)
    executive.bus.subscribe(hk, SampleApp.HK.msg_id)
    app.cmd_count, app.cmd_error_count, app.cycle_error_count = 70000, 65536, 65535
    executive.run(1.0)
    last = SampleApp.HK.unpack(hk.drain()[-1][1])
    assert (last["cmd_count"], last["cmd_error_count"], last["cycle_error_count"]) == (
        65535, 65535, 65535)


def test_an_apps_command_pipe_holds_16_commands_per_cycle(executive, results):
    # docs/apps.md: the command pipe holds 16 commands between two cycles;
    # the rest are dropped (and comms reports each as failed, QUEUE_FULL).
    app = boot_sample(executive)
    executive.step()
    for rid in range(1, 21):
        executive.bus.publish(CMD, encode_command(rid, 0, SampleApp.COMMANDS[0].args))
    executive.step()
    assert app.cmd_count == 16 and app.command_pipe.dropped == 4


def test_a_command_is_critical_only_where_it_is_declared_so():
    # docs/apps.md: `@command(..., critical=True)` marks a critical command
    from fsw.core import App, Field, command

    class Switcher(App):
        NAME, APID = "switcher", 0x0F5

        @command(10, Field("on", "B"), critical=True)
        def power(self, on):
            """Switch the payload."""

        @command(11)
        def ping(self):
            """Say hello."""

    assert [(s.name, s.critical) for s in Switcher.COMMANDS.values() if s.code >= 10] == [
        ("POWER", True), ("PING", False)]
    assert not any(s.critical for s in SampleApp.COMMANDS.values())
