"""What an app, an event or a configuration declares is what the rest of the
system sees: limits at their documented edges, refusals that name the fault,
and the defaults the docs state."""

from __future__ import annotations

import struct

import pytest

from fsw.apps.sample import SampleApp
from fsw.core import (
    App,
    AppSpec,
    ConfigError,
    EventDef,
    Executive,
    Severity,
    SoftwareBus,
    VirtualClock,
    command,
)
from fsw.core.app import command_mark
from fsw.core.bus import UnknownMessageError
from fsw.core.errors import CommandError
from fsw.core.events import EVENT_MSG, Event, EventLog, check_unique
from fsw.core.message import Field, MessageType, cmd_msg_id, tm_msg_id

# -- commands ------------------------------------------------------------------

@pytest.mark.parametrize("code", [0, 1, 0xFE, 0xFF])
def test_every_one_octet_function_code_is_accepted(code):
    assert command_mark(command(code)(lambda self: None))[0] == code


@pytest.mark.parametrize("code", [-1, 0x100])
def test_function_codes_beyond_one_octet_are_refused(code):
    with pytest.raises(ValueError, match=f"function code {code} does not fit one octet"):
        command(code)


def test_args_and_a_parser_together_are_refused():
    with pytest.raises(ValueError, match="either declared args or a parse function"):
        command(5, Field("x", "B"), parse=lambda raw: {})


def test_two_handlers_for_one_code_name_both():
    with pytest.raises(TypeError, match="function code 7 is used by both first and second"):
        class Clash(App):
            NAME, APID = "clash", 0x0F0

            @command(7)
            def first(self):
                pass

            @command(7)
            def second(self):
                pass


def test_the_command_table_names_each_command_and_its_summary():
    spec = SampleApp.COMMANDS[10]
    assert (spec.code, spec.name, spec.handler) == (10, "SET_INPUT", "set_input")
    assert spec.doc == "Set the input value the app scales."
    undocumented = type("Quiet", (App,), {"NAME": "quiet", "APID": 0x0F1,
                                          "go": command(9)(lambda self: None)})
    assert undocumented.COMMANDS[9].doc == ""


def test_an_app_on_apid_0_has_housekeeping_named_for_it():
    class Zero(App):
        NAME, APID = "zero", 0

    assert Zero.HK.msg_id == tm_msg_id(0) and Zero.HK.name == "zeroHousekeeping"
    assert SampleApp.HK.name == "sampleHousekeeping"


def test_command_error_carries_its_text():
    err = CommandError(3, "output already in that state")
    assert str(err) == "output already in that state"


def test_an_app_with_an_event_name_declared_twice_is_refused():
    with pytest.raises(TypeError, match="Twice: two events are named DUP"):
        class Twice(App):
            NAME, APID = "twice", 0x0F2
            EVENTS = (EventDef(20, "DUP", Severity.INFO, "a"),
                      EventDef(21, "DUP", Severity.INFO, "b"))


# -- events --------------------------------------------------------------------

@pytest.mark.parametrize("event_id", [0, 0xFFFF])
def test_event_ids_span_16_bits(event_id):
    assert EventDef(event_id, "E", Severity.INFO, "x").id == event_id


@pytest.mark.parametrize("kw, message", [
    ({"id": -1}, "event E: id -1 does not fit 16 bits"),
    ({"id": 0x10000}, "event E: id 65536 does not fit 16 bits"),
    ({"burst": 0}, "event E: burst must be at least 1"),
    ({"rate_hz": -0.1}, "event E: rate_hz must not be negative"),
])
def test_bad_event_declarations_say_what_is_wrong(kw, message):
    args = {"id": 1, "name": "E", "severity": Severity.INFO, "text": "x", **kw}
    with pytest.raises(ValueError, match=message):
        EventDef(**args)


def test_severity_given_as_a_number_becomes_the_severity():
    ev = EventDef(1, "E", 3, "x")
    assert ev.severity is Severity.MEDIUM


def test_the_same_declaration_twice_is_harmless_but_a_reused_name_is_not():
    a = EventDef(20, "A", Severity.INFO, "a")
    assert check_unique("Owner", [a, a]) == {20: a}
    with pytest.raises(TypeError, match="Owner: two events are named A"):
        check_unique("Owner", [a, EventDef(21, "A", Severity.INFO, "b")])
    with pytest.raises(TypeError, match="Owner: event id 20 is declared by both A and B"):
        check_unique("Owner", [a, EventDef(20, "B", Severity.INFO, "b")])


def test_an_event_on_the_bus_decodes_to_what_was_raised():
    bus = SoftwareBus()
    log = EventLog(bus, lambda: 12.5)
    pipe = bus.create_pipe("ev", 4)
    bus.subscribe(pipe, EVENT_MSG.msg_id)
    raised = log.emit(0x42, EventDef(30, "HOT", Severity.HIGH, "too hot: {c} °C"), c=81)
    (_, payload), = pipe.drain()
    # the layout docs state: apid u16, event id u16, severity u8, time f64, 120 octets text
    apid, event_id, severity, time_s, text = struct.unpack(">HHBd120s", payload)
    assert (apid, event_id, severity, time_s) == (0x42, 30, 4, 12.5)
    assert text.rstrip(b"\0").decode() == "too hot: 81 °C"
    assert Event.decode(payload) == raised == Event(0x42, 30, Severity.HIGH, 12.5,
                                                    "too hot: 81 °C")
    # bytes that are not UTF-8 decode with replacement characters, not an error
    odd = payload[:13] + b"\xff\xfeok" + bytes(116)
    assert Event.decode(odd).text == "\ufffd\ufffdok"


# -- bus -----------------------------------------------------------------------

def test_message_type_lookup_and_unsubscribe():
    bus = SoftwareBus()
    mag = MessageType("Mag", tm_msg_id(0x20), [Field("b", "f")], doc="field")
    bus.register(mag)
    assert bus.message_type(mag.msg_id) is mag and mag.doc == "field" and mag.name == "Mag"
    with pytest.raises(UnknownMessageError, match="message id 0x0821 is not registered"):
        bus.message_type(tm_msg_id(0x21))
    a, b = bus.create_pipe("a", 4), bus.create_pipe("b", 4)
    bus.subscribe(a, mag.msg_id)
    bus.subscribe(b, mag.msg_id)
    bus.unsubscribe(a, mag.msg_id)
    bus.unsubscribe(a, mag.msg_id)  # twice is harmless
    bus.unsubscribe(a, tm_msg_id(0x22))  # so is an id never registered
    bus.publish(mag.msg_id, mag.pack(b=1.0))
    assert len(a) == 0 and len(b) == 1


# -- executive configuration ---------------------------------------------------

def test_configuration_defaults_the_docs_state():
    # docs: rate groups 10 Hz and 1 Hz, housekeeping at 1 Hz, apps at the fastest group
    exe = Executive.from_config({"apps": [{"name": "sample",
                                           "class": "fsw.apps.sample:SampleApp"}]},
                                VirtualClock(), devices={"gyro": "g"})
    assert [g.rate_hz for g in exe.groups] == [10.0, 1.0]
    assert exe.hk_divisor == 10 and exe.context.devices == {"gyro": "g"}
    exe.boot()
    exe.run(1.05)
    assert exe.apps["sample"].cycles == 11  # 10 Hz: frames 0..10
    assert Executive.from_config({}, VirtualClock()).apps == {}


@pytest.mark.parametrize("config, message", [
    ({"apps": {"name": "x"}}, r"'apps' must be an array of tables \(\[\[apps\]\]\)"),
    ({"apps": ["x"]}, r"apps\[0\] must be a table"),
    ({"apps": [{"name": "", "class": "a:B"}]}, r"apps\[0\] has no name"),
    ({"apps": [{"name": 3, "class": "a:B"}]}, r"apps\[0\] has no name"),
])
def test_bad_app_tables_are_named(config, message):
    with pytest.raises(ConfigError, match=message):
        Executive.from_config(config, VirtualClock())


def test_a_stopped_app_is_reported_by_name():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    exe.boot()
    exe.shutdown()
    assert any(e.text == "app 'sample' stopped" for e in exe.events.recent)


# -- message layouts ---------------------------------------------------------

@pytest.mark.parametrize("fmt", ["af", "2xf", "x2f", "3z"])
def test_unsupported_field_formats_are_refused(fmt):
    with pytest.raises(ValueError, match="unsupported format"):
        Field("x", fmt)


def test_two_element_arrays_pack_big_endian_as_struct_does():
    pair = MessageType("Pair", tm_msg_id(0x30), [Field("v", "2f"), Field("n", "B")])
    raw = pair.pack(v=(1.5, -2.0), n=7)
    assert raw == struct.pack(">ffB", 1.5, -2.0, 7)
    assert pair.unpack(raw) == {"v": (1.5, -2.0), "n": 7}


def test_named_apids_are_the_apids_and_nothing_else():
    from fsw.core import ids

    named = ids.named_apids()
    assert named["SAMPLE_APID"] == ids.SAMPLE_APID and "PARTNER_APID_BASE" not in named
    assert all(name.endswith("_APID") and 0 <= v <= 0x7FF for name, v in named.items())


def test_run_without_a_duration_stops_when_told():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    exe.run(until=lambda: exe.apps.get("sample") is not None and exe.apps["sample"].cycles == 7)
    assert exe.apps["sample"].cycles == 7
    exe.run(0.5)
    assert exe.apps["sample"].cycles == 12


def test_from_config_takes_the_housekeeping_rate_and_the_store(tmp_path):
    from fsw.core import Store
    from fsw.core.boot import ResetCause

    store = Store(tmp_path / "s.db")
    exe = Executive.from_config({"executive": {"housekeeping_hz": 2.0,
                                               "rate_groups_hz": [10.0]}},
                                VirtualClock(), store=store)
    assert exe.hk_divisor == 5 and [g.rate_hz for g in exe.groups] == [10.0]
    assert exe.context.store is store
    exe.boot()
    exe.shutdown()
    again = Executive(VirtualClock(), store=store)
    again.boot()
    assert again.context.boot.cause == ResetCause.ORDERLY and again.context.boot.count == 2


def test_config_error_texts_are_exact():
    with pytest.raises(ConfigError, match=r"^'apps' must be an array of tables \(\[\[apps\]\]\)$"):
        Executive.from_config({"apps": {}}, VirtualClock())


def test_event_text_keeps_its_last_characters():
    bus = SoftwareBus()
    log = EventLog(bus, lambda: 0.0)
    pipe = bus.create_pipe("ev", 4)
    bus.subscribe(pipe, EVENT_MSG.msg_id)
    log.emit(0x42, EventDef(31, "AXIS", Severity.INFO, "{t}"), t="saturated on axis X")
    assert Event.decode(pipe.drain()[0][1]).text == "saturated on axis X"


def test_a_payload_that_is_not_bytes_is_named():
    bus = SoftwareBus()
    mag = MessageType("Mag", tm_msg_id(0x20), [Field("b", "f")])
    bus.register(mag)
    with pytest.raises(Exception, match="payload is str, not bytes"):
        bus.publish(mag.msg_id, "abcd")


def test_app_event_ids_below_the_first_free_one_are_refused_by_name():
    with pytest.raises(TypeError, match=r"Low: event ids below 10 belong to the base class "
                                        r"\(LOW_A, LOW_B\)$"):
        class Low(App):
            NAME, APID = "low", 0x0F4
            EVENTS = (EventDef(5, "LOW_A", Severity.INFO, "a"),
                      EventDef(6, "LOW_B", Severity.INFO, "b"))


def test_declaration_texts_are_exact_and_docs_default_empty():
    with pytest.raises(ValueError, match=r"^a command takes either declared args or a parse "
                                         r"function$"):
        command(5, Field("x", "B"), parse=lambda raw: {})
    assert MessageType("Plain", tm_msg_id(0x31), [Field("x", "B")]).doc == ""


def test_two_headerless_commands_count_two_errors():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    exe.boot()
    for _ in range(2):
        exe.bus.publish(cmd_msg_id(SampleApp.APID), b"\x00")
    exe.step()
    assert exe.apps["sample"].cmd_error_count == 2


def test_raising_an_undeclared_event_is_refused():
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    exe.boot()
    for wrong in ("text", EventDef(10, "OTHER", Severity.INFO, "x")):
        with pytest.raises(TypeError, match="is not declared in its EVENTS"):
            exe.apps["sample"].event(wrong)


def test_a_sequence_names_itself_by_default():
    from fsw.core.sequence import SequenceError, resolve

    with pytest.raises(SequenceError, match=r"^sequence: must be a list"):
        resolve({}, {})
