"""Space link: Tessera's fsw.protocol against independent implementations.

    python -m bench space_link

1. Space Packet encode + decode vs spacepackets: same packets, every header
   field read and kept on both sides.
2. PUS TC encode + decode with the CRC vs spacepackets.
3. Bulk decode of a file of fixed-length packets (primary header fields and
   three user fields into arrays) vs ccsdspy: with the sequence and APID
   checks on both sides, and without them on both sides.
4. Authenticated TC frame verification (FECF, header, HMAC-SHA-256/128,
   anti-replay window, FARM-1) against the aim of 20,000 frames/s: with the
   anti-replay store in memory, with a durable SQLite commit per frame on
   local disk, and with one durable commit per burst of 32 frames.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import compare, heading, measure, paired, report

N_PACKETS = 20_000
N_BULK = 100_000
N_FRAMES = 5_000


def _payloads(n: int) -> list[tuple[int, int, bytes]]:
    rng = np.random.default_rng(7)
    sizes = rng.integers(8, 200, n)
    return [(int(rng.integers(0, 0x7FE)), i & 0x3FFF, rng.bytes(int(s)))
            for i, s in enumerate(sizes)]


def _packet_sides():
    """The two sides of `bench_packets`, each a function over the same 20,000 packets."""
    from spacepackets.ccsds.spacepacket import PacketType, SpacePacketHeader

    from fsw.protocol.spp import TM, SpacePacket

    items = _payloads(N_PACKETS)
    sp_tm = PacketType.TM

    def tessera() -> list[tuple]:
        out = []
        for apid, seq, data in items:
            p = SpacePacket.decode(SpacePacket(apid, TM, False, 3, seq, data).encode())
            out.append((p.apid, p.packet_type, p.sec_hdr_flag, p.seq_flags, p.seq_count,
                        p.data))
        return out

    def peer() -> list[tuple]:
        out = []
        for apid, seq, data in items:
            raw = SpacePacketHeader(sp_tm, apid, seq, len(data) - 1).pack() + data
            h = SpacePacketHeader.unpack(raw)
            out.append((h.apid, h.packet_type, h.sec_header_flag, h.seq_flags, h.seq_count,
                        raw[6:h.packet_len]))
        return out

    return tessera, peer


def bench_packets() -> None:
    """Encode then decode each packet, read every header field and the data, keep them.

    Both sides build a packet object from the same fields, encode it to
    bytes, decode those bytes into a new object and read the six fields
    spacepackets' header holds (APID, type, secondary header flag, sequence
    flags and count, data length as the user data slice) into a tuple that
    is kept. spacepackets is used the fastest way its API offers: the header
    object packs itself and the data is appended (cheaper than wrapping it in
    its `SpacePacket`), `SpacePacketHeader.unpack` decodes. Tessera's decode
    also checks the version and that the length field matches the octets
    given (spacepackets checks neither). Tessera's codec runs as built: the
    mypyc build of fsw/protocol/spp.py, or its source with
    TESSERA_PURE_PYTHON=1 (the first line printed says which).
    """
    from hal._compiled import running_compiled

    # the codec runs as mypyc's build unless TESSERA_PURE_PYTHON=1 or the build is stale
    print(f"# Space Packet codec: {'compiled' if running_compiled() else 'Python source'}")
    tessera, peer = _packet_sides()
    ours, theirs = tessera(), peer()
    assert ours == [tuple(int(v) if not isinstance(v, (bool, bytearray)) else
                          (bytes(v) if isinstance(v, bytearray) else v) for v in t)
                    for t in theirs], "the two sides decode different fields"
    report("Space Packet encode+decode, every field read and kept",
           paired(tessera, peer, items=N_PACKETS), "spacepackets", unit="packets/s")
    # the same calls timed by the process's CPU time, which time spent waiting
    # for a core on a shared machine does not inflate
    report("the same, by CPU time",
           paired(_cpu_timed(tessera), _cpu_timed(peer), items=N_PACKETS, rounds=9,
                  self_timed=True), "spacepackets", unit="packets/s")


def _cpu_timed(fn):
    """`fn` as a self-timed side of `paired`: it returns the CPU seconds of the call."""
    def run() -> float:
        start = time.process_time()
        fn()
        return time.process_time() - start
    return run


def bench_pus() -> None:
    """PUS-C TC with its CRC: build, encode, decode, read the fields, keep them."""
    from spacepackets.ecss import PusTc as SpTc

    from fsw.protocol.pus import PusTc

    items = _payloads(N_PACKETS // 2)

    def tessera() -> list[tuple]:
        out = []
        for apid, seq, data in items:
            tc = PusTc.decode(PusTc(apid, 8, 1, data, seq_count=seq).encode())
            out.append((tc.apid, tc.seq_count, tc.service, tc.subtype, tc.app_data))
        return out

    def peer() -> list[tuple]:
        out = []
        for apid, seq, data in items:
            raw = SpTc(service=8, message_subtype=1, apid=apid, seq_count=seq,
                       app_data=data).pack()
            tc = SpTc.unpack(raw)
            out.append((tc.apid, tc.seq_count, tc.service, tc.subservice, tc.app_data))
        return out

    assert tessera() == peer(), "the two sides decode different fields"
    report("PUS TC encode+decode (CRC checked), fields read and kept",
           paired(tessera, peer, items=len(items)), "spacepackets", unit="packets/s")


def _bulk_file(path: Path) -> None:
    """100,000 fixed-length packets of one APID, three user fields, two gaps in the count."""
    from fsw.protocol.spp import TM, SpacePacket

    rng = np.random.default_rng(3)
    counts = rng.integers(0, 2**32, N_BULK, dtype=np.uint64)
    temps = rng.normal(size=N_BULK)
    lost = {5000, 5001, 70_000}  # lost on the link: two gaps the checks must report
    path.write_bytes(b"".join(
        SpacePacket(0x42, TM, False, 3, i & 0x3FFF,
                    int(counts[i]).to_bytes(4, "big") + temps[i].byteswap().tobytes()
                    + bytes(2)).encode()
        for i in range(N_BULK) if i not in lost))


def bench_bulk() -> None:
    """Decode a file of fixed-length packets into arrays, with and without the checks.

    Both sides read the file and return the primary header fields and three
    user fields as numpy arrays. ccsdspy's `FixedLength.load` always checks
    the sequence counts (gaps, order) and the APIDs; Tessera runs
    `check_sequence` on the table for the same checks. Without the checks,
    ccsdspy's decoding alone is its private `_load` (its public API has no
    way to skip the checks).
    """
    import logging

    import ccsdspy
    from ccsdspy.packet_types import _load

    from fsw.protocol.spp import check_sequence, decode_bulk

    # ccsdspy logs what its checks find; the benchmark keeps the result, not the log
    logging.getLogger("ccsdspy").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "packets.bin"
        _bulk_file(path)
        n = path.stat().st_size // 24
        fields = [
            ccsdspy.PacketField(name="count", data_type="uint", bit_length=32),
            ccsdspy.PacketField(name="temp", data_type="float", bit_length=64),
            ccsdspy.PacketField(name="spare", data_type="uint", bit_length=16),
        ]
        definition = ccsdspy.FixedLength(fields)

        def tessera_decode() -> dict[str, np.ndarray]:
            t = decode_bulk(np.fromfile(path, np.uint8))
            return {"apid": t.apid, "packet_type": t.packet_type,
                    "sec_hdr_flag": t.sec_hdr_flag, "seq_flags": t.seq_flags,
                    "seq_count": t.seq_count, "length": t.length, "count": t.field(6, ">u4"),
                    "temp": t.field(10, ">f8"), "spare": t.field(18, ">u2"), "table": t}

        def tessera_checked() -> tuple[dict[str, np.ndarray], object]:
            arrays = tessera_decode()
            return arrays, check_sequence(arrays["table"])

        def peer_checked() -> dict[str, np.ndarray]:
            return definition.load(str(path), include_primary_header=True)

        def peer_decode() -> dict[str, np.ndarray]:
            return _load(str(path), fields, {}, "fixed_length", include_primary_header=True)

        ours, report_ = tessera_checked()
        ref = peer_checked()
        for mine, theirs in [("apid", "CCSDS_APID"), ("seq_count", "CCSDS_SEQUENCE_COUNT"),
                             ("count", "count"), ("temp", "temp"), ("spare", "spare"),
                             ("seq_flags", "CCSDS_SEQUENCE_FLAG")]:
            assert np.array_equal(ours[mine], ref[theirs]), mine
        assert report_.missing == 3 and len(report_.gaps) == 2, report_
        report("Bulk decode of a file, sequence and APID checks",
               paired(tessera_checked, peer_checked, items=n, rounds=9, inner=10), "ccsdspy load",
               unit="packets/s")
        report("Bulk decode of a file, no checks",
               paired(tessera_decode, peer_decode, items=n, rounds=9, inner=10), "ccsdspy _load",
               unit="packets/s")


def _uplink(db: str):
    from fsw.protocol.pus import PusTc
    from fsw.protocol.rights import Rights
    from fsw.protocol.sdls import SecurityAssociation, SecurityEngine, SecuritySender
    from fsw.protocol.store import ArsnStore
    from fsw.protocol.uplink import TcReceiver, TcSender, VcConfig

    def sa() -> SecurityAssociation:
        return SecurityAssociation(1, "operator", b"\x5a" * 32, Rights.operator(vcids=(0,)),
                                   arsn_window=64)

    vcs = {0: VcConfig(0, farm_window=254)}
    tx = TcSender(0x2AB, vcs, {1: SecuritySender(sa(), ArsnStore(":memory:"))})
    frames = [tx.frame(0, i & 0xFF, PusTc(0x42, 17, 1, bytes(40), seq_count=i).encode(),
                       spi=1) for i in range(N_FRAMES)]

    def receiver() -> TcReceiver:
        return TcReceiver(0x2AB, vcs, SecurityEngine([sa()], ArsnStore(db)))

    return frames, receiver


def bench_auth(durable: bool, burst: int = 1) -> None:
    """Frames per second through the whole TC chain, against the 20,000/s aim.

    `burst` > 1 hands the receiver bursts of frames with one durable commit
    per burst.
    """
    with tempfile.TemporaryDirectory(dir=Path.cwd() if durable else None) as d:
        frames, receiver = _uplink(str(Path(d) / "arsn.db") if durable else ":memory:")
        n = N_FRAMES if not durable or burst > 1 else 500

        def run() -> float:
            if durable:
                for f in Path(d).glob("arsn.db*"):
                    f.unlink()
            rx = receiver()  # a fresh store each run: set-up is not timed
            start = time.perf_counter()
            if burst == 1:
                for f in frames[:n]:
                    rx.receive(f)
            else:
                for i in range(0, n, burst):
                    rx.receive_many(frames[i:i + burst])
            elapsed = time.perf_counter() - start
            assert rx.accepted == n
            return elapsed

        timing = measure(run, items=n, rounds=5, self_timed=True)
    if not durable:
        label = "Auth TC frame verify (store in memory)"
    elif burst == 1:
        label = "Auth TC frame accept, durable commit each"
    else:
        label = f"Auth TC frame accept, durable, bursts of {burst}"
    compare(label, "frames/s", timing.rate, "aim", 20_000.0)


def main() -> None:
    heading("spacepackets", "ccsdspy", "numpy")
    bench_packets()
    bench_pus()
    bench_bulk()
    bench_auth(durable=False)
    bench_auth(durable=True)
    bench_auth(durable=True, burst=32)


def count_instructions(side: str, repeat: int) -> None:
    """Run one side of the Space Packet comparison `repeat` times, for an instruction count.

    Under `valgrind --tool=callgrind`, the difference between `repeat` = 2
    and `repeat` = 0 over 40,000 is the instructions per packet, which the
    machine's load does not change (same garbage collection policy as the
    harness; a warm-up call runs either way).
    """
    import gc

    fn = dict(zip(("tessera", "spacepackets"), _packet_sides(), strict=True))[side]
    fn()
    gc.collect()
    gc.disable()
    for _ in range(repeat):
        fn()


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3:  # SIDE REPEAT: see count_instructions
        count_instructions(sys.argv[1], int(sys.argv[2]))
    else:
        main()
