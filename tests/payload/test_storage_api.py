"""Every storage operation an app has, at the edges of its quota, as docs/payload.md states it.

An app's files are kept by the host: a write is checked against the quota of the
manifest (`storage_kib` KiB, `storage_files` files) as the directory would be after
it, so a file that exactly fills the quota fits, a file replaced frees its old
content, and one octet more is refused with the reason. The SDK's calls (write,
read, exists, remove, usage) and the same requests written as raw STORAGE frames
(as a partner's code may) get the documented answers. The app writes what it got
into a file of its own, which the test reads from the host's disk.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from ground.payload import PartnerSim
from tests.payload.kit import make_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

PROBE = """
import json
from fsw.payload import PayloadApp, StorageQuotaError, on_command
from fsw.payload.bridge import Kind, decode_storage, encode_storage

class App(PayloadApp):

    def raw(self, head, data=b""):
        reply, payload = decode_storage(self._link.request(Kind.STORAGE,
                                                           encode_storage(head, data),
                                                           Kind.STORAGE_REPLY))
        return {"head": reply, "data": payload[:8].hex(), "length": len(payload)}

    @on_command("SET_VALUE")  # the test's go, once the folder below is there
    def probe(self, value):
        s, got = self.storage, {}
        s.write_bytes("a", b"x" * 1024)            # exactly the 1 KiB quota
        got["exact"] = s.read_bytes("a") == b"x" * 1024
        s.write_bytes("a", b"y" * 1024)            # replaced: its old content is freed
        got["replaced"] = s.read_bytes("a") == b"y" * 1024
        try:
            s.write_bytes("b", b"z")               # one octet past the quota
            got["one more"] = "written"
        except StorageQuotaError as exc:
            got["one more"] = f"refused: {exc}"
        got["usage"] = [s.used_bytes(), s.used_files()]
        got["exists"] = [s.exists("a"), s.exists("b")]
        got["raw exists"] = self.raw({"op": "exists", "name": "a"})
        got["raw read without offset"] = self.raw({"op": "read", "name": "a"})
        s.remove("a")
        got["after remove"] = [s.exists("a"), s.used_bytes(), s.used_files()]
        got["raw write"] = self.raw({"op": "write", "name": "c", "size": 2, "offset": 0}, b"ok")
        got["raw remove"] = self.raw({"op": "remove", "name": "c"})
        s.write_bytes("answers.json", json.dumps(got).encode())
        self.event("answers written")
"""


def test_every_storage_operation_answers_as_documented_at_the_quotas_edge(tmp_path,
                                                                         monkeypatch):
    # A file is renamed into place only once its content is on the disk (fsync), so a
    # power cut leaves the old content or the new, never a file the rename made empty.
    synced: set[str] = set()
    renames: list[str] = []
    unsynced_renames: list[str] = []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        synced.add(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    def spy_replace(src: os.PathLike, dst: os.PathLike) -> None:
        if "/data/keeper/" in str(dst):
            renames.append(Path(dst).name)
            if str(src) not in synced:
                unsynced_renames.append(str(dst))
        synced.discard(str(src))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    project = make_project(tmp_path, "keeper", body=PROBE, storage_kib=1)
    with PartnerSim(project) as sim:
        # a folder that arrived some other way (by hand) counts as a file, of no octets
        (sim.workdir / "payload" / "data" / "keeper" / "sub").mkdir()
        assert sim.command("SET_VALUE", value=1.0)
        answers = json.loads((sim.workdir / "payload" / "data" / "keeper" /
                              "answers.json").read_bytes())
    assert answers["exact"] is True
    assert answers["replaced"] is True
    assert answers["one more"] == "refused: [Errno 122] b: 1025 B over its quota of 1024 B"
    assert answers["usage"] == [1024, 2]
    assert answers["exists"] == [True, False]
    # answers carry data only where the operation reads it
    no_data = {"data": "", "length": 0}
    assert answers["raw exists"] == {"head": {"ok": True, "exists": True}, **no_data}
    read = answers["raw read without offset"]  # from the start of the file
    assert read == {"head": {"ok": True, "size": 1024}, "data": (b"y" * 8).hex(),
                    "length": 1024}
    assert answers["after remove"] == [False, 0, 1]
    assert answers["raw write"] == {"head": {"ok": True}, **no_data}
    assert answers["raw remove"] == {"head": {"ok": True}, **no_data}
    assert renames == ["a", "a", "c", "answers.json"]
    assert unsynced_renames == []
