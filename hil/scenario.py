"""Bench scenarios in TOML: the world at t = 0, timed faults, pass/fail criteria.

    [scenario]
    name = "detumble"
    mode = "lockstep"          # lockstep | realtime
    duration_s = 5700.0        # simulated (lockstep) or wall (realtime) seconds
    baud = 921600              # realtime: byte timing imposed on the link
    ber = 0.0                  # link impairment: bit error rate, both directions
    frame_loss = 0.0           # and the probability a frame is lost
    read_ahead = true          # lockstep: the bench does each frame's repeated
                               # transactions with the TICK (hal.tunnel.readahead)

    [initial]                  # ground.sim.sil.Scenario fields
    alt_km = 500.0
    w0_body_deg_s = [10.0, 10.0, 10.0]
    seed = 1

    [[faults]]                 # at_s: scenario time; device: an emulator name
    at_s = 120.0
    kind = "stuck"             # stuck | nack | timeout | bit_flip | brownout | link_drop
                               # | reset (the flight computer's reset line)
    device = "gyro"
    duration_s = 30.0

    [[criteria]]
    name = "detumbled by one orbit"
    value = "truth.rate_deg_s" # truth.*, tm.<Message>.<field>, link.*, timing.*
    below = 0.5                # or above = ..., equals = ...
    at_s = 5700.0              # evaluated at this time (default: the end);
                               # or from_s = ...: every sample from then on

Every table and key is checked; `ScenarioError` names the one at fault.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["DEVICES", "FAULT_KINDS", "Criterion", "Fault", "Scenario", "ScenarioError",
           "load_scenario"]

FAULT_KINDS = ("stuck", "nack", "timeout", "bit_flip", "brownout", "link_drop", "reset")
# Emulators a fault can name (hal.sim.reference.ReferenceEmulators), plus single wheels.
DEVICES = ("magnetometer", "magnetorquer", "gyro", "sun_adc_a", "sun_adc_b", "wheels",
           "wheel1", "wheel2", "wheel3", "wheel4", "eps", "gps", "radio")
MODES = ("lockstep", "realtime")
_INITIAL_KEYS = ("alt_km", "inclination_deg", "raan_deg", "epoch_tai_s", "w0_body_deg_s",
                 "q0_body_eci", "field_model", "seed", "sensor_noise")


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the text names the table and key."""


@dataclass(frozen=True)
class Fault:
    at_s: float
    kind: str
    device: str | None
    duration_s: float = 0.0
    rate: float = 1.0


@dataclass(frozen=True)
class Criterion:
    name: str
    value: str
    op: str                 # below | above | equals
    threshold: float
    at_s: float | None = None
    from_s: float | None = None


@dataclass
class Scenario:
    name: str
    mode: str = "lockstep"
    duration_s: float = 600.0
    baud: int = 921_600
    ber: float = 0.0
    frame_loss: float = 0.0
    read_ahead: bool = True
    initial: dict[str, Any] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    criteria: list[Criterion] = field(default_factory=list)
    source: str = ""

    def sil_scenario(self):
        """The simulator's initial state (`ground.sim.sil.Scenario`)."""
        from ground.sim.sil import Scenario as SilScenario

        values = dict(self.initial)
        for key in ("w0_body_deg_s", "q0_body_eci"):
            if key in values:
                values[key] = tuple(float(x) for x in values[key])
        return SilScenario(**values)


def _fail(where: str, why: str) -> ScenarioError:
    return ScenarioError(f"{where}: {why}")


def _number(table: dict[str, Any], key: str, where: str, default: float | None = None, *,
            low: float | None = None, high: float | None = None) -> float | None:
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, f"{key} = {value!r} is not a finite number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _fail(where, f"{key} = {value} is outside [{low}, {high}]")
    return float(value)


def _known(table: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise _fail(where, "must be a table")
    extra = set(table) - keys
    if extra:
        raise _fail(where, f"unknown keys {sorted(extra)} (known: {sorted(keys)})")
    return table


def load_scenario(source: str | Path) -> Scenario:
    """Parse and check a scenario from a path or TOML text."""
    try:
        text = Path(source).read_text() if isinstance(source, Path) or (
            "\n" not in str(source) and str(source).endswith(".toml")) else str(source)
        doc = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}") from None
    _known(doc, {"scenario", "initial", "faults", "criteria"}, "scenario file")
    head = _known(doc.get("scenario", {}),
                  {"name", "mode", "duration_s", "baud", "ber", "frame_loss", "read_ahead"},
                  "[scenario]")
    mode = head.get("mode", "lockstep")
    if mode not in MODES:
        raise _fail("[scenario]", f"mode {mode!r} is not one of {MODES}")
    baud = head.get("baud", 921_600)
    if isinstance(baud, bool) or not isinstance(baud, int) or not 300 <= baud <= 20_000_000:
        raise _fail("[scenario]", f"baud = {baud!r} is not a whole number in [300, 20000000]")
    read_ahead = head.get("read_ahead", True)
    if not isinstance(read_ahead, bool):
        raise _fail("[scenario]", f"read_ahead = {read_ahead!r} is not true or false")
    scenario = Scenario(
        name=str(head.get("name", "scenario")), mode=mode,
        duration_s=_number(head, "duration_s", "[scenario]", 600.0, low=0.1, high=1e6),
        baud=baud, ber=_number(head, "ber", "[scenario]", 0.0, low=0.0, high=0.01),
        frame_loss=_number(head, "frame_loss", "[scenario]", 0.0, low=0.0, high=0.5),
        read_ahead=read_ahead,
        source=str(source) if not isinstance(source, str) or "\n" not in source else "")
    initial = _known(doc.get("initial", {}), set(_INITIAL_KEYS), "[initial]")
    scenario.initial = dict(initial)
    try:
        scenario.sil_scenario()
    except (TypeError, ValueError) as exc:
        raise _fail("[initial]", str(exc)) from None
    for i, table in enumerate(doc.get("faults", [])):
        scenario.faults.append(_fault(table, f"faults[{i}]"))
    scenario.faults.sort(key=lambda f: f.at_s)
    for i, table in enumerate(doc.get("criteria", [])):
        scenario.criteria.append(_criterion(table, f"criteria[{i}]"))
    return scenario


def _fault(table: Any, where: str) -> Fault:
    t = _known(table, {"at_s", "kind", "device", "duration_s", "rate"}, where)
    kind = t.get("kind")
    if kind not in FAULT_KINDS:
        raise _fail(where, f"kind {kind!r} is not one of {FAULT_KINDS}")
    device = t.get("device")
    if kind in ("link_drop", "reset"):
        if device is not None:
            raise _fail(where, f"{kind} takes no device")
    elif device not in DEVICES:
        raise _fail(where, f"device {device!r} is not one of {DEVICES}")
    at_s = _number(t, "at_s", where, low=0.0)
    if at_s is None:
        raise _fail(where, "at_s missing")
    return Fault(at_s, kind, device, _number(t, "duration_s", where, 0.0, low=0.0),
                 _number(t, "rate", where, 1.0, low=1e-9, high=1.0))


def _criterion(table: Any, where: str) -> Criterion:
    t = _known(table, {"name", "value", "below", "above", "equals", "at_s", "from_s"}, where)
    value = t.get("value")
    if not isinstance(value, str) or value.split(".")[0] not in ("truth", "tm", "link",
                                                                 "timing"):
        raise _fail(where, f"value {value!r} must start with truth., tm., link. or timing.")
    ops = [op for op in ("below", "above", "equals") if op in t]
    if len(ops) != 1:
        raise _fail(where, "give exactly one of below, above, equals")
    if "at_s" in t and "from_s" in t:
        raise _fail(where, "give at most one of at_s, from_s")
    return Criterion(str(t.get("name", value)), value, ops[0], _number(t, ops[0], where),
                     _number(t, "at_s", where, low=0.0), _number(t, "from_s", where, low=0.0))
