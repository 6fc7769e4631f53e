"""The on-board ephemeris: SGP4 mean elements as the ground uplinks them.

A `MeanElements` table is what the flight software propagates its own orbit
from (and what the simulator propagates the truth from): the elements of a
TLE, in TLE units, with the epoch as TAI seconds since 1958 like the flight
clock. `from_config` accepts either such a table or a two-line element set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from fsw.core.time import jd_utc_split
from fsw.gnc.orbit import Satellite

MU_EARTH_KM3_S2 = 398600.4418  # WGS-84 / EGM-96
R_EARTH_KM = 6378.137


@dataclass(frozen=True)
class MeanElements:
    """SGP4 mean elements in TLE units; `epoch_tai_s` is TAI seconds since 1958."""

    epoch_tai_s: float
    mean_motion_rev_day: float
    eccentricity: float = 0.0001
    inclination_deg: float = 97.4
    raan_deg: float = 0.0
    arg_perigee_deg: float = 0.0
    mean_anomaly_deg: float = 0.0
    bstar_per_er: float = 0.0

    @classmethod
    def circular(cls, alt_km: float, epoch_tai_s: float, inclination_deg: float = 97.4,
                 raan_deg: float = 0.0) -> MeanElements:
        """Elements of a near-circular orbit at `alt_km` above the equatorial radius."""
        n_rad_s = math.sqrt(MU_EARTH_KM3_S2 / (R_EARTH_KM + alt_km) ** 3)
        return cls(epoch_tai_s, n_rad_s * 86400.0 / (2.0 * math.pi),
                   inclination_deg=inclination_deg, raan_deg=raan_deg)

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> MeanElements:
        """From a configuration table; ValueError names what is missing or unknown."""
        known = {f.name for f in fields(cls)}
        unknown = set(table) - known
        if unknown:
            raise ValueError(f"unknown orbit element(s): {', '.join(sorted(unknown))}")
        missing = [n for n in ("epoch_tai_s", "mean_motion_rev_day") if n not in table]
        if missing:
            raise ValueError(f"orbit elements lack {', '.join(missing)}")
        return cls(**{k: float(v) for k, v in table.items()})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def satellite(self) -> Satellite:
        """An initialised SGP4 satellite for these elements."""
        whole, frac = jd_utc_split(self.epoch_tai_s)
        return Satellite.from_elements(
            epoch_jd=whole, epoch_jd_frac=frac, bstar_per_er=self.bstar_per_er,
            ndot_rev_day2=0.0, nddot_rev_day3=0.0, eccentricity=self.eccentricity,
            arg_perigee_deg=self.arg_perigee_deg, inclination_deg=self.inclination_deg,
            mean_anomaly_deg=self.mean_anomaly_deg,
            mean_motion_rev_day=self.mean_motion_rev_day, raan_deg=self.raan_deg)


def satellite_from_config(config: Mapping[str, Any]) -> Satellite:
    """SGP4 from `config["tle"]` (two lines) or `config["orbit"]` (mean elements)."""
    if "tle" in config:
        line1, line2 = config["tle"]
        return Satellite.from_tle(line1, line2)
    table = config.get("orbit")
    if not isinstance(table, Mapping):
        raise ValueError("no orbit: configure 'orbit' (mean elements) or 'tle'")
    return MeanElements.from_mapping(table).satellite()
