"""The file transfer app (APID 0x016): the spacecraft's CFDP entity.

Uplink: every CFDP PDU from the ground arrives as command 10 PDU, whose
argument bytes are the PDU (so it is authenticated, authorised and
verified like any other command: only key holders allowed to command
APID 0x016 can send files). Files toward this entity go to the receiving
end (fsw.protocol.cfdp_entity.Receiver); finished files land in the
configured ``incoming`` directory (the payload host's ``incoming/``) under
their destination name, which must be a plain file name.

Downlink: PDUs this entity sends (ACK, NAK, Finished, and the PDUs of files
it sends down) are published on FILE_PDU_MSG_ID, at most
``downlink_bytes_per_cycle`` octets per cycle. Command 11 SEND_FILE(name)
sends a file from the ``outgoing`` directory (the audit log, say) to the
ground entity; the ground's ACK/NAK/Finished come back as command 10.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fsw.core import App, CommandError, EventDef, Field, Reason, Severity, command
from fsw.core.ids import FILE_PDU_APID, FILE_TRANSFER_APID
from fsw.core.message import tm_msg_id
from fsw.protocol.cfdp import CfdpError, decode_header
from fsw.protocol.cfdp_entity import EntityConfig, Receiver, Sender

FILE_PDU_MSG_ID = tm_msg_id(FILE_PDU_APID)
FILE_PDU_NAME = "FilePdu"
"""The name the wiring downlinks the PDUs by (each PDU one housekeeping report, SID 0x019)."""
EV_FILE_RECEIVED = EventDef(10, "FILE_RECEIVED", Severity.INFO,
                            "file {name} received ({size} octets)")
EV_FILE_SENT = EventDef(11, "FILE_SENT", Severity.INFO, "file {name} sent ({outcome})")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$")


def _raw_pdu(body: bytes) -> dict[str, bytes]:
    if not body:
        raise ValueError("empty PDU")
    return {"pdu": bytes(body)}


class FileTransferApp(App):
    NAME = "file_transfer"
    APID = FILE_TRANSFER_APID
    COMMAND_PIPE_DEPTH = 128
    HK_FIELDS = (
        Field("files_received", "H"),
        Field("files_sent", "H"),
        Field("pdus_rejected", "I"),
        Field("transactions", "B", doc="open receiving transactions"),
    )
    EVENTS = (EV_FILE_RECEIVED, EV_FILE_SENT)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        cfg = self.config
        self.entity = EntityConfig(int(cfg.get("entity_id", 1)),
                                   segment_bytes=int(cfg.get("segment_bytes", 200)),
                                   ack_timer_s=float(cfg.get("ack_timer_s", 8.0)),
                                   nak_timer_s=float(cfg.get("nak_timer_s", 8.0)))
        self.ground_id = int(cfg.get("ground_entity_id", 2))
        self.incoming = Path(cfg.get("incoming", "payload/incoming"))
        self.outgoing = Path(cfg.get("outgoing", "outgoing"))
        self.budget = int(cfg.get("downlink_bytes_per_cycle", 1200))
        self.files_received = 0
        self.files_sent = 0
        self.senders: list[Sender] = []
        self._seq = 0
        self.receiver = Receiver(self.entity, Path(cfg.get("work_dir", "cfdp")),
                                 self._accept, self._received)

    def init(self) -> None:
        self.bus.register_variable(FILE_PDU_MSG_ID, FILE_PDU_NAME)

    def _accept(self, name: str) -> Path | None:
        return self.incoming / name if SAFE_NAME.match(name) else None

    def _received(self, path: Path) -> None:
        self.files_received += 1
        self.event(EV_FILE_RECEIVED, name=path.name, size=path.stat().st_size)

    @command(10, parse=_raw_pdu)
    def pdu(self, pdu: bytes) -> None:
        """One CFDP PDU from the ground."""
        try:
            header, *_ = decode_header(pdu)
        except CfdpError as exc:
            self.receiver.rejected_pdus += 1
            raise CommandError(Reason.BAD_ARGUMENT, str(exc)) from None
        now = self.now()
        if header.toward_sender:
            for sender in self.senders:
                sender.receive(pdu, now)
        else:
            self.receiver.receive(pdu, now)

    @command(11, Field("name", "48s", doc="file in the outgoing directory"))
    def send_file(self, name: bytes) -> None:
        """Send a file down to the ground entity (class 2)."""
        fname = name.rstrip(b"\0").decode("ascii", "replace")
        path = self.outgoing / fname
        if not SAFE_NAME.match(fname) or not path.is_file():
            raise CommandError(Reason.BAD_ARGUMENT, f"no file {fname!r} to send")
        self._seq += 1
        self.senders.append(Sender(self.entity, self.ground_id, self._seq, path.read_bytes(),
                                   fname, fname))

    def execute(self) -> None:
        receiving = bool(self.receiver.transactions)
        if not receiving and not self.senders:
            return  # idle, as nearly every cycle is: no transaction, no timer to serve
        now = self.now()
        budget = self.budget
        if receiving:
            for raw in self.receiver.poll(now, budget):
                budget -= len(raw)
                self.bus.publish(FILE_PDU_MSG_ID, raw)
        for sender in list(self.senders):
            for raw in sender.poll(now, budget):
                budget -= len(raw)
                self.bus.publish(FILE_PDU_MSG_ID, raw)
            if sender.done:
                self.senders.remove(sender)
                self.files_sent += 1
                self.event(EV_FILE_SENT, name=sender.dest_name.decode(),
                           outcome="delivered" if sender.delivered else "not delivered")
        if receiving:
            self.receiver.forget_finished()

    def housekeeping_values(self) -> Mapping[str, Any]:
        return {"files_received": min(self.files_received, 0xFFFF),
                "files_sent": min(self.files_sent, 0xFFFF),
                "pdus_rejected": self.receiver.rejected_pdus & 0xFFFFFFFF,
                "transactions": min(len(self.receiver.transactions), 0xFF)}
