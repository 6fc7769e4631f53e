"""The dictionary, its XTCE and COSMOS exports, checked by independent implementations.

space_packet_parser (an XTCE-driven decoder used by flight missions) and the
openc3 packet configuration parser read the exports; both must decode the
flight software's own packet bytes to the values Tessera's decoder gives.
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsw.protocol.cuc import CucTime
from fsw.protocol.pus import PusTm
from ground.dictionary import INT_RANGE, Dictionary, DictionaryError
from ground.exports import cosmos_name, to_cosmos, to_xtce, xtce_name
from ground.telemetry import TelemetryDecoder, TelemetryError


def element_values(f, draw):
    if f.type == "bytes":
        return draw(st.binary(min_size=f.size, max_size=f.size))
    if f.type == "bool":
        return draw(st.booleans())
    if f.enum:  # space_packet_parser refuses a value outside the enumeration
        return draw(st.sampled_from(sorted(f.enum)))
    if f.type in INT_RANGE:
        lo, hi = INT_RANGE[f.type]
        return draw(st.integers(lo, hi))
    width = 32 if f.type == "f32" else 64
    return draw(st.floats(allow_nan=False, allow_infinity=False, width=width))


@st.composite
def hk_packets(draw, dictionary):
    pkt = draw(st.sampled_from(sorted(dictionary.packets.values(), key=lambda p: p.sid)))
    flat = []
    for f in pkt.fields:
        for _ in range(f.count if f.type != "bytes" else 1):
            flat.append(element_values(f, draw))
    data = struct.pack(">H", pkt.sid) + struct.pack(pkt.struct_format, *flat)
    t = draw(st.floats(0, 1e6))
    raw = PusTm(pkt.sid, 3, 25, data, seq_count=draw(st.integers(0, 0x3FFF)),
                time=CucTime.from_seconds(t)).encode()
    return pkt, raw


@pytest.fixture(scope="module")
def xtce_definition(dictionary, tmp_path_factory):
    import space_packet_parser as spp
    path = tmp_path_factory.mktemp("xtce") / "tessera.xml"
    path.write_text(to_xtce(dictionary.packets.values(), commands=all_commands(dictionary)))
    return spp.load_xtce(path), path


def all_commands(dictionary):
    return [c for app in dictionary.apps.values() for c in app.commands.values()]


@pytest.fixture(scope="module")
def cosmos_config(dictionary, tmp_path_factory):
    from openc3.packets.packet_config import PacketConfig
    path = tmp_path_factory.mktemp("cosmos") / "tessera.txt"
    path.write_text(to_cosmos(dictionary))
    config = PacketConfig()
    config.process_file(str(path), "TESSERA")
    return config


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)
    return a == b


def test_the_dictionary_holds_what_the_apps_declare(dictionary):
    sample = dictionary.apps["sample"]
    assert sample.commands["SET_INPUT"].code == 10
    [value] = sample.commands["SET_INPUT"].args
    assert (value.type, value.low, value.high) == ("f32", -1e6, 1e6)
    assert sample.parameters["gain"].field.high == 100.0
    assert {e.name for e in sample.events.values()} >= {"NOOP", "STARTED", "OUTPUT"}
    adcs = dictionary.apps["adcs"]
    assert adcs.commands["SET_MODE"].args[0].enum[2] == "SUN"
    assert dictionary.packets[0x22].name == "adcs.AdcsState"
    out = dictionary.parameters["sample.hk.output_cnt"][1]
    assert out.poly == (0.0, 0.01) and out.warn == (-100.0, 100.0)
    assert {"comms", "scheduler", "executive"} <= set(dictionary.apps)


def test_the_xtce_export_is_valid_xtce_1_2(xtce_definition):
    from space_packet_parser.xtce.validation import validate_xtce
    _, path = xtce_definition
    assert validate_xtce(path, raise_on_error=False).valid


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture],
          deadline=None)
@given(data=st.data())
def test_space_packet_parser_decodes_our_packets_to_our_values(dictionary, xtce_definition,
                                                               data):
    definition, _ = xtce_definition
    pkt, raw = data.draw(hk_packets(dictionary))
    ours = TelemetryDecoder(dictionary).decode(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a length mismatch would warn
        theirs = definition.parse_bytes(raw)
    assert theirs["SID"] == pkt.sid and theirs["PKT_APID"] == pkt.sid
    for name, raw_v, eng_v in zip(ours.names, ours.raw, ours.eng, strict=True):
        value = theirs[xtce_name(name)]
        assert same(value.raw_value, raw_v), name
        assert same(value, eng_v) or (isinstance(eng_v, str) and value == eng_v), name


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture],
          deadline=None)
@given(data=st.data())
def test_openc3_reads_our_packets_to_our_values(dictionary, cosmos_config, data):
    pkt, raw = data.draw(hk_packets(dictionary))
    ours = TelemetryDecoder(dictionary).decode(raw)
    packet = cosmos_config.telemetry["TESSERA"][cosmos_name(pkt.name)]
    packet.buffer = raw
    assert packet.read("SID") == pkt.sid
    for name, raw_v, eng_v in zip(ours.names, ours.raw, ours.eng, strict=True):
        item = name.rsplit(".", 1)[1].upper()
        assert same(packet.read(item, "RAW"), raw_v), name
        if isinstance(eng_v, float):
            assert same(packet.read(item, "CONVERTED"), eng_v), name


def test_openc3_loads_every_command_with_its_ranges_and_states(dictionary, cosmos_config):
    cmds = cosmos_config.commands["TESSERA"]
    for app in dictionary.apps.values():
        for cmd in app.commands.values():
            if not cmd.variable:
                assert f"{app.name.upper()}_{cmd.name}" in cmds
    set_input = cmds["SAMPLE_SET_INPUT"].get_item("VALUE")
    assert (set_input.minimum, set_input.maximum) == (-1e6, 1e6)
    assert cmds["ADCS_SET_MODE"].get_item("MODE").states["SUN"] == 2
    limits = cosmos_config.telemetry["TESSERA"]["SAMPLE_HK"].get_item("OUTPUT_CNT").limits
    assert limits.values["DEFAULT"] == [-300.0, -100.0, 100.0, 300.0]


@given(st.binary(max_size=300))
def test_the_decoder_takes_any_bytes_and_fails_in_one_line(dictionary_doc, junk):
    decoder = TelemetryDecoder(Dictionary(dictionary_doc))
    try:
        decoder.decode(junk)
    except TelemetryError as exc:
        assert "\n" not in str(exc)
    assert decoder.last_seq == {} or len(junk) >= 16


def test_a_truncated_or_corrupted_housekeeping_packet_is_refused_and_nothing_changes(dictionary):
    decoder = TelemetryDecoder(dictionary)
    pkt = dictionary.packets[0x30]
    data = struct.pack(">H", 0x30) + bytes(pkt.parameters and struct.calcsize(pkt.struct_format))
    good = PusTm(0x30, 3, 25, data, seq_count=1).encode()
    short = PusTm(0x30, 3, 25, data[:-1], seq_count=2).encode()
    with pytest.raises(TelemetryError, match="takes"):
        decoder.decode(short)
    flipped = bytearray(good)
    flipped[20] ^= 1
    with pytest.raises(TelemetryError, match="CRC"):
        decoder.decode(bytes(flipped))
    assert decoder.last_seq == {} and decoder.rejected == 2
    assert decoder.decode(good).values()["sample.hk.cmd_count"] == 0


def test_a_bad_dictionary_is_one_clear_error(tmp_path):
    bad = tmp_path / "d.json"
    bad.write_text("{not json")
    with pytest.raises(DictionaryError, match="not JSON"):
        Dictionary.load(bad)
    bad.write_text(json.dumps({"format": "tessera-dictionary", "version": 99}))
    with pytest.raises(DictionaryError, match="version 99"):
        Dictionary.load(bad)


def tessera(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "tessera", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_tessera_dict_export_writes_each_format(tmp_path):
    for fmt in ("json", "xtce", "cosmos"):
        out = tmp_path / f"dict.{fmt}"
        proc = tessera("dict", "export", "--format", fmt, "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        assert out.stat().st_size > 1000
    assert json.loads((tmp_path / "dict.json").read_text())["format"] == "tessera-dictionary"
    assert "SpaceSystem" in (tmp_path / "dict.xtce").read_text()
    assert "TELEMETRY TESSERA SAMPLE_HK" in (tmp_path / "dict.cosmos").read_text()


@pytest.mark.parametrize("args", [["--format", "yaml"], ["--config", "/nonexistent.toml"],
                                  ["--target", "lower"], ["--out", "/proc/nope/x.json"]])
def test_tessera_dict_export_refuses_bad_options_in_one_line(args):
    proc = tessera("dict", "export", *args)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_the_ground_decodes_with_the_json_alone(dictionary_doc, tmp_path):
    path = tmp_path / "dict.json"
    path.write_text(json.dumps(dictionary_doc))
    pkt_data = struct.pack(">H", 0x30) + bytes(17)
    raw = PusTm(0x30, 3, 25, pkt_data).encode()
    code = (
        "import sys\n"
        "from ground.dictionary import Dictionary\n"
        "from ground.telemetry import TelemetryDecoder\n"
        f"d = TelemetryDecoder(Dictionary.load({str(path)!r}))\n"
        f"print(d.decode(bytes.fromhex({raw.hex()!r})).values()['sample.hk.gain'])\n"
        "flight = [m for m in sys.modules if m.startswith(('fsw.apps', 'fsw.core'))]\n"
        "print(flight)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["0.0", "[]"]


def test_xtce_commands_lay_out_the_packets_the_ground_sends(dictionary, xtce_definition):
    """Read the exported MetaCommands with a plain XML reader and walk each
    command's container over the TC[8,1] packet the flight protocol encodes:
    the fixed header values, every argument and the PEC land where XTCE says,
    and the declared ranges and enumerations are carried over."""
    import xml.etree.ElementTree as ET

    from fsw.protocol import services as sv
    from fsw.protocol.pus import PusTc

    _, path = xtce_definition
    ns = {"x": "http://www.omg.org/spec/XTCE/20180204"}
    root = ET.parse(path).getroot()
    sizes = {}
    ranges = {}
    for t in root.find("x:CommandMetaData/x:ArgumentTypeSet", ns):
        enc = t.find("x:IntegerDataEncoding", ns)
        if enc is None:
            enc = t.find("x:FloatDataEncoding", ns)
        if enc is None:
            continue  # binary arguments: commands with them are skipped below
        kind = ("float" if enc.tag.endswith("FloatDataEncoding") else
                "signed" if enc.get("encoding") == "twosComplement" else "unsigned")
        sizes[t.get("name")] = (int(enc.get("sizeInBits")), kind)
        rng = t.find("x:ValidRangeSet/x:ValidRange", ns)
        if rng is not None:
            ranges[t.get("name")] = (rng.get("minInclusive"), rng.get("maxInclusive"))
    metas = {m.get("name"): m for m in root.find("x:CommandMetaData/x:MetaCommandSet", ns)}
    base_args = {a.get("name"): a.get("argumentTypeRef")
                 for a in metas["PusTc8_1"].find("x:ArgumentList", ns)}
    checked = 0
    for app in dictionary.apps.values():
        for cmd in app.commands.values():
            if cmd.variable or any(a.type == "bytes" for a in cmd.args):
                continue
            meta = metas[xtce_name(f"{cmd.app}.{cmd.name}")]
            fixed = {a.get("argumentName"): int(a.get("argumentValue")) for a in
                     meta.findall("x:BaseMetaCommand/x:ArgumentAssignmentList/*", ns)}
            assert fixed["PKT_APID"] == cmd.apid and fixed["FUNCTION_ID"] == cmd.code
            types = {**base_args, **{a.get("name"): a.get("argumentTypeRef")
                                     for a in meta.find("x:ArgumentList", ns)}}
            values = {}
            for a in cmd.args:
                lo = a.low if a.low is not None else (INT_RANGE.get(a.type, (-1e3, 1e3))[0])
                hi = a.high if a.high is not None else (INT_RANGE.get(a.type, (-1e3, 1e3))[1])
                mid = (lo + hi) / 2 if a.type.startswith("f") else int((lo + hi) // 2)
                values[a.name] = [mid] * a.count if a.count > 1 else mid
                for n in a.element_names:
                    if a.enum:  # an enumeration lists its values instead of a range
                        labels = root.findall(f".//x:EnumeratedArgumentType[@name="
                                              f"'{types[n]}']/x:EnumerationList/*", ns)
                        assert {int(e.get("value")): e.get("label") for e in labels} == a.enum
                    elif a.low is not None or a.high is not None:
                        lo_x, hi_x = ranges[types[n]]
                        assert a.low is None or float(lo_x) == a.low
                        assert a.high is None or float(hi_x) == a.high
            raw = PusTc(cmd.apid, 8, 1, sv.PerformFunction(cmd.code, cmd.encode_args(values))
                        .encode(), seq_count=5, source_id=7).encode()
            bits = int.from_bytes(raw, "big")
            total = len(raw) * 8
            offset = 0
            read = {}
            for entry in meta.find("x:CommandContainer/x:EntryList", ns):
                name = entry.get("argumentRef")
                size, kind = sizes[types[name]]
                word = (bits >> (total - offset - size)) & ((1 << size) - 1)
                if kind == "float":
                    word = struct.unpack(">f" if size == 32 else ">d",
                                         word.to_bytes(size // 8, "big"))[0]
                elif kind == "signed":
                    word -= (word >> (size - 1)) << size
                read[name] = word
                offset += size
            assert offset == total, cmd.name
            for k, v in fixed.items():
                assert read[k] == v, (cmd.name, k)
            for a in cmd.args:
                got = [read[n] for n in a.element_names]
                want = values[a.name] if a.count > 1 else [values[a.name]]
                assert got == pytest.approx(want, rel=1e-6), (cmd.name, a.name)
            checked += 1
    assert checked >= 10


def test_critical_commands_are_declared_once_and_carried_into_every_export(dictionary,
                                                                           xtce_definition,
                                                                           cosmos_config):
    """The flight apps declare which commands are critical; the dictionary, the XTCE
    export (DefaultSignificance) and the COSMOS export (HAZARDOUS) all say the same."""
    import xml.etree.ElementTree as ET

    critical = {f"{c.app}.{c.name}" for c in all_commands(dictionary) if c.critical}
    # Changing the mode, the attitude mode or a power output is critical; a no-op or a
    # payload's own input is not.
    assert {"mode.SET_MODE", "mode.ENTER_SAFE", "adcs.SET_MODE", "eps.SET_OUTPUT",
            "tables.ACTIVATE", "scheduler.RESET_SCHEDULE"} <= critical
    assert not critical & {"mode.NOOP", "sample.SET_INPUT", "adcs.NOOP", "tables.REPORT",
                           "uni_a_sample.SET_INPUT"}
    _, path = xtce_definition
    ns = {"x": "http://www.omg.org/spec/XTCE/20180204"}
    root = ET.parse(path).getroot()
    in_xtce = set()
    for meta in root.find("x:CommandMetaData/x:MetaCommandSet", ns):
        sig = meta.find("x:DefaultSignificance", ns)
        if sig is not None:
            assert sig.get("consequenceLevel") == "critical"
            in_xtce.add(meta.get("name"))
    fixed = [c for c in all_commands(dictionary) if not c.variable]
    assert in_xtce == {xtce_name(f"{c.app}.{c.name}") for c in fixed if c.critical}
    cmds = cosmos_config.commands["TESSERA"]
    for c in fixed:
        assert cmds[f"{c.app.upper()}_{c.name}"].hazardous is c.critical, c.name


def test_an_event_carries_the_severity_its_app_declares(dictionary):
    """TM[5,x]: the ground takes the severity from the flight declaration (through the
    dictionary), even when the report's subtype says otherwise; an event the dictionary
    does not know keeps its subtype."""
    from fsw.core.app import EV_COMMAND_ERROR, EV_NOOP
    from fsw.core.events import Severity

    decoder = TelemetryDecoder(dictionary)
    apid = dictionary.apps["sample"].apid
    for ev, subtype in ((EV_NOOP, 4), (EV_COMMAND_ERROR, 1), (EV_NOOP, int(EV_NOOP.severity))):
        raw = PusTm(apid, 5, subtype, struct.pack(">H", ev.id) + b"text", seq_count=1).encode()
        out = decoder.decode(raw)
        assert out.event["name"] == ev.name and out.event["severity"] == int(ev.severity)
    assert int(EV_NOOP.severity) == Severity.INFO and int(EV_COMMAND_ERROR.severity) == 3
    raw = PusTm(apid, 5, 2, struct.pack(">H", 999) + b"?", seq_count=2).encode()
    assert decoder.decode(raw).event["severity"] == 2
