"""The EPS app: looks after the battery and the switched outputs of the P31u.

Once a cycle (1 Hz) it reads the EPS housekeeping through the HAL driver
(`hal.devices.p31u.P31u`) and:

- **State of charge** by coulomb counting: the net battery current (solar in
  less system out, A) times the cycle time over the capacity (A h). Counting
  drifts with current-sensor offset, so each cycle it is pulled toward the
  voltage estimate by a small weight `voltage_weight`: the open-circuit
  voltage is the measured voltage less the internal-resistance drop
  (I x R, `internal_ohm`), mapped to charge through the Li-ion curve. At boot
  the estimate starts from that voltage alone, unless the ground set one
  (`set_soc`) before the EPS first answered: that one is kept, and counting
  starts from the first reading.
- **Switching**: each output has a name (`channels` in the configuration,
  name -> P31u output number) and a wanted state set by command. An output is
  on when it is wanted, not shed and not locked out.
- **Load shedding** from the `eps_shedding` table: an ordered list of
  ``{channel, off_below_pct, on_above_pct}``; when the state of charge falls
  below an entry's `off_below_pct` its output is shed (first entries first:
  their thresholds are highest), and given back when the charge has climbed
  above `on_above_pct`.
- **Over-current latch-ups**: the P31u switches an output off by itself on
  over-current and counts it. The app raises an event, switches a wanted
  output on again after `latch_retry_s`, and after `latch_retries` latch-ups
  in a row locks it out (off until commanded on again).

Configuration (`[apps.config]`): `channels` (table name -> output 0-7; none
by default), `initially_on` (names), `capacity_ah`, `cells_in_series`,
`internal_ohm` (the battery: by default the reference GomSpace BP4 2S2P
pack, 5.2 A h, 2 cells in series, 0.1 ohm), `voltage_weight` (0.002),
`latch_retries` (3), `latch_retry_s` (10 s), `shedding` (the default
`eps_shedding` table content; none by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fsw.core import App, CommandError, Field, Reason, Severity, command
from fsw.core.events import EventDef
from fsw.core.ids import EPS_APID
from fsw.core.tables import check_keys, check_number
from hal import HalError
from hal.devices.p31u import N_OUTPUTS, soc_from_cell_v

EV_SHED = EventDef(10, "SHED", Severity.MEDIUM,
                   "output {name} shed: charge {soc:.1f} % < {limit} %")
EV_RESTORED = EventDef(11, "RESTORED", Severity.INFO,
                       "output {name} restored: charge {soc:.1f} % > {limit} %")
EV_LATCHUP = EventDef(12, "LATCHUP", Severity.MEDIUM, "output {name} latched off on over-current "
                      "({streak}); retry in {retry_s:g} s", burst=6, rate_hz=0.1)
EV_LOCKED_OUT = EventDef(13, "LOCKED_OUT", Severity.HIGH,
                         "output {name} locked out after {retries} retries")
EV_READ_FAILED = EventDef(14, "READ_FAILED", Severity.MEDIUM,
                          "EPS housekeeping failed ({count}): {why}", burst=1, rate_hz=1 / 60)
EV_SWITCH_FAILED = EventDef(15, "SWITCH_FAILED", Severity.MEDIUM, "switching {name} failed: {why}",
                            burst=3, rate_hz=0.1)


def validate_shedding(content: Any, channels: Mapping[str, int]) -> list[str]:
    """Problems of an `eps_shedding` table against the configured channel names."""
    problems: list[str] = []
    if not check_keys(content, {"order"}, {"order"}, problems) or problems:
        return problems
    order = content["order"]
    if not isinstance(order, list):
        return ["order must be a list"]
    seen: set[str] = set()
    last_off: float | None = None  # the lowest threshold of the entries before
    for i, entry in enumerate(order):
        where = f"order[{i}]."
        if not check_keys(entry, {"channel", "off_below_pct", "on_above_pct"},
                          {"channel", "off_below_pct", "on_above_pct"}, problems, where):
            continue
        name = entry["channel"]
        if name not in channels:
            problems.append(f"{where}channel {name!r} is not one of {sorted(channels)}")
        elif name in seen:
            problems.append(f"{where}channel {name!r} appears twice")
        seen.add(name)
        check_number(entry, "off_below_pct", 0, 100, problems, where)
        check_number(entry, "on_above_pct", 0, 100, problems, where)
        off, on = entry.get("off_below_pct"), entry.get("on_above_pct")
        if isinstance(off, (int, float)) and isinstance(on, (int, float)):
            if on <= off:
                problems.append(f"{where}on_above_pct must exceed off_below_pct")
            if last_off is not None and off > last_off:
                problems.append(f"{where}sheds above an earlier entry: the order is by "
                                "falling threshold")
            last_off = off if last_off is None else min(last_off, off)
    return problems


class EpsApp(App):
    NAME = "eps"
    APID = EPS_APID
    HK_FIELDS = (
        Field("soc_pct", "f", "%", "state of charge estimate"),
        Field("vbatt_v", "f", "V"),
        Field("solar_a", "f", "A", "current in from the solar panels"),
        Field("load_a", "f", "A", "current out of the battery"),
        Field("outputs_on", "B", doc="bit n: output n is on (as the EPS reports)"),
        Field("shed", "B", doc="bit n: output n is shed for low charge"),
        Field("locked_out", "B", doc="bit n: output n is locked out after latch-ups"),
        Field("latchups", "H", doc="latch-ups seen since boot, all outputs"),
        Field("batt_mode", "B", doc="P31u battery mode: 1 critical, 2 safe, 3 normal, 4 full"),
        Field("wdt_gnd_resets", "H", doc="resets caused by the EPS ground watchdog"),
        Field("read_failures", "H"),
    )
    EVENTS = (EV_SHED, EV_RESTORED, EV_LATCHUP, EV_LOCKED_OUT, EV_READ_FAILED, EV_SWITCH_FAILED)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        cfg = self.config
        self.channels: dict[str, int] = {str(k): int(v) for k, v in
                                         dict(cfg.get("channels", {})).items()}
        for name, out in self.channels.items():
            if not 0 <= out < N_OUTPUTS:
                raise ValueError(f"eps: channel {name!r} output {out} is not 0-{N_OUTPUTS - 1}")
        self.capacity_ah = float(cfg.get("capacity_ah", 5.2))
        self.cells = int(cfg.get("cells_in_series", 2))
        self.internal_ohm = float(cfg.get("internal_ohm", 0.1))
        self.voltage_weight = float(cfg.get("voltage_weight", 0.002))
        self.latch_retries = int(cfg.get("latch_retries", 3))
        self.latch_retry_s = float(cfg.get("latch_retry_s", 10.0))
        self.wanted = {name: name in cfg.get("initially_on", []) for name in self.channels}
        self.shed: set[str] = set()
        self.locked_out: set[str] = set()
        self.latch_streak = {name: 0 for name in self.channels}
        self.retry_at: dict[str, float] = {}
        self.order: list[dict[str, Any]] = []
        self.soc: float | None = None
        self.hk: Any = None
        self.latchups_seen: tuple[int, ...] | None = None
        self.latchups = 0
        self.read_failures = 0
        self._last_s: float | None = None

    # -- init -----------------------------------------------------------------------
    def init(self) -> None:
        self.eps = self.device("eps")
        default = self.config.get("shedding", {"order": []})
        self.register_table("eps_shedding", default,
                            lambda c: validate_shedding(c, self.channels), self._take_shedding)

    def _take_shedding(self, content: Any) -> None:
        self.order = list(content["order"])

    def start(self) -> None:
        self.execute()

    # -- main loop --------------------------------------------------------------------
    def execute(self) -> None:
        t_s = self.now()
        try:
            hk = self.eps.housekeeping()
        except HalError as exc:
            self.read_failures += 1
            self.event(EV_READ_FAILED, count=self.read_failures, why=exc)
            return
        self.hk = hk
        self._estimate_soc(hk, t_s)
        self._watch_latchups(hk, t_s)
        self._shed_and_restore()
        self._apply(hk, t_s)

    def _estimate_soc(self, hk: Any, t_s: float) -> None:
        net_a = hk.cursun_a - hk.cursys_a
        ocv_cell_v = (hk.vbatt_v - net_a * self.internal_ohm) / self.cells
        from_voltage = soc_from_cell_v(ocv_cell_v)
        # An estimate the ground set before the first reading is kept; counting
        # starts from that reading.
        if self.soc is None:
            self.soc = from_voltage  # the first estimate: the voltage alone
        elif self._last_s is not None:
            dt = max(0.0, t_s - self._last_s)
            counted = self.soc + net_a * dt / 3600.0 / self.capacity_ah
            self.soc = counted + self.voltage_weight * (from_voltage - counted)
            self.soc = min(1.0, max(0.0, self.soc))
        self._last_s = t_s

    def _watch_latchups(self, hk: Any, t_s: float) -> None:
        counts = tuple(hk.latchups)
        before = self.latchups_seen
        self.latchups_seen = counts
        if before is None:
            return
        for name, out in self.channels.items():
            if out >= len(counts) or counts[out] <= before[out]:
                continue
            self.latchups += counts[out] - before[out]
            self.latch_streak[name] += 1
            if self.latch_streak[name] > self.latch_retries:
                self.locked_out.add(name)
                self.retry_at.pop(name, None)
                self.event(EV_LOCKED_OUT, name=name, retries=self.latch_retries)
            else:
                self.retry_at[name] = t_s + self.latch_retry_s
                self.event(EV_LATCHUP, name=name, streak=self.latch_streak[name],
                           retry_s=self.latch_retry_s)

    def _shed_and_restore(self) -> None:
        soc_pct = 100.0 * (self.soc or 0.0)
        for entry in self.order:
            name = entry["channel"]
            if name not in self.shed and soc_pct < entry["off_below_pct"]:
                self.shed.add(name)
                self.event(EV_SHED, name=name, soc=soc_pct, limit=entry["off_below_pct"])
            elif name in self.shed and soc_pct > entry["on_above_pct"]:
                self.shed.discard(name)
                self.event(EV_RESTORED, name=name, soc=soc_pct, limit=entry["on_above_pct"])

    def _apply(self, hk: Any, t_s: float) -> None:
        """Switch each output whose state differs from what it should be."""
        for name, out in self.channels.items():
            should = self.wanted[name] and name not in self.shed and name not in self.locked_out
            is_on = hk.outputs_on[out]
            if should == is_on:
                if is_on:  # stayed on a whole cycle: a later latch-up starts a new streak
                    self.latch_streak[name] = 0
                continue
            if should and name in self.retry_at and t_s < self.retry_at[name]:
                continue  # latched off: wait before trying again
            self.retry_at.pop(name, None)
            try:
                self.eps.set_output(out, should)
            except HalError as exc:
                self.event(EV_SWITCH_FAILED, name=name, why=exc)

    # -- commands -------------------------------------------------------------------------
    def _channel(self, output: int) -> str:
        for name, out in self.channels.items():
            if out == output:
                return name
        raise CommandError(Reason.BAD_ARGUMENT, f"output {output} is not a configured channel")

    @command(10, Field("output", "B", low=0, high=N_OUTPUTS - 1), Field("on", "B", low=0, high=1),
             critical=True)
    def set_output(self, output: int, on: int) -> None:
        """Want an output on (1) or off (0); on also clears a latch-up lock-out."""
        name = self._channel(output)
        self.wanted[name] = bool(on)
        if on:
            self.locked_out.discard(name)
            self.latch_streak[name] = 0
            self.retry_at.pop(name, None)
        if self.hk is not None:
            self._apply(self.hk, self.now())

    @command(11, Field("soc_pct", "f", "%", low=0.0, high=100.0))
    def set_soc(self, soc_pct: float) -> None:
        """Set the state-of-charge estimate (after a ground assessment of the battery)."""
        self.soc = soc_pct / 100.0

    def channel_on(self, name: str) -> bool:
        """Whether output `name` is on as the EPS last reported."""
        return bool(self.hk is not None and self.hk.outputs_on[self.channels[name]])

    def housekeeping_values(self) -> Mapping[str, Any]:
        hk = self.hk

        def bits(names: set[str]) -> int:
            return sum(1 << self.channels[n] for n in names)

        outputs = sum(1 << i for i, on in enumerate(hk.outputs_on) if on) if hk else 0
        return {"soc_pct": 100.0 * (self.soc or 0.0), "vbatt_v": hk.vbatt_v if hk else 0.0,
                "solar_a": hk.cursun_a if hk else 0.0, "load_a": hk.cursys_a if hk else 0.0,
                "outputs_on": outputs & 0xFF, "shed": bits(self.shed) & 0xFF,
                "locked_out": bits(self.locked_out) & 0xFF,
                "latchups": min(self.latchups, 0xFFFF), "batt_mode": hk.batt_mode if hk else 0,
                "wdt_gnd_resets": min(hk.wdt_gnd_resets, 0xFFFF) if hk else 0,
                "read_failures": min(self.read_failures, 0xFFFF)}
