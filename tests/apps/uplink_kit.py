"""A spacecraft with the bus operator's app and two partners' apps, and a
ground station holding the simulator key file, for the attack suites."""

from __future__ import annotations

import struct
from pathlib import Path

from fsw.apps.comms import CommsApp
from fsw.apps.sample import SampleApp
from fsw.apps.scheduler import SchedulerApp
from fsw.core import AppSpec, AppState, Executive, Store, VirtualClock
from fsw.core.ids import SAMPLE_APID
from fsw.core.wiring import Wiring
from fsw.protocol import services as sv
from fsw.protocol.keyfile import load_key_file, simulator_key_file
from fsw.protocol.pus import PusTc, PusTm
from fsw.protocol.sdls import SecuritySender
from fsw.protocol.spp import SEQ_UNSEGMENTED
from fsw.protocol.store import ArsnStore
from fsw.protocol.tm import TmReceiver
from fsw.protocol.uplink import TcSender, VcConfig

SCID = 0x2AB
FRAME_LEN = 256
OPERATOR, UNI_A, UNI_B = 1, 10, 11  # SPIs of the simulator key file
UNI_A_APID, UNI_B_APID = 0x100, 0x110


class Recording(SampleApp):
    """The sample app, remembering every input it was commanded, in order."""

    def __init__(self, ctx, config=None) -> None:
        super().__init__(ctx, config)
        self.inputs: list[float] = []

    def set_input(self, value: float) -> None:
        self.inputs.append(value)
        super().set_input(value)


class UniA(Recording):
    NAME = "uni_a"
    APID = UNI_A_APID


class UniB(Recording):
    NAME = "uni_b"
    APID = UNI_B_APID


def spacecraft(tmp: Path, key_file: Path, store: Store | None = None,
               comms: dict | None = None) -> Executive:
    """The flight side: comms, scheduler, the operator's and the partners' apps.
    `comms`: the comms app's whole configuration, if not the kit's own."""
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0), housekeeping_hz=1.0,
                    store=store if store is not None else Store(tmp / "store.db"),
                    wiring=Wiring(housekeeping=("comms", "scheduler", "sample", "uni_a",
                                                "uni_b"), scheduler_releases_to="comms"))
    if comms is None:
        comms = {"scid": SCID, "key_file": str(key_file),
                 "arsn_db": str(tmp / "arsn.db"), "tm_frame_len": FRAME_LEN}
    exe.add_app(AppSpec("comms", CommsApp, 10.0, comms))
    exe.add_app(AppSpec("scheduler", SchedulerApp, 10.0))
    exe.add_app(AppSpec("sample", Recording, 10.0))
    exe.add_app(AppSpec("uni_a", UniA, 10.0))
    exe.add_app(AppSpec("uni_b", UniB, 10.0))
    assert exe.boot() == []
    return exe


class Station:
    """A ground station: every key holder's sender, N(S) per VC, the downlink."""

    def __init__(self, key_file: Path, scid: int = SCID, frame_len: int = FRAME_LEN) -> None:
        keys = load_key_file(key_file)
        self.vc_of = {sa.spi: min(sa.rights.vcids) for sa in keys.sas}
        self.vcs = {v: VcConfig(v) for v in (0, 1, 2)}
        self.tx = TcSender(scid, self.vcs, {sa.spi: SecuritySender(sa, ArsnStore(":memory:"))
                                            for sa in keys.sas})
        self.rx = TmReceiver(scid, frame_len)
        self.ns = {v: 0 for v in self.vcs}
        self.seq = 0

    def tc(self, apid: int, service: int, subtype: int, data: bytes = b"") -> PusTc:
        self.seq += 1
        return PusTc(apid, service, subtype, data, seq_count=self.seq & 0x3FFF, source_id=7)

    def set_input(self, apid: int, value: float) -> PusTc:
        """TC[8,1]: function 10 (set_input) of the sample-shaped app `apid`."""
        return self.tc(apid, 8, 1, sv.PerformFunction(10, struct.pack(">f", value)).encode())

    def frame(self, data: bytes, spi: int, vc: int | None = None, *,
              seq_flags: int = SEQ_UNSEGMENTED, map_id: int = 0) -> bytes:
        """An AD frame of key holder `spi` (on its own VC unless `vc` says otherwise)."""
        vc = self.vc_of[spi] if vc is None else vc
        raw = self.tx.frame(vc, self.ns[vc], data, spi=spi, seq_flags=seq_flags, map_id=map_id)
        self.ns[vc] = (self.ns[vc] + 1) & 0xFF
        return raw

    def control(self, data: bytes, spi: int, vc: int) -> bytes:
        return self.tx.frame(vc, 0, data, bypass=True, control=True, spi=spi)

    def downlink(self, frames: list[bytes]) -> list[PusTm]:
        out = []
        for f in frames:
            out += [PusTm.decode(p) for _vc, p in self.rx.add(f)]
        return out


def reports(tms: list[PusTm], rid: int) -> list[tuple[int, int | None]]:
    """(ST1 subtype, failure code) of every verification report for `rid`."""
    out = []
    for tm in tms:
        if tm.service == sv.ST_VERIFICATION:
            r = sv.VerificationReport.decode(tm.subtype, tm.source_data)
            if r.request_id == rid:
                out.append((tm.subtype, r.code))
    return out


class Link:
    """Spacecraft and ground together."""

    def __init__(self, tmp: Path, comms: dict | None = None, scid: int = SCID,
                 frame_len: int = FRAME_LEN) -> None:
        """`comms`: the comms app's configuration but its key file (the kit's
        own if None); `scid` and `frame_len`: what the ground expects."""
        self.tmp = tmp
        self.key_file = tmp / "keys.json"
        simulator_key_file(self.key_file)
        self.store = Store(tmp / "store.db")
        config = None if comms is None else {"key_file": str(self.key_file), **comms}
        self.exe = spacecraft(tmp, self.key_file, self.store, config)
        self.ground = Station(self.key_file, scid, frame_len)

    @property
    def comms(self) -> CommsApp:
        return self.exe.apps["comms"]

    def app(self, name: str) -> Recording:
        return self.exe.apps[name]

    def send(self, frames: list[bytes], steps: int = 3) -> list[PusTm]:
        for f in frames:
            self.comms.receive_frame(f)
        for _ in range(steps):
            self.exe.step()
        return self.ground.downlink(self.comms.take_frames())

    def operator_still_commands(self, value: float = 42.0) -> None:
        """The bus operator's TC still executes, and comms is still running."""
        tc = self.ground.set_input(SAMPLE_APID, value)
        tms = self.send([self.ground.frame(tc.encode(), OPERATOR)])
        assert self.app("sample").inputs[-1:] == [value]
        assert reports(tms, tc.request_id) == [(1, None), (7, None)]
        assert self.comms.state == AppState.RUNNING
