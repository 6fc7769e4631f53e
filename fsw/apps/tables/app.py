"""The table services app: the ground's handle on every table on board.

Tables belong to the apps that use them (`fsw.core.tables`); this app takes
the ground's table commands and drives the registry: LOAD puts JSON content
in a table's inactive buffer, VALIDATE checks it as a whole with the owner's
rules, ACTIVATE hands it to the owner at the owner's next safe point (and
keeps the old content for ROLLBACK), REPORT publishes what is active (its
CRC-32, so the ground can compare with what it sent). Each step is an event;
a refused table's event lists its problems.

Commands (function code: arguments):

- 10 LOAD: table name (16 bytes, NUL padded) then the UTF-8 JSON content
- 11 VALIDATE, 12 ACTIVATE, 13 ROLLBACK, 14 REPORT: table name (16 bytes)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fsw.core import App, CommandError, Field, MessageType, Reason, Severity, command
from fsw.core.events import EventDef
from fsw.core.ids import TABLE_REPORT_APID, TABLES_APID
from fsw.core.message import tm_msg_id
from fsw.core.tables import NAME_BYTES, TableError, encode_content

TABLE_REPORT = MessageType("TableReport", tm_msg_id(TABLE_REPORT_APID), [
    Field("name", f"{NAME_BYTES}s", doc="table name, NUL padded"),
    Field("state", "B", doc="fsw.core.tables.TableState of the inactive buffer"),
    Field("active_crc32", "I", doc="CRC-32 of the active content's canonical JSON"),
    Field("active_bytes", "H"),
    Field("activations", "H", doc="activations and rollbacks since boot"),
    Field("has_previous", "?", doc="a rollback is possible"),
], doc="What one table holds")

EV_LOADED = EventDef(10, "LOADED", Severity.INFO, "table {table}: {size} bytes loaded")
EV_VALIDATED = EventDef(11, "VALIDATED", Severity.INFO, "table {table} validated")
EV_REFUSED = EventDef(12, "REFUSED", Severity.MEDIUM, "table {table} refused: {problem}",
                      burst=8, rate_hz=1.0, doc="one per problem the validation found")
EV_ACTIVATED = EventDef(13, "ACTIVATED", Severity.INFO,
                        "table {table} active in {owner}: crc {crc:08x}")
EV_ROLLBACK = EventDef(14, "ROLLBACK", Severity.MEDIUM, "table {table}: rollback requested")

_NAME = Field("name", f"{NAME_BYTES}s", doc="table name, NUL padded")


def _name(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("utf-8", "replace")


def _parse_load(body: bytes) -> dict[str, Any]:
    if len(body) <= NAME_BYTES:
        raise ValueError(f"LOAD needs a {NAME_BYTES}-byte name and content")
    return {"name": body[:NAME_BYTES], "content": body[NAME_BYTES:]}


def encode_load(name: str, content: Any) -> bytes:
    """The argument bytes of LOAD for `content` (used by the ground and tests)."""
    return name.encode().ljust(NAME_BYTES, b"\0") + encode_content(content)


class TablesApp(App):
    NAME = "tables"
    APID = TABLES_APID
    HK_FIELDS = (
        Field("tables", "B", doc="tables registered"),
        Field("loads", "H"),
        Field("refused", "H", doc="validations that found problems"),
        Field("activations", "H", doc="activations and rollbacks taken by owners"),
    )
    TELEMETRY = (TABLE_REPORT,)
    EVENTS = (EV_LOADED, EV_VALIDATED, EV_REFUSED, EV_ACTIVATED, EV_ROLLBACK)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        self.registry = ctx.tables
        self.loads = 0
        self._seen: dict[str, int] = {}

    def start(self) -> None:
        self._seen = {name: t.activations for name, t in self.registry.tables.items()}

    def execute(self) -> None:
        # Owners apply activations at their own safe points; report each as it happens.
        for name, table in self.registry.tables.items():
            if table.activations != self._seen.get(name, 0):
                self._seen[name] = table.activations
                self.event(EV_ACTIVATED, table=name, owner=table.owner, crc=table.crc32)

    def _do(self, step: Any, raw_name: bytes, *args: Any) -> str:
        name = _name(raw_name)
        try:
            step(name, *args)
        except TableError as exc:
            raise CommandError(Reason.NOT_ALLOWED_NOW, str(exc)) from None
        return name

    @command(10, parse=_parse_load, critical=True)
    def load(self, name: bytes, content: bytes) -> None:
        """Load JSON content into a table's inactive buffer."""
        table = self._do(self.registry.load, name, content)
        self.loads += 1
        self.event(EV_LOADED, table=table, size=len(content))

    @command(11, _NAME)
    def validate(self, name: bytes) -> None:
        """Validate a table's inactive buffer as a whole."""
        try:
            table = self._do(self.registry.validate, name)
        except CommandError:
            table = self.registry.tables.get(_name(name))
            for problem in table.problems if table is not None else ():
                self.event(EV_REFUSED, table=table.name, problem=problem)
            raise
        self.event(EV_VALIDATED, table=table)

    @command(12, _NAME, critical=True)
    def activate(self, name: bytes) -> None:
        """Activate a validated table at its owner's next safe point."""
        self._do(self.registry.activate, name)

    @command(13, _NAME, critical=True)
    def rollback(self, name: bytes) -> None:
        """Make a table's previous content active again."""
        table = self._do(self.registry.rollback, name)
        self.event(EV_ROLLBACK, table=table)

    @command(14, _NAME)
    def report(self, name: bytes) -> None:
        """Publish a TableReport of one table."""
        try:
            table = self.registry.get(_name(name))
        except TableError as exc:
            raise CommandError(Reason.BAD_ARGUMENT, str(exc)) from None
        self.publish(TABLE_REPORT, name=table.name.encode(), state=int(table.state),
                     active_crc32=table.crc32, active_bytes=len(encode_content(table.active)),
                     activations=min(table.activations, 0xFFFF),
                     has_previous=table.previous is not None)

    def housekeeping_values(self) -> Mapping[str, Any]:
        acts = sum(t.activations for t in self.registry.tables.values())
        return {"tables": len(self.registry.tables), "loads": min(self.loads, 0xFFFF),
                "refused": min(self.registry.refused, 0xFFFF), "activations": min(acts, 0xFFFF)}
