"""CFDP class 2 (acknowledged) transactions: the sending and receiving ends.

Shared by the ground (sending bundles up) and the spacecraft (receiving
them, or sending files down). Neither end owns a link or a clock: the
caller hands in received PDUs with the time (`receive`) and asks for what
to send within a byte budget (`poll`), so the same code runs on a radio in
passes, in a simulation, or in a test. Procedures follow CCSDS 727.0-B-5
sec. 4.6 (acknowledged mode):

- the sender sends Metadata, the file in File Data PDUs, then EOF with the
  modular checksum and size, and repeats EOF every `ack_timer_s` until the
  receiver's ACK(EOF);
- the receiver writes each segment at its offset, ACKs every EOF, and while
  anything is missing sends a NAK listing the gaps (0-0 for lost
  Metadata), again every `nak_timer_s`; the sender retransmits what a NAK
  lists, before any new data;
- once the file is whole the receiver checks the checksum and sends
  Finished (complete and retained, or a checksum failure and discarded),
  repeated every `ack_timer_s` until the sender's ACK(Finished).

Resumable across passes: the receiver keeps the partial file and its state
(received ranges, metadata, EOF) on disk, rewritten after each change with
an atomic rename, so a transfer that stops when the link closes (or the
computer reboots) carries on in the next pass; the sender's state is a few
numbers (`Sender.state_dict`).
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fsw.protocol.cfdp import (
    Ack,
    CfdpError,
    Condition,
    DeliveryCode,
    Directive,
    Eof,
    FileData,
    FileStatus,
    Finished,
    Header,
    Metadata,
    Nak,
    Pdu,
    TransactionStatus,
    decode_pdu,
    encode_pdu,
    modular_checksum,
)

MAX_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class EntityConfig:
    """Timers in seconds of whatever clock the caller passes in; sizes in octets."""

    entity_id: int
    segment_bytes: int = 200
    ack_timer_s: float = 8.0
    nak_timer_s: float = 8.0
    ack_limit: int = 100_000
    crc: bool = True
    max_nak_segments: int = 48


def merge(ranges: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """Add [start, end) to sorted, disjoint, non-touching ranges."""
    out: list[tuple[int, int]] = []
    placed = False
    for a, b in ranges:
        if b < start:
            out.append((a, b))
        elif end < a:
            if not placed:
                out.append((start, end))
                placed = True
            out.append((a, b))
        else:
            start, end = min(a, start), max(b, end)
    if not placed:
        out.append((start, end))
    return sorted(out)


def gaps(ranges: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """The parts of [0, size) not covered by `ranges`."""
    out = []
    pos = 0
    for a, b in ranges:
        if a > pos:
            out.append((pos, min(a, size)))
        pos = max(pos, b)
    if pos < size:
        out.append((pos, size))
    return [(a, b) for a, b in out if a < b]


class Sender:
    """The sending end of one class 2 transaction."""

    def __init__(self, cfg: EntityConfig, dest_id: int, seq_num: int, data: bytes,
                 source_name: str, dest_name: str) -> None:
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"file of {len(data)} octets is over {MAX_FILE_BYTES}")
        self.cfg = cfg
        self.header = Header(cfg.entity_id, dest_id, seq_num, crc=cfg.crc)
        self.data = data
        self.source_name = source_name.encode()
        self.dest_name = dest_name.encode()
        self.checksum = modular_checksum(data)
        self.next_offset = 0
        self.metadata_sent = False
        self.eof_sent_at: float | None = None
        self.eof_acked = False
        self.finished: Finished | None = None
        self.ack_finished_due = False
        self.resend: deque[tuple[int, int]] = deque()
        self.resend_metadata = False
        self.eof_sends = 0
        self.pdus_sent = 0
        self.octets_sent = 0

    @property
    def done(self) -> bool:
        """The receiver reported Finished and it was acknowledged."""
        return self.finished is not None and not self.ack_finished_due

    @property
    def delivered(self) -> bool:
        return self.finished is not None and self.finished.condition == Condition.NO_ERROR \
            and self.finished.delivery == DeliveryCode.COMPLETE

    def _chunk(self, start: int, end: int) -> FileData:
        return FileData(self.header, start, self.data[start:end])

    def poll(self, now: float, budget_octets: int) -> list[bytes]:
        """PDUs to send now, at most `budget_octets` in all."""
        out: list[bytes] = []
        spent = 0

        def room(raw: bytes) -> bool:
            nonlocal spent
            if spent + len(raw) > budget_octets:
                return False
            out.append(raw)
            spent += len(raw)
            return True

        if self.ack_finished_due:
            if not room(encode_pdu(Ack(self.header, Directive.FINISHED, Condition.NO_ERROR,
                                       TransactionStatus.TERMINATED))):
                return self._sent(out)
            self.ack_finished_due = False
        if self.finished is not None:
            return self._sent(out)
        if not self.metadata_sent or self.resend_metadata:
            raw = encode_pdu(Metadata(self.header, len(self.data), self.source_name,
                                      self.dest_name, closure_requested=True))
            if not room(raw):
                return self._sent(out)
            self.metadata_sent, self.resend_metadata = True, False
        seg = self.cfg.segment_bytes
        while self.resend:
            a, b = self.resend[0]
            end = min(b, a + seg)
            if not room(encode_pdu(self._chunk(a, end))):
                return self._sent(out)
            self.resend.popleft()
            if end < b:
                self.resend.appendleft((end, b))
        while self.next_offset < len(self.data):
            end = min(len(self.data), self.next_offset + seg)
            if not room(encode_pdu(self._chunk(self.next_offset, end))):
                return self._sent(out)
            self.next_offset = end
        if not self.eof_acked and (self.eof_sent_at is None or
                                   now - self.eof_sent_at >= self.cfg.ack_timer_s):
            if self.eof_sends >= self.cfg.ack_limit:
                return self._sent(out)
            if room(encode_pdu(Eof(self.header, self.checksum, len(self.data)))):
                self.eof_sent_at = now
                self.eof_sends += 1
        return self._sent(out)

    def _sent(self, out: list[bytes]) -> list[bytes]:
        self.pdus_sent += len(out)
        self.octets_sent += sum(map(len, out))
        return out

    def receive(self, raw: bytes, now: float) -> None:
        """Handle a PDU from the receiver (ACK of EOF, NAK, Finished); others are ignored."""
        pdu = decode_pdu(raw)
        if (pdu.header.source_id, pdu.header.seq_num) != (self.header.source_id,
                                                          self.header.seq_num):
            return
        if isinstance(pdu, Ack) and pdu.acked == Directive.EOF:
            self.eof_acked = True
        elif isinstance(pdu, Nak):
            for a, b in pdu.segments:
                if a == 0 and b == 0:
                    self.resend_metadata = True
                elif 0 <= a < b <= len(self.data) and (a, b) not in self.resend:
                    self.resend.append((a, b))
        elif isinstance(pdu, Finished):
            self.finished = pdu
            self.ack_finished_due = True

    def state_dict(self) -> dict:
        """What to keep to resume after a restart of the sending program."""
        return {"next_offset": self.next_offset, "eof_acked": self.eof_acked,
                "resend": list(self.resend), "metadata_sent": self.metadata_sent}


@dataclass
class _Incoming:
    header: Header
    part: Path
    received: list[tuple[int, int]]
    file_size: int | None = None
    dest_name: str = ""
    eof_checksum: int | None = None
    eof_size: int | None = None
    finished: Finished | None = None
    finished_sent_at: float | None = None
    finished_acked: bool = False
    nak_sent_at: float | None = None
    ack_eof_due: bool = False


class Receiver:
    """The receiving end: any number of transactions, each kept on disk until done.

    `accept_name(dest_name)` says where a finished file goes (a Path) or
    refuses it (None: the file is discarded, Finished says filestore
    rejection). `on_file(path)` is called once per delivered file.
    """

    def __init__(self, cfg: EntityConfig, work_dir: str | Path,
                 accept_name: Callable[[str], Path | None],
                 on_file: Callable[[Path], None] | None = None) -> None:
        self.cfg = cfg
        self.dir = Path(work_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.accept_name = accept_name
        self.on_file = on_file
        self.transactions: dict[tuple[int, int], _Incoming] = {}
        self.rejected_pdus = 0
        self._load()

    # -- persistence -------------------------------------------------------------------
    def _state_path(self, key: tuple[int, int]) -> Path:
        return self.dir / f"{key[0]}-{key[1]}.json"

    def _save(self, t: _Incoming) -> None:
        key = (t.header.source_id, t.header.seq_num)
        state = {"header": {k: getattr(t.header, k) for k in t.header.__dataclass_fields__},
                 "received": t.received, "file_size": t.file_size, "dest_name": t.dest_name,
                 "eof_checksum": t.eof_checksum, "eof_size": t.eof_size,
                 "finished": None if t.finished is None else
                 [int(t.finished.condition), int(t.finished.delivery), int(t.finished.status)],
                 "finished_acked": t.finished_acked}
        path = self._state_path(key)
        tmp = path.with_suffix(".new")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, path)

    def _load(self) -> None:
        for path in sorted(self.dir.glob("*.json")):
            try:
                s = json.loads(path.read_text())
                h = Header(**s["header"])
                t = _Incoming(h, self.dir / f"{h.source_id}-{h.seq_num}.part",
                              [tuple(r) for r in s["received"]], s["file_size"],
                              s["dest_name"], s["eof_checksum"], s["eof_size"])
                if s["finished"] is not None:
                    c, d, st = s["finished"]
                    t.finished = Finished(h.replace(toward_sender=True), Condition(c),
                                          DeliveryCode(d), FileStatus(st))
                t.finished_acked = s["finished_acked"]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged state file: the sender's NAK-driven resend rebuilds it
            self.transactions[(h.source_id, h.seq_num)] = t

    # -- PDUs in -------------------------------------------------------------------------
    def receive(self, raw: bytes, now: float) -> None:
        """Handle one PDU from a sender. Malformed PDUs are counted and dropped."""
        try:
            pdu = decode_pdu(raw)
        except CfdpError:
            self.rejected_pdus += 1
            return
        h = pdu.header
        if h.dest_id != self.cfg.entity_id or h.toward_sender or not h.acknowledged:
            self.rejected_pdus += 1
            return
        key = (h.source_id, h.seq_num)
        t = self.transactions.get(key)
        if t is None:
            if isinstance(pdu, Ack):
                return
            t = _Incoming(h, self.dir / f"{key[0]}-{key[1]}.part", [])
            self.transactions[key] = t
        self._handle(t, pdu, now)

    def _handle(self, t: _Incoming, pdu: Pdu, now: float) -> None:
        if isinstance(pdu, Metadata):
            if t.file_size is None:
                if pdu.file_size > MAX_FILE_BYTES:
                    self._finish(t, Condition.FILE_SIZE_ERROR, now)
                    return
                t.file_size = pdu.file_size
                t.dest_name = pdu.dest_name.decode("utf-8", "replace")
                self._save(t)
        elif isinstance(pdu, FileData):
            if t.finished is not None:
                return
            end = pdu.offset + len(pdu.data)
            if end > MAX_FILE_BYTES or (t.file_size is not None and end > t.file_size):
                self.rejected_pdus += 1
                return
            with open(t.part, "r+b" if t.part.exists() else "wb") as fh:
                fh.seek(pdu.offset)
                fh.write(pdu.data)
            t.received = merge(t.received, pdu.offset, end) if pdu.data else t.received
            self._save(t)
        elif isinstance(pdu, Eof):
            t.ack_eof_due = True
            if t.eof_size is None:
                t.eof_checksum, t.eof_size = pdu.checksum, pdu.file_size
                self._save(t)
            t.nak_sent_at = None  # NAK now: the sender has said everything once
        elif isinstance(pdu, Ack) and pdu.acked == Directive.FINISHED:
            t.finished_acked = True
            self._save(t)
            return
        self._maybe_complete(t, now)

    def _missing(self, t: _Incoming) -> list[tuple[int, int]]:
        size = t.eof_size if t.eof_size is not None else t.file_size
        missing = [] if t.file_size is not None else [(0, 0)]
        if size is not None:
            missing += gaps(t.received, size)
        return missing

    def _maybe_complete(self, t: _Incoming, now: float) -> None:
        if t.finished is not None or t.eof_size is None or self._missing(t):
            return
        if t.file_size is not None and t.file_size != t.eof_size:
            self._finish(t, Condition.FILE_SIZE_ERROR, now)
            return
        data = t.part.read_bytes()[:t.eof_size] if t.part.exists() else b""
        if modular_checksum(data) != t.eof_checksum:
            self._finish(t, Condition.FILE_CHECKSUM_FAILURE, now)
            return
        target = self.accept_name(t.dest_name)
        if target is None:
            self._finish(t, Condition.FILESTORE_REJECTION, now)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        self._finish(t, Condition.NO_ERROR, now)
        if self.on_file is not None:
            self.on_file(target)

    def _finish(self, t: _Incoming, condition: Condition, now: float) -> None:
        ok = condition == Condition.NO_ERROR
        status = FileStatus.RETAINED if ok else (
            FileStatus.DISCARDED_FILESTORE_REJECTION if condition ==
            Condition.FILESTORE_REJECTION else FileStatus.DISCARDED_DELIBERATELY)
        t.finished = Finished(t.header.replace(toward_sender=True), condition,
                              DeliveryCode.COMPLETE if ok else DeliveryCode.INCOMPLETE, status)
        t.finished_sent_at = None
        if t.part.exists():
            t.part.unlink()
        self._save(t)

    # -- PDUs out ------------------------------------------------------------------------
    def poll(self, now: float, budget_octets: int) -> list[bytes]:
        """ACKs, NAKs and Finished PDUs due now, at most `budget_octets` in all."""
        out: list[bytes] = []
        spent = 0
        for t in list(self.transactions.values()):
            back = t.header.replace(toward_sender=True)
            due: list[tuple[str, bytes]] = []
            if t.ack_eof_due:
                due.append(("ack", encode_pdu(Ack(back, Directive.EOF))))
            if t.finished is not None:
                if not t.finished_acked and (t.finished_sent_at is None or
                                             now - t.finished_sent_at >= self.cfg.ack_timer_s):
                    due.append(("finished", encode_pdu(t.finished)))
            elif t.eof_size is not None and (t.nak_sent_at is None or
                                             now - t.nak_sent_at >= self.cfg.nak_timer_s):
                missing = self._missing(t)
                if missing:
                    # as many gaps as fit what is left of the budget after the
                    # PDUs before it, this transaction's ACK included (at least one)
                    empty = len(encode_pdu(Nak(back, 0, t.eof_size, ())))
                    left = budget_octets - spent - sum(len(raw) for _, raw in due)
                    fit = max(1, (left - empty) // (2 * back.fss))
                    segs = tuple(missing[:min(fit, self.cfg.max_nak_segments)])
                    due.append(("nak", encode_pdu(Nak(back, 0, t.eof_size, segs))))
            for kind, raw in due:
                if spent + len(raw) > budget_octets:
                    return out
                out.append(raw)
                spent += len(raw)
                if kind == "ack":
                    t.ack_eof_due = False
                elif kind == "finished":
                    t.finished_sent_at = now
                else:
                    t.nak_sent_at = now
        return out

    def forget_finished(self) -> None:
        """Drop the records of transactions whose Finished was acknowledged."""
        for key, t in list(self.transactions.items()):
            if t.finished is not None and t.finished_acked:
                self._state_path(key).unlink(missing_ok=True)
                del self.transactions[key]
