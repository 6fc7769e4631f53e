"""The wiring: what is connected to what, named once in the flight configuration.

Data flows that cross apps are declared, not discovered (after F Prime's
topology): the ``[wiring]`` table of the flight configuration says which
telemetry the comms app downlinks as housekeeping, which events it forwards,
how the store-and-forward queue ranks them, where the scheduler's released
commands go and which app takes the uplinked orbit::

    [wiring]
    housekeeping = ["executive", "adcs", "eps", "mode", "Beacon",  # apps or messages
                    "partner_apps"]  # every partner app's housekeeping and telemetry
    events = { min_severity = "INFO", from = "all" }               # or a list of apps
    scheduler_releases_to = "comms"
    orbit_to = "adcs"
    [wiring.priority]        # store-and-forward rank, 0-255, higher goes down first
    verification = 200
    events_high = 220        # MEDIUM and HIGH events
    events = 120
    housekeeping = 50
    Beacon = 240             # any named housekeeping source may have its own

``partner_apps`` stands for the housekeeping and telemetry of every partner
payload app (APIDs from 0x100), whenever the payload host installs one: the
comms app looks for new ones once a second, so an app installed in flight is
downlinked like the operator's own.

Names are checked at boot (`check`): a wire to an app that is not
configured stops the boot with a ConfigError that names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fsw.core.errors import ConfigError
from fsw.core.events import Severity
from fsw.core.ids import EXECUTIVE_APID, PARTNER_APID_BASE
from fsw.core.message import tm_msg_id

_KEYS = {"housekeeping", "events", "scheduler_releases_to", "orbit_to", "priority"}
PARTNER_APPS = "partner_apps"
DEFAULT_PRIORITY = {"verification": 200, "events_high": 220, "events": 120, "housekeeping": 50}


@dataclass(frozen=True)
class Wiring:
    """The declared connections; see the module docstring for the TOML."""

    housekeeping: tuple[str, ...] = ()
    events_min_severity: Severity = Severity.INFO
    events_from: tuple[str, ...] | None = None  # None: every app
    scheduler_releases_to: str | None = None
    orbit_to: str | None = None
    priority: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PRIORITY))

    @classmethod
    def from_config(cls, table: Mapping[str, Any] | None) -> Wiring:
        """Parse the ``[wiring]`` table; ConfigError names what is wrong."""
        table = dict(table or {})
        unknown = set(table) - _KEYS
        if unknown:
            raise ConfigError(f"wiring: unknown keys {sorted(unknown)} (known: {sorted(_KEYS)})")
        hk = table.get("housekeeping", [])
        if not isinstance(hk, list) or not all(isinstance(x, str) for x in hk):
            raise ConfigError("wiring.housekeeping must be a list of app or message names")
        events = dict(table.get("events", {}))
        if set(events) - {"min_severity", "from"}:
            raise ConfigError("wiring.events takes min_severity and from")
        try:
            severity = Severity[str(events.get("min_severity", "INFO")).upper()]
        except KeyError:
            raise ConfigError(f"wiring.events.min_severity: one of "
                              f"{[s.name for s in Severity]}") from None
        source = events.get("from", "all")
        if source != "all" and (not isinstance(source, list)
                                or not all(isinstance(x, str) for x in source)):
            raise ConfigError('wiring.events.from must be "all" or a list of app names')
        priority = dict(DEFAULT_PRIORITY)
        for key, value in dict(table.get("priority", {})).items():
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
                raise ConfigError(f"wiring.priority.{key} must be an integer 0-255")
            priority[key] = value
        for key in ("scheduler_releases_to", "orbit_to"):
            if key in table and not isinstance(table[key], str):
                raise ConfigError(f"wiring.{key} must be an app name")
        return cls(tuple(hk), severity, None if source == "all" else tuple(source),
                   table.get("scheduler_releases_to"), table.get("orbit_to"), priority)

    def check(self, app_names: Iterable[str]) -> None:
        """ConfigError unless every app named by an app-only wire is configured."""
        names = set(app_names)
        for key in ("scheduler_releases_to", "orbit_to"):
            target = getattr(self, key)
            if target is not None and target not in names:
                raise ConfigError(f"wiring.{key}: no app {target!r} (apps: {sorted(names)})")
        for name in self.events_from or ():
            if name not in names and name != "executive":
                raise ConfigError(f"wiring.events.from: no app {name!r}")

    def housekeeping_msg_ids(self, apps: Mapping[str, Any], registered: Mapping[int, Any],
                             names: Mapping[int, str] | None = None
                             ) -> tuple[dict[str, int], list[str]]:
        """The message id of each declared housekeeping source (an app's housekeeping,
        ``executive`` for the executive's, or a registered message by name, `names`
        naming the variable-length ones), and the names that have no sender (an app
        that is not running). ``partner_apps`` is left to `partner_msg_ids`."""
        by_name = {name: mid for mid, name in (names or {}).items()}
        by_name.update({m.name: mid for mid, m in registered.items() if m is not None})
        found, missing = {}, []
        for name in self.housekeeping:
            if name == PARTNER_APPS:
                continue
            if name == "executive":
                found[name] = tm_msg_id(EXECUTIVE_APID)
            elif name in apps:
                found[name] = apps[name].HK.msg_id
            elif name in by_name:
                found[name] = by_name[name]
            else:
                missing.append(name)
        return found, missing

    def partner_msg_ids(self, registered: Iterable[int]) -> list[int]:
        """The registered telemetry ids of partner payload apps, when the wiring
        downlinks ``partner_apps`` (none otherwise)."""
        if PARTNER_APPS not in self.housekeeping:
            return []
        return sorted(mid for mid in registered
                      if mid & 0x7FF >= PARTNER_APID_BASE and mid == tm_msg_id(mid & 0x7FF))

    def forwards_event(self, apid: int, severity: int, apids: Mapping[int, str]) -> bool:
        """Whether the event of app `apid` with `severity` goes down."""
        if severity < self.events_min_severity:
            return False
        if self.events_from is None:
            return True
        return apids.get(apid, "executive" if apid == EXECUTIVE_APID else "") in self.events_from

    def priority_of(self, key: str) -> int:
        return self.priority.get(key, self.priority.get("housekeeping", 50))
