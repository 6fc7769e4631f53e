"""The flight side of the bench link against a scripted bench on a real pty:
every kind of bad, late, repeated or missing reply is counted and survived."""

from __future__ import annotations

import os
import threading
import time
import tty
from pathlib import Path

import pytest

from hal import BusTimeoutError
from hal.tunnel.link import BenchLink, LinkError
from hal.tunnel.messages import pack_json, unpack_json
from hal.tunnel.protocol import REPLY, VERSION, FrameDecoder, MsgType, encode_frame


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
        assert time.monotonic() - start < 1.0
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
        decoder, frames, deadline = FrameDecoder(), [], time.monotonic() + 5
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
        hello = encode_frame(MsgType.HELLO, 1, pack_json({"version": 1, "session": 9}))
        write = encode_frame(MsgType.UART_WRITE, 2, b"\x0aradio_uartHELLO")
        replies = []
        for frame in (hello, write, write):
            os.write(fd, frame)
            deadline = time.monotonic() + 5
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
    deadline = time.monotonic() + 10
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
                    conn.sendall(os.read(tty_fd, 4096))

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
