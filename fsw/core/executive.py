"""The executive: boots apps from a configuration and runs their rate groups.

The configuration (TOML) names the rate groups and the apps::

    [executive]
    rate_groups_hz = [10, 1]
    housekeeping_hz = 1

    [wiring]                  # what is connected to what: fsw.core.wiring
    housekeeping = ["adcs"]

    [[apps]]
    name = "adcs"
    class = "fsw.apps.adcs:AdcsApp"
    rate_hz = 10
    [apps.config]
    parameters = { gain = 2.0 }

The fastest rate group sets the minor frame. Each minor frame runs, in
order, every group whose period has come round, and each group runs its apps
in configuration order. The work of each group is timed: a group whose work
takes longer than its period counts an overrun and raises an event, as a
real-time rate group would miss its deadline. Work is timed on the clock's
work timer (`fsw.core.time.work_timer`): wall time on the real clock; the
process's CPU time on a simulated clock and on a lockstep clock (a HIL bench
grants each step), where the wall time of a frame also holds what is not the
flight software's work.

Faults stay contained: an app that cannot be loaded or initialised is
reported (an event naming it and the reason) and left out while the others
run; an app whose cycle raises is counted and, after
`MAX_CONSECUTIVE_FAILURES` failures in a row, stopped with a high-severity
event.

The clock is a parameter: real (`MonotonicClock`) for flight, virtual
(`VirtualClock`) for simulation, where time jumps to each deadline and the
simulator runs as a clock listener in between.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

from fsw.core.app import App, AppContext, AppState
from fsw.core.boot import record_boot, record_shutdown
from fsw.core.bus import SoftwareBus
from fsw.core.errors import BusError, ConfigError
from fsw.core.events import EventDef, EventLog, Severity, check_unique
from fsw.core.ids import APP_HEARTBEAT_APID, EXECUTIVE_APID
from fsw.core.message import Field, MessageType, tm_msg_id
from fsw.core.store import Store
from fsw.core.tables import TableRegistry
from fsw.core.time import Clock, work_timer
from fsw.core.wiring import Wiring

MAX_CONSECUTIVE_FAILURES = 5

EXECUTIVE_HK = MessageType("ExecutiveHousekeeping", tm_msg_id(EXECUTIVE_APID), [
    Field("time_s", "d", "s"),
    Field("minor_frames", "I"),
    Field("apps_running", "B"),
    Field("apps_failed", "B"),
    Field("overruns", "I", doc="rate-group cycles whose work exceeded their period"),
    Field("late_frames", "I", doc="minor frames started after their deadline (real time)"),
    Field("skipped_frames", "I", doc="minor frames dropped to catch up (real time)"),
    Field("pipe_drops", "I", doc="messages dropped by full pipes since boot"),
    Field("max_work_ms", "f", "ms", "longest minor-frame work since the last report"),
])

APP_HEARTBEAT = MessageType("AppHeartbeat", tm_msg_id(APP_HEARTBEAT_APID), [
    Field("apid", "H", doc="the app reported on"),
    Field("state", "B", doc="fsw.core.app.AppState"),
    Field("cycles", "I", doc="cycles completed since boot: stops advancing when the app does"),
    Field("cycle_errors", "H", doc="cycles that raised"),
], doc="One per app every housekeeping cycle, for the health app's software watchdog")

# The executive's events (raised under EXECUTIVE_APID).
EV_APP_LOAD_FAILED = EventDef(1, "APP_LOAD_FAILED", Severity.HIGH, "{why}")
EV_APP_INIT_FAILED = EventDef(2, "APP_INIT_FAILED", Severity.HIGH,
                              "app {app!r} failed to initialise: {why}")
EV_APP_CYCLE_FAILED = EventDef(3, "APP_CYCLE_FAILED", Severity.MEDIUM,
                               "app {app!r} {work} failed: {why}", burst=20, rate_hz=1.0)
EV_APP_STOPPED = EventDef(4, "APP_STOPPED", Severity.INFO, "app {app!r} stopped")
# An overrunning group overruns every cycle: a few in a row, then one a minute.
EV_OVERRUN = EventDef(5, "OVERRUN", Severity.MEDIUM,
                      "{rate_hz:g} Hz group overran: {work_ms:.1f} ms (overrun {count})",
                      burst=3, rate_hz=1 / 60)
EV_PIPE_DROPS = EventDef(6, "PIPE_DROPS", Severity.MEDIUM,
                         "pipe {pipe} full: dropped {count}, last {msg_id:#06x}",
                         burst=10, rate_hz=0.2)
EV_BOOTED = EventDef(7, "BOOTED", Severity.INFO,
                      "booted {running} of {apps} apps (boot {boot}, {cause})")
EV_APP_FAILED = EventDef(8, "APP_FAILED", Severity.HIGH, "app {app!r} {why}")
EXECUTIVE_EVENTS = (EV_APP_LOAD_FAILED, EV_APP_INIT_FAILED, EV_APP_CYCLE_FAILED, EV_APP_STOPPED,
                    EV_OVERRUN, EV_PIPE_DROPS, EV_BOOTED, EV_APP_FAILED)
check_unique("executive", EXECUTIVE_EVENTS)


@dataclass
class AppSpec:
    """One app entry of the configuration."""

    name: str
    target: str | type[App]
    rate_hz: float
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class RateGroup:
    """Apps that run together every `divisor` minor frames."""

    rate_hz: float
    divisor: int
    apps: list[tuple[str, App]] = field(default_factory=list)
    cycles: int = 0
    overruns: int = 0
    max_work_s: float = 0.0


def load_config(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Read a TOML configuration file (or take an already-parsed mapping)."""
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path}: {exc}") from None


def resolve_app_class(target: str | type[App], app_name: str) -> type[App]:
    """Import ``"package.module:Class"``; ConfigError names the app on failure."""
    if isinstance(target, type):
        return target
    module_name, _, class_name = str(target).partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"app {app_name!r}: class {target!r} must look like 'module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigError(f"app {app_name!r}: no module {module_name!r}") from None
        raise ConfigError(f"app {app_name!r}: importing {module_name!r} failed: {exc}") from None
    except ImportError as exc:
        raise ConfigError(f"app {app_name!r}: importing {module_name!r} failed: {exc}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, App)):
        raise ConfigError(f"app {app_name!r}: {target!r} is not an App class")
    return cls


class Executive:
    """Boots the configured apps and runs them in rate groups on a given clock."""

    def __init__(self, clock: Clock, *, rate_groups_hz: tuple[float, ...] = (10.0, 1.0),
                 housekeeping_hz: float = 1.0, devices: Mapping[str, Any] | None = None,
                 store: Store | None = None, bus: SoftwareBus | None = None,
                 wiring: Wiring | None = None) -> None:
        if not rate_groups_hz:
            raise ConfigError("executive: at least one rate group is needed")
        self.clock = clock
        # How a group's work is measured against its period (see fsw.core.time).
        self._work_time = work_timer(clock)
        self.bus = bus or SoftwareBus()
        self.events = EventLog(self.bus, clock.now, store=store)
        self.context = AppContext(self.bus, clock, self.events, dict(devices or {}), store,
                                  TableRegistry(store), wiring=wiring or Wiring())
        self.base_hz = max(rate_groups_hz)
        self.groups = [self._make_group(r) for r in sorted(set(rate_groups_hz), reverse=True)]
        self.hk_divisor = self._divisor(housekeeping_hz, "housekeeping_hz")
        self.specs: list[AppSpec] = []
        self.apps: dict[str, App] = {}
        self._failures_in_a_row: dict[str, int] = {}
        self.minor_frames = 0
        self.late_frames = 0
        self.skipped_frames = 0
        self.total_drops = 0
        self._max_work_s = 0.0
        self._t0 = 0.0
        self._booted = False
        self.bus.register(EXECUTIVE_HK)
        self.bus.register(APP_HEARTBEAT)
        self.context.apps = self.apps

    # -- configuration ---------------------------------------------------------
    @classmethod
    def from_config(cls, source: str | Path | Mapping[str, Any], clock: Clock, *,
                    devices: Mapping[str, Any] | None = None,
                    store: Store | None = None) -> Executive:
        """Build an executive from a TOML file or mapping (see the module docstring)."""
        config = load_config(source)
        execu = config.get("executive", {})
        rates = tuple(float(r) for r in execu.get("rate_groups_hz", (10.0, 1.0)))
        hk_hz = float(execu.get("housekeeping_hz", 1.0))
        exe = cls(clock, rate_groups_hz=rates, housekeeping_hz=hk_hz, devices=devices, store=store,
                  wiring=Wiring.from_config(config.get("wiring")))
        apps = config.get("apps", [])
        if not isinstance(apps, list):
            raise ConfigError("'apps' must be an array of tables ([[apps]])")
        for i, entry in enumerate(apps):
            if not isinstance(entry, Mapping):
                raise ConfigError(f"apps[{i}] must be a table")
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                raise ConfigError(f"apps[{i}] has no name")
            if "class" not in entry:
                raise ConfigError(f"app {name!r} has no 'class'")
            exe.add_app(AppSpec(name, entry["class"], float(entry.get("rate_hz", exe.base_hz)),
                                dict(entry.get("config", {}))))
        exe.context.wiring.check(spec.name for spec in exe.specs)
        return exe

    def add_app(self, spec: AppSpec) -> None:
        """Queue an app for boot; its rate must be one of the rate groups."""
        if any(s.name == spec.name for s in self.specs):
            raise ConfigError(f"app {spec.name!r} is configured twice")
        self._group_for(spec.rate_hz, spec.name)
        self.specs.append(spec)

    def _divisor(self, rate_hz: float, what: str) -> int:
        if not rate_hz > 0:
            raise ConfigError(f"{what}: rate {rate_hz} Hz must be positive")
        divisor = round(self.base_hz / rate_hz)
        if divisor < 1 or abs(self.base_hz / divisor - rate_hz) > 1e-9 * self.base_hz:
            raise ConfigError(f"{what}: {rate_hz} Hz does not divide the {self.base_hz} Hz "
                              "minor frame")
        return divisor

    def _make_group(self, rate_hz: float) -> RateGroup:
        return RateGroup(rate_hz, self._divisor(rate_hz, f"rate group {rate_hz} Hz"))

    def _group_for(self, rate_hz: float, app_name: str) -> RateGroup:
        for group in self.groups:
            if abs(group.rate_hz - rate_hz) < 1e-9:
                return group
        rates = ", ".join(f"{g.rate_hz:g}" for g in self.groups)
        raise ConfigError(f"app {app_name!r}: {rate_hz:g} Hz is not a rate group ({rates} Hz)")

    # -- boot --------------------------------------------------------------------
    def boot(self) -> list[str]:
        """Load, construct and initialise every app, then start them.

        Returns the names of the apps that failed; each failure was also
        raised as a high-severity event naming the app and the reason.
        """
        failed = []
        self.context.boot = record_boot(self.context.store)
        for spec in self.specs:
            try:
                cls = resolve_app_class(spec.target, spec.name)
            except ConfigError as exc:
                self._exec_event(EV_APP_LOAD_FAILED, why=exc)
                failed.append(spec.name)
                continue
            try:
                app = cls(self.context, spec.config)
                app.init()
            except Exception as exc:  # any failure of one app must not stop the boot
                self._exec_event(EV_APP_INIT_FAILED, app=spec.name, why=exc)
                failed.append(spec.name)
                continue
            self.apps[spec.name] = app
            self._failures_in_a_row[spec.name] = 0
            self._group_for(spec.rate_hz, spec.name).apps.append((spec.name, app))
        for name, app in self.apps.items():
            try:
                app.start()
                app.state = AppState.RUNNING
            except Exception as exc:
                self._fail(name, f"failed to start: {exc}")
                failed.append(name)
        self._t0 = self.clock.now()
        self._booted = True
        running = sum(app.state == AppState.RUNNING for app in self.apps.values())
        boot = self.context.boot
        self._exec_event(EV_BOOTED, running=running, apps=len(self.specs), boot=boot.count,
                         cause=boot.cause.name)
        return failed

    # -- running -----------------------------------------------------------------
    def step(self) -> None:
        """Run one minor frame, then wait (or advance virtual time) to the next."""
        if not self._booted:
            self.boot()
        frame = self.minor_frames
        frame_work = 0.0
        for group in self.groups:
            if frame % group.divisor:
                continue
            work = self._run_group(group)
            frame_work += work
            group.cycles += 1
            if work > group.max_work_s:
                group.max_work_s = work
            if work > 1.0 / group.rate_hz:
                group.overruns += 1
                self._exec_event(EV_OVERRUN, rate_hz=group.rate_hz, work_ms=work * 1e3,
                                 count=group.overruns)
        self._max_work_s = max(self._max_work_s, frame_work)
        if frame % self.hk_divisor == 0:
            self._housekeeping()
        self.minor_frames += 1
        deadline = self._t0 + self.minor_frames / self.base_hz
        now = self.clock.now()
        if now > deadline:
            self.late_frames += 1
            behind = int((now - deadline) * self.base_hz)
            if behind:
                # Real time cannot be caught up by running faster: drop whole frames.
                self.skipped_frames += behind
                self.minor_frames += behind
                deadline = self._t0 + self.minor_frames / self.base_hz
        self.clock.sleep_until(deadline)

    def run(self, duration_s: float | None = None, *,
            until: Callable[[], bool] | None = None) -> None:
        """Run minor frames for `duration_s` of clock time, or until `until()` is true."""
        if not self._booted:
            self.boot()
        end = None if duration_s is None else self.clock.now() + duration_s
        while True:
            if end is not None and self.clock.now() >= end - 1e-9:
                return
            if until is not None and until():
                return
            self.step()

    def shutdown(self) -> None:
        """Stop every running app, the last started first (an app's services, such
        as comms and the audit log, outlive the apps that use them while these
        stop); the next boot then counts as orderly."""
        try:
            for name, app in reversed(self.apps.items()):
                if app.state == AppState.RUNNING:
                    try:
                        app.stop()
                    finally:
                        app.state = AppState.STOPPED
                        self._exec_event(EV_APP_STOPPED, app=name)
        finally:
            record_shutdown(self.context.store)

    def _run_group(self, group: RateGroup) -> float:
        work_time = self._work_time
        start = work_time()
        for name, app in group.apps:
            if app.state != AppState.RUNNING:
                continue
            try:
                app.run_cycle()
            except Exception as exc:  # contain the fault to the app that raised it
                app.cycle_error_count += 1
                self._failures_in_a_row[name] += 1
                self._exec_event(EV_APP_CYCLE_FAILED, app=name, work="cycle",
                                 why=f"{type(exc).__name__}: {exc}")
                if self._failures_in_a_row[name] >= MAX_CONSECUTIVE_FAILURES:
                    self._fail(name, f"stopped after {MAX_CONSECUTIVE_FAILURES} "
                                     "failed cycles in a row")
            else:
                self._failures_in_a_row[name] = 0
        return work_time() - start

    def _fail(self, name: str, why: str) -> None:
        app = self.apps[name]
        app.state = AppState.FAILED
        try:
            app.stop()
        except Exception:  # a failed app's cleanup must not take the executive down
            pass
        self._exec_event(EV_APP_FAILED, app=name, why=why)

    def _housekeeping(self) -> None:
        for app in self.apps.values():
            if app.state == AppState.RUNNING:
                try:
                    app.report_housekeeping()
                except (BusError, ValueError, KeyError) as exc:
                    self._exec_event(EV_APP_CYCLE_FAILED, app=app.NAME, work="housekeeping",
                                     why=exc)
        for pipe, n in self.bus.new_drops():
            self.total_drops += n
            self._exec_event(EV_PIPE_DROPS, pipe=pipe.name, count=n,
                             msg_id=pipe.last_dropped_msg_id)
        # Both packed positionally, in the order their layouts above declare:
        # compiled, a keyword call builds a dict for every message.
        pack_heartbeat = APP_HEARTBEAT.struct.pack
        for app in self.apps.values():
            self.bus.publish(APP_HEARTBEAT.msg_id, pack_heartbeat(
                app.APID, int(app.state), app.cycles_run & 0xFFFFFFFF,
                min(app.cycle_error_count, 0xFFFF)))
        running = sum(a.state == AppState.RUNNING for a in self.apps.values())
        failed = sum(a.state == AppState.FAILED for a in self.apps.values())
        self.bus.publish(EXECUTIVE_HK.msg_id, EXECUTIVE_HK.struct.pack(
            self.clock.now(), self.minor_frames & 0xFFFFFFFF, running,
            failed + len(self.specs) - len(self.apps),
            sum(g.overruns for g in self.groups) & 0xFFFFFFFF, self.late_frames & 0xFFFFFFFF,
            self.skipped_frames & 0xFFFFFFFF, self.total_drops & 0xFFFFFFFF,
            self._max_work_s * 1e3))
        self._max_work_s = 0.0

    def _exec_event(self, event: EventDef, **values: Any) -> None:
        self.events.emit(EXECUTIVE_APID, event, **values)
