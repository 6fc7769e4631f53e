"""FDIR and health: fault detection, isolation and recovery declared in the configuration.

**Limit monitors** (after cFS Limit Checker: a watchpoint and its actionpoint
in one entry) live in the `fdir` table, so they are loaded, validated,
activated and rolled back like any table (`fsw.core.tables`)::

    {"name": "low_battery", "parameter": "eps.soc_pct", "low": 25,
     "persistence": 3, "response": [{"app": "mode", "command": "enter_safe",
                                      "args": {"cause": 1}}]}

- `parameter`: ``app.field`` (a field of that app's housekeeping) or
  ``Message.field`` (any registered message by name), with ``[i]`` for an
  element of an array field;
- `low` / `high`: the value is nominal within [low, high] (either may be
  left out); `mask`: the value is ``int(value) & mask`` first; `delta`:
  the value is the change since the previous sample (for counters);
- `persistence`: this many samples in a row out of limits trip the monitor
  (each message carrying the parameter is one sample);
- `enable_if`: ``{"parameter": ..., "values": [...]}``: the monitor counts
  only while that other parameter has one of these values (the spacecraft
  mode, the ADCS mode);
- `response`: a command sequence (`fsw.core.sequence`) sent once when the
  monitor trips. It re-arms when a sample is back within limits, or while
  its `enable_if` is false.

**Heartbeats and the software watchdog** (after cFS Health and Safety and F
Prime's health pings): the executive reports every app's completed-cycle
count (`AppHeartbeat`); an app in `heartbeats.apps` whose count has not
moved for `heartbeats.timeout_s`, or that has failed, is reported lost and
`heartbeats.response` is sent.

**Hardware watchdog**: the app kicks `watchdog.device` (a HAL driver with
`kick_watchdog()`, the EPS's ground watchdog on the reference CubeSat) every
`watchdog.kick_period_s`, but only while every app in
`heartbeats.critical` is alive. If the flight software hangs or a critical
app dies, the kicks stop and the hardware resets the spacecraft.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fsw.core import App, Field, MessageType, Severity
from fsw.core.app import AppState
from fsw.core.events import EventDef
from fsw.core.executive import APP_HEARTBEAT
from fsw.core.ids import FDIR_APID
from fsw.core.sequence import SequenceError, Step, resolve, send
from fsw.core.tables import check_keys, check_number
from hal import HalError

EV_TRIPPED = EventDef(10, "TRIPPED", Severity.HIGH, "monitor {name}: {parameter}={value:g} "
                      "outside [{low:g}, {high:g}] for {count} samples")
EV_HEARTBEAT_LOST = EventDef(11, "HEARTBEAT_LOST", Severity.HIGH, "app {app} heartbeat lost: {why}")
EV_HEARTBEAT_BACK = EventDef(12, "HEARTBEAT_BACK", Severity.INFO, "app {app} heartbeat back")
EV_WATCHDOG_FAILED = EventDef(13, "WATCHDOG_FAILED", Severity.MEDIUM,
                              "watchdog kick failed: {why}", burst=3, rate_hz=0.01)
EV_LEFT_OUT = EventDef(15, "LEFT_OUT", Severity.HIGH, "left out at boot: {what}",
                       burst=16, rate_hz=0.0,
                       doc="a configured monitor or response step that cannot run")
EV_WATCHDOG_HELD = EventDef(14, "WATCHDOG_HELD", Severity.HIGH,
                            "hardware watchdog no longer kicked: {app} is lost")

_PARAM = re.compile(r"^(\w+)\.(\w+)(?:\[(\d+)\])?$")
_MONITOR_KEYS = {"name", "parameter", "low", "high", "mask", "delta", "persistence",
                 "enable_if", "response"}


@dataclass(frozen=True)
class ParameterRef:
    """Where a parameter is: message id, layout, field and element."""

    text: str
    mtype: MessageType
    field_name: str
    index: int | None
    # Found once (compiled, a cached property would be found again every read).
    _element: tuple[struct.Struct, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_element", self._locate())

    def _locate(self) -> tuple[struct.Struct, int]:
        """The parameter's own value in its message: struct code and byte offset
        (the layout is big-endian without padding: offsets add up)."""
        offset = 0
        for f in self.mtype.fields:
            if f.name == self.field_name:
                element = struct.Struct(">" + f.code)
                return element, offset + (self.index or 0) * element.size
            offset += f.size
        raise KeyError(self.field_name)

    def read(self, payload: bytes) -> float:
        """The value (element `index` of an array field) straight from a payload
        of the message: the monitors read a few fields of messages that arrive
        ten times a second, so the rest is left unpacked."""
        element, offset = self._element
        return float(element.unpack_from(payload, offset)[0])


@dataclass
class Monitor:
    """One declared limit monitor and its running state."""

    name: str
    param: ParameterRef
    low: float
    high: float
    mask: int | None
    delta: bool
    persistence: int
    response: list[Step]
    gate: ParameterRef | None = None
    gate_values: tuple[float, ...] = ()
    count: int = 0
    tripped: bool = False
    trips: int = 0
    last: float | None = None


class FdirApp(App):
    NAME = "fdir"
    APID = FDIR_APID
    COMMAND_PIPE_DEPTH = 16
    HK_FIELDS = (
        Field("monitors", "B", doc="active limit monitors"),
        Field("trips", "H", doc="monitor trips since boot"),
        Field("last_trip", "B", doc="index of the monitor that tripped last (0xFF none)"),
        Field("apps_lost", "B", doc="watched apps whose heartbeat is lost now"),
        Field("watchdog_kicks", "I", doc="hardware watchdog kicks since boot"),
        Field("watchdog_held", "?", doc="kicks withheld: a critical app is lost"),
    )
    EVENTS = (EV_TRIPPED, EV_HEARTBEAT_LOST, EV_HEARTBEAT_BACK, EV_WATCHDOG_FAILED,
              EV_WATCHDOG_HELD, EV_LEFT_OUT)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        hb = dict(self.config.get("heartbeats", {}))
        self.hb_timeout_s = float(hb.get("timeout_s", 10.0))
        self.hb_apps = [str(a) for a in hb.get("apps", [])]
        self.hb_critical = [str(a) for a in hb.get("critical", [])]
        self._hb_response_cfg = hb.get("response", [])
        wd = dict(self.config.get("watchdog", {}))
        self.wd_device_name = wd.get("device")
        self.wd_period_s = float(wd.get("kick_period_s", 10.0))
        self.monitors: list[Monitor] = []
        self.by_msg: dict[int, list[Monitor]] = {}
        self.gates: dict[str, float] = {}
        self.trips = 0
        self.last_trip = 0xFF
        self.kicks = 0
        self.watchdog_held = False
        self._next_kick_s = 0.0
        self._hb: dict[int, tuple[int, float, int]] = {}  # apid -> (cycles, since_s, state)
        self.lost: set[str] = set()

    # -- init ------------------------------------------------------------------------
    def init(self) -> None:
        self.pipe = self.bus.create_pipe("fdir.samples", 256)
        self.heartbeats = self.bus.create_pipe("fdir.heartbeats", 64)
        self.bus.subscribe(self.heartbeats, APP_HEARTBEAT.msg_id)
        self.watchdog = self.device(self.wd_device_name) if self.wd_device_name else None

    def start(self) -> None:
        # Monitors and responses name other apps: resolve them once every app is up.
        # FDIR must run whatever else failed to boot: what names an app that is not
        # running is reported and left out (a watched app that is not running is lost).
        apps = self.ctx.apps
        missing: list[str] = []
        self.hb_response = resolve(self._hb_response_cfg, apps, "heartbeats.response",
                                   missing=missing)
        watched = set(self.hb_apps) | set(self.hb_critical)
        self.apids = {apps[n].APID: n for n in watched if n in apps}
        self._hb = {apid: (-1, self.now(), int(AppState.RUNNING)) for apid in self.apids}
        for name in sorted(watched - set(apps)):
            self.lost.add(name)
            self.event(EV_HEARTBEAT_LOST, app=name, why="not running")
            send(self.bus, self.hb_response, request_id=0xFDFF0000)
        monitors = []
        for i, entry in enumerate(self.config.get("monitors", [])):
            try:
                self._compile(entry, f"monitors[{i}].")
                monitors.append(entry)
            except (SequenceError, ValueError, TypeError) as exc:
                missing.append(str(exc))
        for what in missing:
            self.event(EV_LEFT_OUT, what=what)
        self.register_table("fdir", {"monitors": monitors}, self.validate_table,
                            self._take_table)

    def validate_table(self, content: Any) -> list[str]:
        problems: list[str] = []
        if not check_keys(content, {"monitors"}, {"monitors"}, problems) or problems:
            return problems
        if not isinstance(content["monitors"], list):
            return ["monitors must be a list"]
        names: set[str] = set()
        for i, entry in enumerate(content["monitors"]):
            where = f"monitors[{i}]."
            try:
                monitor = self._compile(entry, where)
            except (SequenceError, ValueError, TypeError) as exc:
                problems.append(str(exc))
                continue
            if monitor.name in names:
                problems.append(f"{where}name {monitor.name!r} is used twice")
            names.add(monitor.name)
        return problems

    def _compile(self, entry: Any, where: str) -> Monitor:
        problems: list[str] = []
        if not check_keys(entry, _MONITOR_KEYS, {"name", "parameter", "response"}, problems,
                          where):
            raise ValueError("; ".join(problems))
        low = float(entry.get("low", -math.inf))
        high = float(entry.get("high", math.inf))
        for key in ("low", "high"):
            if key in entry:
                check_number(entry, key, -1e12, 1e12, problems, where)
        if low > high:
            problems.append(f"{where}low {low} is above high {high}")
        persistence = entry.get("persistence", 1)
        if not isinstance(persistence, int) or not 1 <= persistence <= 10000:
            problems.append(f"{where}persistence must be an integer 1-10000")
        mask = entry.get("mask")
        if mask is not None and (not isinstance(mask, int) or mask < 1):
            problems.append(f"{where}mask must be a positive integer")
        if problems:
            raise ValueError("; ".join(problems))
        gate: ParameterRef | None = None
        values: tuple[float, ...] = ()
        if "enable_if" in entry:
            cond = entry["enable_if"]
            if not isinstance(cond, Mapping) or set(cond) != {"parameter", "values"}:
                raise ValueError(f"{where}enable_if needs parameter and values")
            gate = self._parameter(cond["parameter"], where + "enable_if.")
            values = tuple(float(v) for v in cond["values"])
        return Monitor(str(entry["name"]), self._parameter(entry["parameter"], where), low, high,
                       mask, bool(entry.get("delta", False)), persistence,
                       resolve(entry["response"], self.ctx.apps, f"{where}response"),
                       gate, values)

    def _parameter(self, text: Any, where: str) -> ParameterRef:
        match = _PARAM.match(str(text))
        if match is None:
            raise ValueError(f"{where}parameter {text!r} is not 'source.field' or "
                             "'source.field[i]'")
        source, name, index = match.group(1), match.group(2), match.group(3)
        app = self.ctx.apps.get(source)
        mtype = app.HK if app is not None else next(
            (m for m in self.bus.registered().values() if m is not None and m.name == source),
            None)
        if mtype is None:
            raise ValueError(f"{where}parameter {text!r}: no app or message {source!r}")
        fld = next((f for f in mtype.fields if f.name == name), None)
        if fld is None or fld.code == "s":
            raise ValueError(f"{where}parameter {text!r}: {mtype.name} has no numeric "
                             f"field {name!r}")
        idx = None if index is None else int(index)
        if (idx is None) != (fld.count == 1) or (idx is not None and idx >= fld.count):
            raise ValueError(f"{where}parameter {text!r}: {name} holds {fld.count} value(s)")
        return ParameterRef(str(text), mtype, name, idx)

    def _take_table(self, content: Any) -> None:
        for msg_id in self.by_msg:
            self.bus.unsubscribe(self.pipe, msg_id)
        self.monitors = [self._compile(e, f"monitors[{i}].")
                         for i, e in enumerate(content["monitors"])]
        self.by_msg = {}
        self.gates = {}
        for m in self.monitors:
            self.by_msg.setdefault(m.param.mtype.msg_id, [])
            if m.gate is not None:
                self.by_msg.setdefault(m.gate.mtype.msg_id, [])
        for msg_id in self.by_msg:
            self.bus.subscribe(self.pipe, msg_id)
        for m in self.monitors:
            self.by_msg[m.param.mtype.msg_id].append(m)
        # Per message: the monitors whose enable gate it carries (the layout
        # registered under its id must be the gate's own).
        self.gates_by_msg = {msg_id: [m for m in self.monitors if m.gate is not None
                                      and m.gate.mtype is self.bus.message_type(msg_id)]
                             for msg_id in self.by_msg}

    # -- main loop ----------------------------------------------------------------------
    def execute(self) -> None:
        t_s = self.now()
        for msg_id, payload in self.pipe.drain():
            for m in self.gates_by_msg.get(msg_id, ()):
                self.gates[m.gate.text] = m.gate.read(payload)  # type: ignore[union-attr]
            for monitor in self.by_msg.get(msg_id, ()):
                self._sample(monitor, monitor.param.read(payload))
        self._watch_heartbeats(t_s)
        self._kick(t_s)

    def _sample(self, m: Monitor, raw: float) -> None:
        value = raw
        if m.mask is not None:
            value = float(int(raw) & m.mask)
        if m.delta:
            previous, m.last = m.last, value
            if previous is None:
                return
            value -= previous
        if m.gate is not None and self.gates.get(m.gate.text) not in m.gate_values:
            m.count = 0
            m.tripped = False  # a monitor that is not enabled starts afresh when it is again
            return
        if m.low <= value <= m.high:
            m.count = 0
            m.tripped = False
            return
        m.count += 1
        if m.count >= m.persistence and not m.tripped:
            m.tripped = True
            m.trips += 1
            self.trips += 1
            self.last_trip = self.monitors.index(m)
            self.event(EV_TRIPPED, name=m.name, parameter=m.param.text, value=value, low=m.low,
                       high=m.high, count=m.count)
            send(self.bus, m.response, request_id=0xFD000000 | self.last_trip)

    def _watch_heartbeats(self, t_s: float) -> None:
        for _, payload in self.heartbeats.drain():
            # In APP_HEARTBEAT's field order, without a dict: every app's
            # heartbeat comes through here each second.
            apid, state, cycles, _ = APP_HEARTBEAT.unpack_tuple(payload)
            if apid not in self.apids:
                continue
            last_cycles, since_s, _ = self._hb[apid]
            if cycles != last_cycles:
                since_s = t_s
            self._hb[apid] = (cycles, since_s, state)
        for apid, name in self.apids.items():
            _, since_s, state = self._hb[apid]
            lost = state == AppState.FAILED or t_s - since_s > self.hb_timeout_s
            if lost and name not in self.lost:
                self.lost.add(name)
                why = "failed" if state == AppState.FAILED else \
                    f"no cycle for {t_s - since_s:.0f} s"
                self.event(EV_HEARTBEAT_LOST, app=name, why=why)
                send(self.bus, self.hb_response, request_id=0xFDFF0000 | apid)
            elif not lost and name in self.lost:
                self.lost.discard(name)
                self.event(EV_HEARTBEAT_BACK, app=name)

    def _kick(self, t_s: float) -> None:
        if self.watchdog is None or t_s < self._next_kick_s:
            return
        lost = [name for name in self.hb_critical if name in self.lost]
        held = bool(lost)
        if held != self.watchdog_held:
            self.watchdog_held = held
            if held:
                self.event(EV_WATCHDOG_HELD, app=", ".join(lost))
        if held:
            return
        try:
            self.watchdog.kick_watchdog()
        except HalError as exc:
            self.event(EV_WATCHDOG_FAILED, why=exc)
            return
        self.kicks += 1
        self._next_kick_s = t_s + self.wd_period_s

    def housekeeping_values(self) -> Mapping[str, Any]:
        return {"monitors": len(self.monitors), "trips": min(self.trips, 0xFFFF),
                "last_trip": self.last_trip, "apps_lost": len(self.lost),
                "watchdog_kicks": self.kicks & 0xFFFFFFFF, "watchdog_held": self.watchdog_held}
