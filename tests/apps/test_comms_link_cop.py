"""The comms app on a byte-stream link (a pty, as a serial cable would be),
COP-1 end to end with the ground's FOP-1 over a lossy uplink, and fuzzed
frames into the app."""

from __future__ import annotations

import json
import os
import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_comms_integration import KEYS, OPERATOR, SAMPLE_APID, Ground, reports, run

from fsw.apps.comms import CommsApp
from fsw.apps.comms.link import ASM, SerialLink, TcStreamDecoder, encode_tc_stream
from fsw.apps.sample import SampleApp
from fsw.core import AppSpec, Executive, Severity, VirtualClock
from fsw.protocol import Reason
from fsw.protocol import services as sv
from fsw.protocol.tm import Clcw, TmFrame

SCID = 0x2AB
FRAME_LEN = 256


class RecordingSample(SampleApp):
    """The sample app, remembering every input it was commanded, in order."""

    def __init__(self, ctx, config=None) -> None:
        super().__init__(ctx, config)
        self.inputs: list[float] = []

    def set_input(self, value: float) -> None:
        self.inputs.append(value)
        super().set_input(value)


def boot(tmp_path) -> tuple[Executive, Ground]:
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps(KEYS))
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    exe.add_app(AppSpec("comms", CommsApp, 10.0,
                        {"scid": SCID, "key_file": str(key_file),
                         "arsn_db": str(tmp_path / "arsn.db"), "tm_frame_len": FRAME_LEN}))
    exe.add_app(AppSpec("sample", RecordingSample, 10.0))
    assert exe.boot() == []
    return exe, Ground(key_file)


@pytest.fixture
def system(tmp_path):
    return boot(tmp_path)


@given(st.lists(st.tuples(st.binary(max_size=40), st.binary(min_size=1, max_size=300)),
                max_size=8), st.integers(1, 64))
def test_stream_decoder_finds_frames_between_garbage(items, chunk):
    from fsw.protocol.tc import TcFrame

    stream = b""
    frames = []
    for garbage, data in items:
        f = TcFrame(SCID, 0, 0, data, map_id=0).encode()
        frames.append(f)
        stream += garbage.replace(b"\xeb", b"\x00") + encode_tc_stream(f)
    dec = TcStreamDecoder()
    got = []
    for i in range(0, len(stream), chunk):
        got += dec.feed(stream[i:i + chunk])
    assert got == frames


@given(st.binary(max_size=3000))
def test_stream_decoder_on_noise_stays_bounded(noise):
    dec = TcStreamDecoder()
    for f in dec.feed(noise):
        assert 5 <= len(f) <= 1024
    assert len(dec._buf) <= 1026


def test_serial_link_over_a_pty(system):
    exe, ground = system
    master, slave = os.openpty()
    link = SerialLink(os.ttyname(slave), exe.apps["comms"])
    try:
        tc = ground.tc(SAMPLE_APID, 17, 1)
        os.write(master, b"\x00\x13noise" + encode_tc_stream(ground.frame(tc, OPERATOR)))
        received = 0
        for _ in range(20):
            received += link.poll()
            exe.step()
        assert received == 1
        link.poll(max_frames_out=100)
        data = b""
        while True:
            import select
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                break
            data += os.read(master, 65536)
        # CCSDS 131.0-B-4 9.3: the attached sync marker is 0x1ACFFC1D
        assert bytes.fromhex("1ACFFC1D") in data and ASM == bytes.fromhex("1ACFFC1D")
        chunks = [c for c in data.split(bytes.fromhex("1ACFFC1D")) if c]
        assert chunks and all(len(c) == FRAME_LEN for c in chunks)
        tms = ground.downlink(chunks)
        assert reports(tms, tc.request_id) == [(1, None), (7, None)]
    finally:
        link.close()
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("loss", [0.0, 0.3])
def test_fop_recovers_lost_frames_through_the_clcw(system, loss):
    """The ground's FOP-1 sends 12 commands over an uplink that loses frames;
    the CLCW in the downlink drives retransmission until every command has run
    exactly once, in order."""
    exe, ground = system
    comms, sample = exe.apps["comms"], exe.apps["sample"]
    rng = random.Random(4)
    fop = ground.tx.fop(0, OPERATOR, t1_s=1.0, transmission_limit=50, window_k=5)
    fop.initiate()
    tcs = [ground.tc(SAMPLE_APID, 8, 1, sv.PerformFunction(10, struct.pack(">f", i)).encode())
           for i in range(12)]
    outbox = []
    for tc in tcs:
        outbox += fop.transmit(tc.encode(), exe.clock.now())
    completions: dict[int, int] = {}
    settle = 3  # cycles to keep running once FOP-1 has nothing outstanding
    for _ in range(400):
        for f in outbox:
            if rng.random() >= loss:
                comms.receive_frame(f)
        outbox = []
        exe.step()
        down = [*comms.take_frames(), comms.idle_frame()]
        for tm in ground.downlink(down):
            if (tm.service, tm.subtype) == (1, 7):
                rid = sv.VerificationReport.decode(7, tm.source_data).request_id
                completions[rid] = completions.get(rid, 0) + 1
        outbox += fop.on_clcw(ground.rx.last_clcw, exe.clock.now())
        outbox += fop.on_timer(exe.clock.now())
        if not fop.sent and not fop.wait_queue:
            settle -= 1
            if not settle:
                break
    assert fop.alert is None
    assert sample.cmd_count == 12
    assert completions == {tc.request_id: 1 for tc in tcs}
    assert sample.inputs == [float(i) for i in range(12)]  # each once, in order
    clcw = ground.rx.last_clcw
    assert clcw == Clcw(vcid=clcw.vcid, report_value=clcw.report_value)
    assert comms.rx.farms[0].vr == 12
    if loss:  # the loss really forced FARM-1 to ask for retransmissions
        assert comms.rejected_by_reason[Reason.FARM_OUT_OF_WINDOW] > 0


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_frames_into_the_app(tmp_path_factory, data):
    """Whatever arrives, the app neither raises nor loses count, and the TM it
    sends down stays decodable."""
    exe, ground = boot(tmp_path_factory.mktemp("fz"))
    comms = exe.apps["comms"]
    genuine = [ground.frame(ground.tc(SAMPLE_APID, s, t, d), OPERATOR) for s, t, d in
               [(17, 1, b""), (8, 1, b"\x0a\x00\x00\x80\x3f"), (20, 1, b"\x00\x01\x00\x00"),
                (3, 27, b"\x00\x01\x00\x30"), (11, 4, b"\x00\x01\x00")]]
    frames = data.draw(st.lists(st.one_of(
        st.sampled_from(genuine), st.binary(max_size=1100),
        st.builds(lambda f, i, b: f[:i] + bytes([f[i % len(f)] ^ b]) + f[i + 1:],
                  st.sampled_from(genuine), st.integers(0, 60), st.integers(1, 255))),
        max_size=12))
    for f in frames:
        comms.process_frame(f)
    run(exe, 2)
    assert comms.frames_accepted + comms.frames_rejected == len(frames)
    for f in comms.take_frames():
        TmFrame.decode(f, frame_len=FRAME_LEN)
    ground.downlink([])


def test_uplink_queue_overflow_is_counted_and_reported(tmp_path):
    exe, ground = boot(tmp_path)
    comms = exe.apps["comms"]
    frames = [ground.frame(ground.tc(SAMPLE_APID, 17, 1), OPERATOR) for _ in range(20)]
    for f in frames:
        comms.receive_frame(f)  # a key holder's queue holds 16: the 4 newest are dropped
    exe.step()
    assert comms.rejected_by_reason[Reason.QUEUE_FULL] == 4
    assert comms.frames_accepted == 16 and not comms.rx.farms[0].lockout
    assert any("queue_full 4" in e.text and e.text.endswith(
        "uplink queue of SPI 1 full: frame dropped") for e in exe.events.recent)
    # the FOP retransmits the dropped ones and they get through
    for f in frames[16:]:
        comms.receive_frame(f)
    exe.step()
    assert comms.frames_accepted == 20 and comms.rx.farms[0].vr == 20


def test_serial_link_over_pyserials_loopback(system):
    # docs/space-link.md: 115200 baud unless told, never waits on the port,
    # at most 8 TM frames written per poll, each after the ASM 1ACFFC1D
    # (CCSDS 131.0-B-4 9.3).
    exe, ground = system
    link = SerialLink("loop://", exe.apps["comms"])
    try:
        assert link.port.baudrate == 115200 and link.port.timeout == 0
        tc = ground.tc(SAMPLE_APID, 17, 1)
        link.port.write(b"\x00\x13noise" + encode_tc_stream(ground.frame(tc, OPERATOR)))
        assert link.poll(max_frames_out=0) == 1  # the frame, and nothing written back
        assert link.poll() == 0 and link.port.in_waiting == 0  # an empty port: no wait
        for i in range(40):  # more TM than 8 frames hold
            exe.events.raise_event(SAMPLE_APID, 20, Severity.INFO, f"{i:03d} " + "x" * 100)
        for _ in range(3):
            exe.step()
        chunks, written = [], []
        while not written or written[-1] == 8:
            assert link.poll() == 0
            data = link.port.read(link.port.in_waiting)
            written.append(data.count(bytes.fromhex("1ACFFC1D")))
            chunks += data.split(bytes.fromhex("1ACFFC1D"))[1:]
        assert len(written) >= 3 and written[-1] < 8 == max(written)
        assert all(len(c) == FRAME_LEN for c in chunks)
        tms = ground.downlink(chunks)
        assert reports(tms, tc.request_id) == [(1, None), (7, None)]
        assert any((t.service, t.subtype) == (17, 2) for t in tms)
    finally:
        link.close()
