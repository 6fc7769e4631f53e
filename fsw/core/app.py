"""The App base class: the one shape every flight app has.

Like a cFS sample_app, every Tessera app has the same four parts, so a
newcomer finds their way in any of them:

1. **init**: declare and subscribe (done for you from the class attributes),
   then open devices and set up state in ``init()``.
2. **main loop**: the executive calls ``run_cycle()`` at the app's rate; it
   handles waiting commands, then calls ``execute()`` for the app's own work.
3. **command handler**: methods marked ``@command(code, *args)`` are the
   app's commands. Arguments are typed fields with ranges; the base class
   checks them, calls the method, and reports acceptance and completion
   (PUS service 1 stages) as ``CommandResult`` messages.
4. **housekeeping**: at the housekeeping rate the executive calls
   ``report_housekeeping()``, which publishes the standard counters followed
   by whatever ``housekeeping_values()`` returns for ``HK_FIELDS``.

An app talks to the rest of the system only through the bus: commands come
in on ``cmd_msg_id(APID)`` as ``[request_id: u32][function_code: u8][args]``;
housekeeping goes out on ``tm_msg_id(APID)``.

Every app also answers four standard commands: 0 NOOP, 1 RESET_COUNTERS,
2 SET_PARAMETER(index, value), 3 REPORT_PARAMETER(index; 0xFFFF = all).

Events are declared like commands: ``EVENTS`` lists the app's `EventDef`s
(id, severity, text format, squelch) and ``self.event(EV_X, name=value)``
raises one. Ids 1-9 belong to the base class's own events (`BASE_EVENTS`);
an app numbers its events from 10. Ids are unique within an app: a class
that declares one twice, or raises one it did not declare, is refused.
"""

from __future__ import annotations

import ast
import functools
import struct
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import chain
from pathlib import Path
from typing import Any, ClassVar

from fsw.core.boot import BootRecord, ResetCause
from fsw.core.bus import SoftwareBus
from fsw.core.errors import BusError, CommandError, ConfigError
from fsw.core.events import EventDef, EventLog, Severity, check_unique
from fsw.core.ids import COMMAND_RESULT_APID, PARAMETER_REPORT_APID
from fsw.core.message import Field, Layout, MessageType, cmd_msg_id, tm_msg_id
from fsw.core.store import Store
from fsw.core.tables import Table, TableRegistry, Validator
from fsw.core.time import Clock
from fsw.core.wiring import Wiring
from hal._compiled import mypyc_attr

COMMAND_HEADER = struct.Struct(">IB")  # request id, function code


class Stage(IntEnum):
    """Verification stages, numbered as the PUS service 1 success subtypes."""

    ACCEPTANCE = 1
    START = 3
    PROGRESS = 5
    COMPLETION = 7


class Reason(IntEnum):
    """Why a command failed (the failure code in PUS service 1 reports)."""

    NONE = 0
    UNKNOWN_FUNCTION = 1
    BAD_LENGTH = 2
    BAD_ARGUMENT = 3
    EXECUTION_FAILED = 4
    NOT_ALLOWED_NOW = 5
    APP_NOT_RUNNING = 6
    NOT_AUTHORISED = 7


COMMAND_RESULT_MSG = MessageType("CommandResult", tm_msg_id(COMMAND_RESULT_APID), [
    Field("request_id", "I", doc="the TC's packet id and sequence control"),
    Field("apid", "H", doc="the app that handled the command"),
    Field("function_code", "B"),
    Field("stage", "B", doc="1 acceptance, 3 start, 5 progress, 7 completion"),
    Field("ok", "?"),
    Field("reason", "H", doc="Reason code; 0 when ok"),
    Field("time_s", "d", "s"),
], doc="Verification of one command stage")

PARAMETER_REPORT_MSG = MessageType("ParameterReport", tm_msg_id(PARAMETER_REPORT_APID), [
    Field("request_id", "I", doc="the command that asked for it (0: none), so comms "
          "charges the report to that TC's sender"),
    Field("apid", "H"), Field("index", "H"), Field("value", "d"),
], doc="The value of one app parameter (PUS service 20)")

# The base class's events; app events are numbered from FIRST_APP_EVENT_ID.
EV_COMMAND_REJECTED = EventDef(1, "COMMAND_REJECTED", Severity.LOW, "{text}", burst=10, rate_hz=1.0,
                               doc="a command failed its header, length or argument checks")
EV_COMMAND_FAILED = EventDef(2, "COMMAND_FAILED", Severity.LOW, "{command} failed: {why}",
                             burst=10, rate_hz=1.0, doc="a handler refused its command")
EV_NOOP = EventDef(3, "NOOP", Severity.INFO, "{app}: no-op", burst=10, rate_hz=1.0,
                   doc="answer to the NOOP command")
EV_COMMAND_ERROR = EventDef(4, "COMMAND_ERROR", Severity.MEDIUM, "{command} failed: {why}",
                            burst=10, rate_hz=1.0, doc="a handler raised while executing")
BASE_EVENTS = (EV_COMMAND_REJECTED, EV_COMMAND_FAILED, EV_NOOP, EV_COMMAND_ERROR)
FIRST_APP_EVENT_ID = 10

STANDARD_HK_FIELDS = (
    Field("cmd_count", "H", doc="commands executed"),
    Field("cmd_error_count", "H", doc="commands rejected or failed"),
    Field("cycle_error_count", "H", doc="cycles that raised an error"),
)


# Interpreted even when this module is compiled: a compiled class would turn an
# `int` given for a `float` field (a default of 5) into 5.0.
@mypyc_attr(native_class=False)
@dataclass(frozen=True)
class Parameter:
    """A tunable value of an app, settable from the ground within [low, high]."""

    name: str
    fmt: str
    default: float
    low: float | None = None
    high: float | None = None
    unit: str = ""
    doc: str = ""

    @property
    def field(self) -> Field:
        return Field(self.name, self.fmt, self.unit, self.doc, self.low, self.high)


ArgumentParser = Callable[[bytes], Mapping[str, Any]]
CommandMark = tuple[int, tuple[Field, ...], ArgumentParser | None, bool]


@dataclass(frozen=True)
class CommandSpec:
    """A declared command: function code, name, argument layout and handler.

    `parse` is set for commands whose arguments have no fixed layout (lists,
    nested packets); it turns the argument bytes into keyword arguments.
    `critical` marks a command that changes what the spacecraft as a whole
    does (its mode, power, attitude, tables, schedule, payload software): a
    ground asks its operator to confirm before sending one.
    """

    code: int
    name: str
    args: Layout
    handler: str
    doc: str = ""
    parse: ArgumentParser | None = None
    critical: bool = False


def command(code: int, *args: Field, parse: ArgumentParser | None = None,
            critical: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark an App method as the handler of function `code` with typed `args`.

    The method is called with the arguments as keyword arguments after they
    have been checked against their types and ranges. It may raise
    ``CommandError(reason, text)`` to fail the command with a reason.

    A command whose arguments vary in length gives `parse` instead of
    `args`: it receives the argument bytes and returns the keyword
    arguments, or raises ValueError (or CommandError) to refuse them, which
    fails the command at acceptance with BAD_ARGUMENT.

    ``critical=True`` declares the command critical (see `CommandSpec`); the
    dictionary carries the flag to every ground tool.
    """
    if not 0 <= code <= 0xFF:
        raise ValueError(f"function code {code} does not fit one octet")
    if parse is not None and args:
        raise ValueError("a command takes either declared args or a parse function")

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        _COMMAND_MARKS[id(fn)] = (fn, (code, args, parse, critical))
        return fn

    return mark


# What `@command` declared, by handler. Kept beside the function rather than on
# it: a method of an app compiled by mypyc is a method descriptor, which takes
# no attributes. The function is kept too, so that its id cannot be reused.
_COMMAND_MARKS: dict[int, tuple[Callable[..., Any], CommandMark]] = {}


def command_mark(fn: object) -> CommandMark | None:
    """What `@command` declared for handler `fn` (code, args, parse, critical), or None."""
    entry = _COMMAND_MARKS.get(id(fn))
    return entry[1] if entry is not None and entry[0] is fn else None


def _handler_doc(klass: type, name: str, fn: object) -> str:
    """The first line of handler `name`'s docstring. A method compiled by mypyc
    keeps none, so its class's source is read for it."""
    doc = getattr(fn, "__doc__", None) or _source_docstrings(
        klass.__module__, klass.__qualname__).get(name, "")
    lines = doc.strip().splitlines()
    return lines[0] if lines else ""


@functools.cache
def _source_docstrings(module: str, qualname: str) -> dict[str, str]:
    """The docstrings of class `qualname`'s methods, by name, from `module`'s
    source: read and parsed once per class, however many handlers it has."""
    # Found through the package: a compiled module's class is made while the
    # module is still being imported, before it has a `__file__`.
    package, _, leaf = module.rpartition(".")
    folders = getattr(sys.modules.get(package), "__path__", ())
    source = next((path for path in (Path(f) / f"{leaf}.py" for f in folders) if path.exists()),
                  None)
    if source is None:
        return {}
    body: list[ast.stmt] = ast.parse(source.read_text()).body
    for part in qualname.split("."):
        body = next((node.body for node in body
                     if isinstance(node, ast.ClassDef) and node.name == part), [])
    docs: dict[str, str] = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            docs.setdefault(node.name, ast.get_docstring(node) or "")
    return docs


@dataclass
class AppContext:
    """What the executive hands each app: the bus, time, events, devices, storage."""

    bus: SoftwareBus
    clock: Clock
    events: EventLog
    devices: Mapping[str, Any] = field(default_factory=dict)
    store: Store | None = None
    tables: TableRegistry = field(default_factory=TableRegistry)
    apps: Mapping[str, App] = field(default_factory=dict)
    """Every running app by name: for resolving declared command sequences only."""
    boot: BootRecord = field(default_factory=lambda: BootRecord(1, ResetCause.FIRST_BOOT))
    wiring: Wiring = field(default_factory=lambda: Wiring())


class AppState(IntEnum):
    LOADED = 0
    RUNNING = 1
    STOPPED = 2
    FAILED = 3


@mypyc_attr(allow_interpreted_subclasses=True)  # every partner's app is one
class App:
    """Base class of every flight app; see the module docstring for the shape."""

    NAME: ClassVar[str] = ""
    APID: ClassVar[int] = -1
    HK_FIELDS: ClassVar[tuple[Field, ...]] = ()
    TELEMETRY: ClassVar[tuple[MessageType, ...]] = ()
    PARAMETERS: ClassVar[tuple[Parameter, ...]] = ()
    EVENTS: ClassVar[tuple[EventDef, ...]] = BASE_EVENTS
    COMMAND_PIPE_DEPTH: ClassVar[int] = 16

    HK: ClassVar[MessageType]
    COMMANDS: ClassVar[dict[int, CommandSpec]]
    EVENT_TABLE: ClassVar[dict[int, EventDef]]
    """Every event the app may raise (the base class's and its own), by id."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        commands: dict[int, CommandSpec] = {}
        for klass in reversed(cls.__mro__):
            for attr, fn in vars(klass).items():
                mark = command_mark(fn)
                if mark is None:
                    continue
                code, args, parse, critical = mark
                if code in commands and commands[code].handler != attr:
                    raise TypeError(f"{cls.__name__}: function code {code} is used by both "
                                    f"{commands[code].handler} and {attr}")
                commands[code] = CommandSpec(code, attr.upper(), Layout(args), attr,
                                             _handler_doc(klass, attr, fn), parse, critical)
        cls.COMMANDS = commands
        declared = [vars(k).get("EVENTS", ()) for k in reversed(cls.__mro__)]
        cls.EVENT_TABLE = check_unique(cls.__name__, chain(*declared))
        own = [e for e in cls.EVENT_TABLE.values() if e not in BASE_EVENTS]
        low = [e.name for e in own if e.id < FIRST_APP_EVENT_ID]
        if low:
            raise TypeError(f"{cls.__name__}: event ids below {FIRST_APP_EVENT_ID} belong to "
                            f"the base class ({', '.join(low)})")
        if cls.APID >= 0:
            cls.HK = MessageType(f"{cls.NAME or cls.__name__}Housekeeping", tm_msg_id(cls.APID),
                                 STANDARD_HK_FIELDS + tuple(cls.HK_FIELDS))

    def __init__(self, ctx: AppContext, config: Mapping[str, Any] | None = None) -> None:
        if self.APID < 0 or not self.NAME:
            raise TypeError(f"{type(self).__name__} must set NAME and APID")
        self.ctx = ctx
        self.bus = ctx.bus
        self.config: Mapping[str, Any] = dict(config or {})
        self.state = AppState.LOADED
        self.cmd_count = 0
        self.cmd_error_count = 0
        self.cycle_error_count = 0
        self.cycles_run = 0  # completed cycles: the heartbeat the health app watches
        self._request_id = 0  # the command being handled: its parameter reports name it
        self.params: dict[str, float] = {p.name: p.default for p in self.PARAMETERS}
        for name, value in dict(self.config.get("parameters", {})).items():
            self._set_parameter_from_config(name, value)

        self.bus.register_variable(cmd_msg_id(self.APID), f"{self.NAME} commands")
        self.bus.register(self.HK)
        self.bus.register(COMMAND_RESULT_MSG)
        self.bus.register(PARAMETER_REPORT_MSG)
        for mtype in self.TELEMETRY:
            self.bus.register(mtype)
        self.command_pipe = self.bus.create_pipe(f"{self.NAME}.commands", self.COMMAND_PIPE_DEPTH)
        self.bus.subscribe(self.command_pipe, cmd_msg_id(self.APID))

    # -- hooks for subclasses -----------------------------------------------
    def init(self) -> None:
        """Open devices, subscribe to inputs, set up state. Raise to refuse to start."""

    def start(self) -> None:
        """Called once every app has initialised."""

    def execute(self) -> None:
        """One cycle of the app's own work, at its rate group's rate."""

    def housekeeping_values(self) -> Mapping[str, Any]:
        """Values of the app's own HK_FIELDS for this housekeeping report."""
        return {}

    def stop(self) -> None:
        """Release devices; called at shutdown or when the executive stops the app."""

    def parameter_changed(self, name: str, value: Any) -> None:
        """Called after a parameter is set from the ground (`value` an int for an
        integer parameter, else a float)."""

    # -- services for subclasses ----------------------------------------------
    def device(self, name: str) -> Any:
        """The configured device `name`, or ConfigError naming the app and device."""
        try:
            return self.ctx.devices[name]
        except KeyError:
            raise ConfigError(f"app {self.NAME}: device {name!r} is not configured") from None

    def event(self, event: EventDef, **values: Any) -> None:
        """Raise declared `event` with the values its text format names (squelch applies)."""
        if self.EVENT_TABLE.get(getattr(event, "id", -1)) is not event:
            raise TypeError(f"app {self.NAME}: event {event!r} is not declared in its EVENTS")
        self.ctx.events.emit(self.APID, event, **values)

    def publish(self, mtype: MessageType, **values: Any) -> None:
        self.bus.publish(mtype.msg_id, mtype.pack_mapping(values))

    def now(self) -> float:
        return self.ctx.clock.now()

    def register_table(self, name: str, default: Any, validate: Validator,
                       on_activate: Callable[[Any], None]) -> Table:
        """Own table `name` (see fsw.core.tables): `on_activate(content)` runs now with
        the persisted or default content, and later between two cycles of this app."""
        return self.ctx.tables.register(name, self.NAME, default, validate, on_activate)

    # -- driven by the executive ---------------------------------------------
    def run_cycle(self) -> None:
        """Handle waiting commands, take activated tables (the safe point), then do
        this cycle's work."""
        if self.NAME in self.ctx.tables.pending_owners:
            self.ctx.tables.apply_pending(self.NAME)
        if self.command_pipe._queue:  # the pipe's own queue: no call when empty (most cycles)
            self.handle_waiting_commands()
        self.execute()
        self.cycles_run += 1

    def handle_waiting_commands(self) -> None:
        """Handle every command waiting in the app's pipe, in arrival order."""
        for _msg_id, payload in self.command_pipe.drain():
            self.handle_command(payload)

    def report_housekeeping(self) -> None:
        values = dict(self.housekeeping_values())
        values["cmd_count"] = min(self.cmd_count, 0xFFFF)
        values["cmd_error_count"] = min(self.cmd_error_count, 0xFFFF)
        values["cycle_error_count"] = min(self.cycle_error_count, 0xFFFF)
        # By mapping, not `pack(**values)`: compiled, a `**` call copies the dict.
        hk = self.HK
        self.bus.publish(hk.msg_id, hk.pack_mapping(values))

    def handle_command(self, payload: bytes) -> None:
        """Decode, check, execute and verify one command message."""
        if len(payload) < COMMAND_HEADER.size:
            self.cmd_error_count += 1
            self.event(EV_COMMAND_REJECTED, text=f"command of {len(payload)} bytes has no header")
            return
        request_id, code = COMMAND_HEADER.unpack_from(payload)
        spec = self.COMMANDS.get(code)
        if spec is None:
            self._reject(request_id, code, Reason.UNKNOWN_FUNCTION, f"no function code {code}")
            return
        body = payload[COMMAND_HEADER.size:]
        if spec.parse is not None:
            try:
                args = dict(spec.parse(body))
            except (CommandError, ValueError) as exc:
                self._reject(request_id, code, Reason.BAD_ARGUMENT, f"{spec.name}: {exc}")
                return
        else:
            if len(body) != spec.args.size:
                self._reject(request_id, code, Reason.BAD_LENGTH,
                             f"{spec.name} takes {spec.args.size} argument bytes, got {len(body)}")
                return
            args = spec.args.unpack(body)
            why = spec.args.check(args)
            if why:
                self._reject(request_id, code, Reason.BAD_ARGUMENT, f"{spec.name}: {why}")
                return
        self._report(request_id, code, Stage.ACCEPTANCE, True, Reason.NONE)
        self._request_id = request_id
        try:
            getattr(self, spec.handler)(**args)
        except CommandError as exc:
            self.cmd_error_count += 1
            self._report(request_id, code, Stage.COMPLETION, False, exc.reason)
            self.event(EV_COMMAND_FAILED, command=spec.name, why=exc)
            return
        except (BusError, ValueError, ArithmeticError, LookupError) as exc:
            self.cmd_error_count += 1
            self._report(request_id, code, Stage.COMPLETION, False, Reason.EXECUTION_FAILED)
            self.event(EV_COMMAND_ERROR, command=spec.name, why=exc)
            return
        self.cmd_count += 1
        self._report(request_id, code, Stage.COMPLETION, True, Reason.NONE)

    def _reject(self, request_id: int, code: int, reason: Reason, text: str) -> None:
        self.cmd_error_count += 1
        self._report(request_id, code, Stage.ACCEPTANCE, False, reason)
        self.event(EV_COMMAND_REJECTED, text=text)

    def _report(self, request_id: int, code: int, stage: Stage, ok: bool, reason: int) -> None:
        self.bus.publish(COMMAND_RESULT_MSG.msg_id, COMMAND_RESULT_MSG.pack(
            request_id=request_id, apid=self.APID, function_code=code, stage=int(stage),
            ok=ok, reason=int(reason), time_s=self.now()))

    def _set_parameter_from_config(self, name: str, value: Any) -> None:
        spec = next((p for p in self.PARAMETERS if p.name == name), None)
        if spec is None:
            raise ConfigError(f"app {self.NAME}: no parameter named {name!r}")
        why = spec.field.check(value)
        if why:
            raise ConfigError(f"app {self.NAME}: parameter {why}")
        self.params[name] = value

    # -- the standard commands -------------------------------------------------
    @command(0)
    def noop(self) -> None:
        """Do nothing but count and raise an event: proves the command path works."""
        self.event(EV_NOOP, app=self.NAME)

    @command(1)
    def reset_counters(self) -> None:
        """Zero the command and error counters."""
        self.cmd_count = -1  # the completion of this very command brings it to 0
        self.cmd_error_count = 0
        self.cycle_error_count = 0

    @command(2, Field("index", "H"), Field("value", "d"))
    def set_parameter(self, index: int, value: float) -> None:
        """Set parameter number `index` (declaration order) to `value`."""
        if index >= len(self.PARAMETERS):
            raise CommandError(Reason.BAD_ARGUMENT, f"no parameter {index}")
        spec = self.PARAMETERS[index]
        setting: Any = value  # an integer parameter's value stays an int
        if spec.fmt[-1] not in "fd" and float(value).is_integer():
            setting = int(value)
        why = spec.field.check(setting)
        if why:
            raise CommandError(Reason.BAD_ARGUMENT, why)
        self.params[spec.name] = setting
        self.parameter_changed(spec.name, setting)

    @command(3, Field("index", "H", doc="0xFFFF reports every parameter"))
    def report_parameter(self, index: int) -> None:
        """Publish the value of one parameter, or all of them."""
        if index == 0xFFFF:
            indices = range(len(self.PARAMETERS))
        elif index < len(self.PARAMETERS):
            indices = range(index, index + 1)
        else:
            raise CommandError(Reason.BAD_ARGUMENT, f"no parameter {index}")
        for i in indices:
            self.publish(PARAMETER_REPORT_MSG, request_id=self._request_id, apid=self.APID,
                         index=i, value=float(self.params[self.PARAMETERS[i].name]))


App.EVENT_TABLE = check_unique("App", BASE_EVENTS)


def encode_command(request_id: int, function_code: int, args: Layout | None = None,
                   **values: Any) -> bytes:
    """Build the bus payload of a command (used by the ground and by tests)."""
    body = args.pack(**values) if args is not None else b""
    return COMMAND_HEADER.pack(request_id, function_code) + body
