"""GNSS app: polls the GPS receiver once a second and reports its latest fix.

Same shape as `fsw.apps.sample`: `init` finds the ``gps`` device
(`hal.devices.gps.GpsReceiver`; none fitted: the app idles), `execute`
drains the receiver's UART and keeps the newest fix, and housekeeping reports it (WGS-84 geodetic
latitude and longitude in degrees, altitude above mean sea level in metres)
with how many fixes arrived and how many errors the receiver's driver counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fsw.core import App, EventDef, Field, Severity
from fsw.core.ids import GNSS_APID
from hal import HalError

# Events: id (from 10; 1-9 are the base class's), severity, text format, squelch.
EV_READ_FAILED = EventDef(10, "READ_FAILED", Severity.MEDIUM,
                          "GPS read failed ({count}): {why}", burst=3, rate_hz=0.1)


class GnssApp(App):
    NAME = "gnss"
    APID = GNSS_APID
    HK_FIELDS = (
        Field("fixes", "I", doc="fixes received since start (each GGA/RMC update)"),
        Field("valid", "B", doc="1 when the newest fix is valid"),
        Field("lat_deg", "d", "deg", "WGS-84 geodetic latitude of the newest fix"),
        Field("lon_deg", "d", "deg", "WGS-84 longitude of the newest fix"),
        Field("alt_m", "f", "m", "altitude above mean sea level of the newest fix"),
        Field("receiver_errors", "I", doc="errors the driver counted: rejected sentences "
              "(checksum, syntax, range) and failed reads"),
        Field("read_faults", "I", doc="failed reads of the receiver's UART"),
    )

    EVENTS = (EV_READ_FAILED,)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        self.fixes = 0
        self.read_faults = 0
        self.fix: Any = None

    def init(self) -> None:
        # A spacecraft fitted without a receiver runs the app idle (fixes stay 0).
        self.gps = self.ctx.devices.get("gps")

    def execute(self) -> None:
        if self.gps is None:
            return
        try:
            while (fix := self.gps.poll()) is not None:
                self.fixes += 1
                self.fix = fix
        except HalError as exc:
            self.read_faults += 1
            self.event(EV_READ_FAILED, count=self.read_faults, why=str(exc))

    def housekeeping_values(self) -> Mapping[str, Any]:
        fix = self.fix
        return {"fixes": self.fixes, "valid": int(bool(fix and fix.valid)),
                "lat_deg": (fix.lat_deg or 0.0) if fix else 0.0,
                "lon_deg": (fix.lon_deg or 0.0) if fix else 0.0,
                "alt_m": (fix.alt_m or 0.0) if fix else 0.0,
                "receiver_errors": sum(self.gps.health.errors.values()) if self.gps else 0,
                "read_faults": self.read_faults}
