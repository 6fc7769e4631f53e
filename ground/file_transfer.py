"""Ground end of file transfer: send a file (a payload bundle) up by CFDP class 2 over passes.

`FileUplink` is the ground's sending entity (fsw.protocol.cfdp_entity.Sender)
with the framing the spacecraft expects: each PDU travels as command 10 PDU
to the file transfer app (APID 0x016), so it is authenticated and authorised
like every other command. The spacecraft's answers (ACK, NAK, Finished)
come down on the FILE_PDU telemetry id and go to `FileUplink.receive`.

`fly_passes` runs a transfer over a radio that is open only in passes, with
a given bit rate and frame loss in both directions: the same procedure the
`tessera` tools use, and what the three-pass test and benchmark measure.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from fsw.core.app import COMMAND_HEADER
from fsw.protocol.cfdp_entity import EntityConfig, Sender

FC_PDU = 10
# Octets a PDU costs on the uplink besides itself: TC frame header 5, segment
# header 1, SDLS security header 6 and MAC 16, FECF 2 (CCSDS 232.0-B, 355.0-B),
# Space Packet primary header 6, PUS-C TC secondary header 5, packet error
# control 2, bus command header 5 (request id, function code).
UPLINK_OVERHEAD = 5 + 1 + 6 + 16 + 2 + 6 + 5 + 2 + 5
# Downlink: TM frame of the comms app (fixed 256 octets, several packets per
# frame): a PDU costs its own octets plus its packet headers, PUS-C TM
# secondary header 11 (with time), about 30 in all.
DOWNLINK_OVERHEAD = 30


class FileUplink:
    """The ground's CFDP sender for one file."""

    def __init__(self, data: bytes, dest_name: str, *, ground_id: int = 2,
                 spacecraft_id: int = 1, seq_num: int = 1, segment_bytes: int = 800,
                 ack_timer_s: float = 8.0) -> None:
        cfg = EntityConfig(ground_id, segment_bytes=segment_bytes, ack_timer_s=ack_timer_s)
        self.sender = Sender(cfg, spacecraft_id, seq_num, data, dest_name, dest_name)

    def commands(self, now: float, budget_octets: int, request_id: int = 0) -> list[bytes]:
        """Bus command payloads (for APID 0x016) carrying the PDUs due now."""
        return [COMMAND_HEADER.pack(request_id, FC_PDU) + pdu
                for pdu in self.sender.poll(now, budget_octets)]

    def receive(self, pdu: bytes, now: float) -> None:
        self.sender.receive(pdu, now)

    @property
    def done(self) -> bool:
        return self.sender.done


@dataclass
class PassPlan:
    """Contact windows: `count` passes of `duration_s`, one every `period_s`."""

    duration_s: float = 90.0
    period_s: float = 5400.0
    count: int = 3
    bit_rate: float = 9600.0
    frame_loss: float = 0.10
    step_s: float = 0.5

    def window(self, t_s: float) -> int | None:
        """Index of the pass open at `t_s`, or None."""
        k = int(t_s // self.period_s)
        return k if k < self.count and t_s - k * self.period_s < self.duration_s else None


@dataclass
class PassReport:
    completed_in_pass: int | None = None
    pdus_up: int = 0
    pdus_up_lost: int = 0
    pdus_down: int = 0
    pdus_down_lost: int = 0
    octets_up: int = 0
    per_pass_octets: list[int] = field(default_factory=list)


def fly_passes(uplink: FileUplink, deliver_up: Callable[[bytes, float], None],
               collect_down: Callable[[float, int], list[bytes]], plan: PassPlan,
               *, seed: int = 1, between_passes: Callable[[int], None] | None = None,
               on_step: Callable[[float], None] | None = None) -> PassReport:
    """Run the transfer over the planned passes.

    `deliver_up(command_payload, t)` hands one uplinked command to the
    spacecraft; `collect_down(t, budget)` returns the PDUs the spacecraft
    sends within a downlink budget. Every frame is lost with probability
    `frame_loss`, independently, in both directions. `between_passes(k)`
    runs after pass k closes (a reboot of the spacecraft, say).
    """
    rng = random.Random(seed)
    rep = PassReport(per_pass_octets=[0] * plan.count)
    per_step = plan.bit_rate / 8 * plan.step_s
    for k in range(plan.count):
        t = k * plan.period_s
        end = t + plan.duration_s
        credit = 0.0  # octets the radio may still send; a PDU waits until it fits
        while t < end:
            credit = min(credit + per_step, 2 * per_step + 1100)
            for cmd in uplink.commands(t, int(credit)):
                cost = len(cmd) - COMMAND_HEADER.size + UPLINK_OVERHEAD
                credit -= cost
                rep.pdus_up += 1
                rep.octets_up += cost
                rep.per_pass_octets[k] += cost
                if rng.random() < plan.frame_loss:
                    rep.pdus_up_lost += 1
                    continue
                deliver_up(cmd, t)
            for pdu in collect_down(t, int(per_step)):
                rep.pdus_down += 1
                if rng.random() < plan.frame_loss:
                    rep.pdus_down_lost += 1
                    continue
                uplink.receive(pdu, t)
            if on_step is not None:
                on_step(t)
            if uplink.done and rep.completed_in_pass is None:
                rep.completed_in_pass = k
                return rep
            t += plan.step_s
        if between_passes is not None:
            between_passes(k)
    return rep
