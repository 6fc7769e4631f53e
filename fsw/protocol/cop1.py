"""COP-1, CCSDS 232.1-B-2: FARM-1 (on board) and FOP-1 (on the ground).

FARM-1 state table (232.1-B-2 6.3, table 6-1). W is the FARM sliding window
width, even, 2..254; PW = NW = W/2; arithmetic modulo 256.

  E1  N(S) = V(R), buffer free             accept, V(R)+1, Retransmit := 0
  E2  N(S) = V(R), no buffer               discard, Retransmit := 1, -> Wait
  E3  0 < N(S)-V(R) <= PW-1 (positive)     discard, Retransmit := 1
  E4  0 < V(R)-N(S) <= NW   (negative)     discard (duplicate)
  E5  otherwise (lockout area)             discard, -> Lockout
  in Lockout every AD frame is discarded. BD frames are accepted (FARM-B+1).
  E7  Unlock                               -> Open, clear Wait/Lockout/Retransmit
  E8  Set V(R)                             Open/Wait: V(R) := n, -> Open; Lockout: ignored
  E10 buffer release                       Wait -> Open (clears Wait)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from fsw.protocol.errors import CopError, FrameError, Reason
from fsw.protocol.tc import UNLOCK, parse_control_command, set_vr
from fsw.protocol.tm import Clcw

OPEN = "open"
WAIT = "wait"
LOCKOUT = "lockout"


class Farm1:
    """The receiving end of COP-1 for one virtual channel."""

    def __init__(self, vcid: int, window: int = 10, buffers: int = 1) -> None:
        if window % 2 or not 2 <= window <= 254:
            raise FrameError(Reason.FIELD_RANGE, "FARM window must be even, 2..254")
        self.vcid = vcid
        self.window = window
        self.pw = self.nw = window // 2
        self.state = OPEN
        self.vr = 0
        self.retransmit = False
        self.farm_b_counter = 0
        self.buffers = buffers  # free frame buffers; 0 means the consumer is behind
        self.no_rf_available = False
        self.no_bit_lock = False

    @property
    def lockout(self) -> bool:
        return self.state == LOCKOUT

    @property
    def wait(self) -> bool:
        return self.state == WAIT

    def judge(self, ns: int) -> str:
        """What `ad_frame(ns)` would do, without doing it: "accept", "wait"
        (E2), "retransmit" (E3), "duplicate" (E4), "lockout" (E5) or
        "locked" (in Lockout already)."""
        if self.state == LOCKOUT:
            return "locked"
        ahead = (ns - self.vr) & 0xFF
        if ahead == 0:
            return "accept" if self.buffers > 0 and self.state == OPEN else "wait"
        if ahead <= self.pw - 1:
            return "retransmit"
        if (self.vr - ns) & 0xFF <= self.nw:
            return "duplicate"
        return "lockout"

    def ad_frame(self, ns: int) -> None:
        """Judge an AD frame with sequence number N(S). Returns if it is accepted
        (V(R) advances); raises CopError with the reason otherwise."""
        if self.state == LOCKOUT:
            raise CopError(Reason.FARM_LOCKOUT, "FARM is in lockout")
        ahead = (ns - self.vr) & 0xFF
        if ahead == 0:
            if self.buffers > 0 and self.state == OPEN:
                self.vr = (self.vr + 1) & 0xFF
                self.retransmit = False
                return
            self.retransmit = True
            self.state = WAIT
            raise CopError(Reason.FARM_NO_BUFFER, "no buffer free")
        if ahead <= self.pw - 1:
            self.retransmit = True
            raise CopError(Reason.FARM_OUT_OF_WINDOW, f"N(S) {ns} ahead of V(R) {self.vr}")
        if (self.vr - ns) & 0xFF <= self.nw:
            raise CopError(Reason.FARM_DUPLICATE, f"N(S) {ns} already accepted")
        self.state = LOCKOUT
        raise CopError(Reason.FARM_LOCKOUT, f"N(S) {ns} in lockout area of V(R) {self.vr}")

    def bd_frame(self) -> None:
        self.farm_b_counter = (self.farm_b_counter + 1) & 3

    def control_command(self, data: bytes) -> str:
        """Execute a BC frame (Unlock or Set V(R)); return its name."""
        name, value = parse_control_command(data)
        self.farm_b_counter = (self.farm_b_counter + 1) & 3
        if name == "unlock":
            self.state = OPEN
            self.retransmit = False
        elif self.state != LOCKOUT:
            assert value is not None
            self.state = OPEN
            self.retransmit = False
            self.vr = value
        return name

    def buffer_release(self) -> None:
        """The consumer freed a buffer (E10): Wait ends."""
        if self.state == WAIT:
            self.state = OPEN

    def to_dict(self) -> dict:
        """FARM-1 state as plain data (to keep it across a reboot)."""
        return {"vcid": self.vcid, "window": self.window, "state": self.state, "vr": self.vr,
                "retransmit": self.retransmit, "farm_b_counter": self.farm_b_counter}

    @classmethod
    def from_dict(cls, d: dict) -> Farm1:
        """The FARM-1 saved by `to_dict`; FrameError for state that cannot be."""
        try:
            farm = cls(int(d["vcid"]), int(d["window"]))
            if d["state"] not in (OPEN, WAIT, LOCKOUT):
                raise ValueError(f"state {d['state']!r}")
            farm.state = d["state"]
            farm.vr = int(d["vr"]) & 0xFF
            farm.retransmit = bool(d["retransmit"])
            farm.farm_b_counter = int(d["farm_b_counter"]) & 3
        except (KeyError, TypeError, ValueError) as exc:
            raise FrameError(Reason.FIELD_RANGE, f"saved FARM state: {exc}") from None
        return farm

    def clcw(self) -> Clcw:
        return Clcw(vcid=self.vcid, report_value=self.vr, lockout=self.lockout,
                    wait=self.wait, retransmit=self.retransmit,
                    farm_b_counter=self.farm_b_counter,
                    no_rf_available=self.no_rf_available, no_bit_lock=self.no_bit_lock)


class FopState(Enum):
    ACTIVE = 1
    RETRANSMIT_WITHOUT_WAIT = 2
    RETRANSMIT_WITH_WAIT = 3
    INITIALISING_WITHOUT_BC = 4
    INITIALISING_WITH_BC = 5
    INITIAL = 6


@dataclass
class _Sent:
    ns: int
    frame: bytes


@dataclass
class Fop1:
    """The sending end of COP-1 for one virtual channel (232.1-B-2 section 5).

    `build(ns, data) -> bytes` turns a frame data unit into the transmitted AD
    frame (header, security, FECF); FOP-1 keeps the bytes so that a
    retransmission is identical. Time is passed in (`now_s`) so the T1 timer
    works in virtual time too. Methods return the frames to send now.
    """

    vcid: int
    build: object  # Callable[[int, bytes], bytes]
    window_k: int = 10
    t1_s: float = 5.0
    transmission_limit: int = 3
    vs: int = 0
    nnr: int = 0
    state: FopState = FopState.INITIAL
    alert: str | None = None
    sent: deque = field(default_factory=deque)
    wait_queue: deque = field(default_factory=deque)
    transmission_count: int = 0
    timer_start_s: float | None = None

    def initiate(self, vr: int | None = None, now_s: float = 0.0,
                 build_bc: object = None) -> list[bytes]:
        """Start AD service: without a BC frame (`vr` None) or with Set V(R)
        (`build_bc(data) -> bytes` builds the BC frame)."""
        self.sent.clear()
        self.alert = None
        self.transmission_count = 0
        if vr is None:
            self.state = FopState.ACTIVE
            return []
        self.vs = self.nnr = vr
        self.state = FopState.INITIALISING_WITH_BC
        self.timer_start_s = now_s
        return [build_bc(set_vr(vr))]  # type: ignore[operator]

    @staticmethod
    def unlock_frame_data() -> bytes:
        return UNLOCK

    def transmit(self, data: bytes, now_s: float = 0.0) -> list[bytes]:
        """Queue a frame data unit for sequence-controlled (AD) transmission."""
        self.wait_queue.append(data)
        return self._send_new(now_s)

    def _send_new(self, now_s: float) -> list[bytes]:
        out = []
        while (self.state == FopState.ACTIVE and self.wait_queue
               and len(self.sent) < self.window_k):
            data = self.wait_queue.popleft()
            frame = self.build(self.vs, data)  # type: ignore[operator]
            self.sent.append(_Sent(self.vs, frame))
            self.vs = (self.vs + 1) & 0xFF
            out.append(frame)
            if self.transmission_count == 0:
                self.transmission_count = 1
            self.timer_start_s = now_s
        return out

    def on_clcw(self, clcw: Clcw, now_s: float = 0.0) -> list[bytes]:
        """Process a CLCW from the downlink (232.1-B-2 table 5-1, simplified to
        the events that change what is sent)."""
        if clcw.vcid != self.vcid or self.state == FopState.INITIAL:
            return []
        if clcw.lockout:
            return self._alert("lockout")
        nr = clcw.report_value
        if self.state == FopState.INITIALISING_WITH_BC:
            if nr == self.vs and not clcw.retransmit and not clcw.wait:
                self.state = FopState.ACTIVE
                self.transmission_count = 0
                return self._send_new(now_s)
            return []
        outstanding = (self.vs - self.nnr) & 0xFF
        acked = (nr - self.nnr) & 0xFF
        if acked > outstanding:
            return self._alert("N(R) outside the sent window")
        for _ in range(acked):
            self.sent.popleft()
        if acked:
            self.nnr = nr
            self.transmission_count = 1 if self.sent else 0
            self.timer_start_s = now_s
        if clcw.retransmit and self.sent:
            if clcw.wait:
                self.state = FopState.RETRANSMIT_WITH_WAIT
                return []
            if acked or self.state != FopState.RETRANSMIT_WITHOUT_WAIT:
                self.state = FopState.RETRANSMIT_WITHOUT_WAIT
                return self._retransmit(now_s)
            return []
        self.state = FopState.ACTIVE
        return self._send_new(now_s)

    def on_timer(self, now_s: float) -> list[bytes]:
        """Retransmit the unacknowledged frames when T1 expired."""
        if (not self.sent or self.timer_start_s is None
                or now_s - self.timer_start_s < self.t1_s):
            return []
        if self.state in (FopState.INITIAL,):
            return []
        return self._retransmit(now_s)

    def _retransmit(self, now_s: float) -> list[bytes]:
        if self.transmission_count >= self.transmission_limit:
            return self._alert("transmission limit reached")
        self.transmission_count += 1
        self.timer_start_s = now_s
        return [s.frame for s in self.sent]

    def _alert(self, why: str) -> list[bytes]:
        self.alert = why
        self.state = FopState.INITIAL
        self.sent.clear()
        self.wait_queue.clear()
        return []
