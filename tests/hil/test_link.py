"""The flight side of the bench link against a scripted bench on a real pty:
every kind of bad, late, repeated or missing reply is counted and survived;
posted writes cost no round trip and fail as the write would have."""

from __future__ import annotations

import os
import threading
import time
import tty
from pathlib import Path

import pytest

from hal import BusTimeoutError, NackError
from hal.tunnel import close_links, open_link
from hal.tunnel.buses import TunnelI2C
from hal.tunnel.link import BenchLink, LinkError
from hal.tunnel.messages import (
    pack_bus_request,
    pack_json,
    unpack_batch,
    unpack_json,
    unpack_reply,
)
from hal.tunnel.protocol import REPLY, VERSION, FrameDecoder, MsgType, Status, encode_frame


class ScriptedBench:
    """Answers each request with whatever `script(frame)` returns (raw bytes)."""

    def __init__(self, tmp: Path, script) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.script = script
        self.seen: list = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import select

        decoder = FrameDecoder()
        while not self._stop:
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            for frame in decoder.feed(os.read(self.master, 4096)):
                self.seen.append(frame)
                os.write(self.master, self.script(frame, len(self.seen)))

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        os.close(self.master)
        os.close(self.slave)


def reply(frame, payload=b"ok", **kw) -> bytes:
    return encode_frame(frame.type | REPLY, 0, payload, ack=kw.get("ack", frame.seq))


def test_bad_late_and_repeated_replies_are_counted_and_the_right_one_taken(tmp_path) -> None:
    def script(frame, n):
        good = reply(frame, b"answer")
        broken = bytearray(good)
        broken[3] ^= 0x10
        return (b"\x13\x37garbage\x00"              # garbage: a bad frame
                + good[: len(good) // 2] + b"\x00"   # truncated
                + bytes(broken)                      # corrupted CRC
                + reply(frame, b"old", ack=frame.seq - 1)   # a late reply to an earlier try
                + encode_frame(MsgType.SPI | REPLY, 0, b"x", ack=frame.seq)  # wrong type
                + good + good)                       # the answer, duplicated

    bench = ScriptedBench(tmp_path, script)
    link = BenchLink(bench.path)
    try:
        assert link.request(MsgType.I2C, b"q1") == b"answer"
        assert sum(link.stats.frame_errors.values()) >= 3
        assert link.stats.stale_replies >= 2
        # the duplicate of the first answer must not be taken for the second
        assert link.request(MsgType.I2C, b"q2") == b"answer"
        assert link.stats.retries == 0
    finally:
        link.close()
        bench.close()


def test_a_lost_request_is_resent_with_the_same_sequence_number(tmp_path) -> None:
    def script(frame, n):
        return b"" if n == 1 else reply(frame)  # the first copy is "lost"

    bench = ScriptedBench(tmp_path, script)
    link = BenchLink(bench.path, retry_s=0.05)
    try:
        assert link.request(MsgType.UART_READ, b"q") == b"ok"
        assert link.stats.retries == 1
        assert bench.seen[0].seq == bench.seen[1].seq
    finally:
        link.close()
        bench.close()


def test_real_time_requests_give_up_instead_of_stalling(tmp_path) -> None:
    bench = ScriptedBench(tmp_path, lambda frame, n: b"")
    link = BenchLink(bench.path, retry_s=0.02, give_up_s=0.1)
    try:
        start = time.monotonic()
        with pytest.raises(BusTimeoutError):
            link.request(MsgType.I2C, b"q", patient=False)
        # It gives up (after 0.1 s) rather than retrying until the bench answers;
        # the bound only tells the two apart, whatever the machine's load.
        assert time.monotonic() - start < 60.0
    finally:
        link.close()
        bench.close()


def test_version_mismatch_is_refused_in_words(thread_bench) -> None:
    """A version 1 flight computer (stop and wait, no batches) gets the bench's
    refusal naming both versions, and the flight side reports a bench that
    speaks another version (the older one, or a newer one) as a LinkError."""
    assert VERSION == 2
    fd = os.open(str(thread_bench.link_path), os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        os.write(fd, encode_frame(MsgType.HELLO, 5, pack_json({"version": 1}), version=1))
        decoder, frames, deadline = FrameDecoder(), [], time.monotonic() + 60
        while not frames and time.monotonic() < deadline:
            frames = decoder.feed(os.read(fd, 4096))
        doc = unpack_json(frames[0].payload)
        assert frames[0].ack == 5 and doc["version"] == 2
        assert doc["error"] == ("protocol version 1 is not supported; this bench speaks 2")
    finally:
        os.close(fd)
    link = BenchLink(str(thread_bench.link_path))
    for theirs in (1, 3):
        with pytest.raises(LinkError, match=f"bench speaks protocol version {theirs}, "
                                            "this flight computer 2"):
            link._accept_hello(pack_json({"version": theirs, "mode": "lockstep"}))
    link.close()


def test_the_bench_answers_a_repeated_request_without_doing_it_twice(thread_bench) -> None:
    calls = []
    handle = thread_bench.world.handle
    thread_bench.world.handle = lambda t, p: calls.append(t) or handle(t, p)
    fd = os.open(str(thread_bench.link_path), os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        decoder = FrameDecoder()
        hello = encode_frame(MsgType.HELLO, 1, pack_json({"version": VERSION, "session": 9}))
        write = encode_frame(MsgType.UART_WRITE, 2, b"\x0aradio_uartHELLO")
        replies = []
        for frame in (hello, write, write):
            os.write(fd, frame)
            deadline = time.monotonic() + 60
            got = []
            while not got and time.monotonic() < deadline:
                got = decoder.feed(os.read(fd, 4096))
            replies += got
        assert replies[1] == replies[2]           # the same reply, from the cache
        assert calls == [MsgType.UART_WRITE]      # done once
        assert thread_bench.server.stats.duplicates == 1
    finally:
        os.close(fd)


def test_the_bench_reports_a_silent_flight_computer(bench_factory) -> None:
    events: list[str] = []
    bench = bench_factory(lost_after_s=0.5, on_event=events.append)
    link = BenchLink(str(bench.link_path))
    link.hello()
    deadline = time.monotonic() + 60
    while not any("flight computer lost" in e for e in events):
        assert time.monotonic() < deadline, events
        time.sleep(0.05)
    link.hello()
    while not any("heard again" in e for e in events):
        assert time.monotonic() < deadline, events
        time.sleep(0.05)
    assert bench.server.stats.flight_losses == 1
    link.close()


def test_any_pyserial_url_a_tcp_serial_server(thread_bench) -> None:
    """A bench reached through a serial-over-TCP server (as ser2net gives):
    the flight side opens `socket://host:port` and everything else is the same."""
    import select
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    tty_fd = os.open(str(thread_bench.link_path), os.O_RDWR | os.O_NOCTTY)
    tty.setraw(tty_fd)
    done = threading.Event()

    def bridge() -> None:
        conn, _ = server.accept()
        with conn:
            while not done.is_set():
                ready, _, _ = select.select([conn, tty_fd], [], [], 0.05)
                if conn in ready:
                    data = conn.recv(4096)
                    if not data:
                        return
                    os.write(tty_fd, data)
                if tty_fd in ready:
                    try:
                        conn.sendall(os.read(tty_fd, 4096))
                    except (BrokenPipeError, ConnectionResetError):
                        return  # the client closed first, as it does when the test ends

    thread = threading.Thread(target=bridge, daemon=True)
    thread.start()
    link = BenchLink(f"socket://127.0.0.1:{port}")
    try:
        assert link.hello()["mode"] == "lockstep"
        from hal.tunnel.buses import TunnelI2C

        assert TunnelI2C("i2c0", link).transfer(0x20, b"\x36", 1) == b"\x22"  # RM3100 REVID
    finally:
        link.close()
        done.set()
        thread.join(2)
        server.close()
        os.close(tty_fd)


# -- posted writes: no round trip of their own, done once, a failure raised at the
# -- part's next transaction as the same error

@pytest.fixture
def i2c(thread_bench):
    # These tests count frames: a retransmission after the link's 20 ms (a bench
    # thread slow to answer on a loaded machine) would be a frame more, so the
    # link waits a second before sending again.
    link = open_link(str(thread_bench.link_path), retry_s=1.0)
    link.hello()
    yield TunnelI2C("i2c0", link), thread_bench
    close_links()


def spy(world) -> list[tuple[int, bytes]]:
    """Every request the bench's world handles, batch items one by one."""
    seen: list[tuple[int, bytes]] = []
    handle = world.handle

    def recording(type_, payload, room=4096):
        if type_ != MsgType.BATCH:
            seen.append((type_, payload))
        return handle(type_, payload, room)

    world.handle = recording
    return seen


def test_a_posted_write_rides_with_the_next_request_and_is_done_once(i2c) -> None:
    bus, bench = i2c
    link = bus.link
    seen = spy(bench.world)
    before, frames_before = link.stats.requests, link.stats.frames_tx
    bus.writeto(0x10, b"\x03")                        # iMTQ CANCEL
    assert link.stats.requests == before and link.posted_pending == 1 and not seen
    assert bus.transfer(0x10, b"", 2) == b"\x03\x00"  # its reply: CANCEL echoed, accepted
    assert link.stats.requests == before + 1 and link.stats.batches == 1
    assert seen == [(MsgType.I2C, pack_bus_request("i2c", "i2c0", 0x10, 0, data=b"\x03")),
                    (MsgType.I2C, pack_bus_request("i2c", "i2c0", 0x10, 2))]
    assert link.stats.frames_tx == frames_before + 1   # one frame for both


def test_a_failed_posted_write_is_the_error_the_write_would_have_raised(i2c) -> None:
    bus, bench = i2c
    link = bus.link
    bench.world.emulators.magnetorquer.inject_fault("nack")
    # What the write meets when it is waited for (stop and wait).
    status, reason = unpack_reply(link.request(
        MsgType.I2C, pack_bus_request("i2c", "i2c0", 0x10, 0, data=b"\x03")))
    assert status is Status.NACK
    seen = spy(bench.world)
    bus.writeto(0x10, b"\x03")
    with pytest.raises(NackError) as err:
        bus.transfer(0x10, b"", 2)
    assert err.value.reason == f"bench: {reason.decode()}"
    assert (err.value.bus, err.value.address) == ("i2c0", 0x10)
    # The read after the failed write was not done on the part (SKIPPED).
    assert seen == [(MsgType.I2C, pack_bus_request("i2c", "i2c0", 0x10, 0, data=b"\x03"))]
    # A failed posted write raises once; a part that answers again works again.
    bench.world.emulators.magnetorquer.clear_faults()
    bus.writeto(0x10, b"\x03")
    assert bus.transfer(0x10, b"", 2) == b"\x03\x00"


def test_a_failed_posted_write_flushed_by_another_part_raises_at_its_own_next_call(i2c
                                                                                   ) -> None:
    bus, bench = i2c
    bench.world.emulators.magnetorquer.inject_fault("nack")
    bus.writeto(0x10, b"\x03")
    assert bus.transfer(0x20, b"\x36", 1) == b"\x22"  # RM3100 REVID, carries the write
    bench.world.emulators.magnetorquer.clear_faults()
    seen = spy(bench.world)
    with pytest.raises(NackError):
        bus.transfer(0x10, b"", 2)                    # raised here, without asking the bench
    assert seen == []
    bus.writeto(0x10, b"\x03")                         # the part took no command before
    assert bus.transfer(0x10, b"", 2) == b"\x03\x00"


def test_a_second_write_to_a_part_waits_for_the_first_ones_outcome(i2c) -> None:
    bus, bench = i2c
    bench.world.emulators.magnetorquer.inject_fault("nack")
    bus.writeto(0x10, b"\x03")
    with pytest.raises(NackError):
        bus.writeto(0x10, b"\x03")   # not posted: the first one's failure is due now


def test_real_time_a_posted_write_whose_carrier_gave_up_fails_as_timed_out(tmp_path
                                                                            ) -> None:
    batches = []

    def script(frame, n):
        if frame.type == MsgType.BATCH:
            batches.append(unpack_batch(frame.payload))
        return b""  # the bench never answers

    bench = ScriptedBench(tmp_path, script)
    link = open_link(bench.path, retry_s=0.02, give_up_s=0.1)
    link.session = {"mode": "realtime"}
    bus = TunnelI2C("i2c0", link)
    try:
        bus.writeto(0x10, b"\x03")
        with pytest.raises(BusTimeoutError):
            bus.transfer(0x20, b"\x36", 1)
        assert batches and [t for t, _ in batches[0]] == [MsgType.I2C, MsgType.I2C]
        requests = link.stats.requests
        with pytest.raises(BusTimeoutError, match="no reply within 100 ms") as err:
            bus.transfer(0x10, b"", 2)
        assert err.value.address == 0x10 and link.stats.requests == requests
    finally:
        close_links()
        bench.close()
