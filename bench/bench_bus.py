"""Software-bus delivery rate against blinker signals, same payloads, same work.

A delivery is one message reaching one subscriber's Python handler, which
keeps the payload. Tessera: `publish` into bounded pipes; every 256
messages each subscriber drains its pipe and calls its handler once per
message (as an app drains its pipe each cycle and handles each message).
blinker: `Signal.send` calls each connected receiver once per message. Both
handlers append the payload to the subscriber's list, and every 256
messages both sides empty those lists. Both carry the same 12-byte packed
message; rates are deliveries per second.

    python -m bench bus
"""

from __future__ import annotations

from collections.abc import Callable

from bench.common import heading, paired, report
from fsw.core import Field, MessageType, SoftwareBus, tm_msg_id

N_MESSAGES = 100_000
BATCH = 256
MSG = MessageType("BenchMag", tm_msg_id(0x123), [Field("b_body_t", "3f", "T")])
PAYLOAD = MSG.pack(b_body_t=(1e-5, -2e-5, 3e-5))
ROUNDS = N_MESSAGES // BATCH


def tessera(subscribers: int) -> tuple[Callable[[], object], list[list[bytes]], list]:
    bus = SoftwareBus()
    bus.register(MSG)
    pipes = [bus.create_pipe(f"sub{i}", BATCH) for i in range(subscribers)]
    for pipe in pipes:
        bus.subscribe(pipe, MSG.msg_id)
    inboxes: list[list[bytes]] = [[] for _ in range(subscribers)]
    handlers = []
    for inbox in inboxes:
        def handler(msg_id: int, payload: bytes, _inbox: list = inbox) -> None:
            _inbox.append(payload)
        handlers.append(handler)
    subs = list(zip(pipes, handlers, strict=True))

    def run() -> int:
        publish, msg_id, payload = bus.publish, MSG.msg_id, PAYLOAD
        handled = 0
        for _ in range(ROUNDS):
            for _ in range(BATCH):
                publish(msg_id, payload)
            for pipe, handle in subs:
                for mid, data in pipe.drain():
                    handle(mid, data)
            for inbox in inboxes:
                handled += len(inbox)
                inbox.clear()
        return handled

    return run, inboxes, pipes


def blinker_side(subscribers: int) -> tuple[Callable[[], object], list]:
    import blinker

    signal = blinker.Signal()
    inboxes: list[list[bytes]] = [[] for _ in range(subscribers)]
    receivers = []
    for inbox in inboxes:
        def receiver(sender: object, payload: bytes, _inbox: list = inbox) -> None:
            _inbox.append(payload)
        receivers.append(receiver)  # blinker holds weak references: keep them alive
        signal.connect(receiver)

    def run() -> int:
        send, msg_id, payload = signal.send, MSG.msg_id, PAYLOAD
        handled = 0
        for _ in range(ROUNDS):
            for _ in range(BATCH):
                send(msg_id, payload=payload)
            for inbox in inboxes:
                handled += len(inbox)
                inbox.clear()
        return handled

    return run, receivers


def main() -> None:
    heading("blinker")
    for subscribers in (1, 8):
        ours, _, pipes = tessera(subscribers)
        theirs, _ = blinker_side(subscribers)
        expected = ROUNDS * BATCH * subscribers
        if ours() != expected or theirs() != expected or any(p.dropped for p in pipes):
            raise RuntimeError("a side lost messages: the benchmark measured the wrong thing")
        report(f"Bus delivery to {subscribers} subscriber(s), one Python handler call each",
               paired(ours, theirs, items=expected), "blinker", unit="deliveries/s")


if __name__ == "__main__":
    main()
