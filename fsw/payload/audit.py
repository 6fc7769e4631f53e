"""The on-board audit log: who did what to which payload app, for every partner to read.

Records (installs, refusals, starts, stops, quota actions, every command to
a partner app) are appended to one file opened ``O_APPEND`` and fsync'd,
one line per record. Each record carries the SHA-256 of the previous
line, so a record removed or changed anywhere breaks the chain from there
on (`verify_chain` says where); the first record chains from 64 zeros.

The log is downlinked record by record as ``AuditRecord`` telemetry
(tm_msg_id(0x018)) and the file itself can be sent down by file transfer;
the ground reads both with `parse_line`/`verify_chain` (see
ground/audit.py). Every partner gets the whole log: transparency between
tenants is the point.

Submissions reach the audit app as its command 20 RECORD, with text
fields ``actor|action|app|detail`` (see `encode_submission`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from fsw.core.app import COMMAND_HEADER
from fsw.core.ids import AUDIT_RECORD_APID
from fsw.core.message import Field, MessageType, tm_msg_id

GENESIS = "0" * 64
FC_RECORD = 20
MAX_FIELD = 200

AUDIT_RECORD_MSG = MessageType("AuditRecord", tm_msg_id(AUDIT_RECORD_APID), [
    Field("seq", "I", doc="record number since the log was created"),
    Field("time_s", "d", "s", "mission time"),
    Field("actor", "16s", doc="key holder: operator or a partner, or 'onboard'"),
    Field("action", "16s"),
    Field("app", "16s"),
    Field("detail", "80s", doc="UTF-8, NUL padded, cut at 80 bytes"),
    Field("chain", "8s", doc="first 8 octets of the SHA-256 of the record line"),
], doc="One audit log record, downlinked for every partner")


class AuditError(ValueError):
    """An audit line or chain that does not check out."""


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    time_s: float
    actor: str
    action: str
    app: str
    detail: str
    prev: str

    def line(self) -> bytes:
        return json.dumps({"seq": self.seq, "t": round(self.time_s, 3), "actor": self.actor,
                           "action": self.action, "app": self.app, "detail": self.detail,
                           "prev": self.prev}, sort_keys=True, separators=(",", ":")).encode()


def parse_line(line: bytes) -> AuditRecord:
    """One record from one line of the log file."""
    try:
        d = json.loads(line)
        return AuditRecord(int(d["seq"]), float(d["t"]), str(d["actor"]), str(d["action"]),
                           str(d["app"]), str(d["detail"]), str(d["prev"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditError(f"not an audit record: {exc}") from None


def verify_chain(lines: list[bytes]) -> list[AuditRecord]:
    """Parse and check a whole log; AuditError names the first broken record."""
    prev = GENESIS
    out = []
    for i, line in enumerate(lines):
        rec = parse_line(line)
        if rec.prev != prev or rec.seq != i:
            raise AuditError(f"record {i}: chain broken (removed, reordered or changed)")
        prev = hashlib.sha256(line).hexdigest()
        out.append(rec)
    return out


class AuditLog:
    """Append-only, hash-chained record file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.seq = 0
        self.prev = GENESIS
        if self.path.exists():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                # a power cut tore the last record while it was written: it never
                # returned, so it is not part of the log; cut it before appending
                keep = data.rfind(b"\n") + 1
                with open(self.path, "r+b") as fh:
                    fh.truncate(keep)
                    os.fsync(fh.fileno())
                data = data[:keep]
            for line in data.splitlines():
                self.seq += 1
                self.prev = hashlib.sha256(line).hexdigest()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, time_s: float, actor: str, action: str, app: str,
               detail: str) -> tuple[AuditRecord, str]:
        """Append one record durably; return it and its line's hash."""
        rec = AuditRecord(self.seq, time_s, actor[:MAX_FIELD], action[:MAX_FIELD],
                          app[:MAX_FIELD], detail[:MAX_FIELD], self.prev)
        line = rec.line()
        os.write(self._fd, line + b"\n")
        os.fsync(self._fd)
        self.seq += 1
        self.prev = hashlib.sha256(line).hexdigest()
        return rec, self.prev

    def lines(self) -> list[bytes]:
        return self.path.read_bytes().splitlines()

    def close(self) -> None:
        os.close(self._fd)


def encode_submission(actor: str, action: str, app: str, detail: str) -> bytes:
    """The bus command that asks the audit app to append one record."""
    text = "|".join(s.replace("|", "/") for s in (actor, action, app, detail))
    return COMMAND_HEADER.pack(0, FC_RECORD) + text.encode()[:900]


def decode_submission(body: bytes) -> dict[str, str]:
    """Arguments of command 20 RECORD; ValueError when malformed."""
    parts = body.decode("utf-8", "replace").split("|", 3)
    if len(parts) != 4:
        raise ValueError("a record is actor|action|app|detail")
    return dict(zip(("actor", "action", "app", "detail"), parts, strict=True))
