"""The payload app manifest (TOML) and the partner allocations it is checked against.

A partner declares everything about its app once, in ``manifest.toml``::

    [app]
    name = "hello"                # 1-16 of a-z 0-9 _ , starting with a letter
    partner = "uni-a"             # the key holder that signs the bundle
    version = 3                   # whole number; a bundle may never go back
    entry = "hello.app:HelloApp"  # module:Class inside the bundle
    apid = 0x100                  # commands on cmd_msg_id(apid), HK on tm_msg_id(apid)
    rate_hz = 1                   # execute() calls per second (0.1 .. 10)
    devices = []                  # devices the app may use (granted by the operator)
    subscribe = ["ExecutiveHousekeeping"]   # operator telemetry it may read

    [resources]
    cpu_percent = 10              # share of one core, per cent
    memory_mib = 96               # address space, MiB
    storage_kib = 1024            # private directory, KiB
    storage_files = 64            # files in it (64 when left out)
    messages_per_s = 50           # bus messages the app may publish per second
    downlink_bytes_per_day = 2_000_000

    [[telemetry]]
    name = "HelloStatus"
    apid = 0x101
    fields = [{ name = "count", type = "I" }, { name = "temp_c", type = "f", unit = "degC" }]

    [[commands]]
    name = "SET_GAIN"
    code = 10
    args = [{ name = "gain", type = "f", low = 0, high = 10 }]

    [[parameters]]
    name = "threshold"
    type = "f"
    default = 1.5
    low = 0
    high = 100

The telemetry and commands feed the dictionary; the SDK builds its message
layouts from them, so nothing is declared twice.

The bus operator keeps the allocations (`load_allocations`): for each
partner, its APID range, its resource ceilings, the devices and operator
telemetry it may be granted, and its Ed25519 public key. `check_allocation`
says every way a manifest exceeds its partner's allocation.

Every failure to read or check a manifest raises `ManifestError` with the
key at fault.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from fsw.core.message import Field, MessageType, cmd_msg_id, tm_msg_id

APP_NAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
ENTRY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")
MAX_MANIFEST_BYTES = 64 * 1024
MAX_FIELDS = 32
MAX_DECLARED = 32
RATES_HZ = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
# Function codes 0-3 are the standard commands every app answers (fsw.core.app).
FIRST_PARTNER_CODE = 10
FIELD_TYPES = frozenset("BbHhIiQqfd?")

RESOURCE_KEYS = ("cpu_percent", "memory_mib", "storage_kib", "storage_files",
                 "messages_per_s", "downlink_bytes_per_day")


class ManifestError(ValueError):
    """A manifest or allocation that cannot be used; the text names the key at fault."""


@dataclass(frozen=True)
class Resources:
    """What one app may use. Units are in the names."""

    cpu_percent: float = 10.0
    memory_mib: int = 96
    storage_kib: int = 1024
    storage_files: int = 64
    messages_per_s: int = 50
    downlink_bytes_per_day: int = 1_000_000


@dataclass(frozen=True)
class CommandDecl:
    name: str
    code: int
    args: tuple[Field, ...]
    doc: str = ""


@dataclass(frozen=True)
class ParameterDecl:
    name: str
    fmt: str
    default: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Manifest:
    """A checked manifest (see the module docstring for the file)."""

    name: str
    partner: str
    version: int
    entry: str
    apid: int
    rate_hz: float
    resources: Resources
    telemetry: tuple[MessageType, ...] = ()
    commands: tuple[CommandDecl, ...] = ()
    parameters: tuple[ParameterDecl, ...] = ()
    devices: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()

    @property
    def apids(self) -> tuple[int, ...]:
        """Every APID the app uses: its own and its telemetry's."""
        return (self.apid, *sorted({t.msg_id & 0x7FF for t in self.telemetry}))

    @property
    def publish_ids(self) -> frozenset[int]:
        """Message ids the app may publish: its telemetry (not its housekeeping,
        which the host publishes from what the app reports)."""
        return frozenset(t.msg_id for t in self.telemetry)

    @property
    def command_id(self) -> int:
        return cmd_msg_id(self.apid)

    @property
    def hk_id(self) -> int:
        return tm_msg_id(self.apid)


@dataclass(frozen=True)
class Allocation:
    """What the bus operator grants one partner."""

    partner: str
    apid_low: int
    apid_high: int
    resources: Resources
    devices: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()
    public_key: bytes | None = None  # raw Ed25519 public key, 32 octets
    max_apps: int = 4

    def holds(self, apid: int) -> bool:
        return self.apid_low <= apid <= self.apid_high


def _need(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ManifestError(f"{where}.{key} is missing")
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ManifestError(f"{where}.{key} has the wrong type ({type(value).__name__})")
    return value


def _number(table: Mapping[str, Any], key: str, where: str, low: float, high: float,
            default: float | None = None, whole: bool = False) -> Any:
    if key not in table and default is not None:
        return default
    value = _need(table, key, int if whole else (int, float), where)
    if isinstance(value, bool) or not low <= value <= high:
        raise ManifestError(f"{where}.{key} = {value!r} is outside {low:g}..{high:g}")
    return value


def _fields(items: Any, where: str) -> tuple[Field, ...]:
    if not isinstance(items, list) or len(items) > MAX_FIELDS:
        raise ManifestError(f"{where} must be a list of at most {MAX_FIELDS} fields")
    out = []
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise ManifestError(f"{here} must be a table")
        name = _need(item, "name", str, here)
        fmt = _need(item, "type", str, here)
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
            raise ManifestError(f"{here}.name {name!r} must be a lower-case identifier")
        if fmt not in FIELD_TYPES:
            raise ManifestError(f"{here}.type {fmt!r} is not one of {''.join(sorted(FIELD_TYPES))}")
        low = item.get("low")
        high = item.get("high")
        for key, bound in (("low", low), ("high", high)):
            if bound is not None and (isinstance(bound, bool)
                                      or not isinstance(bound, (int, float))):
                raise ManifestError(f"{here}.{key} must be a number")
        try:
            out.append(Field(name, fmt, str(item.get("unit", "")), str(item.get("doc", "")),
                             low, high))
        except ValueError as exc:
            raise ManifestError(f"{here}: {exc}") from None
    if len({f.name for f in out}) != len(out):
        raise ManifestError(f"{where} declares a field name twice")
    return tuple(out)


def _resources(table: Any, where: str) -> Resources:
    if not isinstance(table, Mapping):
        raise ManifestError(f"{where} must be a table")
    unknown = set(table) - set(RESOURCE_KEYS)
    if unknown:
        raise ManifestError(f"{where} has unknown keys {sorted(unknown)}")
    d = Resources()
    return Resources(
        cpu_percent=float(_number(table, "cpu_percent", where, 1, 100, d.cpu_percent)),
        memory_mib=int(_number(table, "memory_mib", where, 32, 4096, d.memory_mib, True)),
        storage_kib=int(_number(table, "storage_kib", where, 0, 1 << 22, d.storage_kib, True)),
        storage_files=int(_number(table, "storage_files", where, 0, 65536, d.storage_files,
                                  True)),
        messages_per_s=int(_number(table, "messages_per_s", where, 1, 100_000,
                                   d.messages_per_s, True)),
        downlink_bytes_per_day=int(_number(table, "downlink_bytes_per_day", where, 0, 1 << 34,
                                           d.downlink_bytes_per_day, True)))


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{where} must be a list of names")
    return tuple(value)


def _tables(doc: Mapping[str, Any], key: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The [[key]] tables of the document, each with where it is, for error messages."""
    items = doc.get(key, [])
    if not isinstance(items, list) or len(items) > MAX_DECLARED:
        raise ManifestError(f"{key} must be at most {MAX_DECLARED} [[{key}]] tables")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ManifestError(f"{key}[{i}] must be a table")
        out.append((f"{key}[{i}]", item))
    return out


def _name(item: Mapping[str, Any], where: str, pattern: str, style: str) -> str:
    name = _need(item, "name", str, where)
    if not re.fullmatch(pattern, name):
        raise ManifestError(f"{where}.name {name!r} must be {style}")
    return name


def parse_manifest(text: str | bytes) -> Manifest:
    """Parse and check the manifest text (not yet against an allocation)."""
    if isinstance(text, bytes):
        if len(text) > MAX_MANIFEST_BYTES:
            raise ManifestError(f"manifest is {len(text)} bytes, at most {MAX_MANIFEST_BYTES}")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ManifestError("manifest is not UTF-8") from None
    if len(text) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest is longer than {MAX_MANIFEST_BYTES} characters")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"manifest is not valid TOML: {exc}") from None
    unknown = set(doc) - {"app", "resources", "telemetry", "commands", "parameters"}
    if unknown:
        raise ManifestError(f"manifest has unknown tables {sorted(unknown)}")
    app = _need(doc, "app", dict, "manifest")
    name = _need(app, "name", str, "app")
    if not APP_NAME.match(name):
        raise ManifestError(f"app.name {name!r} must be 1-16 of a-z, 0-9, _ starting with a "
                            "letter")
    partner = _need(app, "partner", str, "app")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", partner):
        raise ManifestError(f"app.partner {partner!r} is not a key holder name")
    version = _number(app, "version", "app", 1, 2**31 - 1, whole=True)
    entry = _need(app, "entry", str, "app")
    if not ENTRY.match(entry):
        raise ManifestError(f"app.entry {entry!r} must look like 'package.module:Class'")
    apid = _number(app, "apid", "app", 0, 0x7FE, whole=True)
    rate_hz = float(_number(app, "rate_hz", "app", 0.1, 10, 1.0))
    if not any(abs(rate_hz - r) < 1e-9 for r in RATES_HZ):
        raise ManifestError(f"app.rate_hz {rate_hz:g} must be one of "
                            f"{', '.join(f'{r:g}' for r in RATES_HZ)}")
    devices = _names(app.get("devices", []), "app.devices")
    subscribe = _names(app.get("subscribe", []), "app.subscribe")
    resources = _resources(doc.get("resources", {}), "resources")

    telemetry: list[MessageType] = []
    for where, item in _tables(doc, "telemetry"):
        tname = _name(item, where, r"[A-Z][A-Za-z0-9]{0,47}", "CamelCase")
        tapid = _number(item, "apid", where, 0, 0x7FE, whole=True)
        if tapid == apid:
            raise ManifestError(f"{where}.apid {tapid:#x} is the app's own (housekeeping) APID")
        telemetry.append(MessageType(tname, tm_msg_id(tapid),
                                     _fields(item.get("fields", []), f"{where}.fields"),
                                     str(item.get("doc", ""))))
    if len({t.name for t in telemetry}) != len(telemetry):
        raise ManifestError("telemetry declares a name twice")
    if len({t.msg_id for t in telemetry}) != len(telemetry):
        raise ManifestError("telemetry declares an APID twice")

    commands: list[CommandDecl] = []
    for where, item in _tables(doc, "commands"):
        cname = _name(item, where, r"[A-Z][A-Z0-9_]{0,31}", "UPPER_CASE")
        code = _number(item, "code", where, FIRST_PARTNER_CODE, 255, whole=True)
        commands.append(CommandDecl(cname, code, _fields(item.get("args", []), f"{where}.args"),
                                    str(item.get("doc", ""))))
    if len({c.code for c in commands}) != len(commands):
        raise ManifestError("commands declare a function code twice")
    if len({c.name for c in commands}) != len(commands):
        raise ManifestError("commands declare a name twice")

    parameters: list[ParameterDecl] = []
    for where, item in _tables(doc, "parameters"):
        (f,) = _fields([{k: item[k] for k in ("name", "type", "low", "high") if k in item}],
                       where)
        default = _need(item, "default", (int, float), where)
        why = f.check(default)
        if why:
            raise ManifestError(f"{where}.default: {why}")
        parameters.append(ParameterDecl(f.name, f.fmt, default, f.low, f.high))

    return Manifest(name, partner, int(version), entry, int(apid), rate_hz, resources,
                    tuple(telemetry), tuple(commands), tuple(parameters), devices, subscribe)


def load_manifest(path: str | Path) -> Manifest:
    """Read and check a manifest file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ManifestError(f"{path}: {exc.strerror}") from None
    return parse_manifest(data)


def check_allocation(manifest: Manifest, allocations: Mapping[str, Allocation] | Allocations,
                     ) -> list[str]:
    """Every way `manifest` exceeds its partner's allocation (empty when it fits).

    Given the whole `Allocations` with a key file attached, the app's command
    APID must also be one its partner's key may command.
    """
    rights = None
    if isinstance(allocations, Allocations):
        rights = allocations.command_rights or None
        allocations = allocations.partners
    alloc = allocations.get(manifest.partner)
    if alloc is None:
        return [f"partner {manifest.partner!r} has no allocation"]
    why = []
    for apid in manifest.apids:
        if not alloc.holds(apid):
            why.append(f"APID {apid:#05x} is outside {manifest.partner}'s "
                       f"{alloc.apid_low:#05x}-{alloc.apid_high:#05x}")
    may_command = rights.get(manifest.partner) if rights is not None else None
    if rights is not None and may_command is None:
        why.append(f"{manifest.partner} holds no key in the key file")
    elif may_command is not None and not may_command(manifest.apid):
        why.append(f"APID {manifest.apid:#05x} is not one {manifest.partner} may command "
                   "(key file)")
    for key in RESOURCE_KEYS:
        asked, limit = getattr(manifest.resources, key), getattr(alloc.resources, key)
        if asked > limit:
            why.append(f"{key} {asked:g} is over the allocation of {limit:g}")
    for dev in manifest.devices:
        if dev not in alloc.devices:
            why.append(f"device {dev!r} is not granted to {manifest.partner}")
    for topic in manifest.subscribe:
        if topic not in alloc.topics:
            why.append(f"topic {topic!r} is not granted to {manifest.partner}")
    return why


def _allocation(partner: str, table: Mapping[str, Any]) -> Allocation:
    where = f"partners.{partner}"
    apids = _need(table, "apids", list, where)
    if len(apids) != 2 or not all(isinstance(a, int) and 0 <= a <= 0x7FE for a in apids) \
            or apids[0] > apids[1]:
        raise ManifestError(f"{where}.apids must be [low, high] within 0..0x7FE")
    key_hex = table.get("public_key")
    key = None
    if key_hex:
        try:
            key = bytes.fromhex(str(key_hex))
        except ValueError:
            raise ManifestError(f"{where}.public_key is not hex") from None
        if len(key) != 32:
            raise ManifestError(f"{where}.public_key must be 32 octets (Ed25519)")
    return Allocation(partner, apids[0], apids[1],
                      _resources(table.get("resources", {}), f"{where}.resources"),
                      frozenset(_names(table.get("devices", []), f"{where}.devices")),
                      frozenset(_names(table.get("topics", []), f"{where}.topics")),
                      key, int(_number(table, "max_apps", where, 1, 64, 4, True)))


@dataclass
class Allocations:
    """The operator's allocations file: partners and the operator's public key."""

    partners: dict[str, Allocation] = field(default_factory=dict)
    operator_key: bytes | None = None
    # APIDs each key holder may command, from the space-link key file (None: all);
    # when known, a manifest's APIDs must also be commandable by its partner.
    command_rights: dict[str, Callable[[int], bool]] = field(default_factory=dict)

    def attach_key_file(self, path: str | Path) -> None:
        """Take each partner's command rights from the key file the comms app uses."""
        from fsw.protocol.errors import SecurityError
        from fsw.protocol.keyfile import load_key_file
        try:
            key_file = load_key_file(path)
        except SecurityError as exc:
            raise ManifestError(f"key file {path}: {exc}") from None
        for sa in key_file.sas:
            self.command_rights[sa.owner] = sa.rights.may_command

    def __getitem__(self, partner: str) -> Allocation:
        return self.partners[partner]

    def get(self, partner: str) -> Allocation | None:
        return self.partners.get(partner)

    def __contains__(self, partner: object) -> bool:
        return partner in self.partners


def parse_allocations(doc: Mapping[str, Any]) -> Allocations:
    """Allocations from a parsed TOML document::

        [operator]
        public_key = "<64 hex>"
        [partners.uni-a]
        apids = [0x100, 0x10F]
        public_key = "<64 hex>"
        devices = []
        topics = ["ExecutiveHousekeeping"]
        [partners.uni-a.resources]
        cpu_percent = 20
        ...
    """
    out = Allocations()
    op = doc.get("operator", {})
    if isinstance(op, Mapping) and op.get("public_key"):
        try:
            out.operator_key = bytes.fromhex(str(op["public_key"]))
        except ValueError:
            raise ManifestError("operator.public_key is not hex") from None
    partners = doc.get("partners", {})
    if not isinstance(partners, Mapping):
        raise ManifestError("partners must be a table")
    spans: list[tuple[int, int, str]] = []
    for name, table in partners.items():
        if not isinstance(table, Mapping):
            raise ManifestError(f"partners.{name} must be a table")
        alloc = _allocation(name, table)
        for lo, hi, other in spans:
            if alloc.apid_low <= hi and lo <= alloc.apid_high:
                raise ManifestError(f"partners {other} and {name} share APIDs")
        spans.append((alloc.apid_low, alloc.apid_high, name))
        out.partners[name] = alloc
    return out


def load_allocations(path: str | Path) -> Allocations:
    """Read the operator's allocations file (see `parse_allocations`)."""
    try:
        with Path(path).open("rb") as fh:
            return parse_allocations(tomllib.load(fh))
    except OSError as exc:
        raise ManifestError(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: {exc}") from None
