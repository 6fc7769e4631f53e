"""A ground Session against a real flight executive's radio: over TCP and over a pty,
through frame loss (COP-1 retransmission over SDLS), a dropped connection, and
frames that are not for it."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsw.apps.comms import CommsApp
from fsw.apps.sample import SampleApp
from fsw.apps.sample.partners import UniASample
from fsw.apps.scheduler import SchedulerApp
from fsw.core import AppSpec, Executive, Store, VirtualClock
from fsw.core.wiring import Wiring
from fsw.protocol.keyfile import simulator_key_file
from fsw.protocol.tm import TmMasterChannel
from ground.archive import SqliteArchive
from ground.dictionary import Dictionary, generate
from ground.keys import KeyFileError, load_holder
from ground.link import AsmDecoder, KissDecoder, Link, kiss_encode
from ground.session import CommandRefusedError, Session, SpacecraftConfig
from ground.sim.radio import RadioPort

SCID = 0x2AB
FLIGHT = {"executive": {"rate_groups_hz": [10, 1]}, "wiring": {
    "housekeeping": ["sample", "uni_a_sample", "comms", "scheduler"],
    "scheduler_releases_to": "comms"}, "apps": [
    {"name": "comms", "class": "fsw.apps.comms:CommsApp", "rate_hz": 10},
    {"name": "sample", "class": "fsw.apps.sample:SampleApp", "rate_hz": 10},
    {"name": "scheduler", "class": "fsw.apps.scheduler:SchedulerApp", "rate_hz": 10},
    {"name": "uni_a_sample", "class": "fsw.apps.sample.partners:UniASample", "rate_hz": 10},
]}


class Spacecraft:
    """A flight executive with comms, its radio port, stepped in real time by a thread."""

    def __init__(self, tmp_path, pty: bool = False) -> None:
        self.keys = tmp_path / "keys.json"
        simulator_key_file(self.keys)
        self.exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0), housekeeping_hz=1.0,
                             store=Store(tmp_path / "store.db"),
                             wiring=Wiring.from_config(FLIGHT["wiring"]))
        self.exe.add_app(AppSpec("comms", CommsApp, 10.0, {
            "scid": SCID, "key_file": str(self.keys), "arsn_db": str(tmp_path / "arsn.db")}))
        for name, cls in (("sample", SampleApp), ("scheduler", SchedulerApp),
                          ("uni_a_sample", UniASample)):
            self.exe.add_app(AppSpec(name, cls, 10.0))
        assert self.exe.boot() == []
        self.comms = self.exe.apps["comms"]
        self.radio = RadioPort(self.comms, pty=pty)
        self.radio.in_pass = True
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.lock = threading.Lock()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                self.exe.step()
                self.radio.poll()
            time.sleep(0.01)

    def __enter__(self) -> Spacecraft:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self.radio.close()


@pytest.fixture(scope="module")
def dictionary():
    return Dictionary(generate(FLIGHT))


def session_for(tmp_path, sc: Spacecraft, dictionary, role="operator", url=None, notes=None):
    archive = SqliteArchive(tmp_path / f"{role}.db")
    s = Session(dictionary, load_holder(sc.keys, role), archive,
                [SpacecraftConfig("sc1", SCID, url or sc.radio.url)], tmp_path / "state",
                notify=(lambda k, t, _sev: notes.append((k, t))) if notes is not None else None)
    s.start()
    return s


def wait(cond, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_over_a_pty_as_a_serial_tool_would(tmp_path, dictionary):
    with Spacecraft(tmp_path, pty=True) as sc:
        s = session_for(tmp_path, sc, dictionary, url=sc.radio.pty_path)
        try:
            assert wait(lambda: s.spacecraft().ready)
            rec = s.ping("sample")
            assert wait(lambda: rec.done) and rec.status == "completed"
        finally:
            s.stop()


def test_a_lost_frame_is_retransmitted_and_executed_once(tmp_path, dictionary):
    with Spacecraft(tmp_path) as sc:
        dropped = []

        class Air:  # between the radio and comms: drops the first TC frame
            def __getattr__(self, name: str):
                return getattr(sc.comms, name)

            def receive_frame(self, frame: bytes) -> None:
                if not dropped:
                    dropped.append(frame)
                    return
                sc.comms.receive_frame(frame)

        sc.radio.comms = Air()
        s = session_for(tmp_path, sc, dictionary)
        s.spacecraft().fop.t1_s = 0.5
        try:
            assert wait(lambda: s.spacecraft().ready)
            before = sc.exe.apps["sample"].cmd_count
            rec = s.command("sample.set_input", {"value": 4.0})
            assert wait(lambda: rec.done, 30) and rec.status == "completed", rec.summary()
            assert dropped and sc.exe.apps["sample"].latest_input == 4.0
            assert sc.exe.apps["sample"].cmd_count == before + 1
            assert sc.comms.frames_rejected == 0  # the retransmission was new to the FARM
        finally:
            s.stop()


def test_the_link_comes_back_and_the_archive_keeps_what_it_had(tmp_path, dictionary):
    notes: list = []
    with Spacecraft(tmp_path) as sc:
        s = session_for(tmp_path, sc, dictionary, notes=notes)
        try:
            assert wait(lambda: "sample.hk.cycles" in s.spacecraft().latest)
            s.archive.flush()
            before = len(s.archive.samples(SCID, "sample.hk.cycles", 0, 1e9))
            with sc.lock:
                sc.radio.drop_connections()  # the ground station's connection drops
            assert wait(lambda: any("link" == k and "closed" in t for k, t in notes))
            assert wait(lambda: s.spacecraft().link.connects >= 2, 30)
            rec = s.ping("sample") if wait(lambda: s.spacecraft().ready) else None
            assert rec is not None and wait(lambda: rec.done) and rec.status == "completed"
            assert wait(lambda: len(s.archive.samples(SCID, "sample.hk.cycles", 0, 1e9))
                        > before, 30)
        finally:
            s.stop()


def test_a_partner_is_refused_an_operator_command_and_sees_only_its_own(tmp_path, dictionary):
    with Spacecraft(tmp_path) as sc:
        s = session_for(tmp_path, sc, dictionary, role="uni-a")
        try:
            with pytest.raises(CommandRefusedError, match="may not command"):
                s.command("sample.set_input", {"value": 1.0})
            assert wait(lambda: "uni_a_sample.hk.cycles" in s.spacecraft().latest)
            assert wait(lambda: s.spacecraft().ready)
            rec = s.set_parameter("uni_a_sample.gain", 3.0)
            assert wait(lambda: rec.done) and rec.status == "completed"
            assert sc.exe.apps["uni_a_sample"].params["gain"] == 3.0
            assert all(n.startswith("uni_a_sample.") for n in s.spacecraft().latest)
            assert s.spacecraft().packets_hidden > 0
        finally:
            s.stop()


def test_frames_of_another_spacecraft_or_garbage_are_refused_and_nothing_stored(
        tmp_path, dictionary):
    notes: list = []
    with Spacecraft(tmp_path) as sc:
        s = session_for(tmp_path, sc, dictionary, notes=notes)
        link = s.spacecraft()
        try:
            other = TmMasterChannel(SCID + 1, 256)
            other.add_packet(0, bytes(20))
            with link.lock:
                link.process_frame(other.frame(0))
                link.process_frame(b"\x00" * 256)
                link.process_frame(b"short")
            errors = [t for k, t in notes if k == "error"]
            assert len(errors) == 3 and all("\n" not in t for t in errors)
            assert link.frames_bad == 3
            assert s.archive.samples(SCID + 1, "sample.hk.cycles", 0, 1e9) == []
        finally:
            s.stop()


def test_an_unknown_role_or_key_file_is_one_line(tmp_path):
    keys = tmp_path / "keys.json"
    simulator_key_file(keys)
    with pytest.raises(KeyFileError, match=r"no key holder 'mallory'.*operator"):
        load_holder(keys, "mallory")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(KeyFileError):
        load_holder(tmp_path / "bad.json", "operator")


def test_a_link_url_that_cannot_work_is_refused():
    with pytest.raises(ValueError, match="HOST:PORT"):
        Link("tcp://nowhere", 256)


# -- framing codecs -----------------------------------------------------------------

@given(st.lists(st.binary(min_size=1, max_size=300), max_size=8), st.binary(max_size=40))
def test_kiss_frames_survive_any_content_and_leading_noise(frames, noise):
    stream = noise.replace(b"\xc0", b"") + b"".join(kiss_encode(f) for f in frames)
    dec = KissDecoder()
    got = []
    for i in range(0, len(stream), 7):  # arrives in pieces
        got += dec.feed(stream[i:i + 7])
    assert got == frames


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=6), st.binary(max_size=50))
def test_asm_framing_finds_every_frame_after_noise(frames, noise):
    asm = b"\x1a\xcf\xfc\x1d"
    clean_noise = noise.replace(asm[:1], b"")
    stream = clean_noise + b"".join(asm + f for f in frames)
    dec = AsmDecoder(32)
    got = []
    for i in range(0, len(stream), 5):
        got += dec.feed(stream[i:i + 5])
    assert got == frames


@given(st.binary(max_size=2000))
def test_framing_decoders_take_any_bytes(junk):
    KissDecoder().feed(junk)
    AsmDecoder(256).feed(junk)


def test_the_docs_core_api_example_runs(tmp_path, dictionary, monkeypatch):
    import json
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "ground.md").read_text()
    section = doc.split("## Using the ground core from code", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    with Spacecraft(tmp_path) as sc:
        work = tmp_path / "work"
        (work / "sim").mkdir(parents=True)
        (work / "sim" / "dictionary.json").write_text(json.dumps(dictionary.doc))
        (work / "sim" / "keys-sc1.json").write_text(sc.keys.read_text())
        monkeypatch.chdir(work)
        scope: dict = {}
        exec(code.replace("tcp://127.0.0.1:5000", sc.radio.url), scope)
        session = scope["session"]
        try:
            rec = scope["record"] if "record" in scope else None
            assert rec is not None and wait(lambda: rec.done) and rec.status == "completed"
            assert sc.exe.apps["sample"].latest_input == 3.0
        finally:
            session.stop()


def test_two_control_centres_share_one_radio_and_each_keeps_only_its_own(tmp_path, dictionary):
    """The operator and a partner connected at once: each commands over its own
    virtual channel; both hear the whole downlink; the partner keeps only its APIDs."""
    with Spacecraft(tmp_path) as sc:
        op = session_for(tmp_path, sc, dictionary)
        uni = session_for(tmp_path, sc, dictionary, role="uni-a")
        try:
            assert wait(lambda: sc.radio.connections == 2)
            assert wait(lambda: op.spacecraft().ready and uni.spacecraft().ready)
            a = op.command("sample.set_input", {"value": 7.0})
            b = uni.set_parameter("uni_a_sample.gain", 4.0)
            assert wait(lambda: a.done and b.done, 30)
            assert (a.status, b.status) == ("completed", "completed"), (a.summary(), b.summary())
            assert sc.exe.apps["sample"].latest_input == 7.0
            assert sc.exe.apps["uni_a_sample"].params["gain"] == 4.0
            assert wait(lambda: "sample.hk.cycles" in op.spacecraft().latest)
            assert all(n.startswith("uni_a_sample.") for n in uni.spacecraft().latest)
            assert uni.spacecraft().packets_hidden > 0
        finally:
            op.stop()
            uni.stop()


def test_a_downlink_bit_rate_bounds_the_frames_per_second(tmp_path):
    """At 8 x 260 octets per second of mission time the radio sends no more than
    that however many frames wait on board (and an idle frame only when idle)."""
    keys = tmp_path / "keys.json"
    simulator_key_file(keys)
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0), housekeeping_hz=1.0,
                    wiring=Wiring.from_config(FLIGHT["wiring"]))
    exe.add_app(AppSpec("comms", CommsApp, 10.0, {"scid": SCID, "key_file": str(keys),
                                                  "arsn_db": str(tmp_path / "a2.db")}))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    assert exe.boot() == []
    comms = exe.apps["comms"]
    frame_octets = 4 + 256  # ASM and the frame
    radio = RadioPort(comms, bit_rate=8 * frame_octets * 8.0, idle_period_s=1.0)
    try:
        for _ in range(200):            # 20 s out of contact: TM waits on board
            exe.step()
            radio.poll(0.1)
        assert radio.tm_frames_out == 0 and comms.downlink.frames
        queued = len(comms.downlink.frames)
        assert queued > 20
        radio.in_pass = True
        for _ in range(20):             # 2 s in contact: the rate, not the queue, limits
            exe.step()
            radio.poll(0.1)
        assert 14 <= radio.tm_frames_out <= 17 and comms.downlink.frames
        while comms.downlink.frames:
            exe.step()
            radio.poll(0.1)
        sent = radio.tm_frames_out
        for _ in range(50):             # 5 s with nothing queued: about one idle frame a second
            exe.step()
            comms.downlink.frames.clear()
            radio.poll(0.1)
        assert 4 <= radio.tm_frames_out - sent <= 6
    finally:
        radio.close()
