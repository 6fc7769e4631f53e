"""The bench's simulated world: the ground simulator, the reference emulators
on sim buses, the fault schedule, and everything recorded for the report.

`BenchWorld.handle(type, payload)` answers one tunnelled request as the
emulated part would, with the same bytes or failure the `sim` backend gives
in one process. Time moves by `tick(t_from, t_to)` in lockstep (the flight
computer waits for it) or by `follow_wall(t)` in real time.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fsw.core.message import MessageType
from hal import HalError
from hal.busio import CanMessage
from hal.tunnel.messages import (
    pack_batch_reply,
    pack_can_frames,
    pack_reply,
    pack_time_reply,
    request_target,
    unpack_batch,
    unpack_bus_request,
    unpack_stamp,
    unpack_tick,
)
from hal.tunnel.protocol import MAX_PAYLOAD, FrameError, MsgType, Status
from hil.scenario import Fault, Scenario

__all__ = ["BenchWorld", "Recorder", "telemetry_dictionary"]

_STATUS = {"nack": Status.NACK, "timeout": Status.TIMEOUT, "busy": Status.BUSY,
           "checksum": Status.CHECKSUM, "data": Status.DATA}


def telemetry_dictionary(flight_config: str | Path | dict | None = None
                         ) -> dict[int, MessageType]:
    """Message id -> layout of every fixed-layout message the flight apps declare."""
    from fsw.core.executive import EXECUTIVE_HK, load_config, resolve_app_class
    from ground.sim.sil import DEFAULT_FLIGHT_CONFIG

    config = load_config(flight_config or DEFAULT_FLIGHT_CONFIG)
    out = {EXECUTIVE_HK.msg_id: EXECUTIVE_HK}
    for entry in config.get("apps", []):
        cls = resolve_app_class(entry["class"], entry.get("name", "?"))
        for mtype in (getattr(cls, "HK", None), *getattr(cls, "TELEMETRY", ())):
            if mtype is not None:
                out[mtype.msg_id] = mtype
    return out


@dataclass
class Recorder:
    """What the report is made of: sampled series, timing, events."""

    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    last_tm: dict[str, float] = field(default_factory=dict)
    tm_records: int = 0
    tm_unknown: int = 0
    work_ms: list[float] = field(default_factory=list)
    wake_late_ms: list[float] = field(default_factory=list)
    deadline_misses: int = 0
    frames_stamped: int = 0
    tick_wall_ms: list[float] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)

    def add(self, name: str, t_s: float, value: float) -> None:
        self.series.setdefault(name, []).append((t_s, value))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Recorder:
        rec = cls(**doc)
        rec.series = {k: [tuple(p) for p in v] for k, v in rec.series.items()}
        rec.events = [tuple(e) for e in rec.events]
        return rec


def _scalar(value: Any) -> float | None:
    """A number for a telemetry field: vectors as their norm; text fields have none."""
    if isinstance(value, tuple):
        return math.sqrt(sum(float(v) * v for v in value))
    if isinstance(value, (int, float)):
        return float(value)
    return None


class BenchWorld:
    """Simulator, emulators and recorder for one scenario."""

    def __init__(self, scenario: Scenario, *, flight_config: str | Path | None = None,
                 on_event: Callable[[str], None] | None = None) -> None:
        from ground.sim.environment import Environment
        from ground.sim.orbit import Sgp4Orbit
        from ground.sim.simulator import Simulator
        from hal.sim.reference import reference_sim

        self.scenario = scenario
        self.sil = scenario.sil_scenario()
        self.on_event = on_event or (lambda text: None)
        buses, self.emulators = reference_sim(seed=self.sil.seed,
                                              realistic=self.sil.sensor_noise)
        self.buses = buses
        self.can_rx = {name: bus.listen(timeout=0.0, depth=256) for name, bus in buses.items()
                       if hasattr(bus, "listen")}
        orbit = Sgp4Orbit(self.sil.elements, self.sil.epoch_tai_s)
        self.simulator = Simulator(
            orbit, Environment(self.sil.epoch_tai_s, self.sil.field_model), self.sil.model,
            self.emulators, q0_body_eci=np.array(self.sil.q0_body_eci),
            w0_body_rad_s=np.radians(self.sil.w0_body_deg_s))
        self.simulator.start(0.0)
        self.t_s = 0.0
        self.dictionary = telemetry_dictionary(flight_config)
        # the last payload of each message not decoded yet (see record_telemetry)
        self._unpacked: dict[int, tuple[MessageType, bytes]] = {}
        self.recorder = Recorder()
        self._pending_faults = list(scenario.faults)
        self._clears: list[tuple[float, Fault]] = []
        self._directives: list[dict[str, Any]] = []
        self.link_drop_s = 0.0  # a link drop due: the server goes silent this long (wall)
        self.finished = False
        self._last_tick_wall: float | None = None
        self._last_deadline_s: float | None = None
        self._period_s: float | None = None
        self._tm_next: dict[int, float] = {}
        self._truth_logged = 0
        self._handlers = {
            MsgType.I2C: self._i2c, MsgType.I2C_PROBE: self._i2c_probe, MsgType.SPI: self._spi,
            MsgType.UART_WRITE: self._uart_write, MsgType.UART_READ: self._uart_read,
            MsgType.CAN_SEND: self._can_send, MsgType.CAN_RECV: self._can_recv,
            MsgType.TICK: self._tick, MsgType.STAMP: self._stamp,
        }
        self._room = MAX_PAYLOAD  # bytes the reply being built may still take

    # -- session -----------------------------------------------------------------
    def session_doc(self) -> dict[str, Any]:
        """What the bench tells the flight computer in the handshake."""
        return {"mode": self.scenario.mode, "scenario": self.scenario.name,
                "epoch_tai_s": self.sil.epoch_tai_s, "orbit": self.sil.elements.as_dict(),
                "t_s": self.t_s, "duration_s": self.scenario.duration_s,
                "baud": self.scenario.baud, "read_ahead": self.scenario.read_ahead}

    # -- requests ------------------------------------------------------------------
    def handle(self, type_: int, payload: bytes, room: int = MAX_PAYLOAD) -> bytes:
        """The reply payload to one request (HELLO and CONTROL are the server's),
        at most `room` bytes."""
        if type_ == MsgType.BATCH:
            return self._batch(payload)
        handler = self._handlers.get(type_)
        if handler is None:
            return pack_reply(Status.BAD_REQUEST, f"unknown message type {type_:#04x}".encode())
        self._room = room
        try:
            reply = handler(payload)
        except FrameError as exc:
            return pack_reply(Status.BAD_REQUEST, exc.reason.encode())
        except Exception as exc:  # a request the bench cannot serve must not stop the bench
            self.on_event(f"request {type_:#04x} failed on the bench: {exc!r}")
            return pack_reply(Status.DATA, f"bench failed: {exc}".encode()[:200])
        if len(reply) > room:
            return pack_reply(Status.BAD_REQUEST, f"a reply of {len(reply)} bytes does not "
                              f"fit the {room} left in the frame".encode())
        return reply

    def _batch(self, payload: bytes) -> bytes:
        """Each request of the batch in order; once one fails, the later ones to the
        same part are not done (SKIPPED): a driver that had waited for the failed
        one (a posted write) would not have gone on with that part."""
        try:
            items = unpack_batch(payload)
        except FrameError as exc:
            return pack_reply(Status.BAD_REQUEST, exc.reason.encode())
        replies: list[bytes] = []
        failed: set[tuple[str, int | None]] = set()
        # Every item's reply has a status byte and a length: keep room for all of them.
        room = MAX_PAYLOAD - 3 * len(items)
        for type_, body in items:
            try:
                target = request_target(type_, body)
            except FrameError as exc:
                reply = pack_reply(Status.BAD_REQUEST, exc.reason.encode())
            else:
                if target in failed:
                    reply = pack_reply(Status.SKIPPED, b"an earlier request to this part "
                                       b"in the batch failed")
                else:
                    reply = self.handle(type_, body, max(1, room + 1))
                    if target is not None and reply[:1] != b"\x00":
                        failed.add(target)
            replies.append(reply)
            room -= len(reply) - 1
        return pack_batch_reply(replies)

    def _bus(self, shape: str, payload: bytes, kind: str):
        name, fields, data = unpack_bus_request(shape, payload)
        bus = self.buses.get(name)
        if bus is None or not hasattr(bus, kind):
            return None, name, fields, data
        return bus, name, fields, data

    @staticmethod
    def _failed(exc: HalError) -> bytes:
        return pack_reply(_STATUS.get(exc.kind, Status.DATA), exc.reason.encode()[:200])

    @staticmethod
    def _no_bus(name: str) -> bytes:
        return pack_reply(Status.NO_BUS, f"the bench has no bus {name!r} of that kind".encode())

    def _i2c(self, payload: bytes) -> bytes:
        bus, name, (address, n_in), out = self._bus("i2c", payload, "scan")
        if bus is None:
            return self._no_bus(name)
        try:
            return pack_reply(Status.OK, bus.transfer(address & 0x7F, out, n_in))
        except HalError as exc:
            return self._failed(exc)

    def _i2c_probe(self, payload: bytes) -> bytes:
        bus, name, (address,), _ = self._bus("i2c_probe", payload, "scan")
        if bus is None:
            return self._no_bus(name)
        try:
            acked = bus.target(address).probe()
        except KeyError:
            acked = False
        return pack_reply(Status.OK if acked else Status.NACK)

    def _spi(self, payload: bytes) -> bytes:
        bus, name, (cs,), tx = self._bus("spi", payload, "write_readinto")
        if bus is None:
            return self._no_bus(name)
        rx = bytearray(len(tx))
        try:
            bus.select(cs)
            bus.write_readinto(tx, rx)
        except HalError as exc:
            return self._failed(exc)
        return pack_reply(Status.OK, bytes(rx))

    def _uart_write(self, payload: bytes) -> bytes:
        bus, name, _, data = self._bus("uart_write", payload, "readline")
        if bus is None:
            return self._no_bus(name)
        bus.write(data)
        return pack_reply(Status.OK)

    def _uart_read(self, payload: bytes) -> bytes:
        bus, name, (n,), _ = self._bus("uart_read", payload, "readline")
        if bus is None:
            return self._no_bus(name)
        n = min(n, self._room - 1)  # one reply frame; the rest waits for the next read
        return pack_reply(Status.OK, bus.read(n) or b"") if n else pack_reply(Status.OK)

    def _drain_can(self, name: str, limit: int) -> bytes:
        listener, frames = self.can_rx[name], []
        # a frame takes at most 13 bytes; those that do not fit wait for the next request
        limit = min(limit, (self._room - 1) // 13)
        while len(frames) < limit:
            msg = listener.receive()
            if msg is None:
                break
            frames.append(msg)
        return pack_can_frames(frames)

    def _can_send(self, payload: bytes) -> bytes:
        bus, name, (ident,), data = self._bus("can_send", payload, "listen")
        if bus is None:
            return self._no_bus(name)
        try:
            bus.send(CanMessage(ident & 0x1FFFFFFF, data, extended=bool(ident >> 31)))
        except ValueError as exc:
            return pack_reply(Status.BAD_REQUEST, str(exc).encode())
        except HalError as exc:
            return self._failed(exc)
        return pack_reply(Status.OK, self._drain_can(name, 64))

    def _can_recv(self, payload: bytes) -> bytes:
        bus, name, (limit,), _ = self._bus("can_recv", payload, "listen")
        if bus is None:
            return self._no_bus(name)
        return pack_reply(Status.OK, self._drain_can(name, limit))

    # -- time ------------------------------------------------------------------------
    def _tick(self, payload: bytes) -> bytes:
        t_from, t_to, telemetry = unpack_tick(payload)
        wall = time.perf_counter()
        if self._last_tick_wall is not None:
            self._recorder.tick_wall_ms.append((wall - self._last_tick_wall) * 1e3)
        self._last_tick_wall = wall
        self.record_telemetry(t_from, telemetry)
        self.advance_to(t_to)
        return pack_time_reply(self.t_s, self.take_directives())

    def _stamp(self, payload: bytes) -> bytes:
        frame, start_s, done_s, deadline_s, telemetry = unpack_stamp(payload)
        rec = self._recorder
        rec.frames_stamped += 1
        if frame > 0:  # frame 0 is timed from the clock's start: it holds the boot
            rec.work_ms.append((done_s - start_s) * 1e3)
        last = self._last_deadline_s
        if frame > 0 and last is not None:
            # How late this frame started: after the deadline the previous stamp named.
            rec.wake_late_ms.append(max(0.0, (start_s - last) * 1e3))
            step = deadline_s - last
            if step > 1e-6:
                self._period_s = min(self._period_s or step, step)
                # The executive drops whole frames to catch up (their deadlines passed
                # unserved): the next deadline then jumps by more than one period.
                # (bounded: a stamp from a confused flight clock must not stop the bench)
                rec.deadline_misses += max(0, round(min(step / self._period_s, 1e9)) - 1)
        self._last_deadline_s = deadline_s
        if done_s > deadline_s:
            rec.deadline_misses += 1
        self.record_telemetry(done_s, telemetry)
        return pack_time_reply(self.t_s, self.take_directives())

    def follow_wall(self, t_s: float, step_s: float = 0.1) -> None:
        """Real time: bring the simulated world up to t_s in steps of step_s."""
        while self.t_s + step_s <= t_s and not self.finished:
            self.advance_to(self.t_s + step_s)

    def advance_to(self, t_s: float) -> None:
        """Integrate to t_s, applying the faults that fall due on the way."""
        if t_s <= self.t_s or self.finished:
            return
        while self._pending_faults and self._pending_faults[0].at_s <= t_s:
            fault = self._pending_faults.pop(0)
            self._step(fault.at_s)
            self._inject(fault)
        while self._clears and min(c[0] for c in self._clears) <= t_s:
            self._clears.sort(key=lambda c: c[0])
            at_s, fault = self._clears.pop(0)
            self._step(at_s)
            self._clear(fault)
        self._step(t_s)
        self._log_truth()
        if self.t_s >= self.scenario.duration_s - 1e-9:
            self.finished = True
            self._directives.append({"op": "stop", "why": f"scenario {self.scenario.name!r} "
                                     f"ran its {self.scenario.duration_s:g} s"})

    def _step(self, t_s: float) -> None:
        if t_s > self.t_s:
            self.simulator.advance(self.t_s, t_s)
            self.t_s = t_s

    @property
    def directives_pending(self) -> bool:
        """Directives not yet carried to the flight side (the stop, at the end)."""
        return bool(self._directives)

    def take_directives(self) -> list[dict[str, Any]]:
        out, self._directives = self._directives, []
        return out

    # -- faults ----------------------------------------------------------------------
    def _targets(self, device: str) -> list[Any]:
        emus = self.emulators
        if device == "wheels":
            return list(emus.wheels)
        if device.startswith("wheel"):
            return [emus.wheels[int(device[5:]) - 1]]
        return [getattr(emus, device)]

    def _inject(self, fault: Fault) -> None:
        where = fault.device or ("the flight computer" if fault.kind == "reset"
                                 else "the bench link")
        text = (f"{fault.kind} on {where}"
                + (f" for {fault.duration_s:g} s" if fault.duration_s else ""))
        self.recorder.events.append((self.t_s, text))
        self.on_event(f"t = {self.t_s:.1f} s: fault: {text}")
        if fault.kind == "link_drop":
            self.link_drop_s = max(fault.duration_s, 0.5)
            return
        if fault.kind == "reset":
            self._directives.append({"op": "reset"})
            return
        self._directives.append({"op": "fault", "text": text})
        for emu in self._targets(fault.device):
            emu.inject_fault(fault.kind, rate=fault.rate, duration_s=fault.duration_s)
        if fault.duration_s > 0 and fault.kind != "brownout":
            self._clears.append((fault.at_s + fault.duration_s, fault))

    def _clear(self, fault: Fault) -> None:
        for emu in self._targets(fault.device):
            emu.clear_faults()
        self.recorder.events.append((self.t_s, f"{fault.kind} on {fault.device} cleared"))

    # -- records -----------------------------------------------------------------------
    def record_telemetry(self, t_s: float, records: list[tuple[int, bytes]]) -> None:
        """Keep the last value of every field, and a 1 Hz series per message for plots.

        A message is decoded when it is sampled; between samples only its last
        payload is kept, and decoded when the records are read (`recorder`)."""
        rec = self._recorder
        for msg_id, payload in records:
            rec.tm_records += 1
            mtype = self.dictionary.get(msg_id)
            if mtype is None or len(payload) != mtype.size:
                rec.tm_unknown += 1
                continue
            if t_s >= self._tm_next.get(msg_id, 0.0):
                self._tm_next[msg_id] = t_s + 1.0 - 1e-6
                self._unpacked.pop(msg_id, None)
                self._keep(mtype, payload, t_s)
            else:
                self._unpacked[msg_id] = (mtype, payload)

    def _keep(self, mtype: MessageType, payload: bytes, sample_t_s: float | None) -> None:
        rec = self._recorder
        for name, value in mtype.unpack(payload).items():
            scalar = _scalar(value)
            if scalar is None:
                continue
            key = f"tm.{mtype.name}.{name}"
            rec.last_tm[key] = scalar
            if sample_t_s is not None:
                rec.add(key, sample_t_s, scalar)

    @property
    def recorder(self) -> Recorder:
        """Everything recorded so far, the last telemetry values brought up to date."""
        for mtype, payload in self._unpacked.values():
            self._keep(mtype, payload, None)
        self._unpacked.clear()
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._unpacked.clear()

    def _log_truth(self) -> None:
        log = self.simulator.log
        rows = log.rows["t_s"]
        for i in range(self._truth_logged, len(rows)):
            w = log.rows["w_body_rad_s"][i]
            self._recorder.add("truth.rate_deg_s", float(rows[i]),
                              math.degrees(float(np.linalg.norm(w))))
        self._truth_logged = len(rows)

    # -- checkpoint (a restarted bench resumes the run) -------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        body = self.simulator.body
        return {"t_s": self.t_s, "q_body_eci": [float(x) for x in body.q_body_eci],
                "w_body_rad_s": [float(x) for x in body.w_body_rad_s],
                "faults_done": len(self.scenario.faults) - len(self._pending_faults),
                "registers": {name: bytes(emu.regs).hex() for name, emu in self._register_parts()},
                "recorder": self.recorder.as_dict()}

    def _register_parts(self) -> list[tuple[str, Any]]:
        emus = self.emulators
        parts = [("magnetometer", emus.magnetometer), ("gyro", emus.gyro),
                 ("magnetorquer", emus.magnetorquer), ("sun_adc_a", emus.sun_adc_a),
                 ("sun_adc_b", emus.sun_adc_b), ("eps", emus.eps)]
        return [(name, emu) for name, emu in parts
                if isinstance(getattr(emu, "regs", None), bytearray)]

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.checkpoint()))
        tmp.replace(path)

    def resume(self, doc: dict[str, Any]) -> None:
        """Continue from a checkpoint: attitude and rate truth, faults already applied,
        the parts' register settings, records so far. Wheel speeds restart at rest
        (the dynamics keep them private)."""
        body = self.simulator.body
        self.t_s = float(doc["t_s"])
        body.q_body_eci = doc["q_body_eci"]
        body.w_body_rad_s = doc["w_body_rad_s"]
        self.simulator._next_slow_s = math.floor(self.t_s) + 1.0
        self.simulator._next_log_s = math.floor(self.t_s) + 1.0
        self.simulator.start(self.t_s)
        self._pending_faults = self._pending_faults[int(doc["faults_done"]):]
        # The parts keep the configuration the flight software gave them: a
        # bench restart is not a power cycle of the satellite.
        saved = doc.get("registers", {})
        for name, emu in self._register_parts():
            if name in saved:
                for reg, value in enumerate(bytes.fromhex(saved[name])):
                    if reg in emu.WRITABLE:
                        emu.write_reg(reg, value)
        self.recorder = Recorder.from_dict(doc["recorder"])
        self._truth_logged = len(self.simulator.log.rows["t_s"])
        self.recorder.events.append((self.t_s, "bench restarted: resumed from checkpoint"))
