"""SGP4 propagations per second: Tessera's C core against python-sgp4.

Both sides get the same TLE lines and the same UTC Julian dates (whole +
fraction arrays), and both return TEME position and velocity with an error
code per point. Cases:

1. one satellite x 100k times: ``Satellite.propagate_jd`` against
   ``Satrec.sgp4_array`` (also split over two threads), for a LEO and for a
   deep-space satellite in 12 h resonance;
2. 1000 satellites x 100 times: ``SatelliteArray.propagate_jd`` against
   ``SatrecArray.sgp4`` (also with the work split over two threads, which
   Tessera can do because the C loop runs without the GIL);
3. one call from Python per time: ``Satellite.sgp4`` against
   ``Satrec.sgp4``.

The 1000-satellite catalogue is synthetic but shaped like the public one:
mostly low Earth orbit, with GPS-like, geostationary and Molniya orbits
(about 10% deep space). Run: ``python -m bench sgp4``.
"""

from __future__ import annotations

import numpy as np

from bench.common import heading, paired, report

PEER = "python-sgp4"


def _checksum(line: str) -> str:
    total = sum(int(c) if c.isdigit() else (c == "-") for c in line[:68])
    return line + str(total % 10)


def _tle(satnum: int, epoch_day: float, incl: float, raan: float, ecc: float,
         argp: float, ma: float, n: float, bstar_mant: int, bstar_exp: int) -> tuple[str, str]:
    line1 = (f"1 {satnum:05d}U 24001A   24{epoch_day:012.8f}  .00001000  00000-0 "
             f" {bstar_mant:05d}-{bstar_exp} 0  999")
    line2 = (f"2 {satnum:05d} {incl:8.4f} {raan:8.4f} {round(ecc * 1e7):07d} {argp:8.4f} "
             f"{ma:8.4f} {n:11.8f}{12345:5d}")
    return _checksum(line1), _checksum(line2)


def catalogue(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Deterministic synthetic TLEs: ~90% LEO, the rest MEO, GEO and Molniya."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        kind = rng.random()
        if kind < 0.90:
            n, ecc, incl = rng.uniform(14.0, 16.0), rng.uniform(0.0, 0.02), rng.uniform(0, 100)
        elif kind < 0.94:
            n, ecc, incl = 2.0056, rng.uniform(0.0, 0.02), 55.0 + rng.uniform(-1, 1)
        elif kind < 0.97:
            n, ecc, incl = 1.0027, rng.uniform(0.0, 0.001), rng.uniform(0, 5)
        else:
            n, ecc, incl = 2.0060, rng.uniform(0.68, 0.74), 63.4 + rng.uniform(-1, 1)
        out.append(_tle(
            10000 + i, 100.0 + rng.uniform(0.0, 1.0), incl, rng.uniform(0, 360), ecc,
            rng.uniform(0, 360), rng.uniform(0, 360), n,
            int(rng.integers(10000, 99999)), int(rng.integers(3, 6)),
        ))
    return out


def main() -> None:
    from sgp4.api import Satrec, SatrecArray

    from fsw.gnc.orbit import Satellite, SatelliteArray

    heading("sgp4", "numpy")

    iss = ("1 25544U 98067A   24100.50000000  .00016717  00000-0  30306-3 0  9995",
           "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.49815308 41778")
    iss = (_checksum(iss[0][:68]), _checksum(iss[1][:68]))
    ours = Satellite.from_tle(*iss)
    peer = Satrec.twoline2rv(*iss)

    # 1. one satellite, 100k times over one week
    n = 100_000
    jd = np.full(n, ours.epoch_jd[0])
    fr = ours.epoch_jd[1] + np.linspace(0.0, 7.0, n)
    peer_1 = lambda: peer.sgp4_array(jd, fr)  # noqa: E731
    report("SGP4 1 sat x 100k times", paired(lambda: ours.propagate_jd(jd, fr), peer_1,
                                             items=n), f"{PEER} sgp4_array", unit="prop/s")
    report("SGP4 1 sat x 100k times, 2 threads",
           paired(lambda: ours.propagate_jd(jd, fr, threads=2), peer_1, items=n),
           f"{PEER} sgp4_array", unit="prop/s")

    # 1b. the same for a deep-space satellite with 12 h resonance (Molniya)
    molniya = ("1 08195U 75081A   06176.33215444  .00000099  00000-0  11873-3 0   813",
               "2 08195  64.1586 279.0717 6877146 264.7651  20.2257  2.00491383225656")
    deep = Satellite.from_tle(*molniya)
    deep_peer = Satrec.twoline2rv(*molniya)
    jd_d = np.full(n, deep.epoch_jd[0])
    fr_d = deep.epoch_jd[1] + np.linspace(0.0, 7.0, n)
    report("SGP4 1 deep-space sat x 100k times",
           paired(lambda: deep.propagate_jd(jd_d, fr_d),
                  lambda: deep_peer.sgp4_array(jd_d, fr_d), items=n),
           f"{PEER} sgp4_array", unit="prop/s")

    # 2. 1000 satellites x 100 times
    tles = catalogue(1000)
    group = SatelliteArray([Satellite.from_tle(*t) for t in tles])
    peers = SatrecArray([Satrec.twoline2rv(*t) for t in tles])
    jd2 = np.full(100, 2460410.5)
    fr2 = np.linspace(0.0, 1.0, 100)
    r_ours, _, e_ours = group.propagate_jd(jd2, fr2)
    e_peer, r_peer, _ = peers.sgp4(jd2, fr2)
    assert np.array_equal(e_ours, e_peer), "error codes differ"
    ok = e_ours == 0
    assert np.max(np.abs(r_ours[ok] - r_peer[ok])) < 1e-6, "positions differ"
    items = 1000 * 100
    peer_2 = lambda: peers.sgp4(jd2, fr2)  # noqa: E731
    report("SGP4 1000 sats x 100 times",
           paired(lambda: group.propagate_jd(jd2, fr2), peer_2, items=items),
           f"{PEER} SatrecArray", unit="prop/s")
    report("SGP4 1000 sats x 100 times, 2 threads",
           paired(lambda: group.propagate_jd(jd2, fr2, threads=2), peer_2, items=items),
           f"{PEER} SatrecArray", unit="prop/s")

    # 3. one Python call per time, python-sgp4's shape on both sides: (jd, fr) in,
    # (error, position tuple, velocity tuple) out, every result kept.
    minutes = np.linspace(0.0, 1440.0, 20_000)
    jd3 = ours.epoch_jd[0] + np.zeros_like(minutes)
    fr3 = ours.epoch_jd[1] + minutes / 1440.0
    times = list(zip(jd3.tolist(), fr3.tolist(), strict=True))
    kept: list[object] = []

    def ours_scalar() -> None:
        sgp4 = ours.sgp4
        kept[:] = [sgp4(j, f) for j, f in times]

    def peer_scalar() -> None:
        sgp4 = peer.sgp4
        kept[:] = [sgp4(j, f) for j, f in times]

    ours_scalar()
    mine = kept[:]
    peer_scalar()
    assert all(a[0] == b[0] and max(abs(x - y) for x, y in zip(a[1], b[1], strict=True)) < 1e-6
               for a, b in zip(mine, kept, strict=True)), "scalar results differ"
    report("SGP4 scalar call per time (Satellite.sgp4 vs Satrec.sgp4)",
           paired(ours_scalar, peer_scalar, items=len(times)), f"{PEER} Satrec.sgp4",
           unit="prop/s")


if __name__ == "__main__":
    main()
