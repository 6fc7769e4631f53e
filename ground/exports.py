"""The dictionary in the formats other mission-control tools read: XTCE 1.2 and COSMOS.

Both are written from the dictionary document alone (`ground.dictionary`).

XTCE (OMG XTCE 1.2, namespace http://www.omg.org/spec/XTCE/20180204): one
SpaceSystem. The container tree follows the packet bytes: ``CCSDSPacket``
(CCSDS 133.0-B-2 primary header) <- ``PusTm`` (ECSS-E-ST-70-41C TM secondary
header: PUS version, time reference, service, subtype, message counter,
destination, CUC time with its P-field) <- ``HkReport`` (service 3 subtype
25, structure ID) <- one container per packet, restricted on the structure
ID, ending with the packet error control word. Commands are
CommandMetaData: an abstract MetaCommand for PUS TC[8,1] whose header fields
are arguments, and one MetaCommand per fixed-layout command that assigns the
header (APID, service 8, subtype 1, function ID) and lays out its own
arguments with their units, valid ranges and enumerations; a command its flight
app declares critical has a DefaultSignificance of consequence level
``critical``. Parameter names are the
dictionary's qualified names with ``.`` written ``__`` (XTCE names may not
hold dots). Enumerations become EnumeratedParameterTypes, polynomials
PolynomialCalibrators, limits StaticAlarmRanges.

COSMOS (OpenC3 packet definition files): target ``TESSERA``; one TELEMETRY
packet per dictionary packet (ID items: APID, service, subtype, structure ID)
and one COMMAND per app command as a PUS TC[8,1] (ID parameters: APID,
service, subtype, function ID), with units, states, polynomial read
conversions and limits; a critical command is HAZARDOUS (COSMOS asks to
confirm it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import quoteattr

from ground.dictionary import BITS_OF_TYPE, INT_RANGE, CommandDef, FieldDef, PacketDef

XTCE_NS = "http://www.omg.org/spec/XTCE/20180204"
XTCE_XSD = "https://www.omg.org/spec/XTCE/20180204/SpaceSystem.xsd"

# (name, bits) of the headers in front of every housekeeping report's fields.
PRIMARY_HEADER = (("VERSION", 3), ("TYPE", 1), ("SEC_HDR_FLG", 1), ("PKT_APID", 11),
                  ("SEQ_FLGS", 2), ("SRC_SEQ_CTR", 14), ("PKT_LEN", 16))
PUS_TM_HEADER = (("PUS_VERSION", 4), ("TIME_REF", 4), ("SERVICE", 8), ("SUBTYPE", 8),
                 ("MSG_COUNTER", 16), ("DEST_ID", 16), ("TIME_PFIELD", 8),
                 ("TIME_COARSE", 32), ("TIME_FINE", 16))
PUS_TC_HEADER = (("PUS_VERSION", 4), ("ACK_FLAGS", 4), ("SERVICE", 8), ("SUBTYPE", 8),
                 ("SOURCE_ID", 16))


def xtce_name(qualified: str) -> str:
    """An XTCE NameType for a dictionary name (no dots allowed)."""
    return qualified.replace(".", "__")


def cosmos_name(qualified: str) -> str:
    """A COSMOS packet name for a dictionary name (upper case, no double underscores)."""
    return qualified.replace(".", "_").upper()


def _fmt(v: float) -> str:
    return repr(float(v))


# -- XTCE ------------------------------------------------------------------------

def _unit_set(unit: str) -> str:
    return (f"<xtce:UnitSet><xtce:Unit>{_esc(unit)}</xtce:Unit></xtce:UnitSet>"
            if unit else "<xtce:UnitSet/>")


def _int_encoding(bits: int, signed: bool) -> str:
    return (f'<xtce:IntegerDataEncoding sizeInBits="{bits}" '
            f'encoding="{"twosComplement" if signed else "unsigned"}"/>')


def _float_encoding(bits: int) -> str:
    return f'<xtce:FloatDataEncoding sizeInBits="{bits}" encoding="IEEE754_1985"/>'


def _binary_type(kind: str, name: str, size_bytes: int) -> str:
    """A Binary{kind}Type (kind: Parameter or Argument) of `size_bytes` octets."""
    return (f'<xtce:Binary{kind}Type name="{name}"><xtce:UnitSet/>'
            f"<xtce:BinaryDataEncoding><xtce:SizeInBits><xtce:FixedValue>{size_bytes * 8}"
            "</xtce:FixedValue></xtce:SizeInBits></xtce:BinaryDataEncoding>"
            f"</xtce:Binary{kind}Type>")


def _header_type(kind: str, name: str, bits: int) -> str:
    """An unsigned Integer{kind}Type for a header field of `bits` bits."""
    return (f'<xtce:Integer{kind}Type name="{name}" signed="false" sizeInBits="{bits}">'
            f"<xtce:UnitSet/>{_int_encoding(bits, False)}</xtce:Integer{kind}Type>")


def _xtce_alarm(f: FieldDef) -> str:
    if not f.warn and not f.crit:
        return ""
    out = ["<xtce:DefaultAlarm><xtce:StaticAlarmRanges>"]
    for tag, rng in (("WarningRange", f.warn), ("CriticalRange", f.crit)):
        if rng:
            attrs = "".join(f' {k}="{_fmt(v)}"' for k, v in
                            (("minInclusive", rng[0]), ("maxInclusive", rng[1])) if v is not None)
            out.append(f"<xtce:{tag}{attrs}/>")
    out.append("</xtce:StaticAlarmRanges></xtce:DefaultAlarm>")
    return "".join(out)


def _xtce_type(name: str, f: FieldDef) -> str:
    unit = _unit_set(f.unit)
    t = f.type
    if t == "bytes":
        return _binary_type("Parameter", name, f.size)
    bits = BITS_OF_TYPE[t]
    if t.startswith("f"):
        enc = _float_encoding(bits)
        return (f'<xtce:FloatParameterType name="{name}" sizeInBits="{bits}">{unit}{enc}'
                f"{_xtce_alarm(f)}</xtce:FloatParameterType>")
    signed = t.startswith("i")
    if f.enum:
        items = "".join(f'<xtce:Enumeration value="{v}" label={quoteattr(label)}/>'
                        for v, label in sorted(f.enum.items()))
        return (f'<xtce:EnumeratedParameterType name="{name}">{unit}'
                f"{_int_encoding(bits, signed)}"
                f"<xtce:EnumerationList>{items}</xtce:EnumerationList>"
                "</xtce:EnumeratedParameterType>")
    if f.poly:
        terms = "".join(f'<xtce:Term coefficient="{_fmt(c)}" exponent="{i}"/>'
                        for i, c in enumerate(f.poly))
        return (f'<xtce:FloatParameterType name="{name}" sizeInBits="64">{unit}'
                f'<xtce:IntegerDataEncoding sizeInBits="{bits}" '
                f'encoding="{"twosComplement" if signed else "unsigned"}">'
                f"<xtce:DefaultCalibrator><xtce:PolynomialCalibrator>{terms}"
                "</xtce:PolynomialCalibrator></xtce:DefaultCalibrator></xtce:IntegerDataEncoding>"
                f"{_xtce_alarm(f)}</xtce:FloatParameterType>")
    return (f'<xtce:IntegerParameterType name="{name}" signed="{str(signed).lower()}" '
            f'sizeInBits="{bits}">{unit}'
            f"{_int_encoding(bits, signed)}{_xtce_alarm(f)}</xtce:IntegerParameterType>")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _header_params(prefix: str, fields: Iterable[tuple[str, int]]) -> list[tuple[str, FieldDef]]:
    return [(n, FieldDef(n, "u64" if bits > 32 else "u32", doc=f"{prefix} header"))
            for n, bits in fields]


def to_xtce(packets: Iterable[PacketDef], system_name: str = "Tessera",
            commands: Iterable[CommandDef] = ()) -> str:
    """The XTCE 1.2 document of the dictionary's telemetry packets and, when
    given, its fixed-layout commands (variable-length ones have no layout)."""
    types: list[str] = []
    params: list[str] = []
    header_bits = dict(PRIMARY_HEADER + PUS_TM_HEADER + (("SID", 16), ("PEC", 16)))
    for name, bits in header_bits.items():
        types.append(_header_type("Parameter", f"{name}_T", bits))
        params.append(f'<xtce:Parameter name="{name}" parameterTypeRef="{name}_T"/>')

    def entries(names: Iterable[str]) -> str:
        return "".join(f'<xtce:ParameterRefEntry parameterRef="{n}"/>' for n in names)

    containers = [
        '<xtce:SequenceContainer name="CCSDSPacket" abstract="true"><xtce:EntryList>'
        f"{entries(n for n, _ in PRIMARY_HEADER)}</xtce:EntryList></xtce:SequenceContainer>",
        '<xtce:SequenceContainer name="PusTm" abstract="true"><xtce:EntryList>'
        f"{entries(n for n, _ in PUS_TM_HEADER)}</xtce:EntryList>"
        '<xtce:BaseContainer containerRef="CCSDSPacket"><xtce:RestrictionCriteria>'
        '<xtce:ComparisonList><xtce:Comparison parameterRef="TYPE" value="0"/>'
        '<xtce:Comparison parameterRef="SEC_HDR_FLG" value="1"/></xtce:ComparisonList>'
        "</xtce:RestrictionCriteria></xtce:BaseContainer></xtce:SequenceContainer>",
        '<xtce:SequenceContainer name="HkReport" abstract="true"><xtce:EntryList>'
        f'{entries(["SID"])}</xtce:EntryList>'
        '<xtce:BaseContainer containerRef="PusTm"><xtce:RestrictionCriteria>'
        '<xtce:ComparisonList><xtce:Comparison parameterRef="SERVICE" value="3"/>'
        '<xtce:Comparison parameterRef="SUBTYPE" value="25"/></xtce:ComparisonList>'
        "</xtce:RestrictionCriteria></xtce:BaseContainer></xtce:SequenceContainer>",
    ]
    for pkt in packets:
        names = []
        for qn, f in pkt.parameters:
            n = xtce_name(qn)
            element = FieldDef(n, f.type, 1, f.size, f.unit, f.doc, enum=f.enum, poly=f.poly,
                               warn=f.warn, crit=f.crit)
            types.append(_xtce_type(f"{n}_T", element))
            desc = f' shortDescription={quoteattr(f.doc[:200])}' if f.doc else ""
            params.append(f'<xtce:Parameter name="{n}" parameterTypeRef="{n}_T"{desc}/>')
            names.append(n)
        desc = f' shortDescription={quoteattr(pkt.doc[:200])}' if pkt.doc else ""
        containers.append(
            f'<xtce:SequenceContainer name="{xtce_name(pkt.name)}"{desc}><xtce:EntryList>'
            f"{entries([*names, 'PEC'])}</xtce:EntryList>"
            '<xtce:BaseContainer containerRef="HkReport"><xtce:RestrictionCriteria>'
            f'<xtce:Comparison parameterRef="SID" value="{pkt.sid}"/>'
            "</xtce:RestrictionCriteria></xtce:BaseContainer></xtce:SequenceContainer>")
    return ("<?xml version='1.0' encoding='UTF-8'?>\n"
            f'<xtce:SpaceSystem xmlns:xtce="{XTCE_NS}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="{XTCE_NS} {XTCE_XSD}" name="{system_name}">\n'
            "<xtce:TelemetryMetaData>\n"
            f"<xtce:ParameterTypeSet>\n{chr(10).join(types)}\n</xtce:ParameterTypeSet>\n"
            f"<xtce:ParameterSet>\n{chr(10).join(params)}\n</xtce:ParameterSet>\n"
            f"<xtce:ContainerSet>\n{chr(10).join(containers)}\n</xtce:ContainerSet>\n"
            f"</xtce:TelemetryMetaData>\n{_xtce_commands(commands)}</xtce:SpaceSystem>\n")


def _xtce_argument_type(name: str, a: FieldDef) -> str:
    """An XTCE argument type: encoding, units, enumeration and the declared valid range."""
    unit = _unit_set(a.unit)
    if a.type == "bytes":
        return _binary_type("Argument", name, a.size)
    bits = BITS_OF_TYPE[a.type]
    # integer argument types take integer bounds (xs:long), float ones xs:double
    fmt = _fmt if a.type.startswith("f") else (lambda v: str(int(v)))
    bounds = "".join(f' {k}="{fmt(v)}"' for k, v in (("minInclusive", a.low),
                                                     ("maxInclusive", a.high)) if v is not None)
    valid = (f"<xtce:ValidRangeSet><xtce:ValidRange{bounds}/></xtce:ValidRangeSet>"
             if bounds else "")
    if a.type.startswith("f"):
        return (f'<xtce:FloatArgumentType name="{name}" sizeInBits="{bits}">{unit}'
                f"{_float_encoding(bits)}{valid}</xtce:FloatArgumentType>")
    signed = a.type.startswith("i")
    encoding = _int_encoding(bits, signed)
    if a.enum:
        items = "".join(f'<xtce:Enumeration value="{v}" label={quoteattr(label)}/>'
                        for v, label in sorted(a.enum.items()))
        return (f'<xtce:EnumeratedArgumentType name="{name}">{unit}{encoding}'
                f"<xtce:EnumerationList>{items}</xtce:EnumerationList>"
                "</xtce:EnumeratedArgumentType>")
    return (f'<xtce:IntegerArgumentType name="{name}" signed="{str(signed).lower()}" '
            f'sizeInBits="{bits}">{unit}{encoding}{valid}</xtce:IntegerArgumentType>')


def _xtce_significance(cmd: CommandDef) -> str:
    """XTCE 1.2 DefaultSignificance: a critical command's consequence level."""
    if not cmd.critical:
        return ""
    return ('<xtce:DefaultSignificance consequenceLevel="critical" '
            'reasonForWarning="declared critical by its flight app: confirm before sending"/>')


def _xtce_commands(commands: Iterable[CommandDef]) -> str:
    """CommandMetaData: an abstract PUS TC[8,1] (perform a function, ECSS-E-ST-70-41C
    6.8) whose header fields are arguments, and one MetaCommand per command that
    fixes the header by argument assignment; its container lays out the whole
    packet (the inherited header arguments, then its own, then the PEC)."""
    commands = [c for c in commands if not c.variable]
    if not commands:
        return ""
    header = (*PRIMARY_HEADER, *PUS_TC_HEADER, ("FUNCTION_ID", 8))
    types = [_header_type("Argument", f"{n}_AT", bits) for n, bits in (*header, ("PEC", 16))]
    base_args = "".join(f'<xtce:Argument name="{n}" argumentTypeRef="{n}_AT"/>'
                        for n, _ in header)
    base_entries = "".join(f'<xtce:ArgumentRefEntry argumentRef="{n}"/>' for n, _ in header)
    metas = ['<xtce:MetaCommand name="PusTc8_1" abstract="true">'
             f"<xtce:ArgumentList>{base_args}</xtce:ArgumentList>"
             '<xtce:CommandContainer name="PusTc8_1_Container">'
             f"<xtce:EntryList>{base_entries}</xtce:EntryList></xtce:CommandContainer>"
             "</xtce:MetaCommand>"]
    fixed = {"VERSION": 0, "TYPE": 1, "SEC_HDR_FLG": 1, "SEQ_FLGS": 3, "PUS_VERSION": 2,
             "SERVICE": 8, "SUBTYPE": 1}
    for cmd in commands:
        name = xtce_name(f"{cmd.app}.{cmd.name}")
        assign = {**fixed, "PKT_APID": cmd.apid, "FUNCTION_ID": cmd.code}
        assignments = "".join(f'<xtce:ArgumentAssignment argumentName="{k}" '
                              f'argumentValue="{v}"/>' for k, v in assign.items())
        args, entries = [], []
        for a in cmd.args:
            element = FieldDef(a.name, a.type, 1, a.size, a.unit, a.doc, a.low, a.high,
                               enum=a.enum)
            for n in a.element_names:
                arg = f"{name}__{n}"
                types.append(_xtce_argument_type(f"{arg}_AT", element))
                desc = f" shortDescription={quoteattr(a.doc[:200])}" if a.doc else ""
                args.append(f'<xtce:Argument name="{n}" argumentTypeRef="{arg}_AT"{desc}/>')
                entries.append(f'<xtce:ArgumentRefEntry argumentRef="{n}"/>')
        args.append('<xtce:Argument name="PEC" argumentTypeRef="PEC_AT"/>')
        entries.append('<xtce:ArgumentRefEntry argumentRef="PEC"/>')
        desc = f" shortDescription={quoteattr(cmd.doc[:200])}" if cmd.doc else ""
        metas.append(
            f'<xtce:MetaCommand name="{name}"{desc}>'
            '<xtce:BaseMetaCommand metaCommandRef="PusTc8_1"><xtce:ArgumentAssignmentList>'
            f"{assignments}</xtce:ArgumentAssignmentList></xtce:BaseMetaCommand>"
            f"<xtce:ArgumentList>{''.join(args)}</xtce:ArgumentList>"
            f'<xtce:CommandContainer name="{name}_Container">'
            f"<xtce:EntryList>{base_entries}{''.join(entries)}</xtce:EntryList>"
            f"</xtce:CommandContainer>{_xtce_significance(cmd)}</xtce:MetaCommand>")
    return ("<xtce:CommandMetaData>\n"
            f"<xtce:ArgumentTypeSet>\n{chr(10).join(types)}\n</xtce:ArgumentTypeSet>\n"
            f"<xtce:MetaCommandSet>\n{chr(10).join(metas)}\n</xtce:MetaCommandSet>\n"
            "</xtce:CommandMetaData>\n")


# -- COSMOS ------------------------------------------------------------------------

_COSMOS_TYPE = {"u": "UINT", "i": "INT", "f": "FLOAT", "b": "UINT"}


def _q(text: str) -> str:
    return '"' + text.replace('"', "'").replace("\n", " ") + '"'


def _cosmos_item(lines: list[str], keyword: str, name: str, f: FieldDef,
                 extra: str = "") -> None:
    if f.type == "bytes":
        lines.append(f"  {keyword} {name} {f.size * 8} BLOCK {extra}{_q(f.doc)}".rstrip())
        return
    bits = BITS_OF_TYPE[f.type]
    lines.append(f"  {keyword} {name} {bits} {_COSMOS_TYPE[f.type[0]]} {extra}{_q(f.doc)}")
    if f.unit:
        lines.append(f"    UNITS {_q(f.unit)} {_q(f.unit)}")
    if f.enum:
        lines += [f"    STATE {_q(label)} {v}" for v, label in sorted(f.enum.items())]
    if f.poly:
        lines.append("    POLY_READ_CONVERSION " + " ".join(_fmt(c) for c in f.poly))
    if f.warn or f.crit:
        warn = f.warn or (None, None)
        crit = f.crit or warn
        big = 1e300

        def side(v: float | None, default: float) -> str:
            return _fmt(default if v is None else v)

        lines.append(f"    LIMITS DEFAULT 1 ENABLED {side(crit[0], -big)} {side(warn[0], -big)} "
                     f"{side(warn[1], big)} {side(crit[1], big)}")


def _cosmos_header(lines: list[str], fields: Iterable[tuple[str, int]],
                   ids: Mapping[str, int], keyword: str) -> None:
    for name, bits in fields:
        if keyword == "ITEM":
            kind = "APPEND_ID_ITEM" if name in ids else "APPEND_ITEM"
            value = f" {ids[name]}" if name in ids else ""
            lines.append(f"  {kind} {name} {bits} UINT{value} {_q(name)}")
        else:
            value = ids.get(name, 0)
            kind = "APPEND_ID_PARAMETER" if name in ids else "APPEND_PARAMETER"
            lines.append(f"  {kind} {name} {bits} UINT 0 {2**bits - 1} {value} {_q(name)}")


def to_cosmos(dictionary: Any, target: str = "TESSERA") -> str:
    """COSMOS command and telemetry definitions of the dictionary."""
    lines = [f"# Generated from the Tessera dictionary; target {target}."]
    for pkt in dictionary.packets.values():
        lines.append(f"TELEMETRY {target} {cosmos_name(pkt.name)} BIG_ENDIAN {_q(pkt.doc)}")
        _cosmos_header(lines, PRIMARY_HEADER, {"PKT_APID": pkt.sid}, "ITEM")
        _cosmos_header(lines, PUS_TM_HEADER, {"SERVICE": 3, "SUBTYPE": 25}, "ITEM")
        lines.append(f"  APPEND_ID_ITEM SID 16 UINT {pkt.sid} \"structure ID\"")
        for qn, f in pkt.parameters:
            _cosmos_item(lines, "APPEND_ITEM", qn.rsplit(".", 1)[1].upper(), f)
        lines.append('  APPEND_ITEM PEC 16 UINT "packet error control (CRC-16/CCITT)"')
    for app in dictionary.apps.values():
        for cmd in app.commands.values():
            if cmd.variable:
                continue  # no fixed layout to describe
            lines.append(f"COMMAND {target} {app.name.upper()}_{cmd.name} BIG_ENDIAN "
                         f"{_q(cmd.doc)}")
            if cmd.critical:  # COSMOS asks to confirm a hazardous command before sending
                lines.append('  HAZARDOUS "declared critical by its flight app"')
            _cosmos_header(lines, PRIMARY_HEADER, {"TYPE": 1, "SEC_HDR_FLG": 1,
                                                   "PKT_APID": app.apid, "SEQ_FLGS": 3}, "PARAM")
            _cosmos_header(lines, PUS_TC_HEADER, {"PUS_VERSION": 2, "ACK_FLAGS": 15,
                                                  "SERVICE": 8, "SUBTYPE": 1}, "PARAM")
            lines.append(f'  APPEND_ID_PARAMETER FUNCTION_ID 8 UINT 0 255 {cmd.code} '
                         '"function code"')
            for a in cmd.args:
                for n in a.element_names:
                    _cosmos_param(lines, n.upper(), a)
            lines.append('  APPEND_PARAMETER PEC 16 UINT 0 65535 0 "CRC-16/CCITT"')
    return "\n".join(lines) + "\n"


def _cosmos_param(lines: list[str], name: str, a: FieldDef) -> None:
    if a.type == "bytes":
        lines.append(f'  APPEND_PARAMETER {name} {a.size * 8} BLOCK "" {_q(a.doc)}')
        return
    bits = BITS_OF_TYPE[a.type]
    if a.type in INT_RANGE:
        lo, hi = INT_RANGE[a.type]
        lo = int(max(lo, a.low)) if a.low is not None else lo
        hi = int(min(hi, a.high)) if a.high is not None else hi
        default = min(max(0, lo), hi)
        lines.append(f"  APPEND_PARAMETER {name} {bits} {_COSMOS_TYPE[a.type[0]]} {lo} {hi} "
                     f"{default} {_q(a.doc)}")
    else:
        big = 3.4e38 if bits == 32 else 1.7e308
        lo = a.low if a.low is not None else -big
        hi = a.high if a.high is not None else big
        default = min(max(0.0, lo), hi)
        lines.append(f"  APPEND_PARAMETER {name} {bits} FLOAT {_fmt(lo)} {_fmt(hi)} "
                     f"{_fmt(default)} {_q(a.doc)}")
    if a.unit:
        lines.append(f"    UNITS {_q(a.unit)} {_q(a.unit)}")
    if a.enum:
        lines += [f"    STATE {_q(label)} {v}" for v, label in sorted(a.enum.items())]
