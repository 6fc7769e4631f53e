"""Power loss: the flight side is a real child process killed with SIGKILL in
the middle of a stream of authenticated frames. After restart the store is
intact, every frame the child acknowledged is still rejected as a replay, and
the ground's next frame is accepted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest
from spacelink_kit import OPERATOR_SPI, SCID, Link, vc_table

from fsw.protocol import ProtocolError, Reason
from fsw.protocol.keyfile import load_key_file
from fsw.protocol.pus import PusTc
from fsw.protocol.store import ArsnStore
from fsw.protocol.uplink import TcReceiver

CHILD = r"""
import sys
from fsw.protocol import ProtocolError
from fsw.protocol.keyfile import load_key_file
from fsw.protocol.store import ArsnStore
from fsw.protocol.uplink import TcReceiver, VcConfig
key_file, db, burst = sys.argv[1], sys.argv[2], int(sys.argv[3])
engine = load_key_file(key_file).engine(ArsnStore(db))
rx = TcReceiver(0x2AB, {0: VcConfig(0), 1: VcConfig(1)}, engine)
print("READY", flush=True)
batch = []
for line in sys.stdin:
    batch.append(bytes.fromhex(line.strip()))
    if len(batch) < burst:
        continue
    # acknowledged only once receive/receive_many returned: the ARSN is on disk
    if burst == 1:
        try:
            results = [rx.receive(batch[0])]
        except ProtocolError as e:
            results = [e]
    else:
        results = rx.receive_many(batch)
    for raw, r in zip(batch, results):
        if isinstance(r, ProtocolError):
            print("REJ", r.reason.name, flush=True)
        else:
            print("OK", int.from_bytes(raw[8:12], "big"), flush=True)
    batch = []
"""


@pytest.mark.parametrize("burst", [1, 8])
def test_replays_rejected_after_sigkill(key_file, tmp_path, burst):
    flight_db = tmp_path / "flight.db"
    link = Link(key_file, ":memory:", tmp_path / "ground.db")
    assert SCID == 0x2AB and 0 in vc_table()
    frames = [link.tx.frame(0, 0, PusTc(0x42, 17, 1, seq_count=i % 16384).encode(),
                            bypass=True, spi=OPERATOR_SPI) for i in range(3000)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(key_file), str(flight_db),
                              str(burst)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout.readline().strip() == "READY"

    def feed() -> None:
        try:
            for f in frames:
                child.stdin.write(f.hex() + "\n")
                child.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    acked = []
    while len(acked) < 300:
        line = child.stdout.readline().split()
        assert line and line[0] == "OK", line
        acked.append(int(line[1]))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    writer.join(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert acked == list(range(1, 301))

    store = ArsnStore(flight_db)
    assert store.integrity_ok()
    last = store.get(OPERATOR_SPI)[0]
    assert last >= acked[-1]  # never older than what was acknowledged
    assert last < len(frames)  # the kill really was mid-stream
    rx = TcReceiver(SCID, vc_table(), load_key_file(key_file).engine(store))
    for f in frames[:last]:
        try:
            rx.receive(f)
            raise AssertionError("a frame accepted before the power loss was accepted again")
        except ProtocolError as e:
            assert e.reason == Reason.REPLAY
    # the next frames after the last stored one still go through
    assert rx.receive(frames[last])
