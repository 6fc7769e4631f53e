"""The command and telemetry dictionary: generated from the flight apps, read by the ground.

Generation (`generate`) imports the flight apps a flight configuration flies
and writes what they declare (commands and their typed, ranged arguments;
housekeeping and telemetry layouts with units, enumerations, calibrations
and limits; events; parameters) as one JSON document. Everything on the
ground (decoder, console, exports) reads only that document through
`Dictionary`; nothing on the ground imports a flight app to decode.

How telemetry reaches the ground (see fsw/apps/comms): an app's
housekeeping, and any other fixed-layout message the ground enables as a
housekeeping structure, comes down as PUS TM[3,25] on APID = structure ID =
the APID of the message id, its source data the 16-bit structure ID then the
message's fields, big-endian, unpadded. Events come down as TM[5,severity]
on the raising app's APID: event ID (16 bits) then the text.

Field types: u8 i8 u16 i16 u32 i32 u64 i64 (big-endian integers), f32 f64
(IEEE 754), bool (one octet), bytes (`size` octets). A field with `count`
> 1 is an array; it is decoded into `count` parameters named `name_0`,
`name_1`, ...
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "tessera-dictionary"
VERSION = 1

TYPE_OF_CODE = {"B": "u8", "b": "i8", "?": "bool", "H": "u16", "h": "i16", "I": "u32",
                "i": "i32", "Q": "u64", "q": "i64", "f": "f32", "d": "f64", "s": "bytes"}
CODE_OF_TYPE = {v: k for k, v in TYPE_OF_CODE.items()}
BITS_OF_TYPE = {"u8": 8, "i8": 8, "bool": 8, "u16": 16, "i16": 16, "u32": 32, "i32": 32,
                "u64": 64, "i64": 64, "f32": 32, "f64": 64}
INT_RANGE = {"u8": (0, 0xFF), "i8": (-0x80, 0x7F), "u16": (0, 0xFFFF), "i16": (-0x8000, 0x7FFF),
             "u32": (0, 0xFFFFFFFF), "i32": (-0x80000000, 0x7FFFFFFF), "u64": (0, 2**64 - 1),
             "i64": (-(2**63), 2**63 - 1), "bool": (0, 1)}

HK_SERVICE, HK_SUBTYPE = 3, 25
EXECUTIVE_NAME = "executive"


class DictionaryError(ValueError):
    """A dictionary document that cannot be used, with the reason."""


# -- the model the ground uses ------------------------------------------------------

@dataclass(frozen=True)
class FieldDef:
    """One field of a packet, command or parameter, as the dictionary states it."""

    name: str
    type: str
    count: int = 1
    size: int = 0
    unit: str = ""
    doc: str = ""
    low: float | None = None
    high: float | None = None
    enum: Mapping[int, str] | None = None
    poly: tuple[float, ...] | None = None
    warn: tuple[float | None, float | None] | None = None
    crit: tuple[float | None, float | None] | None = None

    @property
    def code(self) -> str:
        """The struct code of the whole field (``"3f"``, ``"16s"``)."""
        base = CODE_OF_TYPE[self.type]
        if self.type == "bytes":
            return f"{self.size}s"
        return f"{self.count}{base}" if self.count > 1 else base

    @property
    def nbytes(self) -> int:
        return struct.calcsize(">" + self.code)

    @property
    def element_names(self) -> tuple[str, ...]:
        """The names of the decoded values: the field's, or one per array element."""
        if self.count == 1:
            return (self.name,)
        return tuple(f"{self.name}_{i}" for i in range(self.count))

    def check(self, value: Any) -> str | None:
        """Why `value` cannot be sent in this field (type, integer range, declared range).

        The ranges are checked by the same code the flight software runs on the
        command (`fsw.core.message.Field.check`), so the ground refuses exactly what
        the spacecraft would.
        """
        if self.type == "bytes":
            return None if isinstance(value, bytes) else f"{self.name} takes bytes"
        values = list(value) if self.count > 1 and isinstance(value, (list, tuple)) else [value]
        if len(values) != self.count:
            return f"{self.name} takes {self.count} values"
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return f"{self.name} takes a number, not {v!r}"
        from fsw.core.message import Field

        return Field(self.name, self.code, low=self.low, high=self.high).check(
            value if self.count > 1 else values[0])

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> FieldDef:
        enum = d.get("enum")
        return cls(d["name"], d["type"], int(d.get("count", 1)), int(d.get("size", 0)),
                   d.get("unit", ""), d.get("doc", ""), d.get("low"), d.get("high"),
                   {int(k): v for k, v in enum.items()} if enum else None,
                   tuple(d["poly"]) if d.get("poly") else None,
                   tuple(d["warn"]) if d.get("warn") else None,
                   tuple(d["crit"]) if d.get("crit") else None)


@dataclass(frozen=True)
class PacketDef:
    """A telemetry packet: a housekeeping structure (TM[3,25]) with a fixed layout."""

    name: str
    app: str
    sid: int
    fields: tuple[FieldDef, ...]
    doc: str = ""

    @property
    def apid(self) -> int:
        return self.sid

    @property
    def struct_format(self) -> str:
        return ">" + "".join(f.code for f in self.fields)

    @property
    def parameters(self) -> tuple[tuple[str, FieldDef], ...]:
        """(qualified parameter name, field) for every decoded value, in packet order."""
        return tuple((f"{self.name}.{n}", f) for f in self.fields for n in f.element_names)


@dataclass(frozen=True)
class CommandDef:
    app: str
    apid: int
    code: int
    name: str
    args: tuple[FieldDef, ...]
    doc: str = ""
    variable: bool = False
    critical: bool = False
    """Declared critical by its flight app: a ground confirms before sending it."""

    def encode_args(self, values: Mapping[str, Any]) -> bytes:
        fmt = ">" + "".join(a.code for a in self.args)
        flat: list[Any] = []
        for a in self.args:
            v = values[a.name]
            if a.count > 1:
                flat.extend(v)
            elif a.type in INT_RANGE:
                flat.append(int(v))
            else:
                flat.append(v)
        return struct.pack(fmt, *flat)


@dataclass(frozen=True)
class EventDefinition:
    app: str
    apid: int
    id: int
    name: str
    severity: int
    text: str
    burst: int | None = None
    rate_hz: float = 0.0
    doc: str = ""


@dataclass(frozen=True)
class ParameterDef:
    app: str
    apid: int
    index: int
    field: FieldDef
    default: float


@dataclass(frozen=True)
class AppDef:
    name: str
    apid: int
    doc: str
    commands: dict[str, CommandDef]
    events: dict[int, EventDefinition]
    parameters: dict[str, ParameterDef]


class Dictionary:
    """The ground's view of one spacecraft design, read from a dictionary document."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        if doc.get("format") != FORMAT:
            raise DictionaryError("not a Tessera dictionary (no 'format' of "
                                  f"{FORMAT!r})")
        if doc.get("version") != VERSION:
            raise DictionaryError(f"dictionary version {doc.get('version')!r}; "
                                  f"this ground reads version {VERSION}")
        self.doc = doc
        self.apps: dict[str, AppDef] = {}
        self.apps_by_apid: dict[int, AppDef] = {}
        self.packets: dict[int, PacketDef] = {}
        self.packets_by_name: dict[str, PacketDef] = {}
        try:
            for a in doc["apps"]:
                self._add_app(a)
            for p in doc["packets"]:
                pkt = PacketDef(p["name"], p["app"], int(p["sid"]),
                                tuple(FieldDef.from_json(f) for f in p["fields"]), p.get("doc", ""))
                self.packets[pkt.sid] = pkt
                self.packets_by_name[pkt.name] = pkt
        except (KeyError, TypeError, ValueError) as exc:
            raise DictionaryError(f"malformed dictionary: {exc!r}") from None
        self.failure_codes = {int(k): v for k, v in doc.get("failure_codes", {}).items()}
        self.parameters: dict[str, tuple[PacketDef, FieldDef]] = {
            qn: (pkt, f) for pkt in self.packets.values() for qn, f in pkt.parameters}

    def _add_app(self, a: Mapping[str, Any]) -> None:
        name, apid = a["name"], int(a["apid"])
        cmds = {c["name"]: CommandDef(name, apid, int(c["code"]), c["name"],
                                      tuple(FieldDef.from_json(f) for f in c["args"]),
                                      c.get("doc", ""), bool(c.get("variable")),
                                      c.get("critical") is True)
                for c in a["commands"]}
        events = {int(e["id"]): EventDefinition(name, apid, int(e["id"]), e["name"],
                                                int(e["severity"]), e["text"], e.get("burst"),
                                                float(e.get("rate_hz", 0.0)), e.get("doc", ""))
                  for e in a["events"]}
        params = {p["name"]: ParameterDef(name, apid, int(p["index"]), FieldDef.from_json(p),
                                          p["default"])
                  for p in a["parameters"]}
        app = AppDef(name, apid, a.get("doc", ""), cmds, events, params)
        self.apps[name] = app
        self.apps_by_apid[apid] = app

    @classmethod
    def load(cls, path: str | Path) -> Dictionary:
        try:
            return cls(json.loads(Path(path).read_text()))
        except OSError as exc:
            raise DictionaryError(f"cannot read dictionary {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise DictionaryError(f"dictionary {path} is not JSON: {exc}") from None

    def command(self, app: str, name: str) -> CommandDef:
        try:
            return self.apps[app].commands[name.upper()]
        except KeyError:
            if app not in self.apps:
                raise DictionaryError(f"no app named {app!r}") from None
            raise DictionaryError(f"app {app} has no command {name.upper()}") from None

    def event(self, apid: int, event_id: int) -> EventDefinition | None:
        app = self.apps_by_apid.get(apid)
        return app.events.get(event_id) if app else None

    def app_name(self, apid: int) -> str:
        app = self.apps_by_apid.get(apid)
        return app.name if app else f"apid{apid:#05x}"


# -- generation from the flight declarations --------------------------------------

def field_json(f: Any) -> dict[str, Any]:
    """The dictionary entry of one `fsw.core.message.Field`."""
    code = f.fmt[-1]
    out: dict[str, Any] = {"name": f.name, "type": TYPE_OF_CODE[code]}
    if code == "s":
        out["size"] = f.size
    elif f.count > 1:
        out["count"] = f.count
    for key in ("unit", "doc"):
        if getattr(f, key):
            out[key] = getattr(f, key)
    for key in ("low", "high"):
        if getattr(f, key) is not None:
            out[key] = getattr(f, key)
    if f.enum:
        out["enum"] = {str(v): label for v, label in f.enum}
    for key in ("poly", "warn", "crit"):
        if getattr(f, key):
            out[key] = list(getattr(f, key))
    return out


def _event_json(e: Any) -> dict[str, Any]:
    out = {"id": e.id, "name": e.name, "severity": int(e.severity), "text": e.text}
    if e.burst is not None:
        out["burst"] = e.burst
        out["rate_hz"] = e.rate_hz
    if e.doc:
        out["doc"] = e.doc
    return out


def _packet_json(name: str, app: str, mtype: Any) -> dict[str, Any]:
    return {"name": name, "app": app, "sid": mtype.msg_id & 0x7FF, "service": HK_SERVICE,
            "subtype": HK_SUBTYPE, "doc": mtype.doc,
            "fields": [field_json(f) for f in mtype.fields]}


def app_json(cls: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The dictionary entry of one flight App class and its packets."""
    commands = []
    for code, spec in sorted(cls.COMMANDS.items()):
        commands.append({"code": code, "name": spec.name, "doc": spec.doc,
                         "args": [field_json(f) for f in spec.args.fields],
                         **({"variable": True} if spec.parse is not None else {}),
                         **({"critical": True} if spec.critical else {})})
    params = []
    for i, p in enumerate(cls.PARAMETERS):
        params.append({"index": i, "default": p.default, **field_json(p.field)})
    entry = {"name": cls.NAME, "apid": cls.APID, "class": f"{cls.__module__}:{cls.__qualname__}",
             "doc": ((cls.__doc__ or "").strip().splitlines() or [""])[0],
             "commands": commands,
             "events": [_event_json(e) for _, e in sorted(cls.EVENT_TABLE.items())],
             "parameters": params}
    packets = [_packet_json(f"{cls.NAME}.hk", cls.NAME, cls.HK)]
    packets += [_packet_json(f"{cls.NAME}.{m.name}", cls.NAME, m) for m in cls.TELEMETRY]
    return entry, packets


def generate(config: str | Path | Mapping[str, Any], *,
             extra_apps: Iterable[Any] = ()) -> dict[str, Any]:
    """The dictionary of the apps a flight configuration flies (plus `extra_apps` classes).

    Imports the flight apps: this is the one place the ground does.
    """
    from fsw.core.executive import (
        EXECUTIVE_EVENTS,
        EXECUTIVE_HK,
        load_config,
        resolve_app_class,
    )
    from fsw.core.ids import EXECUTIVE_APID

    cfg = load_config(config)
    classes = [resolve_app_class(a["class"], a["name"]) for a in cfg.get("apps", [])]
    classes += [c for c in extra_apps if c not in classes]
    apps = [{"name": EXECUTIVE_NAME, "apid": EXECUTIVE_APID, "doc": "the flight executive",
             "commands": [], "events": [_event_json(e) for e in EXECUTIVE_EVENTS],
             "parameters": []}]
    packets = [_packet_json(f"{EXECUTIVE_NAME}.hk", EXECUTIVE_NAME, EXECUTIVE_HK)]
    for cls in classes:
        entry, pkts = app_json(cls)
        apps.append(entry)
        packets += pkts
    from fsw.apps.comms.app import LINK_FAILURE_BASE
    from fsw.core.app import Reason as AppReason
    from fsw.protocol.errors import Reason as LinkReason
    failure_codes = {str(int(r)): r.name for r in AppReason}
    failure_codes.update({str(LINK_FAILURE_BASE + int(r)): r.name for r in LinkReason})
    _unique(apps, "apid", "APID", "app")
    _unique(apps, "name", "name", "app")
    _unique(packets, "sid", "structure ID (APID)", "packet")
    _unique(packets, "name", "name", "packet")
    return {"format": FORMAT, "version": VERSION, "apps": apps, "packets": packets,
            "failure_codes": failure_codes}


def _unique(entries: list[dict[str, Any]], key: str, what: str, kind: str) -> None:
    """DictionaryError naming the first two entries that declare the same `key`
    (a partner app's manifest colliding with the operator's declarations, say)."""
    seen: dict[Any, str] = {}
    for e in entries:
        value = e[key]
        if value in seen:
            shown = f"{value:#05x}" if isinstance(value, int) else repr(value)
            raise DictionaryError(f"{kind} {e['name']} has the {what} {shown} of "
                                  f"{kind} {seen[value]}: ids are declared once")
        seen[value] = e["name"]


def write(doc: Mapping[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
