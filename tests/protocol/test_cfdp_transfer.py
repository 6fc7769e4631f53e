"""CFDP class 2 transfers between the ground sender and the spacecraft's file transfer app."""

from __future__ import annotations

import itertools
import os
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.apps.file_transfer import FILE_PDU_MSG_ID, FileTransferApp
from fsw.core import AppSpec, Executive, VirtualClock
from fsw.core.message import cmd_msg_id
from fsw.protocol import cfdp
from fsw.protocol.cfdp_entity import EntityConfig, Receiver, Sender, gaps, merge
from ground.file_transfer import FileUplink, PassPlan, fly_passes


class Spacecraft:
    """The executive with the file transfer app, rebuilt from disk on `reboot`."""

    def __init__(self, root):
        self.root = root
        self.boot()

    def boot(self):
        self.exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
        self.exe.add_app(AppSpec("file_transfer", FileTransferApp, 10.0, {
            "incoming": str(self.root / "incoming"), "work_dir": str(self.root / "cfdp"),
            "downlink_bytes_per_cycle": 120}))
        self.exe.boot()
        self.down = self.exe.bus.create_pipe("test.down", 4096)
        self.exe.bus.subscribe(self.down, FILE_PDU_MSG_ID)

    def reboot(self, _k=None):
        self.exe.shutdown()
        self.boot()

    def up(self, cmd, t):
        self.exe.bus.publish(cmd_msg_id(0x016), cmd)

    def down_pdus(self, t, budget):
        self.exe.run(0.5)
        out = []
        for _mid, pdu in self.down.drain():
            out.append(pdu)
        return out


def test_200_kib_bundle_crosses_three_passes_at_9600_bps_with_10_percent_loss(tmp_path):
    data = random.Random(7).randbytes(200 * 1024)
    sc = Spacecraft(tmp_path)
    uplink = FileUplink(data, "hello.bundle")
    plan = PassPlan(duration_s=80.0, period_s=5400.0, count=3, bit_rate=9600, frame_loss=0.10)
    seen_parts = []
    rep = fly_passes(uplink, sc.up, sc.down_pdus, plan, seed=3,
                     between_passes=lambda k: (seen_parts.append(
                         (tmp_path / "incoming" / "hello.bundle").exists()), sc.reboot()))
    assert rep.completed_in_pass == 2, rep  # it needed all three passes
    assert seen_parts == [False, False]  # nothing half-done was ever delivered
    assert (tmp_path / "incoming" / "hello.bundle").read_bytes() == data
    assert uplink.sender.delivered
    assert rep.pdus_up_lost >= 0.05 * rep.pdus_up  # the loss really happened (downlink loss:
    # the property test below loses answers too)
    assert any("hello.bundle received (204800 octets)" in e.text
               for e in sc.exe.events.recent)


def transfer(data, loss, seed, max_steps=20000, segment=64):
    """Sender and Receiver joined by a lossy link; returns (sender, received bytes)."""
    rng = random.Random(seed)
    got = {}
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        rx = Receiver(EntityConfig(1, ack_timer_s=2, nak_timer_s=2), d,
                      lambda name: __import__("pathlib").Path(d) / "out" / name,
                      lambda p: got.setdefault("data", p.read_bytes()))
        tx = Sender(EntityConfig(2, segment_bytes=segment, ack_timer_s=2), 1, 9, data, "a", "f")
        t = 0.0
        for _ in range(max_steps):
            for pdu in tx.poll(t, 600):
                if rng.random() >= loss:
                    rx.receive(pdu, t)
            for pdu in rx.poll(t, 600):
                if rng.random() >= loss:
                    tx.receive(pdu, t)
            if tx.done:
                break
            t += 0.5
    return tx, got.get("data")


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=3000), st.floats(0.0, 0.5), st.integers(0, 2**32))
def test_any_file_arrives_intact_over_any_loss(data, loss, seed):
    tx, got = transfer(data, loss, seed)
    assert tx.done and tx.delivered
    assert got == data


def test_corrupted_file_is_reported_as_a_checksum_failure(tmp_path):
    rx = Receiver(EntityConfig(1), tmp_path, lambda n: tmp_path / "out" / n)
    tx = Sender(EntityConfig(2, segment_bytes=50), 1, 1, os.urandom(500), "a", "f")
    tx.checksum ^= 1
    t = 0.0
    while not tx.done and t < 100:
        for pdu in tx.poll(t, 10_000):
            rx.receive(pdu, t)
        for pdu in rx.poll(t, 10_000):
            tx.receive(pdu, t)
        t += 1
    assert tx.finished.condition == cfdp.Condition.FILE_CHECKSUM_FAILURE
    assert tx.finished.status == cfdp.FileStatus.DISCARDED_DELIBERATELY
    assert not (tmp_path / "out" / "f").exists()


def test_unsafe_destination_names_are_refused(tmp_path):
    sc = Spacecraft(tmp_path)
    uplink = FileUplink(b"x" * 300, "../../etc/passwd")
    rep = fly_passes(uplink, sc.up, sc.down_pdus, PassPlan(frame_loss=0.0, count=1))
    assert rep.completed_in_pass == 0
    assert uplink.sender.finished.condition == cfdp.Condition.FILESTORE_REJECTION
    assert not list((tmp_path / "incoming").glob("*"))


def test_malformed_pdus_are_refused_and_the_app_runs_on(tmp_path):
    sc = Spacecraft(tmp_path)
    for junk in (b"\x00", b"\xff" * 40, os.urandom(100)):
        sc.up(b"\0\0\0\1\x0a" + junk, 0.0)
    sc.exe.run(1.0)
    app = sc.exe.apps["file_transfer"]
    assert app.cmd_error_count >= 2 and app.cycle_error_count == 0


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100))), st.integers(0, 120))
def test_merge_and_gaps_cover_exactly_what_was_received(spans, size):
    ranges = []
    covered = set()
    for a, b in spans:
        a, b = min(a, b), max(a, b)
        if a == b:
            continue
        ranges = merge(ranges, a, b)
        covered |= set(range(a, b))
    missing = {i for a, b in gaps(ranges, size) for i in range(a, b)}
    assert missing == set(range(size)) - covered
    assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(ranges))
