"""Byte-level emulator of a UHF radio with a KISS TNC (see
`hal.devices.radio`): the flight side of the serial port, and the air side
for the simulator's link model."""

from __future__ import annotations

from collections import deque

from hal import HalError
from hal.devices.radio import (
    KISS_DATA,
    KissDecoder,
    ax25_check_fcs,
    ax25_with_fcs,
    kiss_encode,
)
from hal.sim.uart import StreamTarget

__all__ = ["UhfRadioEmulator"]


class UhfRadioEmulator(StreamTarget):
    """KISS TNC + transceiver.

    Host side: data frames the flight software writes are "transmitted":
    their on-air form (with FCS) lands in `air_tx` when the link is up
    (`link_up`, set by the simulator from pass geometry), else they are
    lost. Air side: `receive_air(frame_with_fcs)` checks the FCS (a bad one
    is dropped and counted, as a TNC does) and hands the frame to the host
    as KISS, paced at the serial baud rate.
    """

    part = "UHF radio (KISS TNC)"

    def __init__(self, *, baudrate: int = 9600, port: int = 0, seed: int = 0,
                 air_queue: int = 256) -> None:
        super().__init__(baudrate=baudrate, seed=seed)
        self.port = port
        self.link_up = True
        self.decoder = KissDecoder()
        self.air_tx: deque[bytes] = deque(maxlen=air_queue)
        self.tx_lost = 0
        self.rx_fcs_errors = 0

    def on_receive(self, data: bytes) -> None:
        for port, command, payload in self.decoder.feed(data):
            if command != KISS_DATA or port != self.port:
                continue
            if self.link_up:
                self.air_tx.append(ax25_with_fcs(payload))
            else:
                self.tx_lost += 1

    def receive_air(self, air_frame: bytes) -> bool:
        """A frame heard on air (with FCS). Returns True if passed to the host."""
        try:
            frame = ax25_check_fcs(air_frame)
        except HalError:
            self.rx_fcs_errors += 1
            return False
        self.emit(kiss_encode(frame, port=self.port))
        return True
