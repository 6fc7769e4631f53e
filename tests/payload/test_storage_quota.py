"""The private directory's quota, bytes and files, held by the host on every write.

Hostile apps try to fill the disk: straight to the file system (refused by the
sandbox: no file may grow, no file may be opened for writing), then through the
SDK as fast as they can, in big files and in many small ones. Each write past the
quota fails in the app with StorageQuotaError saying which quota and by how much;
the host raises an event and an audit record; the directories never hold more than
their quotas; another partner's app keeps writing, reading and publishing.
"""

from __future__ import annotations

import os
import sys

import pytest

from fsw.payload.audit import verify_chain
from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

FILLER = """
from fsw.payload import PayloadApp, StorageQuotaError

class App(PayloadApp):
    def init(self):
        self.n = 0
        self.full = False
        for how in ("create", "append"):
            try:
                with open("direct.bin", "wb" if how == "create" else "ab") as fh:
                    fh.write(b"x" * 1_000_000)
                self.event(f"direct {how} allowed")
            except OSError as exc:
                self.event(f"direct {how} denied: {exc.strerror}")

    def execute(self):
        for _ in range(50):                          # as fast as the bridge goes
            try:
                self.storage.write_bytes(f"f{self.n}", b"\\xab" * SIZE)
            except StorageQuotaError as exc:
                if not self.full:
                    self.full = True
                    self.event(f"full after {self.n} files: {exc}")
                break
            self.n += 1
        self.publish(TM, count=self.n, value=self.storage.used_bytes())
"""

GOOD = """
from fsw.payload import PayloadApp

class App(PayloadApp):
    def init(self):
        self.count = 0

    def execute(self):
        self.count += 1
        self.storage.write_bytes("log", str(self.count).encode() * 100)
        back = int(self.storage.read_bytes("log")[:len(str(self.count))])
        self.publish(TM, count=back, value=self.storage.used_bytes())
"""


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    root = tmp_path_factory.mktemp("quota")
    projects = [
        make_project(root, "bigfill", apid=0x100, storage_kib=64,
                     body="SIZE = 4000\n" + FILLER),
        make_project(root, "manyfill", apid=0x102, storage_kib=64, storage_files=10,
                     body="SIZE = 10\n" + FILLER),
        make_project(root, "good", partner="uni-b", apid=0x110, storage_kib=64, body=GOOD,
                     rate_hz=2),
    ]
    sim = PartnerSim(projects)
    try:  # a failure here must not leave the started apps running
        sim.boot()
        sim.run(6.0)
    except BaseException:
        sim.close()
        raise
    yield sim
    sim.close()


def texts(sim):
    return [e.text for e in sim.events_of()]


def usage(folder):
    files = [p for p in folder.rglob("*")]
    return sum(p.stat().st_size for p in files if p.is_file()), len(files)


def test_writes_straight_to_the_file_system_are_refused(flight):
    t = texts(flight)
    for how in ("create", "append"):
        assert sum(x.startswith(f"direct {how} denied") for x in t) == 2, t
        assert f"direct {how} allowed" not in t


def test_writes_past_the_byte_quota_fail_in_the_app_with_the_reason(flight):
    t = texts(flight)
    # 16 files of 4000 B fit in 64 KiB; the 17th would make 68000 B
    assert "full after 16 files: [Errno 122] f16: 68000 B over its quota of 65536 B" in t, t
    used, _files = usage(flight.workdir / "payload" / "data" / "bigfill")
    assert used == 16 * 4000
    assert flight.telemetry("BigfillStatus")[-1]["value"] == 16 * 4000


def test_writes_past_the_file_quota_fail_in_the_app_with_the_reason(flight):
    t = texts(flight)
    assert "full after 10 files: [Errno 122] f10: 11 files over its quota of 10" in t, t
    _used, files = usage(flight.workdir / "payload" / "data" / "manyfill")
    assert files == 10


def test_the_host_reports_each_refusal_with_an_event_and_an_audit_record(flight):
    t = texts(flight)
    assert any(x.startswith("bigfill: storage write of f16 refused: 68000 B over its quota")
               for x in t), t
    assert any(x.startswith("manyfill: storage write of f10 refused: 11 files over its quota")
               for x in t), t
    records = verify_chain((flight.workdir / "audit.log").read_bytes().splitlines())
    quota = {(r.app, r.action) for r in records if r.action == "quota"}
    assert quota == {("bigfill", "quota"), ("manyfill", "quota")}
    # refused, not stopped: the apps go on within their quotas
    assert {"bigfill", "manyfill", "good"} <= set(flight.host.running)


def test_another_partner_keeps_writing_reading_and_publishing(flight):
    good = flight.telemetry("GoodStatus")
    assert len(good) >= 10  # 2 Hz for 6 s, started after the others
    assert [v["count"] for v in good] == list(range(1, len(good) + 1))  # every write read back
    assert not [x for x in texts(flight)
                if x.startswith(("good: storage", "good stopped", "good crashed"))]


def test_the_app_cannot_read_or_list_the_hosts_copy_directly(flight):
    data = flight.workdir / "payload" / "data" / "bigfill"
    if os.geteuid() == 0:  # apps have user ids of their own: the folder is the host's
        assert data.stat().st_uid == 0 and data.stat().st_mode & 0o777 == 0o700
