"""Software-bus delivery rate against blinker signals, same payloads, same run.

A delivery is one message reaching one subscriber. Tessera: `publish` into
bounded pipes, the subscribers draining their pipes every 256 messages (as
an app drains its pipe every cycle). blinker: `Signal.send` calling each
connected receiver, which appends the payload to its list. Both carry the
same 12-byte packed message; rates are deliveries per second.

    python -m bench bus
"""

from __future__ import annotations

from bench.common import compare, rate_per_s
from fsw.core import Field, MessageType, SoftwareBus, tm_msg_id

N_MESSAGES = 200_000
BATCH = 256
MSG = MessageType("BenchMag", tm_msg_id(0x123), [Field("b_body_t", "3f", "T")])
PAYLOAD = MSG.pack(b_body_t=(1e-5, -2e-5, 3e-5))


def tessera(subscribers: int) -> float:
    bus = SoftwareBus()
    bus.register(MSG)
    pipes = [bus.create_pipe(f"sub{i}", BATCH) for i in range(subscribers)]
    for pipe in pipes:
        bus.subscribe(pipe, MSG.msg_id)
    received = [0]

    def run() -> None:
        publish, msg_id, payload = bus.publish, MSG.msg_id, PAYLOAD
        for _ in range(N_MESSAGES // BATCH):
            for _ in range(BATCH):
                publish(msg_id, payload)
            for pipe in pipes:
                received[0] += len(pipe.drain())

    deliveries = rate_per_s(run, N_MESSAGES // BATCH * BATCH * subscribers)
    if any(p.dropped for p in pipes):
        raise RuntimeError("the benchmark dropped messages: it measured the wrong thing")
    return deliveries


def blinker_rate(subscribers: int) -> float:
    import blinker

    signal = blinker.Signal()
    inboxes: list[list[bytes]] = [[] for _ in range(subscribers)]
    receivers = []
    for inbox in inboxes:
        def receiver(sender: object, payload: bytes, _inbox: list = inbox) -> None:
            _inbox.append(payload)
        receivers.append(receiver)  # blinker holds weak references: keep them alive
        signal.connect(receiver)

    def run() -> None:
        send, msg_id, payload = signal.send, MSG.msg_id, PAYLOAD
        for _ in range(N_MESSAGES // BATCH):
            for _ in range(BATCH):
                send(msg_id, payload=payload)
            for inbox in inboxes:
                inbox.clear()

    return rate_per_s(run, N_MESSAGES // BATCH * BATCH * subscribers)


def main() -> None:
    for subscribers in (1, 8):
        compare(f"bus delivery, {subscribers} subscriber(s)", "deliveries/s",
                tessera(subscribers), "blinker", blinker_rate(subscribers))


if __name__ == "__main__":
    main()
