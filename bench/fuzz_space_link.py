"""Coverage-guided fuzz target for every space-link decoder (libFuzzer via atheris).

    python -m bench.fuzz_space_link -max_total_time=60 [corpus_dir]
    python -m bench.fuzz_space_link -runs=20000          # the short CI form

Seed a corpus directory first with `write_seeds(dir)` to start from valid inputs.

The first input octet picks a decoder, the rest is its input. A decoder may
return a value or raise fsw.protocol.ProtocolError; any other exception is a
finding and stops the fuzzer with a crash report and a reproducer file.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["fsw"]):
    from fsw.protocol import ProtocolError
    from fsw.protocol.cuc import CucTime
    from fsw.protocol.pus import PusTc, PusTm
    from fsw.protocol.rights import Rights
    from fsw.protocol.sdls import (
        SecurityAssociation,
        SecurityEngine,
        SecuritySender,
        parse_rekey,
    )
    from fsw.protocol.services import (
        EventReport,
        HkStructure,
        VerificationReport,
        decode_connection_test,
        decode_delete,
        decode_insert,
        decode_tc_app_data,
        decode_values,
    )
    from fsw.protocol.spp import SpacePacket, decode_bulk, iter_packets, split_timed
    from fsw.protocol.store import ArsnStore
    from fsw.protocol.tc import TcFrame, parse_control_command
    from fsw.protocol.tm import Clcw, TmFrame, TmReceiver
    from fsw.protocol.uplink import TcReceiver, TcSender, VcConfig

SCID = 0x2AB


def _uplink() -> tuple[TcReceiver, list[bytes]]:
    sa = SecurityAssociation(1, "operator", b"\x11" * 32, Rights.operator(vcids=(0,)))
    engine = SecurityEngine([sa], ArsnStore(":memory:"), kek=bytes(32))
    vcs = {0: VcConfig(0)}
    sender_sa = SecurityAssociation(1, "operator", b"\x11" * 32, Rights.operator(vcids=(0,)))
    tx = TcSender(SCID, vcs, {1: SecuritySender(sender_sa, ArsnStore(":memory:"))})
    seeds = [tx.frame(0, i, PusTc(0x42, 17, 1, seq_count=i).encode(), spi=1) for i in range(3)]
    return TcReceiver(SCID, vcs, engine), seeds


_RX, SEEDS = _uplink()
_TM_RX = TmReceiver(SCID, 64)


def _packet(d: bytes) -> None:
    p = SpacePacket.decode(d)
    if p.sec_hdr_flag:
        split_timed(p)


def _tc_frame(d: bytes) -> None:
    f = TcFrame.decode(d)
    if f.control_command:
        parse_control_command(f.data)


def _pus_tc(d: bytes) -> None:
    decode_tc_app_data(PusTc.decode(d))


def _uplink_frame(d: bytes) -> None:
    _RX.receive(d)


DECODERS = [
    _packet,
    lambda d: list(iter_packets(d)),
    decode_bulk,
    CucTime.decode,
    _tc_frame,
    lambda d: TmFrame.decode(d, frame_len=64),
    _TM_RX.add,
    lambda d: Clcw.decode(d[:4]),
    _pus_tc,
    PusTm.decode,
    lambda d: VerificationReport.decode(d[0] if d else 0, d[1:]),
    lambda d: EventReport.decode(d[0] if d else 0, d[1:]),
    HkStructure.decode,
    decode_values,
    decode_insert,
    decode_delete,
    decode_connection_test,
    parse_rekey,
    _uplink_frame,
]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    fn = DECODERS[data[0] % len(DECODERS)]
    try:
        fn(data[1:])
    except ProtocolError as exc:
        if not exc.reason:
            raise AssertionError("ProtocolError without a reason") from exc


def write_seeds(directory: str) -> None:
    """Write valid inputs for every decoder into `directory` (a starting corpus)."""
    from pathlib import Path

    from fsw.protocol.tm import TmMasterChannel

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tc = PusTc(0x42, 17, 1, seq_count=3).encode()
    tm = PusTm(0x42, 1, 1, tc[:4]).encode()
    pkt = SpacePacket(0x42, 0, False, 3, 1, b"abcd").encode()
    mc = TmMasterChannel(SCID, 64)
    mc.add_packet(0, tm)
    per_decoder = {
        0: pkt, 1: pkt + pkt, 2: pkt * 3, 3: CucTime(7, 1).encode(),
        4: TcFrame(SCID, 0, 0, tc, map_id=0).encode(), 5: mc.drain()[0],
        7: Clcw(0, 3).encode(), 8: tc, 9: tm, 18: SEEDS[0],
    }
    for i, data in per_decoder.items():
        (out / f"seed-{i:02d}").write_bytes(bytes((i,)) + data)


def main(argv: list[str] | None = None) -> None:
    atheris.Setup(list(argv if argv is not None else sys.argv), test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
