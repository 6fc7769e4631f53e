"""Ground segment: telemetry decode against space_packet_parser, archive ingest and query.

    python -m bench ground

1. Telemetry decode, packets to parameters: the same housekeeping packets
   (every layout of the reference dictionary, random values) decoded by
   Tessera's `TelemetryDecoder` and by space_packet_parser with the XTCE
   exported from the same dictionary (`XtcePacketDefinition.parse_bytes`,
   its per-packet entry point). Both keep every packet's parameter values,
   raw and calibrated; Tessera also checks each packet's CRC and limits.
   Aim: faster, and at least 200,000 samples/s.
2. Archive ingest: packets' samples into `SqliteArchive` (WAL, one commit
   per 50,000 rows) against the aim of 200,000 samples/s.
3. A one-hour time-range query of one parameter over 10 M stored samples
   (10 parameters at 1 Hz, 11.6 days) against the aim of 50 ms.
"""

from __future__ import annotations

import random
import struct
import tempfile
import time
import warnings
from pathlib import Path

from bench.common import compare, heading, measure, note, paired, report

N_PACKETS = 4_000
N_INGEST_PACKETS = 30_000
QUERY_SAMPLES = 10_000_000


def _dictionary():
    from ground.dictionary import Dictionary, generate
    from ground.sim.sil import DEFAULT_FLIGHT_CONFIG
    return Dictionary(generate(DEFAULT_FLIGHT_CONFIG))


def _value(f, rng: random.Random):
    from ground.dictionary import INT_RANGE
    if f.type == "bytes":
        return rng.randbytes(f.size)
    if f.enum:
        return rng.choice(sorted(f.enum))
    if f.type == "bool":
        return rng.random() < 0.5
    if f.type in INT_RANGE:
        lo, hi = INT_RANGE[f.type]
        return rng.randint(max(lo, -30000), min(hi, 30000))
    return rng.uniform(-1e3, 1e3)


def _packets(dictionary, n: int) -> list[bytes]:
    from fsw.protocol.cuc import CucTime
    from fsw.protocol.pus import PusTm
    rng = random.Random(9)
    layouts = sorted(dictionary.packets.values(), key=lambda p: p.sid)
    out = []
    for i in range(n):
        pkt = layouts[i % len(layouts)]
        flat = []
        for f in pkt.fields:
            flat += [_value(f, rng) for _ in range(1 if f.type == "bytes" else f.count)]
        data = struct.pack(">H", pkt.sid) + struct.pack(pkt.struct_format, *flat)
        out.append(PusTm(pkt.sid, 3, 25, data, seq_count=i & 0x3FFF,
                         time=CucTime.from_seconds(float(i))).encode())
    return out


def bench_decode(dictionary) -> None:
    import space_packet_parser as spp

    from ground.exports import to_xtce
    from ground.telemetry import TelemetryDecoder

    packets = _packets(dictionary, N_PACKETS)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tessera.xml"
        path.write_text(to_xtce(dictionary.packets.values()))
        definition = spp.load_xtce(path)
    samples = sum(len(dictionary.packets[struct.unpack_from(">H", p, 20)[0]].parameters)
                  for p in packets)

    def tessera() -> None:
        decoder = TelemetryDecoder(dictionary)
        kept = [decoder.decode(p) for p in packets]
        assert len(kept) == len(packets)

    def peer() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kept = [definition.parse_bytes(p) for p in packets]
        assert len(kept) == len(packets)

    # Same values from both before timing anything.
    ours = TelemetryDecoder(dictionary).decode(packets[3])
    theirs = definition.parse_bytes(packets[3])
    assert all(theirs[n.replace(".", "__")].raw_value == r for n, r in zip(ours.names, ours.raw,
                                                                            strict=True))
    result = report(f"Telemetry decode, {N_PACKETS} housekeeping packets ({samples} samples)",
                    paired(tessera, peer, items=samples, rounds=5), "space_packet_parser",
                    unit="samples/s")
    compare("  against the aim", "samples/s", result.tessera.rate, "aim", 200_000)


def bench_ingest(dictionary) -> None:
    from ground.archive import SqliteArchive
    from ground.telemetry import TelemetryDecoder

    packets = _packets(dictionary, N_INGEST_PACKETS)
    decoded = [TelemetryDecoder(dictionary).decode(p) for p in packets]
    n = sum(len(d.names) for d in decoded)
    tmp = tempfile.TemporaryDirectory()
    runs = iter(range(1000))

    def ingest() -> None:
        archive = SqliteArchive(Path(tmp.name) / f"ingest{next(runs)}.db")
        for d in decoded:
            archive.add_samples(1, d.time_s, d.names, d.raw, d.eng)
        archive.close()

    timing = measure(ingest, items=n, rounds=5)
    compare(f"Archive ingest, {N_INGEST_PACKETS} packets ({n} samples), one file (WAL)",
            "samples/s", timing.rate, "aim", 200_000)
    tmp.cleanup()


def bench_query() -> None:
    from ground.archive import SqliteArchive

    with tempfile.TemporaryDirectory() as tmp:
        archive = SqliteArchive(Path(tmp) / "big.db", autocommit_rows=1_000_000)
        names = [f"app.hk.p{i}" for i in range(10)]
        per = QUERY_SAMPLES // len(names)
        t0 = time.perf_counter()
        chunk = 100_000
        for start in range(0, per, chunk // len(names)):
            rows = [(names[k], float(t), t * 0.5, t * 0.5)
                    for t in range(start, min(per, start + chunk // len(names)))
                    for k in range(len(names))]
            archive.add_sample_rows(1, rows)
        archive.flush()
        fill_s = time.perf_counter() - t0
        rng = random.Random(3)
        starts = [rng.uniform(0, per - 3600) for _ in range(50)]
        got = []

        def query() -> None:
            for s in starts:
                got.append(len(archive.samples(1, names[rng.randrange(10)], s, s + 3600)))

        timing = measure(query, items=len(starts), rounds=5)
        assert set(got) <= {3600, 3601}
        compare(f"One-hour query over {QUERY_SAMPLES:,} stored samples (3,600 rows)", "ms",
                timing.per_item * 1e3, "aim", 50.0, higher_is_better=False)
        note(f"filling the archive took {fill_s:.0f} s "
             f"({QUERY_SAMPLES / fill_s:,.0f} samples/s in batches of {chunk:,})")
        archive.close()


def main() -> None:
    heading("space-packet-parser", rounds=5)
    dictionary = _dictionary()
    bench_decode(dictionary)
    bench_ingest(dictionary)
    bench_query()


if __name__ == "__main__":
    main()
