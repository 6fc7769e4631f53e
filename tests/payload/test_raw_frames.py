"""Frames an app writes past the SDK: raw DEVICE, STORAGE and unknown frames, and bytes
that are no frame at all.

Partner code runs in the same process as the SDK, so a hostile app can write
anything on its bridge: the host alone decides. docs/payload.md: a device call
travels as a DEVICE frame (JSON: device, method, number or string arguments),
costs one message of the app's rate, and returns plain data; anything else is
refused with an event. Storage requests are answered, never fatal; a refused
bridge request is an event (the 1st, 2nd, 4th... of each kind) and an audit
record; a stream that is no frames stops the app at once (KILLED, high severity)
and it stays stopped. The expected answers are the documented ones.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

from fsw.apps.payload_host.app import EV_STORAGE_FULL
from fsw.core import Severity
from ground.payload import OPERATOR_ALLOCATIONS, PartnerSim
from ground.sim.sil import build_sil
from tests.payload.kit import (
    READ_PER_CYCLE_MAX,
    assert_one_cycle_reads_one_budget_then_stop_kills,
    audit_records,
    make_project,
    queued_octets,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

RAW_CALLER = """
import json
from fsw.payload import PayloadApp
from fsw.payload.bridge import Kind, decode_storage, encode_storage

STORAGE = {
    "storage garbage": b"\\x00",
    "storage no op": encode_storage({"name": "f"}),
    "storage size words": encode_storage({"op": "write", "name": "f", "size": "x" * 150,
                                          "offset": 0}, b"abc"),
    "storage a folder": encode_storage({"op": "read", "name": "sub"}),
    "storage climbs out": encode_storage({"op": "exists", "name": "../secret"}),
    "storage usage": encode_storage({"op": "usage"}),
    "storage read missing": encode_storage({"op": "read", "name": "nothing"}),
    "storage remove missing": encode_storage({"op": "remove", "name": "nothing"}),
    "storage no such op": encode_storage({"op": "format", "name": "f"}),
    "storage over quota": encode_storage({"op": "write", "name": "third", "size": 10,
                                          "offset": 0}, b"0123456789"),
    # the first half of a new content for "big" that never comes whole
    "storage half": encode_storage({"op": "write", "name": "big", "size": 10, "offset": 0},
                                   b"01234"),
    # the rest of that write out of order, and past the size its first chunk declared
    # (the quota was checked against that size: more would fill the disk unchecked)
    "storage skips ahead": encode_storage({"op": "write", "name": "big", "size": 10,
                                           "offset": 7}, b"789"),
    "storage past its size": encode_storage({"op": "write", "name": "big", "size": 10,
                                             "offset": 5}, b"56789" * 400),
}

REQUESTS = {
    "not json": b"{not json",
    "no method": json.dumps({"device": "eps", "args": []}).encode(),
    "not plain data": json.dumps({"device": "eps", "method": "housekeeping", "args": []}).encode(),
    "driver fails": json.dumps({"device": "eps", "method": "set_output",
                                "args": [99, True]}).encode(),
    "object argument": json.dumps({"device": "eps", "method": "set_output",
                                   "args": [{"channel": 1}, True]}).encode(),
    "ungranted device": json.dumps({"device": "magnetometer", "method": "read_field_t",
                                    "args": []}).encode(),
    "device without methods": json.dumps({"device": "gyro", "method": "read_rate_rad_s",
                                          "args": []}).encode(),
    "unlisted method": json.dumps({"device": "eps", "method": "reset_ground_watchdog",
                                   "args": []}).encode(),
    "granted": json.dumps({"device": "eps", "method": "ping", "args": [90]}).encode(),
    "a pair": json.dumps({"device": "wheel", "method": "read_telemetry", "args": []}).encode(),
}

class App(PayloadApp):
    def init(self):
        self.cycle = 0
        self.subscribe("T" * 60, lambda values: None)   # a topic name past 40 characters
        self._link.send(200, 0, b"")                      # a frame kind that does not exist

    def execute(self):
        self.cycle += 1
        if self.cycle == 2:  # the first may run while the host is still booting
            big = bytes(range(256)) * 40   # more than one 3 KiB chunk each way
            self.storage.write_bytes("big", big)
            self.storage.write_bytes("big", big)  # again: a file replaced is no new file
            self.event(f"big file read back whole: {self.storage.read_bytes('big') == big}")
            for what, body in STORAGE.items():
                head, data = decode_storage(self._link.request(Kind.STORAGE, body,
                                                               Kind.STORAGE_REPLY))
                error = head.get("error", "")
                self.event(what + " -> " + json.dumps(
                    {"ok": head.get("ok"), "error": error[:32], "length": len(error),
                     "data": len(data), "missing": head.get("missing", False)},
                    separators=(",", ":")))  # an event holds 120 octets
            for what, body in REQUESTS.items():
                reply = json.loads(self._link.request(Kind.DEVICE, body, Kind.DEVICE_REPLY))
                self.event(what + " -> " + json.dumps(reply, sort_keys=True))
        # a device call costs what a message costs (20 a second, refilled as the app
        # publishes): 25 calls leave room for this cycle's telemetry (at two messages
        # each they would not), 45 do not
        calls = {3: 25, 4: 45}.get(self.cycle, 0)
        for _ in range(calls):
            self._link.request(Kind.DEVICE, REQUESTS["granted"], Kind.DEVICE_REPLY)
        self.publish(TM, count=self.cycle, value=float(calls))
"""


def _answers(sim: PartnerSim) -> dict[str, dict]:
    found = {}
    for e in sim.events_of():
        what, sep, reply = e.text.partition(" -> ")
        if sep and e.apid == 0x100:
            found[what] = json.loads(reply)
    return found


def test_raw_device_frames_get_the_documented_answers_and_cost_messages(tmp_path):
    alloc = tmp_path / "partners.toml"
    alloc.write_text(OPERATOR_ALLOCATIONS.read_text().replace(
        "devices = []", 'devices = ["eps", "gyro", "wheel"]', 1))
    # two files at most: the folder below and "big"
    project = make_project(tmp_path, "raw", body=RAW_CALLER, messages_per_s=20,
                           storage_files=2)
    manifest = project / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("subscribe = []",
                                                     'subscribe = []\ndevices = ["eps", "gyro", '
                                                     '"wheel"]'))
    sil = build_sil()  # the reference spacecraft's EPS on the simulated bus (kept: its files)
    exe = sil.executive
    # one reaction wheel's own driver as a device of its own (its telemetry is a pair)
    exe.context.devices["wheel"] = exe.context.devices["wheels"].wheels[0]
    # the operator lists methods for the EPS and the wheel: the gyro, granted, has none
    methods = {"eps": ["housekeeping", "set_output", "ping"], "wheel": ["read_telemetry"]}
    with PartnerSim(project, executive=exe, allocations=alloc,
                    host_config={"device_methods": methods}) as sim:
        # a folder in the app's directory that arrived some other way (by hand)
        (sim.workdir / "payload" / "data" / "raw" / "sub").mkdir()
        sim.run(5.5)
        answers = _answers(sim)
        texts = [e.text for e in sim.events_of() if e.apid == 0x015]
        app_texts = [e.text for e in sim.events_of() if e.apid == 0x100]
        cycles = [(row["count"], row["value"]) for row in sim.telemetry("RawStatus")]
        violations = sim.host.violations
        records = audit_records(sim)
        data = sim.workdir / "payload" / "data" / "raw"
        staging = sim.workdir / "payload" / "staging"
        half_written = (staging / "raw.part").read_bytes()
        staging_mode = staging.stat().st_mode & 0o777
        big_now = (data / "big").read_bytes()
    assert answers["not json"] == {"ok": False, "error": "malformed request"}
    assert answers["no method"] == {"ok": False, "error": "malformed request"}
    assert answers["not plain data"] == {"ok": False,
                                         "error": "result P31uHousekeeping is not plain data"}
    assert answers["driver fails"] == {"ok": False,
                                       "error": "ValueError: channel 0-7, delay 0-65535 s"}
    assert answers["object argument"] == {"ok": False,
                                          "error": "arguments must be numbers or strings"}
    assert answers["ungranted device"] == {"ok": False, "error": "not granted"}
    assert answers["device without methods"] == {"ok": False, "error": "not granted"}
    assert answers["unlisted method"] == {"ok": False, "error": "not granted"}
    assert answers["granted"]["ok"] is True, answers["granted"]
    assert answers["granted"] == {"ok": True, "value": None}  # ping answers nothing
    # a tuple comes back as a list of its numbers: (speed rad/s, torque N m)
    pair = answers["a pair"]
    assert pair["ok"] is True and len(pair["value"]) == 2, pair
    assert all(isinstance(v, float) for v in pair["value"]), pair
    # the malformed and the refused are violations, each with its event
    assert texts.count("raw: malformed device request (x1)") == 1
    assert texts.count("raw: malformed device request (x2)") == 1
    assert "raw: device call magnetometer.read_field_t refused (x1)" in texts
    assert "raw: device call gyro.read_rate_rad_s refused (x1)" in texts
    assert "raw: device call eps.reset_ground_watchdog refused (x1)" in texts
    long_topic = "T" * 40
    assert f"raw: subscribe to {long_topic!r} refused: not granted (x1)" in texts
    assert "raw: bridge frame kind 200 refused (x1)" in texts
    assert violations == 8  # the seven refusals and the storage quota
    refusals = [r for r in records if r.action == "refuse" and r.app == "raw"]
    assert len(refusals) == 7 and {r.actor for r in refusals} == {"onboard"}
    # storage requests are answered, whatever they hold; the app hears why
    bad = answers["storage garbage"]
    assert bad["ok"] is False and bad["error"].startswith("bad storage request (malformed")
    no_op = "bad storage request ('op')"
    assert answers["storage no op"] == {"ok": False, "error": no_op, "length": len(no_op),
                                        "data": 0, "missing": False}
    words = answers["storage size words"]
    assert words["ok"] is False and words["length"] == 120 and words["data"] == 0
    assert words["error"].startswith("bad storage request (invalid")
    plain = "not a plain file name (1-64 of A-Z a-z 0-9 . _ -)"
    assert answers["storage climbs out"] == {"ok": False, "error": plain[:32],
                                             "length": len(plain), "data": 0,
                                             "missing": False}
    assert answers["storage usage"] == {"ok": True, "error": "", "length": 0, "data": 0,
                                        "missing": False}
    for what in ("storage read missing", "storage remove missing"):
        assert answers[what] == {"ok": False, "error": "no such file", "length": 12,
                                 "data": 0, "missing": True}
    assert answers["storage no such op"] == {"ok": False, "error": "no operation 'format'",
                                             "length": 21, "data": 0, "missing": False}
    # a write in progress waits in staging/, outside the app's folder, until it is whole
    assert answers["storage half"]["ok"] is True
    # a chunk must continue the write where it stands and stay within its size
    sequence = "write out of sequence"
    for what in ("storage skips ahead", "storage past its size"):
        assert answers[what] == {"ok": False, "error": sequence, "length": len(sequence),
                                 "data": 0, "missing": False}, what
    assert half_written == b"01234"
    assert staging_mode == 0o700  # the host's alone: no app's user id may enter it
    assert answers["storage over quota"] == {"ok": False, "error": "3 files over its quota of 2",
                                             "length": 27, "data": 0, "missing": False}
    assert big_now == bytes(range(256)) * 40  # the old content stays until the new is whole
    assert "big file read back whole: True" in app_texts
    folder = "storage failed: Is a directory"
    assert answers["storage a folder"] == {"ok": False, "error": folder, "length": len(folder),
                                           "data": 0, "missing": False}
    # 25 calls and the telemetry fit in the bucket; 45 calls leave nothing for it
    assert (3, 25.0) in cycles, cycles
    assert not [c for c in cycles if c[0] == 4], cycles
    assert (5, 0.0) in cycles, cycles


NOT_FRAMES = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def execute(self):
        self._link.sock.sendall(b"\\xff\\xff\\xff\\xff\\x01")   # a length of 4 GiB
"""


def test_bytes_that_are_no_frames_stop_the_app_at_once_and_it_stays_stopped(tmp_path):
    with PartnerSim(make_project(tmp_path, "garbler", body=NOT_FRAMES)) as sim:
        sim.run(2.0)
        assert "garbler" not in sim.host.running
        stops = [e for e in sim.events_of() if e.text.startswith("garbler stopped:")]
        records = audit_records(sim)
        sim.reboot()
        running_after_reboot = "garbler" in sim.host.running
    assert len(stops) == 1
    assert stops[0].text == ("garbler stopped: malformed bridge data "
                             "(frame length 4294967295 outside 3..4096)")
    assert stops[0].severity == Severity.HIGH  # killed, not asked to stop
    assert ("onboard", "stop", "garbler") in {(r.actor, r.action, r.app) for r in records}
    assert not running_after_reboot


OVER_QUOTA = """
from fsw.payload import PayloadApp, StorageQuotaError

class App(PayloadApp):
    def init(self):
        refused = 0
        for i in range(5):   # five different files, each past the 1 KiB quota
            try:
                self.storage.write_bytes(f"n{i}", b"x" * 2000)
            except StorageQuotaError:
                refused += 1
        self.event(f"refused {refused} of 5")
"""


def test_storage_refusals_raise_an_event_for_the_1st_2nd_and_4th_only(tmp_path):
    with PartnerSim(make_project(tmp_path, "hoarder", body=OVER_QUOTA, storage_kib=1)) as sim:
        sim.run(1.0)
        events = sim.events_of()
    texts = [e.text for e in events]
    assert "refused 5 of 5" in texts
    full = [e for e in events if e.text.startswith("hoarder: storage write of")]
    assert [e.text.rsplit(" ", 1)[1] for e in full] == ["(x1)", "(x2)", "(x4)"], full
    # the payload host's STORAGE_FULL (docs/payload.md), not a bridge VIOLATION
    assert {(e.apid, e.event_id) for e in full} == {(0x015, EV_STORAGE_FULL.id)}


FLOOD_ON_STOP = """
from fsw.payload import PayloadApp
from fsw.payload.bridge import Kind, encode

class App(PayloadApp):
    def stop(self):
        sock = self._link.sock
        sock.setblocking(False)
        burst = encode(Kind.PUBLISH, 0x101, b"") * 10_000  # tiny frames, by the thousand
        try:
            while True:  # as much as the bridge holds
                sock.send(burst)
        except BlockingIOError:
            pass
        sock.setblocking(True)
        while sock.recv(65536):  # never done while the host is there: it must kill it
            pass
"""



def test_an_app_flooding_its_bridge_after_stop_cannot_hold_the_host(tmp_path):
    # An app told to STOP is served (its storage requests) until it ends or its grace is
    # over. One that floods its bridge then must not hold the host: a cycle reads its
    # budget and goes on, the rest waits, and the grace ends in a kill.
    with PartnerSim(make_project(tmp_path, "flooder", body=FLOOD_ON_STOP)) as sim:
        sim.run(1.0)
        run = sim.host.running["flooder"]
        assert sim.app_command(13, "flooder")  # STOP
        deadline = time.monotonic() + 60.0
        # the bridge holds some 140 KiB (unix(7): the app's send buffer, less overheads)
        while queued_octets(run.launched.sock) < READ_PER_CYCLE_MAX + 16 * 1024:
            assert time.monotonic() < deadline, "the app never flooded"
            time.sleep(0.01)
        before = queued_octets(run.launched.sock)
        assert_one_cycle_reads_one_budget_then_stop_kills(sim, run, before, deadline)


AT_ITS_RATE = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.cycle = 0

    def execute(self):
        # with the housekeeping the SDK adds each second: exactly 5 messages a cycle
        self.cycle += 1
        for i in range(4):
            self.publish(TM, count=self.cycle * 10 + i, value=0.0)
"""


def test_exactly_its_message_rate_is_delivered_whole_every_second(tmp_path):
    # docs/payload.md: messages are counted with a token bucket at `messages_per_s`,
    # one second of burst. An app at 1 Hz that sends exactly its rate each cycle (four
    # telemetry packets and its housekeeping, 5 a second) loses none and is never
    # throttled for it.
    with PartnerSim(make_project(tmp_path, "steady", body=AT_ITS_RATE,
                                 messages_per_s=5)) as sim:
        sim.run(4.0)
        counts = [row["count"] for row in sim.telemetry("SteadyStatus")]
        texts = [e.text for e in sim.events_of()]
        running = "steady" in sim.host.running
    cycles = sorted({c // 10 for c in counts})
    assert len(cycles) >= 3
    assert counts == [c * 10 + i for c in cycles for i in range(4)]
    assert not [t for t in texts if "throttled" in t], texts
    assert running
