"""The mode manager: which mode the spacecraft is in, why, and what each mode means.

Modes: **SAFE** (survive until the operator looks: partner apps stopped,
ADCS acquiring the sun, payload power off, beacon on), **NOMINAL** (the bus
flies, payloads off) and **PAYLOAD** (payload power on, partner apps run).
What entering each mode does is declared in the configuration as command
sequences (`entry.SAFE`, `entry.NOMINAL`, `entry.PAYLOAD`, see
`fsw.core.sequence`), sent on every entry, including at boot.

Entering SAFE is autonomous: the FDIR app's limit monitors (low battery,
ADCS divergence, a dead sensor, a stuck wheel, loss of contact, overruns;
declared in the `fdir` table) answer with ENTER_SAFE and a cause, and the
mode manager itself safes at boot after `reset_loop_count` hardware
watchdog resets in a row. Leaving SAFE is only ever commanded by the
operator (SET_MODE). Every transition is an event naming the old and new
mode and the cause.

Ground contact: the app follows a counter of accepted uplink frames
(`contact.source` app's housekeeping field `contact.field`); the time since
it last moved is published as `s_since_contact`, which an FDIR monitor
limits.

Persistence: the mode and its cause are written to the store (one
transaction) before the entry actions are sent. At boot the spacecraft
comes up in SAFE when it was in SAFE (or in a watchdog reset loop), and in
NOMINAL otherwise: a reset never resumes PAYLOAD by itself.

Who may ask for what: SET_MODE (10) is the bus operator's (only its key may
command this APID) and may make any transition in `transitions`; REQUEST_MODE
(11) is the command a partner may be authorised for and makes only the
transitions in `partner_transitions` (default NOMINAL <-> PAYLOAD).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from fsw.core import App, CommandError, Field, MessageType, Reason, Severity, command
from fsw.core.boot import ResetCause
from fsw.core.events import EventDef
from fsw.core.ids import BEACON_APID, MODE_APID
from fsw.core.message import tm_msg_id
from fsw.core.sequence import Step, resolve, send
from hal import HalError


class Mode(IntEnum):
    SAFE = 0
    NOMINAL = 1
    PAYLOAD = 2


class SafeCause(IntEnum):
    """Why the spacecraft is in SAFE (0 when it is not)."""

    NONE = 0
    LOW_BATTERY = 1
    ADCS_DIVERGENCE = 2
    SUN_LOST = 3
    CONTACT_LOST = 4
    WATCHDOG_LOOP = 5
    COMMANDED = 6
    SENSOR_FAILED = 7
    WHEEL_FAILED = 8
    OVERRUN = 9
    HEARTBEAT_LOST = 10


BEACON = MessageType("Beacon", tm_msg_id(BEACON_APID), [
    Field("mode", "B", doc="Mode"),
    Field("safe_cause", "B", doc="SafeCause"),
    Field("boot_count", "I"),
    Field("reset_cause", "B", doc="fsw.core.boot.ResetCause"),
    Field("s_since_contact", "f", "s"),
], doc="Sent every beacon_period_s while in SAFE, for any ground station to hear")

EV_TO_SAFE = EventDef(10, "TO_SAFE", Severity.HIGH, "mode {old} -> SAFE: {why}")
EV_TRANSITION = EventDef(11, "TRANSITION", Severity.INFO, "mode {old} -> {new}: {why}")
EV_REFUSED = EventDef(12, "REFUSED", Severity.LOW, "transition {old} -> {new} is not allowed",
                      burst=5, rate_hz=0.1)
EV_RESET_LOOP = EventDef(13, "RESET_LOOP", Severity.HIGH,
                         "{count} watchdog resets in a row: booting into SAFE")
EV_BOOT = EventDef(14, "BOOT", Severity.INFO, "boot {count} ({cause}) into {mode}")
EV_BOOT_SAFE = EventDef(15, "BOOT_SAFE", Severity.HIGH, "boot {count} ({cause}) into SAFE ({why})")
EV_DEGRADED = EventDef(16, "DEGRADED", Severity.INFO, "{what}", burst=8, rate_hz=0.0,
                       doc="a declared step or source whose app is not running")

_NS = "mode"
_DEFAULT_TRANSITIONS = [["SAFE", "NOMINAL"], ["NOMINAL", "PAYLOAD"], ["PAYLOAD", "NOMINAL"],
                        ["NOMINAL", "SAFE"], ["PAYLOAD", "SAFE"]]


def _pairs(items: Any, where: str) -> set[tuple[Mode, Mode]]:
    try:
        return {(Mode[a], Mode[b]) for a, b in items}
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"mode: {where} must be pairs of mode names "
                         f"({', '.join(m.name for m in Mode)})") from None


class ModeManagerApp(App):
    NAME = "mode"
    APID = MODE_APID
    HK_FIELDS = (
        Field("mode", "B", doc="Mode"),
        Field("safe_cause", "B", doc="SafeCause of the present SAFE (0 otherwise)"),
        Field("transitions", "H", doc="since boot"),
        Field("s_since_contact", "f", "s", "since the uplink last accepted a frame"),
        Field("boot_count", "I"),
        Field("reset_cause", "B", doc="fsw.core.boot.ResetCause of this boot"),
        Field("watchdog_resets", "B", doc="hardware watchdog resets in a row"),
    )
    TELEMETRY = (BEACON,)
    EVENTS = (EV_TO_SAFE, EV_TRANSITION, EV_REFUSED, EV_RESET_LOOP, EV_BOOT, EV_BOOT_SAFE,
              EV_DEGRADED)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        cfg = self.config
        self.initial_mode = Mode[str(cfg.get("initial_mode", "NOMINAL")).upper()]
        self.allowed = _pairs(cfg.get("transitions", _DEFAULT_TRANSITIONS), "transitions")
        self.partner_allowed = _pairs(cfg.get("partner_transitions",
                                              [["NOMINAL", "PAYLOAD"], ["PAYLOAD", "NOMINAL"]]),
                                      "partner_transitions")
        self._entry_cfg = dict(cfg.get("entry", {}))
        unknown = set(self._entry_cfg) - {m.name for m in Mode}
        if unknown:
            raise ValueError(f"mode: entry has unknown modes {sorted(unknown)}")
        contact = dict(cfg.get("contact", {}))
        self.contact_source = contact.get("source")
        self.contact_field = str(contact.get("field", "frames_accepted"))
        self.reset_loop_count = int(cfg.get("reset_loop_count", 3))
        self.watchdog_counter_device = cfg.get("watchdog_counter_device")
        self.beacon_period_s = float(cfg.get("beacon_period_s", 10.0))
        self.mode = self.initial_mode
        self.cause = SafeCause.NONE
        self.transitions = 0
        self.reset_cause = ctx.boot.cause
        self.watchdog_resets = 0
        self._contact_value = 0.0  # the source counts from zero at every boot
        self._contact_s = 0.0
        self._next_beacon_s = 0.0
        self.entry: dict[Mode, list[Step]] = {}

    # -- init: the boot mode --------------------------------------------------------------
    def init(self) -> None:
        if self.contact_source:
            self.contact_pipe = self.bus.create_pipe("mode.contact", 8)
        self.mode, self.cause = self._boot_mode()

    def _boot_mode(self) -> tuple[Mode, SafeCause]:
        store = self.ctx.store
        if store is None:
            return self.initial_mode, SafeCause.NONE
        raw = store.get(_NS, "mode")
        counter = self._watchdog_counter()
        seen = store.get(_NS, "wdt_counter")
        in_a_row = store.get(_NS, "wdt_in_a_row")
        self.watchdog_resets = in_a_row[0] if in_a_row else 0
        if (self.reset_cause == ResetCause.UNEXPECTED and counter is not None and seen
                and counter > int.from_bytes(seen, "big")):
            self.reset_cause = ResetCause.WATCHDOG
        if self.reset_cause == ResetCause.WATCHDOG:
            self.watchdog_resets = min(self.watchdog_resets + 1, 255)
        else:
            self.watchdog_resets = 0
        mode, cause = self.initial_mode, SafeCause.NONE
        if raw is not None:
            mode = Mode.SAFE if raw[0] == Mode.SAFE else Mode.NOMINAL
            cause = SafeCause(raw[1]) if mode == Mode.SAFE else SafeCause.NONE
        if self.watchdog_resets >= self.reset_loop_count:
            self.event(EV_RESET_LOOP, count=self.watchdog_resets)
            if mode != Mode.SAFE:  # already SAFE: keep the cause that put it there
                mode, cause = Mode.SAFE, SafeCause.WATCHDOG_LOOP
        with store.transaction():
            store.put(_NS, "mode", bytes([mode, cause]))
            store.put(_NS, "wdt_in_a_row", bytes([self.watchdog_resets]))
            if counter is not None:
                store.put(_NS, "wdt_counter", counter.to_bytes(4, "big"))
        return mode, cause

    def _watchdog_counter(self) -> int | None:
        if not self.watchdog_counter_device:
            return None
        try:
            return int(self.device(self.watchdog_counter_device).housekeeping().wdt_gnd_resets)
        except HalError:
            return None

    def start(self) -> None:
        # The mode manager must come up whatever else failed: steps to apps that are
        # not running are left out (and reported), never a reason to stop here.
        missing: list[str] = []
        self.entry = {Mode[name]: resolve(steps, self.ctx.apps, f"entry.{name}",
                                          missing=missing)
                      for name, steps in self._entry_cfg.items()}
        for step in missing:
            self.event(EV_DEGRADED, what=f"entry step {step} left out: app not running")
        if self.contact_source:
            source = self.ctx.apps.get(self.contact_source)
            if source is not None and self.contact_field not in source.HK._names:
                raise ValueError(f"mode: contact source {self.contact_source}."
                                 f"{self.contact_field} is not an app housekeeping field")
            if source is None:
                self.event(EV_DEGRADED, what=f"contact source {self.contact_source} not "
                                             "running: no contact can be seen")
            else:
                self._contact_hk = source.HK
                self.bus.subscribe(self.contact_pipe, source.HK.msg_id)
        self._contact_s = self.now()
        if self.mode == Mode.SAFE:
            self.event(EV_BOOT_SAFE, count=self.ctx.boot.count, cause=self.reset_cause.name,
                       why=self.cause.name)
        else:
            self.event(EV_BOOT, count=self.ctx.boot.count, cause=self.reset_cause.name,
                       mode=self.mode.name)
        send(self.bus, self.entry.get(self.mode, []), request_id=0x0D000000)

    # -- main loop -----------------------------------------------------------------------
    def execute(self) -> None:
        t_s = self.now()
        if self.contact_source:
            for _, payload in self.contact_pipe.drain():
                value = float(self._contact_hk.unpack(payload)[self.contact_field])
                if value != self._contact_value:
                    self._contact_s = t_s
                self._contact_value = value
        if self.mode == Mode.SAFE and t_s >= self._next_beacon_s:
            self._next_beacon_s = t_s + self.beacon_period_s
            self.publish(BEACON, mode=int(self.mode), safe_cause=int(self.cause),
                         boot_count=self.ctx.boot.count & 0xFFFFFFFF,
                         reset_cause=int(self.reset_cause), s_since_contact=self.s_since_contact)

    @property
    def s_since_contact(self) -> float:
        return self.now() - self._contact_s

    def _transition(self, new: Mode, cause: SafeCause, why: str) -> None:
        old = self.mode
        store = self.ctx.store
        if store is not None:
            store.put(_NS, "mode", bytes([new, cause]))
        self.mode, self.cause = new, cause
        self.transitions += 1
        self._next_beacon_s = self.now()
        if new == Mode.SAFE:
            self.event(EV_TO_SAFE, old=old.name, why=why)
        else:
            self.event(EV_TRANSITION, old=old.name, new=new.name, why=why)
        send(self.bus, self.entry.get(new, []), request_id=0x0D000000 | self.transitions)

    def _check(self, new: Mode, allowed: set[tuple[Mode, Mode]]) -> None:
        if new == self.mode:
            raise CommandError(Reason.NOT_ALLOWED_NOW, f"already in {new.name}")
        if (self.mode, new) not in allowed:
            self.event(EV_REFUSED, old=self.mode.name, new=new.name)
            raise CommandError(Reason.NOT_ALLOWED_NOW,
                               f"{self.mode.name} -> {new.name} is not allowed")

    # -- commands --------------------------------------------------------------------------
    @command(10, Field("mode", "B", low=0, high=max(Mode)), critical=True)
    def set_mode(self, mode: int) -> None:
        """Operator: change mode (leaving SAFE is only ever done this way)."""
        new = Mode(mode)
        self._check(new, self.allowed)
        cause = SafeCause.COMMANDED if new == Mode.SAFE else SafeCause.NONE
        why = ("recovery commanded by the operator" if self.mode == Mode.SAFE
               else "commanded by the operator")
        self._transition(new, cause, why)

    @command(11, Field("mode", "B", low=0, high=max(Mode)), critical=True)
    def request_mode(self, mode: int) -> None:
        """Partner: ask for one of the transitions the bus operator allows partners."""
        new = Mode(mode)
        self._check(new, self.partner_allowed)
        self._transition(new, SafeCause.NONE, "requested by a partner")

    @command(12, Field("cause", "B", low=1, high=max(SafeCause)), critical=True)
    def enter_safe(self, cause: int) -> None:
        """Enter SAFE now with `cause` (FDIR responses; also the operator)."""
        if self.mode == Mode.SAFE:
            raise CommandError(Reason.NOT_ALLOWED_NOW, f"already SAFE ({self.cause.name})")
        self._transition(Mode.SAFE, SafeCause(cause), f"autonomous: {SafeCause(cause).name}")

    def housekeeping_values(self) -> Mapping[str, Any]:
        return {"mode": int(self.mode), "safe_cause": int(self.cause),
                "transitions": min(self.transitions, 0xFFFF),
                "s_since_contact": self.s_since_contact,
                "boot_count": self.ctx.boot.count & 0xFFFFFFFF,
                "reset_cause": int(self.reset_cause), "watchdog_resets": self.watchdog_resets}
