"""Read-ahead (`hal.tunnel.readahead`): an answer taken from the bench's
read-ahead is always the one stop and wait would have given, and frames that
repeat cost no round trip beyond the TICK."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hal.tunnel.protocol import MsgType
from hal.tunnel.readahead import ReadAhead


class CountingBench:
    """Parts whose answers depend on everything done to them this frame (a
    register that counts its reads, a write that changes what is read): any
    transaction done out of order, or twice, shows in later answers."""

    def __init__(self) -> None:
        self.frame = 0
        self.log: dict[tuple, list] = {}
        self.done = 0

    def tick(self) -> None:
        self.frame += 1
        self.log = {}

    def do(self, type_: int, payload: bytes, target: tuple) -> bytes:
        self.done += 1
        history = self.log.setdefault(target, [])
        history.append((type_, payload))
        return b"\x00" + repr((self.frame, target, history)).encode()


TARGETS = [("i2c0", 0x20), ("i2c0", 0x48), ("spi0", 0), ("can0", 0x201), ("gps", None)]
KINDS = [(MsgType.I2C, b"\x01"), (MsgType.I2C, b"\x02"), (MsgType.SPI, b"\x03"),
         (MsgType.CAN_SEND, b"\x04"), (MsgType.UART_READ, b"\x05")]
transaction = st.tuples(st.sampled_from(range(len(TARGETS))), st.sampled_from(range(len(KINDS))))
frame = st.lists(transaction, max_size=8)


def fly(frames: list[list[tuple[int, int]]], ahead: ReadAhead | None):
    """Run the frames against a bench; (answers, which were read ahead, round trips)."""
    bench = CountingBench()
    answers, from_ahead, trips = [], [], 0
    for script in frames:
        bench.tick()
        trips += 1  # the TICK, carrying the planned transactions
        if ahead is not None:
            planned = ahead.plan()
            targets = list(ahead._targets)
            ahead.fill(planned, [bench.do(t, p, tg) for (t, p), tg in zip(planned, targets,
                                                                             strict=True)])
        for target_index, kind_index in script:
            target = TARGETS[target_index]
            type_, payload = KINDS[kind_index]
            reply = None
            if ahead is not None:
                ahead.record(type_, payload, target)
                reply = ahead.take(type_, payload, target)
            from_ahead.append(reply is not None)
            if reply is None:
                trips += 1
                reply = bench.do(type_, payload, target)
            answers.append(reply)
    return answers, from_ahead, trips


@settings(max_examples=300, deadline=None)
@given(st.lists(frame, min_size=1, max_size=8))
def test_an_answer_read_ahead_is_the_answer_stop_and_wait_gives(frames) -> None:
    ahead = ReadAhead()
    got, from_ahead, trips = fly(frames, ahead)
    want, _, trips_stop_and_wait = fly(frames, None)
    # Each part answers with everything it saw this frame, in order: an answer read
    # ahead equals the stop-and-wait one only if the part saw the same transactions
    # in the same order before it.
    for answer, expected, ahead_ in zip(got, want, from_ahead, strict=True):
        if ahead_:
            assert answer == expected
    assert sum(from_ahead) == ahead.used
    assert trips == trips_stop_and_wait - ahead.used


@settings(max_examples=100, deadline=None)
@given(frame, st.integers(min_value=3, max_value=8))
def test_a_repeating_frame_costs_only_its_tick_but_streams_go_live(script, n) -> None:
    ahead = ReadAhead()
    got, _, trips = fly([script] * n, ahead)
    want, _, _ = fly([script] * n, None)
    assert got == want
    # A stream read (UART) is never done ahead, nor anything after it on that part.
    live, streaming = 0, set()
    for t, k in script:
        streaming |= {t} if KINDS[k][0] == MsgType.UART_READ else set()
        live += t in streaming
    # frames 1 and 2 teach the pattern; from frame 3 on only those go live
    assert trips == n + 2 * len(script) + (n - 2) * live
