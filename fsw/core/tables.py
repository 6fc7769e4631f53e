"""Validated, atomic tables: configuration an owner app uses as a whole.

A table is a named JSON document owned by one app (ADCS gains, the FDIR
monitors, the EPS load-shedding order). Changing one follows the cFE Table
Services sequence (cFE User's Guide, "Table Services"):

1. **load** the new content into the table's *inactive* buffer; the active
   content is untouched;
2. **validate** the inactive buffer as a whole with the owner's validation
   function; a table with any problem is refused, with every problem named;
3. **activate**: the owner takes the new content at its *safe point*,
   between two of its cycles (`TableRegistry.apply_pending`, called by the
   App base class before `execute`), never in the middle of one;
4. the content that was active is kept as *previous*: **rollback** makes it
   active again, through the same safe point.

With a store, the active and previous content of every table are written in
one transaction when a table is activated or rolled back, and read back at
boot: after a power loss a table is either wholly the old or wholly the new
content, never a mix (`fsw.core.store`).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from fsw.core.store import Store

Validator = Callable[[Any], list[str]]
"""Returns the problems of a whole table's content; empty when it is good."""

_NS = "tables"
MAX_TABLE_BYTES = 960  # one command's worth (the bus carries at most 1008 bytes)
NAME_BYTES = 16


class TableError(Exception):
    """A table operation was refused; the text says why."""


class TableState(IntEnum):
    """Where the table's inactive buffer stands."""

    EMPTY = 0           # nothing loaded since the last activation
    LOADED = 1          # loaded, not validated yet
    VALIDATED = 2       # validated, may be activated
    PENDING = 3         # activation requested, applied at the owner's next safe point
    REFUSED = 4         # validation found problems


def encode_content(content: Any) -> bytes:
    """The canonical bytes of a table's content (compact JSON, keys sorted)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass
class Table:
    """One registered table: its active, previous and inactive content."""

    name: str
    owner: str
    validate: Validator
    on_activate: Callable[[Any], None]
    active: Any
    previous: Any | None = None
    inactive: Any | None = None
    state: TableState = TableState.EMPTY
    problems: list[str] = field(default_factory=list)
    activations: int = 0
    _pending: Any | None = None

    @property
    def crc32(self) -> int:
        """CRC-32 of the active content's canonical bytes: what the ground compares."""
        return zlib.crc32(encode_content(self.active))


class TableRegistry:
    """Every table on board, by name; persisted in `store` when there is one."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self.tables: dict[str, Table] = {}
        self.pending_owners: set[str] = set()
        self.refused = 0

    def register(self, name: str, owner: str, default: Any, validate: Validator,
                 on_activate: Callable[[Any], None]) -> Table:
        """Declare table `name` of app `owner`; returns it with its content active.

        The content is the persisted one when the store holds a valid copy,
        else `default` (the flight configuration's), which must itself
        validate. `on_activate(content)` is called now and at every later
        activation, always at the owner's safe point.
        """
        if len(name.encode()) > NAME_BYTES or not name:
            raise TableError(f"table name {name!r} must be 1-{NAME_BYTES} bytes")
        if name in self.tables:
            raise TableError(f"table {name!r} is already registered by {self.tables[name].owner}")
        problems = validate(default)
        if problems:
            raise TableError(f"table {name!r}: default content is invalid: {'; '.join(problems)}")
        active, previous = default, None
        if self.store is not None:
            stored = self.store.get(_NS, f"{name}.active")
            if stored is not None:
                content = json.loads(stored)
                if not validate(content):  # an owner whose rules tightened falls back
                    active = content
                    old = self.store.get(_NS, f"{name}.previous")
                    previous = None if old is None else json.loads(old)
        table = Table(name, owner, validate, on_activate, active, previous)
        self.tables[name] = table
        on_activate(active)
        return table

    def get(self, name: str) -> Table:
        try:
            return self.tables[name]
        except KeyError:
            raise TableError(f"no table named {name!r}") from None

    # -- the ground's sequence ---------------------------------------------------
    def load(self, name: str, raw: bytes) -> None:
        """Put `raw` (UTF-8 JSON) in the inactive buffer of `name`."""
        table = self.get(name)
        if table.state == TableState.PENDING:
            raise TableError(f"table {name!r} has an activation pending")
        if len(raw) > MAX_TABLE_BYTES:
            raise TableError(f"table {name!r}: {len(raw)} bytes, at most {MAX_TABLE_BYTES}")
        try:
            content = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise TableError(f"table {name!r}: not JSON: {exc}") from None
        table.inactive = content
        table.problems = []
        table.state = TableState.LOADED

    def validate(self, name: str) -> None:
        """Check the inactive buffer as a whole; TableError lists every problem."""
        table = self.get(name)
        if table.state not in (TableState.LOADED, TableState.VALIDATED, TableState.REFUSED):
            raise TableError(f"table {name!r}: nothing loaded to validate")
        try:
            problems = table.validate(table.inactive)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            problems = [f"malformed: {exc}"]
        if problems:
            table.problems = problems
            table.state = TableState.REFUSED
            self.refused += 1
            raise TableError(f"table {name!r} refused: {'; '.join(problems)}")
        table.state = TableState.VALIDATED

    def activate(self, name: str) -> None:
        """Request activation of the validated inactive content at the owner's safe point."""
        table = self.get(name)
        if table.state != TableState.VALIDATED:
            raise TableError(f"table {name!r} is {table.state.name}, not VALIDATED")
        table._pending = table.inactive
        table.state = TableState.PENDING
        self.pending_owners.add(table.owner)

    def rollback(self, name: str) -> None:
        """Request that the previous content become active again (at the safe point)."""
        table = self.get(name)
        if table.previous is None:
            raise TableError(f"table {name!r} has no previous content")
        if table.state == TableState.PENDING:
            raise TableError(f"table {name!r} has an activation pending")
        table._pending = table.previous
        table.state = TableState.PENDING
        self.pending_owners.add(table.owner)

    # -- the owner's safe point -----------------------------------------------------
    def apply_pending(self, owner: str) -> list[str]:
        """Activate every pending table of `owner`; returns their names.

        The store is written first (active and previous in one transaction),
        then the owner is told: a power loss in between boots with the new
        table, which the owner then takes at init.
        """
        applied = []
        self.pending_owners.discard(owner)
        for table in self.tables.values():
            if table.owner != owner or table.state != TableState.PENDING:
                continue
            new, old = table._pending, table.active
            if self.store is not None:
                with self.store.transaction():
                    self.store.put(_NS, f"{table.name}.active", encode_content(new))
                    self.store.put(_NS, f"{table.name}.previous", encode_content(old))
            table.on_activate(new)
            table.previous, table.active = old, new
            table.inactive, table._pending = None, None
            table.state = TableState.EMPTY
            table.activations += 1
            applied.append(table.name)
        return applied



# -- helpers for owners' validation functions -------------------------------------
def check_number(content: Mapping[str, Any], key: str, low: float, high: float,
                 problems: list[str], where: str = "") -> None:
    """Append a problem unless ``content[key]`` is a number in [low, high]."""
    value = content.get(key) if isinstance(content, Mapping) else None
    label = f"{where}{key}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{label} must be a number")
    elif not low <= value <= high:
        problems.append(f"{label}={value} outside [{low:g}, {high:g}]")


def check_keys(content: Any, allowed: set[str], required: set[str], problems: list[str],
               where: str = "") -> bool:
    """Append problems for a non-object, unknown or missing keys; True when it is an object."""
    if not isinstance(content, Mapping):
        problems.append(f"{where or 'table'} must be an object")
        return False
    for key in sorted(set(content) - allowed):
        problems.append(f"{where}{key} is not a known key")
    for key in sorted(required - set(content)):
        problems.append(f"{where}{key} is missing")
    return True
