"""Coverage-guided fuzz target for the bench link's decoders (libFuzzer via atheris).

    python -m bench.fuzz_bench_link -max_total_time=60
    python -m bench.fuzz_bench_link -runs=20000          # the short CI form

The first input octet picks a decoder, the rest is its input: the frame
decoder (one frame, and a stream decoder that lives across inputs), every
payload layout, and the bench's request handler, which must answer any
request payload with a reply (a status) and nothing else. Any other
exception, or a request the bench reports as having failed inside it, is a
finding.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["hal.tunnel", "hil"]):
    from hal.tunnel import messages as m
    from hal.tunnel.protocol import (
        MAX_ENCODED,
        MAX_PAYLOAD,
        FrameDecoder,
        FrameError,
        MsgType,
        decode_frame,
    )
    from hil.scenario import load_scenario
    from hil.world import BenchWorld


def _failed(text: str) -> None:
    if "failed on the bench" in text:
        raise AssertionError(text)


_WORLD = BenchWorld(load_scenario('[scenario]\nname = "fuzz"\nduration_s = 1e6\n'),
                    on_event=_failed)
_STREAM = FrameDecoder()
_REQUESTS = [t for t in MsgType if t not in (MsgType.HELLO, MsgType.CONTROL, MsgType.DAMAGED)]


def _stream(d: bytes) -> None:
    _STREAM.feed(d)
    if len(_STREAM._buf) > MAX_ENCODED:
        raise AssertionError("stream decoder buffer grew past one frame")


def _request(d: bytes) -> None:
    if not d:
        return
    type_ = _REQUESTS[d[0] % len(_REQUESTS)]
    if type_ == MsgType.TICK and len(d) >= 17:
        return  # ticks move the simulated world: fuzzed with bounded times below
    if type_ == MsgType.BATCH:
        try:
            if any(t == MsgType.TICK for t, _ in m.unpack_batch(d[1:])):
                return  # likewise
        except FrameError:
            pass
    reply = _WORLD.handle(type_, d[1:])
    if type_ == MsgType.BATCH and reply[:1] not in (b"\x07",):
        for item in m.unpack_batch_reply(reply, len(m.unpack_batch(d[1:]))):
            assert len(item) >= 1
        assert len(reply) <= MAX_PAYLOAD
    elif type_ not in (MsgType.TICK, MsgType.STAMP):
        m.unpack_reply(reply)


def _tick(d: bytes) -> None:
    t0 = _WORLD.t_s
    step = (d[0] if d else 0) / 100.0
    _WORLD.handle(MsgType.TICK, m.pack_tick(t0, t0 + step, d[1:]))


DECODERS = [
    lambda d: decode_frame(d),
    _stream,
    m.unpack_reply, m.unpack_can_frames, m.unpack_telemetry, m.unpack_tick, m.unpack_stamp,
    m.unpack_time_reply, m.unpack_json,
    lambda d: m.unpack_bus_request("i2c", d),
    lambda d: m.unpack_bus_request("can_send", d),
    m.unpack_batch,
    lambda d: m.unpack_batch_reply(d, d[0] if d else 0),
    lambda d: m.request_target(0x10 + (d[0] % 7 if d else 0), d[1:]),
    _request,
    _tick,
]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    try:
        DECODERS[data[0] % len(DECODERS)](data[1:])
    except FrameError as exc:
        if not exc.reason:
            raise AssertionError("FrameError without a reason") from exc


def main(argv: list[str] | None = None) -> None:
    atheris.Setup(list(argv if argv is not None else sys.argv), test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
