"""The `sim` CAN backend: nodes on the network are emulators in this process."""

from __future__ import annotations

from collections import deque
from typing import Protocol

from hal import NackError
from hal._compiled import mypyc_attr
from hal.busio import CAN, CanMessage, Listener

__all__ = ["CanNode", "CanPeer", "SimCAN"]


class CanPeer(Protocol):
    """What the network needs of a node: `CanNode` or any object of this shape."""

    alive: bool

    def can_receive(self, msg: CanMessage) -> list[CanMessage]: ...


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed outside the compiled modules
class CanNode:
    """A CAN node emulator: sees every frame sent on the network and returns
    the frames it transmits in reply.

    A node whose acceptance filter is a fixed set of identifiers lists them in
    `can_ids` (standard 11-bit ids); the network then hands it only those
    frames. With `can_ids` None it sees every frame.
    """

    part = "CAN node"
    can_ids: tuple[int, ...] | None = None

    def __init__(self) -> None:
        self.t_s = 0.0
        self.alive = True

    def advance(self, t_s: float) -> None:
        self.t_s = t_s

    def can_receive(self, msg: CanMessage) -> list[CanMessage]:  # pragma: no cover
        raise NotImplementedError


class SimCAN(CAN):
    """A CAN network with this controller and emulated nodes.

    A frame sent with no live node on the network gets no acknowledge and
    raises `NackError` (on real CAN the controller retransmits and ends in
    error-passive or bus-off). `bus_off = True` injects a bus-off fault.
    """

    def __init__(self, name: str = "can0", *, depth: int = 256) -> None:
        super().__init__(name)
        self.nodes: list[CanPeer] = []
        self._rx: deque[CanMessage] = deque(maxlen=depth)
        self.bus_off = False
        self.sent: int = 0
        self._index()
        self._listeners_changed()

    def attach(self, node: CanPeer) -> None:
        self.nodes.append(node)
        self._index()

    def detach(self, node: CanPeer) -> None:
        self.nodes.remove(node)
        self._index()

    def _index(self) -> None:
        ids = {id(n): getattr(n, "can_ids", None) for n in self.nodes}
        self._promiscuous = [n for n in self.nodes if ids[id(n)] is None]
        by_id: dict[int, list[CanPeer]] = {}
        for node in self.nodes:
            for can_id in ids[id(node)] or ():
                by_id.setdefault(can_id, []).append(node)
        # Indexed by the 11-bit identifier: compiled, a list index where a
        # dict lookup hashes a boxed int for every frame.
        self._by_id: list[list[CanPeer] | None] = [None] * 0x800
        for can_id, nodes in by_id.items():
            if 0 <= can_id <= 0x7FF:  # any other never addresses a standard frame
                self._by_id[can_id] = nodes

    def inject(self, msg: CanMessage) -> None:
        """Put a frame on the network as if another node sent it."""
        self._rx.append(msg)

    def send(self, message: CanMessage) -> None:
        """Put one frame on the network; the nodes it reaches answer at once."""
        if self.bus_off:
            raise NackError("controller is bus-off", bus=self.name, address=message.id)
        # Any live node acknowledges a frame, whether or not it is addressed.
        # (Compiled, `alive` of a `CanNode` is a native attribute read, of
        # any other `CanPeer` a generic one.)
        for node in self.nodes:
            if isinstance(node, CanNode):
                if node.alive:
                    break
            elif node.alive:
                break
        else:
            raise NackError("no node acknowledged the frame", bus=self.name,
                            address=message.id)
        self.sent += 1
        targets = self._promiscuous
        if not message.extended:
            addressed = self._by_id[message.id]
            if addressed:
                targets = addressed + targets if targets else addressed
        for node in targets:
            # The same calls twice: compiled, for a `CanNode` (every emulator)
            # they are direct; any other object of the `CanPeer` shape is
            # reached through Python.
            if isinstance(node, CanNode):
                if node.alive:
                    for reply in node.can_receive(message):
                        self._deliver(reply)
            elif node.alive:
                for reply in node.can_receive(message):
                    self._deliver(reply)

    def _send(self, message: CanMessage) -> None:
        # `CAN.send` only forwards here; the sim bus overrides `send` itself.
        self.send(message)

    def _deliver(self, reply: CanMessage) -> None:
        """A node's reply is on the wire now: every listener whose filters pass
        it receives it at once, as every controller on a CAN bus does. Frames
        still queued from `inject` go first, to keep the order on the wire."""
        if self._rx:
            self._rx.append(reply)
            return
        routes = self._std_routes[reply.id] if not reply.extended else self._ext_routes.get(
            reply.id)
        if routes is not None:
            for listener in routes:
                listener.offer(reply)
        for listener in self._filtering:
            if listener.accepts(reply):
                listener.offer(reply)

    def _listeners_changed(self) -> None:
        """Index the listeners that filter on exact identifiers (the drivers'
        usual filter) by identifier, so a reply reaches its listener with one
        lookup; the others are asked frame by frame."""
        standard: dict[int, list[Listener]] = {}
        extended: dict[int, list[Listener]] = {}
        filtering = []
        for listener in self._listeners:
            if listener._exact is None:
                filtering.append(listener)
            else:
                for can_id, is_extended in listener._exact:
                    (extended if is_extended else standard).setdefault(can_id, []).append(
                        listener)
        # Keyed by the identifier alone, one table per identifier kind: no
        # (id, extended) tuple is built for every frame; the standard one a
        # list indexed by the 11-bit identifier (no boxed int hashed either).
        self._std_routes: list[list[Listener] | None] = [None] * 0x800
        for can_id, listeners in standard.items():
            if 0 <= can_id <= 0x7FF:  # any other never passes a standard frame
                self._std_routes[can_id] = listeners
        self._ext_routes = extended
        self._filtering = filtering

    def _recv(self, timeout_s: float) -> CanMessage | None:
        return self._rx.popleft() if self._rx else None
