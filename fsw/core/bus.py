"""The software bus: publish/subscribe on message ids with bounded pipes.

Apps never call each other; they publish messages and read them from their
own pipes (the cFS model). A pipe holds at most `depth` messages: when it is
full the new message is dropped for that pipe only, the drop is counted on
the pipe, and the executive reports new drops in housekeeping and as an
event. Memory therefore stays bounded however fast a publisher runs.

Publishing checks the message id is registered and the payload length
matches its declared layout; both failures raise a `BusError` subclass that
names the message id (and the layout's name), and nothing is delivered.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from fsw.core.errors import DuplicateMessageError, MessageSizeError, UnknownMessageError
from fsw.core.message import MessageType, check_msg_id

# A payload of at most this many bytes may be published under a
# variable-length id; it is the largest Space Packet user data field that
# fits the 1024-octet TC frame limit with headers (CCSDS 232.0-B).
MAX_VARIABLE_PAYLOAD = 1008


class Pipe:
    """A subscriber's bounded queue of ``(msg_id, payload)`` pairs."""

    __slots__ = ("_queue", "depth", "dropped", "last_dropped_msg_id", "name", "reported_drops")

    def __init__(self, name: str, depth: int) -> None:
        if depth < 1:
            raise ValueError(f"pipe {name!r}: depth must be at least 1")
        self.name = name
        self.depth = depth
        self._queue: deque[tuple[int, bytes]] = deque()
        self.dropped = 0
        self.reported_drops = 0
        self.last_dropped_msg_id = 0

    def get(self) -> tuple[int, bytes] | None:
        """The oldest message, or None when the pipe is empty."""
        q = self._queue
        return q.popleft() if q else None

    def drain(self, limit: int | None = None) -> list[tuple[int, bytes]]:
        """Remove and return up to `limit` messages (all by default), oldest first."""
        q = self._queue
        if limit is None or limit >= len(q):
            items = list(q)
            q.clear()
            return items
        return [q.popleft() for _ in range(limit)]

    def __len__(self) -> int:
        return len(self._queue)

    def __repr__(self) -> str:
        return f"Pipe({self.name!r}, {len(self._queue)}/{self.depth}, dropped={self.dropped})"


@dataclass
class _Route:
    mtype: MessageType | None
    min_size: int
    max_size: int
    pipes: list[Pipe] = field(default_factory=list)


class SoftwareBus:
    """Routes published messages to the pipes subscribed to their message id."""

    def __init__(self) -> None:
        # msg_id -> (min_size, max_size, pipes); a plain tuple, not the _Route,
        # keeps publish() to one dict lookup and no attribute access.
        self._fast: dict[int, tuple[int, int, list[Pipe]]] = {}
        self._routes: dict[int, _Route] = {}
        self._pipes: dict[str, Pipe] = {}
        self._names: dict[int, str] = {}

    # -- declaration -----------------------------------------------------
    def register(self, mtype: MessageType) -> None:
        """Declare a fixed-layout message type; its id then accepts exactly its size."""
        self._add_route(mtype.msg_id, _Route(mtype, mtype.size, mtype.size), mtype.name)

    def register_variable(self, msg_id: int, name: str,
                          max_size: int = MAX_VARIABLE_PAYLOAD) -> None:
        """Declare a variable-length id (commands, file data) of at most `max_size` bytes."""
        check_msg_id(msg_id)
        self._add_route(msg_id, _Route(None, 0, max_size), name)

    def _add_route(self, msg_id: int, route: _Route, name: str) -> None:
        old = self._routes.get(msg_id)
        if old is not None:
            if old.mtype is route.mtype and old.max_size == route.max_size:
                return
            held = old.mtype.name if old.mtype else "a variable-length message"
            raise DuplicateMessageError(f"message id {msg_id:#06x} ({name}) is already {held}")
        self._routes[msg_id] = route
        self._names[msg_id] = name
        self._fast[msg_id] = (route.min_size, route.max_size, route.pipes)

    def message_type(self, msg_id: int) -> MessageType | None:
        """The layout registered for `msg_id` (None for variable-length ids)."""
        route = self._routes.get(msg_id)
        if route is None:
            raise UnknownMessageError(f"message id {msg_id:#06x} is not registered")
        return route.mtype

    def registered(self) -> dict[int, MessageType | None]:
        """Every registered message id with its layout."""
        return {mid: r.mtype for mid, r in self._routes.items()}

    def registered_count(self) -> int:
        """How many message ids are registered (ids are never withdrawn, so a
        change in this count is how a periodic check sees new ones without
        copying the table)."""
        return len(self._routes)

    def names(self) -> dict[int, str]:
        """Every registered message id with the name it was registered under."""
        return dict(self._names)

    # -- subscription ----------------------------------------------------
    def create_pipe(self, name: str, depth: int = 32) -> Pipe:
        """Create a named pipe; names are unique on one bus."""
        if name in self._pipes:
            raise ValueError(f"a pipe named {name!r} already exists")
        pipe = Pipe(name, depth)
        self._pipes[name] = pipe
        return pipe

    def subscribe(self, pipe: Pipe, msg_id: int) -> None:
        """Deliver every later message with `msg_id` to `pipe`."""
        check_msg_id(msg_id)
        route = self._routes.get(msg_id)
        if route is None:
            raise UnknownMessageError(f"pipe {pipe.name!r} subscribed to message id "
                                      f"{msg_id:#06x}, which is not registered")
        if pipe not in route.pipes:
            route.pipes.append(pipe)

    def unsubscribe(self, pipe: Pipe, msg_id: int) -> None:
        route = self._routes.get(msg_id)
        if route is not None and pipe in route.pipes:
            route.pipes.remove(pipe)

    @property
    def pipes(self) -> dict[str, Pipe]:
        return dict(self._pipes)

    # -- the hot path ----------------------------------------------------
    def publish(self, msg_id: object, payload: object) -> None:
        """Deliver `payload` (bytes; a bytearray or memoryview is copied) to
        every pipe subscribed to `msg_id`.

        Both are typed `object` because outside input reaches here: raises
        UnknownMessageError (or MalformedMessageIdError) for an id that was
        never registered or is not one, MessageSizeError for a payload that is
        not bytes or whose length does not match the layout; nothing is
        delivered in any of these cases.
        """
        try:
            lo, hi, pipes = self._fast[msg_id]  # type: ignore[index]  # refused below
        except (KeyError, TypeError):
            raise self._unknown(msg_id) from None
        mid: int = msg_id  # type: ignore[assignment]  # a registered id, so an int
        data = payload if type(payload) is bytes else self._as_bytes(mid, payload)
        if not lo <= len(data) <= hi:
            raise self._bad_size(mid, len(data))
        item = (mid, data)
        for pipe in pipes:
            q = pipe._queue
            if len(q) < pipe.depth:
                q.append(item)
            else:
                pipe.dropped += 1
                pipe.last_dropped_msg_id = mid

    def _unknown(self, msg_id: object) -> Exception:
        check_msg_id(msg_id)  # raises MalformedMessageIdError for a malformed id
        return UnknownMessageError(f"message id {msg_id:#06x} is not registered on this bus")

    def _as_bytes(self, msg_id: int, payload: object) -> bytes:
        if isinstance(payload, (bytearray, memoryview)):
            return bytes(payload)  # a private copy: subscribers must never see later edits
        raise MessageSizeError(
            f"message id {msg_id:#06x}: payload is {type(payload).__name__}, not bytes")

    def _bad_size(self, msg_id: int, size: int) -> Exception:
        route = self._routes[msg_id]
        if route.mtype is not None:
            return MessageSizeError(
                f"message id {msg_id:#06x} ({route.mtype.name}) takes {route.mtype.size} bytes,"
                f" got {size}")
        return MessageSizeError(
            f"message id {msg_id:#06x} takes at most {route.max_size} bytes, got {size}")

    # -- reporting -------------------------------------------------------
    def new_drops(self) -> list[tuple[Pipe, int]]:
        """Pipes that dropped messages since the last call, with how many."""
        found = []
        for pipe in self._pipes.values():
            n = pipe.dropped - pipe.reported_drops
            if n:
                pipe.reported_drops = pipe.dropped
                found.append((pipe, n))
        return found
